"""Model profiles (picked from model names) and the UI-TARS prompt templates."""

from __future__ import annotations

import json

import pytest

from tars.models.profiles import PROFILES, get_profile, guess_profile_name
from tars.models.prompts import add_box_tokens, system_prompt

NAME_TABLE = [
    ("ByteDance-Seed/UI-TARS-1.5-7B", "ui-tars-1.5"),
    ("UI-TARS-1.5-7B", "ui-tars-1.5"),
    ("bytedance-research/UI-TARS-7B-DPO", "ui-tars-1.0"),
    ("bytedance-research/UI-TARS-7B-SFT", "ui-tars-1.0"),
    ("bytedance-research/UI-TARS-2B-SFT", "ui-tars-1.0"),
    ("UI-TARS-72B-DPO", "ui-tars-1.0"),
    ("ui_tars_7b_dpo", "ui-tars-1.0"),
    ("Qwen/Qwen2.5-VL-7B-Instruct", "qwen2.5-vl"),
    ("Qwen/Qwen2.5-VL-3B-Instruct-AWQ", "qwen2.5-vl"),
    ("Qwen/Qwen2-VL-2B-Instruct", "qwen2-vl"),
    ("doubao-1.5-ui-tars-250328", "doubao"),
    ("seed-1.5-vl", "doubao"),
    ("ui-tars", "ui-tars-1.5"),
    ("/srv/models/my-agent", "ui-tars-1.5"),
    ("", "ui-tars-1.5"),
    (None, "ui-tars-1.5"),
]


@pytest.mark.parametrize("name,expected", NAME_TABLE)
def test_profile_from_model_name(name, expected):
    assert get_profile(name).name == expected


def test_profile_spaces_and_box_tokens():
    assert get_profile("UI-TARS-7B-DPO").space.kind == "relative"
    assert get_profile("UI-TARS-1.5-7B").space.kind == "resized"
    assert get_profile("Qwen2-VL-7B").space.kind == "relative"
    assert get_profile("Qwen2.5-VL-7B").space.kind == "resized"
    p = get_profile("UI-TARS-1.5-7B")
    assert (p.space.min_pixels, p.space.max_pixels) == (100 * 28 * 28, 16384 * 28 * 28)
    assert p.history_images == 5 and p.temperature == 0.0
    assert get_profile("UI-TARS-7B-SFT").box_tokens is True
    assert get_profile("Qwen2.5-VL-7B").box_tokens is False


def test_override_wins_and_unknown_override_lists_known():
    assert get_profile("UI-TARS-1.5-7B", override="ui-tars-1.0").name == "ui-tars-1.0"
    with pytest.raises(ValueError) as err:
        get_profile("x", override="gpt-9")
    for name in PROFILES:
        assert name in str(err.value)


def test_local_folder_judged_by_config(tmp_path):
    qwen2 = tmp_path / "ckpt-a"
    qwen2.mkdir()
    (qwen2 / "config.json").write_text(json.dumps({"model_type": "qwen2_vl"}))
    qwen25 = tmp_path / "ckpt-b"
    qwen25.mkdir()
    (qwen25 / "config.json").write_text(json.dumps({"model_type": "qwen2_5_vl"}))
    assert guess_profile_name(str(qwen2)) == "ui-tars-1.0"
    assert guess_profile_name(str(qwen25)) == "ui-tars-1.5"
    # the name beats the config when it speaks
    named = tmp_path / "UI-TARS-1.5-7B"
    named.mkdir()
    (named / "config.json").write_text(json.dumps({"model_type": "qwen2_vl"}))
    assert guess_profile_name(str(named)) == "ui-tars-1.5"


def test_profile_prompt_variants_and_budgets():
    # each profile names one reference variant per task (tests/test_prompts_reference.py
    # compares them with the references byte for byte)
    assert get_profile("UI-TARS-1.5-7B").prompts == {
        "computer": "osworld-call-user", "mobile": "mobile-use", "grounding": "grounding"}
    assert get_profile("UI-TARS-7B-DPO").prompts["grounding"] == "grounding-v1"
    assert get_profile("doubao").prompts["computer"] == "doubao-computer"
    v10 = get_profile("UI-TARS-7B-DPO").space
    assert (v10.min_pixels, v10.max_pixels) == (3136, 2700 * 28 * 28)
    assert get_profile("doubao").space.max_pixels == 5120 * 28 * 28
    for name in ("ui-tars-1.5", "ui-tars-1.0"):
        assert {"space", "history_images", "max_new_tokens", "temperature"} <= set(PROFILES[name].sources)
    with pytest.raises(ValueError, match="not a computer prompt"):
        PROFILES["ui-tars-1.5"].with_settings(prompts={"computer": "mobile-use"})


def test_mobile_prompts():
    text = system_prompt(get_profile("UI-TARS-1.5-7B"), "Call mom", task="mobile")
    for fn in ("long_press(start_box=", "open_app(app_name='')", "press_home()", "press_back()"):
        assert fn in text
    assert "hotkey" not in text and "right_single" not in text
    doubao = system_prompt(get_profile("doubao"), "Call mom", task="mobile")
    assert "long_press(point='<point>x1 y1</point>')" in doubao


def test_doubao_point_prompt():
    text = system_prompt(get_profile("doubao-1.5-ui-tars"), "Open mail")
    assert "click(point='<point>x1 y1</point>')" in text
    assert "drag(start_point='<point>x1 y1</point>', end_point='<point>x2 y2</point>')" in text
    assert "<|box_start|>" not in text


def test_bad_task_and_empty_instruction():
    with pytest.raises(ValueError, match="unknown task"):
        system_prompt(get_profile(None), "x", task="tablet")
    with pytest.raises(ValueError, match="empty"):
        system_prompt(get_profile(None), "   ")


@pytest.mark.parametrize(
    "raw,expected",
    [
        (
            "Thought: go\nAction: click(start_box='(10,20)')",
            "Thought: go\nAction: click(start_box='<|box_start|>(10,20)<|box_end|>')",
        ),
        (
            "Action: drag(start_box='(1, 2)', end_box='(3,4)')",
            # OSWorld's add_box_token leaves a box written with a space bare
            "Action: drag(start_box='(1, 2)', end_box='<|box_start|>(3,4)<|box_end|>')",
        ),
        (  # already wrapped: unchanged
            "Action: click(start_box='<|box_start|>(10,20)<|box_end|>')",
            "Action: click(start_box='<|box_start|>(10,20)<|box_end|>')",
        ),
        ("Action: click(point='<point>1 2</point>')", "Action: click(point='<point>1 2</point>')"),
        ("Thought: the box (1,2) is here\nAction: wait()", "Thought: the box (1,2) is here\nAction: wait()"),
    ],
)
def test_add_box_tokens(raw, expected):
    assert add_box_tokens(raw) == expected
