"""Differential tests against the public `ui-tars` package (bytedance's reference parser).

The reference turns model text into structures (`parse_action_to_structure_output`) and then
into pyautogui code (`parsing_response_to_pyautogui_code`). We read that code with regular
expressions (never executing it) and compare the pointer positions, keys and text with what
tars does on the same input:

* where the reference is right, tars agrees (points within half a pixel, as tars rounds to
  whole screen points and the reference keeps three decimals);
* where the reference is wrong, each test asserts both behaviours and says why tars differs.
"""

from __future__ import annotations

import random
import re
import sys

import pytest

from tars.actions.coords import CoordSpace, ScreenGeometry, action_to_screen
from tars.actions.parse import ParseError, parse_response
from tars.actions.space import (
    CallUser,
    Click,
    DoubleClick,
    Drag,
    Finished,
    Hotkey,
    MoveTo,
    Press,
    RightClick,
    Scroll,
    Type,
    Wait,
)

ui = pytest.importorskip("ui_tars.action_parser")

W, H = 1920, 1080
GEOMETRY = ScreenGeometry(W, H)


def reference(text: str, kind: str = "resized") -> tuple[list[dict], str]:
    """The reference's structures and pyautogui code for a 1920x1080 screenshot."""
    model_type = "qwen25vl" if kind == "resized" else "qwen2vl"
    structs = ui.parse_action_to_structure_output(text, 1000, H, W, model_type=model_type)
    code = ui.parsing_response_to_pyautogui_code(structs, H, W, scale_factor=1)
    return structs, code


_POINTER = re.compile(r"pyautogui\.(click|doubleClick|moveTo|dragTo)\(([-\d.]+), ([-\d.]+)(.*)\)$")


def reference_events(code: str) -> list[tuple]:
    """The reference's pyautogui code -> comparable events (read, not run)."""
    if code == "DONE":
        return [("finished",)]
    events: list[tuple] = []
    for line in code.splitlines():
        m = _POINTER.match(line)
        if m:
            fn, x, y, rest = m.group(1), float(m.group(2)), float(m.group(3)), m.group(4)
            if fn == "click":
                events.append(("right_single" if "'right'" in rest else "click", x, y))
            elif fn == "doubleClick":
                events.append(("left_double", x, y))
            elif fn == "moveTo":
                events.append(("mouse_move", x, y))
            else:
                start = events.pop()
                assert start[0] == "mouse_move"
                events.append(("drag", start[1], start[2], x, y))
        elif line.startswith("pyperclip.copy("):
            events.append(("paste", line[len("pyperclip.copy("):-1]))  # the repr, as written
        elif line.startswith("pyautogui.hotkey("):
            keys = tuple(re.findall(r"'([^']*)'", line))
            if keys == ("ctrl", "v") and events and events[-1][0] == "paste":
                continue  # the paste shortcut that goes with pyperclip.copy
            events.append(("hotkey", keys))
        elif line.startswith(("pyautogui.press(", "pyautogui.keyDown(", "pyautogui.keyUp(")):
            events.append((line.split("(")[0].split(".")[1], re.findall(r"'([^']*)'", line)[0]))
        elif line.startswith("pyautogui.scroll("):
            events.append(("scroll", line))
        elif line.startswith("# Unrecognized action type"):
            events.append(("unrecognized", line.rsplit(" ", 1)[-1]))
    return events


def tars_events(text: str, kind: str = "resized") -> list[tuple]:
    """tars on the same text -> the same event vocabulary, in screen points."""
    step = parse_response(text)
    events: list[tuple] = []
    for action in step.actions:
        a = action_to_screen(action, CoordSpace(kind), GEOMETRY)  # type: ignore[arg-type]
        if isinstance(a, Drag):
            events.append(("drag", a.x1, a.y1, a.x2, a.y2))
        elif isinstance(a, (Click, DoubleClick, RightClick, MoveTo)):
            events.append((a.name, a.x, a.y))
        elif isinstance(a, Hotkey):
            events.append(("hotkey", a.keys))
        elif isinstance(a, Type):
            events.append(("paste", repr(a.text)))
        elif isinstance(a, Finished):
            events.append(("finished",))
        else:
            events.append((a.name,))
    return events


def assert_same(ours: list[tuple], theirs: list[tuple]) -> None:
    assert [e[0] for e in ours] == [e[0] for e in theirs]
    for a, b in zip(ours, theirs):
        for u, v in zip(a[1:], b[1:]):
            if isinstance(u, (int, float)) and isinstance(v, (int, float)):
                assert abs(u - v) <= 0.5 + 1e-9, (ours, theirs)
            else:
                assert u == v, (ours, theirs)


# --------------------------------------------------------------------------------------------
# Where the reference is right, tars agrees

