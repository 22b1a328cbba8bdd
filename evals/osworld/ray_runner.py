"""Task suites on a Ray cluster: one Ray task = one virtual display + one task.

``tars eval tasks SUITE --ray local --jobs 2`` starts a local Ray instance with ``--jobs``
CPUs; ``--ray ray://head:10001`` (or ``auto``) joins a running cluster, where every node
needs tars installed with the same extras and apps (``make test`` on each, or
``pip install -e ".[all,osworld]"`` + ``pip install --no-deps desktop-env==1.0.2`` +
``scripts/install-system.sh --osworld``), and runs as root for the per-task isolation.
Each Ray task runs :func:`tars.evals.tasks.run_task` in a scratch folder on its node and
returns the results row and the task's results folder (a tar archive, the scratch ``work/``
folder left out); the driver writes them into ``--out`` as they arrive, so results.jsonl,
summary.json, the trajectories and OSWorld's layout are the same files a ``--jobs`` run
writes. A policy reached over HTTP (vLLM: ``--policy openai --endpoint http://host:8000/v1``)
must be reachable from the nodes.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Callable

from tars.agent.schema import TaskResultRow, TaskSummary, dumps_line
from tars.evals.tasks import REPO_ROOT, RunSettings, Task, TaskError, finish_summary, run_task


class RayError(RuntimeError):
    """Ray is missing or the cluster cannot be reached."""


def _pack(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if rel.parts and rel.parts[0] == "work":
                continue
            if path.is_file() and not path.is_symlink():
                tar.add(path, arcname=str(rel), recursive=False)
    return buf.getvalue()


def run_one(task: Task, settings: RunSettings) -> tuple[dict[str, Any], bytes]:
    """Run ``task`` in a fresh scratch folder here; its row and its folder as a tar.gz."""
    with tempfile.TemporaryDirectory(prefix="tars-ray-") as tmp:
        row = run_task(task, tmp, settings)
        return row, _pack(Path(tmp) / task.out_folder())


def _unpack(data: bytes, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(target, filter="data")


def run_suite_ray(tasks: list[Task], out_dir: str | Path, settings: RunSettings, address: str = "local",
                  on_result: Callable[[dict[str, Any]], None] | None = None,
                  skipped: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """:func:`tars.evals.tasks.run_suite` with the tasks on Ray (``settings.jobs`` at a time on a
    local instance). Same files, same summary; rows come back in finishing order.

    Raises:
        TaskError: ``out_dir`` already holds results.
        RayError: Ray is not installed or the cluster does not answer.
    """
    try:
        import ray
    except ImportError:
        raise RayError("Ray is not installed (pip install -e '.[osworld]')") from None
    out = Path(out_dir).resolve()
    if (out / "results.jsonl").exists() or (out / "summary.json").exists():
        raise TaskError(f"{out} already holds evaluation results; choose a new --out folder")
    out.mkdir(parents=True, exist_ok=True)
    started_here = not ray.is_initialized()
    if started_here:
        env = {"PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
        try:
            if address == "local":
                ray.init(num_cpus=max(1, settings.jobs), include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": env})
            else:
                ray.init(address=address, log_to_driver=False)
        except Exception as exc:  # ray raises ConnectionError, RuntimeError ...
            raise RayError(f"cannot start or reach Ray at {address}: {exc}".splitlines()[0]) from None
    remote = ray.remote(num_cpus=1, max_retries=0)(run_one)
    rows: dict[str, dict[str, Any]] = {}
    interrupted = False
    try:
        pending = {remote.remote(t, settings): t for t in tasks}
        with open(out / "results.jsonl", "w", encoding="utf-8") as results:
            while pending:
                try:
                    done, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                except KeyboardInterrupt:
                    interrupted = True
                    for ref in pending:
                        ray.cancel(ref, force=True)
                    break
                for ref in done:
                    task = pending.pop(ref)
                    try:
                        row, data = ray.get(ref)
                        _unpack(data, out / task.out_folder())
                    except Exception as exc:  # a lost node or a crashed worker: that task only
                        row = {"id": task.id, "status": "error", "score": 0.0, "success": False,
                               "steps": 0, "seconds": 0.0, "error": f"ray: {type(exc).__name__}: {exc}"[:300],
                               **task.row_fields()}
                    results.write(dumps_line(TaskResultRow(**row)) + "\n")
                    results.flush()
                    rows[row["id"]] = row
                    if on_result is not None:
                        on_result(row)
    finally:
        if started_here:
            ray.shutdown()
    ordered = [rows[t.id] for t in tasks if t.id in rows]
    not_run = [t.id for t in tasks if t.id not in rows] if interrupted else None
    summary = finish_summary(out, ordered, settings, not_run, skipped)
    summary["settings"]["ray"] = address
    summary = TaskSummary(**summary).to_json()
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    return {**summary, "rows": ordered}
