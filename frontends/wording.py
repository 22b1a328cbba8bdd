"""What the front ends say to people: actions named by their target, outcomes, refusals.

The overlay's panel, the app's result banner and its refusals word things here, so a run reads
the same everywhere. Nothing here shows a Python class name: error texts of the form
``InstructionError: ...`` (how the loop records an exception) lose the class name, and an
instruction ``lite`` cannot read comes with what to write instead.
"""

from __future__ import annotations

import re

from tars.actions.space import (
    Action,
    Click,
    DoubleClick,
    Drag,
    LongPress,
    MoveTo,
    RightClick,
    Scroll,
)
from tars.frontends.markers import describe_action

#: an instruction the default ``lite`` policy follows on the practice settings app
#: (python -m tars.assets.apps.settings); the app shows it as its example
EXAMPLE_INSTRUCTION = 'click Appearance, then select "Dark" from Theme, then click Apply'

_QUOTED = re.compile(r'"([^"\n]{1,40})"|“([^”\n]{1,40})”|‘([^’\n]{1,40})’|(?<!\w)\'([^\'\n]{1,40})\'(?!\w)')
_CLASS_PREFIX = re.compile(r"^(?:[A-Z][A-Za-z0-9_]*(?:Error|Exception|Interrupt|Interrupted|Exit)\s*:\s*)+")

_VERBS: dict[type, str] = {Click: "Click", DoubleClick: "Double-click", RightClick: "Right-click",
          MoveTo: "Move the pointer to", LongPress: "Long-press"}


def quoted_label(thought: str | None) -> str | None:
    """The first short quoted text of a thought (``I see "Appearance" at ...`` ->
    ``Appearance``): how models and lite name the control they act on. None when the thought
    quotes nothing (1 to 40 characters, one line)."""
    if not thought:
        return None
    m = _QUOTED.search(thought)
    if not m:
        return None
    return next(g for g in m.groups() if g is not None).strip() or None


_PLAN_MARK = re.compile(r"^(\s*)Step (\d+) of (\d+)\b")


def thought_for_people(thought: str | None) -> str:
    """A thought as the front ends show it: lite's progress mark ``Step K of N`` (the K-th
    part of the written instruction, not the run's step K) reads ``Part K of N``, so the only
    "Step" a person sees is the run's step number (trace, overlay and report agree)."""
    return _PLAN_MARK.sub(r"\1Part \2 of \3", thought or "", count=1)


def action_in_words(action: Action, label: str | None = None, window: str | None = None) -> str:
    """``action`` named by its target: ``Click “Appearance” in Settings``.

    ``label``: the control's text (see :func:`quoted_label`); ``window``: the title of the
    window under the point. Without either, :func:`tars.frontends.markers.describe_action`
    (the point in screen points). Non-pointer actions are always described by the latter.
    """
    where = f" in {window}" if window else ""
    verb = _VERBS.get(type(action))
    if verb is not None:
        if label:
            return f"{verb} “{label}”{where}"
        return f"{describe_action(action)}{where}"
    if isinstance(action, Drag) and label:
        return f"Drag “{label}”{where}"
    if isinstance(action, Scroll) and action.x is not None:
        return f"Scroll {action.direction}" + (f" over “{label}”" if label else "") + where
    return describe_action(action)


def plain_error(error: str | None) -> str:
    """An error text without leading Python class names (``PolicyError: x`` -> ``x``)."""
    return _CLASS_PREFIX.sub("", (error or "").strip())


def advice(error: str | None, policy: str | None) -> str:
    """What to do instead, for an error of a run of ``policy`` ("" when there is nothing to
    add)."""
    text = error or ""
    if policy in (None, "lite") and ("lite cannot follow" in text or "InstructionError" in text
                                     or "empty instruction" in text):
        return ("lite follows written steps, not goals. Write what to do step by step, e.g. "
                f"{EXAMPLE_INSTRUCTION} — or choose a model policy (hf or openai) in Settings "
                "for goals in your own words.")
    if "needs a screen" in text or "DISPLAY" in text:
        return "Start tars on a desktop session (an X display)."
    return ""


_TITLES = {"finished": "Finished", "call_user": "tars needs you", "stopped": "Stopped",
           "max_steps": "Step limit reached", "timeout": "Time limit reached",
           "error": "Stopped by an error"}


def outcome(status: str, content: str = "", error: str | None = None,
            last_thought: str = "") -> tuple[str, str]:
    """(title, body) for how a run ended. A ``call_user`` without a message of its own takes
    the reason from the last thought (lite writes its reason there)."""
    title = _TITLES.get(status, status)
    if status == "finished":
        body = content or "The agent reports the task done."
    elif status == "call_user":
        body = content or last_thought or "The agent asks for help."
    elif error:
        body = plain_error(error)
    else:
        body = content
    return title, body


def exchange_in_words(exchange: dict | None) -> str:
    """A planner + grounder step in one line: the planner's action and where the grounder put
    each element, e.g. ``planner: click(element='the Save button') · grounder: the Save button
    -> (812, 433)``. "" for a single model (``exchange`` None). Shape: ``StepRecord.exchange``
    (``{"planner": text, "grounder": [{"element", "answer", "point", "error"}]}``)."""
    if not exchange:
        return ""
    parts = []
    planner = str(exchange.get("planner") or "")
    action = next((ln.split(":", 1)[1].strip() for ln in planner.splitlines()
                   if ln.strip().lower().startswith("action:")), planner.strip())
    if action:
        parts.append(f"planner: {action}")
    for call in exchange.get("grounder") or []:
        point = call.get("point")
        where = f"({round(point[0])}, {round(point[1])})" if point else f"no point ({call.get('error') or 'unread'})"
        parts.append(f"grounder: {call.get('element')} -> {where}")
    return " · ".join(parts)
