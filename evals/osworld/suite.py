"""OSWorld's ``evaluation_examples`` as published: index files, the examples tree, support checks.

A suite is an index file (``test_all.json``, ``test_small.json``: ``{domain: [id, ...]}``,
its tasks in ``examples/<domain>/<id>.json`` beside it) or a folder (``evaluation_examples/``
with ``examples/``, or ``examples/``, or one domain's folder): nested ``<domain>/<id>.json``
files are found. ``domains`` narrows it. Each task is checked against OSWorld's own code
(:mod:`.refcode`): every setup / postconfig step type must be a ``SetupController`` method,
every result/expected type a getter and every func a metric of the installed desktop-env, and
every file a ``download`` step fetches must be in the cache when there is no network. A task
that fails a check is returned as :class:`Skipped` with the reason, never as an error for the
suite.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field

from tars.evals.osworld import refcode
from tars.evals.tasks import Task, TaskError

if TYPE_CHECKING:
    from tars.evals.osworld.session import OSWorldSession

#: OSWorld's results layout: results/<action_space>/<observation_type>/<model>/<domain>/<id>/
#: (lib_run_single.py / show_result.py); tars's agent acts through pyautogui-equivalent
#: actions on screenshots
ACTION_SPACE = "pyautogui"
OBSERVATION_TYPE = "screenshot"
#: the host OSWorld's download steps fetch from, probed once to know whether we are online
DATASET_HOST = ("huggingface.co", 443)


@dataclass(frozen=True)
class Skipped:
    """A task tars cannot run here: ``id``, ``domain``, ``reason`` (one line)."""

    id: str
    domain: str
    reason: str

    def to_json(self) -> dict[str, str]:
        """The summary.json entry."""
        return {"id": self.id, "domain": self.domain, "reason": self.reason}


class OSWorldTask(Task):
    """One OSWorld task file, unchanged (``raw``), run through OSWorld's own setup and scoring.

    ``domain``: the examples folder it came from. ``evaluator`` and ``config`` stay OSWorld's
    dicts. ``screen`` is OSWorld's VM screen (1920x1080) (the scoring rule is the run's
    harness, ``RunSettings.harness``). ``cache``: folder for downloaded files (None: the
    task's own scratch folder). ``model``: the results layout's model folder name.
    """

    model_config = ConfigDict(extra="allow")
    config: list[dict[str, Any]] = Field(default_factory=list)  # type: ignore[assignment]
    evaluator: dict[str, Any]  # type: ignore[assignment]
    domain: str = "unknown"
    screen: tuple[int, int] = (1920, 1080)
    cache: Path | None = Field(default=None, exclude=True)
    model: str = "tars"
    raw: dict[str, Any] = Field(default_factory=dict, exclude=True)

    @property
    def is_infeasible(self) -> bool:
        """OSWorld's rule: the evaluator func is ``infeasible``."""
        return self.evaluator.get("func") == "infeasible"

    def out_folder(self) -> Path:
        """``<action_space>/<observation_type>/<model>/<domain>/<id>``, relative to ``--out``."""
        return Path(ACTION_SPACE, OBSERVATION_TYPE, safe_name(self.model), self.domain, self.id)

    def session(self, env: dict[str, str], workdir: Path,  # type: ignore[override]
                stop: threading.Event | None = None) -> "OSWorldSession":
        """The task's world on its display (:class:`tars.evals.osworld.session.OSWorldSession`)."""
        from tars.evals.osworld.session import OSWorldSession

        return OSWorldSession(self, env, workdir, stop)

    def row_fields(self) -> dict[str, Any]:
        """``domain`` in every results row (OSWorld reports per domain)."""
        return {"domain": self.domain}

    def record_score(self, task_dir: Path, row: dict[str, Any]) -> None:
        """The score in result.json, and OSWorld's own files (result.txt, traj.jsonl,
        step_<n>_<ts>.png) for every task that was scored (not for a stopped one)."""
        super().record_score(task_dir, row)
        if row["status"] != "stopped":
            from tars.evals.osworld.layout import write_osworld_files

            write_osworld_files(task_dir, row["score"], row["status"])


def safe_name(model: str) -> str:
    """A model name as one folder name (``org/model`` -> ``org_model``)."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in model) or "tars"


def is_osworld_suite(path: str | Path) -> bool:
    """True for an OSWorld index file or a folder holding ``examples/`` or ``<domain>/<uuid>.json``."""
    p = Path(path)
    if p.is_file():
        if p.name.startswith("test_") and p.suffix == ".json":
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return False
            return isinstance(data, dict) and all(isinstance(v, list) for v in data.values())
        return False
    if not p.is_dir():
        return False
    if (p / "examples").is_dir():
        return True
    return any(p.glob("*/*-*-*-*-*.json")) or any(p.glob("*-*-*-*-*.json"))


def _examples_root(path: Path) -> Path:
    if path.is_file():
        return path.parent / "examples"
    return path / "examples" if (path / "examples").is_dir() else path


def _task_files(path: Path, domains: set[str] | None) -> list[tuple[str, Path]]:
    """(domain, file) of every task of the suite, in the index's order (else sorted)."""
    root = _examples_root(path)
    if path.is_file():
        index = json.loads(path.read_text(encoding="utf-8"))
        return [(d, root / d / f"{i}.json") for d, ids in index.items()
                if domains is None or d in domains for i in ids]
    files = sorted(root.glob("*/*.json"))
    if files:
        return [(f.parent.name, f) for f in files if domains is None or f.parent.name in domains]
    # one domain's folder
    return [(root.name, f) for f in sorted(root.glob("*.json"))
            if domains is None or root.name in domains]


def online(timeout: float = 3.0) -> bool:
    """Whether OSWorld's dataset host answers a TCP connect (one probe, ``timeout`` s)."""
    try:
        with socket.create_connection(DATASET_HOST, timeout=timeout):
            return True
    except OSError:
        return False


def cache_path(cache: Path, task_id: str, url: str, path: str) -> Path:
    """Where OSWorld's SetupController keeps a download: ``<cache>/<task id>/<uuid5(url)>_<name>``
    (``_download_setup``, DesktopEnv.cache_dir = cache_dir_base/task_id)."""
    return cache / task_id / f"{uuid.uuid5(uuid.NAMESPACE_URL, url)}_{os.path.basename(path)}"


def check_task(data: dict[str, Any], cache: Path | None, is_online: bool) -> str | None:
    """Why OSWorld task ``data`` cannot run here, or None when it can."""
    try:
        types = refcode.setup_types()
        getters = {n[4:] for n in refcode.name_map("getters") if n.startswith("get_")}
        metrics = set(refcode.name_map("metrics"))
    except refcode.RefCodeError as exc:
        return str(exc)
    evaluator = data.get("evaluator") or {}
    steps = [("setup", s) for s in data.get("config") or []] + \
            [("postconfig", s) for s in evaluator.get("postconfig") or []]
    for where, step in steps:
        kind = step.get("type")
        if kind not in types:
            return f"{where} step type {kind!r} is not in OSWorld's SetupController"
        if kind == "download" and not is_online:
            for f in (step.get("parameters") or {}).get("files", []):
                if cache is None or not cache_path(cache, data["id"], f["url"], f["path"]).exists():
                    return f"offline and {f['url']} is not in the cache (--cache)"
        if kind in ("googledrive", "login"):
            return f"{where} step {kind!r} needs a Google account"
    funcs = evaluator.get("func")
    for name in funcs if isinstance(funcs, list) else [funcs]:
        if name not in metrics:
            return f"metric {name!r} is not in desktop-env {refcode.DESKTOP_ENV_VERSION}"
    for key in ("result", "expected"):
        specs = evaluator.get(key)
        for spec in specs if isinstance(specs, list) else [specs]:
            if isinstance(spec, dict) and spec:
                kind = spec.get("type")
                if kind not in getters:
                    return f"{key} getter {kind!r} is not in desktop-env {refcode.DESKTOP_ENV_VERSION}"
                if kind == "cloud_file" and not is_online:
                    urls = spec.get("path")
                    dests = spec.get("dest")
                    pairs = list(zip(urls, dests or [])) if isinstance(urls, list) else [(urls, dests)]
                    for url, dest in pairs:
                        if cache is None or not (cache / data["id"] / str(dest)).exists():
                            return f"offline and {url} is not in the cache (--cache)"
    return None


def load_osworld(suite: str | Path, domains: list[str] | None = None, cache: str | Path | None = None,
                 model: str = "tars",
                 is_online: bool | None = None) -> tuple[list[OSWorldTask], list[Skipped]]:
    """The runnable tasks of an OSWorld suite and the skipped ones (with reasons).

    Raises:
        TaskError: the suite path does not exist, a domain is unknown, or it holds no task.
    """
    path = Path(suite)
    if not path.exists():
        raise TaskError(f"{suite}: no such OSWorld index file or folder")
    wanted = set(domains) if domains else None
    try:
        files = _task_files(path, wanted)
    except (OSError, ValueError) as exc:
        raise TaskError(f"{path}: cannot read the index: {exc}") from None
    if wanted:
        known = {d for d, _ in _task_files(path, None)}
        unknown = sorted(wanted - known)
        if unknown:
            raise TaskError(f"{path}: no domain {', '.join(unknown)} (domains: {', '.join(sorted(known))})")
    if not files:
        raise TaskError(f"{path}: no OSWorld tasks")
    cache_dir = Path(cache).resolve() if cache else None
    net = online() if is_online is None else is_online
    tasks: list[OSWorldTask] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for domain, file in files:
        tid = file.stem
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            skipped.append(Skipped(tid, domain, f"cannot read {file}: {exc}"))
            continue
        tid = str(data.get("id") or tid)
        if tid in seen:
            continue
        seen.add(tid)
        reason = check_task(data, cache_dir, net) if isinstance(data, dict) else "not a JSON object"
        if reason is None:
            try:
                task = OSWorldTask.model_validate({
                    "id": tid, "instruction": data["instruction"], "config": data.get("config") or [],
                    "evaluator": data["evaluator"], "domain": domain,
                    "model": model, "raw": data})
            except (KeyError, ValueError) as exc:
                reason = f"not an OSWorld task: {exc}".splitlines()[0]
            else:
                task.cache = cache_dir
                task.source_file = file.resolve()
                tasks.append(task)
                continue
        skipped.append(Skipped(tid, domain, reason))
    return tasks, skipped
