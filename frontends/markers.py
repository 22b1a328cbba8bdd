"""Markers on screenshots: where an action lands, drawn with Pillow, and actions in words.

Used by the app's trace (thumbnails and the large view) and by HTML reports. The overlay draws
the same shapes live with Qt (:mod:`tars.frontends.overlay`) and uses the same colours, so a marker
looks alike on screen, in the app and in a report.

Coordinates here are **screenshot pixels** (DESIGN.md, Coordinates): convert the screen-point
actions of a step with :func:`actions_to_pixels` first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tars.actions.coords import ScreenGeometry
from tars.actions.describe import describe_action  # noqa: F401  (re-exported: the markers' words)
from tars.actions.space import (
    Action,
    DoubleClick,
    Drag,
    Scroll,
)

if TYPE_CHECKING:
    from PIL.Image import Image

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class MarkerStyle:
    """The one look of every marker, whoever draws it: Pillow here, Qt in the overlay
    (:mod:`tars.frontends.overlay`), SVG in HTML reports (:mod:`tars.frontends.report`).

    Colours are RGB. ``dot``: the exact colour of a marker's centre square (tests look for it
    in captures; nothing else is this colour). ``ring``: ring, path and arrow. ``outline``:
    drawn under rings and paths for contrast on busy backgrounds. ``trail``: badges of earlier
    actions. ``badge_text``: the step number on a badge. ``ring_fraction``/``min_ring``: ring
    radius as a fraction of the screenshot's larger side, and its least value, in pixels.
    ``dot_half``: the centre square spans 2 * dot_half + 1 pixels. ``badge_offset``: where a
    trail badge sits from the point it marks (right, up), so it does not cover the label the
    action clicked.
    """

    dot: RGB = (255, 0, 170)
    ring: RGB = (255, 64, 0)
    outline: RGB = (255, 255, 255)
    trail: RGB = (0, 160, 255)
    badge_text: RGB = (255, 255, 255)
    ring_fraction: float = 0.015
    min_ring: float = 8.0
    dot_half: int = 2
    badge_offset: tuple[int, int] = (14, -26)

    def radius(self, width: int, height: int) -> float:
        """Ring radius in pixels for a screenshot (or screen) of ``width`` x ``height``."""
        return max(self.min_ring, self.ring_fraction * max(width, height))


#: the marker style of tars (one table for Pillow, Qt and HTML)
STYLE = MarkerStyle()

#: how a run ended -> colour of its status, everywhere (overlay panel, app, report)
STATUS_RGB: dict[str, RGB] = {
    "success": (19, 115, 51), "finished": (19, 115, 51), "call_user": (176, 96, 0),
    "partial": (176, 96, 0), "stopped": (95, 102, 114), "max_steps": (179, 38, 30),
    "timeout": (179, 38, 30), "error": (179, 38, 30), "failure": (179, 38, 30),
    "unscored": (25, 103, 210), "running": STYLE.ring,
}

#: background of the overlay's panel
PANEL_RGB = (24, 24, 28)

# the names the rest of tars and the tests use
MARKER_RGB = STYLE.dot
RING_RGB = STYLE.ring
OUTLINE_RGB = STYLE.outline
TRAIL_RGB = STYLE.trail


def hex_rgb(rgb: RGB) -> str:
    """(255, 64, 0) -> ``"#ff4000"`` (for SVG/CSS)."""
    return "#%02x%02x%02x" % rgb


def actions_to_pixels(actions: Iterable[Action], geometry: ScreenGeometry) -> list[Action]:
    """Screen-point actions -> the same actions in screenshot pixels of ``geometry``."""
    return [a.map_points(geometry.to_pixels) for a in actions]


def _ring(draw, x: float, y: float, r: float, colour, width: int) -> None:
    draw.ellipse((x - r, y - r, x + r, y + r), outline=OUTLINE_RGB, width=width + 2)
    draw.ellipse((x - r + 1, y - r + 1, x + r - 1, y + r - 1), outline=colour, width=width)


def _dot(draw, x: float, y: float, half: int = STYLE.dot_half) -> None:
    # Not anti-aliased, exact colour: the target pixel is the centre of this square.
    xi, yi = round(x), round(y)
    draw.rectangle((xi - half, yi - half, xi + half, yi + half), fill=STYLE.dot)


def _arrow(draw, x1: float, y1: float, x2: float, y2: float, colour, width: int) -> None:
    import math

    draw.line((x1, y1, x2, y2), fill=OUTLINE_RGB, width=width + 2)
    draw.line((x1, y1, x2, y2), fill=colour, width=width)
    angle = math.atan2(y2 - y1, x2 - x1)
    size = 6 + 3 * width
    left = (x2 - size * math.cos(angle - 0.45), y2 - size * math.sin(angle - 0.45))
    right = (x2 - size * math.cos(angle + 0.45), y2 - size * math.sin(angle + 0.45))
    draw.polygon([(x2, y2), left, right], fill=colour, outline=OUTLINE_RGB)


_SCROLL_VECTORS = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}


def draw_actions(
    image: Image,
    actions: Sequence[Action],
    radius: float | None = None,
    trail: Sequence[Action] = (),
) -> Image:
    """Return a copy of ``image`` (RGB) with each action's target marked.

    ``actions``: points in screenshot pixels of ``image``. A point action gets a ring and a
    centre dot of :data:`MARKER_RGB` on the exact target pixel; a drag gets its path with an
    arrow; a scroll gets an arrow in its direction. Actions without points are not drawn.
    ``trail``: earlier actions (pixels), drawn small in :data:`TRAIL_RGB`. ``radius``: ring
    radius in pixels (default scales with the image, 1.5 % of its larger side, at least 8).
    The input image is not modified.
    """
    from PIL import ImageDraw

    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    r = radius if radius is not None else STYLE.radius(*out.size)
    width = max(2, round(r / 6))
    for a in trail:
        for x, y in a.points():
            draw.ellipse((x - r / 2, y - r / 2, x + r / 2, y + r / 2), outline=TRAIL_RGB,
                         width=max(1, width - 1))
    for a in actions:
        if isinstance(a, Drag):
            _ring(draw, a.x1, a.y1, r * 0.7, RING_RGB, width)
            _arrow(draw, a.x1, a.y1, a.x2, a.y2, RING_RGB, width)
            _dot(draw, a.x1, a.y1)
            _dot(draw, a.x2, a.y2)
        elif isinstance(a, Scroll) and a.x is not None and a.y is not None:
            dx, dy = _SCROLL_VECTORS.get(a.direction, (0, 0))
            _ring(draw, a.x, a.y, r, RING_RGB, width)
            _arrow(draw, a.x, a.y, a.x + dx * 3 * r, a.y + dy * 3 * r, RING_RGB, width)
            _dot(draw, a.x, a.y)
        else:
            for x, y in a.points():
                _ring(draw, x, y, r, RING_RGB, width)
                if isinstance(a, DoubleClick):
                    _ring(draw, x, y, r * 0.6, RING_RGB, width)
                _dot(draw, x, y)
    return out


