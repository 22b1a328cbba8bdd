"""The typed action space: one frozen dataclass per UI-TARS function.

The names of the functions and their arguments follow the UI-TARS action language
(UI-TARS paper, arXiv:2501.12326, Table 1 and the prompt templates of the reference
implementation `bytedance/UI-TARS`). Coordinates are plain numbers whose space depends on
where an action is in the pipeline (DESIGN.md, Coordinates):

* straight out of :func:`tars.actions.parse.parse_response` they are in **model space**
  (0..1000 for ``relative`` models, resized-image pixels for ``resized`` ones);
* after :func:`tars.actions.coords.action_to_screen` they are integer **screen points**, what
  pyautogui / pynput take, and that is all an operator ever sees.

Every action can be turned into JSON (:meth:`Action.to_json`, the shape ``tars parse`` prints),
back into UI-TARS action text (:meth:`Action.to_text`, used for history and demonstrations),
and have its points mapped to another space (:meth:`Action.map_points`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterator

Point = tuple[float, float]

#: dataclass field -> JSON name where DESIGN.md's JSON differs (a drag is x, y, x2, y2)
_JSON_NAMES = {"x1": "x", "y1": "y"}

#: Directions accepted by :class:`Scroll`.
SCROLL_DIRECTIONS = ("up", "down", "left", "right")

#: Wheel notches per UI-TARS ``scroll`` when the model gives no amount. The UI-TARS reference
#: executor scrolls 5 "clicks" per call; we keep that number so behaviour matches training.
DEFAULT_SCROLL_AMOUNT = 5
#: The most wheel notches one scroll may take (Qwen tool calls are capped the same way).
MAX_SCROLL_AMOUNT = 50

#: Seconds a bare ``wait()`` sleeps (UI-TARS prompt: "Sleep for 5s and take a screenshot").
DEFAULT_WAIT_SECONDS = 5.0
#: The longest one ``wait`` may be, in seconds, whatever the dialect: a model that needs longer
#: waits again and looks at the screen in between (issue 16: a tool-call wait of 3600 s).
MAX_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class Action:
    """Base of all actions. ``name`` is the UI-TARS function name (``click``, ``drag``, ...)."""

    name: ClassVar[str] = ""
    #: point fields, in pairs, that :meth:`map_points` converts
    point_fields: ClassVar[tuple[tuple[str, str], ...]] = ()

    def points(self) -> Iterator[Point]:
        """Yield every (x, y) the action targets, in its current coordinate space."""
        for fx, fy in self.point_fields:
            x, y = getattr(self, fx), getattr(self, fy)
            if x is not None and y is not None:
                yield (x, y)

    def map_points(self, fn: Callable[[float, float], tuple[float, float]]) -> "Action":
        """Return a copy with every point replaced by ``fn(x, y)``; other fields are kept."""
        changes: dict[str, Any] = {}
        for fx, fy in self.point_fields:
            x, y = getattr(self, fx), getattr(self, fy)
            if x is None or y is None:
                continue
            changes[fx], changes[fy] = fn(x, y)
        return dataclasses.replace(self, **changes) if changes else self

    def to_json(self) -> dict[str, Any]:
        """JSON object: ``{"action": name, <fields>}`` with DESIGN.md's field names (the
        `tars parse` output and the trajectory format): a drag's points are ``x, y, x2, y2``
        and every key action carries ``keys``, a list of canonical names."""
        out: dict[str, Any] = {"action": self.name}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "key":
                out["keys"] = [value]
                continue
            out[_JSON_NAMES.get(f.name, f.name)] = list(value) if isinstance(value, tuple) else value
        return out

    def to_text(self) -> str:
        """UI-TARS action text for this action, e.g. ``click(start_box='(10,20)')``.

        Points are written as ``(x,y)`` with integers, in the action's current space.
        """
        raise NotImplementedError

    @property
    def ends_run(self) -> bool:
        """True for the actions that end a run (``finished``, ``call_user``)."""
        return False


def _box(x: float, y: float) -> str:
    return f"'({round(x)},{round(y)})'"


def _quote(text: str) -> str:
    # UI-TARS writes content in single quotes with \' and \n escaped.
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


@dataclass(frozen=True)
class _PointAction(Action):
    x: float
    y: float
    point_fields: ClassVar = (("x", "y"),)

    def to_text(self) -> str:
        return f"{self.name}(start_box={_box(self.x, self.y)})"


@dataclass(frozen=True)
class Click(_PointAction):
    """Left click at (x, y). UI-TARS: ``click(start_box=...)``, also ``point=``."""

    name: ClassVar[str] = "click"


@dataclass(frozen=True)
class DoubleClick(_PointAction):
    """Left double click at (x, y). UI-TARS: ``left_double(start_box=...)``."""

    name: ClassVar[str] = "left_double"


@dataclass(frozen=True)
class RightClick(_PointAction):
    """Right click at (x, y). UI-TARS: ``right_single(start_box=...)``."""

    name: ClassVar[str] = "right_single"


@dataclass(frozen=True)
class MoveTo(_PointAction):
    """Move the pointer to (x, y) without clicking (hover). UI-TARS: ``mouse_move``/``hover``."""

    name: ClassVar[str] = "mouse_move"


@dataclass(frozen=True)
class LongPress(_PointAction):
    """Mobile: press and hold at (x, y). UI-TARS mobile: ``long_press(start_box=...)``."""

    name: ClassVar[str] = "long_press"


@dataclass(frozen=True)
class Drag(Action):
    """Press at (x1, y1), move with the button held, release at (x2, y2).

    UI-TARS: ``drag(start_box=..., end_box=...)``, ``select(...)``, ``start_point``/``end_point``.
    """

    name: ClassVar[str] = "drag"
    point_fields: ClassVar = (("x1", "y1"), ("x2", "y2"))
    x1: float
    y1: float
    x2: float
    y2: float

    def to_text(self) -> str:
        return f"drag(start_box={_box(self.x1, self.y1)}, end_box={_box(self.x2, self.y2)})"


@dataclass(frozen=True)
class Scroll(Action):
    """Scroll ``amount`` wheel notches in ``direction`` with the pointer at (x, y).

    ``x``/``y`` are None when the model gave no position (scroll where the pointer is).
    ``direction`` is one of :data:`SCROLL_DIRECTIONS`.
    """

    name: ClassVar[str] = "scroll"
    point_fields: ClassVar = (("x", "y"),)
    x: float | None
    y: float | None
    direction: str
    amount: int = DEFAULT_SCROLL_AMOUNT

    def to_text(self) -> str:
        where = f"start_box={_box(self.x, self.y)}, " if self.x is not None and self.y is not None else ""
        amount = f", amount={self.amount}" if self.amount != DEFAULT_SCROLL_AMOUNT else ""
        return f"scroll({where}direction='{self.direction}'{amount})"


@dataclass(frozen=True)
class Hotkey(Action):
    """Press a key combination: modifiers held down, the last key tapped, released in reverse.

    ``keys`` are canonical names from :mod:`tars.actions.keys`, e.g. ``("ctrl", "c")``.
    UI-TARS: ``hotkey(key='ctrl c')``.
    """

    name: ClassVar[str] = "hotkey"
    keys: tuple[str, ...]

    def to_text(self) -> str:
        # the plus key is written as its name: a bare "+" between keys reads as a separator
        return f"hotkey(key={_quote(' '.join('plus' if k == '+' else k for k in self.keys))})"


@dataclass(frozen=True)
class _KeyAction(Action):
    key: str

    def to_text(self) -> str:
        return f"{self.name}(key={_quote(self.key)})"


@dataclass(frozen=True)
class Press(_KeyAction):
    """Tap one key (down and up). ``key`` is a canonical name. UI-TARS: ``press(key=...)``."""

    name: ClassVar[str] = "press"


@dataclass(frozen=True)
class KeyDown(_KeyAction):
    """Hold one key down until a matching :class:`KeyUp`. UI-TARS: ``keydown(key=...)``."""

    name: ClassVar[str] = "keydown"


@dataclass(frozen=True)
class KeyUp(_KeyAction):
    """Release a key held by :class:`KeyDown`. UI-TARS: ``keyup(key=...)``."""

    name: ClassVar[str] = "keyup"


@dataclass(frozen=True)
class Type(Action):
    """Type ``text`` exactly as written.

    UI-TARS convention: a trailing newline means "and submit", performed as one Enter key
    (:attr:`submit`); :attr:`body` is the text without it. Newlines inside the text are typed.
    """

    name: ClassVar[str] = "type"
    text: str

    @property
    def submit(self) -> bool:
        """True when the text ends with a newline, i.e. Enter is pressed after typing."""
        return self.text.endswith("\n")

    @property
    def body(self) -> str:
        """The text to type, without the single trailing newline that means submit."""
        return self.text[:-1] if self.submit else self.text

    def to_text(self) -> str:
        return f"type(content={_quote(self.text)})"


@dataclass(frozen=True)
class Wait(Action):
    """Do nothing for ``seconds`` seconds, then look again. UI-TARS: ``wait()`` (5 s);
    tars' own policies may write ``wait(seconds=2)`` (0-60 s)."""

    name: ClassVar[str] = "wait"
    seconds: float = DEFAULT_WAIT_SECONDS

    def __post_init__(self) -> None:
        # every dialect builds its waits here, so the bound holds everywhere (parsers turn the
        # ValueError into a ParseError that is fed back to the model)
        seconds = self.seconds
        if not (isinstance(seconds, (int, float)) and math.isfinite(seconds)
                and 0 <= seconds <= MAX_WAIT_SECONDS):
            raise ValueError(f"a wait must be 0-{MAX_WAIT_SECONDS:g} seconds, got {seconds!r}; "
                             "wait several times to wait longer")

    def to_text(self) -> str:
        if self.seconds == DEFAULT_WAIT_SECONDS:
            return "wait()"
        return f"wait(seconds={self.seconds:g})"


