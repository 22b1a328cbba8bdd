"""Parser tables: raw model text -> expected actions (model space); bad text -> ParseError."""

from __future__ import annotations

import pytest

from tars.actions.parse import ParseError, parse_response
from tars.actions.space import (
    CallUser,
    Click,
    DoubleClick,
    Drag,
    Finished,
    Hotkey,
    KeyDown,
    KeyUp,
    LongPress,
    MoveTo,
    OpenApp,
    Press,
    PressBack,
    PressHome,
    RightClick,
    Scroll,
    Type,
    Wait,
)

# (id, raw model text, expected actions)
GOOD = [
    # --- labels and sections
    ("thought-action", "Thought: open it\nAction: click(start_box='(10,20)')", [Click(10, 20)]),
    ("fullwidth-colon", "Thought：t\nAction：click(start_box='(10,20)')", [Click(10, 20)]),
    ("spaced-label", "Thought : t\nAction :  click(start_box='(10,20)')", [Click(10, 20)]),
    ("bold-labels", "**Thought:** t\n**Action:** click(start_box='(10,20)')", [Click(10, 20)]),
    ("reflection-summary",
     "Reflection: it failed\nAction_Summary: retry\nAction: click(start_box='(1,2)')", [Click(1, 2)]),
    ("summary-only", "Action_Summary: go\nAction: click(start_box='(1,2)')", [Click(1, 2)]),
    ("numbered-unlabelled", "1. look\n2. click it\n\nAction: click(start_box='(1,2)')", [Click(1, 2)]),
    ("no-label-bare-call", "click(start_box='(1,2)')", [Click(1, 2)]),
    ("no-label-after-prose", "I will click.\nclick(start_box='(1,2)')", [Click(1, 2)]),
    ("code-fence", "```\nThought: t\nAction: click(start_box='(1,2)')\n```", [Click(1, 2)]),
    ("code-fence-lang", "```python\nclick(start_box='(1,2)')\n```", [Click(1, 2)]),
    ("inline-backticks", "Action: `click(start_box='(1,2)')`", [Click(1, 2)]),
    ("im-end", "Action: click(start_box='(1,2)')<|im_end|>", [Click(1, 2)]),
    ("eos", "Action: click(start_box='(1,2)')[EOS]", [Click(1, 2)]),
    # --- several actions
    ("blank-line-separated",
     "Thought: t\nAction: click(start_box='(1,2)')\n\ntype(content='hi')\n\nhotkey(key='enter')",
     [Click(1, 2), Type("hi"), Hotkey(("enter",))]),
    ("newline-separated", "Action: click(start_box='(1,2)')\nclick(start_box='(3,4)')",
     [Click(1, 2), Click(3, 4)]),
    ("semicolon-separated", "Action: click(start_box='(1,2)'); click(start_box='(3,4)')",
     [Click(1, 2), Click(3, 4)]),
    ("repeated-action-label", "Action: click(start_box='(1,2)')\n\nAction: wait()",
     [Click(1, 2), Wait()]),
    # --- boxes
    ("point-tuple", "Action: click(start_box='(100,200)')", [Click(100, 200)]),
    ("box-tuple", "Action: click(start_box='(100,200,300,400)')", [Click(200, 300)]),
    ("list-point", "Action: click(start_box='[100, 200]')", [Click(100, 200)]),
    ("list-box", "Action: click(start_box='[10, 850, 50, 890]')", [Click(30, 870)]),
    ("odd-centre", "Action: click(start_box='(1,1,2,2)')", [Click(1.5, 1.5)]),
    ("box-tokens", "Action: click(start_box='<|box_start|>(100,200)<|box_end|>')", [Click(100, 200)]),
    ("box-tokens-two-points",
     "Action: click(start_box='<|box_start|>(10,20),(30,40)<|box_end|>')", [Click(20, 30)]),
    ("point-tag", "Action: click(point='<point>450 565</point>')", [Click(450, 565)]),
    ("bbox-tag", "Action: click(start_box='<bbox>191 21 191 21</bbox>')", [Click(191, 21)]),
    ("bbox-tag-box", "Action: click(start_box='<bbox>10 20 30 40</bbox>')", [Click(20, 30)]),
    ("spaces-everywhere", "Action:  click ( start_box = ' ( 100 , 200 ) ' ) ", [Click(100, 200)]),
    ("unquoted-box", "Action: click(start_box=(100,200))", [Click(100, 200)]),
    ("unquoted-point-tag", "Action: click(point=<point>7 8</point>)", [Click(7, 8)]),
    ("double-quotes", 'Action: click(start_box="(1,2)")', [Click(1, 2)]),
    ("float-coords", "Action: click(start_box='(0.5,12.25)')", [Click(0.5, 12.25)]),
    ("positional-box", "Action: click('(1,2)')", [Click(1, 2)]),
    ("truncated-point", "Thought: t\nAction: click(point='<point>450 565</point>", [Click(450, 565)]),
    ("truncated-after-quote", "Action: click(start_box='(1,2)'", [Click(1, 2)]),
    ("truncated-tuple", "Action: click(start_box='(1,2)", [Click(1, 2)]),
    # --- every function
    ("left-double", "Action: left_double(start_box='(5,6)')", [DoubleClick(5, 6)]),
    ("right-single", "Action: right_single(start_box='(5,6)')", [RightClick(5, 6)]),
    ("left-single-alias", "Action: left_single(start_box='(5,6)')", [Click(5, 6)]),
    ("hover", "Action: hover(start_box='(5,6)')", [MoveTo(5, 6)]),
    ("mouse-move", "Action: mouse_move(start_box='(5,6)')", [MoveTo(5, 6)]),
    ("drag", "Action: drag(start_box='(1,2)', end_box='(3,4)')", [Drag(1, 2, 3, 4)]),
    ("drag-points", "Action: drag(start_point='<point>1 2</point>', end_point='<point>3 4</point>')",
     [Drag(1, 2, 3, 4)]),
    ("drag-boxes", "Action: drag(start_box='(0,0,2,2)', end_box='[10,10,20,20]')",
     [Drag(1, 1, 15, 15)]),
    ("select", "Action: select(start_box='(1,2)', end_box='(3,4)')", [Drag(1, 2, 3, 4)]),
    ("scroll-box", "Action: scroll(start_box='(5,6)', direction='down')", [Scroll(5, 6, "down")]),
    ("scroll-direction-first", "Action: scroll(direction='up', point='<point>5 6</point>')",
     [Scroll(5, 6, "up")]),
    ("scroll-no-box", "Action: scroll(direction='left')", [Scroll(None, None, "left")]),
    ("scroll-caps", "Action: scroll(direction='Right')", [Scroll(None, None, "right")]),
    ("hotkey-space", "Action: hotkey(key='ctrl c')", [Hotkey(("ctrl", "c"))]),
    ("hotkey-plus", "Action: hotkey(key='Ctrl+Shift+T')", [Hotkey(("ctrl", "shift", "t"))]),
    ("hotkey-single", "Action: hotkey(key='Enter')", [Hotkey(("enter",))]),
    ("hotkey-arg-alias", "Action: hotkey(hotkey='cmd v')", [Hotkey(("win", "v"))]),
    ("press", "Action: press(key='Return')", [Press("enter")]),
    ("press-combo", "Action: press(key='ctrl a')", [Hotkey(("ctrl", "a"))]),
    ("keydown", "Action: keydown(key='shift')", [KeyDown("shift")]),
    ("press-space-char", "Action: press(key=' ')", [Press("space")]),
    ("keyup", "Action: keyup(key='Shift')", [KeyUp("shift")]),
    ("release", "Action: release(key='alt')", [KeyUp("alt")]),
    ("wait", "Action: wait()", [Wait()]),
    ("finished", "Action: finished(content='done: 42')", [Finished("done: 42")]),
    ("finished-empty", "Action: finished()", [Finished("")]),
    ("call-user", "Action: call_user()", [CallUser()]),
    ("long-press", "Action: long_press(start_box='(5,6)')", [LongPress(5, 6)]),
    ("open-app", "Action: open_app(app_name='Settings')", [OpenApp("Settings")]),
    ("press-home", "Action: press_home()", [PressHome()]),
    ("press-back", "Action: press_back()", [PressBack()]),
    ("function-case", "Action: Click(start_box='(5,6)')", [Click(5, 6)]),
    # --- type content
    ("type-submit-escaped", "Action: type(content='Login\\n')", [Type("Login\n")]),
    ("type-submit-real-newline", "Action: type(content='Login\n')", [Type("Login\n")]),
    ("type-escaped-quote", "Action: type(content='It\\'s')", [Type("It's")]),
    ("type-raw-quotes", "Action: type(content='He said 'hi' to me')", [Type("He said 'hi' to me")]),
    ("type-raw-quote-paren", "Action: type(content='f('x') and g')", [Type("f('x') and g")]),
    ("type-double-quotes-inside", "Action: type(content='say \"hi\"')", [Type('say "hi"')]),
    ("type-escaped-double", 'Action: type(content="say \\"hi\\"")', [Type('say "hi"')]),
    ("type-real-newlines", "Action: type(content='line 1\nline 2\n')", [Type("line 1\nline 2\n")]),
    ("type-code", "Action: type(content='print('a')\nprint('b')')", [Type("print('a')\nprint('b')")]),
    ("type-parens", "Action: type(content='(a) [b] {c}')", [Type("(a) [b] {c}")]),
    ("type-cjk-emoji", "Action: type(content='你好，世界 😀🚀')", [Type("你好，世界 😀🚀")]),
    ("type-backslash", "Action: type(content='C:\\\\Users\\\\me')", [Type("C:\\Users\\me")]),
    ("type-unknown-escape-kept", "Action: type(content='a\\qb')", [Type("a\\qb")]),
    ("type-label-inside", "Action: type(content='Action: click(start_box=(1,2))')",
     [Type("Action: click(start_box=(1,2))")]),
    ("type-truncated", "Action: type(content='hello wor", [Type("hello wor")]),
    ("type-then-enter",
     "Action: type(content='a')\n\nhotkey(key='enter')", [Type("a"), Hotkey(("enter",))]),
    ("type-empty", "Action: type(content='')", [Type("")]),
    ("type-text-alias", "Action: type(text='x')", [Type("x")]),
    # --- Seed-style XML function calls
    ("seed-xml",
     "<gui_think>I see it.</gui_think>\n<seed:tool_call><function=click><parameter=point>"
     "<point>34 325</point></parameter></function></seed:tool_call>", [Click(34, 325)]),
    ("seed-xml-several",
     "<seed:tool_call><function=type><parameter=content>it's (raw) \"text\"</parameter></function>\n"
     "<function=hotkey><parameter=key>ctrl enter</parameter></function></seed:tool_call>",
     [Type("it's (raw) \"text\""), Hotkey(("ctrl", "enter"))]),
    ("seed-xml-named",
     '<function name="drag"><parameter name="start_point" string="true"><point>1 2</point>'
     '</parameter><parameter name="end_point" string="true"><point>3 4</point></parameter></function>',
     [Drag(1, 2, 3, 4)]),
    ("seed-xml-no-params", "<function=press_home></function>", [PressHome()]),
    ("seed-xml-truncated", "<seed:tool_call><function=click><parameter=point><point>34 325</point>",
     [Click(34, 325)]),
    ("label-wins-over-xml", "Action: type(content='<function=click>')", [Type("<function=click>")]),
]


