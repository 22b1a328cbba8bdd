"""Canonical key names (:mod:`tars.actions.keys`) -> what each platform's input layer sends.

Three input layers use these tables:

* X11 (Linux): XTest key events need a *keysym* name (``Control_L``, ``Prior``...), looked up
  in the server's keymap by :mod:`tars.desktop.x11_input`; names from X11's ``keysymdef.h``.
* Windows and macOS: pynput's ``Key`` members (``Key.ctrl``, ``Key.cmd``...), see
  :mod:`tars.desktop.pynput_input`.

Hotkey rules that depend on the platform live here too: ``ctrl`` -> Cmd on macOS for the common
shortcuts, and the combinations a platform refuses to accept from software.
"""

from __future__ import annotations

import string
import sys

# The per-layer names (X11 keysyms, pynput Key members) come from the one key table,
# :data:`tars.actions.keys.KEY_TABLE`; re-exported here for the input backends.
from tars.actions.keys import PYNPUT_KEYS, X11_KEYSYMS  # noqa: E402,F401

#: Keys no platform lets software send: ``fn`` is handled inside the keyboard's firmware.
NEVER_SENDABLE = frozenset({"fn"})

#: The letters whose ``ctrl`` shortcut is a ``cmd`` shortcut on macOS (copy, paste, cut, undo,
#: redo, select all, save, find, new, open, print, quit, new tab, close, reload, address bar).
#: ``ctrl+c`` in a macOS terminal (interrupt) is the reason this is a list and can be switched off.
MAC_CMD_LETTERS = frozenset("acvxzysfnopqtwrl")

#: Combinations Windows reserves for the secure attention sequence or the lock screen: SendInput
#: cannot trigger them (Microsoft docs, "Secure attention sequence"), so they are refused instead
#: of silently doing nothing.
WINDOWS_REFUSED = (frozenset({"ctrl", "alt", "delete"}), frozenset({"win", "l"}))


def current_platform() -> str:
    """``"linux"``, ``"windows"`` or ``"darwin"`` (other Unixes count as linux: X11)."""
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "darwin"
    return "linux"


def is_char_key(key: str) -> bool:
    """True for a canonical key that is one printable character (``a``, ``7``, ``+``)."""
    return len(key) == 1 and key in string.printable and not key.isspace()


def platform_hotkey(keys: tuple[str, ...], platform: str, ctrl_is_cmd_on_mac: bool = True,
                    ) -> tuple[str, ...]:
    """Canonical hotkey -> the canonical keys to press on ``platform``.

    On ``darwin`` with ``ctrl_is_cmd_on_mac``, ``ctrl`` becomes ``win`` (Command) when the
    combination is a common shortcut: ``ctrl`` (and optionally ``shift``) plus one letter of
    :data:`MAC_CMD_LETTERS`, e.g. ``ctrl c`` -> ``cmd c``, ``ctrl shift z`` -> ``cmd shift z``.
    Anything else is kept (``ctrl a`` in a terminal stays Ctrl when switched off).

    Raises:
        UnsupportedActionError: a key the platform cannot send from software (:data:`NEVER_SENDABLE`,
            Windows' :data:`WINDOWS_REFUSED`).
    """
    from tars.desktop.operator import UnsupportedActionError

    for key in keys:
        if key in NEVER_SENDABLE:
            raise UnsupportedActionError(f"the {key!r} key cannot be sent by software on any platform")
    if platform == "windows" and frozenset(keys) in WINDOWS_REFUSED:
        raise UnsupportedActionError(
            f"Windows does not accept {'+'.join(keys)} from software (reserved by the system)"
        )
    if platform == "darwin" and ctrl_is_cmd_on_mac and "ctrl" in keys:
        rest = [k for k in keys if k not in ("ctrl", "shift")]
        if len(rest) == 1 and rest[0] in MAC_CMD_LETTERS:
            return tuple("win" if k == "ctrl" else k for k in keys)
    return tuple(keys)


def paste_keys(platform: str) -> tuple[str, ...]:
    """The paste shortcut, in canonical keys: Cmd+V on macOS, Ctrl+V elsewhere."""
    return ("win", "v") if platform == "darwin" else ("ctrl", "v")
