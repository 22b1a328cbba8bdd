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


class InstructionError(_PolicyInstructionError):
    """The instruction (or one of its steps) is not something ``lite`` understands."""


#: verbs of :class:`Command`
VERBS = ("click", "double_click", "right_click", "type", "press", "hotkey", "scroll", "drag",
         "wait", "check", "uncheck", "select", "set", "compute")

#: words that start a step: "and" / a comma before one of them ends the step before it
STEP_VERBS = ("click", "double-click", "double click", "right-click", "right click", "tap", "hit",
              "press", "push", "type", "write", "enter", "fill", "put", "set", "change", "select",
              "choose", "pick", "check", "uncheck", "tick", "untick", "agree", "enable", "disable",
              "turn", "switch", "open", "go", "scroll", "drag", "wait", "save", "close", "clear",
              "confirm", "submit", "place", "compute", "calculate", "multiply", "divide", "add",
              "subtract", "hotkey", "replace", "then")

#: trailing words that say what kind of control the target is -> role
ROLE_WORDS = {
    "button": "button", "link": "button", "tab": "button", "menu": "button", "item": "button",
    "menu item": "button", "option": "button", "icon": "button",
    "field": "field", "text field": "field", "box": "field", "text box": "field",
    "input": "field", "entry": "field", "input field": "field", "textbox": "field",
    "checkbox": "checkbox", "check box": "checkbox", "toggle": "checkbox", "switch": "checkbox",
    "radio button": "button", "radio": "button", "key": "button",
    "slider": "slider", "scale": "slider", "spin box": "field", "spinbox": "field", "spinner": "field",

    "dropdown": "dropdown", "drop-down": "dropdown", "drop down": "dropdown",
    "combo box": "dropdown", "combobox": "dropdown", "list": "dropdown", "dropdown menu": "dropdown",
}

#: words around a quoted caption that only describe it ('the text "X"', 'the button labelled "X"')
_DESCRIBING = {"the", "a", "an", "on", "at", "text", "label", "labelled", "labeled", "word", "words",
               "caption", "captioned", "named", "called", "saying", "that", "says", "reads", "with", "one"}

_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
             "4th": 4, "fifth": 5, "5th": 5, "last": -1}


@dataclass(frozen=True)
class Target:
    """On-screen text to act on: ``text`` (as written by the user), ``ordinal`` (1 = first
    match, 2 = second, -1 = last) and ``role`` (``button``, ``field``, ``checkbox``,
    ``dropdown``, ``slider``, ``text`` (the words themselves: 'the text "Name:"') or None when
    the user did not say)."""

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

    ``target``: what to act on (click, type into, check, select from, set, scroll in, drag from).
    ``parts``: for check/uncheck of "X and Y" the separate captions, used when the whole
    phrase is not on screen.
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
    parts: tuple[Target, ...] = field(default=())
    #: compute: the value the program should show when done (see :mod:`.arithmetic`)
    expect: str | None = None


# -- splitting into steps -----------------------------------------------------------------

_QUOTES = re.compile(r'"([^"]*)"|“([^”]*)”|‘([^’]*)’|(?<!\w)\'([^\']*)\'(?!\w)')
_VERB_AHEAD = r"(?=(?:%s)\b)" % "|".join(re.escape(v) for v in sorted(STEP_VERBS, key=len, reverse=True))
_SPLIT = re.compile(
    r"\s*(?:\n+|;|,\s*and\s+then\b|,\s*then\b|\band\s+then\b|\bthen\b|\.\s+(?=[A-Za-z])"
    # a comma before the next "Label: value" of a list ("Name: Ada, Quantity: 3")
    r"|,\s*(?=[A-Za-z][\w ]{0,30}:\s))\s*",
    re.IGNORECASE)
