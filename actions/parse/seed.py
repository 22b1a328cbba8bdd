"""Seed-style XML tool calls -> UI-TARS calls (the Seed / Doubao dialect of the action language).

``<seed:tool_call><function=click><parameter=point><point>x y</point></parameter></function>
</seed:tool_call>`` (also ``<function name="...">`` and Qwen3-Coder's plain ``<tool_call>``),
with ``<think>``/``<gui_think>`` reasoning before. Each ``<function>`` becomes one call of the
UI-TARS vocabulary (:mod:`tars.actions.parse.uitars` builds the actions), so both dialects
share one set of argument rules. Read with a scanner of our own; nothing is evaluated.
"""

from __future__ import annotations

import re

from tars.actions.parse.errors import ParseError
from tars.actions.parse.errors import clip as _clip
from tars.actions.parse.uitars import _Arg, _Call

_XML_FUNCTION_RE = re.compile(r'<function(?:=([A-Za-z_]\w*)|\s+name="([A-Za-z_]\w*)")\s*>')
_XML_FUNCTION_END = "</function>"
_XML_PARAMETER_RE = re.compile(r'<parameter(?:=([A-Za-z_]\w*)|\s+name="([A-Za-z_]\w*)"[^>]*)>')
_XML_PARAMETER_END = "</parameter>"
#: wrappers around the functions: Seed's <seed:tool_call>, Qwen3-Coder's plain <tool_call>
_XML_WRAPPER_RE = re.compile(r"</?(?:seed:)?tool_call>|\s+")
_THINK_TAG_RE = re.compile(r"</?(?:seed:)?(?:gui_)?think>")


def _xml_calls(text: str, start: int) -> tuple[str, list[_Call]]:
    """(text before the calls, the calls) of Seed-style XML function calls from ``start``.

    Values are taken verbatim (this format has no quoting); a block the generation cut off
    runs to the end of the text and counts as not closed, like an unterminated string.
    """
    head = re.sub(r"<(?:seed:)?tool_call>", "", text[:start])
    calls: list[_Call] = []
    i = start
    while True:
        gap = _XML_WRAPPER_RE.match(text, i)
        while gap and gap.end() > i:
            i = gap.end()
            gap = _XML_WRAPPER_RE.match(text, i)
        if i >= len(text):
            return head, calls
        fm = _XML_FUNCTION_RE.match(text, i)
        if fm is None:
            what = "after the last action" if calls else "where an action was expected"
            raise ParseError(f"unexpected text {what}: {_clip(text[i:])!r}")
        name = fm.group(1) or fm.group(2)
        end = text.find(_XML_FUNCTION_END, fm.end())
        body_end = len(text) if end < 0 else end
        body = text[fm.end() : body_end]
        args: list[_Arg] = []
        j = 0
        while True:
            while j < len(body) and body[j].isspace():
                j += 1
            if j >= len(body):
                break
            pm = _XML_PARAMETER_RE.match(body, j)
            if pm is None:
                raise ParseError(
                    f"unexpected {_clip(body[j:], 30)!r} in <function={name}>: "
                    "expected <parameter=...>"
                )
            pend = body.find(_XML_PARAMETER_END, pm.end())
            value = body[pm.end() : len(body) if pend < 0 else pend]
            args.append(_Arg(pm.group(1) or pm.group(2), value, pend >= 0))
            j = len(body) if pend < 0 else pend + len(_XML_PARAMETER_END)
        after = len(text) if end < 0 else end + len(_XML_FUNCTION_END)
        calls.append(_Call(name, tuple(args), text[i:after], end >= 0))
        i = after
