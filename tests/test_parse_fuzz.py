"""Fuzzing the parser: arbitrary text gives a Step or a ParseError, nothing else, and parsing
never compiles or runs code (checked with a Python audit hook); generated actions survive
to_text -> parse unchanged."""

from __future__ import annotations

import json
import math
import os
import string
import sys

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tars.actions.keys import CANONICAL_KEYS
from tars.actions.parse import ParseError, parse_response
from tars.actions.space import (
    Click,
    DoubleClick,
    Drag,
    Finished,
    Hotkey,
    MoveTo,
    Press,
    RightClick,
    Scroll,
    Step,
    Type,
    Wait,
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
# Qwen2.5-VL tool calls: random JSON inside <tool_call>, near-valid computer_use arguments, and
# the JSON text cut or spliced anywhere. Only ParseError, never code, never a non-finite point.

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
TOOL_ACTIONS = [
    "key", "type", "mouse_move", "left_click", "left_click_drag", "right_click", "middle_click",
    "double_click", "triple_click", "scroll", "hscroll", "wait", "terminate", "answer", "click",
    "long_press", "swipe", "system_button", "open", "interact", "explode",
]
tool_arguments = st.fixed_dictionaries(
    {"action": st.sampled_from(TOOL_ACTIONS)},
    optional={
        "coordinate": st.lists(st.integers(0, 5000), min_size=2, max_size=2)
        | st.lists(st.integers(-5, 5000) | st.floats(), max_size=3) | json_values,
        "coordinate2": st.lists(st.integers(0, 5000), min_size=2, max_size=2) | json_values,
        "keys": st.lists(st.sampled_from(["ctrl", "Return", "a", "+", " ", "nokey"]), max_size=3)
        | json_values,
        "text": st.text(max_size=20) | st.text(max_size=20) | json_values,
        "pixels": st.integers(-10**6, 10**6) | st.floats() | json_values,
        "time": st.floats(0, 10) | st.floats() | json_values,
        "status": st.sampled_from(["success", "failure", "x"]) | json_values,
        "button": st.sampled_from(["Back", "Home", "Menu", "Enter"]) | json_values,
    },
)
#: mostly well-formed calls, so the action builders are reached, not only the JSON checks
tool_objects = st.one_of(
    json_values,
    st.fixed_dictionaries({"name": st.sampled_from(["computer_use", "mobile_use"]),
                           "arguments": tool_arguments}),
    st.fixed_dictionaries({"name": st.sampled_from(["computer_use", "mobile_use", "other"]) | json_values,
                           "arguments": tool_arguments | json_values}),
)


def _tool_json(obj, allow_nan: bool) -> str:
    return json.dumps(obj, allow_nan=allow_nan, ensure_ascii=False)


tool_call_texts = st.builds(
    lambda head, objs, cut, glue: head + glue.join(
        f"<tool_call>\n{_tool_json(o, True)}\n</tool_call>" for o in objs)[: cut or None],
    st.text(max_size=30),
    st.lists(tool_objects, min_size=1, max_size=3),
    st.just(0) | st.integers(min_value=0, max_value=400),  # 0: not cut
    st.sampled_from(["\n", "\n", "", " junk ", "<tool_call>", "</tool_call>"]),
)


@FUZZ
@given(tool_call_texts)
def test_tool_call_json_only_parse_errors(text):
    step = guarded_parse(text)
    if step is not None:
        assert step.actions
        for action in step.actions:
            assert all(math.isfinite(v) for point in action.points() for v in point), action


point = st.lists(st.integers(0, 5000) | st.floats(0, 5000), min_size=2, max_size=2)
#: well-formed calls: (arguments, the action class they must give)
valid_tool_calls = st.one_of(
    *(st.builds(lambda xy, a=a: ({"action": a, "coordinate": xy}), point).map(lambda d, c=c: (d, c))
      for a, c in [("left_click", Click), ("right_click", RightClick), ("double_click", DoubleClick),
                   ("mouse_move", MoveTo), ("left_click_drag", Drag), ("click", Click)]),
    st.builds(lambda t: ({"action": "type", "text": t}, Type), st.text(max_size=30)),
    st.builds(lambda k: ({"action": "key", "keys": k}, Hotkey),
              st.lists(st.sampled_from(sorted(CANONICAL_KEYS)), min_size=1, max_size=3)),
    st.builds(lambda p, xy: ({"action": "scroll", "pixels": p, **({"coordinate": xy} if xy else {})}, Scroll),
              st.integers(-10**6, 10**6).filter(bool) | st.floats(0.01, 1e6), st.none() | point),
    st.builds(lambda t: ({"action": "wait", "time": t}, Wait), st.floats(0, 60)),
    st.builds(lambda t: ({"action": "answer", "text": t}, Finished), st.text(max_size=30)),
)


@FUZZ
@given(st.text(max_size=30).filter(lambda t: "<tool_call>" not in t),
       st.lists(valid_tool_calls, min_size=1, max_size=4))
def test_well_formed_tool_calls_parse(head, calls):
    """A mouse_move first (so drags have a start), then the calls: one action each, of its class."""
    calls = [({"action": "mouse_move", "coordinate": [1, 2]}, MoveTo), *calls]
    text = head + "\n".join(
        "<tool_call>\n" + json.dumps({"name": "computer_use", "arguments": args}) + "\n</tool_call>"
        for args, _ in calls)
    step = guarded_parse(text)
    assert step is not None, text
    assert [type(a) for a in step.actions] == [cls for _, cls in calls]
    for (args, _), action in zip(calls, step.actions):
        if "coordinate" in args:
            assert list(action.points())[-1] == tuple(args["coordinate"])


@FUZZ
@given(st.lists(st.sampled_from([
    "<tool_call>", "</tool_call>", "{", "}", "[", "]", ",", ":", '"', '"name"', '"computer_use"',
    '"arguments"', '"action"', '"left_click"', '"coordinate"', "1", "-2.5", "1e999", "NaN",
    "Infinity", "null", "true", "\n", " ", "\\", "<function=click>",
]), max_size=40).map("".join))
def test_tool_call_fragments_only_parse_errors(text):
    guarded_parse(text)


# --------------------------------------------------------------------------------------------
# Round trip: Action.to_text -> parse_response gives the action back

coord = st.integers(min_value=0, max_value=4000)
#: free text, minus the model's special tokens, which the parser removes wherever they appear
free_text = st.text(max_size=80).filter(
    lambda t: not any(tok in t for tok in ("<|im_end|>", "<|endoftext|>", "[EOS]", "</s>"))
)
key_names = st.sampled_from(sorted(CANONICAL_KEYS))

actions = st.one_of(
    st.builds(Click, coord, coord),
    st.builds(DoubleClick, coord, coord),
    st.builds(RightClick, coord, coord),
    st.builds(MoveTo, coord, coord),
    st.builds(Drag, coord, coord, coord, coord),
    st.builds(Scroll, coord, coord, st.sampled_from(["up", "down", "left", "right"]),
              st.integers(1, 50)),
    st.builds(Wait, st.integers(0, 600).map(lambda t: t / 10)),
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


def test_mutated_answers_in_every_dialect_give_only_parse_errors():
    """The benchmark's fuzzer (benchmarks/bench_parse_fuzz.py runs 10^6), small here: mutated
    UI-TARS text, JSON tool calls, Seed XML and pyautogui code give a Step or a ParseError."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_parse_fuzz.py"
    spec = importlib.util.spec_from_file_location("bench_parse_fuzz", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    counts = bench.fuzz(int(os.environ.get("TARS_FUZZ_MUTATIONS", "20000")))
    assert counts["step"] > 0 and counts["parse_error"] > 0
