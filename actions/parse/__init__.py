"""Model text -> :class:`~tars.actions.space.Step`: every dialect of the action language.

:func:`parse_response` is the one entry point (docs/DESIGN.md, Data flow). It cleans the text
(end-of-turn tokens, code fences) and hands it to the dialect it is written in:

=================================  ===========================================================
``tars.actions.parse.uitars``      UI-TARS text: ``Thought: ... Action: click(start_box=...)``
``tars.actions.parse.seed``        Seed / Doubao XML: ``<function=click><parameter=point>...``
``tars.actions.parse.toolcall``    JSON tool calls: ``<tool_call>{"name": "computer_use", ...}``
                                   (Qwen2.5-VL, Qwen3-VL, GUI-Owl with ``<thinking>`` /
                                   ``<conclusion>``, the Jedi grounder)
``tars.actions.parse.pyautogui``   pyautogui code (OpenCUA ``## Code:`` blocks, Jedi planner),
                                   read by the safe call reader ``tars.actions.parse.pycall``
``tars.actions.parse.point``       bare points of grounding models: GTA1 ``(x,y)``, Holo JSON
=================================  ===========================================================

No dialect evaluates model text: scanners of our own and :mod:`json` only. Whatever cannot be
read exactly raises :class:`ParseError` naming the offending part, so the loop can feed it back
instead of guessing a click. Coordinates come back in **model space**, as written;
:func:`tars.actions.coords.action_to_screen` converts them.
"""

from __future__ import annotations

import re

from tars.actions.parse import point, pyautogui, seed, toolcall, uitars
from tars.actions.parse.errors import ParseError, clip
from tars.actions.space import Step

__all__ = ["MAX_ACTIONS_PER_STEP", "MAX_ANSWER_CHARS", "ParseError", "bound_answer", "parse_response"]

#: The longest model answer tars reads, prints or records, in characters. A UI-TARS step (thought
#: and one action) is a few hundred characters and a long reasoning trace a few thousand; a
#: runaway answer (issue 16: 60 MB) is cut here, before it is parsed, printed or written.
MAX_ANSWER_CHARS = 32_768
#: The most actions one answer may hold; more is a ParseError fed back to the model (issue 16:
#: an answer with 1000 clicks must not perform 1000 clicks). 64, not fewer: lite's slow retry of a
#: field value types it one character per action (up to 40 characters, plus the click).
MAX_ACTIONS_PER_STEP = 64

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def bound_answer(text: str) -> str:
    """``text`` cut to :data:`MAX_ANSWER_CHARS` characters, with lone UTF-16 surrogates (which
    no UTF-8 file or terminal can take) replaced by U+FFFD. What the loop does to every answer
    before anything else sees it; :func:`parse_response` applies it too."""
    if len(text) > MAX_ANSWER_CHARS:
        text = text[:MAX_ANSWER_CHARS]
    return _LONE_SURROGATE.sub("\ufffd", text)

# GUI-Owl wraps its reasoning and its one-line summary around the tool call
_CONCLUSION_RE = re.compile(r"<conclusion>(.*?)(?:</conclusion>|\Z)", re.S)
_THINKING_RE = re.compile(r"</?thinking>")


def parse_response(text: str) -> Step:
    """Parse one model answer into a :class:`~tars.actions.space.Step` (actions in model space).

    ``text`` is the raw model output. Returns ``Step(thought, actions, reflection, summary,
    raw=text)``; ``thought`` falls back to ``Action_Summary:`` and then to unlabelled
    reasoning before the action. Coordinates are the centre of each box, in the model's own
    space (0..1000 for UI-TARS-1.0, resized-image pixels for UI-TARS-1.5).

    Raises:
        ParseError: no action, an unknown function or argument, a box that is not 2 or 4
            finite numbers or is cut off, an unknown key, a bad scroll direction, or text
            that is not an action where an action was expected; for ``<tool_call>`` answers,
            what :func:`tars.actions.parse.toolcall.parse_tool_calls` raises. The message names
            the part.
    """
    if not isinstance(text, str):
        raise ParseError(f"model output must be text, got {type(text).__name__}")
    text = bound_answer(text)
    try:
        step = _parse(text)
    except ParseError:
        raise
    except RecursionError:
        raise ParseError("the answer is nested too deeply to read") from None
    except (ValueError, OverflowError) as exc:  # an action type refused a value (a wait of 1e10 s)
        raise ParseError(str(exc)) from None
    if len(step.actions) > MAX_ACTIONS_PER_STEP:
        raise ParseError(f"the answer has {len(step.actions)} actions; at most "
                         f"{MAX_ACTIONS_PER_STEP} per step")
    return step