#: "and" or a comma before a verb: "type Ada into Name and check Mushrooms", "Name Ada, click OK";
#: used only where the words after it make a step of their own ("Find and Replace" stays whole)
_SPLIT_VERB = re.compile(r",?\s*\band\s+" + _VERB_AHEAD + r"|,\s*" + _VERB_AHEAD, re.IGNORECASE)


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
    restore = lambda s: re.sub(r"\x00(\d+)\x00", lambda m: '"' + kept[int(m.group(1))] + '"', s)
    parts: list[str] = []
    for part in _SPLIT.split(protected):
        parts.extend(_split_at_verbs(part, restore))
    parts = [p.strip(" \t,.!") for p in parts]
    return [restore(p) for p in parts if p and p.strip(" \t,.!")]


def _parses(phrase: str) -> bool:
    try:
        parse_step(phrase)
    except InstructionError:
        return False
    return True


def _split_at_verbs(part: str, restore) -> list[str]:
    """``part`` cut before each "and VERB" / ", VERB" whose words, up to the next such cut,
    parse as a step of their own and are more than a bare word (so "click Find and Replace"
    and "Save and Close" stay one step)."""
    cuts = [m for m in _SPLIT_VERB.finditer(part)]
    if not cuts:
        return [part]
    pieces, start = [], 0
    for i, m in enumerate(cuts):
        end = cuts[i + 1].start() if i + 1 < len(cuts) else len(part)
        rest = restore(part[m.end():end]).strip(" \t,.!")
        if len(rest.split()) >= 2 and _parses(rest):
            pieces.append(part[start:m.start()])
            start = m.end()
    pieces.append(part[start:])
    return pieces


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
    m = re.fullmatch(r'(?P<pre>[^"]*)"(?P<q>[^"]+)"(?P<post>[^"]*)', s)
    if m:
        # 'the text "Full name"', 'the "Save" button', 'the button labelled "OK"': the quoted
        # words are the caption; the others may say the ordinal and the kind of control
        words = f"{m.group('pre')} {m.group('post')}".lower().split()
        ordinal = next((_ORDINALS[w] for w in words if w in _ORDINALS), 1)
        rest = [w for w in words if w not in _ORDINALS and w not in _DESCRIBING]
        if all(w in ROLE_WORDS for w in rest):
            role = ROLE_WORDS[rest[-1]] if rest else None
            if role is None and any(w in ("text", "label", "word", "words", "caption") for w in words):
                role = "text"  # the words themselves, not the field a label names
            return Target(m.group("q"), ordinal, role)
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


#: key names that stay keys even when capitalised ("press Enter", "press Tab")
_KEY_WORDS_PEOPLE_PRESS = {"enter", "tab", "escape", "esc", "space", "backspace", "delete", "return",
                           "up", "down", "left", "right", "pageup", "pagedown", "f1", "f2", "f3", "f4",
                           "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12", "insert"}
#: values that mean "on" / "off" for a check box or switch set to them
_ON = {"on", "yes", "true", "checked", "ticked", "enabled", "1"}
_OFF = {"off", "no", "false", "unchecked", "unticked", "disabled", "0"}
#: "save the file" and friends: the save shortcut
_SAVE = re.compile(r"^save(?:\s+(?:it|the\s+file|the\s+document|the\s+changes|changes|my\s+changes|the\s+note|the\s+text))?$", re.I)


