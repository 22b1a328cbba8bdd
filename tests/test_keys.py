"""Key vocabulary: every spelling from issue 2 -> one canonical name; unknown keys are errors."""

from __future__ import annotations

import string

import pytest

from tars.actions.keys import CANONICAL_KEYS, UnknownKeyError, normalize_key, split_keys

SPELLINGS = [
    ("ctrl", "ctrl"), ("Ctrl", "ctrl"), ("CONTROL", "ctrl"),
    ("cmd", "win"), ("command", "win"), ("win", "win"), ("meta", "win"), ("super", "win"),
    ("Cmd", "win"),
    ("alt", "alt"), ("option", "alt"), ("Option", "alt"),
    ("shift", "shift"), ("Shift", "shift"),
    ("enter", "enter"), ("return", "enter"), ("Enter", "enter"), ("RETURN", "enter"),
    ("esc", "esc"), ("escape", "esc"), ("Escape", "esc"),
    ("arrowleft", "left"), ("left", "left"), ("ArrowLeft", "left"), ("arrowright", "right"),
    ("arrowup", "up"), ("arrowdown", "down"), ("ArrowDown", "down"),
    ("pagedown", "pagedown"), ("pgdn", "pagedown"), ("PageDown", "pagedown"),
    ("pageup", "pageup"), ("pgup", "pageup"),
    ("backspace", "backspace"), ("Backspace", "backspace"),
    ("delete", "delete"), ("del", "delete"),
    ("space", "space"), ("Space", "space"), ("tab", "tab"), ("Tab", "tab"),
    ("home", "home"), ("end", "end"), ("End", "end"),
    ("F5", "f5"), ("f12", "f12"),
    ("A", "a"), ("z", "z"), ("0", "0"), ("9", "9"),
    (",", ","), (".", "."), ("/", "/"), (";", ";"), ("'", "'"), ("[", "["), ("-", "-"),
    ("=", "="), ("`", "`"), ("\\", "\\"), ("plus", "+"), ("minus", "-"),
]


@pytest.mark.parametrize("spelling,canonical", SPELLINGS)
def test_normalize_key(spelling, canonical):
    assert normalize_key(spelling) == canonical
    assert canonical in CANONICAL_KEYS


@pytest.mark.parametrize("n", range(1, 13))
def test_function_keys(n):
    assert normalize_key(f"F{n}") == f"f{n}"


@pytest.mark.parametrize("ch", string.ascii_letters + string.digits + string.punctuation)
def test_every_letter_digit_punctuation(ch):
    assert normalize_key(ch) == ch.lower()


COMBOS = [
    ("ctrl c", ("ctrl", "c")),
    ("Ctrl+C", ("ctrl", "c")),
    ("Ctrl + C", ("ctrl", "c")),
    ("Ctrl+Shift+T", ("ctrl", "shift", "t")),
    ("ctrl shift t", ("ctrl", "shift", "t")),
    ("CMD+option+Esc", ("win", "alt", "esc")),
    ("  alt   tab ", ("alt", "tab")),
    ("ctrl+alt+delete", ("ctrl", "alt", "delete")),
    ("+", ("+",)),
    ("ctrl++", ("ctrl", "+")),
    ("ctrl + +", ("ctrl", "+")),
    ("ctrl+", ("ctrl", "+")),
    ("ctrl+plus", ("ctrl", "+")),
    ("ctrl -", ("ctrl", "-")),
    ("shift space", ("shift", "space")),
]


@pytest.mark.parametrize("combo,expected", COMBOS)
def test_split_keys(combo, expected):
    assert split_keys(combo) == expected


@pytest.mark.parametrize("bad", ["foo", "ctrlc", "f25x", "ctrl-c", "hyper", "ключ"])
def test_unknown_key_is_an_error_naming_it(bad):
    with pytest.raises(UnknownKeyError, match="unknown key"):
        normalize_key(bad)


@pytest.mark.parametrize("combo,named", [("ctrl foo", "foo"), ("Ctrl+Shift+Q1", "Q1")])
def test_unknown_key_in_combo_never_dropped(combo, named):
    with pytest.raises(UnknownKeyError) as info:
        split_keys(combo)
    assert repr(named) in str(info.value)


@pytest.mark.parametrize("empty", ["", "   ", "\t"])
def test_empty_combo(empty):
    with pytest.raises(UnknownKeyError):
        split_keys(empty)


def test_unknown_key_error_is_value_error():
    assert issubclass(UnknownKeyError, ValueError)


def test_one_key_table_names_every_key_in_every_layer():
    """X11 keysyms, pynput names and aliases all come from KEY_TABLE (one table, not three)."""
    from tars.actions.keys import KEY_TABLE, PYNPUT_KEYS, X11_KEYSYMS, from_pynput_name
    from tars.desktop import platform_keys

    assert platform_keys.X11_KEYSYMS is X11_KEYSYMS and platform_keys.PYNPUT_KEYS is PYNPUT_KEYS
    for name, names in KEY_TABLE.items():
        assert normalize_key(name) == name
        for alias in names.aliases:
            assert normalize_key(alias) == name, alias
        if name != "fn":  # the one key no software can send
            assert X11_KEYSYMS[name] == names.x11
    for name, member in PYNPUT_KEYS.items():
        assert from_pynput_name(member) == name
    # left/right variants fold; unknown members are None, not a guess
    assert [from_pynput_name(n) for n in ("ctrl_r", "alt_gr", "cmd_l", "shift_r", "super")] == \
        ["ctrl", "alt", "win", "shift", "win"]
    assert from_pynput_name("media_next") is None


def test_the_key_table_matches_the_real_keysym_and_pynput_names():
    """Every keysym name is one python-xlib knows."""
    from tars.actions.keys import X11_KEYSYMS

    xk = pytest.importorskip("Xlib.XK")
    for name, keysym in X11_KEYSYMS.items():
        if keysym.startswith("XF86"):
            continue  # XF86 keysyms live in XF86keysym.h, which python-xlib loads separately
        assert xk.string_to_keysym(keysym) != 0, (name, keysym)


@pytest.mark.display
@pytest.mark.needs("pynput")
def test_every_pynput_name_is_a_member_of_pynputs_key(virtual_display):
    """pynput binds to the display at import: checked in a child on a virtual display."""
    import json
    import subprocess
    import sys

    from tars.actions.keys import PYNPUT_KEYS

    virtual_display(320, 240, wm=False)
    code = ("import json, sys; from pynput.keyboard import Key; "
            "print(json.dumps([m for m in json.loads(sys.argv[1]) if not hasattr(Key, m)]))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(sorted(PYNPUT_KEYS.values()))],
                         capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == []
