"""The app's worker: runs one agent run off the GUI thread and reports it through Qt signals.

:class:`RunWorker` lives in a QThread. It loads the policy (a model load can take minutes:
the window stays responsive because it happens here), builds the operator and the
:class:`tars.agent.loop.Agent`, and runs the instruction. Each finished step comes to the window
as a :class:`TraceRow` (``step_done``), the outcome as a :class:`RunResult` (``run_finished``).
:meth:`RunWorker.stop`, :meth:`pause`, :meth:`resume` are called from the GUI thread; the
agent's switches are thread-safe. A stop takes effect between actions and as soon as the
model's current answer returns (a model call in flight is not interrupted).

A risky action (:func:`tars.agent.guard.is_risky`) is asked about (:meth:`RunWorker.confirm`):
the question goes to the window in ``question_asked`` and the worker waits, at most
``answer_seconds``, for the answer (:mod:`tars.frontends.app.ask`); a stop refuses at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from tars.agent.hooks import Hook, RunResult, StepRecord
from tars.frontends.app.ask import ANSWER_SECONDS, RiskyQuestion
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
    ``answer_seconds``: how long a risky action's question waits for an answer before it is
    refused (:data:`tars.frontends.app.ask.ANSWER_SECONDS`).

    Signals: ``step_done(TraceRow)``, ``status(str)``, ``paused_changed(bool)``,
    ``run_finished(RunResult)``, ``question_asked(RiskyQuestion)`` (show it and pass the
    answer to :meth:`RiskyQuestion.answer`), ``question_closed(RiskyQuestion)`` (the wait is
    over, whatever ended it: take the question off the screen).
    """

    step_done = Signal(object)
    status = Signal(str)
    paused_changed = Signal(bool)
    run_finished = Signal(object)
    question_asked = Signal(object)
    question_closed = Signal(object)

    def __init__(self, instruction: str, options: Any, policy_factory: Callable[[], Any],
                 operator_factory: Callable[[], Any], hooks: list[Hook] | None = None,
                 answer_seconds: float = ANSWER_SECONDS) -> None:
        super().__init__()
        self.instruction = instruction
        self.options = options
        self.policy_factory = policy_factory
        self.operator_factory = operator_factory
        self.hooks = list(hooks or [])
        self.answer_seconds = answer_seconds
        self.agent: Any = None
        #: the question on screen now, if any
        self.question: RiskyQuestion | None = None
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
        question = self.question
        if question is not None:
            question.answer(False)
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
    def _stopped(self) -> bool:
        agent = self.agent
        return self._stop or (agent is not None and agent.guard.stopped)

    def confirm(self, action: Any, reason: str) -> bool:
        """The run's confirm function (worker thread): ask the window whether the risky
        ``action`` (reason: ``reason``) may run, and wait for the answer. True only for an
        Allow; no answer within :attr:`answer_seconds`, a closed question and any stop
        (:meth:`stop`, the emergency hotkey, the time limit) are refusals."""
        if self._stopped():
            return False
        question = RiskyQuestion(action.to_text(), reason, self.answer_seconds)
        self.question = question
        self.status.emit(f"Waiting for your answer: {reason}")
        self.question_asked.emit(question)
        try:
            allowed = question.wait(self._stopped)
        finally:
            self.question = None
            self.question_closed.emit(question)
        self.status.emit("Running…" if allowed else f"Refused: {reason}")
        return allowed

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
                                confirm=self.confirm, extra={"front_end": "app"})
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