@pytest.mark.parametrize("text,expected", [g[1:] for g in GOOD], ids=[g[0] for g in GOOD])
def test_parses(text, expected):
    step = parse_response(text)
    assert list(step.actions) == expected
    assert step.raw == text


def test_int_when_integral_float_otherwise():
    (a,) = parse_response("Action: click(start_box='(1,1,2,4)')").actions
    assert (a.x, a.y) == (1.5, 2.5) and type(a.y) is float
    (b,) = parse_response("Action: click(start_box='(1.0,2)')").actions
    assert type(b.x) is int and type(b.y) is int


SECTIONS = [
    ("Thought: look here\nAction: wait()", "look here", None, None),
    ("Thought: line 1\nline 2\n\nAction: wait()", "line 1\nline 2", None, None),
    ("Reflection: missed\nAction_Summary: retry it\nAction: wait()", "retry it", "missed", "retry it"),
    ("1. 分析\n2. 点击\n\nAction：wait()", "1. 分析\n2. 点击", None, None),
    ("<think>plan it</think>\n<function=wait></function>", "plan it", None, None),
    ("Thought: xml too\n<function=wait></function>", "xml too", None, None),
    ("Action: wait()", None, None, None),
    ("Thought:   \nAction: wait()", None, None, None),
]


@pytest.mark.parametrize("text,thought,reflection,summary", SECTIONS)
def test_sections(text, thought, reflection, summary):
    step = parse_response(text)
    assert (step.thought, step.reflection, step.summary) == (thought, reflection, summary)