def _parse(text: str) -> Step:
    clean = text.lstrip("\ufeff")  # a byte-order mark some servers keep at the start
    for token in uitars._NOISE:
        clean = clean.replace(token, "")
    # grounding models answering with a bare point (GTA1, Holo), before fences are removed
    if point.is_point_answer(clean):
        return point.parse_point(clean)
    # pyautogui code (OpenCUA, Jedi planner): the last code block of the answer
    if pyautogui.looks_like_pyautogui(clean) and not toolcall.is_json_tool_call(clean):
        return pyautogui.parse_pyautogui(clean)
    clean = uitars._FENCE_RE.sub("", clean)

    # Qwen2.5-VL's own computer_use / mobile_use tool calls: JSON in <tool_call> blocks.
    if toolcall.is_json_tool_call(clean):
        conclusion = _CONCLUSION_RE.search(clean)
        if conclusion:  # GUI-Owl: <thinking>...</thinking> <tool_call> <conclusion>...</conclusion>
            clean = clean[: conclusion.start()] + clean[conclusion.end():]
        head, actions = toolcall.parse_tool_calls(clean)
        head = _THINKING_RE.sub("", seed._THINK_TAG_RE.sub("", head))
        if conclusion:
            thought = head.strip() or conclusion.group(1).strip()
            return Step(thought or None, actions, summary=conclusion.group(1).strip() or None, raw=text)
        # Qwen3-VL writes "Action: <one-line summary>" before the call: the summary, and the
        # thought when no reasoning comes before it.
        label = next((m for m in uitars._LABEL_RE.finditer(head) if m.group(1).lower() == "action"), None)
        action_text = head[label.end() :].strip() if label else ""
        thought, reflection, summary = uitars._sections(head[: label.start()] if label else head)
        summary = summary or action_text or None
        return Step(thought or summary, actions, reflection=reflection, summary=summary, raw=text)

    action_label = next(
        (m for m in uitars._LABEL_RE.finditer(clean) if m.group(1).lower() == "action"), None
    )
    xml = seed._XML_FUNCTION_RE.search(clean) if action_label is None else None
    bare = uitars._BARE_CALL_RE.search(clean) if action_label is None else None
    if xml is not None and (bare is None or xml.start() < bare.start()):
        head, calls = seed._xml_calls(clean, xml.start())
        actions = tuple(uitars._to_action(call) for call in calls)
        thought, reflection, summary = uitars._sections(seed._THINK_TAG_RE.sub("", head))
        return Step(thought, actions, reflection=reflection, summary=summary, raw=text)
    if action_label is not None:
        head, region = clean[: action_label.start()], clean[action_label.end() :]
    else:
        if bare is None:
            raise ParseError(
                f"no action in model output {clip(clean.strip())!r}: "
                "expected 'Action: <function>(...)'"
            )
        start = bare.start() + len(bare.group()) - len(bare.group().lstrip(" \t>*`"))
        head, region = clean[: bare.start()], clean[start:]

    calls = uitars._scan_calls(region)
    if not calls:
        raise ParseError("no action after 'Action:'")
    actions = tuple(uitars._to_action(call) for call in calls)
    thought, reflection, summary = uitars._sections(head)
    return Step(thought, actions, reflection=reflection, summary=summary, raw=text)
