"""DryRunOperator: serves screenshots, records actions, performs nothing.

Used by ``tars run --dry-run`` (the real screen, no hands), tests and evaluation replays
(screenshots from files). It applies the same checks as :class:`tars.desktop.local.LocalOperator`
(mobile-only actions, off-screen targets), so a dry run refuses what a real run would.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Sequence

from tars.actions.coords import ScreenGeometry
from tars.actions.space import Action
from tars.desktop.operator import ActionResult, EmergencyStopError, Observation, Operator, OperatorError
from tars.desktop.targets import check_on_screen, refuse_mobile


class DryRunOperator(Operator):
    """An operator without hands.

    Args:
        images: None to capture the real screen with mss (needs a display), or a list of PIL
            images and/or file paths served in turn by :meth:`observe`; the last one repeats.
        geometry: geometry to report; its ``width``/``height`` are replaced by each image's size.
            Default: scale 1, offset (0, 0), monitor 1.
        monitor: mss monitor index when capturing the real screen (None = primary).
        allow_blank: when capturing, return one-colour frames instead of raising.

    Raises:
        OperatorError: an image file is missing or unreadable, or ``images`` is empty.

    :attr:`executed` lists every accepted action, in order. :attr:`stop_event` exists for
    interface parity with LocalOperator (a set event refuses further actions).
    """

    def __init__(self, images: Sequence | None = None, geometry: ScreenGeometry | None = None,
                 monitor: int | None = None, allow_blank: bool = False):
        super().__init__()
        self.executed: list[Action] = []
        self._callbacks: list = []
        self._base_geometry = geometry
        self.geometry: ScreenGeometry | None = geometry
        self._capture: Any = None
        self._images: list[Any] | None = None
        self._next = 0
        #: True when frames come from the real screen: the loop may then poll observe() until
        #: the screen settles; served images must not be consumed by such polling.
        self.live = images is None
        if images is None:
            from tars.desktop.capture import ScreenCapture

            self._capture = ScreenCapture(monitor, allow_blank=allow_blank)
        else:
            self._images = [self._load(img) for img in images]
            if not self._images:
                raise OperatorError("DryRunOperator needs at least one image")

    @staticmethod
    def _load(img):
        from PIL import Image

        if isinstance(img, (str, os.PathLike)):
            try:
                with Image.open(img) as im:
                    return im.convert("RGB")
            except (OSError, ValueError) as exc:
                raise OperatorError(f"cannot read screenshot {os.fspath(img)!r}: {exc}") from exc
        if hasattr(img, "convert"):
            return img.convert("RGB") if img.mode != "RGB" else img
        raise OperatorError(f"not an image or a path: {img!r}")

    def observe(self) -> Observation:
        """The next image (the last one repeats), or a capture of the real screen."""
        if self._capture is not None:
            image, geometry = self._capture.grab()
            if self._base_geometry is not None:
                geometry = self._base_geometry
        else:
            assert self._images is not None  # one of the two sources is set in __init__
            image = self._images[min(self._next, len(self._images) - 1)]
            self._next += 1
            base = self._base_geometry or ScreenGeometry(image.width, image.height)
            geometry = dataclasses.replace(base, width=image.width, height=image.height)
        self.geometry = geometry
        return Observation(image=image, geometry=geometry)

    def execute(self, action: Action) -> ActionResult:
        """Record ``action`` without performing it (``wait`` does not sleep).

        Raises the same refusals as LocalOperator: UnsupportedActionError for mobile-only
        actions, OffScreenError for a target off the last observed screen, EmergencyStopError
        when :attr:`stop_event` is set.
        """
        t0 = time.perf_counter()
        if self.stop_event.is_set():
            raise EmergencyStopError("the run was stopped; no action performed")
        refuse_mobile(action)
        check_on_screen(action, self.geometry)
        self.executed.append(action)
        return ActionResult(action=action, seconds=time.perf_counter() - t0, detail="dry run")

    def on_emergency_stop(self, callback) -> None:
        """Register ``callback`` for :meth:`emergency_stop` (parity with LocalOperator)."""
        self._callbacks.append(callback)

    def emergency_stop(self) -> None:
        """Set :attr:`stop_event` and call the registered callbacks."""
        self.stop_event.set()
        for cb in list(self._callbacks):
            cb()

    stop = emergency_stop

    def close(self) -> None:
        """Close the screen capture, if any."""
        if self._capture is not None:
            self._capture.close()
