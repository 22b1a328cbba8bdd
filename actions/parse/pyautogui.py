"""pyautogui code -> actions: the dialect of OpenCUA, Jedi and other code-writing agents.

OpenCUA (OSWorld ``mm_agents/opencua``) answers in sections and ends with a code block::

    ## Thought:
    ...
    ## Action:
    Click the Save button
    ## Code:
    ```python
    pyautogui.click(x=960, y=324)
    ```

plus the functions its prompt declares, ``computer.wait()``, ``computer.terminate(status=...)``
and ``computer.triple_click(x, y)``. Jedi's planner writes the same pyautogui calls.
:func:`parse_pyautogui` takes the **last** code block (as the OSWorld agent does), reads it
with the safe reader :func:`tars.actions.parse.pycall.read_calls` (literals only, never
``eval``) and maps each call onto :mod:`tars.actions.space`. Points stay in model space.

==================================  =========================================================
``click(x, y, clicks, interval,      :class:`Click`; ``clicks=2`` :class:`DoubleClick`;
button, duration)``                  ``button='right'`` :class:`RightClick`. Without x/y the
                                     pointer position must be known from an earlier call of
                                     the same answer (``moveTo``), else :class:`ParseError`.
``doubleClick`` / ``rightClick``     :class:`DoubleClick` / :class:`RightClick`
``moveTo(x, y)``                     :class:`MoveTo`
``dragTo(x, y)``                     :class:`Drag` from the known pointer position to (x, y)
``write`` / ``typewrite(message)``   :class:`Type`; ``typewrite`` of a list presses each key
``press(keys, presses)``             :class:`Press` (a list: each key), ``presses`` times
``hotkey(*keys)``                    :class:`Hotkey` through :func:`tars.actions.keys.normalize_key`
``keyDown`` / ``keyUp``              :class:`KeyDown` / :class:`KeyUp`
``scroll(clicks, x, y)``             :class:`Scroll` up (clicks > 0) or down, ``|clicks|``
                                     notches (at most 50); ``hscroll``: right (> 0) / left
``computer.wait()``, ``time.sleep``  :class:`Wait` (5 s without a number)
``computer.terminate(status)``       success -> :class:`Finished`; failure/fail ->
                                     :class:`CallUser` ``("task failed")`` (tars never reports a
                                     failure as a success)
bare ``WAIT`` / ``DONE`` / ``FAIL``  :class:`Wait` / :class:`Finished` / :class:`CallUser`
==================================  =========================================================

``middleClick``, ``tripleClick`` / ``computer.triple_click``, ``mouseDown``/``mouseUp`` and
relative moves have no action in tars's space and raise :class:`ParseError` saying so.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

from tars.actions import space
from tars.actions.keys import UnknownKeyError, normalize_key
from tars.actions.parse.errors import ParseError, clip
from tars.actions.parse.pycall import PyCall, read_calls
from tars.actions.space import Action, Step

#: at most this many wheel notches per scroll call (as the JSON tool-call dialect)
MAX_SCROLL_NOTCHES = 50
#: at most this many repeated key presses per ``press(..., presses=n)``
MAX_PRESSES = 50

_CODE_BLOCK_RE = re.compile(r"```(?:[A-Za-z0-9_+-]*)[ \t]*\n?(.*?)```", re.S)
_OPEN_BLOCK_RE = re.compile(r"```(?:[A-Za-z0-9_+-]*)[ \t]*\n(.*)\Z", re.S)
_SECTION_RE = re.compile(r"^#{1,3}\s*(Observation|Thought|Action|Code)\s*:?\s*$", re.I | re.M)
_STEP_RE = re.compile(r"^#\s*Step\s*\d*\s*:?\s*$", re.I | re.M)
_BARE_WORDS = {"WAIT", "DONE", "FAIL"}

#: a call of pyautogui / computer anywhere in the text marks this dialect
DETECT_RE = re.compile(r"\b(?:pyautogui|computer)\.[A-Za-z_]\w*\s*\(")

# pyautogui's positional parameters (its own signatures)
_POSITIONAL: dict[str, tuple[str, ...]] = {
    "click": ("x", "y", "clicks", "interval", "button", "duration"),
    "leftClick": ("x", "y", "interval", "duration"),
    "rightClick": ("x", "y", "duration"),
    "middleClick": ("x", "y", "duration"),
    "doubleClick": ("x", "y", "interval", "button", "duration"),
    "tripleClick": ("x", "y", "interval", "button", "duration"),
    "moveTo": ("x", "y", "duration"),
    "dragTo": ("x", "y", "duration", "button"),
    "write": ("message", "interval"),
    "typewrite": ("message", "interval"),
    "press": ("keys", "presses", "interval"),
    "keyDown": ("key",),
    "keyUp": ("key",),
    "scroll": ("clicks", "x", "y"),
    "vscroll": ("clicks", "x", "y"),
    "hscroll": ("clicks", "x", "y"),
    "sleep": ("secs",),
    "wait": ("seconds",),
    "terminate": ("status", "answer"),
    "triple_click": ("x", "y"),
}


class _Pointer:
    """Where the pointer is after the calls read so far (model space), or None."""

    def __init__(self) -> None:
        self.at: tuple[float, float] | None = None


def _bind(call: PyCall, fn: str) -> dict[str, Any]:
    names = _POSITIONAL.get(fn, ())
    if len(call.args) > len(names):
        raise ParseError(f"{clip(call.source)!r}: too many positional arguments for {fn}")
    bound = dict(zip(names, call.args))
    for key, value in call.kwargs.items():
        if key in bound:
            raise ParseError(f"{clip(call.source)!r}: argument {key!r} given twice")
        bound[key] = value
    return bound


def _num(value: Any, what: str, call: PyCall) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParseError(f"{clip(call.source)!r}: {what} must be a finite number, got {value!r}")
    return float(value)


def _tidy(v: float) -> float:
    return float(int(v)) if float(v).is_integer() else v


def _xy(args: dict[str, Any], call: PyCall, ptr: _Pointer, *, required: bool) -> tuple[float, float]:
    x, y = args.get("x"), args.get("y")
    if isinstance(x, (tuple, list)) and y is None and len(x) == 2:  # click((x, y))
        x, y = x
    if x is None and y is None:
        if ptr.at is None or required:
            raise ParseError(
                f"{clip(call.source)!r} gives no x, y and the pointer position is unknown"
            )
        return ptr.at
    if x is None or y is None:
        raise ParseError(f"{clip(call.source)!r} needs both x and y")
    point = (_tidy(_num(x, "x", call)), _tidy(_num(y, "y", call)))
    ptr.at = point
    return point


def _key(value: Any, call: PyCall) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ParseError(f"{clip(call.source)!r}: a key must be a non-empty string, got {value!r}")
    try:
        return normalize_key(value.strip())
    except UnknownKeyError as exc:
        raise ParseError(f"{clip(call.source)!r}: {exc}") from None


def _count(value: Any, what: str, call: PyCall, limit: int) -> int:
    n = _num(value, what, call)
    if n != int(n) or n < 1:
        raise ParseError(f"{clip(call.source)!r}: {what} must be a positive whole number, got {value!r}")
    return min(int(n), limit)


def _click(call: PyCall, ptr: _Pointer) -> list[Action]:
    args = _bind(call, "click")
    x, y = _xy(args, call, ptr, required=False)
    button = args.get("button", "left")
    clicks = _count(args.get("clicks", 1), "clicks", call, 3)
    if button not in ("left", "right", "middle", "primary", "secondary"):
        raise ParseError(f"{clip(call.source)!r}: unknown button {button!r}")
    if button == "middle":
        raise ParseError(f"{clip(call.source)!r}: middle click has no action in tars")
    if clicks == 3:
        raise ParseError(f"{clip(call.source)!r}: triple click has no action in tars")
    if button in ("right", "secondary"):
        return [space.RightClick(x, y)] * clicks
    return [space.DoubleClick(x, y)] if clicks == 2 else [space.Click(x, y)]


def _simple_pointer(cls: type[Action], fn: str) -> Callable[[PyCall, _Pointer], list[Action]]:
    def build(call: PyCall, ptr: _Pointer) -> list[Action]:
        return [cls(*_xy(_bind(call, fn), call, ptr, required=cls is space.MoveTo))]  # type: ignore[call-arg]

    return build


def _drag_to(call: PyCall, ptr: _Pointer) -> list[Action]:
    args = _bind(call, "dragTo")
    start = ptr.at
    if start is None:
        raise ParseError(f"{clip(call.source)!r}: dragTo needs the start, a moveTo before it")
    if args.get("button", "left") != "left":
        raise ParseError(f"{clip(call.source)!r}: only left-button drags exist in tars")
    end = _xy(args, call, ptr, required=True)
    return [space.Drag(start[0], start[1], end[0], end[1])]


def _write(fn: str) -> Callable[[PyCall, _Pointer], list[Action]]:
    def build(call: PyCall, ptr: _Pointer) -> list[Action]:
        args = _bind(call, fn)
        message = args.get("message", args.get("text"))
        if isinstance(message, (list, tuple)) and fn == "typewrite":
            return [space.Press(_key(k, call)) for k in message]
        if not isinstance(message, str):
            raise ParseError(f"{clip(call.source)!r}: {fn} needs the text as a string")
        return [space.Type(message)]

    return build


def _press(call: PyCall, ptr: _Pointer) -> list[Action]:
    args = _bind(call, "press")
    keys = args.get("keys")
    keys = list(keys) if isinstance(keys, (list, tuple)) else [keys]
    if not keys:
        raise ParseError(f"{clip(call.source)!r}: press needs a key")
    presses = _count(args.get("presses", 1), "presses", call, MAX_PRESSES)
    names = [_key(k, call) for k in keys]
    return [space.Press(k) for _ in range(presses) for k in names]


def _hotkey(call: PyCall, ptr: _Pointer) -> list[Action]:
    keys = list(call.args)
    if len(keys) == 1 and isinstance(keys[0], (list, tuple)):
        keys = list(keys[0])
    if "keys" in call.kwargs and not keys:
        value = call.kwargs["keys"]
        keys = list(value) if isinstance(value, (list, tuple)) else [value]
    if not keys:
        raise ParseError(f"{clip(call.source)!r}: hotkey needs keys")
    return [space.Hotkey(tuple(_key(k, call) for k in keys))]


def _key_event(cls: type[Action], fn: str) -> Callable[[PyCall, _Pointer], list[Action]]:
    def build(call: PyCall, ptr: _Pointer) -> list[Action]:
        return [cls(_key(_bind(call, fn).get("key"), call))]  # type: ignore[call-arg]

    return build


def _scroll(fn: str) -> Callable[[PyCall, _Pointer], list[Action]]:
    def build(call: PyCall, ptr: _Pointer) -> list[Action]:
        args = _bind(call, fn)
        clicks = _num(args.get("clicks"), "clicks", call)
        if clicks == 0:
            raise ParseError(f"{clip(call.source)!r}: a scroll of 0 clicks does nothing")
        x = y = None
        if args.get("x") is not None or args.get("y") is not None:
            x, y = _xy(args, call, ptr, required=True)
        if fn == "hscroll":
            direction = "right" if clicks > 0 else "left"
        else:
            direction = "up" if clicks > 0 else "down"
        amount = max(1, min(MAX_SCROLL_NOTCHES, round(abs(clicks))))
        return [space.Scroll(x, y, direction, amount)]

    return build


def _wait(fn: str) -> Callable[[PyCall, _Pointer], list[Action]]:
    def build(call: PyCall, ptr: _Pointer) -> list[Action]:
        args = _bind(call, fn)
        value = args.get("secs", args.get("seconds", args.get("time")))
        if value is None:
            return [space.Wait()]
        seconds = _num(value, "seconds", call)
        if seconds < 0:
            raise ParseError(f"{clip(call.source)!r}: a wait cannot be negative")
        return [space.Wait(seconds)]

    return build


def _terminate(call: PyCall, ptr: _Pointer) -> list[Action]:
    args = _bind(call, "terminate")
    status = str(args.get("status", "")).strip().lower()
    answer = args.get("answer")
    if status == "success":
        return [space.Finished(str(answer) if answer is not None else "")]
    if status in ("failure", "fail"):
        return [space.CallUser("task failed")]
    raise ParseError(f"{clip(call.source)!r}: status must be 'success' or 'failure'")


def _unsupported(why: str) -> Callable[[PyCall, _Pointer], list[Action]]:
    def build(call: PyCall, ptr: _Pointer) -> list[Action]:
        raise ParseError(f"{clip(call.source)!r}: {why}")

    return build


_BUILDERS: dict[str, Callable[[PyCall, _Pointer], list[Action]]] = {
    "pyautogui.click": _click,
    "pyautogui.leftClick": _simple_pointer(space.Click, "leftClick"),
    "pyautogui.rightClick": _simple_pointer(space.RightClick, "rightClick"),
    "pyautogui.doubleClick": _simple_pointer(space.DoubleClick, "doubleClick"),
    "pyautogui.moveTo": _simple_pointer(space.MoveTo, "moveTo"),
    "pyautogui.dragTo": _drag_to,
    "pyautogui.write": _write("write"),
    "pyautogui.typewrite": _write("typewrite"),
    "pyautogui.press": _press,
    "pyautogui.hotkey": _hotkey,
    "pyautogui.keyDown": _key_event(space.KeyDown, "keyDown"),
    "pyautogui.keyUp": _key_event(space.KeyUp, "keyUp"),
    "pyautogui.scroll": _scroll("scroll"),
    "pyautogui.vscroll": _scroll("vscroll"),
    "pyautogui.hscroll": _scroll("hscroll"),
    "pyautogui.sleep": _wait("sleep"),
    "time.sleep": _wait("sleep"),
    "computer.wait": _wait("wait"),
    "computer.terminate": _terminate,
    "pyautogui.middleClick": _unsupported("middle click has no action in tars"),
    "pyautogui.tripleClick": _unsupported("triple click has no action in tars"),
    "computer.triple_click": _unsupported("triple click has no action in tars"),
    "pyautogui.mouseDown": _unsupported("mouseDown has no action in tars; use dragTo"),
    "pyautogui.mouseUp": _unsupported("mouseUp has no action in tars; use dragTo"),
    "pyautogui.drag": _unsupported("relative drags have no action in tars; use dragTo"),
    "pyautogui.move": _unsupported("relative moves have no action in tars; use moveTo"),
    "pyautogui.moveRel": _unsupported("relative moves have no action in tars; use moveTo"),
}


def looks_like_pyautogui(text: str) -> bool:
    """True when ``text`` is in this dialect: it holds a ``pyautogui.*(`` / ``computer.*(`` call,
    or an OpenCUA ``## Code`` section (whatever code follows it is then read, or refused, here)."""
    return DETECT_RE.search(text) is not None or any(
        m.group(1).lower() == "code" for m in _SECTION_RE.finditer(text))


def code_of(text: str) -> str:
    """The code the answer asks to run: its last fenced block (an unclosed last block counts),
    else the text after ``## Code:``, else the whole text."""
    blocks = _CODE_BLOCK_RE.findall(text)
    if blocks:
        return blocks[-1].strip()
    tail = _OPEN_BLOCK_RE.search(text)
    if tail:
        return tail.group(1).strip()
    marks = [m for m in _SECTION_RE.finditer(text) if m.group(1).lower() == "code"]
    if marks:
        return text[marks[-1].end() :].strip()
    return text.strip()


def sections(text: str) -> dict[str, str]:
    """The ``## Observation`` / ``## Thought`` / ``## Action`` / ``## Code`` sections of an
    OpenCUA-style answer, lower-case keys, text stripped (absent ones are missing)."""
    out: dict[str, str] = {}
    marks = list(_SECTION_RE.finditer(text))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        body = _STEP_RE.sub("", text[m.end() : end]).strip()
        out.setdefault(m.group(1).lower(), body)
    return out


def actions_of_code(code: str) -> tuple[Action, ...]:
    """The actions of a block of pyautogui code (see the module table), in order.

    Raises:
        ParseError: unreadable code, an unknown or unsupported call, bad arguments.
    """
    if code.strip().upper() in _BARE_WORDS:
        word = code.strip().upper()
        return ((space.Wait(),) if word == "WAIT" else (space.Finished(),) if word == "DONE"
                else (space.CallUser("task failed"),))
    ptr = _Pointer()
    actions: list[Action] = []
    for call in read_calls(code):
        build = _BUILDERS.get(call.name)
        if build is None:
            known = ", ".join(sorted(n for n in _BUILDERS))
            raise ParseError(f"unknown call {call.name}() in {clip(call.source)!r} (known: {known})")
        actions.extend(build(call, ptr))
    return tuple(actions)


def parse_pyautogui(text: str) -> Step:
    """Parse an answer whose action is pyautogui code into a :class:`Step` (model space).

    ``thought`` is the ``## Thought`` section (else the ``## Action`` one, else the text before
    the code), ``summary`` the ``## Action`` section, ``reflection`` the ``## Observation``.

    Raises:
        ParseError: see :func:`actions_of_code`.
    """
    parts = sections(text)
    actions = actions_of_code(code_of(text))
    if not actions:
        raise ParseError("the code holds no action")
    # the text before a code fence is the reasoning; unfenced, the whole answer is the code
    head = text.split("```", 1)[0].strip() if "```" in text else ""
    thought = parts.get("thought") or parts.get("action") or (head if not _SECTION_RE.search(head) else None)
    return Step(thought or None, actions, reflection=parts.get("observation"),
                summary=parts.get("action"), raw=text)
