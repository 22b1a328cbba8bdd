"""Key names: the vocabulary models write, normalised to one canonical set.

Models write keys in many spellings (``Ctrl``, ``control``, ``cmd``, ``ArrowDown``, ``pgdn``,
``Return``...). :func:`normalize_key` maps each to one canonical name, the names pyautogui
uses on Linux and Windows; :func:`split_keys` splits a combination written with spaces or
``+``. An unknown key raises :class:`UnknownKeyError`, never silently dropped, because a
hotkey that loses a key does something else entirely (``ctrl shift t`` without ``shift``).

The canonical modifier for the Windows / Command / Super key is ``win``; operators map it to
each platform's key (``command`` on macOS, ``super`` on X11).
"""

from __future__ import annotations

import re
import string


class UnknownKeyError(ValueError):
    """A key name that is not in the vocabulary; the message names it."""


MODIFIERS = ("ctrl", "alt", "shift", "win")

#: spelling -> canonical name (lower-case spellings; lookups lower-case their input)
_ALIASES: dict[str, str] = {
    "control": "ctrl", "ctl": "ctrl", "ctrlleft": "ctrl", "ctrlright": "ctrl",
    "lctrl": "ctrl", "rctrl": "ctrl",
    "cmd": "win", "command": "win", "meta": "win", "super": "win", "windows": "win",
    "winleft": "win", "winright": "win", "os": "win", "⌘": "win",
    "option": "alt", "opt": "alt", "altleft": "alt", "altright": "alt", "lalt": "alt",
    "ralt": "alt", "alt_l": "alt", "alt_r": "alt", "⌥": "alt",
    "shiftleft": "shift", "shiftright": "shift", "lshift": "shift", "rshift": "shift", "⇧": "shift",
    "return": "enter", "ret": "enter", "kp_enter": "enter", "\n": "enter",
    "escape": "esc",
    "arrowleft": "left", "arrowright": "right", "arrowup": "up", "arrowdown": "down",
    "leftarrow": "left", "rightarrow": "right", "uparrow": "up", "downarrow": "down",
    "pgdn": "pagedown", "page_down": "pagedown", "pgdown": "pagedown", "next": "pagedown",
    "pgup": "pageup", "page_up": "pageup", "prior": "pageup",
    "del": "delete", "back": "backspace", "bksp": "backspace", "bs": "backspace",
    "spacebar": "space", " ": "space",
    "ins": "insert", "caps": "capslock", "caps_lock": "capslock",
    "prtsc": "printscreen", "prtscr": "printscreen", "print": "printscreen",
    "plus": "+", "minus": "-", "comma": ",", "period": ".", "slash": "/", "backslash": "\\",
    "semicolon": ";", "quote": "'", "apostrophe": "'", "grave": "`", "backtick": "`",
    "equal": "=", "equals": "=", "bracketleft": "[", "bracketright": "]",
    "\t": "tab",
}

_NAMED = {
    "ctrl", "alt", "shift", "win", "enter", "esc", "tab", "space", "backspace", "delete",
    "insert", "home", "end", "pageup", "pagedown", "up", "down", "left", "right", "capslock",
    "numlock", "scrolllock", "printscreen", "pause", "menu", "fn",
    "volumeup", "volumedown", "volumemute", "playpause",
    *(f"f{i}" for i in range(1, 25)),
}

#: the whole canonical vocabulary
CANONICAL_KEYS: frozenset[str] = frozenset(
    _NAMED | set(string.ascii_lowercase) | set(string.digits) | set(string.punctuation)
)


def normalize_key(name: str) -> str:
    """One key name in any known spelling and case -> its canonical name.

    Letters are lower-cased (``A`` -> ``a``): a hotkey names a key, not a character; use
    ``shift`` for capitals. Raises :class:`UnknownKeyError` for a name outside the vocabulary.
    """
    raw = name
    if len(name) != 1:
        name = name.strip()
    if not name:
        raise UnknownKeyError("empty key name")
    key = name.lower()
    key = _ALIASES.get(key, key)
    if key in CANONICAL_KEYS:
        return key
    raise UnknownKeyError(f"unknown key {raw!r}")


def split_keys(combo: str) -> tuple[str, ...]:
    """A combination as models write it -> canonical key names, in order.

    Keys are separated by spaces and/or ``+`` (``'ctrl c'``, ``'Ctrl+Shift+T'``,
    ``'Ctrl + C'``). A ``+`` where a key is expected is the plus key itself: ``'+'``,
    ``'ctrl++'``, ``'ctrl + +'`` and a trailing ``'ctrl+'`` all mean ctrl and plus.
    Raises :class:`UnknownKeyError` for an unknown key or an empty combination.
    """
    text = combo.strip()
    if not text:
        raise UnknownKeyError("empty key combination")
    parts: list[str] = []
    expect_key = True  # at the start, and after a separating "+"
    for item in re.findall(r"\+|[^\s+]+", text):
        if item == "+" and not expect_key:
            expect_key = True  # a separator
            continue
        parts.append(item)
        expect_key = False
    if expect_key:  # ended on a separator: "ctrl+" names the plus key
        parts.append("+")
    return tuple(normalize_key(p) for p in parts)
