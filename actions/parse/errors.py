"""Errors of the action-language parsers, shared by every dialect.

:class:`ParseError` is what every dialect raises for model text it cannot read exactly; the
agent loop feeds its message back to the model (DESIGN: never guess a click).
"""

from __future__ import annotations


class ParseError(ValueError):
    """Model text that cannot be turned into exact actions; the message names the part."""


def clip(text: str, limit: int = 60) -> str:
    """A short, single-line rendering of ``text`` (at most ``limit`` characters) for messages."""
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."
