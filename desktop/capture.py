"""Screen capture with mss, and the geometry of the captured monitor.

:class:`ScreenCapture` grabs one monitor as an RGB PIL image and measures its
:class:`~tars.actions.coords.ScreenGeometry`. mss handles are not thread-safe and hold a display
connection, so one is kept per thread (``threading.local``). The pure functions
(:func:`monitor_geometry`, :func:`pick_monitor`) carry the geometry rules and are unit-tested
with recorded monitor layouts (tests/test_geometry_layouts.py).

Units: mss monitor dicts are in the platform's *desktop units*: physical pixels on X11 and on
Windows (mss makes the process DPI-aware), points on macOS. The input layer takes *screen
points*. The scale is measured, never assumed: image pixels / monitor size in desktop units,
times desktop units per screen point (1 unless the input API reports another size for the
primary monitor, as on a DPI-unaware Windows process).

Speed: a frame costs one pass over its pixels (BGRA -> RGB, :func:`bgra_to_rgb`) into memory
that Pillow recycles (:func:`recycle_frame_memory`). On a virtual machine the first touch of
fresh memory is what costs (measured here: 10-40 ms to fault in 8 MB, 0.2 ms to refill it), so
a new frame reuses the blocks of the frames the agent let go of.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, Mapping, Sequence

from tars.actions.coords import ScreenGeometry
from tars.desktop.operator import BlankScreenError, OperatorError

Monitor = Mapping[str, Any]


def check_display_environment(env: Mapping[str, str] | None = None,
                              platform: str | None = None) -> None:
    """Raise :class:`OperatorError` with what to do when no X server can be reached on Linux.

    Wayland alone (``WAYLAND_DISPLAY`` set, ``DISPLAY`` not) gives black frames and refuses
    synthetic input, so tars refuses to start instead of sending black frames to a model.
    Windows and macOS always pass.
    """
    env = os.environ if env is None else env
    platform = platform or sys.platform
    if platform.startswith("win") or platform == "darwin":
        return
    if env.get("DISPLAY"):
        return
    if env.get("WAYLAND_DISPLAY"):
        raise OperatorError(
            "this is a Wayland session without an X server (WAYLAND_DISPLAY is set, DISPLAY is "
            "not): tars captures and types through X11. Log in with an X11 session ('GNOME on "
            "Xorg', 'Plasma (X11)'), or enable XWayland and export DISPLAY (e.g. DISPLAY=:0), "
            "or run on a virtual display: Xvfb :99 & DISPLAY=:99 tars run ..."
        )
    raise OperatorError(
        "no display: DISPLAY is not set. Run tars inside a desktop session, or on a virtual "
        "display (Xvfb :99 & export DISPLAY=:99), or use --dry-run with screenshots"
    )


def make_dpi_aware() -> None:
    """On Windows, make this process per-monitor DPI-aware so capture and input both use
    physical pixels (otherwise Windows scales screenshots and coordinates behind our back).
    Must run before the first capture; a no-op elsewhere and when already set."""
    if not sys.platform.startswith("win"):
        return
    import ctypes

    try:  # Windows 8.1+: PROCESS_PER_MONITOR_DPI_AWARE = 2
        ctypes.windll.shcore.SetProcessDpiAwareness(2)
    except Exception:
        try:  # Vista+: system DPI aware
            ctypes.windll.user32.SetProcessDPIAware()
        except Exception:
            pass


def input_primary_size() -> tuple[int, int] | None:
    """Size of the primary monitor in screen points as the input API sees it, or None where
    desktop units already are screen points (X11). Windows: GetSystemMetrics; macOS: the main
    display's bounds in Quartz (points)."""
    if sys.platform.startswith("win"):
        import ctypes

        user32 = ctypes.windll.user32
        return int(user32.GetSystemMetrics(0)), int(user32.GetSystemMetrics(1))
    if sys.platform == "darwin":
        try:
            import Quartz  # shipped with pynput's pyobjc dependency on macOS

            bounds = Quartz.CGDisplayBounds(Quartz.CGMainDisplayID())
            return int(bounds.size.width), int(bounds.size.height)
        except Exception:
            return None
    return None


