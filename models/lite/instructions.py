"""Explicit step-by-step instructions -> a list of :class:`Command` for the ``lite`` policy.

``lite`` follows instructions a person writes as a recipe, in English:

* ``click X``, ``click the X button``, ``click on "X"``, ``double-click X``, ``right-click X``
* ``type "TEXT"``, ``type "TEXT" into X``, ``type "TEXT" into the X field``, ``enter "TEXT" in X``
* ``press enter``, ``press ctrl+s``, ``hotkey ctrl shift t``
* ``scroll down``, ``scroll up in X``, ``drag X to Y``, ``wait 2 seconds``
* ``check X`` / ``uncheck X`` for check boxes, ``select "OPTION" from X`` for dropdowns

Steps are joined by new lines, ``;``, ``then``, ``, then`` or ``and then`` (never inside
quotes). ``X`` is quoted or unquoted on-screen text; ``the second X`` / ``the last X`` pick
among repeats, and a trailing role word (``button``, ``field``, ``checkbox``, ``dropdown``,
...) is a hint for where to click. :func:`parse_instruction` raises
:class:`InstructionError` (a :class:`~tars.models.base.PolicyError`) for anything else, before
anything on screen is touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tars.actions.keys import UnknownKeyError, split_keys
from tars.models.base import InstructionError as _PolicyInstructionError
from tars.models.base import PolicyError


class InstructionError(_PolicyInstructionError):
    """The instruction (or one of its steps) is not something ``lite`` understands."""


#: verbs of :class:`Command`
VERBS = ("click", "double_click", "right_click", "type", "press", "hotkey", "scroll", "drag",
         "wait", "check", "uncheck", "select")

#: trailing words that say what kind of control the target is -> role
ROLE_WORDS = {
    "button": "button", "link": "button", "tab": "button", "menu": "button", "item": "button",
    "menu item": "button", "option": "button", "icon": "button",
    "field": "field", "text field": "field", "box": "field", "text box": "field",
    "input": "field", "entry": "field", "input field": "field", "textbox": "field",
    "checkbox": "checkbox", "check box": "checkbox", "toggle": "checkbox",
    "dropdown": "dropdown", "drop-down": "dropdown", "drop down": "dropdown",
    "combo box": "dropdown", "combobox": "dropdown", "list": "dropdown", "dropdown menu": "dropdown",
}

_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
             "4th": 4, "fifth": 5, "5th": 5, "last": -1}


@dataclass(frozen=True)
class Target:
    """On-screen text to act on: ``text`` (as written by the user), ``ordinal`` (1 = first
    match, 2 = second, -1 = last) and ``role`` (``button``, ``field``, ``checkbox``,
    ``dropdown`` or None when the user did not say)."""

    text: str
    ordinal: int = 1
    role: str | None = None

    def describe(self) -> str:
        """Human wording for thoughts, e.g. ``the second "Delete" button``."""
        words = {1: "", -1: "the last ", 2: "the second ", 3: "the third ", 4: "the fourth ",
                 5: "the fifth "}
        nth = words.get(self.ordinal, f"match {self.ordinal} of ")
        role = f" {self.role}" if self.role else ""
        return f'{nth}"{self.text}"{role}'


@dataclass(frozen=True)
class Command:
    """One step: ``verb`` (see :data:`VERBS`) and its arguments.

    ``target``: what to act on (click, type into, check, select from, scroll in, drag from).
    ``text``: what to type, or the option to select. ``keys``: canonical key names for
    ``press``/``hotkey``. ``direction``: for scroll. ``seconds``: for wait. ``dest``: drag end.
    ``source``: the step as the user wrote it.
    """

    verb: str
    source: str
    target: Target | None = None
    text: str | None = None
    keys: tuple[str, ...] = field(default=())
    direction: str | None = None
    seconds: float | None = None
    dest: Target | None = None


# -- splitting into steps -----------------------------------------------------------------

_QUOTES = re.compile(r'"([^"]*)"|“([^”]*)”|‘([^’]*)’|(?<!\w)\'([^\']*)\'(?!\w)')
_SPLIT = re.compile(r"\s*(?:\n+|;|,\s*and\s+then\b|,\s*then\b|\band\s+then\b|\bthen\b|\.\s+(?=[A-Za-z]))\s*",
                    re.IGNORECASE)


def _protect(text: str) -> tuple[str, list[str]]:
    """Replace quoted strings by placeholders ``\\x00N\\x00`` so splitting cannot cut them."""
    kept: list[str] = []

    def sub(m: re.Match) -> str:
        kept.append(next(g for g in m.groups() if g is not None))
        return f"\x00{len(kept) - 1}\x00"

    return _QUOTES.sub(sub, text), kept


def split_steps(text: str) -> list[str]:
    """Split an instruction into step phrases (quotes kept as placeholders resolved later).

    Returns the phrases with quoted parts restored in double quotes.
    """
    protected, kept = _protect(text)
    parts = [p.strip(" \t,.!") for p in _SPLIT.split(protected)]
    restore = lambda s: re.sub(r"\x00(\d+)\x00", lambda m: '"' + kept[int(m.group(1))] + '"', s)
    return [restore(p) for p in parts if p and p.strip(" \t,.!")]


# -- one step -------------------------------------------------------------------------------

_Q = r'"(?P<q>[^"]*)"'


def _unquote(s: str) -> tuple[str, bool]:
    s = s.strip()
    if len(s) >= 2 and s[0] == '"' and s[-1] == '"' and '"' not in s[1:-1]:
        return s[1:-1], True
    return s, False


def parse_target(phrase: str) -> Target:
    """``the second "Delete" button`` -> Target("Delete", 2, "button").

    Raises:
        InstructionError: the phrase names nothing (empty after removing articles).
    """
    s = phrase.strip().rstrip(".")
    quoted_text, quoted = _unquote(s)
    if quoted:
        return Target(quoted_text)
    s = re.sub(r"^(?:on|at)\s+", "", s, flags=re.IGNORECASE)
    s = re.sub(r"^the\s+", "", s, flags=re.IGNORECASE)
    ordinal = 1
    m = re.match(r"^(\w+)\s+(.*)$", s)
    if m and m.group(1).lower() in _ORDINALS:
        ordinal, s = _ORDINALS[m.group(1).lower()], m.group(2)
        s = re.sub(r"^one\s+", "", s, flags=re.IGNORECASE)
    role = None
    # a role word after quoted text (`the "Save" button`) or after plain text (`Save button`)
    for word in sorted(ROLE_WORDS, key=len, reverse=True):
        m = re.match(rf"^(.*\S)\s+{re.escape(word)}$", s, flags=re.IGNORECASE)
        if m:
            role, s = ROLE_WORDS[word], m.group(1)
            break
    text, _ = _unquote(s)
    text = text.strip()
    if not text or text.lower() in ("the", "a", "an", "on"):
        raise InstructionError(f"no target named in {phrase!r}")
    return Target(text, ordinal, role)


def _keys(spec: str, source: str) -> tuple[str, ...]:
    words = [w for w in spec.split() if w.lower() not in ("the", "key", "keys")]
    if not words:
        raise InstructionError(f"no key named in {source!r}")
    try:  # the action language's own splitting: spaces or '+', any case
        return split_keys(" ".join(words))
    except UnknownKeyError as exc:
        raise InstructionError(f"{exc} in step {source!r}") from None


def parse_step(step: str) -> Command:
    """One step phrase -> :class:`Command`. Raises :class:`InstructionError`."""
    s = step.strip()
    s = re.sub(r"^(?:please|now|first|next|finally|and)\s*,?\s+", "", s, flags=re.IGNORECASE)
    low = s.lower()
    m = re.match(r"^(double[- ]?click|right[- ]?click|left[- ]?click|click|tap|press on|hit)\s+(?:on\s+)?(.+)$", s, re.I)
    if m and not (m.group(1).lower() in ("hit",) and not m.group(2).startswith('"')):
        kind = m.group(1).lower().replace("-", "").replace(" ", "")
        verb = {"doubleclick": "double_click", "rightclick": "right_click"}.get(kind, "click")
        return Command(verb, step, target=parse_target(m.group(2)))
    m = re.match(rf"^(?:type|write|input|enter|fill in)\s+{_Q}(?:\s+(?:into|in|on|to)\s+(?P<t>.+))?$", s, re.I)
    if m:
        target = parse_target(m.group("t")) if m.group("t") else None
        return Command("type", step, target=target, text=m.group("q"))
    m = re.match(rf"^fill\s+(?:in\s+)?(?P<t>.+?)\s+with\s+{_Q}$", s, re.I)
    if m:
        return Command("type", step, target=parse_target(m.group("t")), text=m.group("q"))
    m = re.match(r"^type\s+(?P<x>[^\"]+?)(?:\s+(?:into|in)\s+(?P<t>.+))?$", s, re.I)
    if m:  # unquoted text: everything up to " into "
        target = parse_target(m.group("t")) if m.group("t") else None
        return Command("type", step, target=target, text=m.group("x"))
    m = re.match(r"^(?:press|hit|push)\s+(?:the\s+)?(.+?)(?:\s+keys?)?$", s, re.I)
    if m:
        keys = _keys(m.group(1), step)
        return Command("press" if len(keys) == 1 else "hotkey", step, keys=keys)
    m = re.match(r"^(?:hotkey|shortcut|key combination)\s+(.+)$", s, re.I)
    if m:
        return Command("hotkey", step, keys=_keys(m.group(1), step))
    m = re.match(r"^scroll\s+(up|down|left|right)(?:\s+(?P<n>\d+)\s+times?)?(?:\s+(?:in|on|over|inside)\s+(?P<t>.+?))?(?:\s+(?P<n2>\d+)\s+times?)?$", s, re.I)
    if m:
        target = parse_target(m.group("t")) if m.group("t") else None
        return Command("scroll", step, target=target, direction=m.group(1).lower())
    m = re.match(r"^drag\s+(?:from\s+)?(.+?)\s+(?:to|onto|into)\s+(.+)$", s, re.I)
    if m:
        return Command("drag", step, target=parse_target(m.group(1)), dest=parse_target(m.group(2)))
    m = re.match(r"^(?:wait|sleep|pause)(?:\s+(?:for\s+)?(?P<n>\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds?)?)?(?:\s+(?:a\s+)?(?:moment|second|bit))?$", s, re.I)
    if m:
        seconds = float(m.group("n")) if m.group("n") else None
        return Command("wait", step, seconds=seconds)
    m = re.match(r"^(check|tick|uncheck|untick|clear|enable|disable)\s+(.+)$", s, re.I)
    if m and not (m.group(1).lower() == "clear" and "box" not in low and "check" not in low):
        on = m.group(1).lower() in ("check", "tick", "enable")
        return Command("check" if on else "uncheck", step, target=parse_target(m.group(2)))
    m = re.match(rf"^(?:select|choose|pick)\s+(?:{_Q}|(?P<u>.+?))\s+(?:from|in|on)\s+(?P<t>.+)$", s, re.I)
    if m:
        option = m.group("q") if m.group("q") is not None else m.group("u")
        return Command("select", step, target=parse_target(m.group("t")), text=option)
    m = re.match(r"^(?:enter|return|submit)$", s, re.I)
    if m:
        return Command("press", step, keys=("enter",))
    raise InstructionError(
        f"lite cannot follow the step {step!r}: it understands click/double-click/right-click X, "
        'type "TEXT" [into X], press KEY, hotkey KEYS, scroll up|down [in X], drag X to Y, '
        'wait N seconds, check/uncheck X, select "OPTION" from X'
    )


def parse_instruction(text: str) -> list[Command]:
    """Parse a whole instruction into its steps.

    Raises:
        InstructionError: empty instruction or a step that is not understood (the message
            quotes the step and lists what is understood).
    """
    if not text or not text.strip():
        raise InstructionError("empty instruction")
    steps = split_steps(text)
    if not steps:
        raise InstructionError("empty instruction")
    return [parse_step(s) for s in steps]
