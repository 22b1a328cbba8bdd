"""Differential tests: every prompt tars renders equals its reference variant byte for byte.

References imported here: OSWorld's ``mm_agents/uitars15_v1.py`` and ``uitars_agent.py``
(desktop-env 1.0.2, see tests/reference_agents.py) and the ``ui-tars`` package
(``ui_tars/prompt.py``). bytedance/UI-TARS ``codes/prompts.py`` (COMPUTER_USE, MOBILE_USE,
GROUNDING) and README_v1.md are published files that ship in no package: their templates are
checked by SHA-256 digests taken from the published files (commit 6b315cc of codes/prompts.py),
and MOBILE_USE / GROUNDING are also derived from the installed ``ui-tars`` Doubao templates by
the one substitution that separates them (box coordinates for points).
"""

from __future__ import annotations

import hashlib
import random
import string

import pytest
import ui_tars.prompt as uitars_pkg
from PIL import Image
from reference_agents import load_reference

from tars.agent.harness import OSWORLD, get_harness
from tars.models.base import Prompt, Turn
from tars.models.profiles import PROFILES, STYLE_PROMPTS
from tars.models.prompts import (
    TASKS,
    TEMPLATES,
    add_box_tokens,
    get_template,
    system_prompt,
    template_for,
)

V1 = load_reference("uitars15_v1")
V10 = load_reference("uitars_agent")
V2 = load_reference("uitars15_v2")

#: sha256 of the templates as published (format strings, before .format)
PUBLISHED_SHA256 = {
    # bytedance/UI-TARS codes/prompts.py @ 6b315cc0c3ae8ff3b5412a25aa3ebac1bae32f58
    "computer-use": "5363caa4e115ab3da862dd7a0cf8bf2859c7611ac8551e0336901bb0776ddd34",
    "mobile-use": "2367ade469667c65cc6c7f2a85cab969a2a6192ccc0bd5bda24a88253832c6e7",
    "grounding": "8c33053b0412737fc719205977789cde88e323655c2844b19103c9a4904467b5",
}
#: README_v1.md grounding snippet: prompt = r"""Output only ... task: """ (then + instruction)
README_V1_GROUNDING_SHA256 = "a4e2911dfe6d2905f2f5a5a5cade038dc3adbd1462da11f6f68557344b5656e3"

BOX = "start_box='<|box_start|>(x1,y1)<|box_end|>'"


def _boxes_for_points(doubao: str) -> str:
    """A ui-tars Doubao template with UI-TARS-1.5 box coordinates instead of points."""
    return (doubao.replace("start_point='<point>x1 y1</point>', end_point='<point>x2 y2</point>'",
                           f"{BOX}, end_box='<|box_start|>(x3,y3)<|box_end|>'")
            .replace("point='<point>x1 y1</point>''", BOX)
            .replace("point='<point>x1 y1</point>'", BOX))


def reference(name: str, instruction: str, language: str) -> str:
    """The reference's own rendering of template ``name``."""
    thought = V1.UITARS_USR_PROMPT_THOUGHT
    if name == "osworld-normal":
        return thought.format(instruction=instruction, action_space=V1.UITARS_NORMAL_ACTION_SPACE, language=language)
    if name == "osworld-call-user":
        return thought.format(instruction=instruction, action_space=V1.UITARS_CALL_USR_ACTION_SPACE,
                              language=language)
    if name == "doubao-computer":
        return uitars_pkg.COMPUTER_USE_DOUBAO.format(instruction=instruction, language=language)
    if name == "doubao-mobile":
        return uitars_pkg.MOBILE_USE_DOUBAO.format(instruction=instruction, language=language)
    if name == "doubao-grounding":
        return uitars_pkg.GROUNDING_DOUBAO.format(instruction=instruction)
    if name == "mobile-use":
        return _boxes_for_points(uitars_pkg.MOBILE_USE_DOUBAO).format(instruction=instruction, language=language)
    if name == "grounding":
        return _boxes_for_points(uitars_pkg.GROUNDING_DOUBAO).format(instruction=instruction)
    raise KeyError(name)


INSTRUCTIONS = ["Open the settings", "Type {x} and 'quotes' into the box", "打开设置并保存 \\n done", "a"]
LANGUAGES = ["English", "Chinese"]
IMPORTED = ["osworld-normal", "osworld-call-user", "doubao-computer", "doubao-mobile", "doubao-grounding",
            "mobile-use", "grounding"]


@pytest.mark.parametrize("name", IMPORTED)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("instruction", INSTRUCTIONS)
def test_template_equals_reference(name, language, instruction):
    assert get_template(name).render(instruction, language) == reference(name, instruction, language)


#: profiles rendered by tars.models.prompts (the other families render their own messages,
#: tested against their references in the families' tests)
UITARS_PROFILES = sorted(n for n, p in PROFILES.items() if p.prompt_style in STYLE_PROMPTS)


def test_uitars_profiles_are_covered():
    assert {"ui-tars-1.5", "ui-tars-1.0", "doubao", "qwen2.5-vl", "qwen2-vl"} <= set(UITARS_PROFILES)


