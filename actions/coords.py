"""Every coordinate conversion in tars, in one place (DESIGN.md, Coordinates).

Three spaces, never mixed up:

1. **model space**, what the model writes, described by a :class:`CoordSpace`:
   ``relative`` (UI-TARS-1.0 / Qwen2-VL: 0..1000 on each axis), ``resized``
   (UI-TARS-1.5 / Qwen2.5-VL: absolute pixels on the image after :func:`smart_resize`),
   ``absolute`` (pixels of the screenshot as sent);
2. **screenshot pixels**, physical pixels of the captured image;
3. **screen points**, what the OS input API takes, described by a :class:`ScreenGeometry`:
   ``point = offset + pixel / scale``; the offset of a monitor in the virtual desktop may be
   negative (a monitor left of or above the primary).

The parser returns model space; the agent converts once with :func:`action_to_screen`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from tars.actions.space import Action

#: Qwen2-VL / Qwen2.5-VL patch merge size: images are resized to multiples of 28.
IMAGE_FACTOR = 28
#: UI-TARS default pixel budget (UI-TARS reference code: ``min_pixels = 100 * 28 * 28``).
MIN_PIXELS = 100 * 28 * 28
#: UI-TARS default pixel budget (UI-TARS reference code: ``max_pixels = 16384 * 28 * 28``).
MAX_PIXELS = 16384 * 28 * 28
#: qwen-vl-utils refuses images whose aspect ratio exceeds this.
MAX_RATIO = 200

#: How far past the model image's edge, as a share of its extent, a point still counts as the
#: edge (model rounding) and is clamped; farther points are refused by the operator.
NEAR_EDGE = 0.02

SpaceKind = Literal["relative", "resized", "absolute"]
SPACE_KINDS: tuple[str, ...] = ("relative", "resized", "absolute")
#: the side of the ``relative`` grid: UI-TARS-1.0 writes 0..1000 on each axis
RELATIVE_SCALE = 1000.0


#: ``int()`` of model coordinate v on a screen side of n pixels and a model side of m, in the
#: order each reference agent computes it (float rounding differs between the orders):
#: ``scale`` v * (n / m) (OSWorld Qwen3VLAgent, GTA1 README), ``divide`` v / m * n (OpenCUA
#: ``qwen25``), ``multiply`` v * n / m (OSWorld Jedi grounder, OwlAgent).
TRUNCATE_RULES = {
    "scale": lambda v, n, m: v * (n / m),
    "divide": lambda v, n, m: v / m * n,
    "multiply": lambda v, n, m: v * n / m,
}


def smart_resize(
    height: int,
    width: int,
    factor: int = IMAGE_FACTOR,
    min_pixels: int = MIN_PIXELS,
    max_pixels: int = MAX_PIXELS,
) -> tuple[int, int]:
    """Size (height, width) a Qwen2-VL-family processor resizes an image to, in pixels.

    Both sides become multiples of ``factor``, the pixel count stays within
    [``min_pixels``, ``max_pixels``] and the aspect ratio stays as close as possible.
    This is the rule of ``qwen_vl_utils.smart_resize`` (Qwen2.5-VL reference code), including
    Python's ``round`` (round half to even) for the first estimate; a test checks agreement
    with qwen-vl-utils on 10,000 random sizes.

    Raises:
        ValueError: a side is not positive, or the aspect ratio exceeds 200.
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if max(height, width) / min(height, width) > MAX_RATIO:
        raise ValueError(
            f"absolute aspect ratio must be smaller than {MAX_RATIO}, "
            f"got {max(height, width) / min(height, width)}"
        )
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def linear_prescale(height: int, width: int, min_pixels: int = MIN_PIXELS,
                    max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """Size (height, width) OSWorld's UI-TARS agents shrink a screenshot to before upload.

    Over ``max_pixels``, both sides are scaled by ``sqrt(max_pixels / (w*h))`` and truncated
    (``int``); under ``min_pixels`` they are scaled up and rounded up (``ceil``); the server's
    processor then applies :func:`smart_resize` to that. Source: OSWorld desktop-env
    ``mm_agents/uitars15_v1.py`` (``linear_resize`` and ``UITARSAgent.predict``).
    """
    if width * height > max_pixels:
        f = math.sqrt(max_pixels / (width * height))
        width, height = int(width * f), int(height * f)
    if width * height < min_pixels:
        f = math.sqrt(min_pixels / (width * height))
        width, height = math.ceil(width * f), math.ceil(height * f)
    return height, width


@dataclass(frozen=True)
class CoordSpace:
    """The coordinate space a model writes in, and the pixel budget of its image processor.

    ``kind``: ``relative`` | ``resized`` | ``absolute`` (see module docstring).
    ``factor``, ``min_pixels``, ``max_pixels``: the :func:`smart_resize` settings; they matter
    for ``resized`` (where they define the model image) and for image preparation.
    ``grid``: the side of the ``relative`` grid (1000 for UI-TARS-1.0 / Doubao; 999 for
    Qwen3-VL, whose OSWorld agent divides by 999; 1 for OpenCUA's 0..1 coordinates).
    ``truncate``: None rounds to the nearest screen point (tars's rule); otherwise pixels are
    cut to whole numbers with ``int()`` in the reference agent's own order of operations, so a
    family lands on exactly the pixel its agent's pyautogui call would (:data:`TRUNCATE_RULES`).
    ``prescale``: the model image is ``smart_resize`` of :func:`linear_prescale` (what OSWorld's
    agent and a vLLM server produce together) instead of ``smart_resize`` of the screenshot.
    """

    kind: SpaceKind = "resized"
    factor: int = IMAGE_FACTOR
    min_pixels: int = MIN_PIXELS
    max_pixels: int = MAX_PIXELS
    grid: float = RELATIVE_SCALE
    truncate: str | None = None
    prescale: bool = False

    def __post_init__(self) -> None:
        if self.kind not in SPACE_KINDS:
            raise ValueError(f"unknown coordinate space {self.kind!r}; use one of {SPACE_KINDS}")
        if self.truncate is not None and self.truncate not in TRUNCATE_RULES:
            raise ValueError(f"unknown truncation {self.truncate!r}; use one of {', '.join(TRUNCATE_RULES)}")
        if not self.grid > 0:
            raise ValueError(f"the relative grid must be positive, got {self.grid}")
        if not (isinstance(self.factor, int) and self.factor >= 1):
            raise ValueError(f"the resize factor must be a positive integer, got {self.factor!r}")
        if not (isinstance(self.min_pixels, int) and self.min_pixels >= 1):
            raise ValueError(f"min_pixels must be a positive integer, got {self.min_pixels!r}")
        if not (isinstance(self.max_pixels, int) and self.max_pixels >= self.factor * self.factor):
            raise ValueError(f"max_pixels must be at least {self.factor * self.factor} (one "
                             f"{self.factor}x{self.factor} patch), got {self.max_pixels!r}")
        if self.min_pixels > self.max_pixels:
            raise ValueError(f"min_pixels ({self.min_pixels}) is above max_pixels ({self.max_pixels})")

    def image_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) in pixels of the image the model sees for a width x height
        screenshot (``absolute`` spaces: the screenshot itself).

        Raises:
            ValueError: a side is not positive or the aspect ratio exceeds 200 (smart_resize).
        """
        if self.kind == "absolute":
            return width, height
        if self.prescale:
            height, width = linear_prescale(height, width, self.min_pixels, self.max_pixels)
        h, w = smart_resize(height, width, self.factor, self.min_pixels, self.max_pixels)
        return w, h

    def model_size(self, width: int, height: int) -> tuple[float, float]:
        """Extent (width, height) of model space for a screenshot of width x height pixels."""
        if self.kind == "relative":
            return float(self.grid), float(self.grid)
        if self.kind == "resized":
            w, h = self.image_size(width, height)
            return float(w), float(h)
        return float(width), float(height)

    def to_pixels(self, x: float, y: float, width: int, height: int) -> tuple[float, float]:
        """Model-space point -> screenshot pixels (floats) for a width x height screenshot.

        A point just beyond the model image (within :data:`NEAR_EDGE` of its extent: model
        rounding, ``(1000, 500)`` on a 1000-wide grid) is clamped into it, so it clicks the edge
        pixel. A point farther out is converted as it is, lands off the screenshot, and the
        operator refuses it with the reason fed back (issue 16: ``(99999, 99999)`` was clamped
        and clicked in the corner).
        """
        mw, mh = self.model_size(width, height)
        near_x = -NEAR_EDGE * mw <= x <= (1 + NEAR_EDGE) * mw
        near_y = -NEAR_EDGE * mh <= y <= (1 + NEAR_EDGE) * mh
        if near_x:
            x = min(max(x, 0.0), mw)
        if near_y:
            y = min(max(y, 0.0), mh)
        if self.truncate is None:
            px = x * width / mw
            py = y * height / mh
        else:
            rule = TRUNCATE_RULES[self.truncate]
            px, py = float(int(rule(x, width, mw))), float(int(rule(y, height, mh)))
        return (min(px, width - 1.0) if near_x else px), (min(py, height - 1.0) if near_y else py)

    def from_pixels(self, px: float, py: float, width: int, height: int) -> tuple[float, float]:
        """Screenshot pixels -> model space; the inverse of :meth:`to_pixels` inside the image."""
        mw, mh = self.model_size(width, height)
        return px * mw / width, py * mh / height


def _round_half_up(v: float) -> int:
    # Symmetric rounding for screen points: floor(v + 0.5) keeps -0.5 and 0.5 steps uniform,
    # unlike Python's round(), which would shift alternate half-pixels by one point.
    return math.floor(v + 0.5)


@dataclass(frozen=True)
class ScreenGeometry:
    """Where a screenshot lies on the desktop.

    ``width``/``height``: screenshot size in physical pixels. ``scale``: screenshot pixels per
    screen point (2.0 on a Retina display, 1.25/1.5/2.0 at Windows 125/150/200 %), measured by
    the operator. ``left``/``top``: offset of the captured monitor in the virtual desktop, in
    screen points, negative for monitors left of or above the primary. ``monitor``: mss
    monitor index (1 = first monitor).
    """

    width: int
    height: int
    scale: float = 1.0
    left: int = 0
    top: int = 0
    monitor: int = 1

    @property
    def point_width(self) -> float:
        """Monitor width in screen points."""
        return self.width / self.scale

    @property
    def point_height(self) -> float:
        """Monitor height in screen points."""
        return self.height / self.scale

    def to_screen(self, px: float, py: float) -> tuple[int, int]:
        """Screenshot pixels -> integer screen points (offset added, scale divided out)."""
        return (
            _round_half_up(self.left + px / self.scale),
            _round_half_up(self.top + py / self.scale),
        )

    def to_pixels(self, sx: float, sy: float) -> tuple[float, float]:
        """Screen points -> screenshot pixels; the inverse of :meth:`to_screen`."""
        return (sx - self.left) * self.scale, (sy - self.top) * self.scale

    def contains(self, sx: float, sy: float) -> bool:
        """True when screen point (sx, sy) lies on this monitor."""
        return (
            self.left <= sx < self.left + self.point_width
            and self.top <= sy < self.top + self.point_height
        )

    @classmethod
    def from_json(cls, data: dict | None, width: int = 1, height: int = 1) -> "ScreenGeometry":
        """Read :meth:`to_json` output back (a trajectory's ``geometry``). Missing fields take
        the defaults; ``width``/``height`` stand in when the dict has no size."""
        d = data or {}
        return cls(
            int(d.get("width") or width), int(d.get("height") or height),
            scale=float(d.get("scale") or 1.0), left=int(d.get("left") or 0),
            top=int(d.get("top") or 0), monitor=int(d.get("monitor") or 1),
        )

    def to_json(self) -> dict:
        """Plain dict for meta.json and reports."""
        return {
            "width": self.width, "height": self.height, "scale": self.scale,
            "left": self.left, "top": self.top, "monitor": self.monitor,
        }


def model_to_screen(
    x: float, y: float, space: CoordSpace, geometry: ScreenGeometry
) -> tuple[int, int]:
    """One model-space point -> integer screen points, through screenshot pixels."""
    px, py = space.to_pixels(x, y, geometry.width, geometry.height)
    return geometry.to_screen(px, py)


def screen_to_model(
    sx: float, sy: float, space: CoordSpace, geometry: ScreenGeometry
) -> tuple[int, int]:
    """Screen points -> model space, rounded to integers as a model would write them."""
    px, py = geometry.to_pixels(sx, sy)
    mx, my = space.from_pixels(px, py, geometry.width, geometry.height)
    return round(mx), round(my)


def action_to_screen(action: Action, space: CoordSpace, geometry: ScreenGeometry) -> Action:
    """Return ``action`` with every point converted from model space to screen points."""
    return action.map_points(lambda x, y: model_to_screen(x, y, space, geometry))


def action_to_model(action: Action, space: CoordSpace, geometry: ScreenGeometry) -> Action:
    """Return ``action`` with every point converted from screen points to model space.

    Used to write human demonstrations and replays as the text a model would have written.
    """
    return action.map_points(lambda x, y: screen_to_model(x, y, space, geometry))


def pixels_to_screen_action(action: Action, geometry: ScreenGeometry) -> Action:
    """Return ``action`` with points converted from screenshot pixels to screen points."""
    return action.map_points(geometry.to_screen)
