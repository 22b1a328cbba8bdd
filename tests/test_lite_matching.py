"""Tolerant matching of targets against OCR lines."""

from __future__ import annotations

import pytest

from tars.models.lite.matching import TextBox, find_matches, normalize, pick

LINES = [
    TextBox("FileEdit", (46, 58, 114, 81)),          # menu words OCR ran together
    TextBox(" Full name:", (48, 77, 118, 97)),
    TextBox("Createyour account", (50, 51, 238, 71)),  # a space lost
    TextBox("Subrnit", (314, 305, 367, 328)),          # rn read for m
    TextBox("Save note", (10, 10, 100, 30)),
    TextBox("Save", (600, 400, 640, 420)),
    TextBox("Café crème", (10, 500, 100, 520)),
    TextBox("Unsaved changes", (10, 600, 140, 620)),
    TextBox("Canccl", (10, 700, 40, 720)),  # one misread letter in a short word
]


def test_normalize_folds_case_accents_punctuation():
    assert normalize("  Café, s'il-vous-PLAÎT!  ") == "cafe s il vous plait"


@pytest.mark.parametrize("target,line", [
    ("full name", " Full name:"),
    ("Full Name:", " Full name:"),
    ("create your account", "Createyour account"),
    ("Submit", "Subrnit"),
    ("Sumbit", "Subrnit"),
    ("Cancel", "Canccl"),  # the user's typo and OCR's error together
    ("cafe creme", "Café crème"),
    ("Edit", "FileEdit"),
    ("File", "FileEdit"),
    ("Changes", "Unsaved changes"),
])
def test_tolerant_matches(target, line):
    best = pick(target, LINES)
    assert best is not None and best.line.text == line


def test_part_of_a_line_gets_its_own_box():
    m = pick("Edit", LINES)
    assert 75 <= m.center[0] <= 114  # the right half of "FileEdit", not the middle
    m = pick("note", LINES)
    assert m.box[0] > 10 and not m.whole


def test_exact_line_beats_part_of_a_longer_line():
    assert pick("Save", LINES).line.text == "Save"


def test_misread_mnemonic_still_found_in_a_run_together_menu():
    menu = [TextBox("EileEdit", (46, 58, 114, 81))]  # "File" with its underlined F
    m = pick("File", menu)
    assert m is not None and m.center[0] < 80
    assert pick("Edit", menu).center[0] > 80


@pytest.mark.parametrize("target", ["Delete", "Fil", "ok", "Add"])
def test_no_false_matches(target):
    assert find_matches(target, LINES) == []


def test_ordinals_count_in_reading_order():
    lines = [TextBox("Delete", (300, 200, 350, 220)), TextBox("Delete", (300, 100, 350, 120)),
             TextBox("Deleted items", (10, 10, 90, 30))]
    assert pick("Delete", lines, 1).box[1] == 100
    assert pick("Delete", lines, 2).box[1] == 200
    assert pick("Delete", lines, -1).box[1] == 200
    assert pick("Delete", lines, 3) is None


@pytest.mark.parametrize("target,fragment", [
    ("Submit order", "R"), ("Replace all", "R"), ("Clear history", "e"), ("Print preview", "Pr"),
    ("Replace all", "Repl"), ("Send", "S"),
])
def test_a_short_ocr_fragment_is_never_a_longer_target(target, fragment):
    # issue 17: an icon read as "R" or a calculator key "e" was clicked for these targets
    assert find_matches(target, [TextBox(fragment, (0, 0, 12, 12))]) == []


def test_a_target_inside_a_longer_run_together_line_still_matches():
    best = pick("Replace all", [TextBox("FindReplace allClose", (0, 0, 200, 20))])
    assert best is not None and not best.whole
