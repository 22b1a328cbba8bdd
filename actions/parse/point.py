"""Bare points -> a click: the answers of grounding-only models.

* GTA1 (github.com/Yan98/GTA1): ``(x,y)``, the whole answer one coordinate pair;
* Holo1.5 (model card): ``{"action": "click_absolute", "x": 512, "y": 300}``;
* Holo3 (hub.hcompany.ai element localization): ``{"x": 512, "y": 300}``.

JSON is read with :mod:`json` (a code fence around it is allowed); the pair with a regular
expression of two numbers. Each becomes one :class:`~tars.actions.space.Click` in model space.
Holo's "infeasible" answer ``x = y = -1`` and any negative or non-finite number raise
:class:`ParseError` (the model found no element; never a click at the corner).
"""

from __future__ import annotations

import json
import math
import re

from tars.actions.parse.errors import ParseError, clip
from tars.actions.space import Click, Step

_PAIR_RE = re.compile(r"\A\s*\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)\s*\Z")
_FENCED_JSON_RE = re.compile(r"\A\s*```(?:json)?\s*(\{.*\})\s*```\s*\Z", re.S)
_JSON_RE = re.compile(r"\A\s*(\{.*\})\s*\Z", re.S)


def _json_object(text: str) -> dict | None:
    match = _FENCED_JSON_RE.match(text) or _JSON_RE.match(text)
    if not match:
        return None
    try:
        obj = json.loads(match.group(1))
    except ValueError:
        return None
    return obj if isinstance(obj, dict) and "x" in obj and "y" in obj else None


def is_point_answer(text: str) -> bool:
    """True when the whole answer is a coordinate pair or a JSON object with ``x`` and ``y``."""
    return bool(_PAIR_RE.match(text)) or _json_object(text) is not None


def _coord(value, what: str, text: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParseError(f"{what} must be a finite number in {clip(text.strip())!r}")
    if value < 0:
        raise ParseError(f"the model found no element ({what} = {value:g} in {clip(text.strip())!r})")
    return float(int(value)) if float(value).is_integer() else float(value)


def parse_point(text: str) -> Step:
    """The click of a bare-point answer (see the module docstring), in model space.

    Raises:
        ParseError: not a point answer, a negative (``-1``: no element) or non-finite number,
            a Holo ``action`` other than ``click_absolute``.
    """
    pair = _PAIR_RE.match(text)
    if pair:
        x, y = (_coord(float(v), n, text) for v, n in zip(pair.groups(), "xy"))
        return Step(None, (Click(x, y),), raw=text)
    obj = _json_object(text)
    if obj is None:
        raise ParseError(f"not a point: {clip(text.strip())!r}")
    action = obj.get("action", "click_absolute")
    if action != "click_absolute":
        raise ParseError(f"unknown action {action!r} (expected click_absolute)")
    x, y = _coord(obj["x"], "x", text), _coord(obj["y"], "y", text)
    return Step(None, (Click(x, y),), raw=text)
