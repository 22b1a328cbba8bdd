"""Controls whose caption the text detector misses: lone glyphs on keys (``7``, ``=``, ``C``).

The detector (DB) finds lines of text; a single character alone on a button is often below what
it reports (issue 17: galculator's digit keys, xcalc's ``7``). Such keys are still drawn as
closed frames, so: find button-sized closed rectangles (:mod:`.controls`' edge contours) that no
OCR line falls in, cut each one's ink tightly (the glyph with a margin of half its height: the
recogniser misreads a small glyph lost in a large empty crop) and run only the recogniser on
the cuts. Returns them as :class:`TextBox` lines, boxed on the glyph, so matching treats them
like any other text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tars.models.lite.matching import TextBox

if TYPE_CHECKING:
    from PIL.Image import Image

#: at most this many unlabelled controls are read per screenshot (cost bound)
MAX_CONTROLS = 64
#: readings the recogniser is less sure of are dropped
MIN_SCORE = 0.4
#: glyphs the recogniser writes for ASCII punctuation on keys
_FIX = {"·": ".", "。": ".", "，": ",", "：": ":", "一": "-", "—": "-", "–": "-"}


def unlabelled_controls(image: "Image", lines: list[TextBox]) -> list[tuple[int, int, int, int]]:
    """Boxes ``(x1, y1, x2, y2)`` of button-sized closed frames (16-80 px tall, 16-240 wide,
    at most 6 times wider than tall) with no OCR line's middle inside, outermost of nested
    frames, top to bottom. At most :data:`MAX_CONTROLS`."""
    import cv2
    import numpy as np

    gray = np.asarray(image.convert("L"))
    edges = cv2.dilate(cv2.Canny(gray, 20, 60), np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    found = []
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        if not (16 <= h <= 80 and 16 <= w <= 240 and w <= 6 * h):
            continue
        if cv2.contourArea(c) / max(w * h, 1) < 0.8:
            continue
        box = (x + 1, y + 1, x + w - 1, y + h - 1)
        if any(box[0] <= (ln.box[0] + ln.box[2]) / 2 < box[2] and box[1] <= (ln.box[1] + ln.box[3]) / 2 < box[3]
               for ln in lines):
            continue
        found.append(box)
    # nested frames (a key's border and its bevel): keep the outer one
    outer = [b for b in found if not any(o != b and o[0] <= b[0] and o[1] <= b[1] and b[2] <= o[2]
                                         and b[3] <= o[3] for o in found)]
    outer.sort(key=lambda b: (b[1], b[0]))
    return outer[:MAX_CONTROLS]


def _ink(gray, box) -> tuple[int, int, int, int] | None:
    """Bounds of the pixels inside ``box`` (4 px in from its frame) that differ from its
    background (median) by more than 60 grey levels; None when it is empty."""
    import numpy as np

    x1, y1, x2, y2 = box
    inner = gray[y1 + 4:y2 - 4, x1 + 4:x2 - 4].astype(int)
    if inner.size == 0:
        return None
    ys, xs = np.nonzero(np.abs(inner - np.median(inner)) > 60)
    if len(xs) < 4:
        return None
    return (int(xs.min()) + x1 + 4, int(ys.min()) + y1 + 4, int(xs.max()) + x1 + 5, int(ys.max()) + y1 + 5)


def read_glyphs(image: "Image", lines: list[TextBox], engine) -> list[TextBox]:
    """The captions of :func:`unlabelled_controls`, read by ``engine.recognize`` (an
    :class:`~tars.models.lite.ocr.OcrEngine`) from tight cuts of their ink; boxes are the
    glyphs' own (screenshot pixels). Readings under :data:`MIN_SCORE` are dropped."""
    import numpy as np

    rgb = np.asarray(image.convert("RGB"))
    gray = np.asarray(image.convert("L"))
    H, W = gray.shape
    crops: list = []
    boxes: list[tuple[float, float, float, float]] = []
    for box in unlabelled_controls(image, lines):
        ink = _ink(gray, box)
        if ink is None:
            continue
        ax1, ay1, ax2, ay2 = ink
        h = max(ay2 - ay1, 12)
        pad = h // 2 + 2
        cy = (ay1 + ay2) // 2
        y1, y2 = max(0, cy - h // 2 - pad // 2 - 2), min(H, cy + h // 2 + pad // 2 + 2)
        x1, x2 = max(0, ax1 - pad), min(W, ax2 + pad)
        crops.append(np.ascontiguousarray(rgb[y1:y2, x1:x2, ::-1]))
        boxes.append((float(ax1), float(ay1), float(ax2), float(ay2)))
    out = []
    for (text, score), glyph in zip(engine.recognize(crops), boxes):
        text = "".join(_FIX.get(ch, ch) for ch in text).strip()
        if text and score >= MIN_SCORE:
            out.append(TextBox(text, glyph, score))
    return out