def primary_index(monitors: Sequence[Monitor]) -> int:
    """mss index of the primary monitor: the one mss marks ``is_primary``, else the one at the
    desktop origin (0, 0) (the primary's position on Windows and macOS), else 1."""
    for i, mon in enumerate(monitors[1:], start=1):
        if mon.get("is_primary"):
            return i
    for i, mon in enumerate(monitors[1:], start=1):
        if mon["left"] == 0 and mon["top"] == 0:
            return i
    return 1


def pick_monitor(monitors: Sequence[Monitor], index: int | None) -> int:
    """Validate a requested mss monitor index (None = the primary) and return it.

    Index 0 is the bounding box of all monitors (mss convention), 1.. are single monitors.

    Raises:
        OperatorError: the index does not exist; the message lists the monitors.
    """
    if index is None:
        return primary_index(monitors)
    if not 0 <= index < len(monitors):
        listing = ", ".join(
            f"{i}: {m['width']}x{m['height']}{m['left']:+d}{m['top']:+d}"
            for i, m in enumerate(monitors)
        )
        raise OperatorError(f"monitor {index} does not exist; this desktop has {listing}")
    return index


def monitor_geometry(monitors: Sequence[Monitor], index: int, image_size: tuple[int, int],
                     input_primary: tuple[int, int] | None = None) -> ScreenGeometry:
    """Geometry of a capture of ``monitors[index]`` that came out ``image_size`` pixels.

    ``monitors``: mss-style dicts (``left``, ``top``, ``width``, ``height`` in desktop units),
    index 0 the union. ``input_primary``: the primary monitor's size in screen points as the
    input API reports it (:func:`input_primary_size`), None when desktop units are points.

    scale = image width / monitor width x (desktop units per point); offsets are converted to
    points and may be negative. Examples: Retina 1440x900 pt monitor captured at 2880x1800 ->
    scale 2.0; Windows 150 % DPI-aware -> 1.0 (everything physical); a DPI-unaware Windows
    process seeing 1920x1080 on a 2400x1350 monitor -> 1.25.
    """
    mon = monitors[index]
    width, height = image_size
    unit = 1.0
    if input_primary is not None and input_primary[0] > 0:
        primary = monitors[primary_index(monitors)]
        unit = primary["width"] / input_primary[0]
    scale = width / mon["width"] * unit
    # round to 1/1000 so 2880/1440 is 2.0 exactly and float noise does not leak into points
    scale = round(scale, 3)
    return ScreenGeometry(
        width=width, height=height, scale=scale,
        left=round(mon["left"] / unit), top=round(mon["top"] / unit), monitor=index,
    )


def single_colour(bgra: bytes | bytearray) -> tuple[int, int, int] | None:
    """The (r, g, b) of a BGRA frame made of one single colour, or None when it has two or more.

    A sparse sample is compared first, so a normal frame costs microseconds; only a frame
    whose sample is uniform is checked in full.
    """
    import numpy as np

    px = np.frombuffer(bgra, dtype=np.uint32)
    if px.size == 0:
        return None
    mask = np.uint32(0x00FFFFFF)  # ignore the X / alpha byte
    first = px[0] & mask
    if not ((px[::997] & mask) == first).all() or not ((px & mask) == first).all():
        return None
    v = int(first)
    return (v >> 16) & 255, (v >> 8) & 255, v & 255


#: Pillow memory blocks kept for reuse after an image is freed (Pillow's own knob, also set by
#: the PILLOW_BLOCKS_MAX environment variable; Pillow's default 0 frees every block). 8 blocks
#: of at most 16 MiB (Pillow's block size) hold about eight 1920x1080 RGB frames.
FRAME_BLOCKS = 8


def recycle_frame_memory(blocks: int = FRAME_BLOCKS) -> None:
    """Let Pillow keep up to ``blocks`` freed memory blocks for the next images (never lowers a
    larger setting, e.g. one made with PILLOW_BLOCKS_MAX). Process-wide; idempotent."""
    from PIL import Image

    if Image.core.get_blocks_max() < blocks:
        Image.core.set_blocks_max(blocks)


