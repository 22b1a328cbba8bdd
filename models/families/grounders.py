"""Grounding-only models: one screenshot and one element description in, one point out.

These models are not agents on their own; tars uses them through ``tars eval grounding`` and
as the grounder of the planner + grounder mode (:mod:`tars.models.planner`). Each renders the
one request its public reference sends:

* ``jedi`` (Jedi-3B / Jedi-7B, OSWorld ``mm_agents/jedi_7b_agent.py`` grounder call): system
  ``JEDI_GROUNDER_SYS_PROMPT`` (the ``computer_use`` tools text, its JSON braces doubled as the
  agent sends them, with the ``smart_resize(max_pixels=2700*28*28)`` size of the screenshot),
  user [screenshot, ``"\\n" + description``]; answer a ``<tool_call>`` in resized pixels;
* ``gta1`` (GTA1, github.com/Yan98/GTA1 README inference snippet): system "You are an expert
  UI element locator ..." with the resized height and width, user [image, description];
  answer ``(x,y)`` in resized pixels (``smart_resize`` factor 28, 3136..4096*2160 pixels);
* ``holo1.5`` (Holo1.5 model card example, ``Hcompany/Holo1.5-*``): ONE user message [image,
  "Localize an element ... format: <ClickAbsoluteAction JSON schema>\\n Your target is:" +
  "\\n" + description]; answer ``{"action": "click_absolute", "x": .., "y": ..}`` in pixels of
  the processor-resized image;
* ``holo3`` (Holo3 / Holo3.1, hub.hcompany.ai "element localization"): ONE user message [image,
  "Localize an element ... format: <VisualLocalizerOutput JSON schema>\\n Your target is:\\n" +
  description]; answer ``{"x": .., "y": ..}`` on a 0..1000 grid of the image sent.

The Holo schemas are printed as the cards print them: the ``model_json_schema()`` dict of a
pydantic model, through ``str`` (Python's repr of the dict), built with the installed pydantic.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from tars.actions.coords import smart_resize
from tars.models.families import Profile, Prompt, image, retry_messages, split_turns, text


class ClickAbsoluteAction(BaseModel):
    """Click at absolute coordinates."""

    action: Literal["click_absolute"] = "click_absolute"
    x: int = Field(description="The x coordinate, number of pixels from the left edge.")
    y: int = Field(description="The y coordinate, number of pixels from the top edge.")


class VisualLocalizerOutput(BaseModel):
    x: int = Field(ge=0, le=1000, description="X coordinate as integer in [0, 1000]")
    y: int = Field(ge=0, le=1000, description="Y coordinate as integer in [0, 1000]")


_LOCALIZE = "Localize an element on the GUI image according to the provided target and output a click position."


def holo15_text(description: str) -> str:
    """The Holo1.5 card's localization text for ``description``."""
    return (
        f"{_LOCALIZE}\n * You must output a valid JSON following the format: "
        f"{ClickAbsoluteAction.model_json_schema()}\n Your target is:\n{description}"
    )


def holo3_text(description: str) -> str:
    """The Holo3 element-localization text for ``description``."""
    return (
        f"{_LOCALIZE}\n * You must output a valid JSON following the format: "
        f"{VisualLocalizerOutput.model_json_schema()}\n Your target is:\n{description}"
    )


_JEDI_DESCRIPTION = [
    "Use a mouse and keyboard to interact with a computer, and take screenshots.",
    "* This is an interface to a desktop GUI. You do not have access to a terminal or "
    "applications menu. You must click on desktop icons to start applications.",
    "* Some applications may take time to start or process actions, so you may need to wait "
    "and take successive screenshots to see the results of your actions. E.g. if you click on "
    "Firefox and a window doesn't open, try wait and taking another screenshot.",
    "* The screen's resolution is {width}x{height}.",
    "* Whenever you intend to move the cursor to click on an element like an icon, you should "
    "consult a screenshot to determine the coordinates of the element before moving the cursor.",
    "* If you tried clicking on a program or link but it failed to load, even after waiting, try "
    "adjusting your cursor position so that the tip of the cursor visually falls on the element "
    "that you want to click.",
    "* Make sure to click any buttons, links, icons, etc with the cursor tip in the center of the "
    "element. Don't click boxes on their edges unless asked.",
]
_JEDI_ACTIONS = [
    ("key", "Performs key down presses on the arguments passed in order, then performs key "
            "releases in reverse order."),
    ("type", "Type a string of text on the keyboard."),
    ("mouse_move", "Move the cursor to a specified (x, y) pixel coordinate on the screen."),
    ("left_click", "Click the left mouse button."),
    ("left_click_drag", "Click and drag the cursor to a specified (x, y) pixel coordinate on the screen."),
    ("right_click", "Click the right mouse button."),
    ("middle_click", "Click the middle mouse button."),
    ("double_click", "Double-click the left mouse button."),
    ("scroll", "Performs a scroll of the mouse scroll wheel."),
    ("wait", "Wait specified seconds for the change to happen."),
    ("terminate", "Terminate the current task and report its completion status."),
]
_ONLY = "Required only by `action={}`."


