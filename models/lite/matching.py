"""Tolerant matching of a target phrase against the text that OCR found on screen.

A person writes ``click the Sumbit button`` or ``check "I agree to the terms"``; OCR reads
``Submit`` or `` I agree to the terms`` or ``Createyour account``. Both sides are normalised
(:func:`normalize`: Unicode NFKD with accents dropped, lower case, punctuation to spaces,
runs of spaces collapsed) and then compared with rapidfuzz's ``ratio`` (normalised Indel
similarity, 0..100), which forgives a letter or two of OCR error. A target may also be part of
a longer line (menu bars come out of OCR as one line, ``File  Edit``): every run of
consecutive words of a line with as many words as the target is tried too, and the box of that
run is estimated from character positions (OCR boxes are per line; glyph widths of UI fonts
are close enough to even for a click in the middle of a word).

Short words suffer most from one misread letter (``Eile`` for ``File``, whose underlined
mnemonic confuses the recogniser: ratio 75), so a reading within one edit of a target of 4-9
characters (two edits from 10) also counts, at a score of 85.

A line shorter than the target never matches as a part of it: an icon read as ``R`` is not
``Replace all`` (issue 17: such fragments made lite click the wrong thing and claim success).

Where it fails: text drawn as an image, icons without text, very short targets (``OK`` vs
``Ok``/``0K`` is fine, but a one-letter target only matches exactly), and two lines that
are equally good matches — then the first in reading order wins and ``the second X`` picks
another.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: similarity (0..100, rapidfuzz ratio) below which a text is not the target
DEFAULT_THRESHOLD = 80.0

_PUNCT = re.compile(r"[^\w]+", re.UNICODE)


def normalize(text: str) -> str:
    """Fold ``text`` for comparison: accents dropped, lower case, punctuation as spaces.

    >>> normalize("  Café, s'il-vous-plaît!  ")
    'cafe s il vous plait'
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_PUNCT.sub(" ", stripped.replace("_", " ")).lower().split())


class _Boxed:
    """``center`` and ``height`` of a ``box`` (x1, y1, x2, y2) in screenshot pixels."""

    box: tuple[float, float, float, float]

    @property
    def center(self) -> tuple[float, float]:
        """Centre of the box, screenshot pixels."""
        x1, y1, x2, y2 = self.box
        return ((x1 + x2) / 2, (y1 + y2) / 2)

    @property
    def height(self) -> float:
        """Box height in pixels (for a line of text, about the font's line height)."""
        return self.box[3] - self.box[1]


@dataclass(frozen=True)
class TextBox(_Boxed):
    """A line of text found on screen: ``text`` and its box ``(x1, y1, x2, y2)`` in screenshot
    pixels (x2, y2 exclusive), with the recogniser's confidence ``score`` (0..1)."""

    text: str
    box: tuple[float, float, float, float]
    score: float = 1.0


@dataclass(frozen=True)
class Match(_Boxed):
    """A place where the target was found: ``box`` (the matching part of ``line``), the
    similarity ``score`` (0..100) and whether it is the whole line (``whole``)."""

    line: TextBox
    box: tuple[float, float, float, float]
    score: float
    whole: bool


#: the recogniser's usual confusions on screen fonts, folded on both sides before comparing
_OCR_FOLDS = (("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"), ("|", "l"), ("5", "s"))


def _fold(text: str) -> str:
    for a, b in _OCR_FOLDS:
        text = text.replace(a, b)
    return text.replace(" ", "")


#: score given to a reading one edit away from a target of 4-9 characters (two edits from 10):
#: "Eile" for "File" (an underlined mnemonic) has ratio 75, below any safe threshold
EDIT_SCORE = 85.0


def _edits_allowed(text: str) -> int:
    n = len(text.replace(" ", ""))
    return 0 if n < 4 else 1 if n < 10 else 2


def _similarity(a: str, b: str) -> float:
    from rapidfuzz import fuzz
    from rapidfuzz.distance import Levenshtein

    if a == b:
        return 100.0
    # OCR drops or adds spaces ("Createyour account") and confuses rn/m, 0/o, 1/l: compare
    # the folded forms too, one point lower so that an exact reading still wins.
    score = max(fuzz.ratio(a, b), fuzz.ratio(_fold(a), _fold(b)) - 1.0)
    allowed = _edits_allowed(a)
    if allowed and Levenshtein.distance(a, b, score_cutoff=allowed) <= allowed:
        score = max(score, EDIT_SCORE)
    return score


