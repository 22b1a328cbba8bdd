"""OSWorld's per-task result files, written next to tars's own trajectory files.

OSWorld's ``lib_run_single.py`` writes, per task folder ``<action_space>/<observation_type>/
<model>/<domain>/<id>/``: ``result.txt`` (the score and a newline), ``traj.jsonl`` (one line
per executed action: ``step_num``, ``action_timestamp`` as ``%Y%m%d@%H%M%S%f``, ``action``,
``response``, ``reward``, ``done``, ``info``, ``screenshot_file``) and
``step_<n>_<timestamp>.png``. Its ``show_result.py`` reads ``result.txt`` only. Here they are
made from tars's ``steps.jsonl`` / ``step-NNNN.png`` (tars's screenshot is the one the model
saw before acting; OSWorld's is taken after the action), hard-linked when possible.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any


def osworld_timestamp(iso: str | None) -> str:
    """tars's ISO-8601 step time as OSWorld's ``%Y%m%d@%H%M%S%f`` (local time, as OSWorld's
    ``datetime.now()``)."""
    when = dt.datetime.fromisoformat(iso) if iso else dt.datetime.now(dt.timezone.utc)
    return when.astimezone().strftime("%Y%m%d@%H%M%S%f")


def _link(src: Path, dst: Path) -> None:
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def write_osworld_files(folder: str | Path, score: float, final_status: str | None) -> None:
    """Write ``result.txt``, ``traj.jsonl`` and the ``step_<n>_<ts>.png`` files into ``folder``
    from the tars trajectory there (none when the agent never ran: then only result.txt)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    steps: list[dict[str, Any]] = []
    steps_file = folder / "steps.jsonl"
    if steps_file.exists():
        for line in steps_file.read_text(encoding="utf-8").splitlines():
            try:
                steps.append(json.loads(line))
            except ValueError:  # a torn last line
                continue
    lines = []
    for i, step in enumerate(steps):
        n = int(step.get("step_num") or i + 1)
        stamp = osworld_timestamp(step.get("action_timestamp"))
        shot: str | None = f"step_{n}_{stamp}.png"
        src = folder / str(step.get("screenshot_file") or "")
        if step.get("screenshot_file") and src.is_file():
            _link(src, folder / f"step_{n}_{stamp}.png")
        else:
            shot = None
        actions = step.get("actions") or [{"text": None}]
        last = i == len(steps) - 1
        for j, action in enumerate(actions):
            done = last and j == len(actions) - 1 and final_status in ("finished", "call_user")
            lines.append(json.dumps({
                "step_num": n, "action_timestamp": stamp, "action": action.get("text"),
                "response": step.get("response"), "reward": 0, "done": done, "info": {},
                "screenshot_file": shot,
            }, ensure_ascii=False))
    if lines:
        (folder / "traj.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "result.txt").write_text(f"{score}\n", encoding="utf-8")
