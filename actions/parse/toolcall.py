"""Qwen2.5-VL tool calls -> actions: the ``computer_use`` / ``mobile_use`` JSON format.

Qwen2.5-VL prompted with its own computer-use tool (Qwen2.5-VL cookbook ``computer_use`` and
``mobile_agent``, Qwen-Agent's ``ComputerUse`` / ``MobileUse`` tools) answers with free text
(its reasoning) followed by one or more blocks::

    <tool_call>
    {"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [x, y]}}
    </tool_call>

:func:`parse_tool_calls` reads every block with :mod:`json` (never ``eval``) and maps each
onto :mod:`tars.actions.space`. Coordinates stay in model space as written (Qwen2.5-VL writes
resized-image pixels, the ``resized`` space of :mod:`tars.actions.coords`).

The vocabulary of both tools is accepted under either tool name (the action names do not
collide):

============================  =================================================================
``left_click`` / ``click``     :class:`Click`; ``right_click`` :class:`RightClick`;
                               ``double_click`` :class:`DoubleClick`; ``mouse_move``
                               :class:`MoveTo`. Without ``coordinate`` a click happens where the
                               pointer is, which must be known from an earlier action of the same
                               answer (Qwen-Agent's left_click may omit it after a mouse_move).
``left_click_drag``            :class:`Drag` from the pointer to ``coordinate``; the start must
                               be known from an earlier action of the same answer (usually a
                               ``mouse_move``), otherwise :class:`ParseError`.
``key``                        :class:`Hotkey` of ``keys`` (a list; items may be combinations
                               like ``"ctrl+c"``), each through :func:`tars.actions.keys.split_keys`.
``type``                       :class:`Type` of ``text``; with GUI-Owl's ``clear``/``enter``
                               flags: ctrl+a, backspace (clear 1), the stripped text, Enter
                               (enter 1 or a final newline), as OSWorld's OwlAgent runs it.
``drag``                       GUI-Owl: :class:`Drag` from ``coordinate`` to ``coordinate2``.
``scroll`` / ``hscroll``       :class:`Scroll`; see :func:`scroll_notches` for ``pixels``.
``wait``                       :class:`Wait` of ``time`` seconds (5 without it).
``terminate``                  ``status`` success -> :class:`Finished`; failure ->
                               :class:`CallUser` ``("task failed")``.
``answer``                     :class:`Finished` with ``text`` as its content.
``interact``                   :class:`CallUser` with ``text`` (Qwen3-VL's hand-over).
mobile: ``long_press``         :class:`LongPress` (``time`` checked, the action has no duration);
``swipe``                      :class:`Drag` from ``coordinate`` to ``coordinate2``;
``system_button``              Back -> :class:`PressBack`, Home -> :class:`PressHome`, Enter ->
                               :class:`Hotkey` enter; Menu has no equivalent (ParseError);
``open`` / ``open_app``        :class:`OpenApp` of ``text``.
============================  =================================================================

``middle_click`` and ``triple_click`` have no action in tars's space and raise
:class:`ParseError` saying so, rather than turning into a different click.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Callable

from tars.actions import space
from tars.actions.keys import UnknownKeyError, split_keys
from tars.actions.parse.errors import ParseError
from tars.actions.parse.errors import clip as _clip
from tars.actions.space import Action

OPEN_TAG = "<tool_call>"
CLOSE_TAG = "</tool_call>"

#: tool names whose calls are GUI actions (Qwen2.5-VL cookbook / Qwen-Agent)
TOOL_NAMES = ("computer_use", "mobile_use")

#: Upper bound on the wheel notches of one Qwen ``scroll``: 50 notches already reach the end of
#: most pages, and a runaway number (``"pixels": -100000``) must not lock the input for seconds.
MAX_SCROLL_NOTCHES = space.MAX_SCROLL_AMOUNT


def is_json_tool_call(text: str) -> bool:
    """True when ``text`` holds a ``<tool_call>`` block that is not Seed-style XML.

    Qwen3-Coder / Seed put ``<function=...>`` XML inside ``<tool_call>``; that shape belongs to
    the XML reader of :mod:`tars.actions.parse.uitars`, everything else after the tag is read as JSON.
    """
    start = text.find(OPEN_TAG)
    return start >= 0 and not text[start + len(OPEN_TAG) :].lstrip().startswith("<function")


def scroll_notches(pixels: float) -> int:
    """Wheel notches for a Qwen ``scroll``/``hscroll`` of ``pixels``: ``round(|pixels|)``,
    at least 1, at most :data:`MAX_SCROLL_NOTCHES`.

    Despite the name, the reference executors (Qwen-Agent ``ComputerUse``, the OSWorld
    Qwen2.5-VL agent) pass ``pixels`` unchanged to ``pyautogui.scroll``/``hscroll``, whose unit
    on X11 and Windows is one wheel notch; the models were trained against that, so one
    "pixel" is one notch here too. The sign gives the direction (see :func:`_scroll`).
    """
    return max(1, min(MAX_SCROLL_NOTCHES, round(abs(pixels))))


# --------------------------------------------------------------------------------------------
# JSON, strictly: NaN / Infinity and numbers that overflow to inf are refused at decoding


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ParseError(f"{text} is not a finite number")
    return value


def _no_constant(text: str) -> Any:
    raise ParseError(f"{text} is not a finite number")


_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_no_constant)


def _decode_at(text: str, pos: int, where: str) -> tuple[Any, int]:
    """The JSON value starting at ``text[pos]`` (after whitespace) and the index after it."""
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text) or text.startswith(CLOSE_TAG, pos):
        raise ParseError(f"{where} is empty")
    try:
        return _DECODER.raw_decode(text, pos)
    except ParseError as exc:
        raise ParseError(f"{where}: {exc}") from None
    except json.JSONDecodeError as exc:
        cut = "" if CLOSE_TAG in text[pos:] else "; no </tool_call>: the answer may be cut off"
        raise ParseError(
            f"{where} is not valid JSON: {exc.msg.removesuffix(' at')} at "
            f"{_clip(text[exc.pos:], 30)!r}{cut}, in {_clip(text[pos:])!r}"
        ) from None
    except (ValueError, RecursionError) as exc:  # a 5000-digit int, [[[[... nested too deep
        raise ParseError(
            f"{where} is not usable JSON ({_clip(str(exc), 40)}): {_clip(text[pos:])!r}"
        ) from None


def _decode(text: str, where: str) -> Any:
    """One JSON value that fills ``text`` (surrounding whitespace allowed)."""
    value, end = _decode_at(text, 0, where)
    if text[end:].strip():
        raise ParseError(f"{where}: unexpected text after the JSON: {_clip(text[end:])!r}")
    return value


# --------------------------------------------------------------------------------------------
# Arguments


@dataclass
class _Context:
    """What one answer has established so far: where the pointer is, for drags and bare clicks."""

    pointer: tuple[float, float] | None = None


@dataclass(frozen=True)
class _Call:
    action: str
    args: dict[str, Any]
    where: str  # "tool call 2 (left_click)", for messages


def _tidy(v: float) -> float:
    # Integral coordinates stay integers, as the UI-TARS reader returns them.
    return int(v) if v == int(v) else v


def _show(value: Any) -> str:
    """A JSON value as the model wrote it, shortened for a message."""
    return _clip(json.dumps(value, ensure_ascii=False), 40)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number(call: _Call, field: str, *, default: float | None = None) -> float:
    if field not in call.args:
        if default is None:
            raise ParseError(f"{call.where} needs {field!r}")
        return default
    value = call.args[field]
    if not _is_number(value):
        raise ParseError(f"{call.where}: {field} must be a number, got {_show(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int with hundreds of digits
        raise ParseError(f"{call.where}: {field} is too large") from None
    if not math.isfinite(number):
        raise ParseError(f"{call.where}: {field} is not a finite number")
    return number


def _point(call: _Call, field: str = "coordinate") -> tuple[float, float]:
    value = call.args.get(field)
    if value is None:
        raise ParseError(f"{call.where} needs {field!r} [x, y]")
    ok = isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)
    if ok:
        try:
            x, y = float(value[0]), float(value[1])
        except OverflowError:
            ok = False
        else:
            ok = math.isfinite(x) and math.isfinite(y)
    if not ok:
        raise ParseError(
            f"{call.where}: {field} must be [x, y], two finite numbers, "
            f"got {_show(value)}"
        )
    return _tidy(x), _tidy(y)


def _text(call: _Call, field: str = "text", *, blank_ok: bool = True) -> str:
    value = call.args.get(field)
    if not isinstance(value, str):
        what = "missing" if value is None else f"not text: {_show(value)}"
        raise ParseError(f"{call.where} needs {field!r} (text), {what}")
    if not blank_ok and not value.strip():
        raise ParseError(f"{call.where}: {field} is empty")
    return value


# --------------------------------------------------------------------------------------------
# Actions


def _pointer_builder(cls: type[Action], *, optional: bool) -> Callable[[_Call, _Context], Action]:
    def build(call: _Call, ctx: _Context) -> Action:
        if "coordinate" not in call.args and optional:
            if ctx.pointer is None:
                raise ParseError(
                    f"{call.where} needs 'coordinate' [x, y]: without it the click happens where "
                    "the pointer is, which this answer does not say"
                )
            return cls(*ctx.pointer)  # type: ignore[call-arg]
        ctx.pointer = _point(call)
        return cls(*ctx.pointer)  # type: ignore[call-arg]

    return build


def _left_click_drag(call: _Call, ctx: _Context) -> Action:
    end = _point(call)
    if ctx.pointer is None:
        raise ParseError(
            f"{call.where}: the drag starts where the pointer is, which this answer does not say "
            "(a mouse_move to the start point before it in the same answer gives it)"
        )
    start, ctx.pointer = ctx.pointer, end
    return space.Drag(*start, *end)


def _swipe(call: _Call, ctx: _Context) -> Action:
    start, end = _point(call), _point(call, "coordinate2")
    ctx.pointer = end
    return space.Drag(*start, *end)


def _type(call: _Call, ctx: _Context) -> Action | list[Action]:
    """``type``; with GUI-Owl's ``clear`` / ``enter`` flags the OwlAgent's sequence: ctrl+a and
    backspace when ``clear`` is 1, the text stripped, Enter when ``enter`` is 1 or the text
    ends in a newline (OSWorld ``owl_agent.parsing_response_to_pyautogui_code``)."""
    content = _text(call)
    if "clear" not in call.args and "enter" not in call.args:
        return space.Type(content)
    clear, enter = (_number(call, f, default=0) for f in ("clear", "enter"))
    if not content:
        raise ParseError(f"{call.where}: nothing to type (empty text)")
    out: list[Action] = []
    if clear == 1:
        out += [space.Hotkey(("ctrl", "a")), space.Press("backspace")]
    out.append(space.Type(content.strip()))
    if content.endswith("\n") or enter == 1:
        out.append(space.Press("enter"))
    return out


def _long_press(call: _Call, ctx: _Context) -> Action:
    if "time" in call.args:  # checked so a bad value is reported; LongPress has no duration
        _number(call, "time")
    ctx.pointer = _point(call)
    return space.LongPress(*ctx.pointer)


def _key(call: _Call, ctx: _Context) -> Action:
    value = call.args.get("keys")
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ParseError(f"{call.where} needs 'keys', a list of key names, got {_show(value)}")
    keys: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ParseError(f"{call.where}: key {_show(item)} is not a name")
        try:
            keys.extend(("space",) if item == " " else split_keys(item))
        except UnknownKeyError as exc:
            raise ParseError(f"{call.where}: {exc}") from None
    return space.Hotkey(tuple(keys))


def _scroll_builder(vertical: bool) -> Callable[[_Call, _Context], Action]:
    # Sign as the tool describes and pyautogui executes it: scroll > 0 up, < 0 down;
    # hscroll > 0 right, < 0 left (pyautogui's X11 hscroll: positive is button 7, right).
    def build(call: _Call, ctx: _Context) -> Action:
        pixels = _number(call, "pixels")
        if pixels == 0:
            raise ParseError(f"{call.where}: pixels is 0, which gives no direction")
        if vertical:
            direction = "up" if pixels > 0 else "down"
        else:
            direction = "right" if pixels > 0 else "left"
        x = y = None
        if "coordinate" in call.args:
            x, y = ctx.pointer = _point(call)
        return space.Scroll(x, y, direction, scroll_notches(pixels))

    return build


def _wait(call: _Call, ctx: _Context) -> Action:
    seconds = _number(call, "time", default=space.DEFAULT_WAIT_SECONDS)
    if seconds < 0:
        raise ParseError(f"{call.where}: time {seconds} is negative")
    return space.Wait(seconds=seconds)


def _terminate(call: _Call, ctx: _Context) -> Action:
    status = call.args.get("status")
    status = status.strip().lower() if isinstance(status, str) else status
    if status == "success":
        return space.Finished()
    if status == "failure":
        return space.CallUser(content="task failed")
    raise ParseError(f"{call.where} needs status 'success' or 'failure', got {_show(status)}")


def _system_button(call: _Call, ctx: _Context) -> Action:
    button = _text(call, "button").strip().lower()
    if button == "back":
        return space.PressBack()
    if button == "home":
        return space.PressHome()
    if button == "enter":
        return space.Hotkey(("enter",))
    raise ParseError(
        f"{call.where}: button {call.args['button']!r} has no action in tars "
        "(known: Back, Home, Enter)"
    )


def _open_app(call: _Call, ctx: _Context) -> Action:
    field = "app_name" if "app_name" in call.args and "text" not in call.args else "text"
    return space.OpenApp(_text(call, field, blank_ok=False).strip())


def _unsupported(why: str) -> Callable[[_Call, _Context], Action]:
    def build(call: _Call, ctx: _Context) -> Action:
        raise ParseError(f"{call.where}: {why}")

    return build


_BUILDERS: dict[str, Callable[[_Call, _Context], "Action | list[Action]"]] = {
    "left_click": _pointer_builder(space.Click, optional=True),
    "click": _pointer_builder(space.Click, optional=True),
    "right_click": _pointer_builder(space.RightClick, optional=True),
    "double_click": _pointer_builder(space.DoubleClick, optional=True),
    "mouse_move": _pointer_builder(space.MoveTo, optional=False),
    "left_click_drag": _left_click_drag,
    "key": _key,
    "type": _type,
    "drag": _swipe,  # GUI-Owl: drag from coordinate to coordinate2
    "scroll": _scroll_builder(vertical=True),
    "hscroll": _scroll_builder(vertical=False),
    "wait": _wait,
    "terminate": _terminate,
    "answer": lambda call, ctx: space.Finished(content=_text(call)),
    "interact": lambda call, ctx: space.CallUser(content=_text(call)),
    "long_press": _long_press,
    "swipe": _swipe,
    "system_button": _system_button,
    "open": _open_app,
    "open_app": _open_app,
    "middle_click": _unsupported("middle_click has no action in tars (no middle button)"),
    "triple_click": _unsupported(
        "triple_click has no action in tars (a double click and a click are not a triple click)"
    ),
}


def _to_call(obj: Any, where: str) -> _Call:
    if not isinstance(obj, dict):
        raise ParseError(f"{where} must be a JSON object with name and arguments, got {_show(obj)}")
    name = obj.get("name")
    if name not in TOOL_NAMES:
        raise ParseError(f"{where}: unknown tool {_show(name)} (known: {', '.join(TOOL_NAMES)})")
    args = obj.get("arguments")
    if isinstance(args, str):  # OpenAI-style: the arguments as a JSON string
        args = _decode(args, f"{where} arguments")
    if not isinstance(args, dict):
        raise ParseError(f"{where} needs 'arguments', a JSON object, got {_show(args)}")
    action = args.get("action")
    if not isinstance(action, str) or action not in _BUILDERS:
        raise ParseError(
            f"{where}: unknown action {_show(action)} of {name} "
            f"(known: {', '.join(sorted(_BUILDERS))})"
        )
    return _Call(action, args, f"{where} ({action})")


def parse_tool_calls(text: str) -> tuple[str, tuple[Action, ...]]:
    """Read the ``<tool_call>`` blocks of ``text``; return (text before them, actions).

    ``text`` is a model answer (noise tokens and code fences already removed by
    :func:`tars.actions.parse.parse_response`). Blocks follow each other, separated by whitespace
    only; the last one may miss its ``</tool_call>`` (generation stopped at the stop token) as
    long as its JSON is complete. Points are in model space.

    Raises:
        ParseError: malformed or cut-off JSON, a non-finite number, an unknown tool or action,
            a missing or bad ``coordinate``/``keys``/``text``/``pixels``/``time``/``status``, an
            unknown key, a drag whose start is unknown, text between or after the blocks.
            The message names the block (``tool call 2 (left_click)``) and the field.
    """
    start = text.find(OPEN_TAG)
    if start < 0:
        raise ParseError("no <tool_call> in model output")
    head = text[:start]
    ctx = _Context()
    actions: list[Action] = []
    i, n = start, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        where = f"tool call {len(actions) + 1}"
        if not text.startswith(OPEN_TAG, i):
            raise ParseError(f"unexpected text after tool call {len(actions)}: {_clip(text[i:])!r}")
        # Decode from the tag on rather than up to </tool_call>: a typed text may contain it.
        obj, i = _decode_at(text, i + len(OPEN_TAG), where)
        while i < n and text[i].isspace():
            i += 1
        if text.startswith(CLOSE_TAG, i):
            i += len(CLOSE_TAG)
        elif i < n and not text.startswith(OPEN_TAG, i):  # a missing </tool_call> is tolerated
            raise ParseError(f"{where}: unexpected text after the JSON: {_clip(text[i:])!r}")
        call = _to_call(obj, where)
        built = _BUILDERS[call.action](call, ctx)
        actions.extend(built if isinstance(built, list) else [built])
    return head, tuple(actions)
