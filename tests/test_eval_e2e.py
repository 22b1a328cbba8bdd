"""End to end on Xvfb: task suites with `lite` and with a scripted policy that fails on purpose,
the shipped grounding set, and the eval/report commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.eval.grounding import load_dataset
from agent.eval.report import render_report
from agent.eval.tasks import RunSettings, load_suite, run_suite

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
        [sys.executable, "-m", "agent.cli", "eval", "tasks", str(suite), "--jobs", "2",
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
        [sys.executable, "-m", "agent.cli", "eval", "grounding", str(tmp_path / "set.json"),
         "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == len(subset) == 4 and summary["policy"] == "lite"
    assert summary["accuracy"] >= 0.75, (out / "results.jsonl").read_text()
    assert "accuracy" in proc.stdout  # the table at the end
    rep = subprocess.run([sys.executable, "-m", "agent.cli", "report", str(out)], cwd=ROOT,
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
        proc = subprocess.run([sys.executable, "-m", "agent.cli", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)
