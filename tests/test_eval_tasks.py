"""Task suites: the schema, the shipped suite, and that doing nothing scores 0 on every task."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tars.evals.tasks import (
    BUILTIN_SUITES,
    RunSettings,
    TaskError,
    TaskSession,
    check_policy,
    load_suite,
    load_task,
    run_suite,
    run_task,
    substitute,
)
from tars.models.base import PolicyError

SUITE = BUILTIN_SUITES["practice"]
TASK_FILES = sorted(SUITE.glob("*.json"))
#: the tasks on tars's own practice apps need PySide6 (the gui extra); the others run without
TASK_PARAMS = [pytest.param(f, id=f.stem, marks=pytest.mark.needs("PySide6") if "tars.assets.apps" in f.read_text() else ())
               for f in TASK_FILES]


def test_shipped_suite_shape():
    tasks = load_suite("practice")
    assert len(tasks) >= 20
    assert sum(t.is_infeasible for t in tasks) >= 3
    # every file's id matches its name, so `--out DIR/<id>` is easy to find
    assert all(t.source_file.stem == t.id for t in tasks)
    # the Debian programs are exercised, not only our own apps
    commands = json.dumps([t.model_dump(mode="json")["config"] for t in tasks])
    for program in ("xterm", "xmessage", "zenity", "mousepad", "tars.assets.apps.notes"):
        assert program in commands


@pytest.mark.parametrize("data, message", [
    ({"instruction": "x", "evaluator": {"func": "file_exists"}}, "id: Field required"),
    ({"id": "a b", "instruction": "x", "evaluator": {"func": "file_exists"}}, "id: Value error"),
    ({"id": "t", "instruction": "x"}, "evaluator: Field required"),
    ({"id": "t", "instruction": "x", "evaluator": {"func": "file_exists"},
      "config": [{"type": "download", "parameters": {}}]}, r"config.0.type.*got 'download'"),
    ({"id": "t", "instruction": "x", "evaluator": {"func": "file_exists", "conj": "xor"}},
     r"conj.*got 'xor'"),
    # names the evaluator registry does not know fail at load time, before any agent runs
    ({"id": "t", "instruction": "x", "evaluator": {"func": "file_exits"}},
     "unknown evaluator func 'file_exits'"),
    ({"id": "t", "instruction": "x", "evaluator": {"func": ["file_exists", "json_equal"]}},
     "unknown evaluator func 'json_equal'"),
    ({"id": "t", "instruction": "x", "evaluator": {
        "func": "file_exists", "result": {"type": "files", "path": "/x"}}}, "unknown getter type 'files'"),
    ({"id": "t", "instruction": "x", "evaluator": {
        "func": ["file_exists", "window_exists"], "result": [{"type": "file", "path": "/x"}],
        "expected": [None, {"type": "rul"}]}}, "result: 1 entries for 2 funcs"),
    ({"id": "t", "instruction": "x", "evaluator": {
        "func": ["file_exists", "window_exists"],
        "expected": [None, {"type": "rul"}]}}, "unknown getter type 'rul'"),
])
def test_bad_task_files(tmp_path, data, message):
    f = tmp_path / "t.json"
    f.write_text(json.dumps(data))
    with pytest.raises(TaskError, match=message) as err:
        load_task(f)
    assert str(f) in str(err.value)  # the message names the file
    with pytest.raises(TaskError, match=message):
        load_suite(tmp_path)  # a suite with one bad file does not load at all


def test_workdir_is_absolute(tmp_path, monkeypatch):
    """A relative --out must not give a relative {workdir}: setup commands run inside it."""
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "t.json"
    f.write_text(json.dumps({"id": "t", "instruction": "x", "evaluator": {"func": "infeasible"}}))
    session = TaskSession(load_task(f), {}, "runs/lite/t/work")
    assert session.variables["workdir"] == str(tmp_path / "runs" / "lite" / "t" / "work")
    assert Path(session.variables["workdir"]).is_absolute()


def test_check_policy_fails_fast_on_a_dead_endpoint():
    started = time.monotonic()
    for options in ({"endpoint": "http://127.0.0.1:9/v1"},
                    {"endpoint": "http://127.0.0.1:9/v1", "model": "ui-tars-1.5-7b"}):
        with pytest.raises(PolicyError, match=r"127.0.0.1:9/v1 is unreachable"):
            check_policy({"options": options})
    assert time.monotonic() - started < 15
    with pytest.raises(PolicyError, match="needs --model"):
        check_policy({"options": {"policy": "hf"}})
    with pytest.raises(PolicyError):
        check_policy({"name": "no-such-policy"})
    check_policy({"name": "scripted", "settings": {"replies": ["Action: wait()"]}})
    check_policy(None)


def test_osworld_extra_keys_are_kept(tmp_path):
    f = tmp_path / "t.json"
    f.write_text(json.dumps({"id": "t", "instruction": "x", "snapshot": "chrome",
                             "related_apps": ["chrome"], "evaluator": {"func": "infeasible"}}))
    t = load_task(f)
    assert t.is_infeasible and t.model_extra["snapshot"] == "chrome"


def test_suite_errors(tmp_path):
    with pytest.raises(TaskError, match="no such task file"):
        load_suite(tmp_path / "nope")
    with pytest.raises(TaskError, match="no task files"):
        load_suite(tmp_path)
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps({"id": "same", "instruction": "x",
                                                 "evaluator": {"func": "infeasible"}}))
    with pytest.raises(TaskError, match="two tasks have the id 'same'"):
        load_suite(tmp_path)


def test_substitute_keeps_regex_braces():
    out = substitute({"p": ["{workdir}/a", r"\d{2}"], "n": 3}, {"workdir": "/w"})
    assert out == {"p": ["/w/a", r"\d{2}"], "n": 3}


@pytest.mark.display
def test_setup_failure_is_reported_not_raised(tmp_path):
    f = tmp_path / "t.json"
    f.write_text(json.dumps({
        "id": "broken", "instruction": "x", "evaluator": {"func": "file_exists",
                                                          "result": {"type": "file", "path": "/"}},
        "config": [{"type": "execute", "parameters": {"command": "echo oops >&2; exit 5", "shell": True}}],
    }))
    row = run_task(load_task(f), tmp_path / "out", RunSettings(policy=None))
    assert row["status"] == "setup_error" and "exited 5" in row["error"] and "oops" in row["error"]
    assert row["score"] == 0.0


@pytest.mark.display
@pytest.mark.parametrize("task_file", TASK_PARAMS)
def test_doing_nothing_scores_zero(task_file, tmp_path):
    """Run the task's setup on a fresh display, evaluate with no agent: the score must be 0."""
    task = load_task(task_file)
    row = run_task(task, tmp_path, RunSettings(policy=None))
    assert row["status"] == "none", row["error"]  # the setup itself worked
    assert row["score"] == 0.0 and row["success"] is False
    if "app_state" in json.dumps(task.evaluator.model_dump()):
        # the practice app really started: it wrote its initial state file
        assert list((tmp_path / task.id / "work").glob("*.json"))


