"""UI-TARS prompt templates: computer, mobile and grounding, per model version.

A model acts best when it is prompted exactly as it was trained, so the *lines* a model reads
(header, output format, action space, notes) keep the wording of the public UI-TARS prompts
byte for byte; only the way they are put together here is ours. Sources:

* ``uitars-1.0``: the UI-TARS-1.0 README prompt templates (computer, mobile) and the OSWorld
  ``uitars_agent`` action space with ``call_user()``; coordinates as
  ``<|box_start|>(x1,y1)<|box_end|>`` on the 0..1000 grid.
* ``uitars-1.5``: ``codes/ui_tars/prompt.py`` of bytedance/UI-TARS (``COMPUTER_USE``,
  ``MOBILE_USE``) and the OSWorld ``uitars15`` agent (``finished(content='xxx')`` plus
  ``call_user()``); grounding is the single-sentence prompt of the UI-TARS-1.5 README
  ("Output only the coordinate of one point in your response. ...").
* ``doubao``: ``COMPUTER_USE_DOUBAO`` / ``MOBILE_USE_DOUBAO`` / ``GROUNDING_DOUBAO`` of the
  ``ui-tars`` package (``<point>x1 y1</point>``).

:func:`add_box_tokens` re-wraps the coordinates of a past answer the way the UI-TARS agents
show history to the model (OSWorld ``add_box_token``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tars.models.profiles import ModelProfile

TASKS: tuple[str, ...] = ("computer", "mobile", "grounding")

_HEADER = (
    "You are a GUI agent. You are given a task and your action history, with screenshots. "
    "You need to perform the next action to complete the task."
)

_FORMAT_THOUGHT = "## Output Format\n```\nThought: ...\nAction: ...\n```"
_FORMAT_ACTION_ONLY = "## Output Format\n\nAction: ...\n"

_BOX = "start_box='<|box_start|>(x1,y1)<|box_end|>'"
_END_BOX = "end_box='<|box_start|>(x3,y3)<|box_end|>'"
_POINT = "point='<point>x1 y1</point>'"

_ESCAPES = (
    "Use escape characters \\', \\\", and \\n in content part to ensure we can parse the "
    "content in normal python string format."
)
_CALL_USER = (
    "call_user() # Submit the task and call the user when the task is unsolvable, "
    "or when you need the user's help."
)
_WAIT = "wait() #Sleep for 5s and take a screenshot to check for any changes."

# -- action spaces, one line per function, as the models were trained -------------------

# UI-TARS-1.0 and 1.5 share the computer actions; they differ in how `finished` is written.
_COMPUTER_SHARED = [
    f"click({_BOX})",
    f"left_double({_BOX})",
    f"right_single({_BOX})",
    f"drag({_BOX}, {_END_BOX})",
    "hotkey(key='')",
    "type(content='') #If you want to submit your input, use \"\\n\" at the end of `content`.",
    f"scroll({_BOX}, direction='down or up or right or left')",
    _WAIT,
]
_COMPUTER_1_0 = [*_COMPUTER_SHARED, "finished()", _CALL_USER]
_COMPUTER_1_5 = [*_COMPUTER_SHARED, f"finished(content='xxx') # {_ESCAPES}", _CALL_USER]

_MOBILE_UITARS = [
    f"click({_BOX})",
    f"long_press({_BOX})",
    "type(content='') #If you want to submit your input, use \"\\n\" at the end of `content`.",
    f"scroll({_BOX}, direction='down or up or right or left')",
    "open_app(app_name='')",
    f"drag({_BOX}, {_END_BOX})",
    "press_home()",
    "press_back()",
    "finished(content='xxx')",
]

_COMPUTER_DOUBAO = [
    f"click({_POINT})",
    f"left_double({_POINT})",
    f"right_single({_POINT})",
    "drag(start_point='<point>x1 y1</point>', end_point='<point>x2 y2</point>')",
    "hotkey(key='ctrl c') # Split keys with a space and use lowercase. "
    "Also, do not use more than 3 keys in one hotkey action.",
    f"type(content='xxx') # {_ESCAPES} If you want to submit your input, use \\n at the end "
    "of content. ",
    f"scroll({_POINT}, direction='down or up or right or left') "
    "# Show more information on the `direction` side.",
    _WAIT,
    f"finished(content='xxx') # {_ESCAPES}",
]

_MOBILE_DOUBAO = [
    f"click({_POINT})",
    f"long_press({_POINT})",
    "type(content='') #If you want to submit your input, use \"\\n\" at the end of `content`.",
    f"scroll({_POINT}, direction='down or up or right or left')",
    "open_app(app_name='')",
    "drag(start_point='<point>x1 y1</point>', end_point='<point>x2 y2</point>')",
    "press_home()",
    "press_back()",
    f"finished(content='xxx') # {_ESCAPES}",
]

#: (prompt_style, task) -> action-space lines
ACTION_SPACES: dict[tuple[str, str], list[str]] = {
    ("uitars-1.0", "computer"): _COMPUTER_1_0,
    ("uitars-1.5", "computer"): _COMPUTER_1_5,
    ("doubao", "computer"): _COMPUTER_DOUBAO,
    ("uitars-1.0", "mobile"): _MOBILE_UITARS,
    ("uitars-1.5", "mobile"): _MOBILE_UITARS,
    ("doubao", "mobile"): _MOBILE_DOUBAO,
}

# UI-TARS-1.0 was trained with the one-sentence summary note; 1.5 and Doubao with the plan.
_NOTE_SUMMARY = "- Summarize your next action (with its target element) in one sentence in `Thought` part."
_NOTE_PLAN = (
    "- Write a small plan and finally summarize your next action (with its target element) "
    "in one sentence in `Thought` part."
)

_GROUNDING_1_5 = (
    "Output only the coordinate of one point in your response. "
    "What element matches the following task: {instruction}"
)


def _agent_prompt(lines: list[str], note: str, language: str, instruction: str) -> str:
    return (
        f"{_HEADER}\n\n{_FORMAT_THOUGHT}\n\n## Action Space\n\n" + "\n".join(lines) + "\n\n\n"
        f"## Note\n- Use {language} in `Thought` part.\n{note}\n\n"
        f"## User Instruction\n{instruction}\n"
    )


def _grounding_prompt(click_line: str, instruction: str) -> str:
    return (
        f"{_HEADER} \n\n{_FORMAT_ACTION_ONLY}\n\n## Action Space\n{click_line}\n\n"
        f"## User Instruction\n{instruction}"
    )


def system_prompt(
    profile: "ModelProfile", instruction: str, language: str = "English", task: str = "computer"
) -> str:
    """The first user message for ``instruction``: the template of ``profile.prompt_style``.

    ``task``: ``computer`` (desktop action space), ``mobile`` (``long_press``, ``open_app``,
    ``press_home``, ``press_back``) or ``grounding`` (one click / one point, no thought).
    ``language``: the language the model writes its Thought in (``English``, ``Chinese``).

    Raises:
        ValueError: unknown task or empty instruction.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    if not instruction or not instruction.strip():
        raise ValueError("the instruction is empty")
    style = profile.prompt_style
    from tars.models import families  # the non-UI-TARS families render their own messages

    if families.is_family(profile):
        return families.first_message(profile, instruction, task)
    if task == "grounding":
        if style == "uitars-1.5":
            return _GROUNDING_1_5.format(instruction=instruction)
        if style == "doubao":
            return _grounding_prompt(f"click({_POINT})", instruction)
        return _grounding_prompt(f"click({_BOX})", instruction)
    note = _NOTE_SUMMARY if style == "uitars-1.0" else _NOTE_PLAN
    return _agent_prompt(ACTION_SPACES[(style, task)], note, language, instruction)


_BOX_ARG = re.compile(r"((?:start|end)_box=)(['\"])\s*(\([^()'\"]*\))\s*\2")


def add_box_tokens(response: str) -> str:
    """Wrap each bare ``start_box='(x,y)'`` / ``end_box=…`` of a past answer in box tokens.

    ``click(start_box='(10,20)')`` -> ``click(start_box='<|box_start|>(10,20)<|box_end|>')``,
    the form UI-TARS was trained to see its own earlier actions in (OSWorld ``add_box_token``).
    Already wrapped boxes, ``<point>`` forms and the Thought text are left alone.
    """
    return _BOX_ARG.sub(lambda m: f"{m[1]}{m[2]}<|box_start|>{m[3]}<|box_end|>{m[2]}", response)
