"""A safe reader of Python call statements written by models (never ``eval``).

OpenCUA, Jedi and other pyautogui-speaking models answer with a few lines of Python::

    pyautogui.click(x=960, y=324)
    pyautogui.write(message='hello')
    computer.terminate(status='success')

:func:`read_calls` parses such code with :mod:`ast` and accepts only what a literal call is:
each statement one call of a dotted name (``pyautogui.click``, ``computer.wait``,
``time.sleep``) whose arguments are literals (numbers, strings, booleans, None, tuples/lists
of those, a unary minus), read with :func:`ast.literal_eval`. ``import pyautogui`` /
``import time`` lines are skipped. Anything else (assignments, loops, names, attribute
access inside arguments, f-strings, calls inside arguments) raises :class:`ParseError`
naming the line: model text is data here, never code that runs.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass, field
from typing import Any

from tars.actions.parse.errors import ParseError, clip

#: modules whose ``import`` lines models write before their calls; skipped, never imported
SKIPPED_IMPORTS = frozenset({"pyautogui", "time", "pyperclip"})


@dataclass(frozen=True)
class PyCall:
    """One call as written: ``name`` (dotted, e.g. ``pyautogui.click``), positional ``args`` and
    keyword ``kwargs`` (literal values), ``line`` (1-based line in the code) and ``source``."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    line: int = 1
    source: str = ""


def _dotted(node: ast.AST, source: str) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        raise ParseError(f"{clip(source)!r} calls something that is not a plain name")
    parts.append(node.id)
    return ".".join(reversed(parts))


def _literal(node: ast.AST, source: str) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ParseError(
            f"{clip(source)!r}: argument {clip(ast.unparse(node), 40)!r} is not a literal value"
        ) from None


def _parse_quietly(text: str) -> ast.Module:
    # Python's compiler warns about model text that is odd but readable ("invalid escape
    # sequence '\\d'", "invalid decimal literal"): the warning would reach stderr, and under
    # `python -W error` it would turn readable code into a SyntaxError. Model text is data;
    # its oddities are none of the user's business. (catch_warnings swaps the process-wide
    # filters for the moment of the parse.)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text, mode="exec")


def _skippable_import(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Import):
        return all(alias.name in SKIPPED_IMPORTS for alias in stmt.names)
    return False


def read_calls(code: str) -> list[PyCall]:
    """Every call statement of ``code``, in order.

    Raises:
        ParseError: the code is not Python, or a statement is not a call of a dotted name
            with literal arguments (the message quotes the statement).
    """
    text = code.strip()
    if not text:
        raise ParseError("the code block is empty")
    try:
        tree = _parse_quietly(text)
    except SyntaxError as exc:
        where = f" (line {exc.lineno})" if exc.lineno else ""
        raise ParseError(f"code is not valid Python{where}: {exc.msg}") from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise ParseError(f"code cannot be read: {exc}") from None
    lines = text.splitlines()
    calls: list[PyCall] = []
    for stmt in tree.body:
        source = "\n".join(lines[stmt.lineno - 1 : (stmt.end_lineno or stmt.lineno)]).strip()
        if _skippable_import(stmt):
            continue
        if not isinstance(stmt, ast.Expr) or not isinstance(stmt.value, ast.Call):
            raise ParseError(f"{clip(source)!r} is not a single function call")
        call = stmt.value
        name = _dotted(call.func, source)
        if any(isinstance(a, ast.Starred) for a in call.args):
            raise ParseError(f"{clip(source)!r}: *arguments are not accepted")
        args = tuple(_literal(a, source) for a in call.args)
        kwargs: dict[str, Any] = {}
        for kw in call.keywords:
            if kw.arg is None:
                raise ParseError(f"{clip(source)!r}: **arguments are not accepted")
            if kw.arg in kwargs:
                raise ParseError(f"{clip(source)!r}: argument {kw.arg!r} given twice")
            kwargs[kw.arg] = _literal(kw.value, source)
        calls.append(PyCall(name, args, kwargs, stmt.lineno, source))
    if not calls:
        raise ParseError("the code holds no call")
    return calls
