"""Task evaluators: getters and metrics on real files, real commands and a real X display."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tars.evals import evaluators as ev
from tars.evals.evaluators import EvalContext, EvaluatorError, evaluate


@pytest.fixture
def ctx(tmp_path):
    return EvalContext(env={"PATH": "/usr/bin:/bin"}, workdir=tmp_path, status="finished")


def _file(path, text=None):
    return {"type": "file", "path": str(path)}


def _rule(**rules):
    return {"type": "rule", "rules": rules}


def test_file_exists_and_equals(tmp_path, ctx):
    f = tmp_path / "a.txt"
    spec = {"func": "file_equals", "result": _file(f), "expected": _rule(text="hello")}
    assert evaluate(spec, ctx) == 0.0  # missing file: 0, not an exception
    assert evaluate({"func": "file_exists", "result": _file(f)}, ctx) == 0.0
    assert evaluate({"func": "file_not_exists", "result": _file(f)}, ctx) == 1.0
    f.write_text("hello\n")
    assert evaluate(spec, ctx) == 1.0  # strip by default
    assert evaluate({**spec, "options": {"strip": False}}, ctx) == 0.0
    f.write_text("HELLO")
    assert evaluate(spec, ctx) == 0.0
    assert evaluate({**spec, "options": {"ignore_case": True}}, ctx) == 1.0
    assert evaluate({"func": "file_exists", "result": _file(f)}, ctx) == 1.0


def test_file_matches_regex(tmp_path, ctx):
    f = tmp_path / "log.txt"
    f.write_text("total: 42 items\n")
    spec = {"func": "file_matches", "result": _file(f), "expected": _rule(pattern=r"total: \d{2} items")}
    assert evaluate(spec, ctx) == 1.0
    spec["expected"] = _rule(pattern=r"total: \d{3} items")
    assert evaluate(spec, ctx) == 0.0


@pytest.mark.parametrize("path, value", [
    ("fields.name", "Ada"), ("items.0", "a"), ("items.-1", "c"), ("flag", False),
    ("", {"fields": {"name": "Ada"}, "items": ["a", "b", "c"], "flag": False}),
])
def test_json_path(path, value):
    data = {"fields": {"name": "Ada"}, "items": ["a", "b", "c"], "flag": False}
    assert ev.json_path(data, path) == value


def test_json_path_missing_is_not_none():
    # a missing path must not compare equal to an expected null
    assert ev.json_equals({"a": None}, {"path": "a", "value": None}) == 1.0
    assert ev.json_equals({}, {"path": "a", "value": None}) == 0.0
    assert ev.json_equals({"items": []}, {"path": "items.0", "value": None}) == 0.0


def test_app_state_equals(tmp_path, ctx):
    state = tmp_path / "todo.json"
    spec = {"func": "app_state_equals", "result": {"type": "app_state", "path": str(state)},
            "expected": _rule(expect={"items.-1": "milk", "selected": None})}
    assert evaluate(spec, ctx) == 0.0  # no state file yet
    state.write_text("{torn")
    assert evaluate(spec, ctx) == 0.0  # invalid JSON
    state.write_text(json.dumps({"items": ["bread", "milk"], "selected": None}))
    assert evaluate(spec, ctx) == 1.0
    state.write_text(json.dumps({"items": ["milk", "bread"], "selected": None}))
    assert evaluate(spec, ctx) == 0.0


def test_command_status_and_output(tmp_path, ctx):
    ok = {"func": "command_succeeds", "result": {"type": "command", "command": ["true"]}}
    assert evaluate(ok, ctx) == 1.0
    assert evaluate({**ok, "result": {"type": "command", "command": "exit 3", "shell": True}}, ctx) == 0.0
    assert evaluate({**ok, "result": {"type": "command", "command": "exit 3", "shell": True},
                     "expected": _rule(returncode=3)}, ctx) == 1.0
    out = {"func": "command_output_matches",
           "result": {"type": "command", "command": "echo one; echo two", "shell": True},
           "expected": _rule(stdout="one\ntwo")}
    assert evaluate(out, ctx) == 1.0
    assert evaluate({**out, "expected": _rule(pattern="^two$")}, ctx) == 0.0  # no MULTILINE
    assert evaluate({**out, "expected": _rule(pattern="tw+o")}, ctx) == 1.0
    missing = {"func": "command_succeeds", "result": {"type": "command", "command": ["no-such-program-xyz"]}}
    assert evaluate(missing, ctx) == 0.0


def test_conj_and_or(tmp_path, ctx):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("x")
    spec = {"func": ["file_exists", "file_exists"], "result": [_file(a), _file(b)], "conj": "and"}
    assert evaluate(spec, ctx) == 0.0
    assert evaluate({**spec, "conj": "or"}, ctx) == 1.0
    with pytest.raises(EvaluatorError, match="2 funcs"):
        evaluate({**spec, "result": [_file(a)]}, ctx)


@pytest.mark.parametrize("status, score", [("call_user", 1.0), ("finished", 0.0), (None, 0.0),
                                           ("max_steps", 0.0)])
def test_infeasible_needs_call_user(tmp_path, status, score):
    ctx = EvalContext({}, tmp_path, status)
    assert evaluate({"func": "infeasible"}, ctx) == score
    # a feasible-looking evaluator on a task marked infeasible is overruled
    assert evaluate({"func": "file_exists", "result": _file(tmp_path)}, ctx, infeasible_task=True) == score


def test_malformed_evaluators(ctx):
    with pytest.raises(EvaluatorError, match="unknown evaluator func"):
        evaluate({"func": "compare_magic"}, ctx)
    with pytest.raises(EvaluatorError, match="unknown result/expected type"):
        evaluate({"func": "file_exists", "result": {"type": "vm_file"}}, ctx)
    with pytest.raises(EvaluatorError, match="needs 'path'"):
        evaluate({"func": "file_exists", "result": {"type": "file"}}, ctx)
    with pytest.raises(EvaluatorError, match="conj"):
        evaluate({"func": "file_exists", "result": _file("/"), "conj": "xor"}, ctx)


@pytest.mark.display
def test_window_titles_on_a_real_display(virtual_display, tmp_path):
    display = virtual_display(640, 480)
    env = display.env()
    ctx = EvalContext(env, tmp_path, None)
    spec = {"func": "window_exists", "result": {"type": "window_titles"},
            "expected": _rule(title="Greeting")}
    absent = {**spec, "func": "window_absent"}
    assert evaluate(spec, ctx) == 0.0 and evaluate(absent, ctx) == 1.0
    proc = subprocess.Popen(["xmessage", "-title", "Greeting", "hello"], env=env)
    try:
        deadline = time.monotonic() + 10
        while "Greeting" not in ev.window_titles(env) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert evaluate(spec, ctx) == 1.0 and evaluate(absent, ctx) == 0.0
        assert evaluate({**spec, "expected": _rule(pattern="^Gree")}, ctx) == 1.0
        assert evaluate({**spec, "expected": _rule(title="greeting")}, ctx) == 0.0
    finally:
        proc.kill()
        proc.wait()


def test_infeasible_is_credited_only_when_nothing_was_touched(tmp_path):
    # issue 17: a run that clicked a wrong control, then gave up, is not a correct refusal
    ctx = EvalContext({}, tmp_path, "call_user", touched=True)
    assert evaluate({"func": "infeasible"}, ctx) == 0.0
    assert evaluate({"func": "infeasible"}, EvalContext({}, tmp_path, "call_user", touched=False)) == 1.0


def test_touched_desktop_reads_the_actions_of_the_trajectory(tmp_path):
    import json

    from tars.evals.tasks import touched_desktop

    def write(*names):
        (tmp_path / "steps.jsonl").write_text("".join(
            json.dumps({"step_num": i + 1, "actions": [{"text": n, "model": {"action": n}}]}) + "\n"
            for i, n in enumerate(names)))

    assert not touched_desktop(tmp_path)  # no steps at all
    write("mouse_move", "wait", "call_user")
    assert not touched_desktop(tmp_path)
    write("wait", "click", "call_user")
    assert touched_desktop(tmp_path)
    (tmp_path / "steps.jsonl").write_text("not json\n")
    assert touched_desktop(tmp_path)
