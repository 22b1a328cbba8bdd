"""The 13 cases from public bug reports (issue 2), from model text to screen points.

Geometry 1920x1080, UI-TARS-1.5 (`resized`: the model image is 1932x1092) unless a case says
otherwise. Each case goes through the real parser and the real coordinate conversion.
"""

from __future__ import annotations

import pytest

from tars.actions.coords import CoordSpace, ScreenGeometry, action_to_screen, smart_resize
from tars.actions.parse import ParseError, parse_response
from tars.actions.space import Click, DoubleClick, Hotkey, RightClick, Scroll, Type

RESIZED = CoordSpace("resized")
RELATIVE = CoordSpace("relative")
ABSOLUTE = CoordSpace("absolute")
FHD = ScreenGeometry(1920, 1080)


def to_screen(text: str, space: CoordSpace = RESIZED, geometry: ScreenGeometry = FHD):
    step = parse_response(text)
    return [action_to_screen(a, space, geometry) for a in step.actions]


def test_model_image_of_full_hd_is_1932x1092():
    assert smart_resize(1080, 1920) == (1092, 1932)


def test_case_01_unlabelled_reasoning_fullwidth_colon_bbox():
    text = "1. 分析目标：需要进入“任务”模块。\n\nAction：click(start_box='<bbox>191 21 191 21</bbox>')"
    step = parse_response(text)
    assert step.actions == (Click(191, 21),)
    assert step.thought == "1. 分析目标：需要进入“任务”模块。"
    assert to_screen(text) == [Click(190, 21)]


def test_case_02_point_without_closing():
    text = "Thought: t\nAction: click(point='<point>450 565</point>"
    assert parse_response(text).actions == (Click(450, 565),)
    assert to_screen(text) == [Click(447, 559)]


def test_case_03_list_box_is_its_centre():
    text = "Thought: …\n\nAction: click(start_box='[10, 850, 50, 890]')"
    assert parse_response(text).actions == (Click(30, 870),)


def test_case_04_box_that_is_not_numbers():
    with pytest.raises(ParseError, match="'='"):
        parse_response("Thought: t\nAction: click(start_box='=')")


def test_case_05_runaway_list_cut_off():
    text = "Thought: t\nAction: scroll(direction='down', start_box='[2,3,4,5,6,7,8,9,10,11,12"
    with pytest.raises(ParseError, match="start_box"):
        parse_response(text)
    # and closed, it is still not 2 or 4 numbers: never a scroll at (2, 3)
    with pytest.raises(ParseError, match="got 11"):
        parse_response(text + "]')")


def test_case_06_type_submit_is_one_enter():
    (action,) = parse_response("Thought: submit the form\nAction: type(content='Login\\n')").actions
    assert action == Type("Login\n")
    assert action.body == "Login" and action.submit
    assert action.body.count("\n") == 0  # one Enter in all, from submit


def test_case_07_relative_and_resized_meet_at_the_centre():
    assert to_screen("Action: click(start_box='(500,500)')", RELATIVE) == [Click(960, 540)]
    assert to_screen("Action: click(start_box='(966,546)')", RESIZED) == [Click(960, 540)]


def test_case_08_resized_is_not_relative():
    assert to_screen("Action: click(start_box='(1000,500)')") == [Click(994, 495)]


def test_case_09_absolute_box_small_screen():
    got = to_screen("Action: click(start_box='[348,333,928,365]')", ABSOLUTE, ScreenGeometry(1366, 768))
    assert got == [Click(638, 349)]


def test_case_10_retina_scale_two():
    geometry = ScreenGeometry(2880, 1800, scale=2.0)
    assert to_screen("Action: click(start_box='(1442,896)')", RESIZED, geometry) == [Click(720, 450)]


def test_case_11_monitor_left_of_primary():
    geometry = ScreenGeometry(1920, 1080, left=-1920)
    assert to_screen("Action: click(start_box='(100,200)')", ABSOLUTE, geometry) == [Click(-1820, 200)]


@pytest.mark.parametrize(
    "key,expected",
    [
        ("arrowdown", ("down",)),
        ("pagedown", ("pagedown",)),
        ("win", ("win",)),
        ("Enter", ("enter",)),
        ("Ctrl+Shift+T", ("ctrl", "shift", "t")),
    ],
)
def test_case_12_hotkey_spellings(key, expected):
    assert parse_response(f"Action: hotkey(key='{key}')").actions == (Hotkey(expected),)


def test_case_13_double_and_right_click_never_dropped():
    text = "Action: left_double(start_box='(966,546)')\n\nright_single(start_box='(966,546)')"
    assert to_screen(text) == [DoubleClick(960, 540), RightClick(960, 540)]


def test_scroll_box_converted_and_plain_scroll_kept():
    got = to_screen("Action: scroll(start_box='(966,546)', direction='down')\n\nscroll(direction='up')")
    assert got == [Scroll(960, 540, "down"), Scroll(None, None, "up")]