def bgra_to_rgb(raw: bytes | bytearray | memoryview, size: tuple[int, int]):
    """RGB PIL image of a BGRA/BGRX frame (``size`` = (width, height) pixels, 4 bytes per pixel,
    rows packed), in one pass: the image is allocated without being cleared and Pillow's BGRX
    unpacker writes it directly (``Image.frombuffer`` would clear it first, then convert).

    Raises:
        ValueError: ``raw`` is shorter than ``width * height * 4`` bytes.
    """
    from PIL import Image

    width, height = size
    if len(raw) < width * height * 4:
        raise ValueError(f"a {width}x{height} BGRA frame needs {width * height * 4} bytes, got {len(raw)}")
    image = Image.new("RGB", size, None)  # None: no fill, memory as the allocator gives it
    image.frombytes(raw, "raw", "BGRX")
    return image


class ScreenCapture:
    """Grabs one monitor with mss (one mss handle per thread).

    ``monitor``: mss index (None = the primary, 0 = all monitors together).
    ``allow_blank``: when False (default), a frame of one single colour raises
    :class:`BlankScreenError` instead of being returned, until a frame with content has been
    captured: after that a one-colour frame is a real state of the screen (the last window
    closed on a one-colour desktop, issue 17), not a locked screen.

    Raises (from :meth:`grab`): :class:`OperatorError` when the monitor does not exist or the
    capture fails, :class:`BlankScreenError` for a one-colour frame.
    """

    def __init__(self, monitor: int | None = None, allow_blank: bool = False):
        check_display_environment()
        make_dpi_aware()
        self.requested = monitor
        self.allow_blank = allow_blank
        #: a frame with more than one colour was captured (later blank frames are the desktop)
        self.seen_content = False
        self._local = threading.local()
        self._handles: list[Any] = []
        self._lock = threading.Lock()
        self._input_primary = input_primary_size()
        recycle_frame_memory()

    def _mss(self) -> Any:
        sct = getattr(self._local, "sct", None)
        if sct is None:
            import mss

            # An X server can refuse a connection for a moment (a fresh Xvfb under load, a
            # server resetting after its last client left; seen intermittently in the suite),
            # so a failed connection is retried briefly before it is reported.
            deadline = time.monotonic() + 1.5
            while True:
                try:
                    sct = mss.MSS() if hasattr(mss, "MSS") else mss.mss()
                    break
                except Exception as exc:  # mss.exception.ScreenShotError and display errors
                    if time.monotonic() > deadline:
                        raise OperatorError(f"cannot open the screen for capture: {exc}") from exc
                    time.sleep(0.1)
            self._local.sct = sct
            with self._lock:
                self._handles.append(sct)
        return sct

    def monitors(self) -> list[dict]:
        """mss's monitor list (index 0 = all monitors), re-read on each call."""
        return [dict(m) for m in self._mss().monitors]

    def grab(self, check_blank: bool = True):
        """Capture the monitor -> (RGB PIL image, ScreenGeometry).

        ``check_blank=False`` skips the one-colour check (used when only the geometry matters).
        """
        sct = self._mss()
        monitors = sct.monitors
        index = pick_monitor(monitors, self.requested)
        mon = monitors[index]
        try:
            shot = sct.grab(mon)
        except Exception as exc:
            raise OperatorError(f"screen capture failed: {exc}") from exc
        # the BGRA bytearray mss filled; `.bgra` would copy it once more (8 MB at 1080p)
        raw = shot.raw
        if check_blank and not self.allow_blank and not self.seen_content:
            colour = single_colour(raw)
            if colour is None:
                self.seen_content = True
            else:
                raise BlankScreenError(
                    f"the captured screen is one single colour {colour}: the screen may be "
                    "locked or asleep, screen capture not permitted (macOS: System Settings > "
                    "Privacy > Screen Recording), or the windows invisible to X (Wayland); "
                    "not sending it to the model"
                )
        image = bgra_to_rgb(raw, shot.size)
        geometry = monitor_geometry(monitors, index, shot.size, self._input_primary)
        return image, geometry

    def close(self) -> None:
        """Close every mss handle this capture opened (from any thread)."""
        with self._lock:
            handles, self._handles = self._handles, []
        for sct in handles:
            try:
                sct.close()
            except Exception:
                pass
        self._local = threading.local()
