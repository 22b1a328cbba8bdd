"""Model profiles: what a checkpoint family was trained on, tied together in one record.

A :class:`ModelProfile` fixes the prompt templates (one named reference variant per task, see
:mod:`tars.models.prompts`), the coordinate space and pixel budget, how many screenshots the model
sees, and the generation settings for one family of models. Every number carries its source in
:attr:`ModelProfile.sources`. The profile is picked from the model name (Hub id, local folder or
served model name) by :func:`get_profile`; ``--profile NAME`` overrides the guess. The
``osworld`` harness (:mod:`tars.agent.harness`) swaps in the numbers of OSWorld's runner.

Sources of the facts:

* UI-TARS-1.0 (``UI-TARS-2B-SFT``, ``UI-TARS-7B-SFT/DPO``, ``UI-TARS-72B-SFT/DPO``) is a
  Qwen2-VL fine-tune that writes **relative** coordinates (0..1000 on each axis); UI-TARS
  README_coordinates and OSWorld's ``uitars_agent``. Its pixel budget is ``min_pixels = 3136``,
  ``max_pixels = 2700*28*28`` (2,116,800): OSWorld ``uitars_agent.py`` and the
  ``qwen2vl_user`` runtime_conf of ``run_multienv_uitars15_v1.py``; UI-TARS-desktop
  ``MAX_PIXELS_V1_0``.
* UI-TARS-1.5 is a Qwen2.5-VL fine-tune that writes absolute pixels of the image after
  ``smart_resize`` (the **resized** space) with ``min_pixels = 100*28*28`` and
  ``max_pixels = 16384*28*28`` (UI-TARS README_coordinates, OSWorld ``uitars15_v1``
  runtime_conf, UI-TARS-desktop ``MAX_PIXELS_V1_5``).
* Both UI-TARS agents keep the last 5 screenshots and every earlier answer as text (OSWorld
  ``history_n`` 5, UI-TARS-desktop ``MAX_IMAGE_LENGTH`` 5), wrap the coordinates of past
  answers in ``<|box_start|>``/``<|box_end|>`` (OSWorld ``add_box_token``), decode greedily
  (temperature 0: OSWorld runtime_conf, UI-TARS README_deploy, UI-TARS-desktop) with 1000 new
  tokens (OSWorld runtime_conf ``max_tokens``).
* Doubao-1.5-UI-TARS / Seed-VL style models write ``<point>x y</point>`` on a 0..1000 grid
  (``ui-tars`` package, ``COMPUTER_USE_DOUBAO`` prompt); pixel budget ``5120*28*28``
  (UI-TARS-desktop ``MAX_PIXELS_DOUBAO``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from tars.actions.coords import MAX_PIXELS, MIN_PIXELS, CoordSpace

PromptStyle = Literal["uitars-1.0", "uitars-1.5", "doubao", "qwen3-vl", "opencua", "gui-owl",
                      "jedi", "gta1", "holo1.5", "holo3"]
#: UI-TARS template sets (tars.models.prompts) and the families of tars.models.families
PROMPT_STYLES: tuple[str, ...] = ("uitars-1.0", "uitars-1.5", "doubao", "qwen3-vl", "opencua", "gui-owl",
                                  "jedi", "gta1", "holo1.5", "holo3")

#: UI-TARS-1.0's pixel budget (OSWorld uitars_agent.py ``max_pixels = 2116800``, ``min_pixels = 3136``)
MIN_PIXELS_V1_0 = 3136
MAX_PIXELS_V1_0 = 2700 * 28 * 28
#: Doubao's upper pixel budget (UI-TARS-desktop ``MAX_PIXELS_DOUBAO``)
MAX_PIXELS_DOUBAO = 5120 * 28 * 28

#: template per task of each prompt style (names in tars.models.prompts.TEMPLATES). UI-TARS
#: computer tasks use OSWorld's CALL_USR variant: the one reference variant that offers
#: call_user(), which the tars harness acts on (the osworld harness picks the runner's own).
STYLE_PROMPTS: dict[str, dict[str, str]] = {
    "uitars-1.5": {"computer": "osworld-call-user", "mobile": "mobile-use", "grounding": "grounding"},
    "uitars-1.0": {"computer": "osworld-call-user", "mobile": "mobile-use", "grounding": "grounding-v1"},
    "doubao": {"computer": "doubao-computer", "mobile": "doubao-mobile", "grounding": "doubao-grounding"},
}


@dataclass(frozen=True)
class ModelProfile:
    """How to talk to one family of models.

    ``name``: profile name (``ui-tars-1.5``, ...), what ``--profile`` takes.
    ``prompt_style``: the family of templates (``uitars-1.5``, ``uitars-1.0``, ``doubao``).
    ``prompts``: task (computer | mobile | grounding) -> template name in
    :data:`tars.models.prompts.TEMPLATES`; tasks left out take :data:`STYLE_PROMPTS` of the style.
    ``space``: coordinate space of the answers and pixel budget of the images (``min_pixels`` /
    ``max_pixels`` in pixels, not in 28x28 patches).
    ``history_images``: screenshots kept in the prompt (older turns keep their text only).
    ``max_new_tokens``, ``temperature``, ``top_p``, ``frequency_penalty``: generation settings;
    temperature 0 means greedy decoding; ``top_p`` / ``frequency_penalty`` None leave the
    server's / model's default (not sent).
    ``box_tokens``: past assistant turns get their coordinates re-wrapped in
    ``<|box_start|>…<|box_end|>`` before they are shown again (see :func:`tars.models.prompts.add_box_tokens`).
    ``sources``: field name -> where its value comes from (shown by reports and the docs).
    ``description``: one line for ``--help`` and reports.
    ``family``: the model family (``ui-tars``, ``qwen3-vl``, ``opencua``, ...) for ``tars models``.
    ``grounding_only``: the model only grounds (one element -> one point): usable in
    ``tars eval grounding`` and as the grounder of the planner + grounder mode, not as an agent.
    ``repetition_penalty``, ``top_k``: extra sampling settings some reference agents send
    (GUI-Owl: 1.05 and -1); None sends nothing. ``source``: where the profile's facts come from.
    """

    name: str
    prompt_style: PromptStyle
    space: CoordSpace = field(default_factory=lambda: CoordSpace("resized"))
    history_images: int = 5
    max_new_tokens: int = 1000
    temperature: float = 0.0
    top_p: float | None = None
    frequency_penalty: float | None = None
    box_tokens: bool = False
    prompts: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    description: str = ""
    family: str = "ui-tars"
    grounding_only: bool = False
    repetition_penalty: float | None = None
    top_k: int | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if self.prompt_style not in PROMPT_STYLES:
            raise ValueError(
                f"unknown prompt style {self.prompt_style!r}; use one of {', '.join(PROMPT_STYLES)}"
            )
        if self.history_images < 1:
            raise ValueError(f"history_images must be at least 1, got {self.history_images}")
        from tars.models.prompts import get_template

        merged = {**STYLE_PROMPTS.get(self.prompt_style, {}), **self.prompts}
        for task, name in merged.items():
            if get_template(name).task != task:
                raise ValueError(f"template {name!r} is not a {task} prompt")
        object.__setattr__(self, "prompts", merged)

    def with_settings(self, **changes) -> "ModelProfile":
        """A copy with some fields changed (e.g. ``history_images=3``)."""
        return replace(self, **changes)

    def public(self) -> dict:
        """The settings a trajectory records (meta.json ``profile``)."""
        return {
            "name": self.name, "prompt_style": self.prompt_style, "prompts": dict(self.prompts),
            "space": {"kind": self.space.kind, "min_pixels": self.space.min_pixels,
                      "max_pixels": self.space.max_pixels, "prescale": self.space.prescale},
            "history_images": self.history_images, "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature, "top_p": self.top_p,
            "frequency_penalty": self.frequency_penalty, "box_tokens": self.box_tokens,
        }


def _resized() -> CoordSpace:
    return CoordSpace("resized", min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)


def _relative(min_pixels: int = MIN_PIXELS, max_pixels: int = MAX_PIXELS) -> CoordSpace:
    return CoordSpace("relative", min_pixels=min_pixels, max_pixels=max_pixels)


_SRC_V15 = {
    "space": "UI-TARS README_coordinates; OSWorld run_multienv_uitars15_v1.py runtime_conf "
             "(qwen25vl_normal); UI-TARS-desktop MAX_PIXELS_V1_5",
    "history_images": "OSWorld uitars15_v1 history_n 5; UI-TARS-desktop MAX_IMAGE_LENGTH 5",
    "max_new_tokens": "OSWorld runtime_conf max_tokens 1000",
    "temperature": "OSWorld runtime_conf; UI-TARS README_deploy; UI-TARS-desktop (0)",
    "top_p": "UI-TARS README_deploy: top_p None (OSWorld's 0.9 comes with --harness osworld)",
    "frequency_penalty": "UI-TARS README_deploy and UI-TARS-desktop: none (OSWorld's 1 comes with "
                         "--harness osworld)",
    "box_tokens": "OSWorld uitars15_v1 add_box_token; UI-TARS README_deploy",
}
_SRC_V10 = {
    **_SRC_V15,
    "space": "OSWorld uitars_agent.py max_pixels 2116800 / min_pixels 3136; run_multienv_uitars15_v1.py "
             "qwen2vl_user runtime_conf; UI-TARS-desktop MAX_PIXELS_V1_0",
    "max_new_tokens": "OSWorld run_multienv_uitars15_v1.py qwen2vl_user runtime_conf max_tokens 1000",
}
_SRC_DOUBAO = {
    "space": "0..1000 grid (ui-tars COMPUTER_USE_DOUBAO); UI-TARS-desktop MAX_PIXELS_DOUBAO",
    "history_images": "OSWorld uitars15_v2 history_n 5",
    "temperature": "OSWorld run_multienv_uitars15_v2.py --temperature 0",
}


#: every known profile by name; ``--profile`` takes one of these keys
PROFILES: dict[str, ModelProfile] = {
    p.name: p
    for p in (
        ModelProfile(
            "ui-tars-1.5", "uitars-1.5", _resized(), box_tokens=True, sources=_SRC_V15,
            description="UI-TARS-1.5 (Qwen2.5-VL): pixels of the smart_resize'd screenshot",
        ),
        ModelProfile(
            "ui-tars-1.0", "uitars-1.0", _relative(MIN_PIXELS_V1_0, MAX_PIXELS_V1_0), box_tokens=True,
            sources=_SRC_V10,
            description="UI-TARS-1.0 2B/7B/72B SFT/DPO (Qwen2-VL): 0..1000 relative coordinates",
        ),
        ModelProfile(
            "qwen2.5-vl", "uitars-1.5", _resized(),
            description="Qwen2.5-VL and its fine-tunes: pixels of the smart_resize'd screenshot",
        ),
        ModelProfile(
            "qwen2-vl", "uitars-1.0", _relative(),
            description="Qwen2-VL and its fine-tunes: 0..1000 relative coordinates",
        ),
        ModelProfile(
            "doubao", "doubao", _relative(MIN_PIXELS, MAX_PIXELS_DOUBAO), sources=_SRC_DOUBAO,
            description="Doubao-1.5-UI-TARS / Seed-VL style: <point>x y</point> on a 0..1000 grid",
        ),
    )
}

#: the profile of a name that says nothing (DESIGN.md: ``ui-tars`` gets UI-TARS-1.5)
DEFAULT_PROFILE = "ui-tars-1.5"

# Order matters: the first rule that matches wins. UI-TARS names come before Qwen names
# (a UI-TARS checkpoint folder may sit under a "qwen2-vl" directory), and "doubao" is matched
# anywhere while "seed" only at the start of the last path part, because the official Hub
# org of UI-TARS-1.5 is "ByteDance-Seed".
_RULES: tuple[tuple[str, str], ...] = (
    (r"ui-?tars-?1\.5", "ui-tars-1.5"),
    (r"ui-?tars-?1(\.0)?(-|$)", "ui-tars-1.0"),
    (r"ui-?tars-?(2|7|72)b", "ui-tars-1.0"),
    (r"doubao", "doubao"),
    (r"(^|/)seed", "doubao"),
    (r"qwen-?2\.5-?vl", "qwen2.5-vl"),
    (r"qwen-?2-?vl", "qwen2-vl"),
)

# transformers model_type of a local checkpoint -> profile, for folders whose name says
# nothing: the architecture decides the coordinate space (Qwen2-VL fine-tunes such as
# UI-TARS-1.0 write relative coordinates, Qwen2.5-VL ones resized pixels).
_MODEL_TYPES: dict[str, str] = {"qwen2_vl": "ui-tars-1.0", "qwen2_5_vl": "ui-tars-1.5"}


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace("\\", "/")


def _profile_from_config(path: str) -> str | None:
    """Profile implied by ``config.json`` of a local checkpoint folder, or None."""
    config = Path(path).expanduser() / "config.json"
    try:
        model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None
    return _MODEL_TYPES.get(str(model_type))


def guess_profile_name(name_or_model_id: str | None) -> str:
    """Profile name for a model id, local folder or served model name (see :func:`get_profile`)."""
    if not name_or_model_id:
        return DEFAULT_PROFILE
    text = _normalise(name_or_model_id).rstrip("/")
    for pattern, profile in _RULES:
        if re.search(pattern, text):
            return profile
    return _profile_from_config(name_or_model_id) or DEFAULT_PROFILE


def get_profile(name_or_model_id: str | None, override: str | None = None) -> ModelProfile:
    """The :class:`ModelProfile` for a model.

    ``name_or_model_id``: Hub id (``ByteDance-Seed/UI-TARS-1.5-7B``), local folder or the
    served model name of an endpoint; None or a name that says nothing (``ui-tars``) gives
    ``ui-tars-1.5`` (DESIGN.md). A local folder whose name says nothing is judged by the
    ``model_type`` in its ``config.json`` (``qwen2_vl`` -> ``ui-tars-1.0``, relative
    coordinates; ``qwen2_5_vl`` -> ``ui-tars-1.5``).
    ``override``: a profile name (``--profile``); it wins over the guess.

    Raises:
        ValueError: ``override`` is not a known profile (the message lists the known ones).
    """
    if override:
        key = override.strip().lower()
        if key not in PROFILES:
            raise ValueError(
                f"unknown model profile {override!r}; known profiles: {', '.join(PROFILES)}"
            )
        return PROFILES[key]
    return PROFILES[guess_profile_name(name_or_model_id)]


# The open families beyond UI-TARS (issue 12): their profiles, name rules (consulted first) and
# model types. Imported here, after ModelProfile exists, so one PROFILES table holds them all.
from tars.models.family_profiles import FAMILY_MODEL_TYPES, FAMILY_RULES, family_profiles  # noqa: E402

PROFILES.update(family_profiles(ModelProfile))
_RULES = FAMILY_RULES + _RULES
_MODEL_TYPES.update(FAMILY_MODEL_TYPES)
