"""Calculations written the way people ask for them, for programs that compute (calculators).

``compute 7 + 5``, ``calculate 12*3``, ``what is 2.5 / 5``, ``multiply 12 by 3``, ``add 7 and
5``, ``subtract 3 from 10``, ``divide 10 by 4``, ``the square root of 81``, ``9 squared``.
:func:`parse_calculation` turns one into a :class:`Calculation`: the keys to type (ASCII
operators, which every calculator's keyboard handling accepts: ``* / + -``), a key to click
for a unary function (the ``√`` / ``x²`` key, found on screen by its captions), and the value
the display must show when it is done, computed here so that lite can check it.
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass

_NUM = r"-?\d+(?:\.\d+)?"

_BINARY = [
    (re.compile(rf"^multiply\s+({_NUM})\s+(?:by|and|with|times)\s+({_NUM})$", re.I), "*", False),
    (re.compile(rf"^divide\s+({_NUM})\s+by\s+({_NUM})$", re.I), "/", False),
    (re.compile(rf"^add\s+({_NUM})\s+(?:and|to|plus)\s+({_NUM})$", re.I), "+", False),
    (re.compile(rf"^subtract\s+({_NUM})\s+from\s+({_NUM})$", re.I), "-", True),
]
_UNARY = [
    (re.compile(rf"^(?:the\s+)?square\s+root\s+of\s+({_NUM})$", re.I), "square root"),
    (re.compile(rf"^(?:the\s+)?sqrt\s*\(?\s*({_NUM})\s*\)?$", re.I), "square root"),
    (re.compile(rf"^({_NUM})\s+squared$", re.I), "squared"),
    (re.compile(rf"^(?:the\s+)?square\s+of\s+({_NUM})$", re.I), "squared"),
]
_WORDS = {"plus": "+", "minus": "-", "times": "*", "multiplied by": "*", "x": "*", "×": "*",
          "divided by": "/", "over": "/", "÷": "/"}
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


@dataclass(frozen=True)
class Calculation:
    """``keys``: text to type (digits, ``. + - * /``); ``function``: a key to click after it
    (``square root``, ``squared``) or None; ``equals``: press Enter after typing; ``result``:
    what the display must show (``12``, ``2.5``)."""

    keys: str
    function: str | None
    equals: bool
    result: str


def format_number(value: float) -> str:
    """How calculators show a result: an integer without a point, else up to 10 significant
    digits without trailing zeros (``36.0`` -> ``36``, ``2/3`` -> ``0.6666666667``)."""
    if abs(value - round(value)) < 1e-9 and abs(value) < 1e15:
        return str(int(round(value)))
    return f"{value:.10g}"


def _eval(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_eval(node.left), _eval(node.right))
    raise ValueError("not arithmetic")


def parse_calculation(text: str) -> Calculation | None:
    """The calculation ``text`` asks for (without the leading ``compute``/``calculate``), or
    None when it is not one. Division by zero is not a calculation lite can check."""
    s = " ".join(text.strip().rstrip("?.").split())
    s = re.sub(r"^(?:what\s+is|what's)\s+", "", s, flags=re.I)
    for rx, op, swap in _BINARY:
        m = rx.match(s)
        if m:
            a, b = (m.group(2), m.group(1)) if swap else (m.group(1), m.group(2))
            s = f"{a} {op} {b}"
            break
    for rx, function in _UNARY:
        m = rx.match(s)
        if m:
            x = float(m.group(1))
            if function == "square root":
                if x < 0:
                    return None
                value = x ** 0.5
            else:
                value = x * x
            return Calculation(m.group(1), function, False, format_number(value))
    expr = s
    for word, op in sorted(_WORDS.items(), key=lambda kv: -len(kv[0])):
        expr = re.sub(rf"(?<=[\d\s]){re.escape(word)}(?=[\s\d])", f" {op} ", expr, flags=re.I)
    expr = expr.replace("×", "*").replace("÷", "/")
    if not re.fullmatch(r"[\d\s.+\-*/()]+", expr) or not re.search(r"\d", expr) or not re.search(r"\d\s*[-+*/]", expr):
        return None
    try:
        value = _eval(ast.parse(expr, mode="eval"))
    except (SyntaxError, ValueError, ZeroDivisionError):
        return None
    return Calculation("".join(expr.split()), None, True, format_number(value))
