"""Profiles of the open computer-use families beyond UI-TARS (issue 12).

Merged into :data:`tars.models.profiles.PROFILES`; the name rules and ``model_type`` table
here are consulted before the UI-TARS ones. Every number carries its source; where a public
source says nothing, the profile says so in ``source`` instead of guessing.
"""

from __future__ import annotations

from typing import Any

from tars.actions.coords import CoordSpace

_DESKTOP_ENV = "OSWorld desktop-env 1.0.2 mm_agents/"


def family_profiles(ModelProfile: Any) -> dict[str, Any]:  # noqa: N803 - the class
    """The families' profiles by name, built with ``ModelProfile`` (passed in by
    :mod:`tars.models.profiles`, which imports this module while it is being defined)."""
    return {p.name: p for p in (
        ModelProfile(
            "qwen3-vl", "qwen3-vl",
            CoordSpace("relative", factor=32, min_pixels=3136, max_pixels=16 * 16 * 4 * 12800,
                       grid=999.0, truncate="scale"),
            history_images=5, max_new_tokens=32768, temperature=0.0, top_p=0.9,
            family="qwen3-vl",
            description="Qwen3-VL (and Qwen3.5) computer_use tool calls on a 0..999 grid",
            source=_DESKTOP_ENV + "qwen3vl_agent.py (Qwen3VLAgent defaults: relative, history_n 4, "
                   "smart_resize factor 32, max_pixels 16*16*4*12800). Qwen3.5 has no reference agent "
                   "in desktop-env 1.0.2; its names get this profile (same computer_use convention, "
                   "not verified against a Qwen3.5 agent)",
        ),
        ModelProfile(
            "opencua", "opencua",
            CoordSpace("resized", factor=28, min_pixels=3136, max_pixels=12845056, truncate="divide"),
            history_images=3, max_new_tokens=2048, temperature=0.0, top_p=0.9,
            family="opencua",
            description="OpenCUA-7B/32B (Qwen2.5-VL): pyautogui code in smart_resize'd pixels",
            source=_DESKTOP_ENV + "opencua (OpenCUAAgent; run_multienv_opencua defaults l2, "
                   "action_history, qwen25, 3 images; SYSTEM_PROMPT_V1_L2 per --use_old_sys_prompt "
                   "for 7B/32B); xlang-ai/OpenCUA README coordinate notes",
        ),
        ModelProfile(
            "opencua-qwen2", "opencua",
            CoordSpace("relative", factor=28, min_pixels=3136, max_pixels=12845056, grid=1.0),
            history_images=3, max_new_tokens=2048, temperature=0.0, top_p=0.9,
            family="opencua",
            description="OpenCUA-Qwen2-7B: pyautogui code with 0..1 relative coordinates",
            source=_DESKTOP_ENV + "opencua (coordinate_type relative: int(round(x*W))); "
                   "xlang-ai/OpenCUA README",
        ),
        ModelProfile(
            "gui-owl", "gui-owl",
            CoordSpace("resized", factor=28, min_pixels=100 * 28 * 28, max_pixels=3000 * 28 * 28,
                       truncate="multiply"),
            history_images=1, max_new_tokens=2048, temperature=0.0, top_p=0.9,
            repetition_penalty=1.05, top_k=-1, family="gui-owl",
            description="GUI-Owl / Mobile-Agent-v3: computer_use tool calls in smart_resize'd pixels",
            source=_DESKTOP_ENV + "owl_agent.py (OwlAgent fn_call defaults: history_n 1, max_pixels "
                   "3000*28*28; the agent hard-codes 1920x1080 -> 1932x1092, tars uses the real size)",
        ),
        ModelProfile(
            "jedi", "jedi",
            CoordSpace("resized", factor=28, min_pixels=3136, max_pixels=2700 * 28 * 28, truncate="multiply"),
            history_images=1, max_new_tokens=1500, temperature=0.5, top_p=0.9,
            family="jedi", grounding_only=True,
            description="Jedi-3B/7B grounding model: one <tool_call> point in smart_resize'd pixels",
            source=_DESKTOP_ENV + "jedi_7b_agent.py / jedi_3b_agent.py grounder call "
                   "(JEDI_GROUNDER_SYS_PROMPT, max_pixels 2700*28*28, temperature 0.5, top_p 0.9)",
        ),
        ModelProfile(
            "gta1", "gta1",
            CoordSpace("resized", factor=28, min_pixels=3136, max_pixels=4096 * 2160, truncate="scale"),
            history_images=1, max_new_tokens=32, temperature=0.0,
            family="gta1", grounding_only=True,
            description="GTA1 grounding model (Qwen2.5-VL): '(x,y)' in smart_resize'd pixels",
            source="github.com/Yan98/GTA1 README inference snippet (SYSTEM_PROMPT, min_pixels 3136, "
                   "max_pixels 4096*2160, greedy, max_new_tokens 32)",
        ),
        ModelProfile(
            "holo1.5", "holo1.5",
            CoordSpace("resized", factor=28, min_pixels=3136, max_pixels=12845056),
            history_images=1, max_new_tokens=128, temperature=0.0,
            family="holo", grounding_only=True,
            description="Holo1.5 3B/7B/72B localization: click_absolute JSON in smart_resize'd pixels",
            source="Hcompany Holo1.5 model card localization example (prompt, ClickAbsoluteAction "
                   "schema, resized-image pixels) as reproduced in public repositories; the card's "
                   "pixel budget is the processor's own (Qwen2.5-VL defaults used here) and its "
                   "sampling is not stated (greedy used). Holo navigation prompts are not public: no "
                   "agent profile",
        ),
        ModelProfile(
            "holo3", "holo3",
            CoordSpace("relative", factor=32, min_pixels=3136, max_pixels=16 * 16 * 4 * 12800,
                       grid=1000.0, truncate="divide"),
            history_images=1, max_new_tokens=128, temperature=0.0,
            family="holo", grounding_only=True,
            description="Holo3 / Holo3.1 element localization: {x, y} JSON on a 0..1000 grid",
            source="hub.hcompany.ai/element-localization (prompt, VisualLocalizerOutput schema, "
                   "int(x/1000*W), temperature 0, thinking off); image budget not stated (tars sends "
                   "at most 16*16*4*12800 pixels; the grid is relative to the image sent)",
        ),
    )}

