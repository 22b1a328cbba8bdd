"""Limits and safety for a run (DESIGN.md: guard.py): step and time limits, the
repeated-action loop detector, risky-action confirmation and the stop / pause switches.

Everything here is thread-safe where it must be: :meth:`Guard.stop`, :meth:`Guard.pause` and
:meth:`Guard.resume` are called from other threads (the app, the overlay, the emergency
hotkey, Ctrl+C), the rest only from the loop's thread.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Callable

from tars.actions.space import Action, Hotkey, Type

#: Typed text that deserves a person's yes before it is sent (shell commands that destroy data
#: or escalate privileges). Deliberately short: a guard that asks all the time gets ignored.
_RISKY_TEXT = re.compile(
    r"\brm\s+-[a-z]*[rf]|\bmkfs\b|\bdd\s+if=|\bshutdown\b|\breboot\b|:\(\)\s*\{|\bsudo\b|"
    r"\bformat\s+[a-z]:|\bdel\s+/[sq]|\bpoweroff\b|\bhalt\b|\binit\s+[06]\b|"
    r"\bsystemctl\s+(?:poweroff|reboot|halt|suspend|hibernate)\b|\bgnome-session-quit\b|"
    r"\bloginctl\s+(?:terminate|kill)|\bshred\b|\bfind\b.*\s-delete\b|\bremove-item\b|\brmdir\s+/s|"
    r"\bpkill\s+-u\b|\bkillall\b",
    re.IGNORECASE,
)
#: Key combinations that close, log out or lock without asking.
_RISKY_KEYS = {("alt", "f4"), ("ctrl", "alt", "delete"), ("win", "l"), ("ctrl", "alt", "backspace")}


def refuse_risky(action: Action, reason: str) -> bool:
    """The confirm function of a run without a person at the controls (headless, evals):
    every risky action is refused (False); the refusal and its reason go back to the model."""
    return False


def is_risky(action: Action) -> str | None:
    """Why ``action`` is risky (a short phrase), or None when it is not."""
    if isinstance(action, Type) and _RISKY_TEXT.search(action.text):
        return f"types a destructive or privileged command: {action.text.strip()[:60]!r}"
    if isinstance(action, Hotkey) and tuple(action.keys) in _RISKY_KEYS:
        return f"presses {'+'.join(action.keys)}"
    return None


#: Share of a frame's pixels that may differ while the screen still counts as unchanged.
#: A blinking text caret (about 1-2 x 16-20 px) must not count as a change, or neither the
#: loop detector nor settling would ever see a still screen; a real change (a dialog, a
#: typed word, a ticked box) touches more than this.
CHANGE_TOLERANCE = 0.0001


def changed_pixels(before, after) -> int:
    """Number of pixels at which two PIL images of the same size and mode differ in any band.

    Works inside Pillow (difference, bounding box, per-band maximum, histogram), so the frames
    are never copied out to numpy: an unchanged 1920x1080 frame costs about a millisecond,
    a small change (a caret, a ticked box) a little more, a full-screen change a few ms.

    Raises:
        ValueError: the sizes or modes differ.
    """
    from PIL import ImageChops

    if before.size != after.size or before.mode != after.mode:
        raise ValueError(f"cannot compare a {before.mode} {before.size} image with a "
                         f"{after.mode} {after.size} one")
    if before.mode not in ("L", "LA", "RGB", "RGBA", "RGBX", "CMYK"):  # 8 bits per band only
        import numpy as np

        diff = np.asarray(before) != np.asarray(after)
        return int(np.count_nonzero(diff.any(axis=2) if diff.ndim == 3 else diff))
    diff = ImageChops.difference(before, after)
    box = diff.getbbox(alpha_only=False)
    if box is None:
        return 0
    diff = diff.crop(box)
    bands = diff.split()
    top = bands[0]
    for band in bands[1:]:
        top = ImageChops.lighter(top, band)
    return top.width * top.height - top.histogram()[0]


def screen_changed(before, after, tolerance: float = CHANGE_TOLERANCE) -> bool:
    """True when two screenshots (PIL images, same size) differ in more than ``tolerance``
    of their pixels (at least 32 pixels must differ); a different size is a change."""
    if before.size != after.size:
        return True
    if before.mode != after.mode:
        after = after.convert(before.mode)
    return changed_pixels(before, after) > max(32, tolerance * before.width * before.height)


@dataclass
class LoopVerdict:
    """What the loop detector says about a step: ``warn`` feed back to the model, ``end`` stop."""

    warn: str | None = None
    end: str | None = None


class LoopDetector:
    """The same action(s) on an unchanged screen ``limit`` times in a row is a loop.

    The first time the count reaches ``limit`` the model is told (``warn``); if it repeats
    once more, the run ends (``end``). Any change of action or screen (beyond a blinking
    caret, see :func:`screen_changed`) resets the count.
    """

    def __init__(self, limit: int = 3) -> None:
        self.limit = limit
        self._last_actions: str | None = None
        self._last_frame = None
        self._count = 0
        self._warned = False

    def check(self, actions_text: str, frame) -> LoopVerdict:
        """Register a step's actions (as text) taken on a screenshot (PIL image); return the
        verdict."""
        same = (actions_text == self._last_actions and self._last_frame is not None
                and not screen_changed(self._last_frame, frame))
        self._last_actions, self._last_frame = actions_text, frame
        if same:
            self._count += 1
        else:
            self._count, self._warned = 1, False
        if self._count >= self.limit:
            if self._warned:
                return LoopVerdict(end=f"the same action {actions_text} was repeated "
                                       f"{self._count} times on an unchanged screen")
            self._warned = True
            return LoopVerdict(warn=(
                f"You have performed {actions_text} {self._count} times and the screen did not "
                "change. It is not working: try a different action or element."
            ))
        return LoopVerdict()


class Guard:
    """Step/time limits and the stop and pause switches of one run.

    ``max_steps``: steps allowed; ``max_seconds``: wall time allowed (None = no limit);
    ``confirm``: called with (action, reason) for a risky action; returning False refuses it
    (None = allow everything).
    """

    def __init__(
        self,
        max_steps: int = 50,
        max_seconds: float | None = None,
        confirm: Callable[[Action, str], bool] | None = None,
    ) -> None:
        self.max_steps = max_steps
        self.max_seconds = max_seconds
        self.confirm = confirm
        self.started = time.monotonic()
        self.stop_event = threading.Event()
        #: why :meth:`stop` was called (None: the stop button, the hotkey, no reason given)
        self.stop_reason: str | None = None
        self._running = threading.Event()
        self._running.set()

    def start(self) -> None:
        """Reset the clock and the switches for a new run."""
        self.started = time.monotonic()
        self.stop_event.clear()
        self.stop_reason = None
        self._running.set()

    def stop(self, reason: str | None = None) -> None:
        """Ask the run to stop (any thread); ``reason`` is kept in :attr:`stop_reason`. A paused
        run stops too."""
        if not self.stop_event.is_set():
            self.stop_reason = reason
        self.stop_event.set()
        self._running.set()

    def pause(self) -> None:
        """Hold the run before its next step (any thread)."""
        self._running.clear()

    def resume(self) -> None:
        """Let a paused run go on (any thread)."""
        self._running.set()

    @property
    def paused(self) -> bool:
        """True while paused."""
        return not self._running.is_set()

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` was called."""
        return self.stop_event.is_set()

    def wait_if_paused(self) -> None:
        """Block while paused; returns at once when running or stopped."""
        while not self._running.wait(0.05):
            pass

    def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; returns True when woken by :meth:`stop`."""
        return self.stop_event.wait(max(0.0, seconds))

    def elapsed(self) -> float:
        """Seconds since :meth:`start`."""
        return time.monotonic() - self.started

    def remaining(self) -> float:
        """Seconds left before ``max_seconds`` (infinity without a limit)."""
        if self.max_seconds is None:
            return float("inf")
        return max(0.0, self.max_seconds - self.elapsed())

    def timed_out(self) -> bool:
        """True when ``max_seconds`` has passed."""
        return self.max_seconds is not None and self.elapsed() >= self.max_seconds

    def allow(self, action: Action) -> str | None:
        """None when ``action`` may run; otherwise why it was refused (for the model)."""
        reason = is_risky(action)
        if reason is None or self.confirm is None:
            return None
        if self.confirm(action, reason):
            return None
        if self.confirm is refuse_risky:
            return (f"tars refused this action because it {reason}: no person is at the controls "
                    "to confirm it. Do something else.")
        return f"The user refused this action because it {reason}. Do something else."
