"""Operators: the eyes and hands of tars (DESIGN.md: actions/operator.py).

An operator observes the screen (:meth:`Operator.observe`) and performs typed actions whose
points are already in screen points (:meth:`Operator.execute`). Errors an agent can recover
from (a target off the monitor, a mobile-only action on a desktop) raise :class:`OperatorError`
with a message meant to be fed back to the model.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from tars.actions.coords import ScreenGeometry
from tars.actions.space import Action

if TYPE_CHECKING:  # Pillow is a base dependency, but keep `import actions` light
    from PIL.Image import Image


class OperatorError(RuntimeError):
    """An action could not be performed; the message says why, in words for the model."""


class OffScreenError(OperatorError):
    """A target point lies outside the captured monitor."""


class UnsupportedActionError(OperatorError):
    """The action or key cannot be performed on this platform (e.g. ``press_home`` on a PC)."""


class EmergencyStopError(OperatorError):
    """The run was stopped (emergency hotkey or :meth:`LocalOperator.stop`) before or during the
    action; every key and button tars held has been released. Clear ``operator.stop_event`` to
    act again."""


class BlankScreenError(OperatorError):
    """The captured frame is one single colour: the screen is locked or asleep, capture is not
    permitted (macOS Screen Recording), or windows are invisible to X (Wayland). Such a frame is
    never sent to a model; the loop treats this like any failed observation."""


@dataclass
class Observation:
    """One look at the screen.

    ``image``: RGB screenshot in physical pixels (``geometry.width`` x ``geometry.height``).
    ``geometry``: where it lies on the desktop and how pixels map to screen points.
    ``timestamp``: time.time() of the capture, seconds.
    """

    image: "Image"
    geometry: ScreenGeometry
    timestamp: float = field(default_factory=time.time)


@dataclass
class ActionResult:
    """What :meth:`Operator.execute` did: the action (screen points) and its duration (s)."""

    action: Action
    seconds: float
    detail: str = ""


class Operator:
    """Base class of every operator: observe the screen, perform actions given in screen points.

    Subclasses implement :meth:`observe` and :meth:`execute` and call ``super().__init__()``.
    Every other member has a working default, so the loop and the front ends use them directly:

    * ``live``: True when frames come from a changing screen (the loop waits for it to settle
      after acting); False for a fixed set of images (a dry run on screenshots).
    * ``stop_event``: set by :meth:`tars.agent.loop.Agent.stop` to interrupt typing and waits
      in progress; cleared at the start of each run.
    * :meth:`on_emergency_stop` registers the callback of the operator's emergency hotkey
      (none by default).
    """

    live: bool = True

    def __init__(self) -> None:
        self.stop_event = threading.Event()

    def observe(self) -> Observation:
        """Capture the screen. Raises :class:`OperatorError` when no usable frame comes."""
        raise NotImplementedError(f"{type(self).__name__} does not implement observe()")

    def execute(self, action: Action) -> ActionResult:
        """Perform ``action`` (points in screen points). Raises :class:`OperatorError`."""
        raise NotImplementedError(f"{type(self).__name__} does not implement execute()")

    def on_emergency_stop(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from any thread) when the user presses the emergency hotkey.
        Default: this operator has no hotkey."""

    def close(self) -> None:
        """Release everything held (keys, buttons, listeners, capture handles)."""
