"""An OSWorld task's session for the task runner: set up, score, tear down.

:class:`OSWorldSession` has the members :func:`tars.evals.tasks.run_task` uses of a
:class:`tars.evals.tasks.TaskSession` (``env``, ``setup()``, ``evaluate(status)``,
``close()``). Setup and scoring are OSWorld's own code on a :class:`.env.LocalDesktop`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tars.evals.evaluators import EvaluatorError
from tars.evals.osworld import refcode
from tars.evals.osworld.env import LocalDesktop, LocalDesktopError
from tars.evals.tasks import Interrupted, TaskError

if TYPE_CHECKING:
    from tars.evals.osworld.suite import OSWorldTask

#: seconds setup waits for the first window of a task that launched a program
WINDOW_WAIT = 30.0
#: seconds the screen is left to settle after that window appears (OSWorld's runner sleeps
#: 60 s after reset; a local desktop needs far less)
SETTLE = 2.0


def final_action(recorded: str | None, status: str | None) -> str | None:
    """The run's last OSWorld action word: the one result.json records (``final_action``, by
    the run's harness), else from the status of a run that did not record it (``call_user``
    -> ``FAIL``, ``finished`` -> ``DONE``, as OSWorld's UI-TARS agents map them)."""
    if recorded in ("DONE", "FAIL", "WAIT"):
        return recorded
    return {"call_user": "FAIL", "finished": "DONE"}.get(status or "")


class OSWorldSession:
    """One OSWorld task on display ``env["DISPLAY"]``; ``workdir`` is the task's scratch folder
    (inside its results folder)."""

    def __init__(self, task: "OSWorldTask", env: dict[str, str], workdir: str | Path,
                 stop: threading.Event | None = None) -> None:
        self.task = task
        self.env = dict(env)
        self.workdir = Path(workdir).resolve()
        self.stop = stop
        self.desktop = LocalDesktop(env["DISPLAY"], self.workdir, task.raw, cache_dir=task.cache)
        self.score: float | None = None

    def setup(self) -> None:
        """Start the task's desktop and run OSWorld's ``SetupController.setup(config)``.

        Raises:
            TaskError: the desktop or a setup step failed (OSWorld's message kept).
            Interrupted: the suite was stopped meanwhile.
        """
        self._check_stop()
        try:
            self.desktop.start()
            ok = self.desktop.setup()
        except (LocalDesktopError, refcode.RefCodeError) as exc:
            raise TaskError(f"task {self.task.id}: {exc}") from None
        except Exception as exc:  # OSWorld's setup raises plain Exception for a failed step
            raise TaskError(f"task {self.task.id}: OSWorld setup: {exc}".splitlines()[0]) from None
        if not ok:
            raise TaskError(f"task {self.task.id}: OSWorld setup could not reach the desktop server")
        if any(s.get("type") in ("launch", "open") for s in self.task.config):
            self._wait_window()
        self._check_stop()
        self._check_premise()

    def _check_premise(self) -> None:
        """A feasible task whose goal already holds after setup cannot be posed on this
        desktop (e.g. VLC is the only video player, so it is already the default): it fails
        here with that reason instead of scoring a run that did nothing. Checked only when
        the evaluator has no postconfig (whose steps may change the state)."""
        if self.task.is_infeasible or self.task.evaluator.get("postconfig"):
            return
        try:
            met = self.desktop.evaluate(None) >= 1.0
        except Exception:  # the goal state cannot even be read yet: not met
            return
        if met:
            raise TaskError(f"task {self.task.id}: the goal already holds after setup on this desktop, "
                            "so a run could not show anything (not scored)")

    def _wait_window(self) -> None:
        deadline = time.monotonic() + WINDOW_WAIT
        while time.monotonic() < deadline and not (self.stop is not None and self.stop.is_set()):
            if self._windows():
                time.sleep(SETTLE)
                return
            time.sleep(0.3)

    def _windows(self) -> str:
        import subprocess

        proc = subprocess.run(["wmctrl", "-l"], env=self.env, capture_output=True, text=True, timeout=10)
        return proc.stdout.strip()

    def _check_stop(self) -> None:
        if self.stop is not None and self.stop.is_set():
            raise Interrupted(f"task {self.task.id}: interrupted during setup")

    def evaluate(self, status: str | None, final_action_word: str | None = None, scoring: str = "tars",
                 touched: bool = False) -> float:
        """Score the task: postconfig, then OSWorld's getters and metric.

        ``scoring`` ``osworld``: ``DesktopEnv.evaluate`` itself with the run's last action as
        its action history (a ``FAIL`` scores a feasible task 0, an infeasible one 1).
        ``tars``: :func:`tars.agent.harness.score_task` with OSWorld's evaluation (no action
        history) as the state metric.

        Raises:
            EvaluatorError: OSWorld's evaluation raised (its message kept).
        """
        from tars.agent.harness import score_task

        action = final_action(final_action_word, status)
        try:
            if scoring == "osworld":
                self.score = self.desktop.evaluate(action)
            else:
                self.score = score_task(scoring, self.task.is_infeasible, action,
                                        lambda: self.desktop.evaluate(None), touched=touched)
        except (ValueError, EvaluatorError):
            raise
        except Exception as exc:  # the getters/metrics raise whatever their libraries raise
            raise EvaluatorError(f"OSWorld's evaluation raised {type(exc).__name__}: {exc}"
                                 .splitlines()[0]) from None
        return self.score

    def close(self) -> None:
        """End the task's desktop server and every program of the task."""
        self.desktop.close()

    def __enter__(self) -> "OSWorldSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
