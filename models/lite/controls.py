"""Controls without text of their own, found from the image around a text label (OpenCV).

Input fields, check boxes and the closed box of a dropdown carry no text OCR can read (or only
their current value), but they sit in fixed places relative to their label in every desktop
toolkit: a field right of its label (form layouts) or below it (stacked layouts), a check box
left of its caption. So: take a window of the screenshot around the label, find edges
(``cv2.Canny``), close one-pixel gaps (``cv2.dilate``), take the outer contours
(``cv2.findContours``) and keep the bounding rectangles of the right size and place, nearest
first. A check box's state is read from its inside: a ticked box has dark pixels (the tick)
covering a good part of its middle, an empty one is flat.

Where it fails: flat themes that draw fields without any border or background change (then the
label itself is clicked, which in Qt/GTK form layouts does not focus the field); labels placed
right of their field; check boxes drawn as switches; a dark theme's tick that is lighter than
its box (the state test compares against the box's own background, so it mostly still works).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from PIL.Image import Image

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Rect:
    """A rectangle found in the image: ``x1, y1, x2, y2`` in screenshot pixels (exclusive end)."""

    x1: int
    y1: int
    x2: int
    y2: int
    #: contour area / rectangle area (about 1 for a drawn rectangle, less for letters)
    fill: float = 1.0

    @property
    def width(self) -> int:
        """Width in pixels."""
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        """Height in pixels."""
        return self.y2 - self.y1

    @property
    def center(self) -> tuple[float, float]:
        """Centre (x, y) in screenshot pixels: where lite clicks."""
        return ((self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2)

    def contains(self, x: float, y: float) -> bool:
        """True when the point (x, y) lies inside."""
        return self.x1 <= x < self.x2 and self.y1 <= y < self.y2


def _gray(image: "Image | np.ndarray") -> "np.ndarray":
    import numpy as np

    if isinstance(image, np.ndarray):
        arr = image
        if arr.ndim == 3:
            import cv2

            return cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY)
        return arr
    return np.asarray(image.convert("L"))


def _rects(gray: "np.ndarray", x0: int, y0: int, x1: int, y1: int) -> list[Rect]:
    """Bounding rectangles of the outer contours of edges inside the window, in image pixels."""
    import cv2
    import numpy as np

    h, w = gray.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return []
    crop = gray[y0:y1, x0:x1]
    edges = cv2.Canny(crop, 20, 60)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for c in contours:
        bx, by, bw, bh = cv2.boundingRect(c)
        fill = cv2.contourArea(c) / max(bw * bh, 1)
        # dilation grew each edge by one pixel on each side
        out.append(Rect(x0 + bx + 1, y0 + by + 1, x0 + bx + bw - 1, y0 + by + bh - 1, fill))
    return out


def field_near(image: "Image | np.ndarray", label: Box, prefer: str = "any") -> Rect | None:
    """The input box (text field, dropdown, spin box) belonging to the text at ``label``.

    Looks right of the label first (rectangles 1-3.5 label heights tall, at least 3 wide, whose
    left edge is within 12 heights of the label's right end and whose rows cover the label's
    middle), then below it (top within 2.5 heights of the label's bottom, left edge near the
    label's left); then the same places for boxes up to 40 heights tall (multi-line text
    areas). Only closed frames count. ``prefer``: ``right``/``below`` to look only
    there. Returns the nearest such rectangle or None.
    """
    gray = _gray(image)
    lx1, ly1, lx2, ly2 = (int(round(v)) for v in label)
    h = max(ly2 - ly1, 8)
    cy = (ly1 + ly2) / 2
    # closed frames only (fill: a frame's outer contour encloses its whole rectangle; strokes
    # of text or a chance chain of edges do not); first one-line boxes near the label, then
    # taller ones (multi-line text areas) in a window reaching 40 label heights down
    for tallest, down in ((3.5 * h, 2.5 * h), (40.0 * h, 40 * h)):
        right = _rects(gray, lx2 - h, int(cy - 2.5 * h), lx2 + 40 * h, int(cy + down)) \
            if prefer in ("any", "right") else []
        found = [r for r in right
                 if 0.9 * h <= r.height <= tallest and r.width >= 3 * h and r.fill >= 0.8
                 and lx2 - h // 2 <= r.x1 <= lx2 + 12 * h and r.y1 <= cy <= r.y2]
        if found:
            # nearest; of a frame and its inside (same start) the outer one
            return min(found, key=lambda r: (r.x1 - lx2, -r.width))
        below = _rects(gray, lx1 - 3 * h, ly2 - 2, lx1 + 50 * h, int(ly2 + 2.5 * h + down)) \
            if prefer in ("any", "below") else []
        found = [r for r in below
                 if 0.9 * h <= r.height <= tallest and r.width >= 3 * h and r.fill >= 0.8
                 and ly2 - h // 3 <= r.y1 <= ly2 + 2.5 * h and r.x1 - 3 * h <= lx1 <= r.x1 + 2 * h]
        if found:
            return min(found, key=lambda r: (r.y1, -r.width))
    return None


def enclosing_box(image: "Image | np.ndarray", text: Box) -> Rect | None:
    """The control (button, field, dropdown) drawn around the text at ``text``, if any:
    the smallest rectangle at most 3.5 text heights tall that contains the text's middle."""
    gray = _gray(image)
    x1, y1, x2, y2 = (int(round(v)) for v in text)
    h = max(y2 - y1, 8)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    best = None
    for r in _rects(gray, x1 - 30 * h, y1 - 2 * h, x2 + 30 * h, y2 + 2 * h):
        if r.height > 3.5 * h or r.height < 0.8 * h or r.width < (x2 - x1) * 0.9:
            continue
        if not r.contains(cx, cy):
            continue
        if best is None or r.width * r.height < best.width * best.height:
            best = r
    return best


