"""``tars parse``: model text on stdin -> its thought and actions as one JSON line.

The command's work is :func:`parse_to_json`, shared by the Typer command in
:mod:`tars.frontends.cli` and by :func:`lean_main`, the fast path the console script takes for
``tars parse`` (:mod:`tars.frontends.entry`): it imports only the action language and
``json`` (no Typer, Rich, pydantic or click), so a shell loop calling ``tars parse`` starts
in about the time of Python itself. :func:`lean_main` reads only well-formed options; for
anything else (``--help``, an unknown option, a value that is not a number) it answers None
and the caller hands the command line to Typer, whose messages then stay the only ones.
"""

from __future__ import annotations

import sys
from typing import Any


class ParseCommandError(ValueError):
    """Bad input to ``tars parse``: the message is printed as one ``tars: ...`` line, exit 2."""


#: option name -> (keyword, converter) of the options ``tars parse`` takes
OPTIONS = {
    "--image-size": ("image_size", str),
    "--coords": ("coords", str),
    "--scale": ("scale", float),
    "--min-pixels": ("min_pixels", int),
    "--max-pixels": ("max_pixels", int),
}


def _number(v: object) -> object:
    return int(v) if isinstance(v, float) and v.is_integer() else v


def parse_to_json(text: str, image_size: str | None = None, coords: str = "resized", scale: float = 1.0,
                  min_pixels: int | None = None, max_pixels: int | None = None) -> str:
    """The JSON line ``tars parse`` prints for model ``text`` (no trailing newline).

    ``image_size``: ``WxH`` physical pixels; with it points become screen points (pixels /
    ``scale``) through the ``coords`` space and its smart_resize budget, without it they stay
    as written.

    Raises:
        ParseCommandError: a bad option value, or text that does not parse (message says why).
    """
    import json

    from tars.actions import coords as coords_mod
    from tars.actions.parse import ParseError, parse_response

    space = geometry = None
    if image_size is not None:
        try:
            w_text, h_text = image_size.lower().split("x")
            width, height = int(w_text), int(h_text)
            if width <= 0 or height <= 0:
                raise ValueError
        except ValueError:
            raise ParseCommandError(f"--image-size must be WxH with positive integers, got {image_size!r}") from None
        if not (scale > 0 and scale != float("inf")):
            raise ParseCommandError(f"--scale must be a positive number, got {scale}")
        budget: dict[str, Any] = {}
        if min_pixels is not None:
            budget["min_pixels"] = min_pixels
        if max_pixels is not None:
            budget["max_pixels"] = max_pixels
        try:
            space = coords_mod.CoordSpace(coords, **budget)  # type: ignore[arg-type]
            space.model_size(width, height)  # smart_resize refuses extreme aspect ratios
        except ValueError as exc:
            raise ParseCommandError(str(exc)) from None
        geometry = coords_mod.ScreenGeometry(width, height, scale=scale)
    elif coords not in coords_mod.SPACE_KINDS:
        raise ParseCommandError(f"unknown coordinate space {coords!r}; use one of {coords_mod.SPACE_KINDS}")
    try:
        step = parse_response(text)
    except ParseError as exc:
        raise ParseCommandError(str(exc)) from None
    actions = step.actions
    if space is not None and geometry is not None:
        actions = tuple(coords_mod.action_to_screen(a, space, geometry) for a in actions)
    out = {
        "thought": step.thought,
        "reflection": step.reflection,
        "actions": [{k: _number(v) for k, v in a.to_json().items()} for a in actions],
    }
    return json.dumps(out, ensure_ascii=False)


def read_stdin(stream: Any = None) -> str:
    """Stdin as text, strictly UTF-8, at most what the loop reads of an answer
    (:data:`tars.actions.parse.MAX_ANSWER_CHARS`; a note on stderr when there was more).

    ``stream``: a binary stream, or a text stream (read as it decodes) for callers that have one.

    Raises:
        ParseCommandError: stdin is not valid UTF-8.
    """
    from tars.actions.parse import MAX_ANSWER_CHARS

    stream = stream if stream is not None else sys.stdin
    raw = getattr(stream, "buffer", stream)
    limit = 4 * MAX_ANSWER_CHARS  # UTF-8: at most 4 bytes a character
    try:
        data = raw.read(limit + 4)
    except OSError as exc:  # stdin closed, a device error
        raise ParseCommandError(f"cannot read stdin: {exc.strerror or exc}") from None
    if isinstance(data, str):
        text = data
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < limit:  # not merely a character cut at the read limit
                raise ParseCommandError(f"stdin is not valid UTF-8 (byte {exc.start}: {exc.reason})") from None
            text = data[: exc.start].decode("utf-8")
    if len(text) > MAX_ANSWER_CHARS or len(data) > limit:
        return ClippedAnswer(text[:MAX_ANSWER_CHARS])
    return text


class ClippedAnswer(str):
    """The first :data:`tars.actions.parse.MAX_ANSWER_CHARS` characters of a longer answer
    (what the loop reads of one: :func:`tars.actions.parse.bound_answer`); :meth:`note` says so."""

    def note(self) -> str:
        """The sentence that tells the user only the start of the answer was read."""
        return f"the answer is longer than {len(self)} characters; only the first {len(self)} are read"


def parse_input(text: str, **options: Any) -> str:
    """:func:`parse_to_json` of ``text`` (from :func:`read_stdin`); for a clipped answer the
    note goes on stderr when it parses, and into the one error line when it does not.

    Raises:
        ParseCommandError: as :func:`parse_to_json`.
    """
    try:
        line = parse_to_json(text, **options)
    except ParseCommandError as exc:
        if isinstance(text, ClippedAnswer):
            raise ParseCommandError(f"{text.note()}, and they do not parse: {exc}") from None
        raise
    if isinstance(text, ClippedAnswer):
        print(f"tars: {text.note()}", file=sys.stderr)
    return line


def read_options(args: list[str]) -> dict[str, Any] | None:
    """Keyword arguments of :func:`parse_to_json` for ``tars parse`` options ``args``
    (``--opt value`` or ``--opt=value``), or None when ``args`` holds anything else (help, an
    unknown or repeated option, a missing or unconvertible value): Typer then reads them."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        name, eq, value = args[i].partition("=")
        if name not in OPTIONS:
            return None
        if not eq:
            if i + 1 >= len(args):
                return None
            value = args[i + 1]
            i += 1
        i += 1
        key, convert = OPTIONS[name]
        if key in out:
            return None
        try:
            out[key] = convert(value)
        except ValueError:
            return None
    return out


def lean_main(argv: list[str]) -> int | None:
    """Run ``tars parse`` for ``argv`` (the arguments after ``parse``) without Typer and return
    the exit status (0, or 2 after one ``tars: ...`` line on stderr), or None when the options
    are for Typer to read (see :func:`read_options`)."""
    options = read_options(argv)
    if options is None:
        return None
    from tars.frontends import stdout

    try:
        line = parse_input(read_stdin(), **options)
    except ParseCommandError as exc:
        print(f"tars: {exc}".replace("\n", " "), file=sys.stderr)
        return 2
    return stdout.write_line(line)