def _check_parts(phrase: str) -> tuple[Target, ...]:
    """``Milk and Eggs`` / ``Milk, Eggs and Butter`` -> the separate captions (empty when the
    phrase names one thing)."""
    parts = [p for p in re.split(r"\s*,\s*|\s+and\s+", phrase.strip()) if p.strip()]
    return tuple(parse_target(p) for p in parts) if len(parts) > 1 else ()


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
    m = re.match(r"^(?:press|hit|push|tap)\s+(?:on\s+)?(?:the\s+)?(.+?)\s+(?:button|link|tab|icon|item)$", s, re.I)
    if m:  # "hit the Send button": a control, never a key named Send
        return Command("click", step, target=parse_target(m.group(1) + " button"))
    m = re.match(r"^(?:press|hit|push|tap)\s+(?:the\s+)?(.+?)(?:\s+keys?)?$", s, re.I)
    if m:
        words = [w for w in m.group(1).split() if w.lower() not in ("and",)]
        if re.search(r"\band\b", m.group(1), re.I) and all(len(w) == 1 for w in words):
            # "press 8 and 1": one key after the other
            keys = tuple(k for w in words for k in _keys(w, step))
            return Command("press", step, keys=keys)
        try:
            keys = _keys(m.group(1), step)
        except InstructionError:
            name = m.group(1).strip()
            if not (name[:1].isupper() or name.startswith('"') or len(name.split()) > 1):
                raise  # "press hyperkey": neither a key nor written as a caption
            keys = ()
        if keys and not (len(keys) == 1 and len(m.group(1).strip()) > 1 and m.group(1).strip()[0].isupper()
                         and keys[0] not in _KEY_WORDS_PEOPLE_PRESS):
            return Command("press" if len(keys) == 1 else "hotkey", step, keys=keys)
        # not a key name (or a capitalised word such as "Send"/"Home" that reads as a caption):
        # the control with that caption
        return Command("click", step, target=parse_target(m.group(1)))
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
    m = re.match(r"^(check|tick|uncheck|untick|clear|enable|disable|select the)\s+(.+)$", s, re.I)
    if m and not (m.group(1).lower() == "clear" and "box" not in low and "check" not in low) \
            and not (m.group(1).lower() == "select the" and not re.search(r"check ?box", low)):
        on = m.group(1).lower() in ("check", "tick", "enable", "select the")
        return Command("check" if on else "uncheck", step, target=parse_target(m.group(2)),
                       parts=_check_parts(m.group(2)))
    m = re.match(rf"^(?:select|choose|pick)\s+(?:{_Q}|(?P<u>.+?))\s+(?:from|in|on)\s+(?P<t>.+)$", s, re.I)
    if m:
        option = m.group("q") if m.group("q") is not None else m.group("u")
        return Command("select", step, target=parse_target(m.group("t")), text=option)
    m = re.match(r"^(?:enter|return|submit)$", s, re.I)
    if m:
        return Command("press", step, keys=("enter",))
    return _natural_step(step, s)


