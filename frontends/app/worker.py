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
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from tars.agent.hooks import Hook, RunResult, StepRecord
from tars.frontends.app.trace import TraceRow


class _TraceHook(Hook):
    """Turns loop events into the worker's signals (called on the worker's thread)."""

    def __init__(self, worker: RunWorker) -> None:
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
