"""Qwen3-VL as a computer-use agent: the conversation of OSWorld's ``Qwen3VLAgent``.

Facts (``desktop-env`` 1.0.2, ``mm_agents/qwen3vl_agent.py``, ``coordinate_type="relative"``,
``history_n=4``):

* system message: ``# Tools`` with the ``computer_use`` function (its description says the
  screen is 1000x1000 although the agent reads the answers on a **0..999** grid), the
  ``<tool_call>`` instructions and the "Response format" rules (one ``Action:`` line, then one
  tool call);
* the instruction text: "Please generate the next move ..." + ``Instruction:`` + ``Previous
  actions:`` listing ``Step i: <Action line>`` for the steps older than the last 4 (else
  ``None``);
* the last ``min(4, steps)`` steps: user [screenshot] (the first of them also carries the
  instruction text) and assistant [its full answer]; then user [current screenshot]; with no
  past step, one user message [current screenshot, instruction text];
* screenshots resized with ``smart_resize(factor=32, max_pixels=16*16*4*12800)``.

The wording of the prompt lines is the model's trained interface and is kept exactly; the way
it is built is ours. The tool description is serialised with :func:`json.dumps` as the agent
does (same key order).
"""

from __future__ import annotations

import json
import re
from typing import Any

from tars.models.families import Profile, Prompt, image, retry_messages, split_turns, text

#: past steps shown with their screenshot and full answer (``Qwen3VLAgent.history_n``)
HISTORY_STEPS = 4

_DESCRIPTION = [
    "Use a mouse and keyboard to interact with a computer, and take screenshots.",
    "* This is an interface to a desktop GUI. You do not have access to a terminal or "
    "applications menu. You must click on desktop icons to start applications.",
    "* Some applications may take time to start or process actions, so you may need to wait "
    "and take successive screenshots to see the results of your actions. E.g. if you click on "
    "Firefox and a window doesn't open, try wait and taking another screenshot.",
    "* The screen's resolution is 1000x1000.",
    "* Whenever you intend to move the cursor to click on an element like an icon, you should "
    "consult a screenshot to determine the coordinates of the element before moving the cursor.",
    "* If you tried clicking on a program or link but it failed to load even after waiting, try "
    "adjusting your cursor position so that the tip of the cursor visually falls on the element "
    "that you want to click.",
    "* Make sure to click any buttons, links, icons, etc with the cursor tip in the center of the "
    "element. Don't click boxes on their edges unless asked.",
]

_ACTIONS = [
    ("key", "Performs key down presses on the arguments passed in order, then performs key "
            "releases in reverse order."),
    ("type", "Type a string of text on the keyboard."),
    ("mouse_move", "Move the cursor to a specified (x, y) pixel coordinate on the screen."),
    ("left_click", "Click the left mouse button at a specified (x, y) pixel coordinate on the screen."),
    ("left_click_drag", "Click and drag the cursor to a specified (x, y) pixel coordinate on the screen."),
    ("right_click", "Click the right mouse button at a specified (x, y) pixel coordinate on the screen."),
    ("middle_click", "Click the middle mouse button at a specified (x, y) pixel coordinate on the screen."),
    ("double_click", "Double-click the left mouse button at a specified (x, y) pixel coordinate on the screen."),
    ("triple_click", "Triple-click the left mouse button at a specified (x, y) pixel coordinate on "
                     "the screen (simulated as double-click since it's the closest action)."),
    ("scroll", "Performs a scroll of the mouse scroll wheel."),
    ("hscroll", "Performs a horizontal scroll (mapped to regular scroll)."),
    ("wait", "Wait specified seconds for the change to happen."),
    ("terminate", "Terminate the current task and report its completion status."),
    ("answer", "Answer a question."),
]

_ENUM = ["key", "type", "mouse_move", "left_click", "left_click_drag", "right_click",
         "middle_click", "double_click", "scroll", "wait", "terminate"]