def _char_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, normalised word) for each word of ``text``, offsets into ``text``."""
    spans = []
    for m in re.finditer(r"\w+", text, re.UNICODE):
        word = normalize(m.group(0))
        if word:
            spans.append((m.start(), m.end(), word))
    return spans


def _sub_box(line: TextBox, start: int, end: int) -> tuple[float, float, float, float]:
    """Box of characters ``start:end`` of ``line.text``, by even spacing across the box."""
    x1, y1, x2, y2 = line.box
    n = max(len(line.text), 1)
    width = x2 - x1
    return (x1 + width * start / n, y1, x1 + width * end / n, y2)


def _substring_match(want: str, line: TextBox, threshold: float) -> "Match | None":
    from rapidfuzz import fuzz

    raw = unicodedata.normalize("NFKD", line.text)
    raw = "".join(c for c in raw if not unicodedata.combining(c)).lower()
    if len(raw) != len(line.text):  # offsets would not map back onto the box
        return None
    from rapidfuzz.distance import Levenshtein

    allowed = _edits_allowed(want)
    # partial_ratio aligns the *shorter* string inside the longer one: a line shorter than the
    # target would be looked for inside the target, so a one-letter OCR fragment ("R", "e")
    # would "contain" any target holding that letter. Only a line at least as long as the
    # target (less its edit allowance) can hold it.
    if len(raw.replace(" ", "")) < len(want.replace(" ", "")) - allowed:
        return None
    align = fuzz.partial_ratio_alignment(want, raw)
    if align is None:
        return None
    text, a, b = line.text, align.dest_start, align.dest_end
    if len(raw[a:b].replace(" ", "")) < len(want.replace(" ", "")) - allowed:
        return None  # the aligned part is too short to be the whole target
    near = allowed and Levenshtein.distance(want, raw[a:b], score_cutoff=allowed) <= allowed
    if align.score < max(threshold, 90.0) and not near:
        return None
    # only at word boundaries, where a case change counts as one ("File|Edit", not "Un|saved")
    starts = a == 0 or not text[a - 1].isalpha() or (text[a].isupper() and text[a - 1].islower())
    ends = b >= len(text) or not text[b].isalpha() or (text[b].isupper() and text[b - 1].islower())
    if not (starts and ends):
        return None
    box = _sub_box(line, align.dest_start, align.dest_end)
    score = min(align.score, 95.0) - 5.0
    return Match(line, box, max(score, EDIT_SCORE - 5.0) if near else score, False)


def find_matches(target: str, lines: list[TextBox], threshold: float = DEFAULT_THRESHOLD) -> list[Match]:
    """Every place ``target`` appears in ``lines``, best first, then in reading order.

    A line matches as a whole, or through a run of its words (the box then covers just those
    words). Each line gives at most one match (its best). Scores at or above ``threshold``
    count; an exact whole-line match scores 100 and a target found word for word inside a
    longer line 99, so "Save" prefers a ``Save`` button over a ``Save note`` title; a target
    found only as a close substring of a line whose words OCR ran together (``FileEdit``)
    scores at most 90.
    Targets of one or two characters must match exactly (fuzzy matching means nothing there).
    """
    want = normalize(target)
    if not want:
        # a symbol key ("+", "=", "*"): only the same symbols, drawn alone, count
        sym = "".join(target.split())
        if not sym:
            return []
        return [Match(line, line.box, 100.0, True) for line in lines if "".join(line.text.split()) == sym]
    n_words = len(want.split())
    strict = len(want.replace(" ", "")) <= 2
    found: list[Match] = []
    for line in lines:
        have = normalize(line.text)
        if not have:
            continue
        best: Match | None = None
        whole = _similarity(want, have)
        if whole >= threshold and not (strict and want != have):
            best = Match(line, line.box, whole, True)
        spans = _char_spans(line.text)
        if len(spans) > n_words:
            for i in range(len(spans) - n_words + 1):
                run = spans[i:i + n_words]
                words = " ".join(w for _, _, w in run)
                score = _similarity(want, words)
                if strict and want != words:
                    continue
                score = min(score, 99.0)  # a part of a line never beats an exact whole line
                if score >= threshold and (best is None or score > best.score):
                    best = Match(line, _sub_box(line, run[0][0], run[-1][1]), score, False)
        if best is None and not strict and len(want) >= 3:
            # words run together by OCR ("FileEdit"): a close substring of the raw line, at a
            # lower score than any word-for-word match
            best = _substring_match(want, line, threshold)
        if best is not None:
            found.append(best)
    # best first; ties in reading order (top to bottom, then left to right, rows of ~half a line)
    found.sort(key=lambda m: (-round(m.score), round(m.box[1] / max(m.height, 1) * 2), m.box[0]))
    return found


def reading_order(matches: list[Match]) -> list[Match]:
    """``matches`` sorted top to bottom, left to right (rows are half a line height tall)."""
    return sorted(matches, key=lambda m: (round(m.center[1] / max(m.height, 1) * 2), m.box[0]))


def pick(target: str, lines: list[TextBox], ordinal: int = 1,
         threshold: float = DEFAULT_THRESHOLD) -> Match | None:
    """The ``ordinal``-th place ``target`` appears (1 = first; -1 = last), or None.

    With ordinal 1 the best match wins (ties: first in reading order). With another ordinal
    the matches as good as the best one (within 5 points) are counted in reading order, so
    ``the second Delete`` is the lower or the right one of two ``Delete`` buttons.
    """
    matches = find_matches(target, lines, threshold)
    if not matches:
        return None
    if ordinal == 1:
        return matches[0]
    top = matches[0].score
    peers = reading_order([m for m in matches if m.score >= top - 5])
    index = ordinal - 1 if ordinal > 0 else len(peers) + ordinal
    return peers[index] if 0 <= index < len(peers) else None