#: name rules (regular expressions on the lower-cased name), consulted first; first match wins
FAMILY_RULES: tuple[tuple[str, str], ...] = (
    (r"opencua-?qwen-?2", "opencua-qwen2"),
    (r"opencua", "opencua"),
    (r"gui-?owl", "gui-owl"),
    (r"(^|[/-])jedi", "jedi"),
    (r"(^|[/-])gta-?1", "gta1"),
    (r"holo-?1\.5", "holo1.5"),
    (r"holo-?3", "holo3"),
    (r"qwen-?3(\.5)?-?vl", "qwen3-vl"),
    (r"qwen-?3\.5", "qwen3-vl"),
)

#: transformers ``model_type`` of a local checkpoint -> profile
FAMILY_MODEL_TYPES: dict[str, str] = {
    "qwen3_vl": "qwen3-vl", "qwen3_vl_moe": "qwen3-vl", "qwen3_5": "qwen3-vl", "qwen3_5_moe": "qwen3-vl",
}

#: prompt style -> the action language its answers are parsed from (``tars models``)
DIALECTS: dict[str, str] = {
    "uitars-1.0": "UI-TARS text, <|box_start|>(x,y)<|box_end|>",
    "uitars-1.5": "UI-TARS text, start_box='(x,y)'",
    "doubao": "UI-TARS text, <point>x y</point>",
    "qwen3-vl": "<tool_call> JSON (computer_use)",
    "opencua": "pyautogui code (## Code block)",
    "gui-owl": "<thinking> <tool_call> JSON <conclusion>",
    "jedi": "<tool_call> JSON (one point)",
    "gta1": "(x,y)",
    "holo1.5": "JSON click_absolute",
    "holo3": "JSON {x, y}",
}


def describe_space(space: CoordSpace) -> str:
    """The coordinate space in words: ``0..999 grid``, ``smart_resize pixels``, ..."""
    if space.kind == "relative":
        grid = space.grid
        return "0..1 normalised" if grid == 1 else f"0..{grid:g} grid"
    if space.kind == "resized":
        return "smart_resize pixels"
    return "screenshot pixels"
