"""`tars eval tasks --harness osworld|tars` end to end on Xvfb against the loopback endpoint
(tests/openai_server.py): four tasks built to hit OSWorld's rules, scored by each harness.

| task                 | answers              | osworld                          | tars                    |
|----------------------|----------------------|----------------------------------|-------------------------|
| feasible-max-steps   | click, click, click  | last step FAIL -> 0 (state good) | state -> 1              |
| infeasible-max-steps | click, click, click  | last step FAIL -> 1              | no call_user -> 0       |
| call-user-4          | call_user x4         | 3 waits, then FAIL -> 0          | call_user, state -> 1   |
| unparsable-once      | garbage, finished    | same messages, temperature 1     | error fed back; 1       |
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from openai_server import ChatServer, completion

ROOT = Path(__file__).resolve().parents[1]

CLICK = "Thought: click the middle\nAction: click(start_box='(300,300)')"
CALL_USER = "Thought: I need help\nAction: call_user()"
FINISHED = "Thought: done\nAction: finished(content='ok')"
GARBAGE = "no idea"

SCRIPTS = {
    "feasible-max-steps": [CLICK],
    "infeasible-max-steps": [CLICK],
    "call-user-4": [CALL_USER],
    "unparsable-once": [GARBAGE, FINISHED],
}


def _suite(folder: Path) -> None:
    folder.mkdir()
    made = {"func": "file_exists", "result": {"type": "file", "path": "{workdir}/made"}}
    for task_id in SCRIPTS:
        evaluator = {"func": "infeasible"} if task_id.startswith("infeasible") else made
        task = {"id": task_id, "instruction": f"task {task_id}: do the thing",
                "config": [{"type": "write", "parameters": {"path": "{workdir}/made", "content": "x"}}],
                "evaluator": evaluator, "max_steps": 3 if "max-steps" in task_id else 6,
                "screen": [640, 480]}
        (folder / f"{task_id}.json").write_text(json.dumps(task))


class Scripted:
    """Answers each task from its script (the last answer repeats) and keeps its requests."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[str, list[dict]] = {k: [] for k in SCRIPTS}

    def __call__(self, body: dict) -> dict:
        prompt = body["messages"][1]["content"][0]["text"]
        task_id = next(k for k in SCRIPTS if f"task {k}:" in prompt)
        with self.lock:
            seen = self.requests[task_id]
            seen.append(body)
            script = SCRIPTS[task_id]
            return completion(script[min(len(seen) - 1, len(script) - 1)], "UI-TARS-1.5-7B")


def _eval(tmp_path: Path, harness: str) -> tuple[dict, dict, Scripted]:
    suite = tmp_path / f"suite-{harness}"
    _suite(suite)
    scripted = Scripted()
    server = ChatServer([(200, scripted, 0)] * 200, models=("UI-TARS-1.5-7B",))
    out = tmp_path / f"out-{harness}"
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tars", "eval", "tasks", str(suite), "--endpoint", server.url,
             "--model", "UI-TARS-1.5-7B", "--harness", harness, "--sleep-after-execution", "0.05",
             "--jobs", "2", "--max-seconds", "90", "--out", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=300)
    finally:
        server.close()
    assert (out / "summary.json").exists(), proc.stderr[-2000:]
    rows = {json.loads(x)["id"]: json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()}
    summary = json.loads((out / "summary.json").read_text())
    return rows, summary, scripted


@pytest.mark.display
def test_eval_tasks_scores_like_osworld_under_each_harness(tmp_path):
    rows, summary, scripted = _eval(tmp_path, "osworld")
    score = {k: r["score"] for k, r in rows.items()}
    assert score == {"feasible-max-steps": 0.0, "infeasible-max-steps": 1.0, "call-user-4": 0.0,
                     "unparsable-once": 1.0}, rows
    assert rows["feasible-max-steps"]["final_action"] == "FAIL" and rows["feasible-max-steps"]["steps"] == 3
    assert rows["call-user-4"]["steps"] == 4 and rows["call-user-4"]["status"] == "call_user"
    first, second = scripted.requests["unparsable-once"][:2]
    assert second["messages"] == first["messages"] and second["temperature"] == 1.0
    assert first["temperature"] == 0.0 and first["top_p"] == 0.9 and first["frequency_penalty"] == 1
    assert summary["harness"] == "osworld" and summary["harness_rules"]["call_user_tolerance"] == 3
    meta = json.loads((tmp_path / "out-osworld" / "call-user-4" / "meta.json").read_text())
    assert meta["settings"]["harness"] == "osworld" and meta["settings"]["language"] == "Chinese"

    rows, summary, scripted = _eval(tmp_path, "tars")
    score = {k: r["score"] for k, r in rows.items()}
    assert score == {"feasible-max-steps": 1.0, "infeasible-max-steps": 0.0, "call-user-4": 1.0,
                     "unparsable-once": 1.0}, rows
    assert rows["call-user-4"]["steps"] == 1
    first, second = scripted.requests["unparsable-once"][:2]
    assert second["temperature"] == 0.0 and len(second["messages"]) == len(first["messages"]) + 2
    assert summary["harness"] == "tars" and summary["harness_rules"]["call_user_tolerance"] is None


def _tars_cli(*args: str) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    return subprocess.run([sys.executable, "-m", "tars", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_tars_run_and_eval_grounding_take_the_harness(tmp_path):
    from PIL import Image

    shot = tmp_path / "screen.png"
    Image.new("RGB", (640, 400), "white").save(shot)
    server = ChatServer([(200, completion(CLICK), 0), (200, completion(FINISHED), 0)], models=("UI-TARS-1.5-7B",))
    try:
        proc = _tars_cli("run", "do the thing", "--endpoint", server.url, "--model", "UI-TARS-1.5-7B",
                         "--harness", "osworld", "--sleep-after-execution", "0", "--dry-run",
                         "--image", str(shot), "--record", str(tmp_path / "run"), "--json")
    finally:
        server.close()
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["final_action"] == "DONE"
    assert server.chats[0]["frequency_penalty"] == 1 and server.chats[0]["top_p"] == 0.9
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["settings"]["harness"] == "osworld" and meta["settings"]["harness_rules"]["last_step_fail"]

    grounding = ROOT / "assets" / "grounding" / "practice.json"
    server = ChatServer([(200, completion("Action: click(start_box='(10,10)')"), 0)] * 2, models=("UI-TARS-1.5-7B",))
    try:
        proc = _tars_cli("eval", "grounding", str(grounding), "--endpoint", server.url, "--model", "UI-TARS-1.5-7B",
                         "--harness", "osworld", "--limit", "2", "--out", str(tmp_path / "g"))
    finally:
        server.close()
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "g" / "summary.json").read_text())["harness"] == "osworld"
    assert all(c["top_p"] == 0.9 for c in server.chats) and len(server.chats) == 2

    proc = _tars_cli("run", "x", "--harness", "webarena", "--dry-run", "--image", str(shot))
    assert proc.returncode == 2 and "unknown harness" in proc.stderr