# (id, raw text, a fragment the message must contain)
BAD = [
    ("empty", "", "no action"),
    ("prose", "Thought: I am not sure what to do.", "no action"),
    ("label-no-call", "Thought: t\nAction: ", "no action"),
    ("unknown-function", "Action: explode(start_box='(1,2)')", "'explode'"),
    ("unknown-function-second", "Action: click(start_box='(1,2)')\n\nfoo(x=1)", "'foo'"),
    ("code-injection", "Action: __import__('os').system('touch /tmp/pwned')", "__import__"),
    ("eval-in-box", "Action: click(start_box=__import__('os').getcwd())", "bad box"),
    ("box-equals", "Action: click(start_box='=')", "'='"),
    ("box-empty", "Action: click(start_box='')", "needs start_box"),
    ("box-three", "Action: click(start_box='(1,2,3)')", "got 3"),
    ("box-one", "Action: click(start_box='(1)')", "got 1"),
    ("box-five", "Action: click(start_box='[1,2,3,4,5]')", "got 5"),
    ("box-runaway-cut", "Action: scroll(direction='down', start_box='[2,3,4,5,6,7,8,9,10,11,12", "cut off"),
    ("box-nan", "Action: click(start_box='(nan,1)')", "bad box"),
    ("box-inf", "Action: click(start_box='(1e999,1)')", "finite"),
    ("box-words", "Action: click(start_box='the OK button')", "bad box"),
    ("box-unbalanced", "Action: click(start_box='(1,2]')", "unbalanced"),
    ("box-unclosed-bare", "Action: click(start_box='100,20", "cut off"),
    ("box-glued-numbers", "Action: click(start_box='(1-2)')", "separated"),
    ("missing-box", "Action: click()", "needs start_box"),
    ("drag-one-box", "Action: drag(start_box='(1,2)')", "needs end_box"),
    ("scroll-no-direction", "Action: scroll(start_box='(1,2)')", "needs direction"),
    ("scroll-bad-direction", "Action: scroll(direction='sideways')", "sideways"),
    ("unknown-key", "Action: hotkey(key='ctrl foo')", "'foo'"),
    ("empty-key", "Action: hotkey(key='')", "needs key"),
    ("blank-key", "Action: hotkey(key='   ')", "empty key"),
    ("keydown-combo", "Action: keydown(key='ctrl c')", "one key"),
    ("unknown-argument", "Action: click(start_box='(1,2)', button='middle')", "'button'"),
    ("duplicate-argument", "Action: click(start_box='(1,2)', point='(3,4)')", "twice"),
    ("positional-press-home", "Action: press_home('x')", "positional"),
    ("trailing-prose", "Action: click(start_box='(1,2)') and then I will wait", "after the last action"),
    ("bad-arg-syntax", "Action: click(start_box='(1,2)' 'x')", "unexpected"),
    ("open-app-empty", "Action: open_app(app_name='')", "needs app_name"),
    ("not-text", None, "must be text"),
    ("seed-xml-unknown", "<seed:tool_call><function=explode></function>", "'explode'"),
    ("seed-xml-cut-box", "<function=click><parameter=point>34 32", "cut off"),
    ("seed-xml-junk", "<function=click><parameter=point>(1,2)</parameter></function> ok?", "'ok?'"),
    ("seed-xml-bad-body", "<function=click>point=(1,2)</function>", "<parameter"),
]


