"""Fuzzing the parser: arbitrary text gives a Step or a ParseError, nothing else, and parsing
never compiles or runs code (checked with a Python audit hook); generated actions survive
to_text -> parse unchanged."""

from __future__ import annotations

import os
import string
import sys

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from actions.keys import CANONICAL_KEYS
from actions.parse import ParseError, parse_response
from actions.space import (
    Click, DoubleClick, Drag, Finished, Hotkey, MoveTo, Press, RightClick, Scroll, Step, Type,
)

#: examples per property; raise it for a long local run: TARS_FUZZ_EXAMPLES=20000 pytest ...
FUZZ = settings(
    max_examples=int(os.environ.get("TARS_FUZZ_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# --------------------------------------------------------------------------------------------
# An audit hook that notices any code compilation or execution, process start or file opening
# while the parser runs. Audit hooks cannot be removed, so this one is installed once and only
# records while `_WATCH` is set.

_WATCH = {"on": False, "events": []}
_FORBIDDEN = ("exec", "compile", "os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "open")


def _audit(event: str, args: tuple) -> None:
    if _WATCH["on"] and event.startswith(_FORBIDDEN):
        _WATCH["events"].append(event)


sys.addaudithook(_audit)


def guarded_parse(text: str) -> Step | None:
    """Parse under the audit hook; return the Step, or None on ParseError."""
    _WATCH["events"].clear()
    _WATCH["on"] = True
    try:
        return parse_response(text)
    except ParseError:
        return None
    finally:
        _WATCH["on"] = False
        assert _WATCH["events"] == [], f"parser triggered {_WATCH['events']} on {text!r}"


def test_audit_hook_sees_eval():
    """The watch works: eval of model text would be caught."""
    _WATCH["events"].clear()
    _WATCH["on"] = True
    try:
        eval("1 + 1")  # noqa: S307 - deliberately, to prove the hook notices
    finally:
        _WATCH["on"] = False
    assert "exec" in _WATCH["events"] or "compile" in _WATCH["events"]


# --------------------------------------------------------------------------------------------
# Arbitrary text

FRAGMENTS = [
    "Thought:", "Thought：", "Reflection:", "Action_Summary:", "Action:", "Action：", "\n", "\n\n",
    " ", "```", "click(", "left_double(", "drag(", "scroll(", "type(", "hotkey(", "finished(",
    "call_user()", "wait()", "foo(", "start_box=", "end_box=", "point=", "content=", "key=",
    "direction=", "'", '"', "\\'", "\\n", "\\", "(", ")", "[", "]", ",", "=", "<point>",
    "</point>", "<bbox>", "</bbox>", "<|box_start|>", "<|box_end|>", "0", "12", "-3", "1.5",
    "1e999", "nan", "999999999999999999999", "ctrl", "enter", "down", "你好", "😀",
    "__import__('os').system('true')", "exec(", "eval(", ")')",
    "<seed:tool_call>", "<function=click>", '<function name="type">', "<parameter=point>",
    "<parameter=content>", "</parameter>", "</function>", "<think>", "</think>",
]

model_like = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text_only_parse_errors(text):
    guarded_parse(text)


@FUZZ
@given(model_like)
def test_model_like_text_only_parse_errors(text):
    step = guarded_parse(text)
    if step is not None:
        assert step.actions, "a Step always has at least one action"


@FUZZ
@given(st.binary(max_size=200))
def test_decoded_bytes_only_parse_errors(data):
    guarded_parse(data.decode("utf-8", errors="replace"))


@pytest.mark.parametrize("value", [None, 42, b"Action: wait()", ["Action: wait()"]])
def test_non_text_is_a_parse_error(value):
    with pytest.raises(ParseError):
        parse_response(value)  # type: ignore[arg-type]


def test_long_pathological_inputs_stay_fast():
    """Many quotes, brackets and calls: the scanner stays linear enough to finish at once."""
    for text in [
        "Action: type(content='" + "')" * 5000,
        "Action: " + "click(start_box='(1,2)')\n" * 2000,
        "Action: click(start_box='" + "(" * 5000,
        "Thought: " + "x" * 200_000 + "\nAction: wait()",
    ]:
        guarded_parse(text)


# --------------------------------------------------------------------------------------------
# Round trip: Action.to_text -> parse_response gives the action back

coord = st.integers(min_value=0, max_value=4000)
#: free text, minus the model's special tokens, which the parser removes wherever they appear
free_text = st.text(max_size=80).filter(
    lambda t: not any(tok in t for tok in ("<|im_end|>", "<|endoftext|>", "[EOS]", "</s>"))
)
key_names = st.sampled_from(sorted(k for k in CANONICAL_KEYS if k not in {"+"}))

actions = st.one_of(
    st.builds(Click, coord, coord),
    st.builds(DoubleClick, coord, coord),
    st.builds(RightClick, coord, coord),
    st.builds(MoveTo, coord, coord),
    st.builds(Drag, coord, coord, coord, coord),
    st.builds(Scroll, coord, coord, st.sampled_from(["up", "down", "left", "right"])),
    st.builds(Hotkey, st.lists(key_names, min_size=1, max_size=4).map(tuple)),
    st.builds(Press, key_names),
    st.builds(Type, free_text),
    st.builds(Finished, free_text),
)


@FUZZ
@given(st.lists(actions, min_size=1, max_size=4))
def test_round_trip(acts):
    text = "Thought: t\nAction: " + "\n\n".join(a.to_text() for a in acts)
    step = guarded_parse(text)
    assert step is not None, text
    assert list(step.actions) == acts


@FUZZ
@given(st.text(alphabet=string.ascii_letters + string.digits + " .,;!?()'\"\n", max_size=120))
def test_thought_text_is_kept(thought):
    assume(thought.strip())
    assume(not any(line.lstrip(" \t>#*_").lower().startswith(("action", "thought", "reflection"))
                   for line in thought.splitlines()))
    step = guarded_parse(f"Thought: {thought}\nAction: wait()")
    assert step is not None and step.thought == thought.strip()
