"""The emergency stop: a global hotkey (default Ctrl+Alt+Esc) that stops a run at once.

A pynput keyboard listener (X11: the RECORD extension; Windows: a low-level hook; macOS: an
event tap, which needs the Accessibility permission) watches every key press on the desktop.
When the combination is complete it calls its trigger function from the listener thread; the
operator's trigger sets ``stop_event``, releases every key and button tars holds, and calls the
callbacks registered with ``on_emergency_stop``. Long actions (typing, drags, waits) check
``stop_event`` between small steps, so a run stops within a few milliseconds of the key press
(the 200 ms budget is mostly left for the listener).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from tars.actions.keys import MODIFIERS, split_keys


def parse_combo(combo: str) -> tuple[frozenset[str], str]:
    """``"ctrl+alt+esc"`` -> (frozenset of canonical modifiers, the canonical trigger key).

    Raises:
        UnknownKeyError: an unknown key name.
        ValueError: no non-modifier key, or more than one.
    """
    keys = split_keys(combo)
    mods = frozenset(k for k in keys if k in MODIFIERS)
    rest = [k for k in keys if k not in MODIFIERS]
    if len(rest) != 1:
        raise ValueError(f"an emergency hotkey needs exactly one non-modifier key, got {combo!r}")
    return mods, rest[0]


def _canonical(key) -> str | None:
    """pynput key -> canonical name (modifiers folded: ctrl_l/ctrl_r -> ctrl), or None."""
    name = getattr(key, "name", None)
    if name is not None:  # pynput.keyboard.Key member: named by the one key table
        from tars.actions.keys import from_pynput_name

        return from_pynput_name(name)
    char = getattr(key, "char", None)
    if char:
        return char.lower()
    return None


class EmergencyHotkey:
    """Listens for ``combo`` on the whole desktop and calls ``trigger()`` when it is pressed.

    ``start()`` begins listening (a daemon thread); ``stop()`` ends it. The trigger runs in the
    listener thread, so it must be quick and thread-safe.

    Raises (from :meth:`start`): ``OperatorError`` when the listener cannot start.
    """

    def __init__(self, combo: str, trigger: Callable[[], None]):
        self.combo = combo
        self.modifiers, self.key = parse_combo(combo)
        self._trigger = trigger
        self._down: set[str] = set()
        self._listener: Any = None
        self._lock = threading.Lock()

    def _on_press(self, key, injected: bool = False) -> None:
        name = _canonical(key)
        if name is None:
            return
        with self._lock:
            self._down.add(name)
            fire = name == self.key and self.modifiers <= self._down
        if fire:
            self._trigger()

    def _on_release(self, key, injected: bool = False) -> None:
        name = _canonical(key)
        with self._lock:
            self._down.discard(name)

    def start(self) -> "EmergencyHotkey":
        from tars.desktop.operator import OperatorError

        try:
            from pynput import keyboard

            self._listener = keyboard.Listener(on_press=self._on_press,
                                               on_release=self._on_release)
            self._listener.daemon = True
            self._listener.start()
            self._listener.wait()  # returns once the listener is ready to receive events
        except Exception as exc:
            raise OperatorError(
                f"cannot listen for the emergency hotkey {self.combo!r}: {exc} "
                "(pass estop_hotkey=None to run without it)"
            ) from exc
        return self

    @property
    def running(self) -> bool:
        return self._listener is not None and self._listener.running

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
            # pynput's X11 listener disables its RECORD context over the very connection that
            # is blocked waiting for events, so it only ends at the next key press (and dies
            # noisily if the display goes first). Disabling it over its other connection ends
            # it at once.
            other, context = getattr(listener, "_display_stop", None), getattr(listener, "_context", None)
            if other is not None and context is not None:
                try:
                    other.record_disable_context(context)
                    other.flush()
                except Exception:
                    pass
            listener.join(timeout=2.0)  # its X connections close before the display may go
