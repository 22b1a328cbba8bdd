"""Recording a run to disk and reading it back (DESIGN.md, Trajectory).

One folder per run::

    meta.json      instruction, policy and settings, model, screen geometry, versions, start
    steps.jsonl    one line per step (OSWorld names where they exist), flushed and fsynced
    step-NNNN.png  the screenshot the model saw at that step
    result.json    how the run ended (room for it is reserved when the run starts:
                   result.json.reserve, so a full disk cannot keep it from being written)

Written step by step, so a crash or kill loses at most the step in flight and the folder
stays readable (:func:`read_trajectory` skips a torn last line). The screenshot's PNG is
written on a background thread from the moment the frame is taken (it overlaps the model's
thinking), under a temporary name renamed into place when complete; the step's actions wait
for it, and its steps.jsonl line is written only after it, so every listed screenshot exists
whole. Secrets are never written:
settings whose name ends in key/token/secret/password are replaced by ``"***"``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tars.agent.atomic import write_atomic
from tars.agent.hooks import Hook, RunInfo, RunResult, StepRecord
from tars.agent.reserve import Reserve
from tars.agent.schema import (
    ActionJSON,
    CoordsJSON,
    GeometryJSON,
    GroundingCall,
    RunResultFile,
    StepLine,
    TrajectoryMeta,
    dumps_line,
    read_json,
    read_jsonl,
)
from tars.models.secrets import redact_text

if TYPE_CHECKING:
    from PIL.Image import Image

    from tars.actions.coords import ScreenGeometry
    from tars.actions.space import Action
    from tars.desktop.operator import Observation

#: seconds a step waits for its screenshot's PNG before the recorder reports a failed write
PNG_WAIT_SECONDS = 60.0

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
        elif isinstance(v, str) and "://" in v:  # a key inside a URL (user:KEY@, ?api-key=)
            out[k] = redact_text(v)
        else:
            out[k] = v
    return out


def _iso(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).isoformat(timespec="milliseconds")


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    # the OCR runtimes too: lite reads the screen on OpenVINO when it is installed, else onnxruntime
    for dist in ("tars", "transformers", "torch", "openai", "rapidocr-onnxruntime", "openvino", "onnxruntime"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def _write_json_atomic(path: Path, data: Any) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2)
    write_atomic(path, lambda f: f.write(text.encode("utf-8")))


def result_bytes(result: dict[str, Any], limit: int | None = None) -> bytes:
    """result.json's bytes (UTF-8 JSON); with ``limit``, ``content`` and ``error`` are clipped
    (marked ``[clipped: the disk is full]``) until the whole is at most ``limit`` bytes."""
    data = json.dumps(result, ensure_ascii=False, indent=2).encode()
    keep = max(64, (limit or 0) // 16)  # a JSON-escaped character takes at most 6 bytes
    while limit is not None and len(data) > limit and keep >= 1:
        short = dict(result)
        for name in ("content", "error"):
            text = short.get(name)
            if isinstance(text, str) and len(text) > keep:
                short[name] = text[:keep] + " [clipped: the disk is full]"
        short = {k: v for k, v in short.items() if k in RunResultFile.model_fields}
        data = json.dumps(short, ensure_ascii=False, indent=2).encode()
        keep //= 2
    return data


def step_line(record: StepRecord, screenshot_file: str | None) -> StepLine:
    """The steps.jsonl line of ``record`` (actions in model space and in screen points)."""
    parsed = record.parsed
    return StepLine(
        step_num=record.step_num,
        action_timestamp=_iso(record.action_timestamp),
        screenshot_file=screenshot_file,
        response=record.response,
        thought=parsed.thought if parsed else None,
        reflection=parsed.reflection if parsed else None,
        actions=[ActionJSON(text=m.to_text(), model=m.to_json(), screen=s.to_json())
                 for m, s in zip(record.actions_model, record.actions_screen)],
        error=record.error,
        timings_ms={k: round(v, 1) for k, v in record.timings_ms.items()},
        attempts=record.attempts,
        geometry=GeometryJSON(**record.observation.geometry.to_json()),
        planner=record.exchange.get("planner") if record.exchange else None,
        grounding=[GroundingCall(**g) for g in record.exchange.get("grounder", [])] if record.exchange else [],
        planner_rejected=list(record.exchange.get("rejected", [])) if record.exchange else [],
    )


class TrajectoryRecorder(Hook):
    """A hook that writes the run to ``folder`` as it happens.

    The PNG of each step's screenshot is written by one background thread, started at
    ``after_observe``; ``before_action`` and ``step_end`` wait for it (at most
    :data:`PNG_WAIT_SECONDS`), so the screenshot is on disk before the step acts and before its
    line is written. :attr:`writes` lists (step, start, end) of each PNG write in
    time.perf_counter() seconds (tests prove the overlap with them).

    Raises :class:`TrajectoryError` (which stops the run with status ``error``) when the
    folder already holds a trajectory or a write fails; what was written stays readable. Room
    for result.json (:attr:`reserve`) is taken at ``run_start``, so a run that a full disk
    ended still writes its result.json saying so.
    """

    def __init__(self, folder: str | os.PathLike, save_screenshots: bool = True) -> None:
        self.folder = Path(folder)
        self.save_screenshots = save_screenshots
        self._meta: TrajectoryMeta | None = None
        self._steps_file: IO[str] | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._pngs: dict[int, tuple["Image", Future[None]]] = {}
        self._lock = threading.Lock()
        self.writes: list[tuple[int, float, float]] = []
        #: room kept for result.json from run_start on (see :mod:`tars.agent.reserve`)
        self.reserve = Reserve(self.folder / "result.json.reserve")

    def _fail(self, what: str, exc: OSError) -> TrajectoryError:
        return TrajectoryError(f"cannot write trajectory {what} in {self.folder}: {exc.strerror or exc}")

    @staticmethod
    def png_name(step_num: int) -> str:
        """File name of step ``step_num``'s screenshot (``step-0007.png``)."""
        return f"step-{step_num:04d}.png"

    def run_start(self, info: RunInfo) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if (self.folder / "steps.jsonl").exists():
                raise TrajectoryError(f"{self.folder} already holds a trajectory; choose a new folder")
            self.reserve.make()  # first: whatever fails later, result.json will have room
            self._meta = TrajectoryMeta(
                instruction=info.instruction,
                policy=info.policy,
                settings=scrub(info.settings),
                model=info.model,
                coords=CoordsJSON(kind=info.space.kind, min_pixels=info.space.min_pixels,
                                  max_pixels=info.space.max_pixels, factor=info.space.factor),
                geometry=GeometryJSON(**info.geometry.to_json()) if info.geometry else None,
                versions=_versions(),
                start_time=_iso(info.started),
            )
            _write_json_atomic(self.folder / "meta.json", self._meta.to_json())
            self._steps_file = open(self.folder / "steps.jsonl", "a", encoding="utf-8")
        except TrajectoryError:
            raise
        except OSError as exc:
            raise self._fail("meta.json", exc) from exc

    # -- screenshots, in the background --------------------------------------------------------
    def _write_png(self, step_num: int, image: "Image") -> None:
        start = time.perf_counter()
        try:
            write_atomic(self.folder / self.png_name(step_num),
                         lambda f: image.save(f, format="PNG", compress_level=1), sync=False)
        finally:
            with self._lock:
                self.writes.append((step_num, start, time.perf_counter()))

    def after_observe(self, step_num: int, observation: "Observation | None") -> None:
        if observation is None or not self.save_screenshots or self._steps_file is None:
            return
        with self._lock:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="tars-record")
            self._pngs[step_num] = (observation.image,
                                    self._writer.submit(self._write_png, step_num, observation.image))

    def _png_written(self, step_num: int, image: "Image") -> None:
        """Wait for the background PNG of ``step_num`` (write it now when none was started for
        this very image, e.g. a step recorded without ``after_observe``)."""
        with self._lock:
            job = self._pngs.pop(step_num, None)
        if job is not None and job[0] is image:
            try:
                job[1].result(timeout=PNG_WAIT_SECONDS)
            except TimeoutError:
                raise TrajectoryError(f"cannot write trajectory step {step_num} in {self.folder}: the "
                                      f"screenshot was not written within {PNG_WAIT_SECONDS:g} s") from None
            return
        self._write_png(step_num, image)

    def before_action(self, step_num: int, action: "Action", geometry: "ScreenGeometry") -> None:
        with self._lock:
            job = self._pngs.get(step_num)
        if job is None:
            return
        try:
            job[1].result(timeout=PNG_WAIT_SECONDS)
        except TimeoutError:
            raise TrajectoryError(f"cannot write trajectory step {step_num} in {self.folder}: the "
                                  f"screenshot was not written within {PNG_WAIT_SECONDS:g} s; the "
                                  "step's action was not performed") from None
        except OSError as exc:
            # the run ends here, before the action: no action without its screenshot on disk
            raise TrajectoryError(f"cannot write trajectory step {step_num}'s screenshot in "
                                  f"{self.folder}: {exc.strerror or exc}; the step's action was "
                                  "not performed") from exc

    def step_end(self, record: StepRecord) -> None:
        name = self.png_name(record.step_num)
        if self.save_screenshots:
            try:
                self._png_written(record.step_num, record.observation.image)
            except OSError as exc:
                raise self._fail(f"step {record.step_num}'s screenshot", exc) from exc
        try:
            if self._meta is not None and self._meta.geometry is None:
                self._meta.geometry = GeometryJSON(**record.observation.geometry.to_json())
                _write_json_atomic(self.folder / "meta.json", self._meta.to_json())
            line = dumps_line(step_line(record, name if self.save_screenshots else None))
            if self._steps_file is None:
                raise OSError("steps.jsonl is not open (the run did not start)")
            self._steps_file.write(line + "\n")
            self._steps_file.flush()
            os.fsync(self._steps_file.fileno())
        except OSError as exc:
            raise self._fail(f"step {record.step_num}", exc) from exc

    def _stop_writer(self) -> None:
        """Wait for the writes in progress and end the writer thread; PNGs of steps that never
        ended are left on disk (harmless: no line refers to them)."""
        with self._lock:
            writer, self._writer = self._writer, None
            self._pngs.clear()
        if writer is not None:
            writer.shutdown(wait=True)

    def run_end(self, result: RunResult) -> None:
        self._stop_writer()
        try:
            if self._steps_file is not None:
                self._steps_file.close()
                self._steps_file = None
            data = RunResultFile(**result.to_json()).to_json()
            self.reserve.write(self.folder / "result.json", result_bytes(data),
                               shorter=lambda limit: result_bytes(data, limit))
        except OSError as exc:
            raise self._fail("result.json", exc) from exc


