"""``tars replay``: perform a recorded trajectory's actions again, stoppable from outside.

The actions run on a worker thread and the main thread only waits (issue 16, item 3; see
:mod:`tars.frontends.signals`): a Ctrl+C, ``kill`` or a closed terminal sets the operator's
stop event instead of raising inside an X request, the action in progress ends (typing at the
next character, a drag or a wait at once), and closing the operator releases every key and
button. The command then exits 128 + the signal number.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from tars.actions.space import Action


class ReplayError(Exception):
    """An action of the replay failed; the message names the step and the action."""


class Replay:
    """One replay of ``steps`` (each a list of actions in screen points) on an operator made
    by ``make_operator()`` (a :class:`tars.desktop.local.LocalOperator`), ``pause`` seconds
    after each step. :meth:`run` goes on the worker thread, :meth:`stop` is what a signal calls.

    After :meth:`run`: :attr:`stopped_at` is the step (1-based) the replay stopped in, None when
    every step ran; :attr:`reason` says who stopped it.
    """

    def __init__(self, steps: list[list[Action]], make_operator: Callable[[], Any], pause: float):
        self.steps = steps
        self.make_operator = make_operator
        self.pause = pause
        self.stopped_at: int | None = None
        self.reason: str | None = None
        self._stop = threading.Event()
        self._op: Any = None

    def stop(self, reason: str) -> None:
        """End the replay as soon as possible (any thread, a signal handler included)."""
        self.reason = self.reason or reason
        self._stop.set()
        op = self._op
        if op is not None:
            op.stop_event.set()

    def run(self) -> None:
        """Make the operator, perform the steps, close the operator (keys and buttons released).

        Raises:
            ReplayError: an action failed (not one cut short by :meth:`stop`).
            tars.desktop.operator.OperatorError: the operator cannot start.
        """
        from tars.desktop.operator import EmergencyStopError, OperatorError

        op = self.make_operator()
        self._op = op
        try:
            if self._stop.is_set():  # stopped while the operator was being made
                op.stop_event.set()
            for num, actions in enumerate(self.steps, 1):
                for action in actions:
                    if action.ends_run:
                        continue
                    if op.stop_event.is_set():
                        self._stopped(num, "stopped by the emergency stop")
                        return
                    try:
                        op.execute(action)
                    except EmergencyStopError:
                        self._stopped(num, "stopped by the emergency stop")
                        return
                    except OperatorError as exc:
                        raise ReplayError(f"step {num}: {action.to_text()} failed: {exc}") from None
                if op.stop_event.wait(self.pause):
                    self._stopped(num, "stopped by the emergency stop")
                    return
        finally:
            op.close()

    def _stopped(self, num: int, default: str) -> None:
        self.stopped_at = num
        self.reason = self.reason or default