def _jedi_tool(width: int, height: int) -> dict[str, Any]:
    pointer = ", ".join(f"`action={a}`" for a in
                        ("mouse_move", "left_click_drag", "left_click", "right_click", "double_click"))
    return {
        "type": "function",
        "function": {
            "name": "computer_use",
            "description": "\n".join(_JEDI_DESCRIPTION).format(width=width, height=height),
            "parameters": {
                "properties": {
                    "action": {
                        "description": "The action to perform. The available actions are:\n"
                        + "\n".join(f"* `{n}`: {d}" for n, d in _JEDI_ACTIONS),
                        "enum": [n for n, _ in _JEDI_ACTIONS],
                        "type": "string",
                    },
                    "keys": {"description": _ONLY.format("key"), "type": "array"},
                    "text": {"description": _ONLY.format("type"), "type": "string"},
                    "coordinate": {
                        "description": "(x, y): The x (pixels from the left edge) and y (pixels "
                        "from the top edge) coordinates to move the mouse to. Required only by "
                        f"{pointer}.",
                        "type": "array",
                    },
                    "pixels": {
                        "description": "The amount of scrolling to perform. Positive values "
                        "scroll up, negative values scroll down. " + _ONLY.format("scroll"),
                        "type": "number",
                    },
                    "time": {"description": "The seconds to wait. " + _ONLY.format("wait"), "type": "number"},
                    "status": {
                        "description": "The status of the task. " + _ONLY.format("terminate"),
                        "type": "string",
                        "enum": ["success", "failure"],
                    },
                },
                "required": ["action"],
                "type": "object",
            },
        },
    }


def jedi_system_prompt(width: int, height: int) -> str:
    """``JEDI_GROUNDER_SYS_PROMPT`` as sent for a resized width x height image: the tools JSON
    with real newlines in its strings and every brace doubled (the agent fills the template with
    ``str.replace``, so the doubled braces of its source reach the model)."""
    tools = json.dumps(_jedi_tool(width, height)).replace("\\n", "\n")
    tools = tools.replace("{", "{{").replace("}", "}}")
    return (
        "You are a helpful assistant.\n\n# Tools\n\nYou may call one or more functions to assist "
        "with the user query.\n\nYou are provided with function signatures within <tools></tools> "
        f"XML tags:\n<tools>\n{tools}\n</tools>\n\nFor each function call, return a json object "
        "with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
        '{{"name": <function-name>, "arguments": <args-json-object>}}\n</tool_call>'
    )


def gta1_system_prompt(width: int, height: int) -> str:
    """GTA1's system prompt for a resized width x height image."""
    return (
        "You are an expert UI element locator. Given a GUI image and a user's element "
        "description, provide the coordinates of the specified element as a single (x,y) point. "
        f"The image resolution is height {height} and width {width}. For elements with area, "
        "return the center point.\n\nOutput the coordinate pair exactly:\n(x,y)"
    )


def _resized(profile: "Profile", width: int, height: int) -> tuple[int, int]:
    sp = profile.space
    h, w = smart_resize(height, width, sp.factor, sp.min_pixels, sp.max_pixels)
    return w, h


def messages(prompt: "Prompt", profile: "Profile") -> list[dict[str, Any]]:
    """The one grounding request of ``profile``'s family for ``prompt.instruction`` (the
    element description) on the current screenshot."""
    split = split_turns(prompt)
    shot = split.current
    description = prompt.instruction
    style = profile.prompt_style
    pic = [image(shot)] if shot is not None else []
    if style == "jedi":
        w, h = _resized(profile, *shot.size) if shot is not None else (0, 0)
        out = [
            {"role": "system", "content": [text(jedi_system_prompt(w, h))]},
            {"role": "user", "content": pic + [text("\n" + description)]},
        ]
    elif style == "gta1":
        w, h = _resized(profile, *shot.size) if shot is not None else (0, 0)
        out = [
            {"role": "system", "content": [text(gta1_system_prompt(w, h))]},
            {"role": "user", "content": pic + [text(description)]},
        ]
    elif style == "holo1.5":
        out = [{"role": "user", "content": pic + [text(holo15_text(description))]}]
    elif style == "holo3":
        out = [{"role": "user", "content": pic + [text(holo3_text(description))]}]
    else:  # pragma: no cover - FAMILY_MODULES only routes the styles above here
        raise ValueError(f"no grounding layout for prompt style {style!r}")
    return out + retry_messages(split.retries)
