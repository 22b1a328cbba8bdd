"""Keys drawn as symbols, and the words people write for them.

Calculators and editors label keys ``√ × ÷ ± x² π`` (or their ASCII stand-ins ``sqrt * / +/-
x^2``), while people write "square root", "times", "divide", "plus minus". :func:`alternatives`
gives every caption a target may be drawn as, the target's own text first. The groups are the
usual calculator key sets (GNOME Calculator, galculator, KCalc, xcalc label their keys with one
of these forms).
"""

from __future__ import annotations

from tars.models.lite.matching import normalize

#: each group: the ways one key is drawn or named (symbols first, then words)
GROUPS: tuple[tuple[str, ...], ...] = (
    ("√", "√x", "sqrt", "square root", "root"),
    ("×", "*", "x", "times", "multiply", "multiplied by", "multiplication"),
    ("÷", "/", "divide", "divided by", "division"),
    ("+", "plus", "add"),
    ("−", "-", "minus", "subtract"),
    ("±", "+/-", "+-", "plus minus", "plus/minus", "negate", "change sign"),
    ("x²", "x^2", "x2", "squared", "square"),
    ("π", "pi"),
    ("=", "equals", "equal", "result"),
    ("%", "percent"),
    ("⌫", "<-", "backspace", "back space"),
    ("←", "left arrow"), ("→", "right arrow"), ("↑", "up arrow"), ("↓", "down arrow"),
    (".", "point", "decimal point", "dot"),
)


def _key(text: str) -> str:
    stripped = " ".join(text.lower().split())
    return normalize(stripped) or stripped


_INDEX: dict[str, tuple[str, ...]] = {}
for _group in GROUPS:
    for _name in _group:
        _INDEX.setdefault(_key(_name), _group)


def alternatives(target: str) -> list[str]:
    """Captions ``target`` may be drawn as: itself first, then the rest of its group
    (``"square root"`` -> ``["square root", "√", "√x", "sqrt", "root"]``); ``[target]`` when
    it names no symbol key."""
    words = target.strip()
    if words.lower().startswith("the "):
        words = words[4:]
    for suffix in (" key", " button", " sign"):
        if words.lower().endswith(suffix):
            words = words[: -len(suffix)].strip()
    group = _INDEX.get(_key(words))
    if group is None:
        return [target]
    return [target] + [g for g in group if g != target and g != words]