@pytest.mark.parametrize("profile", UITARS_PROFILES)
@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("harness", ["tars", "osworld"])
def test_every_profile_task_and_language_renders_a_reference(profile, task, language, harness):
    p = PROFILES[profile]
    p = get_harness(harness, p).apply(p)
    name = p.prompts[task]
    for instruction in INSTRUCTIONS:
        text = system_prompt(p, instruction, language=language, task=task)
        if name in IMPORTED:
            assert text == reference(name, instruction, language)
        elif name == "grounding-v1":
            assert text == "Output only the coordinate of one point in your response. " \
                           "What element matches the following task: " + instruction
        else:
            assert text == get_template(name).render(instruction, language)
            assert hashlib.sha256(get_template(name).text.encode()).hexdigest() == PUBLISHED_SHA256[name]


@pytest.mark.parametrize("name", sorted(PUBLISHED_SHA256))
def test_release_templates_match_the_published_file(name):
    assert hashlib.sha256(TEMPLATES[name].text.encode()).hexdigest() == PUBLISHED_SHA256[name]


def test_grounding_v1_matches_readme_and_layout():
    t = get_template("grounding-v1")
    prefix = t.text.removesuffix("{instruction}")
    assert hashlib.sha256(prefix.encode()).hexdigest() == README_V1_GROUNDING_SHA256
    # README_v1: one user message, the image first, then prompt + instruction; no system message
    image = Image.new("RGB", (64, 32), "white")
    prompt = Prompt("the OK button", t.render("the OK button"), [Turn(image)], layout=t.layout)
    assert prompt.messages() == [{"role": "user", "content": [
        {"type": "image", "image": image}, {"type": "text", "text": prefix + "the OK button"}]}]


def test_osworld_1_0_agent_shares_the_call_user_template():
    # OSWorld's own 1.0 agent (uitars_agent.py) renders the same text as uitars15_v1's qwen2vl_user mode
    for instruction in INSTRUCTIONS:
        ref = V10.UITARS_USR_PROMPT_THOUGHT.format(
            instruction=instruction, action_space=V10.UITARS_CALL_USR_ACTION_SPACE, language="Chinese")
        assert get_template("osworld-call-user").render(instruction, "Chinese") == ref


def test_doubao_template_is_osworld_v2_no_thinking_in_chinese():
    for instruction in INSTRUCTIONS:
        assert get_template("doubao-computer").render(instruction, "Chinese") == \
            V2.COMPUTER_USE_NO_THINKING.format(instruction=instruction)


def test_osworld_harness_picks_the_runner_variant():
    assert get_harness("osworld", PROFILES["ui-tars-1.5"]).apply(PROFILES["ui-tars-1.5"]).prompts["computer"] \
        == "osworld-normal"
    assert template_for(PROFILES["ui-tars-1.5"]).name == "osworld-call-user"
    for style, harness in OSWORLD.items():
        assert get_template(harness.prompt).task == "computer", style


def test_layouts_follow_their_reference():
    image = Image.new("RGB", (64, 32), "white")
    turns = [Turn(image, "Thought: a\nAction: wait()"), Turn(image)]
    agent = Prompt("x", "PROMPT", turns, layout="agent").messages()
    assert [m["role"] for m in agent] == ["system", "user", "user", "assistant", "user"]
    assert agent[0]["content"] == [{"type": "text", "text": "You are a helpful assistant."}]
    nosys = Prompt("x", "PROMPT", turns, layout="agent-nosystem").messages()
    assert [m["role"] for m in nosys] == ["user", "user", "assistant", "user"]
    for name, t in TEMPLATES.items():  # every template names a layout its reference uses
        expected = {"grounding-v1": "image-first"}.get(name, "agent-nosystem" if name.startswith("doubao") else "agent")
        assert t.layout == expected, name


def _answers(seed: int, n: int = 300) -> list[str]:
    rng = random.Random(seed)
    pieces = ["Thought: ", "Action: ", "click(start_box='(12,34)')", "start_box='(5, 6)'", "end_box='(7,8)'",
              "drag(start_box='(1,2)', end_box='(300,400)')", "\n", "\n\n", " ", "type(content='a\\nb')",
              "<|box_start|>(9,9)<|box_end|>", "(3,4)", "'", "finished(content='ok')", "start_box=", "好"]
    out = []
    for _ in range(n):
        k = rng.randint(1, 8)
        out.append("".join(rng.choice(pieces + [rng.choice(string.printable)]) for _ in range(k)))
    return out


def test_add_box_tokens_equals_osworld_add_box_token():
    realistic = [
        "Thought: 点击确定\nAction: click(start_box='(100,200)')",
        "Thought: drag it\nAction: drag(start_box='(1,2)', end_box='(3,4)')",
        "Thought: two\nAction: click(start_box='(1,2)')\n\nAction: click(start_box='(5,6)')",
        "Action: click(start_box='(10, 20)')",
        "Thought: type\nAction: type(content='hi')",
        "Action: click(start_box='<|box_start|>(1,2)<|box_end|>')",
    ]
    for answer in realistic + _answers(1) + _answers(2):
        assert add_box_tokens(answer) == V1.add_box_token(answer), answer
