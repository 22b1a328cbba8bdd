"""The one run builder (tars.agent.runbuild): every front end assembles its run there, so the
same options give the same run and the same meta.json settings, whichever front end started it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from openai_server import SERVED, ChatServer, completion

from tars.agent.runbuild import PolicyOptions, RunOptions

ROOT = Path(__file__).resolve().parent.parent


def test_run_options_round_trip_keeps_the_key_secret():
    opts = RunOptions(PolicyOptions(endpoint="http://h/v1", api_key="sk-123", profile="ui-tars-1.5"),
                      max_steps=7, language="Chinese")
    assert "sk-123" not in repr(opts) and "sk-123" not in json.dumps(opts.settings())
    again = RunOptions.from_json(json.loads(json.dumps(opts.to_json())))  # the worker's pipe
    assert again.policy.secret_key == "sk-123" and again.settings() == opts.settings()
    assert opts.agent_config(extra={"front_end": "x"}).settings["front_end"] == "x"
    from tars.agent.guard import refuse_risky

    assert opts.agent_config().confirm is refuse_risky  # nobody to ask: risky actions refused


@pytest.mark.display
def test_type_interval_reaches_the_operator(virtual_display):
    # issue 17: slow programs drop fast keys; the pace is a run setting, recorded in meta.json
    from tars.agent.runbuild import make_operator

    virtual_display(320, 240, wm=False)
    opts = RunOptions(type_interval=0.05)
    op = make_operator(opts, allow_blank=True)
    try:
        assert op.typer.interval == 0.05 and opts.settings()["type_interval"] == 0.05
    finally:
        op.close()


@pytest.mark.display
def test_the_app_and_tars_run_write_the_same_settings(virtual_display, tmp_path):
    """Same options through `tars run` and through the app's worker (its settings, its
    default policy and operator factories): meta.json's settings are equal but for the name of
    the front end, and both honour the profile, token budget and timeout."""
    pytest.importorskip("PySide6")
    pytest.importorskip("mss")
    import os
    import shutil

    from tars.agent.trajectory import TrajectoryRecorder, read_trajectory
    from tars.frontends.app.settings import AppSettings
    from tars.frontends.app.window import default_operator, default_policy
    from tars.frontends.app.worker import RunWorker

    if shutil.which("xmessage") is None:
        pytest.skip("needs xmessage (x11-utils) for a window to look at")
    virtual_display(800, 600)
    window = subprocess.Popen(["xmessage", "-center", "a window to look at"], env=dict(os.environ))
    # the window is mapped before anything looks at the screen (bounded wait)
    subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--class", "xmessage"],
                   timeout=20, capture_output=True, check=True)
    answer = completion("Thought: nothing to do.\nAction: finished(content='done')")
    server = ChatServer([(200, answer, 0), (200, answer, 0)])
    try:
        run_dir, app_dir = tmp_path / "run", tmp_path / "app"
        proc = subprocess.run(
            [sys.executable, "-m", "tars", "run", "check the screen", "--endpoint", server.url,
             "--model", SERVED, "--api-key", "sk-same", "--profile", "ui-tars-1.0",
             "--max-new-tokens", "77", "--timeout", "12", "--max-steps", "7", "--max-seconds", "90",
             "--history-images", "3", "--language", "Chinese", "--record", str(run_dir),
             "--no-overlay"], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        s = AppSettings(policy="openai", model=SERVED, endpoint=server.url, api_key="sk-same",
                        profile="ui-tars-1.0", max_new_tokens=77, timeout=12, max_steps=7,
                        max_seconds=90, history_images=3, language="Chinese", overlay=False)
        worker = RunWorker("check the screen", s.run_options(), lambda: default_policy(s),
                                lambda: default_operator(s), [TrajectoryRecorder(app_dir)])
        results: list = []
        worker.run_finished.connect(results.append)
        worker.run()
        assert results and results[0].status == "finished", results
    finally:
        server.close()
        window.kill()
        window.wait()
    run_meta, app_meta = read_trajectory(run_dir).meta, read_trajectory(app_dir).meta
    assert run_meta.settings.pop("front_end") == "run" and app_meta.settings.pop("front_end") == "app"
    assert run_meta.settings == app_meta.settings
    assert run_meta.settings["profile"] == "ui-tars-1.0" and run_meta.settings["max_new_tokens"] == 77
    assert run_meta.settings["timeout"] == 12
    # the profile and the budget reached both requests
    first, second = server.chats
    assert first["max_tokens"] == second["max_tokens"] == 77
    assert first["messages"][1] == second["messages"][1]  # the same 1.0 prompt template
    assert not any("sk-same" in p.read_text(errors="replace") for p in tmp_path.rglob("*.json*"))
