"""lite's instruction language: table of instructions -> commands, and clear errors."""

from __future__ import annotations

import pytest

from tars.models.base import PolicyError
from tars.models.lite.instructions import InstructionError, parse_instruction, split_steps

# instruction -> [(verb, target text, ordinal, role, text, keys)]
CASES = [
    ("click Submit", [("click", "Submit", 1, None, None, ())]),
    ("click the Save button", [("click", "Save", 1, "button", None, ())]),
    ('click on "Don\'t save"', [("click", "Don't save", 1, None, None, ())]),
    ("double-click My file", [("double_click", "My file", 1, None, None, ())]),
    ("right click the second Delete button", [("right_click", "Delete", 2, "button", None, ())]),
    ("click the last Delete", [("click", "Delete", -1, None, None, ())]),
    ('type "hello"', [("type", None, None, None, "hello", ())]),
    ('type "Ada" into Full name', [("type", "Full name", 1, None, "Ada", ())]),
    ('type "Ada" into the Full name field', [("type", "Full name", 1, "field", "Ada", ())]),
    ('enter "a@b.org" in Email', [("type", "Email", 1, None, "a@b.org", ())]),
    ("press enter", [("press", None, None, None, None, ("enter",))]),
    ("press ctrl+s", [("hotkey", None, None, None, None, ("ctrl", "s"))]),
    ("hotkey ctrl shift t", [("hotkey", None, None, None, None, ("ctrl", "shift", "t"))]),
    ("scroll down", [("scroll", None, None, None, None, ())]),
    ("scroll up in Notes", [("scroll", "Notes", 1, None, None, ())]),
    ("wait 2 seconds", [("wait", None, None, None, None, ())]),
    ("check I agree to the terms", [("check", "I agree to the terms", 1, None, None, ())]),
    ('uncheck the "Send me the newsletter" checkbox',
     [("uncheck", "Send me the newsletter", 1, "checkbox", None, ())]),
    ('select "France" from Country', [("select", "Country", 1, None, "France", ())]),
    ("select Dark from the Theme dropdown", [("select", "Theme", 1, "dropdown", "Dark", ())]),
    # joiners: then / ; / , then / and then / new lines; never inside quotes
    ('click File then click Save; type "a; then b" into Name, then press enter and then click OK\nclick Close',
     [("click", "File", 1, None, None, ()), ("click", "Save", 1, None, None, ()),
      ("type", "Name", 1, None, "a; then b", ()), ("press", None, None, None, None, ("enter",)),
      ("click", "OK", 1, None, None, ()), ("click", "Close", 1, None, None, ())]),
]


@pytest.mark.parametrize("text,expected", CASES, ids=[c[0][:40] for c in CASES])
def test_instruction_table(text, expected):
    commands = parse_instruction(text)
    got = []
    for c in commands:
        t = c.target
        got.append((c.verb, t.text if t else None, t.ordinal if t else None, t.role if t else None,
                    c.text, c.keys))
    assert got == expected


def test_drag_and_wait_fields():
    drag, wait = parse_instruction("drag Buy milk to Water the plants. wait 2 seconds")
    assert (drag.verb, drag.target.text, drag.dest.text) == ("drag", "Buy milk", "Water the plants")
    assert (wait.verb, wait.seconds) == ("wait", 2.0)
    (scroll,) = parse_instruction("scroll up in Notes")
    assert scroll.direction == "up"


def test_split_keeps_quotes_whole():
    assert split_steps('type "x then y; z" then click OK') == ['type "x then y; z"', "click OK"]


@pytest.mark.parametrize("bad,words", [
    ("", "empty"),
    ("   \n ", "empty"),
    ("fly to the moon", "fly to the moon"),
    ("click Submit then dance wildly", "dance wildly"),
    ("press hyperkey", "hyperkey"),
    ("click the", "no target"),
])
def test_bad_instructions_raise_clear_errors(bad, words):
    with pytest.raises(InstructionError) as info:
        parse_instruction(bad)
    assert words in str(info.value)
    assert isinstance(info.value, PolicyError)  # tars run reports it as bad input (exit 2)
