"""Planner + grounder mode end to end: a practice-app task solved by a scripted planner endpoint
with ``lite`` as the grounder, and with a scripted grounder endpoint (a Holo3-style grounding
model that reads the screenshot it is sent); the trajectory keeps both answers per step.

The endpoints are the loopback server of ``openai_server`` (vLLM's wire protocol); the task
runs in ``tars eval tasks`` on its own Xvfb with the real practice app, scored by its
evaluator (the app's saved state), so a success means the item was really added.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from openai_server import ChatServer, completion
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

PLAN = [
    "Thought: The New item field is where the text goes; I click it first.\n"
    "Action: click(element='the New item field')",
    "Thought: The field has the focus; I type the item.\nAction: type(content='Buy bread')",
    "Thought: Now I add it.\nAction: click(element='Add')",
    "Thought: Buy bread is in the list.\nAction: finished(content='Buy bread added')",
]


def _planner(model: str = "gpt-planner") -> ChatServer:
    return ChatServer([(200, completion(text, model), 0) for text in PLAN], models=(model,))


def _run_task(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict, list[dict]]:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "tars", "eval", "tasks", "practice", "--task", "todo-add-item",
         "--max-seconds", "120", "--out", str(out), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()] if (out / "results.jsonl").exists() else []
    steps_file = out / "todo-add-item" / "steps.jsonl"
    steps = [json.loads(x) for x in steps_file.read_text().splitlines()] if steps_file.exists() else []
    return proc, (rows[0] if rows else {}), steps


@pytest.mark.display
def test_scripted_planner_with_lite_as_grounder_adds_the_item(tmp_path):
    pytest.importorskip("rapidocr_onnxruntime")
    planner = _planner()
    try:
        proc, row, steps = _run_task(tmp_path, "--planner-endpoint", planner.url)
    finally:
        planner.close()
    assert proc.returncode == 0 and row.get("score") == 1.0, (row, proc.stderr[-2000:])
    assert row["status"] == "finished" and len(steps) == 4
    # both answers are in the trajectory: the planner's words and where the grounder put them
    assert steps[0]["planner"] == PLAN[0]
    assert steps[0]["grounding"][0]["element"] == "the New item field"
    assert steps[2]["grounding"][0]["element"] == "Add" and steps[2]["grounding"][0]["point"]
    assert steps[1]["grounding"] == [] and steps[1]["planner"] == PLAN[1]
    clicked = steps[2]["actions"][0]["screen"]
    x, y = steps[2]["grounding"][0]["point"]
    assert clicked["action"] == "click" and (clicked["x"], clicked["y"]) == (round(x), round(y))
    # the planner saw its own words in the history, not the grounded coordinates
    history = json.dumps(planner.chats[2]["messages"])
    assert "click(element='the New item field')" in history and "start_box" not in history
    meta = json.loads((tmp_path / "out" / "todo-add-item" / "meta.json").read_text())
    assert meta["settings"]["planner_endpoint"] == planner.url


def _holo3_grounder(body: dict) -> dict:
    """A Holo3-style grounding endpoint: finds the target's text on the screenshot it was sent
    (with lite's OCR) and answers {"x", "y"} on the 0..1000 grid, as Holo3 does."""
    from tars.models.lite.ocr import get_engine

    content = body["messages"][-1]["content"]
    url = next(p["image_url"]["url"] for p in content if p["type"] == "image_url")
    text = next(p["text"] for p in content if p["type"] == "text")
    target = text.rsplit("Your target is:\n", 1)[1].strip().lower()
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")
    lines = get_engine().read(image).lines
    words = [w for w in target.replace("the ", "").replace(" field", "").split() if w]
    line = next((ln for ln in lines if ln.text.strip().lower().rstrip(":") == " ".join(words)), None)
    if line is None:
        return completion('{"x": -1, "y": -1}', "Hcompany/Holo3-35B-A3B")
    x1, y1, x2, y2 = line.box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    if target.endswith("field"):  # the field is right of its label
        cx = x2 + 60
    w, h = image.size
    return completion(json.dumps({"x": round(cx / w * 1000), "y": round(cy / h * 1000)}), "Hcompany/Holo3-35B-A3B")


@pytest.mark.display
def test_scripted_planner_with_a_grounder_endpoint_adds_the_item(tmp_path):
    pytest.importorskip("rapidocr_onnxruntime")
    planner = _planner()
    grounder = ChatServer([(200, _holo3_grounder, 0)] * 4, models=("Hcompany/Holo3-35B-A3B",))
    try:
        proc, row, steps = _run_task(tmp_path, "--planner-endpoint", planner.url, "--endpoint", grounder.url)
    finally:
        planner.close()
        grounder.close()
    assert proc.returncode == 0 and row.get("score") == 1.0, (row, proc.stderr[-2000:])
    assert len(grounder.chats) == 2  # one request per element, none for type/finished
    request = grounder.chats[0]
    assert request["temperature"] == 0.0 and len(request["messages"]) == 1  # Holo3's one user turn
    assert request["messages"][0]["content"][1]["text"].endswith("Your target is:\nthe New item field")
    answer = json.loads(steps[2]["grounding"][0]["answer"])
    assert set(answer) == {"x", "y"} and steps[2]["grounding"][0]["point"]


def test_planner_options_are_checked_before_anything_runs(tmp_path):
    for args, message in [
        (["--planner-profile", "qwen2.5-vl"], "--planner-profile needs --planner-endpoint"),
        (["--planner-endpoint", "http://127.0.0.1:9/v1", "--planner-profile", "opencua"], "cannot speak the planner"),
        (["--planner-endpoint", "http://127.0.0.1:9/v1", "--planner-profile", "nope"], "unknown model profile"),
    ]:
        proc = subprocess.run([sys.executable, "-m", "tars", "run", "do it", "--dry-run", *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)


def test_an_unusable_planner_answer_goes_back_to_the_planner_with_the_reason():
    """Not the planner language, then an element the grounder cannot find: both are fed back
    to the planner (with the current screenshot), and its third answer is grounded."""
    from tars.agent.history import History
    from tars.models.planner import PlannerGrounderPolicy
    from tars.models.scripted import ScriptedPolicy

    seen: list = []

    def good(prompt):
        seen.append(prompt)
        return "Thought: now the Save button.\nAction: click(element='Save')"

    planner = ScriptedPolicy(["I would click Save.", "Thought: x\nAction: click(element='Nowhere')", good])
    grounder = ScriptedPolicy(["(-1,-1)", "(40,30)"])
    policy = PlannerGrounderPolicy(planner, grounder)
    screen = Image.new("RGB", (200, 100), (1, 2, 3))
    answer = policy.act(History("Save it", "", policy.space).prompt(screen))
    assert answer == "Thought: now the Save button.\nAction: click(start_box='(40,30)')"
    rejected = policy.last_exchange["rejected"]
    assert [r["planner"] for r in rejected] == ["I would click Save.", "Thought: x\nAction: click(element='Nowhere')"]
    assert "no 'Action:'" in rejected[0]["error"] and "Nowhere" in rejected[1]["error"]
    last = seen[0]
    assert last.screenshot is screen and [t.feedback for t in last.turns[:2]] == [r["error"] for r in rejected]
    assert policy.last_exchange["grounder"][0]["point"] == [40.0, 30.0]

    stubborn = PlannerGrounderPolicy(ScriptedPolicy(["no"] * 3), ScriptedPolicy([]))
    with pytest.raises(Exception, match="last 3 answers could not be used"):
        stubborn.act(History("Save it", "", stubborn.space).prompt(screen))
