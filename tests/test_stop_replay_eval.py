"""`tars replay` and `tars eval tasks` stopped from outside on a real X server (issue 16,
item 3): Ctrl+C, SIGTERM and SIGHUP end them promptly with exit 128 + the signal, one line on
stderr, no traceback, and no key or button held (QueryKeymap, the pointer mask); a suite's
running worker ends its run as ``stopped`` and no worker outlives the command.

The replayed trajectory is written here (meta.json + steps.jsonl, the format
tars.agent.schema declares); the suite's model is the loopback vLLM-protocol server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai_server import SERVED, ChatServer, completion
from test_operator_display import buttons_down, probed_display
from test_stop_signals import finish, nothing_held, wait_until

from tars.actions.space import Click, Drag, Type

pytestmark = pytest.mark.display

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """A 1280x800 Xvfb with the probe window over all of it."""
    with probed_display(tmp_path_factory.mktemp("probe")) as pair:
        yield pair


def write_trajectory(folder: Path, steps: list[list]) -> Path:
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text(json.dumps({"instruction": "replay me"}))
    with open(folder / "steps.jsonl", "w") as f:
        for num, actions in enumerate(steps, 1):
            f.write(json.dumps({"step_num": num, "actions": [{"screen": a.to_json()} for a in actions]}) + "\n")
    return folder


def start(vd, *args: str) -> subprocess.Popen:
    env = vd.env()
    env.pop("WAYLAND_DISPLAY", None)
    return subprocess.Popen([sys.executable, "-m", "tars", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_ctrl_c_while_replaying_typing_stops_at_once_and_holds_nothing(desk, tmp_path):
    vd, probe = desk
    text = "qwckxzvb" * 400
    folder = write_trajectory(tmp_path / "traj", [[Click(640, 400)], [Type(text)]])
    before = len(probe.text() or "")
    proc = start(vd, "replay", str(folder), "--pause", "0.1")
    wait_until(lambda: len(probe.text() or "") > before + 5, 60, "typing to begin")
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    code, err = finish(proc)
    assert code == 130, err
    assert time.monotonic() - t0 < 5.0
    assert "Traceback" not in err, err
    assert err.strip().splitlines() == ["tars: replay stopped by SIGINT at step 2 of 2"], err
    wait_until(lambda: nothing_held(vd.display), 2, "keys to be released")
    assert 0 < len(probe.text() or "") - before < len(text)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_during_a_replayed_drag_leaves_the_button_up(desk, tmp_path, sig):
    vd, probe = desk
    drags = [[Drag(200, 600, 1100, 650)], [Drag(1100, 650, 200, 600)]] * 10
    folder = write_trajectory(tmp_path / "traj", drags)
    proc = start(vd, "replay", str(folder), "--pause", "0.05")
    wait_until(lambda: buttons_down(vd.display) != 0, 60, "a drag's button press")
    proc.send_signal(sig)
    code, err = finish(proc)
    assert code == 128 + sig, err
    assert "Traceback" not in err, err
    assert f"stopped by {signal.Signals(sig).name}" in err, err
    wait_until(lambda: nothing_held(vd.display), 3, "the button to be released")


def task_workers(parent: int | None = None) -> set[int]:
    """Pids of live task workers (``python -m tars.evals.worker``), only the children of
    ``parent`` when given (other suites may be running on this machine)."""
    found = set()
    for pid in os.listdir("/proc"):
        try:
            if not pid.isdigit() or b"tars.evals.worker" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent is None or ppid == parent:
            found.add(int(pid))
    return found


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_to_eval_tasks_stops_the_suite_like_ctrl_c(tmp_path, sig):
    """SIGTERM / SIGHUP to `tars eval tasks` (the process alone, as `kill` sends it) while a
    task's agent runs: its worker ends the run as stopped, the row and summary are written, one
    note line, exit 128 + the signal, and no worker is left running."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "long.json").write_text(json.dumps({
        "id": "long", "instruction": "wait", "max_steps": 50,
        "evaluator": {"func": "file_exists", "result": {"type": "file", "path": "{workdir}/none"}}}))
    server = ChatServer([(200, completion("Thought: waiting.\nAction: wait(seconds=1)"), 0)] * 60)
    out = tmp_path / "out"
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tars", "eval", "tasks", str(suite), "--out", str(out),
             "--endpoint", server.url, "--model", SERVED], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        steps = out / "long" / "steps.jsonl"
        wait_until(lambda: steps.exists() and len(steps.read_text().splitlines()) >= 2, 90,
                   "the task's agent to be mid-run")
        mine = task_workers(parent=proc.pid)
        assert mine
        proc.send_signal(sig)
        code, err = finish(proc, timeout=30)
        assert code == 128 + sig, err[-2000:]
        assert "Traceback" not in err, err[-2000:]
        assert "tars: interrupted: 0 tasks finished, 1 stopped, 0 not run" in err
        row = json.loads((out / "results.jsonl").read_text())
        assert row["id"] == "long" and row["status"] == "stopped"
        assert json.loads((out / "long" / "result.json").read_text())["status"] == "stopped"
        assert json.loads((out / "summary.json").read_text())["interrupted"] is True
        wait_until(lambda: not mine & task_workers(), 3, "the task worker to end")
    finally:
        server.close()