@dataclass(frozen=True)
class Finished(Action):
    """The model says the task is done; ``content`` is its final answer (may be empty)."""

    name: ClassVar[str] = "finished"
    content: str = ""

    def to_text(self) -> str:
        return f"finished(content={_quote(self.content)})"

    @property
    def ends_run(self) -> bool:
        return True


@dataclass(frozen=True)
class CallUser(Action):
    """The model hands over to the person (task infeasible, login needed, ...)."""

    name: ClassVar[str] = "call_user"
    content: str = ""

    def to_text(self) -> str:
        return f"call_user(content={_quote(self.content)})" if self.content else "call_user()"

    @property
    def ends_run(self) -> bool:
        return True


@dataclass(frozen=True)
class OpenApp(Action):
    """Mobile: open the app called ``app_name``. UI-TARS mobile: ``open_app(app_name=...)``."""

    name: ClassVar[str] = "open_app"
    app_name: str

    def to_text(self) -> str:
        return f"open_app(app_name={_quote(self.app_name)})"


@dataclass(frozen=True)
class PressHome(Action):
    """Mobile: the home button. UI-TARS mobile: ``press_home()``."""

    name: ClassVar[str] = "press_home"

    def to_text(self) -> str:
        return "press_home()"


@dataclass(frozen=True)
class PressBack(Action):
    """Mobile: the back button. UI-TARS mobile: ``press_back()``."""

    name: ClassVar[str] = "press_back"

    def to_text(self) -> str:
        return "press_back()"


