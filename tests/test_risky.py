"""Risky actions (issue 16, item 13): asked at a terminal, refused with the reason fed back when
nobody is at the controls (headless runs, evals), performed only with --allow-risky."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openai_server import SERVED, ChatServer, completion
from PIL import Image

from tars.actions.space import Hotkey, Type
from tars.agent.guard import Guard, is_risky, refuse_risky
from tars.agent.runbuild import PolicyOptions, RunOptions

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("action", [
    Hotkey(("ctrl", "alt", "delete")), Type("sudo systemctl poweroff\n"), Type("rm -rf ~/work\n"),
    Type("gnome-session-quit --logout\n"), Type("find . -name '*.txt' -delete\n"),
])
def test_risky_actions_are_named(action):
    assert is_risky(action)


def test_headless_runs_refuse_risky_actions_and_say_why():
    config = RunOptions(PolicyOptions()).agent_config()
    assert config.confirm is refuse_risky
    message = Guard(confirm=config.confirm).allow(Hotkey(("ctrl", "alt", "delete")))
    assert "no person is at the controls" in message
    assert RunOptions(PolicyOptions(), allow_risky=True).agent_config().confirm is None
    assert Guard(confirm=None).allow(Hotkey(("ctrl", "alt", "delete"))) is None


@pytest.mark.parametrize("allow", [False, True], ids=["default", "allow-risky"])
def test_tars_run_without_a_terminal_refuses_ctrl_alt_delete(tmp_path, allow):
    shot = tmp_path / "s.png"
    Image.new("RGB", (640, 400), (30, 90, 160)).save(shot)
    server = ChatServer([(200, completion("Action: hotkey(key='ctrl alt delete')"), 0),
                         (200, completion("Action: finished()"), 0)])
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("DISPLAY", None)
    out = tmp_path / "run"
    try:
        r = subprocess.run([sys.executable, "-m", "tars", "run", "x", "--endpoint", server.url, "--model", SERVED,
                            "--dry-run", "--image", str(shot), "--record", str(out), "--json",
                            *(["--allow-risky"] if allow else [])],
                           cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    finally:
        server.close()
    assert r.returncode == 0, r.stderr
    first = json.loads((out / "steps.jsonl").read_text().splitlines()[0])
    if allow:
        assert first["error"] is None
    else:
        assert "no person is at the controls" in first["error"]
