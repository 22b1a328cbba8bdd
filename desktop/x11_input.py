"""Mouse and keyboard on X11 through the XTest extension (python-xlib).

Why not pyautogui here: it opens the display named by ``DISPLAY`` once, at import, and types
``<`` as ``>`` (it adds Shift to a keycode whose unshifted symbol already is ``<``). XTest
events are queued by the X server like hardware input (no dropped characters, real modifier
state, accepted by every client, unlike pynput's XSendEvent for characters), and this
backend opens its own connection when constructed, so each operator follows the ``DISPLAY``
it was created under.

Pacing: each event is followed by a round trip (``sync``) and pointer events by a short gap
(``gap``, default 8 ms). XInput2 clients (Qt 6, GTK 3/4) read input in batches; given a
press, release and the next motion at once, Qt reports the release at the *next* pointer
position (measured on Xvfb: a click at x=100 followed at once by a move to x=130 logged its
release at x=130). A few milliseconds between pointer events, far less than any hand
leaves, keeps every event at its own position.

Coordinates are X root-window pixels: on X11 screen points = pixels, and the root window
spans every monitor, so a monitor's offset is just added.

Safety (issue 16):

* **Hands off while the user holds a key.** Before every key press, character and button
  press or wheel notch, input waits while a key that tars does not hold itself is down
  (:class:`tars.desktop.key_gate.KeyGate`, shared with the pynput backend on X11): a
  keystroke of tars's never combines with a modifier the user holds. A key held longer than
  ``hold_timeout`` seconds ends the action with :class:`OperatorError`; releases never wait.
* **Nothing stays held after tars dies.** A watchdog process (:mod:`tars.desktop.watchdog`) is
  told each key and button before it goes down and after it comes up; if tars dies holding
  one (SIGKILL included), the watchdog releases it.
"""

from __future__ import annotations

import os
import threading
import time

from tars.desktop.operator import OperatorError, UnsupportedActionError
from tars.desktop.platform_keys import X11_KEYSYMS, is_char_key

#: X core pointer buttons (X11 protocol): 4/5 wheel up/down, 6/7 wheel left/right.
BUTTONS = {"left": 1, "middle": 2, "right": 3}
WHEEL = {"up": 4, "down": 5, "left": 6, "right": 7}


