"""UI-TARS prompt templates: each one equal, byte for byte, to one published reference variant.

A model acts best when it is prompted exactly as it was trained and evaluated, so every template
here renders the same string as one reference (tests/test_prompts_reference.py imports the
references and compares). Templates are named; a model profile
(:class:`tars.models.profiles.ModelProfile`) says which one it uses for each task, and the
``osworld`` harness (:mod:`tars.agent.harness`) may pick another. The names and their sources:

=====================  =========  ==============================================================
name                   task       reference (layout)
=====================  =========  ==============================================================
``osworld-normal``     computer   OSWorld ``mm_agents/uitars15_v1.py``: UITARS_USR_PROMPT_THOUGHT
                                  with UITARS_NORMAL_ACTION_SPACE (``finished(content='xxx')``,
                                  no ``call_user``), the 1.5 runner's default ``qwen25vl_normal``
``osworld-call-user``  computer   the same template with UITARS_CALL_USR_ACTION_SPACE
                                  (``finished()`` and ``call_user()``): ``infer_mode
                                  qwen2vl_user``, and OSWorld's 1.0 agent ``uitars_agent.py``
``computer-use``       computer   bytedance/UI-TARS ``codes/prompts.py`` COMPUTER_USE (the 1.5
                                  release prompt)
``mobile-use``         mobile     bytedance/UI-TARS ``codes/prompts.py`` MOBILE_USE
``grounding``          grounding  bytedance/UI-TARS ``codes/prompts.py`` GROUNDING (agent layout)
``grounding-v1``       grounding  UI-TARS README_v1 grounding snippet: "Output only the coordinate
                                  of one point ..." + instruction; one user message, image first
``doubao-computer``    computer   ``ui-tars`` package ``COMPUTER_USE_DOUBAO`` (== OSWorld
                                  uitars15_v2 COMPUTER_USE_NO_THINKING with language Chinese)
``doubao-mobile``      mobile     ``ui-tars`` package ``MOBILE_USE_DOUBAO``
``doubao-grounding``   grounding  ``ui-tars`` package ``GROUNDING_DOUBAO``, its stray quote in
                                  ``click(point='<point>x1 y1</point>'')`` included
=====================  =========  ==============================================================

Layouts (how :meth:`tars.models.base.Prompt.messages` lays the request out):
``agent``: system message "You are a helpful assistant.", the template as a user text message,
then per step a user message with the screenshot and the assistant's answer (OSWorld
uitars15_v1); ``agent-nosystem``: the same without the system message (OSWorld uitars15_v2);
``image-first``: one user message, the screenshot then the template text (README_v1 grounding).

:func:`add_box_tokens` re-wraps the coordinates of a past answer the way OSWorld's
``add_box_token`` does before showing history to the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

#: a :class:`tars.models.profiles.ModelProfile` (not imported: profiles imports this module, and
#: the import-linter contract keeps tars.models acyclic)
ModelProfile = Any

TASKS: tuple[str, ...] = ("computer", "mobile", "grounding")
Layout = Literal["agent", "agent-nosystem", "image-first"]
LAYOUTS: tuple[str, ...] = ("agent", "agent-nosystem", "image-first")

#: the system message of the ``agent`` layout (OSWorld uitars15_v1 / uitars_agent)
SYSTEM_MESSAGE = "You are a helpful assistant."


@dataclass(frozen=True)
class Template:
    """One prompt variant.

    ``name``: what profiles and harnesses refer to. ``task``: computer | mobile | grounding.
    ``text``: the reference's format string, with ``{instruction}`` and (where the reference
    has it) ``{language}``. ``layout``: see the module docstring. ``source``: where the text and
    layout come from.
    """

    name: str
    task: str
    text: str
    layout: Layout
    source: str

    def render(self, instruction: str, language: str = "English") -> str:
        """The template filled in, as the reference fills it (``str.format``)."""
        return self.text.format(instruction=instruction, language=language)


_HEADER = (
    "You are a GUI agent. You are given a task and your action history, with screenshots. "
    "You need to perform the next action to complete the task."
)
_FORMAT = "## Output Format\n```\nThought: ...\nAction: ...\n```"
_NOTE_PLAN = (
    "- Write a small plan and finally summarize your next action (with its target element) "
    "in one sentence in `Thought` part."
)
_NOTES = f"## Note\n- Use {{language}} in `Thought` part.\n{_NOTE_PLAN}"
_USER = "## User Instruction\n{instruction}"

_BOX = "start_box='<|box_start|>(x1,y1)<|box_end|>'"
_END_BOX = "end_box='<|box_start|>(x3,y3)<|box_end|>'"
_POINT = "point='<point>x1 y1</point>'"
_DRAG_POINTS = "drag(start_point='<point>x1 y1</point>', end_point='<point>x2 y2</point>')"
_ESCAPES = (
    "Use escape characters \\', \\\", and \\n in content part to ensure we can parse the "
    "content in normal python string format."
)
_SUBMIT_SHORT = "#If you want to submit your input, use \"\\n\" at the end of `content`."
_SUBMIT_LONG = "If you want to submit your input, use \\n at the end of content. "
_WAIT = "wait() #Sleep for 5s and take a screenshot to check for any changes."
_FINISHED_CONTENT = f"finished(content='xxx') # {_ESCAPES}"
_CALL_USER = (
    "call_user() # Submit the task and call the user when the task is unsolvable, "
    "or when you need the user's help."
)
_DIRECTION = "direction='down or up or right or left'"
_SHOW_MORE = " # Show more information on the `direction` side."
_HOTKEY_RULE = ("hotkey(key='ctrl c') # Split keys with a space and use lowercase. "
                "Also, do not use more than 3 keys in one hotkey action.")

# OSWorld's computer action space (uitars15_v1 / prompts.py): shared lines, then the ending
_OSWORLD_ACTIONS = [
    f"click({_BOX})", f"left_double({_BOX})", f"right_single({_BOX})", f"drag({_BOX}, {_END_BOX})",
    "hotkey(key='')", f"type(content='') {_SUBMIT_SHORT}", f"scroll({_BOX}, {_DIRECTION})", _WAIT,
]
# codes/prompts.py COMPUTER_USE
_RELEASE_ACTIONS = [
    f"click({_BOX})", f"left_double({_BOX})", f"right_single({_BOX})", f"drag({_BOX}, {_END_BOX})",
    "hotkey(key='')", f"type(content='xxx') # {_ESCAPES} {_SUBMIT_LONG}", f"scroll({_BOX}, {_DIRECTION})",
    _WAIT, _FINISHED_CONTENT,
]
_DOUBAO_ACTIONS = [
    f"click({_POINT})", f"left_double({_POINT})", f"right_single({_POINT})", _DRAG_POINTS, _HOTKEY_RULE,
    f"type(content='xxx') # {_ESCAPES} {_SUBMIT_LONG}", f"scroll({_POINT}, {_DIRECTION}){_SHOW_MORE}",
    _WAIT, _FINISHED_CONTENT,
]


def _mobile_actions(point: str, drag: str) -> list[str]:
    return [
        f"click({point})", f"long_press({point})", f"type(content='') {_SUBMIT_SHORT}",
        f"scroll({point}, {_DIRECTION})", "open_app(app_name='')", drag, "press_home()", "press_back()",
        _FINISHED_CONTENT,
    ]


def _osworld(actions: list[str]) -> str:
    # UITARS_USR_PROMPT_THOUGHT: header with a trailing space; the action-space constants begin
    # and end with a newline, hence the blank lines around them
    space = "\n" + "\n".join(actions) + "\n"
    return f"{_HEADER} \n\n{_FORMAT}\n\n## Action Space\n{space}\n\n{_NOTES}\n\n{_USER}\n"


def _release(actions: list[str], header_space: str = "", compact: bool = False) -> str:
    # codes/prompts.py and the ui-tars package: blank line after "## Action Space", two before
    # the note; the mobile templates have no blank lines around the output format
    gap = "\n" if compact else "\n\n"
    body = "\n".join(actions)
    return (f"{_HEADER}{header_space}{gap}{_FORMAT}{gap}## Action Space\n\n{body}\n\n\n"
            f"{_NOTES}\n\n{_USER}\n")


def _grounding(click: str) -> str:
    return (f"{_HEADER} \n\n## Output Format\n\nAction: ...\n\n\n## Action Space\n{click}\n\n"
            f"{_USER}")


_CODES = "bytedance/UI-TARS codes/prompts.py (commit 6b315cc)"
_UITARS_PKG = "ui-tars package ui_tars/prompt.py"
_V1 = "OSWorld desktop-env mm_agents/uitars15_v1.py"

#: every template by name
TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template("osworld-normal", "computer", _osworld([*_OSWORLD_ACTIONS, _FINISHED_CONTENT]), "agent",
                 f"{_V1}: UITARS_USR_PROMPT_THOUGHT + UITARS_NORMAL_ACTION_SPACE (infer_mode qwen25vl_normal)"),
        Template("osworld-call-user", "computer", _osworld([*_OSWORLD_ACTIONS, "finished()", _CALL_USER]), "agent",
                 f"{_V1}: UITARS_USR_PROMPT_THOUGHT + UITARS_CALL_USR_ACTION_SPACE (infer_mode "
                 "qwen2vl_user; mm_agents/uitars_agent.py)"),
        Template("computer-use", "computer", _release(_RELEASE_ACTIONS), "agent", f"{_CODES} COMPUTER_USE"),
        Template("mobile-use", "mobile",
                 _release(_mobile_actions(_BOX, f"drag({_BOX}, {_END_BOX})"), " ", compact=True), "agent",
                 f"{_CODES} MOBILE_USE"),
        Template("grounding", "grounding", _grounding(f"click({_BOX})"), "agent", f"{_CODES} GROUNDING"),
        Template("grounding-v1", "grounding",
                 "Output only the coordinate of one point in your response. "
                 "What element matches the following task: {instruction}", "image-first",
                 "bytedance/UI-TARS README_v1.md grounding example (image, then text)"),
        Template("doubao-computer", "computer", _release(_DOUBAO_ACTIONS), "agent-nosystem",
                 f"{_UITARS_PKG} COMPUTER_USE_DOUBAO; layout of OSWorld mm_agents/uitars15_v2.py"),
        Template("doubao-mobile", "mobile", _release(_mobile_actions(_POINT, _DRAG_POINTS), " ", compact=True),
                 "agent-nosystem", f"{_UITARS_PKG} MOBILE_USE_DOUBAO"),
        Template("doubao-grounding", "grounding", _grounding(f"click({_POINT}')"), "agent-nosystem",
                 f"{_UITARS_PKG} GROUNDING_DOUBAO"),
    )
}


def get_template(name: str) -> Template:
    """The template called ``name``.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ValueError(f"unknown prompt template {name!r}; known: {', '.join(TEMPLATES)}") from None


