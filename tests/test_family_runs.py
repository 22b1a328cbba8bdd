"""Every family for three steps of ``tars run`` against a scripted endpoint, on a real X display.

One Xvfb at 1920x1080 (the size every OSWorld agent is written for; GUI-Owl's agent hard-codes
it) holds the probe window (``probe_window.py``), which logs each click it receives in global
coordinates. Each family's model is the loopback server speaking vLLM's wire protocol and
answering in the family's own dialect; the grounding-only families run as the grounder of the
planner + grounder mode behind a scripted planner. Every click must land on the pixel the
family's reference agent computes for the same answer (its own parser, imported from
``desktop-env``; the published card's formula for GTA1 and Holo).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from openai_server import ChatServer, completion
from reference_agents import load_reference
from test_family_reference import _module, _pyautogui_point
from test_operator_display import probed_display

from tars.actions.coords import smart_resize

pytestmark = pytest.mark.display

ROOT = Path(__file__).resolve().parents[1]
W, H = 1920, 1080
QT_LEFT, QT_RIGHT = 1, 2


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    with probed_display(tmp_path_factory.mktemp("probe"), W, H) as pair:
        yield pair


def _run(vd, args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess, list[dict]]:
    env = vd.env()
    env.pop("WAYLAND_DISPLAY", None)
    out = tmp_path / "traj"
    proc = subprocess.run([sys.executable, "-m", "tars", "run", "Click the two targets", "--no-overlay",
                           "--max-steps", "3", "--record", str(out), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    steps = [json.loads(x) for x in (out / "steps.jsonl").read_text().splitlines()] if (out / "steps.jsonl").exists() else []
    return proc, steps


def _presses(probe) -> list[tuple[int, int, int]]:
    return [(e["button"], e["x"], e["y"]) for e in probe.settle() if e["ev"] == "press"]


def _serve(answers: list[str], model: str) -> ChatServer:
    return ChatServer([(200, completion(a, model), 0) for a in answers], models=(model,))


def _check(desk, tmp_path, served: str, answers: list[str], expected: list[tuple[int, int, int]], *extra: str):
    vd, probe = desk
    server = _serve(answers, served)
    probe.mark()
    try:
        proc, steps = _run(vd, ["--endpoint", server.url, *extra], tmp_path)
    finally:
        server.close()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(steps) == 3 and json.loads((tmp_path / "traj" / "result.json").read_text())["status"] == "finished"
    assert _presses(probe) == expected
    return server


# -- the agent families -----------------------------------------------------------------------

def test_qwen3vl_three_steps_land_where_its_agent_clicks(desk, tmp_path):
    ref = load_reference("qwen3vl_agent", extra={"dashscope": _module("dashscope", MultiModalConversation=object)})
    ref.logger = _module("log", info=lambda *a, **k: None, error=lambda *a, **k: None)
    agent = ref.Qwen3VLAgent()
    answers = [
        'Action: Click the first target\n<tool_call>\n{"name": "computer_use", "arguments": '
        '{"action": "left_click", "coordinate": [250, 333]}}\n</tool_call>',
        'Action: Right-click the second target\n<tool_call>\n{"name": "computer_use", "arguments": '
        '{"action": "right_click", "coordinate": [777, 612]}}\n</tool_call>',
        'Action: Done\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "terminate", '
        '"status": "success"}}\n</tool_call>',
    ]
    pw, ph = smart_resize(H, W, 32, 3136, 16 * 16 * 4 * 12800)[::-1]
    want = [(b, *_pyautogui_point(agent.parse_response(a, W, H, pw, ph)[1][0])) for b, a in
            zip((QT_LEFT, QT_RIGHT), answers)]
    server = _check(desk, tmp_path, "Qwen/Qwen3-VL-8B-Instruct", answers, want)
    assert server.chats[0]["messages"][0]["content"][0]["text"].startswith("# Tools\n")


def test_opencua_three_steps_land_where_its_agent_clicks(desk, tmp_path):
    ref = load_reference("opencua.opencua_agent", extra={"httpx": _module("httpx")})
    answers = [
        "## Thought:\nFirst target.\n## Action:\nClick the first target\n## Code:\n```python\n"
        "pyautogui.click(x=481, y=270)\n```",
        "## Thought:\nSecond.\n## Action:\nDouble-click the second target\n## Code:\n```python\n"
        "pyautogui.doubleClick(x=1500, y=900)\n```",
        "## Thought:\nDone.\n## Action:\nFinish\n## Code:\n```code\ncomputer.terminate(status='success')\n```",
    ]
    first = _pyautogui_point(ref.parse_response_to_cot_and_action(answers[0], (W, H), "qwen25")[1][0])
    second = _pyautogui_point(ref.parse_response_to_cot_and_action(answers[1], (W, H), "qwen25")[1][0])
    want = [(QT_LEFT, *first), (QT_LEFT, *second), (QT_LEFT, *second)]  # a double click: two presses
    _check(desk, tmp_path, "xlangai/OpenCUA-7B", answers, want)


def test_gui_owl_three_steps_land_where_its_agent_clicks(desk, tmp_path):
    ref = load_reference("owl_agent", extra={"oss2": _module("oss2"), "dashscope": _module("dashscope")})
    answers = [
        '<thinking>first</thinking>\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "click", '
        '"coordinate": [400, 300]}}\n</tool_call>\n<conclusion>Clicked the first target.</conclusion>',
        '<thinking>second</thinking>\n<tool_call>\n{"name": "computer_use", "arguments": {"action": '
        '"right_click", "coordinate": [1700, 1000]}}\n</tool_call>\n<conclusion>Right-clicked.</conclusion>',
        '<thinking>done</thinking>\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "terminate", '
        '"status": "success"}}\n</tool_call>\n<conclusion>Done.</conclusion>',
    ]
    want = []
    for button, a in zip((QT_LEFT, QT_RIGHT), answers):
        code = ref.parsing_response_to_pyautogui_code(ref.parse_action_fncall(a, None, H, W)[0], H, W)
        want.append((button, *_pyautogui_point("\n".join(x for x in code.splitlines() if x.startswith("pyautogui.")))))
    server = _check(desk, tmp_path, "mPLUG/GUI-Owl-7B", answers, want)
    assert server.chats[1]["repetition_penalty"] == 1.05  # vLLM's extra sampling field, as the agent sends it


# -- the grounders, behind a scripted planner ------------------------------------------------

PLAN = [
    "Thought: The first target.\nAction: click(element='the first target')",
    "Thought: The second target.\nAction: click(element='the second target')",
    "Thought: Both are clicked.\nAction: finished(content='done')",
]


def _check_grounder(desk, tmp_path, served: str, answers: list[str], expected: list[tuple[int, int]]):
    vd, probe = desk
    planner = _serve(PLAN, "planner")
    grounder = _serve(answers, served)
    probe.mark()
    try:
        proc, steps = _run(vd, ["--planner-endpoint", planner.url, "--endpoint", grounder.url], tmp_path)
    finally:
        planner.close()
        grounder.close()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(steps) == 3 and [s["grounding"][0]["answer"] for s in steps[:2]] == answers
    assert _presses(probe) == [(QT_LEFT, x, y) for x, y in expected]
    return grounder


def test_jedi_as_grounder_lands_where_its_agent_clicks(desk, tmp_path):
    ref = load_reference("jedi_7b_agent")
    agent = ref.JediAgent7B()
    rh, rw = smart_resize(H, W, max_pixels=2700 * 28 * 28)
    answers = [f'<tool_call>\n{{"name": "computer_use", "arguments": {{"action": "left_click", '
               f'"coordinate": [{x}, {y}]}}}}\n</tool_call>' for x, y in ((300, 200), (1601, 955))]
    want = [tuple(agent.parse_jedi_response(a, W, H, rw, rh)) for a in answers]
    grounder = _check_grounder(desk, tmp_path, "xlangai/Jedi-7B-1080p", answers, want)
    assert grounder.chats[0]["temperature"] == 0.5  # the Jedi agent's sampling


def test_gta1_as_grounder_lands_where_its_readme_puts_it(desk, tmp_path):
    rh, rw = smart_resize(H, W, 28, 3136, 4096 * 2160)
    points = [(321, 123), (1700, 1001)]
    answers = [f"({x},{y})" for x, y in points]
    want = [(int(x * (W / rw)), int(y * (H / rh))) for x, y in points]  # README: pred *= W / resized W
    _check_grounder(desk, tmp_path, "HelloKKMe/GTA1-7B", answers, want)


def test_holo15_as_grounder_lands_on_its_resized_pixels(desk, tmp_path):
    rh, rw = smart_resize(H, W, 28, 3136, 12845056)
    points = [(700, 400), (1200, 1000)]
    answers = [json.dumps({"action": "click_absolute", "x": x, "y": y}) for x, y in points]
    want = [(int(x * W / rw + 0.5), int(y * H / rh + 0.5)) for x, y in points]
    _check_grounder(desk, tmp_path, "Hcompany/Holo1.5-7B", answers, want)


def test_holo3_as_grounder_lands_where_its_docs_put_it(desk, tmp_path):
    points = [(125, 250), (875, 640)]
    answers = [json.dumps({"x": x, "y": y}) for x, y in points]
    want = [(int(x / 1000 * W), int(y / 1000 * H)) for x, y in points]  # hub.hcompany.ai formula
    grounder = _check_grounder(desk, tmp_path, "Hcompany/Holo3-35B-A3B", answers, want)
    assert len(grounder.chats[0]["messages"]) == 1
