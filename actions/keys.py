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
from typing import NamedTuple


class UnknownKeyError(ValueError):
    """A key name that is not in the vocabulary; the message names it."""


MODIFIERS = ("ctrl", "alt", "shift", "win")

class KeyNames(NamedTuple):
    """What one canonical key is called by each layer: ``x11`` the X11 keysym name
    (keysymdef.h / XF86keysym.h) XTest sends; ``pynput`` the ``pynput.keyboard.Key`` member
    (Windows, macOS, and the recorder / hotkey listener everywhere), or None where pynput has
    none; ``aliases`` the other spellings models and people write (lower case)."""

    x11: str
    pynput: str | None
    aliases: tuple[str, ...] = ()


#: THE key table: canonical name -> its names in every layer. Letters, digits and punctuation
#: are not listed: they are their own character (keysym = Latin-1 code point, pynput KeyCode).
#: ``win`` is the Windows / Command / Super key (pynput ``cmd``; ``Super_L`` on X11).
KEY_TABLE: dict[str, KeyNames] = {
    "ctrl": KeyNames("Control_L", "ctrl", ("control", "ctl", "ctrlleft", "ctrlright", "lctrl", "rctrl")),
    "alt": KeyNames("Alt_L", "alt", ("option", "opt", "altleft", "altright", "lalt", "ralt", "alt_l",
                                     "alt_r", "⌥")),
    "shift": KeyNames("Shift_L", "shift", ("shiftleft", "shiftright", "lshift", "rshift", "⇧")),
    "win": KeyNames("Super_L", "cmd", ("cmd", "command", "meta", "super", "windows", "winleft",
                                       "winright", "os", "⌘")),
    "enter": KeyNames("Return", "enter", ("return", "ret", "kp_enter", "\n")),
    "esc": KeyNames("Escape", "esc", ("escape",)),
    "tab": KeyNames("Tab", "tab", ("\t",)),
    "space": KeyNames("space", "space", ("spacebar", " ")),
    "backspace": KeyNames("BackSpace", "backspace", ("back", "bksp", "bs")),
    "delete": KeyNames("Delete", "delete", ("del",)),
    "insert": KeyNames("Insert", "insert", ("ins",)),
    "home": KeyNames("Home", "home"),
    "end": KeyNames("End", "end"),
    "pageup": KeyNames("Prior", "page_up", ("pgup", "page_up", "prior")),
    "pagedown": KeyNames("Next", "page_down", ("pgdn", "page_down", "pgdown", "next")),
    "up": KeyNames("Up", "up", ("arrowup", "uparrow")),
    "down": KeyNames("Down", "down", ("arrowdown", "downarrow")),
    "left": KeyNames("Left", "left", ("arrowleft", "leftarrow")),
    "right": KeyNames("Right", "right", ("arrowright", "rightarrow")),
    "capslock": KeyNames("Caps_Lock", "caps_lock", ("caps", "caps_lock")),
    "numlock": KeyNames("Num_Lock", "num_lock"),
    "scrolllock": KeyNames("Scroll_Lock", "scroll_lock"),
    "printscreen": KeyNames("Print", "print_screen", ("prtsc", "prtscr", "print")),
    "pause": KeyNames("Pause", "pause"),
    "menu": KeyNames("Menu", "menu"),
    "fn": KeyNames("", None),  # inside the keyboard's firmware: never sendable
    "volumeup": KeyNames("XF86AudioRaiseVolume", "media_volume_up"),
    "volumedown": KeyNames("XF86AudioLowerVolume", "media_volume_down"),
    "volumemute": KeyNames("XF86AudioMute", "media_volume_mute"),
    "playpause": KeyNames("XF86AudioPlay", "media_play_pause"),
    # pynput's Key has f1..f20 only
    **{f"f{i}": KeyNames(f"F{i}", f"f{i}" if i <= 20 else None) for i in range(1, 25)},
}

#: spellings of characters (not keys of the table)
_CHAR_ALIASES: dict[str, str] = {
    "plus": "+", "minus": "-", "comma": ",", "period": ".", "slash": "/", "backslash": "\\",
    "semicolon": ";", "quote": "'", "apostrophe": "'", "grave": "`", "backtick": "`",
    "equal": "=", "equals": "=", "bracketleft": "[", "bracketright": "]",
}

#: spelling -> canonical name (lower-case spellings; lookups lower-case their input)
_ALIASES: dict[str, str] = {
    **{alias: name for name, names in KEY_TABLE.items() for alias in names.aliases},
    **_CHAR_ALIASES,
}

_NAMED = set(KEY_TABLE)

#: canonical name -> X11 keysym name (derived from :data:`KEY_TABLE`)
X11_KEYSYMS: dict[str, str] = {name: n.x11 for name, n in KEY_TABLE.items() if n.x11}
#: canonical name -> ``pynput.keyboard.Key`` attribute (derived from :data:`KEY_TABLE`)
PYNPUT_KEYS: dict[str, str] = {name: n.pynput for name, n in KEY_TABLE.items() if n.pynput}
_FROM_PYNPUT: dict[str, str] = {p: name for name, p in PYNPUT_KEYS.items()}


def from_pynput_name(name: str) -> str | None:
    """A ``pynput.keyboard.Key`` member's name -> canonical key, or None for one tars has no
    name for. Left/right variants fold into one key (``ctrl_l``/``ctrl_r`` -> ``ctrl``,
    ``cmd_r`` -> ``win``, ``alt_gr`` -> ``alt``); pynput's ``super`` (Linux) is ``win``."""
    if name in _FROM_PYNPUT:
        return _FROM_PYNPUT[name]
    for suffix in ("_l", "_r", "_gr"):
        if name.endswith(suffix) and name[: -len(suffix)] in _FROM_PYNPUT:
            return _FROM_PYNPUT[name[: -len(suffix)]]
    if name.startswith("super"):
        return "win"
    return None


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