@pytest.mark.parametrize("text,fragment", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_rejects(text, fragment):
    with pytest.raises(ParseError) as info:
        parse_response(text)
    assert fragment in str(info.value)


def test_parse_error_is_value_error():
    assert issubclass(ParseError, ValueError)


ROUND_TRIP = [
    Click(12, 34), DoubleClick(1, 2), RightClick(3, 4), MoveTo(5, 6), LongPress(7, 8),
    Drag(1, 2, 300, 400), Scroll(10, 20, "down"), Scroll(None, None, "up"),
    Hotkey(("ctrl", "shift", "t")), Press("enter"), KeyDown("shift"), KeyUp("shift"),
    Type("It's \"quoted\"\nand C:\\path\n"), Wait(), Finished("the answer is 'x'"),
    CallUser(), CallUser("please log in"), OpenApp("Maps"), PressHome(), PressBack(),
]


@pytest.mark.parametrize("action", ROUND_TRIP, ids=lambda a: a.name)
def test_to_text_round_trip(action):
    """Action.to_text (used for history and demonstrations) parses back to the same action."""
    (parsed,) = parse_response(f"Thought: t\nAction: {action.to_text()}").actions
    assert parsed == action


# --------------------------------------------------------------------------------------------
# `tars parse`

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from typer.testing import CliRunner  # noqa: E402

from tars.frontends.cli import app  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def tars_parse(text: str, *options: str):
    result = CliRunner().invoke(app, ["parse", *options], input=text)
    return result.exit_code, result.stdout, result.stderr


CLI = [
    # model space, printed as written
    ("Thought: t\nAction: click(start_box='(966,546)')", [],
     {"thought": "t", "reflection": None, "actions": [{"action": "click", "x": 966, "y": 546}]}),
    ("Action: drag(start_box='(1,2)', end_box='(3,4,5,6)')", [],
     {"thought": None, "reflection": None,
      "actions": [{"action": "drag", "x": 1, "y": 2, "x2": 4, "y2": 5}]}),
    ("Reflection: r\nAction_Summary: s\nAction: click(start_box='(1,1,2,2)')", [],
     {"thought": "s", "reflection": "r", "actions": [{"action": "click", "x": 1.5, "y": 1.5}]}),
    # screen points
    ("Action: click(start_box='(966,546)')", ["--image-size", "1920x1080"],
     {"thought": None, "reflection": None, "actions": [{"action": "click", "x": 960, "y": 540}]}),
    ("Action: click(start_box='(500,500)')", ["--image-size", "1920x1080", "--coords", "relative"],
     {"thought": None, "reflection": None, "actions": [{"action": "click", "x": 960, "y": 540}]}),
    ("Action: click(start_box='[348,333,928,365]')", ["--image-size", "1366X768", "--coords", "absolute"],
     {"thought": None, "reflection": None, "actions": [{"action": "click", "x": 638, "y": 349}]}),
    ("Action: click(start_box='(1442,896)')", ["--image-size", "2880x1800", "--scale", "2"],
     {"thought": None, "reflection": None, "actions": [{"action": "click", "x": 720, "y": 450}]}),
    ("Action: drag(start_box='(966,546)', end_box='(1000,500)')", ["--image-size", "1920x1080"],
     {"thought": None, "reflection": None,
      "actions": [{"action": "drag", "x": 960, "y": 540, "x2": 994, "y2": 495}]}),
    # smaller pixel budget: model image 1316x728 for 1920x1080 (max_pixels 1280*28*28)
    ("Action: click(start_box='(658,364)')",
     ["--image-size", "1920x1080", "--max-pixels", str(1280 * 28 * 28)],
     {"thought": None, "reflection": None, "actions": [{"action": "click", "x": 960, "y": 540}]}),
    # non-pointer fields
    ("思考完毕\nAction：type(content='你好\\n')\n\nhotkey(key='Ctrl+V')\n\nscroll(direction='down')\n\nfinished(content='ok')",
     ["--image-size", "1920x1080"],
     {"thought": "思考完毕", "reflection": None, "actions": [
         {"action": "type", "text": "你好\n"},
         {"action": "hotkey", "keys": ["ctrl", "v"]},
         {"action": "scroll", "x": None, "y": None, "direction": "down", "amount": 5},
         {"action": "finished", "content": "ok"}]}),
]


@pytest.mark.parametrize("text,options,expected", CLI)
def test_tars_parse_prints_json(text, options, expected):
    code, out, err = tars_parse(text, *options)
    assert code == 0, err
    assert json.loads(out) == expected
    assert out.count("\n") == 1  # one JSON object on one line


CLI_BAD = [
    ("Thought: nothing to do", [], "no action"),
    ("Action: click(start_box='=')", [], "bad box"),
    ("Action: frobnicate()", [], "frobnicate"),
    ("Action: wait()", ["--image-size", "1920"], "--image-size"),
    ("Action: wait()", ["--image-size", "0x10"], "--image-size"),
    ("Action: wait()", ["--image-size", "axb"], "--image-size"),
    ("Action: wait()", ["--image-size", "100x100", "--scale", "0"], "--scale"),
    ("Action: wait()", ["--image-size", "100x100", "--scale", "-2"], "--scale"),
    ("Action: wait()", ["--image-size", "100x100", "--coords", "pixels"], "pixels"),
    ("Action: wait()", ["--coords", "pixels"], "pixels"),
    ("Action: wait()", ["--image-size", "10x3000"], "aspect ratio"),
]


@pytest.mark.parametrize("text,options,fragment", CLI_BAD)
def test_tars_parse_bad_input_exits_2(text, options, fragment):
    code, out, err = tars_parse(text, *options)
    assert code == 2
    assert out == ""
    assert fragment in err and err.count("\n") == 1 and err.startswith("tars: ")


def test_tars_parse_subprocess_end_to_end():
    """The real process: stdin in, JSON out, exit 0; bad text: exit 2, one line on stderr."""
    cmd = [sys.executable, "-m", "tars", "parse", "--image-size", "1920x1080"]
    ok = subprocess.run(cmd, input="Action: left_double(start_box='(966,546)')", cwd=ROOT,
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["actions"] == [{"action": "left_double", "x": 960, "y": 540}]
    bad = subprocess.run(cmd, input=b"Action: click(start_box='(1,\xff')", cwd=ROOT,
                         capture_output=True, timeout=60)
    assert bad.returncode == 2 and bad.stdout == b""
    assert bad.stderr.decode().count("\n") == 1


@pytest.mark.parametrize("text,seconds", [
    ("Action: wait()", 5.0), ("Action: wait(seconds=2)", 2.0), ("Action: wait(seconds='0.5')", 0.5),
    ("Action: wait(2)", 2.0), ("Action: wait(seconds='3s')", 3.0),
])
def test_wait_lengths(text, seconds):
    (action,) = parse_response(text).actions
    assert action.seconds == seconds
    assert parse_response("Action: " + action.to_text()).actions == (action,)


@pytest.mark.parametrize("text", ["Action: wait(seconds=-1)", "Action: wait(seconds=600)",
                                  "Action: wait(seconds='soon')", "Action: wait(seconds=nan)"])
def test_bad_wait_lengths(text):
    with pytest.raises(ParseError):
        parse_response(text)
