"""Qwen2.5-VL tool-call answers (``<tool_call>{"name": "computer_use", ...}</tool_call>``):
good texts -> actions in model space, bad texts -> ParseError naming the part, and `tars parse`
on one such answer."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tars.actions.parse import ParseError, parse_response
from tars.actions.parse.toolcall import MAX_SCROLL_NOTCHES, scroll_notches
from tars.actions.space import (
    CallUser,
    Click,
    DoubleClick,
    Drag,
    Finished,
    Hotkey,
    LongPress,
    MoveTo,
    OpenApp,
    PressBack,
    PressHome,
    RightClick,
    Scroll,
    Type,
    Wait,
)


def call(action: str, tool: str = "computer_use", **args) -> str:
    """One block as Qwen2.5-VL writes it (newlines inside the tags, as in the cookbook)."""
    body = json.dumps({"name": tool, "arguments": {"action": action, **args}}, ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


def mobile(action: str, **args) -> str:
    return call(action, "mobile_use", **args)


# (id, raw model text, expected actions)
GOOD = [
    # --- computer_use, every action
    ("left-click", call("left_click", coordinate=[966, 546]), [Click(966, 546)]),
    ("right-click", call("right_click", coordinate=[5, 6]), [RightClick(5, 6)]),
    ("double-click", call("double_click", coordinate=[5, 6]), [DoubleClick(5, 6)]),
    ("mouse-move", call("mouse_move", coordinate=[5, 6]), [MoveTo(5, 6)]),
    ("float-coords", call("left_click", coordinate=[0.5, 12.0]), [Click(0.5, 12)]),
    ("key-list", call("key", keys=["ctrl", "c"]), [Hotkey(("ctrl", "c"))]),
    ("key-spellings", call("key", keys=["Control", "Return"]), [Hotkey(("ctrl", "enter"))]),
    ("key-combo-item", call("key", keys=["ctrl+shift+t"]), [Hotkey(("ctrl", "shift", "t"))]),
    ("key-string", call("key", keys="alt+F4"), [Hotkey(("alt", "f4"))]),
    ("key-space-char", call("key", keys=[" "]), [Hotkey(("space",))]),
    ("type", call("type", text="hello world"), [Type("hello world")]),
    ("type-submit", call("type", text="Login\n"), [Type("Login\n")]),
    ("type-cjk-quotes", call("type", text='你好 "x" (y) 😀'), [Type('你好 "x" (y) 😀')]),
    ("type-close-tag-inside", call("type", text="a </tool_call> b"), [Type("a </tool_call> b")]),
    # scroll: sign -> direction, |pixels| -> notches (see scroll_notches)
    ("scroll-down", call("scroll", pixels=-5), [Scroll(None, None, "down", 5)]),
    ("scroll-up-at", call("scroll", pixels=3, coordinate=[10, 20]), [Scroll(10, 20, "up", 3)]),
    ("scroll-fraction", call("scroll", pixels=-0.2), [Scroll(None, None, "down", 1)]),
    ("scroll-runaway", call("scroll", pixels=-100000), [Scroll(None, None, "down", MAX_SCROLL_NOTCHES)]),
    ("hscroll-right", call("hscroll", pixels=4), [Scroll(None, None, "right", 4)]),
    ("hscroll-left", call("hscroll", pixels=-4), [Scroll(None, None, "left", 4)]),
    ("wait", call("wait", time=2), [Wait(2.0)]),
    ("wait-default", call("wait"), [Wait()]),
    ("terminate-success", call("terminate", status="success"), [Finished()]),
    ("terminate-failure", call("terminate", status="failure"), [CallUser("task failed")]),
    ("answer", call("answer", text="42"), [Finished("42")]),
    ("interact", call("interact", text="please log in"), [CallUser("please log in")]),
    # --- the pointer: drags and bare clicks start where an earlier action left it
    ("move-then-drag", call("mouse_move", coordinate=[1, 2]) + call("left_click_drag", coordinate=[3, 4]),
     [MoveTo(1, 2), Drag(1, 2, 3, 4)]),
    ("click-then-drag", call("left_click", coordinate=[1, 2]) + "\n" + call("left_click_drag", coordinate=[3, 4]),
     [Click(1, 2), Drag(1, 2, 3, 4)]),
    ("move-then-bare-click", call("mouse_move", coordinate=[7, 8]) + call("left_click"),
     [MoveTo(7, 8), Click(7, 8)]),
    # --- mobile_use
    ("mobile-click", mobile("click", coordinate=[1, 2]), [Click(1, 2)]),
    ("mobile-long-press", mobile("long_press", coordinate=[1, 2], time=2), [LongPress(1, 2)]),
    ("mobile-swipe", mobile("swipe", coordinate=[1, 2], coordinate2=[3, 4]), [Drag(1, 2, 3, 4)]),
    ("mobile-type", mobile("type", text="hi"), [Type("hi")]),
    ("mobile-home", mobile("system_button", button="Home"), [PressHome()]),
    ("mobile-back", mobile("system_button", button="Back"), [PressBack()]),
    ("mobile-enter", mobile("system_button", button="Enter"), [Hotkey(("enter",))]),
    ("mobile-open", mobile("open", text="Settings"), [OpenApp("Settings")]),
    ("mobile-wait", mobile("wait", time=1.5), [Wait(1.5)]),
    ("mobile-terminate", mobile("terminate", status="success"), [Finished()]),
    # --- shapes around the JSON
    ("several-blocks", call("left_click", coordinate=[1, 2]) + "\n" + call("type", text="x")
     + "\n" + call("key", keys=["enter"]), [Click(1, 2), Type("x"), Hotkey(("enter",))]),
    ("one-line", '<tool_call>{"name":"computer_use","arguments":{"action":"left_click","coordinate":[1,2]}}</tool_call>',
     [Click(1, 2)]),
    ("no-closing-tag", '<tool_call>\n{"name": "computer_use", "arguments": {"action": "wait", "time": 1}}',
     [Wait(1.0)]),
    ("missing-close-between", '<tool_call>{"name": "computer_use", "arguments": {"action": "wait"}}\n'
     + call("left_click", coordinate=[1, 2]), [Wait(), Click(1, 2)]),
    ("im-end", call("left_click", coordinate=[1, 2]) + "<|im_end|>", [Click(1, 2)]),
    ("arguments-as-string",
     '<tool_call>{"name": "computer_use", "arguments": "{\\"action\\": \\"left_click\\", \\"coordinate\\": [1, 2]}"}</tool_call>',
     [Click(1, 2)]),
    ("extra-fields-ignored", call("left_click", coordinate=[1, 2], text="unused"), [Click(1, 2)]),
]


@pytest.mark.parametrize("text,expected", [g[1:] for g in GOOD], ids=[g[0] for g in GOOD])
def test_parses(text, expected):
    step = parse_response(text)
    assert list(step.actions) == expected
    for got, want in zip(step.actions, expected):  # integers stay integers, as written
        assert [type(v) for v in got.to_json().values()] == [type(v) for v in want.to_json().values()]


@pytest.mark.parametrize("text,thought,summary", [
    ("I need to open the menu.\n" + call("left_click", coordinate=[1, 2]), "I need to open the menu.", None),
    ("Thought: look first\n\n" + call("wait"), "look first", None),
    ("<think>the OK button is at the bottom</think>\n" + call("left_click", coordinate=[1, 2]),
     "the OK button is at the bottom", None),
    # Qwen3-VL: "Action: <summary>" line before the call
    ("Action: Click the OK button.\n" + call("left_click", coordinate=[1, 2]),
     "Click the OK button.", "Click the OK button."),
    ("<think>reason</think>\nAction: Click OK\n" + call("left_click", coordinate=[1, 2]), "reason", "Click OK"),
    (call("left_click", coordinate=[1, 2]), None, None),
])
def test_text_before_the_calls_is_the_thought(text, thought, summary):
    step = parse_response(text)
    assert (step.thought, step.summary) == (thought, summary)
    assert step.raw == text


BAD = [
    # JSON
    ("malformed-json", '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click",, }}\n</tool_call>',
     "not valid JSON"),
    ("cut-off-json", '<tool_call>\n{"name": "computer_use", "arguments": {"action": "type", "text": "hel',
     "cut off"),
    ("empty-block", "<tool_call>\n</tool_call>", "tool call 1 is empty"),
    ("text-after-json", '<tool_call>{"name": "computer_use", "arguments": {"action": "wait"}} oops</tool_call>',
     "unexpected text after the JSON"),
    ("text-after-block", call("wait") + "\nand then I click", "unexpected text after tool call 1"),
    ("not-an-object", "<tool_call>[1, 2]</tool_call>", "must be a JSON object"),
    ("nan", '<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [NaN, 1]}}</tool_call>',
     "NaN is not a finite number"),
    ("infinity", '<tool_call>{"name": "computer_use", "arguments": {"action": "wait", "time": Infinity}}</tool_call>',
     "Infinity is not a finite number"),
    ("overflow-float", '<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [1e999, 1]}}</tool_call>',
     "1e999 is not a finite number"),
    ("huge-int", call("left_click", coordinate=[10**400, 1]), "coordinate must be [x, y]"),
    ("deep-nesting", "<tool_call>" + "[" * 100_000, "tool call 1"),
    # tool and action
    ("unknown-tool", call("left_click", tool="browser_use", coordinate=[1, 2]), "unknown tool \"browser_use\""),
    ("no-arguments", '<tool_call>{"name": "computer_use"}</tool_call>', "needs 'arguments'"),
    ("unknown-action", call("explode"), 'unknown action "explode"'),
    ("no-action", '<tool_call>{"name": "computer_use", "arguments": {}}</tool_call>', "unknown action null"),
    # coordinates
    ("missing-coordinate", call("mouse_move"), "tool call 1 (mouse_move) needs 'coordinate'"),
    ("bare-click-unknown-pointer", call("left_click"), "where the pointer is"),
    ("coordinate-one-number", call("left_click", coordinate=[1]), "coordinate must be [x, y]"),
    ("coordinate-strings", call("left_click", coordinate=["1", "2"]), "coordinate must be [x, y]"),
    ("coordinate-bools", call("left_click", coordinate=[True, False]), "coordinate must be [x, y]"),
    ("coordinate-box", call("left_click", coordinate=[1, 2, 3, 4]), "coordinate must be [x, y]"),
    ("second-call-named", call("wait") + call("right_click", coordinate=[1]), "tool call 2 (right_click)"),
    ("swipe-no-end", mobile("swipe", coordinate=[1, 2]), "needs 'coordinate2'"),
    # drags, unsupported buttons
    ("drag-unknown-start", call("left_click_drag", coordinate=[3, 4]), "the drag starts where the pointer is"),
    ("middle-click", call("middle_click", coordinate=[1, 2]), "middle_click has no action"),
    ("triple-click", call("triple_click", coordinate=[1, 2]), "triple_click has no action"),
    ("menu-button", mobile("system_button", button="Menu"), "'Menu' has no action"),
    # keys, text, numbers
    ("unknown-key", call("key", keys=["ctrl", "hyperdrive"]), "unknown key 'hyperdrive'"),
    ("empty-keys", call("key", keys=[]), "needs 'keys'"),
    ("key-not-a-name", call("key", keys=[17]), "key 17 is not a name"),
    ("type-no-text", call("type"), "needs 'text'"),
    ("type-number", call("type", text=5), "not text: 5"),
    ("scroll-no-pixels", call("scroll"), "needs 'pixels'"),
    ("scroll-zero", call("scroll", pixels=0), "pixels is 0"),
    ("scroll-string", call("scroll", pixels="-5"), "pixels must be a number"),
    ("wait-negative", call("wait", time=-1), "negative"),
    ("terminate-no-status", call("terminate"), "status 'success' or 'failure'"),
    ("terminate-bad-status", call("terminate", status="maybe"), "status 'success' or 'failure'"),
    ("open-blank", mobile("open", text="  "), "text is empty"),
]


@pytest.mark.parametrize("text,fragment", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_rejects(text, fragment):
    with pytest.raises(ParseError) as info:
        parse_response(text)
    assert fragment in str(info.value)


def test_a_bad_block_loses_the_whole_answer():
    """A bad second call rejects the answer: no half-done step (the first click never runs)."""
    with pytest.raises(ParseError, match="tool call 2"):
        parse_response(call("left_click", coordinate=[1, 2]) + call("key", keys=["nokey"]))


@pytest.mark.parametrize("pixels,notches", [(1, 1), (-1, 1), (0.4, 1), (2.5, 2), (3.5, 4), (-7, 7),
                                            (50, 50), (51, 50), (-1e6, 50)])
def test_scroll_notches(pixels, notches):
    assert scroll_notches(pixels) == notches


def test_seed_xml_inside_tool_call_is_not_json():
    """Qwen3-Coder/Seed XML inside <tool_call> still goes to the XML reader."""
    text = "<tool_call><function=click><parameter=point><point>3 4</point></parameter></function></tool_call>"
    assert parse_response(text).actions == (Click(3, 4),)


def test_tars_parse_on_a_tool_call_answer():
    """`tars parse` prints the tool call's actions; with --image-size they are screen points."""
    from tars.frontends.cli import app

    text = "The field is at the top.\n" + call("left_click", coordinate=[966, 546]) + "\n" + call(
        "type", text="hi\n")
    result = CliRunner().invoke(app, ["parse"], input=text)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "thought": "The field is at the top.", "reflection": None,
        "actions": [{"action": "click", "x": 966, "y": 546}, {"action": "type", "text": "hi\n"}],
    }
    # resized space (Qwen2.5-VL): 1932x1092 model image for a 1920x1080 screenshot
    result = CliRunner().invoke(app, ["parse", "--image-size", "1920x1080"], input=text)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["actions"][0] == {"action": "click", "x": 960, "y": 540}
    bad = CliRunner().invoke(app, ["parse"], input=call("left_click_drag", coordinate=[1, 2]))
    assert bad.exit_code == 2 and bad.stdout == ""
    assert "pointer" in bad.stderr and bad.stderr.count("\n") == 1