def _natural_step(step: str, s: str) -> Command:
    """The phrasings people write beyond lite's recipe words (issue 17)."""
    from tars.models.lite.arithmetic import parse_calculation

    m = re.match(r"^(?:compute|calculate|work out|evaluate|what\s+is|what's)\s+(.+)$", s, re.I)
    calc = parse_calculation(m.group(1)) if m else parse_calculation(s)
    if calc is not None and (m or re.match(r"^(?:multiply|divide|add|subtract)\b", s, re.I)):
        return Command("compute", step, text=calc.keys, keys=("enter",) if calc.equals else (),
                       target=Target(calc.function) if calc.function else None, expect=calc.result)
    if _SAVE.match(s):
        return Command("hotkey", step, keys=("ctrl", "s"))
    m = re.match(r"^(?P<what>.+?)\s+(?:with|using|by pressing)\s+(?:the\s+)?(?P<k>.+?)(?:\s+keys?)?$", s, re.I)
    if m:
        try:
            keys = _keys(m.group("k"), step)
        except InstructionError:
            keys = ()
        if keys and ("+" in m.group("k") or len(keys) > 1 or keys[0] in _KEY_WORDS_PEOPLE_PRESS):
            # "open the Replace dialog with ctrl+r", "save with ctrl+s"
            return Command("press" if len(keys) == 1 else "hotkey", step, keys=keys)
        if re.match(r"^(?:confirm|finish|close|submit|accept|continue|apply)\b", m.group("what"), re.I):
            return Command("click", step, target=parse_target(m.group("k")))  # "confirm with OK"
    m = re.match(r"^(?:turn|switch|toggle)\s+(on|off)\s+(?P<t>.+)$", s, re.I) or \
        re.match(r"^(?:turn|switch|toggle)\s+(?P<t>.+?)\s+(on|off)$", s, re.I)
    if m:
        on = "on" in (m.group(1).lower(), m.group(2).lower())
        t = m.group("t")
        return Command("check" if on else "uncheck", step, target=parse_target(t), parts=_check_parts(t))
    m = re.match(r"^(?:turn|set|move|slide|drag)\s+(?:the\s+)?(?P<t>.+?)\s+(?:all\s+the\s+way\s+)?(?P<d>up|down)"
                 r"(?:\s+all\s+the\s+way|\s+to\s+the\s+(?:max(?:imum)?|min(?:imum)?))?$", s, re.I)
    if m and ("all the way" in s.lower() or "max" in s.lower() or "min" in s.lower()):
        return Command("hotkey", step, target=parse_target(m.group("t") + " slider"),
                       keys=("end",) if m.group("d").lower() == "up" else ("home",))
    m = re.match(r"^agree\s+to\s+(?P<t>.+)$", s, re.I)
    if m:  # "agree to the terms": the check box whose caption says so
        return Command("check", step, target=parse_target(s))
    m = re.match(r"^(?:set|change|make|switch)\s+(?:the\s+)?(?P<t>.+?)\s+(?:to|as|=)\s+(?P<v>.+)$", s, re.I) or \
        re.match(r"^(?:enter|put|input|write|type)\s+(?P<v>[^\"]+?)\s+(?:in|into|as|for)\s+(?:the\s+)?(?P<t>.+)$", s, re.I) or \
        re.match(r"^(?P<t>[A-Za-z][\w ]{0,40}?)\s*[:=]\s*(?P<v>.+)$", s)
    if m:
        value, _ = _unquote(m.group("v"))
        target = parse_target(m.group("t"))
        low = value.strip().lower()
        if low in _ON | _OFF:
            return Command("check" if low in _ON else "uncheck", step, target=target)
        return Command("set", step, target=target, text=value.strip())
    m = re.match(r"^(?:choose|pick|select|open|go\s+to|switch\s+to|navigate\s+to)\s+(?:the\s+)?(?P<t>.+)$", s, re.I)
    if m:  # a radio button, list row, tab, menu, calendar day
        t = m.group("t")
        if re.search(r"\s>\s", t):
            raise InstructionError(f"menu paths are split before this point: {step!r}")
        return Command("click", step, target=parse_target(t))
    m = re.match(r"^(?P<v>[A-Za-z]+)\s+(?:the|a|an|my|this)\s+(?P<t>[\w' -]{1,40})$", s, re.I)
    if m:
        # "place the order", "clear the history", "run the spell checker": a control whose
        # caption is the verb and the thing ("Place order"); not on screen -> call_user
        return Command("click", step, target=Target(f"{m.group('v')} {m.group('t')}".strip(), role="button"))
    first = s.split()[0] if s.split() else s
    raise InstructionError(
        f"lite cannot follow the step {step!r} (it does not know what to do with {first!r}): it "
        'understands click/press/hit X, type "TEXT" [into X], set X to VALUE, X: VALUE, press KEY, '
        "hotkey KEYS, check/tick/uncheck X, select OPTION from X, choose X, open A > B, "
        "compute 7 + 5, scroll up|down [in X], drag X to Y, wait N seconds; e.g. "
        f'"click {" ".join(s.split()[1:]) or first}"'
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
    commands: list[Command] = []
    for step in steps:
        m = re.match(r"^(?:(?:open|go\s+to|choose|select|click(?:\s+on)?|use)\s+)?(?:the\s+)?(.+?\s>\s.+?)"
                     r"(?:\s+menu(?:\s+item)?)?$", step, re.I)
        if m and '"' not in step:
            # a menu path, "File > Save As": each part clicked in turn
            commands.extend(Command("click", step, target=parse_target(part))
                            for part in re.split(r"\s+>\s+", m.group(1)) if part.strip())
            continue
        commands.append(parse_step(step))
    return commands
