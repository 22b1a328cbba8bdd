"""Keys drawn as symbols or lone glyphs (issue 17): what people write finds them."""

from __future__ import annotations

import pytest
from test_lite_policy import actions_of, run_policy
from test_lite_verify import draw_calculator

from tars.actions.space import Click
from tars.models.lite.matching import TextBox, find_matches
from tars.models.lite.policy import LitePolicy
from tars.models.lite.symbols import alternatives


@pytest.mark.parametrize("said,drawn", [
    ("square root", "sqrt"), ("square root", "√"), ("times", "×"), ("multiply", "*"),
    ("divide", "÷"), ("plus minus", "±"), ("the squared key", "x²"), ("pi", "π"), ("√", "sqrt"),
])
def test_words_people_write_name_the_symbol_keys(said, drawn):
    assert drawn in alternatives(said)


def test_a_word_that_names_no_key_has_no_alternatives():
    assert alternatives("Clear history") == ["Clear history"]


def test_a_symbol_target_matches_only_the_same_symbol_alone():
    lines = [TextBox("+", (0, 0, 10, 10)), TextBox("+/-", (20, 0, 40, 10)), TextBox("a+b", (50, 0, 80, 10))]
    assert [m.line.text for m in find_matches("+", lines)] == ["+"]


@pytest.mark.parametrize("instruction,key_x", [
    ("click 7", 20), ("click divide", 20 + 72 * 3), ("click square root", 20 + 72 * 4), ("click 9", 20 + 72 * 2),
])
def test_lone_glyph_keys_are_found(instruction, key_x):
    # the detector reports no line for a lone digit on a key; the recogniser reads the key's cut
    (answer,) = run_policy(LitePolicy(), instruction, [draw_calculator("0")])
    (click,) = actions_of(answer)
    assert isinstance(click, Click) and key_x < click.x < key_x + 60 and 120 < click.y < 160
