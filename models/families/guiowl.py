"""GUI-Owl (Mobile-Agent-v3): the conversation of OSWorld's ``OwlAgent`` (``fn_call`` mode).

Facts (``desktop-env`` 1.0.2 ``mm_agents/owl_agent.py``, the agent's defaults
``history_n=1``, temperature 0, top_p 0.9, max_tokens 2048, ``repetition_penalty`` 1.05):

* system message: ["You are a helpful assistant.", the ``# Tools`` prompt with the
  ``computer_use`` function (``click``, ``drag`` with ``coordinate2``, ``type`` with
  ``clear``/``enter``, ...)];
* ONE user message: the instruction text ("Please generate the next move ...", ``Previous
  actions:`` = ``Step i: <conclusion>`` lines, the ``<thinking>``/``<conclusion>`` rule), then
  ``Screenshot of step i:`` + image for the kept past steps and ``Current screenshot:`` + image;
  no assistant turns: the past lives in the conclusions;
* coordinates: pixels of the model image. The agent hard-codes a 1920x1080 screen (the prompt
  says "The screen's resolution is 1932x1092", its smart_resize, and points are scaled by
  1920/1932, 1080/1092). tars states the ``smart_resize`` size of the actual screenshot
  (factor 28, at most ``3000*28*28`` pixels, the agent's image cap) and scales by it: the same
  numbers at 1920x1080, correct ones elsewhere.
"""

from __future__ import annotations

import json
from typing import Any

from tars.actions.coords import smart_resize
from tars.models.families import Profile, Prompt, image, retry_messages, split_turns, text

_DESCRIPTION = [
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

_ACTIONS = [
    ("key", "Performs key down presses on the arguments passed in order, then performs key "
            "releases in reverse order."),
    ("type", "Input a string of text. Use the `clear` parameter to decide whether to overwrite "
             "the existing text, and use the `enter` parameter to decide whether the enter key "
             "should be pressed after typing the text."),
    ("mouse_move", "Move the cursor to a specified (x, y) pixel coordinate on the screen."),
    ("click", "Click the left mouse button at a specified (x, y) pixel coordinate on the screen."),
    ("drag", "Click at a specified (x, y) pixel coordinate on the screen, and drag the cursor to "
             "another specified (x2, y2) pixel coordinate on the screen."),
    ("right_click", "Click the right mouse button at a specified (x, y) pixel coordinate on the screen."),
    ("middle_click", "Click the middle mouse button at a specified (x, y) pixel coordinate on the screen."),
    ("double_click", "Double-click the left mouse button at a specified (x, y) pixel coordinate on the screen."),
    ("scroll", "Performs a scroll of the mouse scroll wheel."),
    ("wait", "Wait specified seconds for the change to happen."),
    ("terminate", "Terminate the current task and report its completion status."),
]

_ONLY = "Required only by `action={}`."


def tool_definition(width: int, height: int) -> dict[str, Any]:
    """The ``computer_use`` function of the GUI-Owl prompt for a model image of width x height."""
    actions = "The action to perform. The available actions are:\n" + "\n".join(
        f"* `{n}`: {d}" for n, d in _ACTIONS
    )
    return {
        "type": "function",
        "function": {
            "name": "computer_use",
            "description": "\n".join(_DESCRIPTION).format(width=width, height=height),
            "parameters": {
                "properties": {
                    "action": {"description": actions, "enum": [n for n, _ in _ACTIONS], "type": "string"},
                    "keys": {"description": _ONLY.format("key"), "type": "array"},
                    "text": {"description": _ONLY.format("type"), "type": "string"},
                    "clear": {
                        "description": "Assign it to 1 if the text should overwrite the existing "
                        "text, otherwise assign it to 0. Using this argument clears all text in an "
                        "element. " + _ONLY.format("type"),
                        "type": "number",
                    },
                    "enter": {
                        "description": "Assign it to 1 if the enter key should be pressed after "
                        "typing the text, otherwise assign it to 0. " + _ONLY.format("type"),
                        "type": "number",
                    },
                    "coordinate": {
                        "description": "(x, y): The x (pixels from the left edge) and y (pixels "
                        "from the top edge) coordinates to move the mouse to.",
                        "type": "array",
                    },
                    "coordinate2": {
                        "description": "(x2, y2): The x2 (pixels from the left edge) and y2 "
                        "(pixels from the top edge) coordinates to drag the cursor to. "
                        + _ONLY.format("drag"),
                        "type": "array",
                    },
                    "pixels": {
                        "description": "The amount of scrolling to perform. Positive values "
                        "scroll up, negative values scroll down. This value should be between -5 "
                        "and 5. " + _ONLY.format("scroll"),
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


def system_prompt(width: int, height: int) -> str:
    """The ``# Tools`` system text for a model image of width x height pixels."""
    return (
        "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
        + json.dumps(tool_definition(width, height))
        + "\n</tools>\n\nFor each function call, return a json object with function name and "
        "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )


def instruction_text(instruction: str, conclusions: list[str]) -> str:
    """The user text: the task, the ``Step i: <conclusion>`` lines and the tag rules."""
    if conclusions:
        history = "".join(f"Step {i + 1}: {c}\n" for i, c in enumerate(conclusions))
    else:
        history = "No history. This is the first step."
    return (
        "Please generate the next move according to the UI screenshot, instruction and previous "
        f"actions.\n    Instruction: {instruction}\n    Previous actions:\n    {history}\n    "
        "Before answering, explain your reasoning step-by-step in <thinking></thinking> tags, and "
        "insert them before the <tool_call></tool_call> XML tags.\nAfter answering, summarize "
        "your action in <conclusion></conclusion> tags, and insert them after the "
        "<tool_call></tool_call> XML tags."
    )


def _between(textv: str, start: str, end: str) -> str:
    if start in textv and end in textv:
        return textv.split(start)[-1].split(end)[0]
    if start in textv:
        return textv.split(start)[1]
    return ""


def conclusion(response: str) -> str:
    """What a past step is listed by: its ``<conclusion>``, else its ``<thinking>`` (the agent's
    rule)."""
    return _between(response, "<conclusion>", "</conclusion>") or _between(response, "<thinking>", "</thinking>")


def model_image_size(width: int, height: int, profile: "Profile") -> tuple[int, int]:
    """(width, height) of the model image of a width x height screenshot under ``profile``."""
    sp = profile.space
    h, w = smart_resize(height, width, sp.factor, sp.min_pixels, sp.max_pixels)
    return w, h


def messages(prompt: "Prompt", profile: "Profile") -> list[dict[str, Any]]:
    """The message list of ``OwlAgent.predict`` (``fn_call``, openai engine) for ``prompt``."""
    split = split_turns(prompt)
    current = split.current
    width, height = model_image_size(*current.size, profile) if current is not None else (0, 0)
    past = split.past
    content: list[dict[str, Any]] = [text(instruction_text(prompt.instruction, [conclusion(t.response or "") for t in past]))]
    n = max(1, profile.history_images)  # images per request, the current one included
    for i, turn in enumerate(past):
        if i + n > len(past) and turn.image is not None:
            content += [text(f"Screenshot of step {i + 1}:\n"), image(turn.image)]
    if current is not None:
        content += [text("Current screenshot:\n"), image(current)]
    out: list[dict[str, Any]] = [
        {"role": "system", "content": [text("You are a helpful assistant."), text(system_prompt(width, height))]},
        {"role": "user", "content": content},
    ]
    if past and past[-1].feedback:  # tars's operator/loop note on the last step
        out.append({"role": "user", "content": [text(past[-1].feedback)]})
    out.extend(retry_messages(split.retries))
    return out
