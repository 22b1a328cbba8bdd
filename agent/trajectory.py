"""Recording a run to disk and reading it back (DESIGN.md, Trajectory).

One folder per run::

    meta.json      instruction, policy and settings, model, screen geometry, versions, start
    steps.jsonl    one line per step (OSWorld names where they exist), flushed and fsynced
    step-NNNN.png  the screenshot the model saw at that step
    result.json    how the run ended

Written step by step, so a crash or kill loses at most the step in flight and the folder
stays readable (:func:`read_trajectory` skips a torn last line). Secrets are never written:
settings whose name ends in key/token/secret/password are replaced by ``"***"``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tars.agent.hooks import Hook, RunInfo, RunResult, StepRecord

#: a setting is secret when its name ends in one of these words (``api_key``, ``hf_token``,
#: ``password``), but not ``max_new_tokens`` or ``keys``
_SECRET_NAME = re.compile(r"(?:^|[_-])(?:api_?key|key|token|secret|password|authorization)$", re.I)


class TrajectoryError(OSError):
    """The trajectory folder cannot be written (full disk, no permission, not empty)."""


def scrub(settings: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``settings`` with secret-looking values replaced by ``"***"`` (recursively)."""
    out: dict[str, Any] = {}
    for k, v in settings.items():
        if _SECRET_NAME.search(k) and v:
            out[k] = "***"
        elif isinstance(v, dict):
            out[k] = scrub(v)
        else:
            out[k] = v
    return out


def _iso(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).isoformat(timespec="milliseconds")


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for dist in ("tars", "transformers", "torch", "openai", "rapidocr-onnxruntime"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def step_to_json(record: StepRecord, screenshot_file: str | None) -> dict[str, Any]:
    """One steps.jsonl line for ``record`` (actions in model space and in screen points)."""
    parsed = record.parsed
    return {
        "step_num": record.step_num,
        "action_timestamp": _iso(record.action_timestamp),
        "screenshot_file": screenshot_file,
        "response": record.response,
        "thought": parsed.thought if parsed else None,
        "reflection": parsed.reflection if parsed else None,
        "actions": [
            {"text": m.to_text(), "model": m.to_json(), "screen": s.to_json()}
            for m, s in zip(record.actions_model, record.actions_screen)
        ],
        "error": record.error,
        "timings_ms": {k: round(v, 1) for k, v in record.timings_ms.items()},
        "attempts": record.attempts,
        "geometry": record.observation.geometry.to_json(),
    }


class TrajectoryRecorder(Hook):
    """A hook that writes the run to ``folder`` as it happens.

    Raises :class:`TrajectoryError` (which stops the run with status ``error``) when the
    folder already holds a trajectory or a write fails; what was written stays readable.
    """

    def __init__(self, folder: str | os.PathLike, save_screenshots: bool = True) -> None:
        self.folder = Path(folder)
        self.save_screenshots = save_screenshots
        self._meta: dict[str, Any] = {}
        self._steps_file = None

    def _fail(self, what: str, exc: OSError) -> TrajectoryError:
        return TrajectoryError(f"cannot write trajectory {what} in {self.folder}: {exc.strerror or exc}")

    def run_start(self, info: RunInfo) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if (self.folder / "steps.jsonl").exists():
                raise TrajectoryError(f"{self.folder} already holds a trajectory; choose a new folder")
            self._meta = {
                "instruction": info.instruction,
                "policy": info.policy,
                "settings": scrub(info.settings),
                "model": info.model,
                "coords": {"kind": info.space.kind, "min_pixels": info.space.min_pixels,
                           "max_pixels": info.space.max_pixels, "factor": info.space.factor},
                "geometry": info.geometry.to_json() if info.geometry else None,
                "versions": _versions(),
                "start_time": _iso(info.started),
            }
            _write_json_atomic(self.folder / "meta.json", self._meta)
            self._steps_file = open(self.folder / "steps.jsonl", "a", encoding="utf-8")
        except TrajectoryError:
            raise
        except OSError as exc:
            raise self._fail("meta.json", exc) from exc

    def step_end(self, record: StepRecord) -> None:
        name = f"step-{record.step_num:04d}.png"
        try:
            if self.save_screenshots:
                record.observation.image.save(self.folder / name, compress_level=1)
            if self._meta.get("geometry") is None:
                self._meta["geometry"] = record.observation.geometry.to_json()
                _write_json_atomic(self.folder / "meta.json", self._meta)
            line = json.dumps(step_to_json(record, name if self.save_screenshots else None),
                              ensure_ascii=False)
            self._steps_file.write(line + "\n")
            self._steps_file.flush()
            os.fsync(self._steps_file.fileno())
        except OSError as exc:
            raise self._fail(f"step {record.step_num}", exc) from exc

    def run_end(self, result: RunResult) -> None:
        try:
            if self._steps_file is not None:
                self._steps_file.close()
                self._steps_file = None
            _write_json_atomic(self.folder / "result.json", result.to_json())
        except OSError as exc:
            raise self._fail("result.json", exc) from exc


@dataclass
class Trajectory:
    """A recorded run read back: ``meta`` (dict), ``steps`` (list of step dicts),
    ``result`` (dict or None when the run never ended cleanly), ``folder``."""

    folder: Path
    meta: dict[str, Any]
    steps: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None

    def screenshot_path(self, step: dict[str, Any]) -> Path | None:
        """Path of a step's screenshot, or None when it was not saved or is missing."""
        name = step.get("screenshot_file")
        path = self.folder / name if name else None
        return path if path is not None and path.exists() else None


def read_trajectory(folder: str | os.PathLike) -> Trajectory:
    """Read a trajectory folder. A torn last line of steps.jsonl (a crash mid-write) is skipped.

    Raises:
        FileNotFoundError: no meta.json in ``folder``.
        ValueError: meta.json or a complete steps.jsonl line is not valid JSON.
    """
    folder = Path(folder)
    meta_path = folder / "meta.json"
    if not meta_path.exists():
        raise FileNotFoundError(f"{folder} is not a trajectory (no meta.json)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{meta_path}: {exc}") from None
    steps: list[dict[str, Any]] = []
    steps_path = folder / "steps.jsonl"
    if steps_path.exists():
        lines = steps_path.read_text(encoding="utf-8").split("\n")
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                steps.append(json.loads(line))
            except json.JSONDecodeError:
                if i == len(lines) - 1:  # torn final line: the step in flight, lost by design
                    break
                raise ValueError(f"{steps_path}:{i + 1}: not valid JSON") from None
    result = None
    result_path = folder / "result.json"
    if result_path.exists():
        result = json.loads(result_path.read_text(encoding="utf-8"))
    return Trajectory(folder, meta, steps, result)
