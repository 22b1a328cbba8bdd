"""The app's worker: runs one agent run off the GUI thread and reports it through Qt signals.

:class:`RunWorker` lives in a QThread. It loads the policy (a model load can take minutes:
the window stays responsive because it happens here), builds the operator and the
:class:`tars.agent.loop.Agent`, and runs the instruction. Each finished step comes to the window
as a :class:`TraceRow` (``step_done``), the outcome as a :class:`RunResult` (``run_finished``).
:meth:`RunWorker.stop`, :meth:`pause`, :meth:`resume` are called from the GUI thread; the
agent's switches are thread-safe. A stop takes effect between actions and as soon as the
model's current answer returns (a model call in flight is not interrupted).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from tars.actions.coords import ScreenGeometry
from tars.actions.space import Action, action_from_json
from tars.agent.hooks import Hook, RunResult, StepRecord
from tars.frontends.markers import actions_to_pixels, describe_action, draw_actions

if TYPE_CHECKING:
    from PIL.Image import Image

    from tars.agent.schema import StepLine
    from tars.agent.trajectory import Trajectory

#: thumbnail bounding box in the trace, pixels
THUMB_SIZE = (192, 120)


@dataclass
class TraceRow:
    """One step as the trace shows it.

    ``image``: the screenshot the model saw (PIL, screenshot pixels), or None with
    ``image_path`` set (opened trajectories load lazily) or when it was not recorded.
    ``actions``: in screen points of ``geometry``. ``timings_ms``: observe/think/act.
    """

    step_num: int
    thought: str
    actions: list[Action]
    geometry: ScreenGeometry | None
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    response: str = ""
    image: "Image | None" = None
    image_path: str | None = None
    thumbnail: "Image | None" = None

    @property
    def action_text(self) -> str:
        """The actions in words, one per line (or the error when there are none)."""
        text = "\n".join(describe_action(a) for a in self.actions)
        return text or (f"error: {self.error}" if self.error else "(no action)")

    @property
    def timings_text(self) -> str:
        """``observe 12 ms · think 850 ms · act 40 ms``."""
        return " · ".join(f"{k} {v:.0f} ms" for k, v in self.timings_ms.items())

    def load_image(self) -> "Image | None":
        """The screenshot (loading it from ``image_path`` the first time), or None."""
        if self.image is None and self.image_path:
            from PIL import Image

            try:
                with Image.open(self.image_path) as im:
                    self.image = im.convert("RGB")
            except (OSError, ValueError):
                return None
        return self.image

    def marked_image(self) -> "Image | None":
        """The screenshot with this step's actions marked (see :func:`tars.frontends.markers.draw_actions`)."""
        image = self.load_image()
        if image is None:
            return None
        geo = self.geometry or ScreenGeometry(image.width, image.height)
        return draw_actions(image, actions_to_pixels(self.actions, geo))

    def make_thumbnail(self) -> "Image | None":
        """A small copy of :meth:`marked_image` for the trace (kept in :attr:`thumbnail`)."""
        if self.thumbnail is None:
            marked = self.marked_image()
            if marked is not None:
                marked.thumbnail(THUMB_SIZE)
                self.thumbnail = marked
        return self.thumbnail

    @classmethod
    def from_record(cls, record: StepRecord) -> "TraceRow":
        """A live step (from the loop's ``step_end``)."""
        obs = record.observation
        return cls(
            step_num=record.step_num, thought=record.thought or "",
            actions=list(record.actions_screen), geometry=obs.geometry if obs is not None else None,
            timings_ms=dict(record.timings_ms), error=record.error, response=record.response,
            image=obs.image if obs is not None else None,
        )

    @classmethod
    def from_line(cls, step: "StepLine", traj: "Trajectory") -> "TraceRow":
        """A recorded step (a steps.jsonl line of ``traj``, read through the schema)."""
        geo_json = step.geometry or traj.meta.geometry
        geo = None
        if geo_json is not None:
            try:
                geo = ScreenGeometry.from_json(geo_json.to_json())
            except (TypeError, ValueError):  # a hand-edited or foreign trajectory
                geo = None
        actions: list[Action] = []
        for entry in step.actions:
            try:
                actions.append(action_from_json(entry.screen))
            except (KeyError, TypeError, ValueError):
                continue  # an unreadable action is left out, the rest of the step is shown
        path = traj.screenshot_path(step)
        return cls(
            step_num=step.step_num, thought=step.thought or "",
            actions=actions, geometry=geo, timings_ms=dict(step.timings_ms),
            error=step.error, response=step.response,
            image_path=str(path) if path is not None else None,
        )