def template_for(profile: "ModelProfile", task: str = "computer") -> Template:
    """The template ``profile`` uses for ``task``.

    Raises:
        ValueError: unknown task, or the profile names no template for it.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    from tars.models import families  # the non-UI-TARS families render their own messages

    if families.is_family(profile):
        # its text is the family's first message; the conversation comes from families.render_messages
        text = families.first_message(profile, "{instruction}", task)
        text = text.replace("{", "{{").replace("}", "}}").replace("{{instruction}}", "{instruction}")
        return Template(f"family:{profile.name}", task, text, "agent", profile.source)
    name = profile.prompts.get(task)
    if name is None:
        raise ValueError(f"profile {profile.name!r} has no {task} prompt")
    return get_template(name)


def system_prompt(
    profile: "ModelProfile", instruction: str, language: str = "English", task: str = "computer"
) -> str:
    """The template text of ``profile`` for ``task``, filled with ``instruction``.

    ``task``: ``computer`` (desktop action space), ``mobile`` (``long_press``, ``open_app``,
    ``press_home``, ``press_back``) or ``grounding`` (one click, no thought).
    ``language``: the language the model writes its Thought in (``English``, ``Chinese``);
    templates without a language line ignore it.

    Raises:
        ValueError: unknown task or empty instruction.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    if not instruction or not instruction.strip():
        raise ValueError("the instruction is empty")
    from tars.models import families  # the non-UI-TARS families render their own messages

    if families.is_family(profile):
        return families.first_message(profile, instruction, task)
    return template_for(profile, task).render(instruction, language)


