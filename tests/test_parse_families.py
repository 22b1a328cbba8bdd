"""The dialects of the model families: pyautogui code (safe ``ast`` reader, never eval), bare
points (GTA1, Holo), GUI-Owl's tool calls; and ``tars models``."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tars.actions.coords import CoordSpace
from tars.actions.parse import ParseError, parse_response
from tars.actions.parse.pycall import read_calls
from tars.actions.space import (
    CallUser,
    Click,
    DoubleClick,
    Drag,
    Finished,
    Hotkey,
    KeyDown,
    KeyUp,
    MoveTo,
    Press,
    RightClick,
    Scroll,
    Type,
    Wait,
)

ROOT = Path(__file__).resolve().parents[1]


def _code(code: str) -> str:
    return f"## Thought:\nI act.\n## Action:\nDo it\n## Code:\n```python\n{code}\n```"


@pytest.mark.parametrize("code, actions", [
    ("pyautogui.click(x=960, y=324)", [Click(960, 324)]),
    ("pyautogui.click(960, 324, clicks=2)", [DoubleClick(960, 324)]),
    ("pyautogui.click(x=5, y=6, button='right')", [RightClick(5, 6)]),
    ("pyautogui.click((7, 8))", [Click(7, 8)]),
    ("pyautogui.moveTo(10, 20)\npyautogui.click()", [MoveTo(10, 20), Click(10, 20)]),
    ("pyautogui.moveTo(1, 2)\npyautogui.dragTo(30, 40, duration=0.5)", [MoveTo(1, 2), Drag(1, 2, 30, 40)]),
    ("pyautogui.doubleClick(x=3.5, y=4)", [DoubleClick(3.5, 4)]),
    ("pyautogui.write(message='hello\\n')", [Type("hello\n")]),
    ("pyautogui.typewrite(['a', 'enter'])", [Press("a"), Press("enter")]),
    ("pyautogui.press('enter', presses=2)", [Press("enter"), Press("enter")]),
    ("pyautogui.hotkey('ctrl', 'shift', 't')", [Hotkey(("ctrl", "shift", "t"))]),
    ("pyautogui.keyDown('shift')\npyautogui.keyUp('shift')", [KeyDown("shift"), KeyUp("shift")]),
    ("pyautogui.scroll(-3)", [Scroll(None, None, "down", 3)]),
    ("pyautogui.scroll(5, x=100, y=200)", [Scroll(100, 200, "up", 5)]),
    ("pyautogui.hscroll(2)", [Scroll(None, None, "right", 2)]),
    ("import pyautogui\nimport time\npyautogui.click(1, 2)\ntime.sleep(0.5)", [Click(1, 2), Wait(0.5)]),
    ("computer.wait()", [Wait()]),
    ("computer.terminate(status='success')", [Finished("")]),
    ("computer.terminate(status='failure')", [CallUser("task failed")]),
])
def test_pyautogui_code_becomes_actions(code, actions):
    step = parse_response(_code(code))
    assert list(step.actions) == actions
    assert step.thought == "I act." and step.summary == "Do it"


@pytest.mark.parametrize("code, message", [
    ("import os\nos.system('rm -rf /')", "is not a single function call"),
    ("pyautogui.click(x=__import__('os').getpid(), y=1)", "is not a literal value"),
    ("x = 5\npyautogui.click(x, 1)", "is not a single function call"),
    ("pyautogui.click(x=1+1, y=2)", "is not a literal value"),
    ("for i in range(3): pyautogui.click(1, 2)", "is not a single function call"),
    ("pyautogui.click(*[1, 2])", "*arguments"),
    ("pyautogui.click(1, 2", "not valid Python"),
    ("pyautogui.foo(1)", "unknown call pyautogui.foo()"),
    ("pyautogui.tripleClick(1, 2)", "triple click has no action"),
    ("computer.triple_click(x=1, y=2)", "triple click has no action"),
    ("pyautogui.middleClick(1, 2)", "middle click has no action"),
    ("pyautogui.click()", "pointer position is unknown"),
    ("pyautogui.dragTo(3, 4)", "needs the start"),
    ("pyautogui.hotkey('ctrl', 'nosuchkey')", "nosuchkey"),
    ("pyautogui.click(x=float('nan'), y=1)", "not a literal value"),
    ("computer.terminate(status='maybe')", "status must be"),
])
def test_unreadable_or_unknown_code_is_a_parse_error_naming_the_part(code, message):
    with pytest.raises(ParseError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        parse_response(_code(code))


def test_the_reader_never_runs_the_code(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ParseError):
        read_calls(f"open({str(marker)!r}, 'w').write('x')")
    with pytest.raises(ParseError):
        read_calls(f"pyautogui.write(open({str(marker)!r}, 'w'))")
    assert not marker.exists()


@pytest.mark.parametrize("code, actions", [
    # "\\d" is an invalid escape sequence (DeprecationWarning on 3.11, SyntaxWarning on 3.12+)
    ("pyautogui.write(message='\\w+\\s')", [Type("\\w+\\s")]),
    ("pyautogui.write(message='a\\d')", [Type("a\\d")]),
])
def test_odd_code_parses_with_no_warning(code, actions):
    # every warning Python's compiler would print is recorded here, and none may come out
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert list(parse_response(_code(code)).actions) == actions
        with pytest.raises(ParseError, match="not a literal"):
            read_calls("pyautogui.click(x=1if 1else 2, y=3)")  # "invalid decimal literal"
    assert [str(w.message) for w in caught] == []


def test_odd_code_parses_the_same_when_warnings_are_errors():
    # python -W error: a SyntaxWarning raised as an error must not make valid code unreadable
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_response(_code("pyautogui.write(message='a\\d')")).actions == (Type("a\\d"),)


def test_the_thought_is_the_text_before_the_code_and_never_the_code_itself():
    fenced = parse_response("I will click.\n```python\npyautogui.click(100, 200)\n```")
    assert fenced.thought == "I will click."
    bare = parse_response("pyautogui.click(100, 200)")  # nothing but code: no thought
    assert bare.thought is None and len(bare.actions) == 1


def test_the_last_code_block_is_the_action_as_opencua_reads_it():
    text = "## Action:\nType\n```python\npyautogui.click(1, 1)\n```\nthen\n```python\npyautogui.write('b')\n```"
    assert parse_response(text).actions == (Type("b"),)


@pytest.mark.parametrize("text, point", [
    ("(12,34)", (12, 34)), (" ( 12.5 , 34 ) ", (12.5, 34)),
    ('{"action": "click_absolute", "x": 5, "y": 6}', (5, 6)),
    ('{"x": 500, "y": 250}', (500, 250)),
    ('```json\n{"x": 1, "y": 2}\n```', (1, 2)),
])
def test_bare_points_of_grounding_models(text, point):
    assert parse_response(text).actions == (Click(*point),)


@pytest.mark.parametrize("text, message", [
    ('{"action": "click_absolute", "x": -1, "y": -1}', "no element"),
    ('{"x": 1e999, "y": 2}', "finite"),
    ('{"action": "scroll", "x": 1, "y": 2}', "unknown action"),
])
def test_bad_points_are_parse_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parse_response(text)


def test_gui_owl_answers_with_thinking_conclusion_clear_and_enter():
    text = ('<thinking>The field is empty.</thinking>\n<tool_call>\n{"name": "computer_use", "arguments": '
            '{"action": "type", "text": "hi\\n", "clear": 1, "enter": 0}}\n</tool_call>\n'
            "<conclusion>Typed hi.</conclusion>")
    step = parse_response(text)
    assert step.actions == (Hotkey(("ctrl", "a")), Press("backspace"), Type("hi"), Press("enter"))
    assert step.thought == "The field is empty." and step.summary == "Typed hi."
    drag = ('<tool_call>\n{"name": "computer_use", "arguments": {"action": "drag", "coordinate": [1, 2], '
            '"coordinate2": [3, 4]}}\n</tool_call>\n<conclusion>Dragged.</conclusion>')
    assert parse_response(drag).actions == (Drag(1, 2, 3, 4),)


def test_truncating_spaces_follow_each_reference_order():
    # Qwen3-VL: int(x * (W / 999)); 999 on the grid is the last pixel, not one past it
    q3 = CoordSpace("relative", grid=999.0, truncate="scale")
    assert q3.to_pixels(500, 500, 1920, 1080) == (int(500 * (1920 / 999)), int(500 * (1080 / 999)))
    assert q3.to_pixels(999, 999, 1920, 1080) == (1919, 1079)
    # OpenCUA qwen25: int(x / W' * W)
    oc = CoordSpace("resized", 28, 3136, 12845056, truncate="divide")
    assert oc.to_pixels(966, 546, 1920, 1080) == (int(966 / 1932 * 1920), int(546 / 1092 * 1080))
    with pytest.raises(ValueError, match="unknown truncation"):
        CoordSpace(truncate="ceil")


def test_tars_models_lists_every_profile_with_its_space_and_source():
    proc = subprocess.run([sys.executable, "-m", "tars", "models", "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    for name in ("ui-tars-1.5", "qwen3-vl", "opencua", "gui-owl", "jedi", "gta1", "holo1.5", "holo3"):
        assert name in rows and rows[name]["source"] or rows[name]["description"]
    assert rows["qwen3-vl"]["coordinates"] == "0..999 grid" and rows["qwen3-vl"]["image_budget"]["factor"] == 32
    assert rows["holo3"]["role"] == "grounder" and rows["opencua"]["dialect"].startswith("pyautogui")
    table = subprocess.run([sys.executable, "-m", "tars", "models"], cwd=ROOT, capture_output=True, text=True,
                           timeout=60, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert table.returncode == 0 and "qwen3-vl" in table.stdout and "grounder" in table.stdout


def test_a_grounding_model_as_the_agent_is_refused_in_one_line(tmp_path):
    img = tmp_path / "screen.png"
    from PIL import Image

    Image.new("RGB", (320, 200), (9, 9, 9)).save(img)
    proc = subprocess.run([sys.executable, "-m", "tars", "run", "do it", "--dry-run", "--image", str(img),
                           "--endpoint", "http://127.0.0.1:9/v1", "--model", "Hcompany/Holo3-35B-A3B",
                           "--no-overlay"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "is a grounding model" in proc.stderr and "--planner-endpoint" in proc.stderr