AGREE = [
    ("resized", "Thought: t\nAction: click(start_box='(966,546)')"),
    ("resized", "Thought: t\nAction: click(start_box='(966,546,1000,600)')"),
    ("resized", "Thought: t\nAction: click(point='<point>450 565</point>')"),
    ("resized", "Thought: t\nAction: left_double(start_box='(966,546)')\n\nright_single(start_box='(100,900)')"),
    ("resized", "Thought: t\nAction: hover(start_box='(1,1091)')"),
    ("resized", "Thought: t\nAction: drag(start_box='(10,20)', end_box='(1900,1000)')"),
    ("resized", "Thought: t\nAction: drag(start_point='<point>10 20</point>', end_point='<point>30 40</point>')"),
    ("resized", "Thought: t\nAction: select(start_box='(10,20)', end_box='(30,40)')"),
    ("resized", "Thought: t\nAction: hotkey(key='ctrl c')"),
    ("resized", "Thought: t\nAction: hotkey(key='ctrl shift t')"),
    ("resized", "Thought: t\nAction: hotkey(key='arrowdown')"),
    ("resized", "Thought: t\nAction: type(content='hello world')"),
    ("resized", "Thought: t\nAction: type(content='你好 😀')"),
    ("resized", "Thought: t\nAction: type(content='a')\n\nhotkey(key='enter')"),
    ("resized", "Thought: t\nAction: finished(content='ok')"),
    ("resized", "Reflection: it did not open\nAction_Summary: click again\nAction: click(start_box='(5,6)')"),
    ("relative", "Thought: t\nAction: click(start_box='(500,500)')"),
    ("relative", "Thought: t\nAction: click(start_box='(100,200,300,400)')"),
    ("relative", "Thought: t\nAction: drag(start_box='(0,0)', end_box='(999,999)')"),
    ("relative", "Thought: t\nAction: left_double(start_box='(250,750)')"),
]


@pytest.mark.parametrize("kind,text", AGREE)
def test_agrees_with_reference(kind, text):
    structs, code = reference(text, kind)
    assert_same(tars_events(text, kind), reference_events(code))
    step = parse_response(text)
    assert step.thought == structs[0]["thought"]
    assert step.reflection == structs[0]["reflection"]
    if isinstance(step.actions[-1], Finished):
        assert step.actions[-1].content == structs[-1]["action_inputs"]["content"]


@pytest.mark.parametrize("kind", ["resized", "relative"])
def test_agrees_on_random_points(kind):
    rng = random.Random(11)
    top = (1932, 1092) if kind == "resized" else (1000, 1000)
    for _ in range(150):
        x1, x2 = rng.randrange(top[0]), rng.randrange(top[0])
        y1, y2 = rng.randrange(top[1]), rng.randrange(top[1])
        fn = rng.choice(["click", "left_double", "right_single", "hover"])
        for text in (
            f"Thought: t\nAction: {fn}(start_box='({x1},{y1})')",
            f"Thought: t\nAction: {fn}(start_box='({x1},{y1},{x2},{y2})')",
            f"Thought: t\nAction: drag(start_box='({x1},{y1})', end_box='({x2},{y2})')",
        ):
            assert_same(tars_events(text, kind), reference_events(reference(text, kind)[1]))


REFUSED_BY_BOTH = [
    "Thought: t\nAction: click(start_box='=')",
    "Thought: t\nAction: scroll(direction='down', start_box='[2,3,4,5,6,7,8,9,10,11,12",
    "Thought: t\nAction: click(start_box='(1,2,3)')",
]


@pytest.mark.parametrize("text", REFUSED_BY_BOTH)
def test_both_refuse(text):
    with pytest.raises((ValueError, AssertionError)):
        reference(text)
    with pytest.raises(ParseError):
        parse_response(text)


# --------------------------------------------------------------------------------------------
# Where the reference is wrong: shapes it cannot read (it raises, the agent loses the step)

UNREAD_BY_REFERENCE = [
    # a generation cut off before `')` (the reference appends `)` but not the quote)
    ("Thought: t\nAction: click(point='<point>450 565</point>", [("click", 447, 559)]),
    # box special tokens of UI-TARS-1.0
    ("Thought: t\nAction: click(start_box='<|box_start|>(966,546)<|box_end|>')", [("click", 960, 540)]),
    # square-bracket boxes (it splits on commas after removing only round brackets)
    ("Thought: …\n\nAction: click(start_box='[10, 850, 50, 890]')", [("click", 30, 860)]),
    # <bbox> boxes
    ("Thought: t\nAction: click(start_box='<bbox>191 21 191 21</bbox>')", [("click", 190, 21)]),
    # unlabelled numbered reasoning and a full-width colon (it asserts "Action:" in text)
    ("1. 分析目标：需要进入“任务”模块。\n\nAction：click(start_box='(966,546)')", [("click", 960, 540)]),
    # actions separated by a single newline
    ("Thought: t\nAction: click(start_box='(966,546)')\nclick(start_box='(1,1)')",
     [("click", 960, 540), ("click", 1, 1)]),
    # a code fence around the answer
    ("```\nThought: t\nAction: click(start_box='(966,546)')\n```", [("click", 960, 540)]),
]


@pytest.mark.parametrize("text,expected", UNREAD_BY_REFERENCE)
def test_reference_cannot_read(text, expected):
    with pytest.raises((ValueError, AssertionError)):
        reference(text)
    assert_same(tars_events(text), expected)