# OSWorld add_box_token: only answers that contain "Action: " and "start_box=" are touched; the
# part after each "Action: " is stripped, its bare "(x,y)" boxes are wrapped, and the parts are
# joined again with a blank line.
_BOX_FIND = re.compile(r"(start_box|end_box)='\((\d+),\s*(\d+)\)'")


def add_box_tokens(response: str) -> str:
    """Wrap each bare ``start_box='(x,y)'`` / ``end_box=...`` of a past answer in box tokens.

    ``click(start_box='(10,20)')`` -> ``click(start_box='<|box_start|>(10,20)<|box_end|>')``,
    the form UI-TARS saw its own earlier actions in. This is OSWorld's ``add_box_token``
    (mm_agents/uitars15_v1.py) rule for rule, so a history reads exactly as it does there
    (a differential test compares the two on generated answers): nothing changes unless the
    answer has both ``Action: `` and ``start_box=``; then each part after ``Action: `` is
    stripped, its ``(x,y)`` boxes written without a space are wrapped, and the parts are joined
    with a blank line.
    """
    if "Action: " not in response or "start_box=" not in response:
        return response
    head, *actions = response.split("Action: ")
    out = []
    for action in actions:
        action = action.strip()
        for kind, x, y in _BOX_FIND.findall(action):
            bare = f"{kind}='({x},{y})'"
            action = action.replace(bare, f"{kind}='<|box_start|>({x},{y})<|box_end|>'")
        out.append(action)
    return head + "Action: " + "\n\n".join(out)
