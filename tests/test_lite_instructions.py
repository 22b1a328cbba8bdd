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


# how people write steps (issue 17)
CASES += [
    ("tick Milk and Eggs and press OK", [("check", "Milk and Eggs", 1, None, None, ()),
                                         ("click", "OK", 1, None, None, ())]),
    ("hit the Send button", [("click", "Send", 1, "button", None, ())]),
    ("press OK", [("click", "OK", 1, None, None, ())]),
    ("press Enter", [("press", None, None, None, None, ("enter",))]),
    ("set Age to 85 and press OK", [("set", "Age", 1, None, "85", ()), ("click", "OK", 1, None, None, ())]),
    ("Name: Grace, Quantity: 3, then place the order",
     [("set", "Name", 1, None, "Grace", ()), ("set", "Quantity", 1, None, "3", ()),
      ("click", "place order", 1, "button", None, ())]),
    ("change the Country to France", [("set", "Country", 1, None, "France", ())]),
    ("set Newsletter to off", [("uncheck", "Newsletter", 1, None, None, ())]),
    ("turn on Dark mode", [("check", "Dark mode", 1, None, None, ())]),
    ("agree to the terms", [("check", "agree to the terms", 1, None, None, ())]),
    ("type Ada into the name field and check Mushrooms",
     [("type", "name", 1, "field", "Ada", ()), ("check", "Mushrooms", 1, None, None, ())]),
    ("press 8 and 1", [("press", None, None, None, None, ("8", "1"))]),
    ('write "hi" and save the file', [("type", None, None, None, "hi", ()),
                                      ("hotkey", None, None, None, None, ("ctrl", "s"))]),
    ("open the Replace dialog with ctrl+r", [("hotkey", None, None, None, None, ("ctrl", "r"))]),
    ("set the start date to 2026-12-25 and confirm with OK",
     [("set", "start date", 1, None, "2026-12-25", ()), ("click", "OK", 1, None, None, ())]),
    ("open File > Save As", [("click", "File", 1, None, None, ()), ("click", "Save As", 1, None, None, ())]),
    ("choose Large", [("click", "Large", 1, None, None, ())]),
    ("click the Volume slider", [("click", "Volume", 1, "slider", None, ())]),
    ("compute 7 + 5", [("compute", None, None, None, "7+5", ("enter",))]),
    ("multiply 12 by 3", [("compute", None, None, None, "12*3", ("enter",))]),
    ("calculate the square root of 81", [("compute", "square root", 1, None, "81", ())]),
    ('click the text "Full name:"', [("click", "Full name:", 1, "text", None, ())]),
    ('click the list item "Buy milk"', [("click", "Buy milk", 1, "button", None, ())]),
    ('click the second button labelled "OK"', [("click", "OK", 2, "button", None, ())]),
    ("click Find and Replace then click Save and Close",
     [("click", "Find and Replace", 1, None, None, ()), ("click", "Save and Close", 1, None, None, ())]),
    ("check I agree to the terms and conditions",
     [("check", "I agree to the terms and conditions", 1, None, None, ())]),
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


def test_check_of_several_captions_keeps_the_whole_phrase_and_its_parts():
    (tick,) = parse_instruction("tick Milk, Bread and Eggs")
    assert tick.target.text == "Milk, Bread and Eggs"
    assert [p.text for p in tick.parts] == ["Milk", "Bread", "Eggs"]


def test_a_calculation_knows_the_result_to_check():
    (calc,) = parse_instruction("calculate the square root of 81")
    assert calc.expect == "9"
    (calc,) = parse_instruction("divide 10 by 4")
    assert (calc.text, calc.expect) == ("10/4", "2.5")


def test_a_step_not_understood_names_its_words_and_suggests_a_form():
    with pytest.raises(InstructionError) as info:
        parse_instruction("click OK, then Register Ada Lovelace from France")
    assert "'Register'" in str(info.value) and "set X to VALUE" in str(info.value)
