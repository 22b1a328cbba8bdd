"""Conversations of the model families that are not UI-TARS (issue 12).

UI-TARS profiles render their prompt with :meth:`tars.models.base.Prompt.messages`. Every
other family was trained on its own message layout (its reference agent builds it), so each
has a module here whose ``messages(prompt, profile)`` turns a tars :class:`Prompt` (the
instruction, past steps with their screenshots and answers, the current screenshot) into
exactly the message list its reference agent sends:

==================  ==========================================================================
``qwen3vl``         Qwen3-VL ``computer_use`` tool calls (OSWorld ``mm_agents/qwen3vl_agent.py``)
``opencua``         OpenCUA-7B/32B pyautogui code (OSWorld ``mm_agents/opencua``)
``guiowl``          GUI-Owl / Mobile-Agent-v3 tool calls (OSWorld ``mm_agents/owl_agent.py``)
``grounders``       grounding-only models: Jedi (OSWorld ``jedi_7b_agent.py`` grounder), GTA1
                    (Yan98/GTA1 README), Holo1.5 and Holo3 (Hcompany model card / docs)
==================  ==========================================================================

Images stay PIL images in ``{"type": "image", "image": ...}`` parts; the ``openai`` policy
turns them into data URLs and the ``hf`` policy feeds them to the processor, both after the
profile's ``smart_resize`` budget, as for UI-TARS.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

#: what a family module reads of a profile (a :class:`tars.models.profiles.ModelProfile`; not
#: imported here, so the profiles and prompts may import this package one way)
Profile = Any
#: a :class:`tars.models.base.Prompt` / :class:`~tars.models.base.Turn` (same reason)
Prompt = Any
Turn = Any

if TYPE_CHECKING:
    from PIL.Image import Image


#: prompt style -> module of this package that renders it
FAMILY_MODULES: dict[str, str] = {
    "qwen3-vl": "qwen3vl",
    "opencua": "opencua",
    "gui-owl": "guiowl",
    "jedi": "grounders",
    "gta1": "grounders",
    "holo1.5": "grounders",
    "holo3": "grounders",
}


def is_family(profile: "Profile | None") -> bool:
    """True when ``profile`` renders through this package (not the UI-TARS layout)."""
    return profile is not None and profile.prompt_style in FAMILY_MODULES


def first_message(profile: "Profile", instruction: str, task: str = "computer") -> str:
    """What :func:`tars.models.prompts.system_prompt` returns for a family profile: the
    family's fixed system text where it has one (recorded in trajectories; the conversation
    itself comes from :func:`render_messages`), else the instruction.

    Raises:
        ValueError: a grounding-only profile asked for an agent task, or the mobile task
            (no family here has a mobile layout).
    """
    if profile.grounding_only and task != "grounding":
        raise ValueError(
            f"profile {profile.name!r} is a grounding model (one element -> one point), not an agent; "
            "use it as the grounder of the planner + grounder mode (--planner-endpoint ...) or in "
            "tars eval grounding"
        )
    if task == "mobile":
        raise ValueError(f"profile {profile.name!r} has no mobile prompt; use task computer")
    if profile.prompt_style == "qwen3-vl":
        from tars.models.families import qwen3vl

        return qwen3vl.system_prompt()
    if profile.prompt_style == "opencua":
        from tars.models.families import opencua

        return opencua.system_prompt()
    return instruction


def render_messages(prompt: "Prompt", profile: "Profile | None") -> list[dict[str, Any]]:
    """Chat messages for ``prompt``: the family layout of ``profile``, else
    :meth:`Prompt.messages` (UI-TARS)."""
    if profile is None or not is_family(profile):
        return prompt.messages()
    module = importlib.import_module(f"tars.models.families.{FAMILY_MODULES[profile.prompt_style]}")
    return module.messages(prompt, profile)


@dataclass
class Split:
    """A prompt's turns taken apart: finished ``past`` steps (oldest first), the ``current``
    screenshot, and ``retries``: this step's earlier answers that failed, with their error."""

    past: list["Turn"]
    current: "Image | None"
    retries: list["Turn"]


def split_turns(prompt: "Prompt") -> Split:
    """Take ``prompt.turns`` apart (see :class:`Split`).

    :class:`tars.agent.history.History` puts the current screenshot on the last turn, or,
    when earlier answers to this step failed to parse, on the first of those failed turns.
    """
    turns = list(prompt.turns)
    if not turns:
        return Split([], None, [])
    last = turns[-1]
    if last.response is None and last.image is not None:
        return Split(turns[:-1], last.image, [])
    start = next((i for i in range(len(turns) - 1, -1, -1) if turns[i].image is not None), None)
    if start is None:
        return Split(turns[:-1] if last.response is None else turns, None, [])
    end = len(turns) - 1 if last.response is None else len(turns)
    return Split(turns[:start], turns[start].image, turns[start:end])


def text(value: str) -> dict[str, Any]:
    """A text part."""
    return {"type": "text", "text": value}


def image(value: "Image") -> dict[str, Any]:
    """An image part (a PIL image; the policy encodes it)."""
    return {"type": "image", "image": value}


def retry_messages(retries: list["Turn"]) -> list[dict[str, Any]]:
    """tars's own correction turns (not in any reference agent, which re-sends the same
    prompt): each failed answer as the assistant, its error as the user."""
    out: list[dict[str, Any]] = []
    for turn in retries:
        if turn.response is not None:
            out.append({"role": "assistant", "content": [text(turn.response)]})
        if turn.feedback:
            out.append({"role": "user", "content": [text(turn.feedback)]})
    return out
