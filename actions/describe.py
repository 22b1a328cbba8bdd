"""Actions in words for people: one line per action (``Click at (400, 300)``).

Shared by every front end (the console, the overlay, the app's trace, the report) so an action
is worded the same everywhere. Pure: the action language only.
"""

from __future__ import annotations

from tars.actions.space import (
    Action,
    CallUser,
    Click,
    DoubleClick,
    Drag,
    Finished,
    Hotkey,
    KeyDown,
    KeyUp,
    LongPress,
    MoveTo,
    Press,
    RightClick,
    Scroll,
    Type,
    Wait,
)


def _pt(x: float | None, y: float | None) -> str:
    return f"({round(x)}, {round(y)})" if x is not None and y is not None else ""


def _short(text: str, limit: int = 60) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_action(action: Action) -> str:
    """One line in words for people, e.g. ``Click at (400, 300)``, ``Type "hi" and press Enter``.

    Points are printed as they are in ``action`` (screen points for a live step).
    """
    a = action
    if isinstance(a, Click):
        return f"Click at {_pt(a.x, a.y)}"
    if isinstance(a, DoubleClick):
        return f"Double-click at {_pt(a.x, a.y)}"
    if isinstance(a, RightClick):
        return f"Right-click at {_pt(a.x, a.y)}"
    if isinstance(a, MoveTo):
        return f"Move the pointer to {_pt(a.x, a.y)}"
    if isinstance(a, LongPress):
        return f"Long-press at {_pt(a.x, a.y)}"
    if isinstance(a, Drag):
        return f"Drag from {_pt(a.x1, a.y1)} to {_pt(a.x2, a.y2)}"
    if isinstance(a, Scroll):
        where = f" at {_pt(a.x, a.y)}" if a.x is not None else ""
        return f"Scroll {a.direction} {a.amount}{where}"
    if isinstance(a, Hotkey):
        return "Press " + "+".join(a.keys)
    if isinstance(a, Press):
        return f"Press {a.key}"
    if isinstance(a, KeyDown):
        return f"Hold {a.key} down"
    if isinstance(a, KeyUp):
        return f"Release {a.key}"
    if isinstance(a, Type):
        return f'Type "{_short(a.body)}"' + (" and press Enter" if a.submit else "")
    if isinstance(a, Wait):
        return f"Wait {a.seconds:g} s"
    if isinstance(a, Finished):
        return "Finished" + (f": {_short(a.content)}" if a.content else "")
    if isinstance(a, CallUser):
        return "Ask the user for help" + (f": {_short(a.content)}" if a.content else "")
    return a.to_text()