def load_trace(folder: str | Path) -> tuple[Any, list[TraceRow]]:
    """Read a trajectory folder (:func:`tars.agent.trajectory.read_trajectory`) into trace rows.

    Raises:
        FileNotFoundError: not a trajectory (no meta.json). ValueError: corrupt JSON.
    """
    from tars.agent.trajectory import read_trajectory

    traj = read_trajectory(folder)
    return traj, [TraceRow.from_line(s, traj) for s in traj.steps]


def _qt_worker_class():
    from PySide6.QtCore import QObject, Signal, Slot

    class _TraceHook(Hook):
        """Turns loop events into the worker's signals (called on the worker's thread)."""

        def __init__(self, worker: "RunWorker") -> None:
            self.worker = worker

        def after_observe(self, step_num: int, observation: Any) -> None:
            self.worker.status.emit(f"Step {step_num}: thinking…")

        def model_output(self, step_num: int, text: str, step: Any, error: str | None) -> None:
            self.worker.status.emit(f"Step {step_num}: acting…" if step else
                                    f"Step {step_num}: answer did not parse, asking again")

        def step_end(self, record: StepRecord) -> None:
            row = TraceRow.from_record(record)
            row.make_thumbnail()  # drawn here, not on the GUI thread
            self.worker.step_done.emit(row)

    class RunWorker(QObject):
        """Runs one instruction (see module docstring). Move it to a QThread, then call run().

        ``policy_factory()``/``operator_factory()`` build the policy and operator in the
        worker thread; ``hooks`` are added to the agent's (overlay, recorder, ...);
        ``options``: the :class:`tars.agent.runbuild.RunOptions` of the run (the agent is built
        by :func:`tars.agent.runbuild.build_agent`, as ``tars run`` builds its own).
        """

        step_done = Signal(object)
        status = Signal(str)
        paused_changed = Signal(bool)
        run_finished = Signal(object)

        def __init__(self, instruction: str, options: Any, policy_factory: Callable[[], Any],
                     operator_factory: Callable[[], Any], hooks: list[Hook] | None = None) -> None:
            super().__init__()
            self.instruction = instruction
            self.options = options
            self.policy_factory = policy_factory
            self.operator_factory = operator_factory
            self.hooks = list(hooks or [])
            self.agent: Any = None
            self._lock = threading.Lock()
            self._stop = False
            self._paused = False

        # -- switches (GUI thread) ----------------------------------------------------
        def stop(self) -> None:
            """End the run as soon as possible (before it starts, when still loading)."""
            with self._lock:
                self._stop = True
                agent = self.agent
            if agent is not None:
                agent.stop()
            self.status.emit("Stopping…")

        def pause(self) -> None:
            """Hold the run before its next step."""
            with self._lock:
                self._paused = True
                agent = self.agent
            if agent is not None:
                agent.pause()
            self.paused_changed.emit(True)

        def resume(self) -> None:
            """Continue a paused run."""
            with self._lock:
                self._paused = False
                agent = self.agent
            if agent is not None:
                agent.resume()
            self.paused_changed.emit(False)

        # -- the run (worker thread) ----------------------------------------------------
        @Slot()
        def run(self) -> None:
            from tars.agent.runbuild import build_agent

            started = time.time()
            policy = operator = None
            result: RunResult | None = None
            try:
                self.status.emit("Loading the policy…")
                policy = self.policy_factory()
                if self._stop:
                    result = RunResult("stopped", seconds=time.time() - started)
                    return
                self.status.emit("Starting the operator…")
                operator = self.operator_factory()
                agent = build_agent(self.options, policy, operator, [_TraceHook(self), *self.hooks],
                                    extra={"front_end": "app"})
                with self._lock:
                    self.agent = agent
                    stop, paused = self._stop, self._paused
                if stop:
                    result = RunResult("stopped", seconds=time.time() - started)
                    return
                if paused:
                    agent.pause()
                self.status.emit("Running…")
                result = agent.run(self.instruction)
            except Exception as exc:  # bad settings, missing model, no display: shown, not raised
                result = RunResult("error", seconds=time.time() - started,
                                   error=f"{type(exc).__name__}: {exc}")
            finally:
                for part in (operator, policy):
                    if part is not None:
                        try:
                            part.close()
                        except Exception:  # closing must not hide the run's outcome
                            pass
                self.run_finished.emit(result or RunResult("error", error="internal error"))

    return RunWorker


_WORKER = None


def worker_class():
    """The :class:`RunWorker` class (defined on first use: PySide6 is imported then)."""
    global _WORKER
    if _WORKER is None:
        _WORKER = _qt_worker_class()
    return _WORKER
