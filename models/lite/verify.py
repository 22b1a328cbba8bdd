"""What lite checks after a step before it moves on: did the screen show the intended effect?

Every step lite performs is checked on the next screenshot (issue 17: a step is never claimed
that was not seen to work). The checks read only what is on screen:

* :func:`changed_boxes`: where two screenshots differ. A text caret (a thin vertical bar that
  blinks or moves) and single stray pixels are not changes; everything else is (a button that
  went down, a dialog that opened, a window that closed, a digit on a display).
* :func:`text_in_rect`: the text OCR reads inside a control's rectangle, also from lines that
  stick out of it (a label and a value OCR joined into one line: ``Quantity1``).
* :func:`reads_back`: whether the text that was typed is what a field shows (OCR's own
  confusions forgiven, one letter for 8+ characters; a lost or added character is not).

The policy (:mod:`.policy`) decides per kind of step which of these confirm it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tars.models.lite.matching import TextBox, normalize

if TYPE_CHECKING:
    from PIL.Image import Image

    from tars.models.lite.controls import Rect

Box = tuple[float, float, float, float]

#: grey-level difference (0..255) above which a pixel counts as changed
DIFF_LEVEL = 32


def changed_boxes(before: "Image", after: "Image") -> list[Box]:
    """Boxes ``(x1, y1, x2, y2)`` (screenshot pixels, exclusive end) of the regions that differ
    between two screenshots of the same size, largest first.

    Changed pixels (grey difference > :data:`DIFF_LEVEL`) are joined by a 5x5 dilation into
    regions; a region 3 pixels wide or less (a caret) or of fewer than 12 changed pixels is
    dropped. Screenshots of different sizes count as entirely changed.
    """
    import cv2
    import numpy as np

    if before.size != after.size:
        return [(0.0, 0.0, float(after.width), float(after.height))]
    a = np.asarray(before.convert("L"), dtype=np.int16)
    b = np.asarray(after.convert("L"), dtype=np.int16)
    mask = (np.abs(a - b) > DIFF_LEVEL).astype(np.uint8)
    if not mask.any():
        return []
    grown = cv2.dilate(mask, np.ones((5, 5), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    boxes = []
    for i in range(1, n):
        x, y, w, h, _area = stats[i]
        # the dilation grew each side by 2 pixels
        w0, h0 = w - 4, h - 4
        if w0 <= 3 or int(mask[labels == i].sum()) < 12:
            continue
        boxes.append((float(x + 2), float(y + 2), float(x + 2 + w0), float(y + 2 + h0)))
    return sorted(boxes, key=lambda bx: -(bx[2] - bx[0]) * (bx[3] - bx[1]))


def overlaps(a: Box, b: Box) -> bool:
    """True when boxes ``a`` and ``b`` share any area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def text_in_rect(lines: list[TextBox], rect: "Rect", exclude: TextBox | None = None) -> str:
    """The text OCR reads inside ``rect``: whole lines whose middle is inside, and from a line
    that only partly covers it (its middle row inside the rect's rows) the characters whose
    estimated position (even spacing across the line's box) falls inside. ``exclude``: a line
    to leave out (the label itself). Lines are joined with spaces, left to right."""
    parts: list[tuple[float, str]] = []
    for line in lines:
        if line is exclude:
            continue
        x1, y1, x2, y2 = line.box
        cy = (y1 + y2) / 2
        if not rect.y1 <= cy < rect.y2 or x2 <= rect.x1 or x1 >= rect.x2:
            continue
        if rect.x1 <= x1 and x2 <= rect.x2:
            parts.append((x1, line.text))
            continue
        n = max(len(line.text), 1)
        width = (x2 - x1) / n
        kept = "".join(ch for i, ch in enumerate(line.text)
                       if rect.x1 <= x1 + width * (i + 0.5) < rect.x2)
        if kept.strip():
            parts.append((x1, kept))
    return " ".join(t for _, t in sorted(parts)).strip()


#: OCR's usual confusions, folded on both sides before comparing typed text with a reading
_FOLDS = (("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"), ("|", "l"), ("i", "l"), ("5", "s"))


def _fold(text: str) -> str:
    s = "".join(ch for ch in text.lower() if not ch.isspace())
    for a, b in _FOLDS:
        s = s.replace(a, b)
    return s


def reads_back(typed: str, seen: str) -> bool:
    """True when ``seen`` (what OCR reads in the field or on screen) shows the whole of
    ``typed``: after folding case, spaces and OCR's usual confusions (0/o, 1/l, rn/m), ``typed``
    is inside ``seen``, or one window of ``seen`` as long as it is within one edit of it when
    it has 8 or more characters. Punctuation counts (a lost ``*`` or ``@`` is a failure) except
    where OCR drops it around words (``normalize`` forms compared too, for 8+ letters)."""
    from rapidfuzz.distance import Levenshtein

    t, s = _fold(typed), _fold(seen)
    if not t:
        return True
    if t in s:
        return True
    allowed = 1 if len(t) >= 8 else 0
    if allowed:
        for i in range(0, max(len(s) - len(t), 0) + 1):
            for width in (len(t) - 1, len(t), len(t) + 1):
                window = s[i:i + width]
                if len(window) >= len(t) - 1 and Levenshtein.distance(t, window) <= allowed:
                    return True
        tn, sn = _fold(normalize(typed)), _fold(normalize(seen))
        if len(tn) >= 8 and tn in sn:
            return True
    return False


def same_text(typed: str, seen: str) -> bool:
    """True when ``seen`` is ``typed`` and nothing more (folded as in :func:`reads_back`; one
    edit forgiven from 8 characters): a field read without its frame must not hold extra
    characters (``13`` is not ``3``)."""
    from rapidfuzz.distance import Levenshtein

    raw = seen.strip()
    # what a field's frame adds around its text: the caret after it (read as | l I) and the
    # edges of spin buttons or a drop-down arrow (] ) + -), never a character of the text
    ascii_typed = typed.isascii()
    while raw and (raw[-1] in _EDGE or (ascii_typed and not raw[-1].isascii())) \
            and not typed.rstrip().endswith(raw[-1]):
        raw = raw[:-1].rstrip()
    while raw and raw[0] in _EDGE and not typed.lstrip().startswith(raw[0]):
        raw = raw[1:].lstrip()
    t, s = _fold(typed), _fold(raw)
    return t == s or (len(t) >= 8 and Levenshtein.distance(t, s) <= 1)


#: characters a field's frame, caret or buttons add at the ends of a reading
_EDGE = "|lI[]{}()+-—–:;,"


def last_token(text: str) -> str:
    """The last run of letters/digits (and a decimal point) of ``text``: what a calculator's
    display shows after an expression is typed (``12*3`` -> ``3``)."""
    import re

    found = re.findall(r"[\w.]+", text)
    return found[-1] if found else ""
