"""Where tars puts its own windows so that they stay off the program the agent works on.

Pure geometry on rectangles ``(x, y, width, height)`` in one pixel space (the callers use the
desktop's root pixels / Qt's global coordinates). Used by the overlay (one spot for its panel
for a whole run, :func:`corner_spot`) and by the app (its window beside the target window,
:func:`beside`).
"""

from __future__ import annotations

Rect = tuple[int, int, int, int]


def overlap(a: Rect, b: Rect) -> int:
    """Area (pixels) shared by rectangles ``a`` and ``b``."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(0, w) * max(0, h)


def intersects(a: Rect, b: Rect) -> bool:
    """True when ``a`` and ``b`` share at least one pixel."""
    return overlap(a, b) > 0


def corner_spot(screen: Rect, size: tuple[int, int], avoid: list[Rect], margin: int = 12) -> Rect:
    """A ``size`` (w, h) rectangle in a corner of ``screen`` covering as little of ``avoid``
    as possible: the first rectangle of ``avoid`` (the target window) counts ten times the
    others. Corners are tried bottom-right, bottom-left, top-right, top-left (UI-TARS-desktop
    keeps its run widget bottom-right), then the middles of the left and right edges; the
    first with the least covered area wins, so the result is stable for equal inputs.
    """
    sx, sy, sw, sh = screen
    w, h = min(size[0], sw - 2 * margin), min(size[1], sh - 2 * margin)
    right, bottom = sx + sw - w - margin, sy + sh - h - margin
    left, top = sx + margin, sy + margin
    middle = sy + (sh - h) // 2
    spots = [(right, bottom), (left, bottom), (right, top), (left, top), (left, middle),
             (right, middle)]
    best: tuple[int, Rect] | None = None
    for x, y in spots:
        r = (x, y, w, h)
        cost = sum(overlap(r, a) * (10 if i == 0 else 1) for i, a in enumerate(avoid))
        if best is None or cost < best[0]:
            best = (cost, r)
    assert best is not None
    return best[1]


def beside(screen: Rect, target: Rect | None, size: tuple[int, int],
           min_size: tuple[int, int] = (480, 360), margin: int = 0) -> Rect:
    """Where a window of preferred ``size`` goes so that it does not cover ``target``.

    Tries the free bands of ``screen`` right of, left of, below and above ``target``; in
    each the window gets ``size`` clipped to the band. The band that gives the largest window
    at least ``min_size`` wins. When none is large enough the window is docked to the screen
    edge farthest from the target's centre at ``min_size`` (it then covers part of the target:
    there is no room). No target: ``size`` centred on the screen.
    """
    sx, sy, sw, sh = screen
    w0, h0 = min(size[0], sw), min(size[1], sh)
    if target is None:
        return (sx + (sw - w0) // 2, sy + (sh - h0) // 2, w0, h0)
    tx, ty, tw, th = target
    bands = [  # (x, y, w, h) of the free area
        (tx + tw + margin, sy, sx + sw - (tx + tw + margin), sh),  # right
        (sx, sy, tx - margin - sx, sh),  # left
        (sx, ty + th + margin, sw, sy + sh - (ty + th + margin)),  # below
        (sx, sy, sw, ty - margin - sy),  # above
    ]
    best: tuple[int, Rect] | None = None
    for bx, by, bw, bh in bands:
        w, h = min(w0, bw), min(h0, bh)
        if w < min(min_size[0], w0) or h < min(min_size[1], h0):
            continue
        # against the target's side of the band, vertically/horizontally centred on it
        x = bx if bx > tx else bx + bw - w
        y = by if by > ty else by + bh - h
        if bw == sw:  # a band above/below: centre horizontally on the target
            x = min(max(sx, tx + (tw - w) // 2), sx + sw - w)
        else:
            y = min(max(sy, ty + (th - h) // 2), sy + sh - h)
        if best is None or w * h > best[0]:
            best = (w * h, (x, y, w, h))
    if best is not None:
        return best[1]
    w, h = min(min_size[0], sw), min(max(min_size[1], h0), sh)
    cx = tx + tw / 2
    x = sx if cx - sx > sx + sw - cx else sx + sw - w
    return (x, sy + (sh - h) // 2, w, h)