@pytest.mark.display
def test_suite_run_writes_results_and_summary(tmp_path):
    tasks = [t for t in load_suite("practice") if t.id.startswith(("xmessage", "zenity"))][:3]
    summary = run_suite(tasks, tmp_path, RunSettings(policy=None, jobs=2))
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    # one line per task, written as each ends (finishing order); the summary keeps suite order
    assert sorted(json.loads(x)["id"] for x in lines) == sorted(t.id for t in tasks)
    assert [r["id"] for r in summary["rows"]] == [t.id for t in tasks]
    assert "interrupted" not in summary
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["n_tasks"] == 3 and saved["n_success"] == 0 and saved["success_rate"] == 0.0
    assert saved["statuses"] == {"none": 3} and summary["mean_steps"] == 0.0
    with pytest.raises(TaskError, match="already holds evaluation results"):
        run_suite(tasks, tmp_path, RunSettings(policy=None))


@pytest.mark.display
def test_write_open_sleep_steps_and_variables(tmp_path):
    """`write` creates a file in {workdir}, `open` shows it with a program, `sleep` waits."""
    f = tmp_path / "t.json"
    f.write_text(json.dumps({
        "id": "open-note", "instruction": "x",
        "config": [
            {"type": "write", "parameters": {"path": "{workdir}/note.txt", "content": "from {task_dir}"}},
            {"type": "open", "parameters": {"path": "{workdir}/note.txt", "with": ["xmessage", "-file"],
                                            "wait_window": "^xmessage$"}},
            {"type": "sleep", "parameters": {"seconds": 0.1}},
        ],
        "evaluator": {"func": ["window_exists", "file_equals"], "conj": "and",
                      "result": [{"type": "window_titles"}, {"type": "file", "path": "{workdir}/note.txt"}],
                      "expected": [{"type": "rule", "rules": {"title": "xmessage"}},
                                   {"type": "rule", "rules": {"text": "from " + str(tmp_path)}}]},
    }))
    row = run_task(load_task(f), tmp_path / "out", RunSettings(policy=None))
    assert row["status"] == "none" and row["score"] == 1.0, row
    assert (tmp_path / "out" / "open-note" / "work" / "note.txt").exists()


@pytest.mark.display
def test_relative_out_folder(tmp_path, monkeypatch):
    """`--out runs/lite` (relative): a setup command run inside {workdir} that writes to
    {workdir}/x.txt must write the task's own file, and the evaluator must find it."""
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "t.json"
    f.write_text(json.dumps({
        "id": "rel", "instruction": "x",
        "config": [{"type": "execute", "parameters": {"command": ["sh", "-c", "echo hi > {workdir}/x.txt"]}}],
        "evaluator": {"func": "file_equals", "result": {"type": "file", "path": "{workdir}/x.txt"},
                      "expected": {"type": "rule", "rules": {"text": "hi"}}},
    }))
    row = run_task(load_task(f), Path("runs") / "lite", RunSettings(policy=None))
    assert row["status"] == "none" and row["score"] == 1.0, row
    assert (tmp_path / "runs" / "lite" / "rel" / "work" / "x.txt").read_text() == "hi\n"
    assert not list((tmp_path / "runs" / "lite" / "rel" / "work").glob("runs"))  # no nesting


@pytest.mark.display
def test_a_launched_program_that_crashes_fails_the_setup_at_once_with_its_output(tmp_path):
    """A program that exits non-zero before its window appears (a missing library, a typo)
    ends the wait at once, and the setup error carries what it printed."""
    import time

    f = tmp_path / "t.json"
    f.write_text(json.dumps({
        "id": "crash", "instruction": "x",
        "config": [{"type": "launch", "parameters": {
            "command": ["{python}", "-c", "import sys; print('no module named PySide6 (pretend)'); sys.exit(3)"],
            "wait_window": "^never$", "timeout": 60}}],
        "evaluator": {"func": "infeasible"},
    }))
    started = time.monotonic()
    row = run_task(load_task(f), tmp_path / "out", RunSettings(policy=None))
    assert row["status"] == "setup_error", row
    assert "exited with status 3" in row["error"] and "no module named PySide6" in row["error"]
    assert time.monotonic() - started < 30  # not the 60 s window timeout