def checkbox_near(image: "Image | np.ndarray", caption: Box) -> Rect | None:
    """The square check box left of (or just inside the left end of) the caption at ``caption``.

    Squares of 0.4-1.3 caption heights whose middle is level with the caption's and whose
    right edge lies between 4 heights left of the caption and 2 heights into it (OCR boxes
    often swallow the box itself). Returns the one nearest the caption's start, or None.
    """
    gray = _gray(image)
    x1, y1, x2, y2 = (int(round(v)) for v in caption)
    h = max(y2 - y1, 8)
    cy = (y1 + y2) / 2
    found = []
    for r in _rects(gray, x1 - 5 * h, int(cy - 1.5 * h), x1 + 2 * h, int(cy + 1.5 * h)):
        if not (0.4 * h <= r.width <= 1.3 * h and 0.4 * h <= r.height <= 1.3 * h):
            continue
        if abs(r.width - r.height) > max(3, 0.2 * r.width) or r.fill < 0.8:
            continue  # not square, or not a closed frame (a letter such as "u" or "o")
        if abs(r.center[1] - cy) > 0.4 * h or not (x1 - 4 * h <= r.x2 <= x1 + 2 * h):
            continue
        found.append(r)
    if not found:
        return None
    # the outer square of nested ones (frame and inner bevel), nearest to the caption
    return min(found, key=lambda r: (abs(r.x2 - x1) // max(h // 2, 1), -r.width))


def is_checked(image: "Image | np.ndarray", box: Rect) -> bool:
    """True when the check box ``box`` shows a tick (or cross, or fill).

    The inside (the box minus a fifth on each side, which drops the frame and its bevel) is
    compared with its own brightest/most common level: more than 6% of its pixels darker
    than that by 60+ grey levels means a mark is drawn.
    """
    import numpy as np

    gray = _gray(image)
    mx = max(2, box.width // 5)
    my = max(2, box.height // 5)
    inner = gray[box.y1 + my: box.y2 - my, box.x1 + mx: box.x2 - mx]
    if inner.size == 0:
        return False
    background = float(np.percentile(inner, 90))
    marked = np.count_nonzero(inner < background - 60) / inner.size
    return bool(marked > 0.06)


def slider_near(image: "Image | np.ndarray", label: Box) -> Rect | None:
    """The track of a horizontal slider (scale) belonging to the label at ``label``: a closed
    or open bar at least 5 label heights long and at most 1.2 tall, right of the label (its left
    end within 12 heights) and level with it (its middle within 1.5 heights of the label's).
    Returns the longest such bar, or None."""
    gray = _gray(image)
    lx1, ly1, lx2, ly2 = (int(round(v)) for v in label)
    h = max(ly2 - ly1, 8)
    cy = (ly1 + ly2) / 2
    found = [r for r in _rects(gray, lx2, int(cy - 2 * h), lx2 + 45 * h, int(cy + 2 * h))
             if r.width >= 5 * h and 2 <= r.height <= 1.2 * h and lx2 - h <= r.x1 <= lx2 + 12 * h
             and abs(r.center[1] - cy) <= 1.5 * h]
    return max(found, key=lambda r: r.width) if found else None


def frame_at(image: "Image | np.ndarray", x: float, y: float) -> Rect | None:
    """The one-line input box around the point ``(x, y)`` (where a field was clicked): the
    smallest closed rectangle containing it that is 14-46 px tall and at least twice as wide,
    or None."""
    gray = _gray(image)
    best = None
    for r in _rects(gray, int(x) - 400, int(y) - 50, int(x) + 400, int(y) + 50):
        if not (14 <= r.height <= 46 and r.width >= 2 * r.height and r.fill >= 0.8 and r.contains(x, y)):
            continue
        if best is None or r.width * r.height < best.width * best.height:
            best = r
    return best
