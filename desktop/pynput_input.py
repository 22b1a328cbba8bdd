"""Mouse and keyboard on Windows and macOS through pynput (SendInput / Quartz events).

Same interface as :class:`tars.desktop.x11_input.X11Input`. pynput is used instead of pyautogui on
these platforms because pyautogui's horizontal scroll does nothing on Windows and has its sign
reversed on macOS, and because pynput types any Unicode character directly (Windows
``KEYEVENTF_UNICODE``, macOS ``CGEventKeyboardSetUnicodeString``), so no clipboard is needed
there. The test suite exercises it on X11 (``LocalOperator(input_backend="pynput")``), where
pynput drives XTest for the mouse and XSendEvent for keys; the Windows and macOS specifics
(Unicode input, the macOS horizontal sign) are untested here.

Hands off while the user holds a key: on X11 the same gate as the XTest backend
(:class:`tars.desktop.key_gate.KeyGate`) runs on each pynput controller's own connection
before every key press, character, button press and wheel notch. On Windows and macOS there
is no such gate yet.
"""

from __future__ import annotations

import sys
import threading
import time

from tars.desktop.operator import UnsupportedActionError
from tars.desktop.platform_keys import PYNPUT_KEYS, is_char_key


class PynputInput:
    """pynput controllers for the desktop this process runs on; ``gap``: seconds after each
    pointer event; ``hold_timeout``: most seconds input waits for keys someone else holds (X11;
    then :class:`~tars.desktop.operator.OperatorError`)."""

    def __init__(self, gap: float = 0.008, hold_timeout: float = 10.0):
        from pynput import keyboard, mouse

        #: set to end a wait in progress (the operator shares its own event)
        self.stop_event = threading.Event()
        #: seconds after each pointer event, as in X11Input: clients that read input in batches
        #: (Qt on X11) otherwise report a release at the next pointer position
        self.gap = gap
        self._kb_mod, self._mouse_mod = keyboard, mouse
        self._kb = keyboard.Controller()
        self._mouse = mouse.Controller()
        self._lock = threading.RLock()
        self._held_keys: dict[str, object] = {}
        self._held_buttons: set[str] = set()
        #: keycodes of the keys tars holds through XTest (pynput sends keys with a keysym that
        #: way; characters go by XSendEvent and never show in the server's key map)
        self._held_codes: dict[str, int] = {}
        #: X11: the held-key gate on the keyboard's and on the mouse's connection (None elsewhere)
        self._kb_gate = self._gate_on(self._kb, hold_timeout)
        self._mouse_gate = self._gate_on(self._mouse, hold_timeout)

    def _gate_on(self, controller, hold_timeout: float):
        display = controller.__dict__.get("_display")  # pynput's X11 controllers: python-xlib
        if display is None or not hasattr(display, "query_keymap"):
            return None
        from tars.desktop.key_gate import KeyGate

        return KeyGate(display, self._lock, lambda: self._held_codes.values(), hold_timeout)

    def _gated(self, gate):
        """The gate's context on X11; elsewhere just the input lock."""
        return gate.gated(self.stop_event) if gate is not None else self._lock

    def _keycode_of(self, k) -> int | None:
        """The keycode pynput's X11 controller presses through XTest for ``k``, or None."""
        code = getattr(k, "value", k)  # a Key member stands for its KeyCode
        vk = getattr(code, "vk", None)
        if self._kb_gate is None or vk is None:
            return None
        return self._kb_gate.display.keysym_to_keycode(vk) or None

    def _key(self, key: str):
        if key in PYNPUT_KEYS:
            k = getattr(self._kb_mod.Key, PYNPUT_KEYS[key], None)
            if k is None:
                raise UnsupportedActionError(f"the key {key!r} cannot be sent on {sys.platform}")
            return k
        if is_char_key(key):
            return self._kb_mod.KeyCode.from_char(key)
        raise UnsupportedActionError(f"the key {key!r} cannot be sent on {sys.platform}")

    def position(self) -> tuple[int, int]:
        with self._lock:
            x, y = self._mouse.position
        return int(x), int(y)

    def move(self, x: int, y: int) -> None:
        with self._lock:
            self._mouse.position = (int(x), int(y))
        time.sleep(self.gap)

    def button(self, name: str, down: bool) -> None:
        b = getattr(self._mouse_mod.Button, name)
        with (self._gated(self._mouse_gate) if down else self._lock):
            (self._mouse.press if down else self._mouse.release)(b)
            (self._held_buttons.add if down else self._held_buttons.discard)(name)
        time.sleep(self.gap)

    def scroll(self, direction: str, notches: int) -> None:
        # pynput: dy > 0 scrolls up; dx > 0 scrolls right on Windows (MOUSEEVENTF_HWHEEL).
        # On macOS Quartz's horizontal wheel axis counts positive to the left, so dx is negated
        # there (the sign bug pyautogui.hscroll has on macOS).
        dx = {"left": -1, "right": 1}.get(direction, 0) * notches
        dy = {"up": 1, "down": -1}.get(direction, 0) * notches
        if sys.platform == "darwin":
            dx = -dx
        for _ in range(notches):  # one event per notch, as a real wheel sends them
            with self._gated(self._mouse_gate):
                self._mouse.scroll(dx // notches if dx else 0, dy // notches if dy else 0)
            time.sleep(self.gap)

    def key_down(self, key: str) -> None:
        k = self._key(key)
        with self._gated(self._kb_gate):
            self._kb.press(k)
            self._held_keys[key] = k
            code = self._keycode_of(k)
            if code is not None:
                self._held_codes[key] = code

    def key_up(self, key: str) -> None:
        k = self._key(key)
        with self._lock:
            self._kb.release(k)
            self._held_keys.pop(key, None)
            self._held_codes.pop(key, None)

    def can_type(self, ch: str) -> bool:
        # Unicode input types every character of the Basic Multilingual Plane. Characters
        # beyond it (most emoji) are two UTF-16 units, which pynput sends as one (Windows'
        # 16-bit wScan, macOS' length count), so they go through the clipboard instead.
        # Newlines are handled by the caller as Enter.
        return ch not in "\r\n" and ord(ch) <= 0xFFFF

    def type_char(self, ch: str) -> None:
        with self._gated(self._kb_gate):
            self._kb.type(ch)

    def held(self) -> tuple[set, set]:
        with self._lock:
            return set(self._held_keys), set(self._held_buttons)

    def release_all(self) -> None:
        with self._lock:
            for name in list(self._held_buttons):
                self._mouse.release(getattr(self._mouse_mod.Button, name))
            for k in reversed(list(self._held_keys.values())):
                self._kb.release(k)
            self._held_buttons.clear()
            self._held_keys.clear()
            self._held_codes.clear()

    def sync(self) -> None:
        pass

    def close(self) -> None:
        self.release_all()
        # pynput's X11 controllers close their display connection in __del__, which fails
        # noisily when the display is gone by then (a virtual display stopped after the run);
        # close it now, while it is alive.
        for ctrl in (self._kb, self._mouse):
            display = ctrl.__dict__.pop("_display", None)
            if display is not None:
                try:
                    display.close()
                except Exception:
                    pass