#: Every concrete action class, by UI-TARS function name.
ACTION_TYPES: dict[str, type[Action]] = {
    cls.name: cls
    for cls in (
        Click, DoubleClick, RightClick, MoveTo, LongPress, Drag, Scroll, Hotkey, Press, KeyDown,
        KeyUp, Type, Wait, Finished, CallUser, OpenApp, PressHome, PressBack,
    )
}

#: Actions a desktop operator refuses (they only make sense on a phone).
MOBILE_ONLY: frozenset[type[Action]] = frozenset({LongPress, OpenApp, PressHome, PressBack})


def action_from_json(data: dict[str, Any]) -> Action:
    """Rebuild an action from :meth:`Action.to_json` output (trajectories, replays).

    Raises:
        ValueError: unknown ``action`` name or fields that do not fit the class.
    """
    data = dict(data)
    name = data.pop("action", None)
    cls = ACTION_TYPES.get(str(name))
    if cls is None:
        raise ValueError(f"unknown action {name!r}")
    if cls is Drag and "x1" not in data:
        data["x1"], data["y1"] = data.pop("x", None), data.pop("y", None)
    if "keys" in data:
        keys = tuple(data.pop("keys"))
        if issubclass(cls, _KeyAction):
            if len(keys) != 1:
                raise ValueError(f"{name} takes one key, got {list(keys)}")
            data["key"] = keys[0]
        else:
            data["keys"] = keys
    try:
        return cls(**data)
    except TypeError as exc:
        raise ValueError(f"bad fields for {name}: {exc}") from None


@dataclass(frozen=True)
class Step:
    """One parsed model answer: its reasoning and the actions it asks for, in order.

    ``thought`` is the text after ``Thought:`` (or the unlabelled reasoning), ``reflection``
    the text after ``Reflection:`` when present, ``summary`` the ``Action_Summary:`` text.
    """

    thought: str | None
    actions: tuple[Action, ...]
    reflection: str | None = None
    summary: str | None = None
    raw: str = field(default="", repr=False)

    def to_json(self) -> dict[str, Any]:
        """The object ``tars parse`` prints."""
        return {
            "thought": self.thought,
            "reflection": self.reflection,
            "actions": [a.to_json() for a in self.actions],
        }
