"""The observer seam of the loop (DESIGN.md: hooks.py).

The loop knows nothing of its front ends: the console, the recorder, the overlay and the app
subclass :class:`Hook` and receive each event. Events arrive on the loop's thread, in order:

``run_start`` -> per step [``before_observe`` -> (``before_capture`` -> ``after_capture``, once
per frame: the first and each settle frame) -> ``after_observe`` -> ``model_output`` (once per
attempt) -> ``before_action`` (per action) -> ``step_end``] -> ``run_end``.

A hook that raises stops the run with status ``error`` (a recorder that cannot write must not
let the agent act unrecorded); hooks that only display things catch their own errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tars.actions.coords import CoordSpace, ScreenGeometry
from tars.actions.space import Action, Step

if TYPE_CHECKING:
    from tars.desktop.operator import Observation

#: how a run can end (DESIGN.md, result.json)
RUN_STATUSES = ("finished", "call_user", "max_steps", "timeout", "stopped", "error")


@dataclass
class RunInfo:
    """What a run is: sent with ``run_start`` and written to meta.json.

    ``settings`` never holds secrets (the caller strips API keys before building it).
    """

    instruction: str
    policy: str
    space: CoordSpace
    settings: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    geometry: ScreenGeometry | None = None
    started: float = 0.0


@dataclass
class StepRecord:
    """One finished step: what the model saw and said, and what was done.

    ``actions_model`` are in model space, ``actions_screen`` in screen points (same order).
    ``error``: None, or why the step failed (parse error after retries, operator error).
    ``timings_ms``: ``observe``, ``think``, ``act`` in milliseconds. ``action_timestamp``:
    time.time() when the actions started, seconds.
    """

    step_num: int
    observation: "Observation"
    response: str
    parsed: Step | None
    actions_model: list[Action]
    actions_screen: list[Action]
    error: str | None
    timings_ms: dict[str, float]
    action_timestamp: float
    attempts: int = 1
    #: planner + grounder mode: {"planner": raw answer, "grounder": [{element, answer, point}]}
    #: (:attr:`tars.models.base.Policy.last_exchange`); None for a single model
    exchange: dict[str, Any] | None = None

    @property
    def thought(self) -> str | None:
        """The model's thought for this step, when its answer parsed."""
        return self.parsed.thought if self.parsed else None


@dataclass
class RunResult:
    """How a run ended. ``status`` is one of :data:`RUN_STATUSES`; ``seconds`` wall time.
    ``final_action``: OSWorld's word for the last step (``DONE``, ``FAIL``, ``WAIT``, or None
    for an ordinary action), what :func:`tars.agent.harness.score_task` scores by."""

    status: str
    content: str = ""
    steps: int = 0
    seconds: float = 0.0
    error: str | None = None
    score: float | None = None
    final_action: str | None = None

    @property
    def exit_code(self) -> int:
        """CLI exit status: 0 when finished, 1 otherwise (DESIGN.md, The command line)."""
        return 0 if self.status == "finished" else 1

    def to_json(self) -> dict[str, Any]:
        """The result.json object."""
        return {
            "status": self.status, "content": self.content, "steps": self.steps,
            "seconds": round(self.seconds, 3), "error": self.error, "score": self.score,
            "final_action": self.final_action,
        }


class Hook:
    """Base class with a no-op for every event; subclass and override what you need."""

    def run_start(self, info: RunInfo) -> None:
        """A run begins (before the first observation)."""

    def before_observe(self, step_num: int) -> None:
        """A step's observation begins (its frames follow, see ``before_capture``)."""

    def after_observe(self, step_num: int, observation: "Observation | None") -> None:
        """The observation is done (``observation`` None when the capture failed)."""

    def before_capture(self, step_num: int) -> None:
        """One frame is about to be grabbed (the first of the step or a settle frame): the X11
        overlay hides here, for the grab's milliseconds only."""

    def after_capture(self, step_num: int) -> None:
        """That frame was grabbed (or the grab failed): the overlay shows itself again."""

    def model_output(self, step_num: int, text: str, step: Step | None, error: str | None) -> None:
        """The policy answered; ``step`` is the parse (None and ``error`` set on failure)."""

    def before_action(self, step_num: int, action: Action, geometry: ScreenGeometry) -> None:
        """``action`` (screen points) is about to be performed on ``geometry``'s monitor."""

    def step_end(self, record: StepRecord) -> None:
        """A step is done (its actions performed or its error known)."""

    def run_end(self, result: RunResult) -> None:
        """The run ended, for whatever reason; always sent once after ``run_start``."""


class Hooks(Hook):
    """Fans every event out to a list of hooks, in order."""

    def __init__(self, hooks: list[Hook] | None = None) -> None:
        self.hooks: list[Hook] = list(hooks or [])

    def add(self, hook: Hook) -> None:
        """Subscribe one more hook."""
        self.hooks.append(hook)

    def run_start(self, info: RunInfo) -> None:
        for h in self.hooks:
            h.run_start(info)

    def before_observe(self, step_num: int) -> None:
        for h in self.hooks:
            h.before_observe(step_num)

    def after_observe(self, step_num: int, observation: "Observation | None") -> None:
        for h in self.hooks:
            h.after_observe(step_num, observation)

    def before_capture(self, step_num: int) -> None:
        for h in self.hooks:
            h.before_capture(step_num)

    def after_capture(self, step_num: int) -> None:
        for h in self.hooks:
            h.after_capture(step_num)

    def model_output(self, step_num: int, text: str, step: Step | None, error: str | None) -> None:
        for h in self.hooks:
            h.model_output(step_num, text, step, error)

    def before_action(self, step_num: int, action: Action, geometry: ScreenGeometry) -> None:
        for h in self.hooks:
            h.before_action(step_num, action, geometry)

    def step_end(self, record: StepRecord) -> None:
        for h in self.hooks:
            h.step_end(record)

    def run_end(self, result: RunResult) -> None:
        for h in self.hooks:
            h.run_end(result)