def tool_definition() -> dict[str, Any]:
    """The ``computer_use`` function as the agent declares it (a JSON-able dict)."""
    actions = "\n" + "".join(f"* `{name}`: {desc}\n" for name, desc in _ACTIONS) + " " * 8
    return {
        "type": "function",
        "function": {
            "name_for_human": "computer_use",
            "name": "computer_use",
            "description": "\n".join(_DESCRIPTION),
            "parameters": {
                "properties": {
                    "action": {"description": actions, "enum": list(_ENUM), "type": "string"},
                    "keys": {"description": "Required only by `action=key`.", "type": "array"},
                    "text": {"description": "Required only by `action=type`.", "type": "string"},
                    "coordinate": {"description": "The x,y coordinates for mouse actions.", "type": "array"},
                    "pixels": {"description": "The amount of scrolling.", "type": "number"},
                    "time": {"description": "The seconds to wait.", "type": "number"},
                    "status": {
                        "description": "The status of the task.",
                        "type": "string",
                        "enum": ["success", "failure"],
                    },
                },
                "required": ["action"],
                "type": "object",
            },
            "args_format": "Format the arguments as a JSON object.",
        },
    }


def system_prompt() -> str:
    """The system message text (tools, call format, response rules)."""
    return (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
        + json.dumps(tool_definition())
        + "\n</tools>\n\nFor each function call, return a json object with function name and "
        "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>\n\n'
        "# Response format\n\nResponse format for every step:\n"
        "1) Action: a short imperative describing what to do in the UI.\n"
        '2) A single <tool_call>...</tool_call> block containing only the JSON: {"name": '
        '<function-name>, "arguments": <args-json-object>}.\n\nRules:\n'
        "- Output exactly in the order: Action, <tool_call>.\n- Be brief: one sentence for Action.\n"
        "- Do not output anything else outside those parts.\n"
        "- If finishing, use action=terminate in the tool call."
    )


def instruction_text(instruction: str, previous: list[str]) -> str:
    """The instruction message: the task and the ``Step i: ...`` lines of older steps."""
    steps = "\n".join(f"Step {i + 1}: {line}" for i, line in enumerate(previous)) or "None"
    return (
        "\nPlease generate the next move according to the UI screenshot, instruction and "
        f"previous actions.\n\nInstruction: {instruction}\n\nPrevious actions:\n{steps}"
    )


# what the agent calls a step without an "Action:" line: "Performing <pyautogui fn> action"
_FALLBACK_NAMES = {
    "left_click": "click", "right_click": "rightClick", "middle_click": "middleClick",
    "double_click": "doubleClick", "type": "typewrite", "scroll": "scroll",
    "mouse_move": "moveTo", "left_click_drag": "dragTo",
}
_TOOL_JSON_RE = re.compile(r"<tool_call>\s*(\{.*?\})\s*(?:</tool_call>|$)", re.S)


def step_summary(response: str) -> str:
    """The line a past step is listed by: its first ``Action:`` line (the agent's
    ``low_level_instruction``), else "Performing <function> action" for its first call."""
    for raw in response.split("\n"):
        line = raw.strip()
        if line.lower().startswith("action:"):
            return line.split("Action:")[-1].strip()
    match = _TOOL_JSON_RE.search(response)
    if match:
        try:
            args = json.loads(match.group(1)).get("arguments", {})
            action = args.get("action")
        except (ValueError, AttributeError):
            action = None
        if action == "key":
            keys = args.get("keys") or []
            return f"Performing {'hotkey' if len(keys) > 1 else 'press'} action"
        if action in _FALLBACK_NAMES:
            return f"Performing {_FALLBACK_NAMES[action]} action"
    return ""


def messages(prompt: "Prompt", profile: "Profile") -> list[dict[str, Any]]:
    """The message list of ``Qwen3VLAgent.predict`` for ``prompt`` (images as PIL parts)."""
    split = split_turns(prompt)
    window = max(0, min(HISTORY_STEPS, profile.history_images - 1))
    past = split.past
    keep = min(window, len(past))
    older = past[: len(past) - keep]
    instruction = instruction_text(prompt.instruction, [step_summary(t.response or "") for t in older])
    out: list[dict[str, Any]] = [{"role": "system", "content": [text(system_prompt())]}]
    recent = past[len(past) - keep :]
    for idx, turn in enumerate(recent):
        content = [image(turn.image)] if turn.image is not None else []
        if idx == 0:
            content.append(text(instruction))
        out.append({"role": "user", "content": content})
        out.append({"role": "assistant", "content": [text(turn.response or "")]})
        if turn.feedback:
            out.append({"role": "user", "content": [text(turn.feedback)]})
    current = [image(split.current)] if split.current is not None else []
    if not recent:
        current.append(text(instruction))
    out.append({"role": "user", "content": current})
    out.extend(retry_messages(split.retries))
    return out
