"""Checks every operator applies before acting: mobile-only actions, off-screen targets, and
keeping clicks off the monitor's outermost pixels.

Shared by :class:`tars.desktop.local.LocalOperator` and :class:`tars.desktop.dryrun.DryRunOperator`, so a
dry run refuses exactly what a real run would.
"""

from __future__ import annotations

import math

from tars.actions.coords import ScreenGeometry
from tars.actions.space import MOBILE_ONLY, Action
from tars.desktop.operator import OffScreenError, UnsupportedActionError


def refuse_mobile(action: Action) -> None:
    """Raise :class:`UnsupportedActionError` for a phone-only action (``long_press``,
    ``open_app``, ``press_home``, ``press_back``) with a message the model can act on."""
    if type(action) in MOBILE_ONLY:
        raise UnsupportedActionError(
            f"{action.name} is a mobile action; this is a desktop computer: use click, hotkey "
            "or type instead"
        )


def screen_bounds(geometry: ScreenGeometry) -> tuple[int, int, int, int]:
    """(min_x, min_y, max_x, max_y), inclusive, of the screen points that pixels of this monitor
    map to. On HiDPI the last pixel column rounds up to one point past ``point_width - 1``
    (2879 px / 2.0 = 1439.5 -> 1440), and that point is still on the screen."""
    max_x = geometry.left + math.floor((geometry.width - 1) / geometry.scale + 0.5)
    max_y = geometry.top + math.floor((geometry.height - 1) / geometry.scale + 0.5)
    return geometry.left, geometry.top, max_x, max_y


def _show(v: float) -> str:
    return f"{v:.3g}" if not math.isfinite(v) or abs(v) >= 1e6 else f"{v:g}"


def check_on_screen(action: Action, geometry: ScreenGeometry | None) -> None:
    """Raise :class:`OffScreenError` when a point of ``action`` (screen points) is outside the
    captured monitor (:func:`screen_bounds`). Nothing is checked before the first observation
    (``geometry`` None)."""
    if geometry is None:
        return
    x0, y0, x1, y1 = screen_bounds(geometry)
    for x, y in action.points():
        if not (math.isfinite(x) and math.isfinite(y)) or not (x0 <= x <= x1 and y0 <= y <= y1):
            raise OffScreenError(
                f"{action.name} target ({_show(x)}, {_show(y)}) is outside the screen (x {x0}..{x1}, "
                f"y {y0}..{y1} in screen points); choose a point on the screenshot"
            )


def keep_inside(x: float, y: float, geometry: ScreenGeometry | None) -> tuple[int, int]:
    """Round (x, y) to integer screen points at least 1 px inside the monitor's edges.

    The outermost pixel row/column is where pyautogui's fail-safe and desktop hot corners
    (GNOME Activities, macOS hot corners, Windows' Show desktop) fire; one pixel in, the click
    still hits the same control. Off-monitor points must have been refused before.
    """
    xi, yi = math.floor(x + 0.5), math.floor(y + 0.5)
    if geometry is None:
        return xi, yi
    lo_x, lo_y = geometry.left + 1, geometry.top + 1
    hi_x = geometry.left + math.ceil(geometry.point_width) - 2
    hi_y = geometry.top + math.ceil(geometry.point_height) - 2
    return min(max(xi, lo_x), hi_x), min(max(yi, lo_y), hi_y)


def in_corner(x: int, y: int, geometry: ScreenGeometry) -> bool:
    """True when screen point (x, y) is on a corner pixel of the monitor."""
    right = geometry.left + math.ceil(geometry.point_width) - 1
    bottom = geometry.top + math.ceil(geometry.point_height) - 1
    return x in (geometry.left, right) and y in (geometry.top, bottom)