@dataclass
class Trajectory:
    """A recorded run read back through :mod:`tars.agent.schema`: ``meta``
    (:class:`TrajectoryMeta`), ``steps`` (:class:`StepLine` list), ``result``
    (:class:`RunResultFile`, or None when the run never ended cleanly), ``folder``."""

    folder: Path
    meta: TrajectoryMeta
    steps: list[StepLine] = field(default_factory=list)
    result: RunResultFile | None = None

    def screenshot_path(self, step: StepLine) -> Path | None:
        """Path of a step's screenshot inside the folder, or None when it was not saved, is
        missing, or names a file outside the trajectory folder."""
        name = step.screenshot_file
        if not name:
            return None
        path = self.folder / name
        try:
            path.resolve().relative_to(self.folder.resolve())
        except ValueError:  # an absolute or ../ name: never read files outside the run
            return None
        return path if path.is_file() else None


def read_trajectory(folder: str | os.PathLike) -> Trajectory:
    """Read a trajectory folder through :mod:`tars.agent.schema`. A torn last line of
    steps.jsonl (a crash mid-write) is skipped.

    Raises:
        FileNotFoundError: no meta.json in ``folder``.
        tars.agent.schema.SchemaError (a ValueError): meta.json, a complete steps.jsonl line or
            result.json is not valid JSON or not the declared shape.
    """
    folder = Path(folder)
    meta_path = folder / "meta.json"
    if not meta_path.exists():
        raise FileNotFoundError(f"{folder} is not a trajectory (no meta.json)")
    meta = read_json(TrajectoryMeta, meta_path)
    steps_path = folder / "steps.jsonl"
    steps = read_jsonl(StepLine, steps_path) if steps_path.exists() else []
    result_path = folder / "result.json"
    result = read_json(RunResultFile, result_path) if result_path.exists() else None
    return Trajectory(folder, meta, steps, result)
