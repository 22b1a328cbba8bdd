"""Hands off while the user holds a key (issue 16, item 1), for every X11 input backend.

Before a key press, a typed character, a button press or a wheel notch, the X server's key map
(QueryKeymap) is read; while any key is down that tars did not press itself, the input waits.
So a keystroke of tars's never combines with a modifier the user holds, and the emergency
chord (Ctrl+Alt+Esc) pauses input the moment its first key goes down. Releases never wait.

The check and the event go out under one server grab on the connection that sends the event
(a grab on another connection would hold back the event itself), so no other client's input
can slip in between. A key held longer than ``hold_timeout`` seconds (a stuck key) ends the
action with :class:`~tars.desktop.operator.OperatorError`.

Used by :class:`tars.desktop.x11_input.X11Input` (XTest on its own connection) and, on X11, by
:class:`tars.desktop.pynput_input.PynputInput` (one gate per pynput controller connection).
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from tars.desktop.operator import EmergencyStopError, OperatorError

#: seconds between two looks at the key map while a key is held
POLL_SECONDS = 0.005


class KeyGate:
    """The held-key gate on one python-xlib connection.

    Args:
        display: the ``Xlib.display.Display`` the caller sends its events on.
        lock: the re-entrant lock that serialises the caller's requests on ``display``.
        own: returns the keycodes tars itself holds down now (left out of the check).
        hold_timeout: most seconds to wait for someone else's keys.
    """

    def __init__(self, display: Any, lock: threading.RLock, own: Callable[[], Iterable[int]],
                 hold_timeout: float = 10.0):
        self.display = display
        self.lock = lock
        self.own = own
        self.hold_timeout = hold_timeout

    def others_keys(self) -> list[int]:
        """Keycodes down on the X server that tars did not press (the user's), from QueryKeymap."""
        with self.lock:
            bitmap = self.display.query_keymap()
            own = set(self.own())
            return [i * 8 + b for i, byte in enumerate(bitmap) for b in range(8)
                    if byte >> b & 1 and i * 8 + b not in own]

    def enter(self, stop_event: threading.Event) -> None:
        """Return, holding :attr:`lock` and a server grab, once no key is down that tars did
        not press; the caller sends its event, then calls :meth:`leave`.

        Raises:
            EmergencyStopError: ``stop_event`` was set while waiting.
            OperatorError: someone held a key for more than :attr:`hold_timeout` seconds.
        """
        deadline = None
        while True:
            self.lock.acquire()
            ok = False
            held: list[int] = []
            try:
                self.display.grab_server()
                held = self.others_keys()
                ok = not held and not stop_event.is_set()
            finally:
                if not ok:
                    try:
                        self._ungrab()
                    finally:
                        self.lock.release()
            if ok:
                return
            if stop_event.is_set():
                raise EmergencyStopError("stopped while waiting for held keys to be released")
            now = time.monotonic()
            if deadline is None:
                deadline = now + self.hold_timeout
            elif now > deadline:
                raise OperatorError(
                    f"a key is held down on the keyboard (keycode {held[0]}) for more than "
                    f"{self.hold_timeout:g} s; tars does not type or click while keys are held"
                )
            stop_event.wait(POLL_SECONDS)

    def leave(self) -> None:
        """End what :meth:`enter` began: ungrab the server and release :attr:`lock`."""
        try:
            self._ungrab()
        finally:
            self.lock.release()

    @contextmanager
    def gated(self, stop_event: threading.Event) -> Iterator[None]:
        """``with gate.gated(stop_event):`` send one event (see :meth:`enter` for the errors)."""
        self.enter(stop_event)
        try:
            yield
        finally:
            self.leave()

    def _ungrab(self) -> None:
        self.display.ungrab_server()
        self.display.flush()
