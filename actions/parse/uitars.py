"""The UI-TARS text dialect: ``Thought: ... Action: click(start_box='(x,y)')``, parsed safely.

This module holds the UI-TARS function vocabulary and its argument rules (also used by the Seed
XML dialect, :mod:`tars.actions.parse.seed`); :func:`tars.actions.parse.parse_response`, the
entry point, accepts every output shape UI-TARS-1.0, UI-TARS-1.5, Doubao/Seed-style
models and Qwen2.5-VL (prompted with the UI-TARS templates) are known to write:

* labelled sections ``Thought:`` / ``Reflection:`` / ``Action_Summary:`` / ``Action:`` (ASCII
  or full-width colon ``：``, markdown bold tolerated), or unlabelled (numbered) reasoning
  before ``Action:``, or a bare call with no label at all;
* several actions after ``Action:``, separated by blank lines, newlines or ``;``;
* code fences around the answer, ``<|im_end|>`` / ``[EOS]`` left in the text;
* boxes in ``start_box=`` / ``end_box=`` / ``point=`` / ``start_point=`` / ``end_point=`` as
  ``(x,y)``, ``(x1,y1,x2,y2)``, ``[x, y]``, ``[x1, y1, x2, y2]``, ``<point>x y</point>``,
  ``<bbox>x1 y1 x2 y2</bbox>``, with or without ``<|box_start|>``/``<|box_end|>``, quoted or
  not, with spaces anywhere; a box means its centre;
* a generation cut off before its closing ``')``;
* ``type(content=...)`` with escaped quotes, raw quotes, real newlines, parentheses, CJK, emoji;
* Seed-style XML tool calls, ``<seed:tool_call><function=click><parameter=point><point>x y
  </point></parameter></function></seed:tool_call>`` (also ``<function name="...">``), with
  ``<think>``/``<gui_think>`` reasoning before them;
* Qwen2.5-VL's own tool calls (its cookbook's ``computer_use``/``mobile_use`` tools, Qwen-Agent
  ``ComputerUse``): free text, then one or more ``<tool_call>{"name": "computer_use",
  "arguments": {"action": "left_click", "coordinate": [x, y]}}</tool_call>`` blocks, read with
  :mod:`json` and mapped onto the action space by :mod:`tars.actions.parse.toolcall`, which documents
  the vocabulary and its rules (scroll ``pixels`` -> wheel notches, drags from the pointer).

It never evaluates model text (no ``eval``, ``exec`` or ``ast``): a small scanner of our own
reads ``name(arg='value', ...)``, and tool-call JSON goes through :mod:`json` only. Whatever
cannot be read exactly -- a box that is not 2 or 4 finite numbers or is cut off, an unknown
function or argument, an unknown key, text without an action, malformed tool-call JSON --
raises :class:`ParseError` naming the offending part, so the agent loop can feed it back to
the model instead of guessing a click.

Coordinates come back in **model space**, as written (DESIGN.md, Coordinates);
:func:`tars.actions.coords.action_to_screen` converts them. Integral values are ``int``.

Sources of the shapes: the UI-TARS prompt templates and ``ui_tars.action_parser`` (bytedance
/UI-TARS, UI-TARS-desktop), the Seed/Doubao ``<point>``/``<bbox>`` formats, and public bug
reports against those parsers (truncated output, runaway box lists, lost Enter of ``type``);
the Qwen2.5-VL cookbook and Qwen-Agent for the tool-call format.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

from tars.actions import space
from tars.actions.keys import UnknownKeyError, split_keys
from tars.actions.parse.errors import ParseError
from tars.actions.parse.errors import clip as _clip
from tars.actions.space import Action

# --------------------------------------------------------------------------------------------
# Vocabulary

#: function name as models write it -> canonical UI-TARS name (a key of the builders below)
FUNCTION_ALIASES: dict[str, str] = {
    "click": "click", "left_single": "click", "left_click": "click",
    "left_double": "left_double", "double_click": "left_double",
    "right_single": "right_single", "right_click": "right_single",
    "mouse_move": "mouse_move", "hover": "mouse_move", "move_to": "mouse_move",
    "drag": "drag", "select": "drag",
    "scroll": "scroll",
    "hotkey": "hotkey",
    "press": "press", "keydown": "keydown", "key_down": "keydown",
    "keyup": "keyup", "key_up": "keyup", "release": "keyup",
    "type": "type",
    "wait": "wait",
    "finished": "finished",
    "call_user": "call_user",
    "long_press": "long_press", "open_app": "open_app",
    "press_home": "press_home", "press_back": "press_back",
}

#: argument spellings -> canonical argument name (UI-TARS-1.5 / Seed write point=, start_point=)
_ARG_ALIASES = {
    "point": "start_box", "start_point": "start_box", "end_point": "end_box",
    "hotkey": "key", "keys": "key", "text": "content", "app": "app_name",
}

#: tokens models leave in their text that carry no meaning for the action
_NOISE = ("<|im_end|>", "<|endoftext|>", "[EOS]", "</s>")

_LABEL_RE = re.compile(
    r"^[ \t>#*_]*(Thought|Reflection|Action_Summary|Action)[ \t*_]*[:：](?:\*\*)?[ \t]*",
    re.MULTILINE | re.IGNORECASE,
)
_FENCE_RE = re.compile(r"^[ \t]*```[\w+-]*[ \t]*$\n?", re.MULTILINE)
_NAME_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_KWARG_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)")
_KNOWN = "|".join(sorted(FUNCTION_ALIASES, key=len, reverse=True))
#: where a bare call starts when the model wrote no ``Action:`` label
_BARE_CALL_RE = re.compile(rf"^[ \t>*`]*(?:{_KNOWN})\s*\(", re.MULTILINE | re.IGNORECASE)
#: between calls: whitespace, ; , and backticks, and repeated ``Action:`` labels
_SEPARATORS_RE = re.compile(r"(?:[\s;,`]+|Action[ \t*]*[:：](?:\*\*)?)*", re.IGNORECASE)
#: after a closing quote: the next keyword argument begins
_NEXT_KWARG_RE = re.compile(r"\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*=(?!=)")
#: after a closing quote: the call ends and what follows is the end, another action or a label
_CALL_END_STRONG_RE = re.compile(
    rf"\s*\)(?:[\s;,`]*$|[\s;,`]+(?:(?:{_KNOWN})\s*\(|Action[ \t*_]*[:：]))",
    re.IGNORECASE,
)
_CALL_END_WEAK_RE = re.compile(r"\s*\)")
#: after a closing quote: nothing more (the generation stopped before the call's ``)``)
_TEXT_END_RE = re.compile(r"[\s`]*\Z")

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "'": "'", '"': '"', "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)


# --------------------------------------------------------------------------------------------
# The scanner: name(arg='value', ...) without evaluating anything


@dataclass(frozen=True)
class _Arg:
    name: str | None  # None: positional
    value: str  # unescaped text of a quoted value, stripped text of a bare one
    closed: bool  # False when the generation stopped inside this value


@dataclass(frozen=True)
class _Call:
    name: str
    args: tuple[_Arg, ...]
    source: str  # the call as written, for messages
    closed: bool


def _unescape(text: str) -> str:
    # Only the escapes UI-TARS writes; any other backslash stays (Windows paths, regexes).
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(0)), text)


def _scan_quoted(text: str, start: int) -> tuple[str, bool, int]:
    """Read the string whose opening quote is at ``start``; return (value, closed, end).

    Models write raw quotes inside ``type(content='...')``, so an unescaped quote only closes
    the string where the call's syntax goes on after it: a strong end (next keyword argument,
    or ``)`` followed by the end of the text, another known action or an ``Action:`` label)
    wins; otherwise the first quote followed by ``)``; otherwise the text was cut off and the
    value runs to its end.
    """
    quote = text[start]
    n = len(text)
    i = start + 1
    weak: int | None = None
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == quote:
            if (
                _NEXT_KWARG_RE.match(text, i + 1)
                or _CALL_END_STRONG_RE.match(text, i + 1)
                or _TEXT_END_RE.match(text, i + 1)
            ):
                return _unescape(text[start + 1 : i]), True, i + 1
            if weak is None and _CALL_END_WEAK_RE.match(text, i + 1):
                weak = i
        i += 1
    if weak is not None:
        return _unescape(text[start + 1 : weak]), True, weak + 1
    # Cut off inside the string: keep what was written, minus trailing real whitespace.
    return _unescape(text[start + 1 :].rstrip()), False, n


def _scan_bare(text: str, start: int) -> tuple[str, bool, int]:
    """Read an unquoted value (``start_box=(1,2)``, ``point=<point>1 2</point>``)."""
    depth = 0
    i = start
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            if depth == 0 and ch == ")":
                break
            depth -= 1
        elif ch == "," and depth == 0 and _KWARG_RE.match(text, i + 1 + _ws(text, i + 1)):
            break
        elif ch == "\n" and depth == 0:
            break
        i += 1
    return text[start:i].strip(), i < n, i


def _ws(text: str, i: int) -> int:
    j = i
    while j < len(text) and text[j] in " \t":
        j += 1
    return j - i


def _scan_call(text: str, start: int) -> tuple[_Call, int]:
    """Scan one call starting at ``start`` (the function name); return it and the end index."""
    m = _NAME_RE.match(text, start)
    assert m is not None
    name = m.group(1)
    i = m.end()
    n = len(text)
    args: list[_Arg] = []
    closed = False
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        if text[i] == ")":
            i += 1
            closed = True
            break
        km = _KWARG_RE.match(text, i)
        arg_name = None
        if km:
            arg_name = km.group(1)
            i = km.end()
            while i < n and text[i] in " \t":
                i += 1
        if i < n and text[i] in "'\"":
            value, value_closed, i = _scan_quoted(text, i)
        else:
            value, value_closed, i = _scan_bare(text, i)
        args.append(_Arg(arg_name, value, value_closed))
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        if text[i] == ",":
            i += 1
            continue
        if text[i] == ")":
            i += 1
            closed = True
            break
        raise ParseError(
            f"unexpected {_clip(text[i:], 30)!r} in the arguments of {_clip(text[start:i + 1])!r}"
        )
    return _Call(name, tuple(args), text[start:i], closed), i


def _scan_calls(region: str) -> list[_Call]:
    """Every call in the action region, in order."""
    calls: list[_Call] = []
    i = 0
    n = len(region)
    while True:
        i = _SEPARATORS_RE.match(region, i).end()  # type: ignore[union-attr]
        if i >= n:
            return calls
        if not _NAME_RE.match(region, i):
            what = "after the last action" if calls else "where an action was expected"
            raise ParseError(f"unexpected text {what}: {_clip(region[i:])!r}")
        call, i = _scan_call(region, i)
        calls.append(call)


# --------------------------------------------------------------------------------------------
# Boxes

_BOX_TOKEN_RE = re.compile(
    r"(?P<ws>\s+)|(?P<comma>,)"
    r"|(?P<num>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<open>[(\[]|<point>|<bbox>)|(?P<close>[)\]]|</point>|</bbox>)",
    re.IGNORECASE,
)
_PAIRS = {"(": ")", "[": "]", "<point>": "</point>", "<bbox>": "</bbox>"}


def _box_centre(arg: _Arg, call: _Call) -> tuple[float, float]:
    """Centre of a box argument, in model space.

    Raises ParseError unless the box is 2 or 4 finite numbers with balanced brackets; a box
    the generation cut off (open bracket, or bare numbers with no closing quote) is refused,
    because its last number may be missing digits.
    """
    raw = arg.value
    text = raw.replace("<|box_start|>", " ").replace("<|box_end|>", " ")
    where = f"{arg.name or 'box'}={_clip(raw, 40)!r} in {_clip(call.source, 50)!r}"
    numbers: list[float] = []
    stack: list[str] = []
    brackets = 0
    after_number = False
    i = 0
    while i < len(text):
        m = _BOX_TOKEN_RE.match(text, i)
        if not m:
            raise ParseError(f"bad box {where}: unexpected {text[i]!r}")
        kind = m.lastgroup
        tok = m.group().lower()
        if kind == "num":
            if after_number:
                raise ParseError(f"bad box {where}: numbers must be separated")
            value = float(tok)
            if not math.isfinite(value):
                raise ParseError(f"bad box {where}: {tok} is not a finite number")
            numbers.append(value)
            after_number = True
        else:
            after_number = False
            if kind == "open":
                stack.append(_PAIRS[tok])
                brackets += 1
            elif kind == "close":
                if not stack or stack.pop() != tok:
                    raise ParseError(f"bad box {where}: unbalanced {tok!r}")
        i = m.end()
    if stack:
        raise ParseError(f"bad box {where}: cut off before {stack[-1]!r}")
    if not arg.closed and not brackets:
        raise ParseError(f"bad box {where}: cut off")
    if len(numbers) == 2:
        x, y = numbers
    elif len(numbers) == 4:
        x, y = (numbers[0] + numbers[2]) / 2, (numbers[1] + numbers[3]) / 2
    else:
        raise ParseError(f"bad box {where}: expected 2 or 4 numbers, got {len(numbers)}")
    return _tidy(x), _tidy(y)


def _tidy(v: float) -> float:
    # Integral coordinates stay integers, so `tars parse` prints 30, not 30.0.
    return int(v) if v == int(v) else v


# --------------------------------------------------------------------------------------------
# Calls -> actions


@dataclass(frozen=True)
class _Signature:
    """What a function accepts: its arguments, which are required, which takes a positional."""

    allowed: tuple[str, ...]
    required: tuple[str, ...] = ()
    positional: str | None = None


_POINT = _Signature(("start_box",), ("start_box",), "start_box")
_SIGNATURES: dict[str, _Signature] = {
    "click": _POINT, "left_double": _POINT, "right_single": _POINT, "mouse_move": _POINT,
    "long_press": _POINT,
    "drag": _Signature(("start_box", "end_box"), ("start_box", "end_box")),
    "scroll": _Signature(("start_box", "direction", "amount"), ("direction",)),
    "hotkey": _Signature(("key",), ("key",), "key"),
    "press": _Signature(("key",), ("key",), "key"),
    "keydown": _Signature(("key",), ("key",), "key"),
    "keyup": _Signature(("key",), ("key",), "key"),
    "type": _Signature(("content",), ("content",), "content"),
    "wait": _Signature(("seconds",), (), "seconds"),
    "finished": _Signature(("content",), (), "content"),
    "call_user": _Signature(("content",), (), "content"),
    "open_app": _Signature(("app_name",), ("app_name",), "app_name"),
    "press_home": _Signature(()),
    "press_back": _Signature(()),
}


def _arguments(call: _Call, fn: str) -> dict[str, _Arg]:
    """The call's arguments by canonical name, checked against the function's signature."""
    sig = _SIGNATURES[fn]
    out: dict[str, _Arg] = {}
    for arg in call.args:
        if arg.name is None:
            if sig.positional is None or out:
                raise ParseError(
                    f"{fn}() takes no positional argument {_clip(arg.value, 30)!r} "
                    f"in {_clip(call.source)!r}"
                )
            name = sig.positional
        else:
            name = _ARG_ALIASES.get(arg.name.lower(), arg.name.lower())
        if name not in sig.allowed:
            raise ParseError(f"unknown argument {arg.name!r} of {fn}() in {_clip(call.source)!r}")
        if name in out:
            raise ParseError(f"argument {name!r} given twice in {_clip(call.source)!r}")
        out[name] = arg
    for name in sig.required:
        value = out[name].value if name in out else None
        # an empty content is real (type nothing); ' ' is a key (the space bar)
        blank = value is None or (name != "content" and not (value if name == "key" else value.strip()))
        if blank:
            raise ParseError(f"{fn}() needs {name}= in {_clip(call.source)!r}")
    return out


def _keys(arg: _Arg, call: _Call) -> tuple[str, ...]:
    if not arg.closed:
        raise ParseError(f"key {arg.value!r} is cut off in {_clip(call.source)!r}")
    if arg.value == " ":  # press(key=' '): the space bar, written as the character
        return ("space",)
    try:
        return split_keys(arg.value)
    except UnknownKeyError as exc:
        raise ParseError(f"{exc} in {_clip(call.source)!r}") from None


def _point_builder(cls: type[Action]) -> Callable[[dict[str, _Arg], _Call], Action]:
    def build(args: dict[str, _Arg], call: _Call) -> Action:
        return cls(*_box_centre(args["start_box"], call))  # type: ignore[call-arg]

    return build


def _drag(args: dict[str, _Arg], call: _Call) -> Action:
    x1, y1 = _box_centre(args["start_box"], call)
    x2, y2 = _box_centre(args["end_box"], call)
    return space.Drag(x1, y1, x2, y2)


def _scroll(args: dict[str, _Arg], call: _Call) -> Action:
    direction = args["direction"].value.strip().lower()
    if direction not in space.SCROLL_DIRECTIONS or not args["direction"].closed:
        raise ParseError(
            f"scroll direction {args['direction'].value!r} is not one of "
            f"{'/'.join(space.SCROLL_DIRECTIONS)} in {_clip(call.source)!r}"
        )
    x = y = None
    if "start_box" in args:
        x, y = _box_centre(args["start_box"], call)
    if "amount" not in args:  # UI-TARS writes none; tars' own to_text writes a non-default one
        return space.Scroll(x, y, direction)
    text = args["amount"].value.strip()
    if not text.isdigit() or not 1 <= int(text) <= space.MAX_SCROLL_AMOUNT:
        raise ParseError(f"scroll amount must be 1-{space.MAX_SCROLL_AMOUNT} notches, got {text!r}")
    return space.Scroll(x, y, direction, int(text))


def _hotkey(args: dict[str, _Arg], call: _Call) -> Action:
    return space.Hotkey(_keys(args["key"], call))


def _key_builder(cls: type[Action], fn: str) -> Callable[[dict[str, _Arg], _Call], Action]:
    def build(args: dict[str, _Arg], call: _Call) -> Action:
        keys = _keys(args["key"], call)
        if len(keys) == 1:
            return cls(keys[0])  # type: ignore[call-arg]
        if fn == "press":  # press(key='ctrl c') can only mean the combination
            return space.Hotkey(keys)
        raise ParseError(f"{fn}() takes one key, got {' '.join(keys)!r} in {_clip(call.source)!r}")

    return build


def _content(args: dict[str, _Arg]) -> str:
    return args["content"].value if "content" in args else ""


def _wait(args: dict[str, _Arg], call: _Call) -> Action:
    # UI-TARS writes a bare wait() (5 s); tars' own policies may say how long, 0-60 s.
    if "seconds" not in args:
        return space.Wait()
    text = args["seconds"].value.strip().rstrip("s").strip()
    try:
        seconds = float(text)
    except ValueError:
        raise ParseError(f"bad wait length {args['seconds'].value!r} in {_clip(call.source)!r}") from None
    if not math.isfinite(seconds) or not 0 <= seconds <= 60:
        raise ParseError(f"wait length must be 0-60 seconds, got {args['seconds'].value!r}")
    return space.Wait(seconds)


def _open_app(args: dict[str, _Arg], call: _Call) -> Action:
    return space.OpenApp(args["app_name"].value.strip())


_BUILDERS: dict[str, Callable[[dict[str, _Arg], _Call], Action]] = {
    "click": _point_builder(space.Click),
    "left_double": _point_builder(space.DoubleClick),
    "right_single": _point_builder(space.RightClick),
    "mouse_move": _point_builder(space.MoveTo),
    "long_press": _point_builder(space.LongPress),
    "drag": _drag,
    "scroll": _scroll,
    "hotkey": _hotkey,
    "press": _key_builder(space.Press, "press"),
    "keydown": _key_builder(space.KeyDown, "keydown"),
    "keyup": _key_builder(space.KeyUp, "keyup"),
    "type": lambda args, call: space.Type(_content(args)),
    "wait": _wait,
    "finished": lambda args, call: space.Finished(_content(args)),
    "call_user": lambda args, call: space.CallUser(_content(args)),
    "open_app": _open_app,
    "press_home": lambda args, call: space.PressHome(),
    "press_back": lambda args, call: space.PressBack(),
}


def _to_action(call: _Call) -> Action:
    fn = FUNCTION_ALIASES.get(call.name.lower())
    if fn is None:
        raise ParseError(f"unknown function {call.name!r} in {_clip(call.source)!r}")
    return _BUILDERS[fn](_arguments(call, fn), call)


# --------------------------------------------------------------------------------------------
# Sections


def _sections(head: str) -> tuple[str | None, str | None, str | None]:
    """(thought, reflection, summary) from the text before the actions."""
    found: dict[str, list[str]] = {}
    labels = list(_LABEL_RE.finditer(head))
    preamble = head[: labels[0].start()] if labels else head
    for k, m in enumerate(labels):
        end = labels[k + 1].start() if k + 1 < len(labels) else len(head)
        found.setdefault(m.group(1).lower(), []).append(head[m.end() : end].strip())

    def joined(key: str) -> str | None:
        text = "\n".join(p for p in found.get(key, []) if p)
        return text or None

    summary = joined("action_summary")
    thought = joined("thought") or summary or preamble.strip() or None
    return thought, joined("reflection"), summary