class X11Input:
    """XTest input on the X display named by ``display`` (default: ``$DISPLAY`` now).

    Tracks every key and button it holds so :meth:`release_all` can let go of them, from any
    thread (the emergency stop calls it from the hotkey listener's thread).

    Raises:
        OperatorError: the display cannot be opened or lacks the XTEST extension.
    """

    def __init__(self, display: str | None = None, gap: float = 0.008, hold_timeout: float = 10.0,
                 watchdog: bool = True):
        from Xlib import XK, X
        from Xlib import display as xdisplay
        from Xlib.ext import xtest

        self._X, self._XK, self._xtest = X, XK, xtest
        deadline = time.monotonic() + 1.5  # a busy or resetting server may refuse briefly
        while True:
            try:
                self._d = xdisplay.Display(display)
                break
            except Exception as exc:
                if time.monotonic() > deadline:
                    name = display or os.environ.get("DISPLAY", "")
                    raise OperatorError(f"cannot open X display {name!r}: {exc}") from exc
                time.sleep(0.1)
        if not self._d.has_extension("XTEST"):
            raise OperatorError("the X server has no XTEST extension; input is impossible")
        self.gap = gap
        #: set to interrupt a wait in :meth:`gate` (the operator shares its stop event)
        self.stop_event = threading.Event()
        self._lock = threading.RLock()
        self._held_keys: dict[int, int] = {}  # keycode -> times pressed by us
        from tars.desktop.key_gate import KeyGate

        self._gate = KeyGate(self._d, self._lock, lambda: self._held_keys, hold_timeout)
        self._held_buttons: set[int] = set()
        self._shift = self._keycode("Shift_L")
        self._watchdog = None
        if watchdog:
            from tars.desktop.watchdog import Watchdog

            self._watchdog = Watchdog(self._d.get_display_name())

    # ----------------------------------------------------------------- helpers
    def _keycode(self, keysym_name: str) -> int:
        keysym = self._XK.string_to_keysym(keysym_name)
        code = self._d.keysym_to_keycode(keysym) if keysym else 0
        if not code:
            raise UnsupportedActionError(f"this X keyboard has no {keysym_name} key")
        return code

    def _char_code(self, ch: str) -> tuple[int, bool] | None:
        """(keycode, needs Shift) for a character on the keymap's first two levels, or None."""
        keysym = ord(ch)  # Latin-1 characters' keysyms are their code points
        if ch == " ":
            keysym = self._XK.string_to_keysym("space")
        best: tuple[int, int] | None = None
        for code, index in self._d.keysym_to_keycodes(keysym):
            if index in (0, 1) and (best is None or index < best[1]):
                best = (code, index)
        if best is None:
            return None
        return best[0], best[1] == 1

    def _fake(self, kind: int, detail: int = 0, **kw) -> None:
        self._xtest.fake_input(self._d, kind, detail, **kw)

    @property
    def watchdog(self):
        """The :class:`tars.desktop.watchdog.Watchdog` of this backend (None without one)."""
        return self._watchdog

    def _tell(self, line: str) -> None:
        if self._watchdog is not None:
            self._watchdog.tell(line)

    @property
    def hold_timeout(self) -> float:
        """Most seconds input waits for keys someone else holds (see :meth:`gate`)."""
        return self._gate.hold_timeout

    @hold_timeout.setter
    def hold_timeout(self, seconds: float) -> None:
        self._gate.hold_timeout = seconds

    def others_keys(self) -> list[int]:
        """Keycodes down on the X server that tars did not press (the user's), from QueryKeymap."""
        return self._gate.others_keys()

    def gate(self) -> None:
        """Return, holding the input lock and a server grab, once no key is down that tars did
        not press (:meth:`tars.desktop.key_gate.KeyGate.enter`); the caller sends its event,
        then calls ``self._gate.leave()`` (or uses ``with self._gated():``).

        Raises:
            EmergencyStopError: :attr:`stop_event` was set while waiting.
            OperatorError: someone held a key for more than :attr:`hold_timeout` seconds.
        """
        self._gate.enter(self.stop_event)

    def _gated(self):
        return self._gate.gated(self.stop_event)

    def _settle(self) -> None:
        # outside the lock, so an emergency release from another thread is never delayed
        if self.gap:
            time.sleep(self.gap)

    def _key(self, code: int, down: bool) -> None:
        if down:
            with self._gated():
                self._tell(f"+k {code}")
                self._fake(self._X.KeyPress, code)
                self._held_keys[code] = self._held_keys.get(code, 0) + 1
                self._d.sync()
        else:
            with self._lock:
                self._fake(self._X.KeyRelease, code)
                self._held_keys.pop(code, None)
                self._d.sync()
                self._tell(f"-k {code}")

    def _resolve(self, key: str) -> tuple[int, bool]:
        if key in X11_KEYSYMS:
            return self._keycode(X11_KEYSYMS[key]), False
        if is_char_key(key):
            found = self._char_code(key)
            if found is None:
                raise UnsupportedActionError(f"this X keyboard layout has no {key!r} key")
            return found
        raise UnsupportedActionError(f"the key {key!r} cannot be sent on X11")

    # ----------------------------------------------------------------- mouse
    def position(self) -> tuple[int, int]:
        """Pointer position in root-window pixels."""
        with self._lock:
            p = self._d.screen().root.query_pointer()
        return p.root_x, p.root_y

    def move(self, x: int, y: int) -> None:
        """Warp the pointer to (x, y), root-window pixels, as a real motion event."""
        with self._lock:
            self._fake(self._X.MotionNotify, x=int(x), y=int(y))
            self._d.sync()
        self._settle()

    def button(self, name: str, down: bool) -> None:
        """Press or release ``left`` / ``middle`` / ``right``."""
        b = BUTTONS[name]
        with (self._gated() if down else self._lock):
            if down:
                self._tell(f"+b {b}")
                self._fake(self._X.ButtonPress, b)
                self._held_buttons.add(b)
            else:
                self._fake(self._X.ButtonRelease, b)
                self._held_buttons.discard(b)
            self._d.sync()
            if not down:
                self._tell(f"-b {b}")
        self._settle()

    def scroll(self, direction: str, notches: int) -> None:
        """``notches`` wheel clicks in ``direction`` (up/down/left/right): X buttons 4-7."""
        b = WHEEL[direction]
        for _ in range(notches):
            with self._gated():
                self._fake(self._X.ButtonPress, b)
                self._fake(self._X.ButtonRelease, b)
                self._d.sync()
            self._settle()

    # ----------------------------------------------------------------- keyboard
    def key_down(self, key: str) -> None:
        """Hold canonical ``key``; a character on the Shift level also holds Shift first.

        Raises:
            UnsupportedActionError: the key is not on this keyboard layout.
        """
        code, shift = self._resolve(key)
        if shift:
            self._key(self._shift, True)
        self._key(code, True)

    def key_up(self, key: str) -> None:
        """Release canonical ``key`` (and the Shift :meth:`key_down` added for it)."""
        code, shift = self._resolve(key)
        self._key(code, False)
        if shift:
            self._key(self._shift, False)

    def can_type(self, ch: str) -> bool:
        """True when ``ch`` can be typed as a key press on this layout (no clipboard needed)."""
        return ch == "\t" or (len(ch) == 1 and 0x20 <= ord(ch) < 0x7F and self._char_code(ch) is not None)

    def type_char(self, ch: str) -> None:
        """Type one character that :meth:`can_type` accepted: press and release its key, with
        Shift around it when the character is on the Shift level."""
        if ch == "\t":
            code, shift = self._keycode("Tab"), False
        else:
            found = self._char_code(ch)
            if found is None:
                raise UnsupportedActionError(f"{ch!r} is not on this keyboard layout")
            code, shift = found
            if ch.isalpha() and self._caps_lock():
                shift = not shift  # Caps Lock inverts letters only; Shift+letter gives lower case
        with self._gated():  # one batch: press and release reach the server together
            if shift:
                self._fake(self._X.KeyPress, self._shift)
            self._fake(self._X.KeyPress, code)
            self._fake(self._X.KeyRelease, code)
            if shift:
                self._fake(self._X.KeyRelease, self._shift)
            self._d.sync()

    def _caps_lock(self) -> bool:
        with self._lock:
            return bool(self._d.screen().root.query_pointer().mask & self._X.LockMask)

    # ----------------------------------------------------------------- safety
    def held(self) -> tuple[set[int], set[int]]:
        """(keycodes, buttons) this backend holds down right now."""
        with self._lock:
            return set(self._held_keys), set(self._held_buttons)

    def release_all(self) -> None:
        """Release every key and button this backend pressed and has not released."""
        with self._lock:
            for b in sorted(self._held_buttons):
                self._fake(self._X.ButtonRelease, b)
            for code in reversed(list(self._held_keys)):
                self._fake(self._X.KeyRelease, code)
            self._held_buttons.clear()
            self._held_keys.clear()
            self._d.sync()
            self._tell("clear")

    def sync(self) -> None:
        """Wait until the X server has processed every event sent so far."""
        with self._lock:
            self._d.sync()

    def close(self) -> None:
        """Release everything held and close the X connection."""
        try:
            self.release_all()
        finally:
            with self._lock:
                self._d.close()
            if self._watchdog is not None:
                self._watchdog.close()
