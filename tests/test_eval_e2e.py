"""End to end on Xvfb: task suites with `lite` and with a scripted policy that fails on purpose,
the shipped grounding set, and the eval/report commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tars.evals.grounding import load_dataset
from tars.evals.tasks import RunSettings, load_suite, run_suite
from tars.frontends.report import render_report

ROOT = Path(__file__).resolve().parents[1]
GROUNDING = ROOT / "assets" / "grounding"


def _tasks(*ids):
    by_id = {t.id: t for t in load_suite("practice")}
    return [by_id[i] for i in ids]


@pytest.mark.display
def test_three_tasks_with_lite(tmp_path):
    """`tars eval tasks` with the default policy solves a three-task suite, each task on its
    own display, two at a time, and writes results, summary and one trajectory per task."""
    pytest.importorskip("rapidocr_onnxruntime")
    tasks = _tasks("xmessage-answer-no", "todo-add-item", "zenity-question-yes")
    suite = tmp_path / "suite"
    suite.mkdir()
    for t in tasks:
        (suite / t.source_file.name).write_bytes(t.source_file.read_bytes())
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "tars", "eval", "tasks", str(suite), "--jobs", "2",
         "--max-seconds", "90", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    rows = {json.loads(x)["id"]: json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()}
    assert proc.returncode == 0, (rows, proc.stderr[-2000:])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_tasks"] == 3 and summary["n_success"] == 3 and summary["success_rate"] == 1.0
    assert summary["policy"] == "lite" and summary["settings"]["jobs"] == 2
    assert "success rate 100.0 %" in proc.stdout  # the table at the end
    for t in tasks:
        assert rows[t.id]["status"] == "finished" and rows[t.id]["steps"] >= 2
        # a full trajectory per task, in the DESIGN.md format
        folder = out / t.id
        meta = json.loads((folder / "meta.json").read_text())
        assert meta["instruction"] == t.instruction and meta["policy"] == "lite"
        assert (folder / "step-0001.png").exists()
        assert json.loads((folder / "result.json").read_text())["status"] == "finished"
    # the evaluation report links every task and embeds its screenshots
    html = render_report(out)
    assert all(f'href="#task-{t.id}"' in html for t in tasks) and "100.0 %" in html


@pytest.mark.display
def test_scripted_policy_that_fails_on_purpose(tmp_path):
    """A policy that claims success without doing anything scores 0; an infeasible task is
    only a success when the agent ends with call_user; a broken policy is an error row."""
    tasks = _tasks("todo-add-item", "infeasible-todo-export")
    lazy = RunSettings({"name": "scripted", "settings": {"replies": [
        "Thought: Looks done to me.\nAction: click(start_box='(5,5)')",
        "Thought: Done.\nAction: finished(content='all done')",
    ]}}, max_seconds=30)
    summary = run_suite(tasks, tmp_path / "lazy", lazy)
    rows = {r["id"]: r for r in summary["rows"]}
    assert rows["todo-add-item"]["status"] == "finished" and rows["todo-add-item"]["score"] == 0.0
    assert rows["todo-add-item"]["steps"] == 2
    assert rows["infeasible-todo-export"]["status"] == "finished"
    assert rows["infeasible-todo-export"]["score"] == 0.0  # finished is not giving up
    assert summary["n_success"] == 0 and summary["success_rate"] == 0.0 and summary["mean_steps"] == 2.0
    steps = (tmp_path / "lazy" / "todo-add-item" / "steps.jsonl").read_text().splitlines()
    assert json.loads(steps[0])["actions"][0]["screen"] == {"action": "click", "x": 5, "y": 5}

    giving_up = RunSettings({"name": "scripted", "settings": {"replies": [
        "Thought: There is no such button.\nAction: call_user()"]}}, max_seconds=30)
    summary = run_suite(tasks, tmp_path / "giveup", giving_up)
    rows = {r["id"]: r for r in summary["rows"]}
    assert rows["infeasible-todo-export"]["status"] == "call_user"
    assert rows["infeasible-todo-export"]["score"] == 1.0
    assert rows["todo-add-item"]["score"] == 0.0

    # clicking something, then giving up, is not declining an infeasible task (issue 17)
    touched = RunSettings({"name": "scripted", "settings": {"replies": [
        "Thought: Maybe this.\nAction: click(start_box='(5,5)')",
        "Thought: There is no such button.\nAction: call_user()"]}}, max_seconds=30)
    row = run_suite(tasks[1:], tmp_path / "touched", touched)["rows"][0]
    assert row["status"] == "call_user" and row["score"] == 0.0

    broken = RunSettings({"name": "no-such-policy"}, max_seconds=30)
    row = run_suite(tasks[:1], tmp_path / "broken", broken)["rows"][0]
    assert row["status"] == "error" and "no-such-policy" in row["error"] and row["score"] == 0.0


def test_shipped_grounding_set():
    """The practice grounding set loads as ScreenSpot-Pro (corners) and its boxes fit."""
    from PIL import Image

    records = load_dataset(GROUNDING)
    assert len(records) >= 40
    apps = {r.meta["application"] for r in records}
    assert apps == {"signup", "todo", "settings", "notes"}
    assert {r.meta["ui_type"] for r in records} == {"text", "icon"}
    for r in records:
        w, h = Image.open(r.image_path).size
        assert r.raw["img_size"] == [w, h]
        x1, y1, x2, y2 = r.bbox
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h, r.id
    # kept small for the repository
    assert sum(p.stat().st_size for p in (GROUNDING / "images").glob("*.png")) < 200_000


def test_eval_grounding_command_with_lite(tmp_path):
    """`tars eval grounding` with the default policy on part of the shipped set."""
    pytest.importorskip("rapidocr_onnxruntime")
    subset = [r.raw for r in load_dataset(GROUNDING) if r.raw["img_filename"] == "signup-form.png"]
    subset = [r for r in subset if "button" in r["instruction"] or "check box" in r["instruction"]]
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "signup-form.png").write_bytes((GROUNDING / "images" / "signup-form.png").read_bytes())
    (tmp_path / "set.json").write_text(json.dumps(subset))
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "tars", "eval", "grounding", str(tmp_path / "set.json"),
         "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == len(subset) == 4 and summary["policy"] == "lite"
    assert summary["accuracy"] >= 0.75, (out / "results.jsonl").read_text()
    assert "accuracy" in proc.stdout  # the table at the end
    rep = subprocess.run([sys.executable, "-m", "tars", "report", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert rep.returncode == 0 and Path(rep.stdout.strip()).read_text().count("<tr>") >= 5


def test_eval_commands_reject_bad_input(tmp_path):
    for args, message in (
        (["eval", "grounding", str(tmp_path / "missing.json")], "no such file"),
        (["eval", "tasks", str(tmp_path / "missing")], "no such task file"),
        (["eval", "tasks", "practice", "--task", "nope"], "no task with id nope"),
        (["eval", "tasks", "practice", "--policy", "hf"], "needs --model"),
        (["report", str(tmp_path)], "neither a trajectory"),
    ):
        proc = subprocess.run([sys.executable, "-m", "tars", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)


def _write_task(folder: Path, task_id: str, **extra) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data = {"id": task_id, "instruction": "wait",
            "evaluator": {"func": "file_exists", "result": {"type": "file", "path": "{workdir}/none"}},
            **extra}
    (folder / f"{task_id}.json").write_text(json.dumps(data))


def test_eval_tasks_rejects_a_bad_suite_or_dead_endpoint_before_any_task(tmp_path):
    """An unknown evaluator func and a dead endpoint each fail with one `tars:` line and exit 2
    before any task starts (no --out folder appears)."""
    bad = tmp_path / "bad"
    _write_task(bad, "ok")
    _write_task(bad, "typo", evaluator={"func": "window_exist", "result": {"type": "window_titles"}})
    good = tmp_path / "good"
    _write_task(good, "ok")
    for args, messages in (
        ([str(bad)], [str(bad / "typo.json"), "unknown evaluator func 'window_exist'"]),
        ([str(good), "--endpoint", "http://127.0.0.1:9/v1"], ["127.0.0.1:9/v1 is unreachable"]),
        ([str(good), "--endpoint", "http://127.0.0.1:9/v1", "--model", "ui-tars"], ["unreachable"]),
    ):
        out = tmp_path / "out"
        proc = subprocess.run([sys.executable, "-m", "tars", "eval", "tasks", *args, "--out", str(out)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("tars: "), proc.stderr
        assert all(m in lines[0] for m in messages), (messages, lines[0])
        assert not out.exists()


_SUITE_DRIVER = """
import json, sys
from tars.evals.tasks import RunSettings, load_suite, run_suite
replies = ["Thought: waiting.\\nAction: wait(seconds=1)"] * 60
summary = run_suite(load_suite(sys.argv[1]), sys.argv[2], RunSettings(
    {"name": "scripted", "settings": {"replies": replies}}, max_seconds=120, jobs=2))
