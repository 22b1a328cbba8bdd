"""OpenCUA-7B / OpenCUA-32B: the conversation of OSWorld's ``OpenCUAAgent``.

Facts (``desktop-env`` 1.0.2 ``mm_agents/opencua``; the OSWorld ``run_multienv_opencua.py``
defaults ``--cot_level l2 --history_type action_history --coordinate_type qwen25
--max_image_history_length 3``, temperature 0, top_p 0.9, max_tokens 2048; the OpenCUA
README/runner use the V1 system prompt, ``--use_old_sys_prompt``, for 7B and 32B):

* system message (a plain string; here one text part, which the ``openai`` policy sends as
  the same plain string): ``SYSTEM_PROMPT_V1_L2``, the OSWorld-Verified test prompt
  with the VM password;
* each past step is ``# Step n:\\n## Action:\\n<its Action section>\\n``; the steps before the
  last two are joined into ONE assistant message; the last two are each a user message with
  their screenshot and an assistant message with their step text;
* the current step: user [screenshot, ``# Task Instruction:`` text];
* coordinates: pixels of the image after ``smart_resize(factor=28, min_pixels=3136,
  max_pixels=12845056)`` (``qwen25``), mapped back with ``int()``.
"""

from __future__ import annotations

import re
from typing import Any

from tars.models.families import Profile, Prompt, image, retry_messages, split_turns, text

#: the VM password the OSWorld-Verified prompt names
PASSWORD = "osworld-public-evaluation"
#: screenshots per request, the current one included (``max_image_history_length``)
MAX_IMAGES = 3

_THOUGHT = [
    "  - Step by Step Progress Assessment:",
    "    - Analyze completed task parts and their contribution to the overall goal",
    "    - Reflect on potential errors, unexpected results, or obstacles",
    "    - If previous action was incorrect, predict a logical recovery step",
    "  - Next Action Analysis:",
    "    - List possible next actions based on current state",
    "    - Evaluate options considering current state and previous actions",
    "    - Propose most logical next action",
    "    - Anticipate consequences of the proposed action",
    "  - For Text Input Actions:",
    "    - Note current cursor position",
    "    - Consolidate repetitive actions (specify count for multiple keypresses)",
    "    - Describe expected final text outcome",
    "  - Use first-person perspective in reasoning",
]
_ACTION = [
    "  Provide clear, concise, and actionable instructions:",
    "  - If the action involves interacting with a specific target:",
    "    - Describe target explicitly without using coordinates",
    "    - Specify element names when possible (use original language if non-English)",
    "    - Describe features (shape, color, position) if name unavailable",
    '    - For window control buttons, identify correctly (minimize "—", maximize "□", close "X")',
    "  - if the action involves keyboard actions like 'press', 'write', 'hotkey':",
    "    - Consolidate repetitive keypresses with count",
    "    - Specify expected text outcome for typing actions",
]
_FUNCTIONS = [
    '{"name": "computer.triple_click", "description": "Triple click on the screen", '
    '"parameters": {"type": "object", "properties": {"x": {"type": "number", "description": '
    '"The x coordinate of the triple click"}, "y": {"type": "number", "description": "The y '
    'coordinate of the triple click"}}, "required": ["x", "y"]}}',
    '{"name": "computer.terminate", "description": "Terminate the current task and report its '
    'completion status", "parameters": {"type": "object", "properties": {"status": {"type": '
    '"string", "enum": ["success", "failure"], "description": "The status of the task"}}, '
    '"required": ["status"]}}',
]


def system_prompt(password: str = PASSWORD) -> str:
    """``SYSTEM_PROMPT_V1_L2`` (the OSWorld-Verified variant) with ``password``."""
    return (
        "You are a GUI agent. You are given a task and a screenshot of the screen. You need to "
        "perform a series of pyautogui actions to complete the task. The password of the "
        f'computer is "{password}". If the task is not possible to do, output the action '
        "computer.terminate(status='failure').\n\n"
        "For each step, provide your response in this format:\n\n"
        "Thought:\n" + "\n".join(_THOUGHT) + "\n\nAction:\n" + "\n".join(_ACTION)
        + "\n\nFinally, output the action as PyAutoGUI code or the following functions:\n"
        + "\n".join(f"- {f}" for f in _FUNCTIONS)
    )


def instruction_text(instruction: str) -> str:
    """The ``# Task Instruction:`` message of the current step."""
    return (
        f"# Task Instruction:\n{instruction}\n\nPlease generate the next move according to the "
        "screenshot, task instruction and previous steps (if provided).\n"
    )


_ACTION_SECTION_RE = re.compile(r"^##\s*Action\s*:?[\n\r]+(.*?)(?=^##|\Z)", re.S | re.M)


def action_section(response: str) -> str | None:
    """The ``## Action`` section of an answer (None when there is none), as the agent reads it."""
    match = _ACTION_SECTION_RE.search(response)
    return match.group(1).strip() if match else None


def step_text(step_num: int, response: str) -> str:
    """A past step as the agent shows it (``action_history``): ``# Step n:\\n## Action:\\n...``."""
    return f"# Step {step_num}:\n## Action:\n{action_section(response)}\n"


def messages(prompt: "Prompt", profile: "Profile") -> list[dict[str, Any]]:
    """The message list of ``OpenCUAAgent.predict`` for ``prompt`` (images as PIL parts)."""
    split = split_turns(prompt)
    past = split.past
    n = len(past)
    max_images = max(1, profile.history_images)
    out: list[dict[str, Any]] = [{"role": "system", "content": [text(system_prompt())]}]
    older: list[str] = []
    for i, turn in enumerate(past):
        body = step_text(i + 1, turn.response or "")
        if i > n - max_images:
            out.append({"role": "user", "content": [image(turn.image)] if turn.image is not None else []})
            out.append({"role": "assistant", "content": [text(body)]})
            if turn.feedback:
                out.append({"role": "user", "content": [text(turn.feedback)]})
        else:
            older.append(body)
            if i == n - max_images:
                out.append({"role": "assistant", "content": [text("\n".join(older))]})
    current = [image(split.current)] if split.current is not None else []
    out.append({"role": "user", "content": current + [text(instruction_text(prompt.instruction))]})
    out.extend(retry_messages(split.retries))
    return out