# --------------------------------------------------------------------------------------------
# Where the reference reads the text but does the wrong thing


def test_submit_is_one_enter_not_newline_plus_enter():
    """The reference pastes 'Login\\n' (the newline itself submits in most fields) and then
    presses Enter again; tars types the body and presses Enter once."""
    text = "Thought: submit the form\nAction: type(content='Login\\n')"
    events = reference_events(reference(text)[1])
    assert events == [("paste", repr("Login\n")), ("press", "enter")]
    (action,) = parse_response(text).actions
    assert action == Type("Login\n") and action.body == "Login" and action.submit


def test_raw_quotes_are_typed_without_backslashes():
    """The reference escapes quotes for its own code template and pastes the backslashes."""
    text = "Thought: t\nAction: type(content='He said 'hi' to me')"
    (paste,) = reference_events(reference(text)[1])
    assert "\\\\'hi\\\\'" in paste[1]  # He said \'hi\' to me, backslashes included
    assert parse_response(text).actions == (Type("He said 'hi' to me"),)


def test_scroll_position_is_in_screen_points():
    """The reference passes the 0..1 fractions straight to pyautogui.scroll(x=0.5, y=0.5)."""
    text = "Thought: t\nAction: scroll(start_box='(966,546)', direction='down')"
    ((_, line),) = reference_events(reference(text)[1])
    assert "x=0.5, y=0.5" in line
    (action,) = parse_response(text).actions
    assert action_to_screen(action, CoordSpace("resized"), GEOMETRY) == Scroll(960, 540, "down")


def test_press_is_a_tap():
    """The reference turns press() into keyDown() with no keyUp(): the key stays held."""
    text = "Thought: t\nAction: press(key='enter')"
    assert reference_events(reference(text)[1]) == [("keyDown", "enter")]
    assert parse_response(text).actions == (Press("enter"),)


def test_plus_separated_hotkey_is_split():
    """The reference sends 'Ctrl+Shift+T' to pyautogui as one (unknown) key name."""
    text = "Thought: t\nAction: hotkey(key='Ctrl+Shift+T')"
    assert reference_events(reference(text)[1]) == [("hotkey", ("Ctrl+Shift+T",))]
    assert parse_response(text).actions == (Hotkey(("ctrl", "shift", "t")),)


@pytest.mark.parametrize(
    "text,expected",
    [("Thought: t\nAction: wait()", Wait()), ("Thought: t\nAction: call_user()", CallUser())],
)
def test_wait_and_call_user_are_actions(text, expected):
    assert reference_events(reference(text)[1])[0][0] == "unrecognized"
    assert parse_response(text).actions == (expected,)


def test_thought_mentioning_action_is_kept_whole():
    """The reference cuts the thought at the first 'Action: ' anywhere in the text."""
    text = "Thought: I think Action: is next\nAction: click(start_box='(1,2)')"
    assert reference(text)[0][0]["thought"] == "I think"
    assert parse_response(text).thought == "I think Action: is next"


def test_reference_evaluates_model_text_and_tars_does_not():
    """The reference eval()s any value containing '<point>': model text runs as Python.
    The probe only sets an attribute on the sys module, then the test removes it."""
    payload = '__import__("sys").__dict__.setdefault("tars_probe_ran", True) and "<point>"'
    text = f"Thought: t\nAction: type(content='{payload}')"
    assert not hasattr(sys, "tars_probe_ran")
    try:
        step = parse_response(text)
        assert not hasattr(sys, "tars_probe_ran")
        assert step.actions == (Type(payload),)
        reference(text)
        assert getattr(sys, "tars_probe_ran", False) is True
    finally:
        sys.__dict__.pop("tars_probe_ran", None)


def test_smart_resize_matches_reference_copy():
    """ui-tars ships its own smart_resize; it agrees with ours on screen sizes."""
    from tars.actions.coords import smart_resize

    rng = random.Random(5)
    for _ in range(2000):
        h, w = rng.randint(100, 6000), rng.randint(100, 6000)
        if max(h, w) / min(h, w) <= 200:
            assert smart_resize(h, w) == ui.smart_resize(h, w)


def test_seed_xml_agrees_with_reference_xml_parser():
    """Seed-style XML tool calls: same functions and values as ui-tars' parse_xml_action_v5."""
    text = (
        "<gui_think>I see the Other box.</gui_think>\n<seed:tool_call><function=click>"
        "<parameter=point><point>34 325</point></parameter></function><function=type>"
        "<parameter=content>hello</parameter></function></seed:tool_call>"
    )
    theirs = ui.parse_xml_action_v5(text)
    assert [c["function"] for c in theirs] == ["click", "type"]
    assert theirs[0]["parameters"]["point"] == "<point>34 325</point>"
    assert parse_response(text).actions == (Click(34, 325), Type(theirs[1]["parameters"]["content"]))


def test_seed_xml_cut_off_is_read():
    """A Seed-style call cut off before </parameter> gives the reference nothing at all."""
    text = "<seed:tool_call><function=click><parameter=point><point>34 325</point>"
    assert ui.parse_xml_action_v5(text) == []
    assert parse_response(text).actions == (Click(34, 325),)