sys.exit(130 if summary.get("interrupted") else 0)
"""


def _interrupt_when(proc: subprocess.Popen, ready, timeout: float = 90) -> float:
    """Send SIGINT to the whole process group (like Ctrl+C in a terminal) once ``ready()``."""
    import os
    import signal
    import time

    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    return time.monotonic()


@pytest.mark.display
def test_ctrl_c_stops_running_tasks_and_keeps_results(tmp_path):
    """Ctrl+C while one task has finished and another is mid-run: the finished row is already
    in results.jsonl, the running worker ends its run as `stopped` with a closed trajectory,
    the one just started is stopped too, the task not yet started is skipped, summary.json is written, and `tars report` works."""
    import time

    suite = tmp_path / "suite"
    _write_task(suite, "a-short", max_steps=1)
    _write_task(suite, "b-long", max_steps=50)
    _write_task(suite, "c-next", max_steps=50)  # starts when a-short ends (two jobs)
    _write_task(suite, "d-later", max_steps=50)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", _SUITE_DRIVER, str(suite), str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    results = out / "results.jsonl"
    b_steps = out / "b-long" / "steps.jsonl"

    def ready() -> bool:  # a-short's row written (flushed as it ended) and b-long mid-run
        return (results.exists() and "a-short" in results.read_text()
                and b_steps.exists() and len(b_steps.read_text().splitlines()) >= 2)

    sent = _interrupt_when(proc, ready)
    _, err = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 20, "the running task was not stopped promptly"
    assert proc.returncode == 130, err[-2000:]
    rows = {json.loads(x)["id"]: json.loads(x) for x in results.read_text().splitlines()}
    assert rows["a-short"]["status"] == "max_steps"
    assert rows["b-long"]["status"] == "stopped" and rows["b-long"]["score"] == 0.0
    assert rows["c-next"]["status"] == "stopped" and "d-later" not in rows
    # the worker ended its own run (SIGTERM -> Agent.stop), so the trajectory is closed
    assert json.loads((out / "b-long" / "result.json").read_text())["status"] == "stopped"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["not_run"] == ["d-later"]
    assert summary["n_tasks"] == 3 and summary["statuses"] == {"max_steps": 1, "stopped": 2}
    rep = subprocess.run([sys.executable, "-m", "tars", "report", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert rep.returncode == 0, rep.stderr
    assert 'href="#task-b-long"' in Path(rep.stdout.strip()).read_text()


@pytest.mark.display
def test_ctrl_c_in_eval_tasks_command(tmp_path):
    """`tars eval tasks` interrupted during a task's setup: one note line, exit 130, and the
    folder holds a summary for `tars report`."""
    pytest.importorskip("rapidocr_onnxruntime")
    suite = tmp_path / "suite"
    _write_task(suite, "slow-setup", config=[
        {"type": "write", "parameters": {"path": "{workdir}/started", "content": "1"}},
        {"type": "sleep", "parameters": {"seconds": 60}}])
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "tars", "eval", "tasks", str(suite),
                             "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    _interrupt_when(proc, lambda: (out / "slow-setup" / "work" / "started").exists())
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err[-2000:]
    assert "tars: interrupted: 0 tasks finished, 1 stopped, 0 not run" in err
    row = json.loads((out / "results.jsonl").read_text())
    assert row["id"] == "slow-setup" and row["status"] == "stopped"
    assert json.loads((out / "summary.json").read_text())["interrupted"] is True
    assert "slow-setup" in render_report(out)


_DISPLAY_UNDER_CTRL_C = """
import signal, sys, time
from tars.agent.display import VirtualDisplay
signal.signal(signal.SIGINT, lambda *a: None)  # this process lives on to stop the display itself
with VirtualDisplay(320, 240) as vd:
    print("ready", flush=True)
    time.sleep(1.5)  # the terminal's Ctrl+C reaches the whole process group meanwhile
    print("alive" if vd._xvfb.poll() is None and vd._wm.poll() is None else "dead", flush=True)
"""


@pytest.mark.display
def test_a_virtual_display_outlives_a_ctrl_c_to_its_owners_process_group():
    """A terminal's Ctrl+C goes to the whole foreground group; the task displays must not die
    of it before the running agents have stopped (they were in the group: a running task's
    result.json then said `error`, the display lost, instead of `stopped`)."""
    import os
    import signal

    proc = subprocess.Popen([sys.executable, "-c", _DISPLAY_UNDER_CTRL_C], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert out.strip() == "alive" and proc.returncode == 0, err
