"""Harnesses: the episode rules a run follows, declared once and read by the loop and the evals.

``tars`` (the default) is tars's own harness: the first ``call_user`` ends the run, an answer
that does not parse is shown back to the model with the error, the screen is watched until it
settles after each action, a repeated action on an unchanged screen is reported and then ends
the run, operator errors are fed back, and a task is scored by its final state.

``osworld`` reproduces OSWorld's runner for the profile's family, rule for rule (sources:
desktop-env 1.0.2 ``mm_agents/uitars15_v1.py`` ``UITARSAgent.predict``, ``uitars15_v2.py``,
``desktop_env/desktop_env.py`` ``DesktopEnv.step``/``evaluate``; OSWorld
``run_multienv_uitars15_v1.py`` / ``run_multienv_uitars15_v2.py`` / ``lib_run_single.py``):
the runner's prompt variant, language, sampling and pixel budget; ``call_user`` tolerated as
``WAIT`` three times, the fourth is ``FAIL``; the answer of the last allowed step replaced by
``FAIL``; a parse failure re-sends the same messages at temperature 1 with nothing fed back;
a fixed 3 s sleep after every action (``WAIT``: twice); no loop breaker, no error text to the
model; OSWorld's scoring (:func:`score_task`). docs/harness.md tabulates every difference.

A run records its harness (:meth:`Harness.public`) in meta.json and summary.json, and its last
OSWorld action word (:data:`FINAL_ACTIONS`) as ``final_action`` in result.json.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Literal

if TYPE_CHECKING:
    from tars.models.profiles import ModelProfile

HarnessName = Literal["tars", "osworld"]
HARNESSES: tuple[str, ...] = ("tars", "osworld")
#: OSWorld's action words for how a step ended (DesktopEnv.step); None: an ordinary action
FINAL_ACTIONS: tuple[str, ...] = ("DONE", "FAIL", "WAIT")


@dataclass(frozen=True)
class Harness:
    """The rules of one harness.

    ``name``: ``tars`` | ``osworld``. ``runner``: the reference runner reproduced (osworld).
    ``call_user_tolerance``: None: ``call_user`` ends the run (status ``call_user``); N: the
    first N ``call_user`` answers are waits, the next ends the run with ``FAIL``.
    ``last_step_fail``: the answer of the last allowed step is not performed; the run ends with
    ``FAIL`` (unless that answer was ``finished``, ``wait`` or a tolerated ``call_user``).
    ``parse_retries``: extra requests after an answer that does not parse.
    ``retry_feedback``: show the failed answer and the parse error to the model (tars); False
    re-sends the same messages. ``retry_temperature``: temperature of those re-sent requests
    (OSWorld: 1.0; None: unchanged). ``parse_exhausted``: the OSWorld action word a run ends
    with when no answer parsed (None: the run ends as ``error``, final action None).
    ``settle``: wait for the screen to settle after acting; ``sleep_after_action``: fixed sleep
    in seconds after each action (``wait`` sleeps it twice, as ``DesktopEnv.step`` does).
    ``loop_breaker``: report, then stop, a repeated action on an unchanged screen.
    ``error_feedback``: operator errors and refused actions are told to the model.
    ``scoring``: the rule of :func:`score_task`. ``language``: the Thought language unless the
    user gives one. ``prompt``: computer-task template the harness uses (None: the profile's).
    ``sampling``: profile fields the harness sets (temperature, top_p, frequency_penalty,
    max_new_tokens). ``space``: pixel budget the harness sets (min_pixels, max_pixels,
    prescale).
    """

    name: str = "tars"
    runner: str = ""
    call_user_tolerance: int | None = None
    last_step_fail: bool = False
    parse_retries: int = 3
    retry_feedback: bool = True
    retry_temperature: float | None = None
    parse_exhausted: str | None = None
    settle: bool = True
    sleep_after_action: float = 0.0
    loop_breaker: bool = True
    error_feedback: bool = True
    scoring: str = "tars"
    language: str = "English"
    prompt: str | None = None
    sampling: tuple[tuple[str, Any], ...] = ()
    space: tuple[tuple[str, Any], ...] = ()

    def apply(self, profile: "ModelProfile") -> "ModelProfile":
        """``profile`` with this harness's prompt variant, sampling and pixel budget."""
        changes: dict[str, Any] = dict(self.sampling)
        if self.prompt:
            changes["prompts"] = {**profile.prompts, "computer": self.prompt}
        if self.space:
            changes["space"] = replace(profile.space, **dict(self.space))
        return profile.with_settings(**changes) if changes else profile

    def with_settings(self, **changes: Any) -> "Harness":
        """A copy with some rules changed (e.g. ``sleep_after_action=0.2`` for
        ``--sleep-after-execution``)."""
        return replace(self, **changes)

    def public(self) -> dict[str, Any]:
        """Every rule, for meta.json and summary.json."""
        data = asdict(self)
        data["sampling"] = dict(self.sampling)
        data["space"] = dict(self.space)
        return data


TARS = Harness()

#: OSWorld's UI-TARS runner, run_multienv_uitars15_v1.py: runtime_conf, UITARSAgent.predict,
#: lib_run_single.run_single_example (--sleep_after_execution 3.0) and DesktopEnv.step/evaluate
_OSWORLD_V1 = Harness(
    name="osworld", call_user_tolerance=3, last_step_fail=True, parse_retries=2,
    retry_feedback=False, retry_temperature=1.0, parse_exhausted="DONE", settle=False,
    sleep_after_action=3.0, loop_breaker=False, error_feedback=False, scoring="osworld",
    language="Chinese",
    sampling=(("temperature", 0.0), ("top_p", 0.9), ("frequency_penalty", 1.0), ("max_new_tokens", 1000),
              ("history_images", 5)),
)

#: per prompt style: the OSWorld runner that runs that family
OSWORLD: dict[str, Harness] = {
    # infer_mode qwen25vl_normal (the runner's default): NORMAL action space, 100*28*28..16384*28*28
    "uitars-1.5": _OSWORLD_V1.with_settings(
        runner="run_multienv_uitars15_v1.py --infer_mode qwen25vl_normal --model_type qwen25vl",
        prompt="osworld-normal",
        space=(("min_pixels", 100 * 28 * 28), ("max_pixels", 16384 * 28 * 28), ("prescale", True))),
    # infer_mode qwen2vl_user, model_type qwen2vl: CALL_USR action space, 3136..2116800
    "uitars-1.0": _OSWORLD_V1.with_settings(
        runner="run_multienv_uitars15_v1.py --infer_mode qwen2vl_user --model_type qwen2vl",
        prompt="osworld-call-user",
        space=(("min_pixels", 3136), ("max_pixels", 2116800), ("prescale", True))),
    # run_multienv_uitars15_v2.py defaults (use_thinking off): no call_user handling, no
    # last-step FAIL, parse failures re-sent unchanged and then FAIL; temperature 0, no top_p,
    # max_tokens 3000
    "doubao": Harness(
        name="osworld", runner="run_multienv_uitars15_v2.py (use_thinking off)", call_user_tolerance=None,
        last_step_fail=False, parse_retries=2, retry_feedback=False, parse_exhausted="FAIL", settle=False,
        sleep_after_action=3.0, loop_breaker=False, error_feedback=False, scoring="osworld",
        language="Chinese", prompt="doubao-computer",
        sampling=(("temperature", 0.0), ("top_p", None), ("frequency_penalty", None), ("max_new_tokens", 3000),
                  ("history_images", 5))),
}


def get_harness(name: str | None, profile: "ModelProfile | None" = None) -> Harness:
    """The harness called ``name`` (None: ``tars``) for ``profile``'s family.

    Raises:
        ValueError: unknown name, or ``osworld`` for a family OSWorld has no runner for (the
            message lists the families it has).
    """
    if name in (None, "", "tars"):
        return TARS
    if name != "osworld":
        raise ValueError(f"unknown harness {name!r}; use one of {', '.join(HARNESSES)}")
    style = profile.prompt_style if profile is not None else "uitars-1.5"
    if style not in OSWORLD:
        raise ValueError(f"--harness osworld has no OSWorld runner for the {style} family; "
                         f"known: {', '.join(OSWORLD)}")
    return OSWORLD[style]


def score_task(scoring: str, infeasible: bool, final_action: str | None, metric: Callable[[], float],
               touched: bool = False) -> float:
    """A task's score (0..1) from how its run ended.

    ``scoring``: ``osworld`` | ``tars`` (:attr:`Harness.scoring`). ``infeasible``: the task
    cannot be done (OSWorld: evaluator func ``infeasible``). ``final_action``: the run's last
    OSWorld action word (``DONE``, ``FAIL``, ``WAIT`` or None for an ordinary action; a tars
    run that ends with ``call_user`` records ``FAIL``). ``metric``: computes the state score;
    called only when the rule needs it. ``touched``: the run acted on the desktop (anything
    but waits and pointer moves; :func:`tars.evals.tasks.touched_desktop`).

    ``osworld`` (DesktopEnv.evaluate): infeasible -> 1 exactly when the last action is
    ``FAIL``; feasible -> 0 when it is ``FAIL``, else the metric. ``tars``: infeasible -> 1
    exactly when the agent gave up (``FAIL``, i.e. ``call_user``) without having acted on the
    desktop (a run that clicked or typed first may have changed what it could not do);
    feasible -> the metric, whatever the ending (the state is what counts).

    Raises:
        ValueError: unknown ``scoring``.
    """
    if scoring not in ("osworld", "tars"):
        raise ValueError(f"unknown scoring rule {scoring!r}; use osworld or tars")
    if infeasible:
        gave_up = final_action == "FAIL" and (scoring == "osworld" or not touched)
        return 1.0 if gave_up else 0.0
    if scoring == "osworld" and final_action == "FAIL":
        return 0.0
    return float(metric())
