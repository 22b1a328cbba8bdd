"""`tars run` as a user runs it (a subprocess of the installed command line), with the real
policies: a tiny random-weight UI-TARS-shaped checkpoint through transformers (and a LoRA
adapter through peft), and an OpenAI-compatible endpoint on loopback. Screens are served
with --dry-run --image, so no display is needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openai_server import ChatServer, completion
from PIL import Image, ImageDraw
from tiny_models import build_lora_adapter, build_tiny_vl

ROOT = Path(__file__).resolve().parents[1]


def tars(*args: str, env_extra: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env_extra or {})}
    env.pop("DISPLAY", None)
    return subprocess.run([sys.executable, "-m", "tars", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def shot(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("shots") / "screen.png"
    im = Image.new("RGB", (640, 400), "white")
    ImageDraw.Draw(im).rectangle((100, 100, 220, 140), fill=(40, 90, 200))
    im.save(path)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    base = build_tiny_vl(tmp_path_factory.mktemp("m") / "UI-TARS-1.5-tiny", family="qwen2_5_vl")
    adapter = build_lora_adapter(base, tmp_path_factory.mktemp("a") / "lora")
    return base, adapter


def test_hf_random_weights_write_nonsense_recorded_and_stopped_cleanly(tiny, shot, tmp_path):
    base, adapter = tiny
    out = tmp_path / "run"
    proc = tars("run", "click the blue button", "--policy", "hf", "--model", str(base),
                "--adapter", str(adapter), "--dry-run", "--image", str(shot), "--record", str(out),
                "--max-steps", "2", "--max-new-tokens", "12", "--json")
    assert proc.returncode == 1, proc.stderr
    result = json.loads(proc.stdout)
    # nonsense does not parse: retried, then the step fails and the run ends cleanly
    assert result["status"] in ("error", "max_steps")
    steps = [json.loads(l) for l in (out / "steps.jsonl").read_text().splitlines()]
    assert steps and all(isinstance(s["response"], str) for s in steps)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["policy"] == "hf" and meta["settings"]["adapter"] == str(adapter)
    assert meta["settings"]["max_new_tokens"] == 12
    assert json.loads((out / "result.json").read_text())["status"] == result["status"]


def test_hf_missing_model_is_bad_input(tmp_path, shot):
    proc = tars("run", "x", "--policy", "hf", "--model", str(tmp_path / "nope"),
                "--dry-run", "--image", str(shot))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "tars:" in proc.stderr


def test_hf_without_model_is_bad_input():
    proc = tars("run", "x", "--policy", "hf", "--dry-run")
    assert proc.returncode == 2 and "--model" in proc.stderr


def test_openai_endpoint_run_to_finished(shot, tmp_path):
    server = ChatServer([
        (200, completion("Thought: press the blue button\nAction: click(start_box='(160,120)')"), 0),
        (200, completion("Thought: done\nAction: finished(content='pressed')"), 0),
    ])
    try:
        out = tmp_path / "run"
        proc = tars("run", "press the blue button", "--endpoint", server.url, "--model", "UI-TARS-1.5-7B",
                    "--dry-run", "--image", str(shot), "--record", str(out), "--json",
                    env_extra={"TARS_API_KEY": "sk-very-secret"})
    finally:
        server.close()
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"status": "finished", "content": "pressed", "steps": 2,
                                       "seconds": json.loads(proc.stdout)["seconds"], "error": None,
                                       "score": None, "final_action": "DONE"}
    # what the model was sent: the screenshot as a data URL, the key in the header only
    first = server.chats[0]
    parts = [p for m in first["messages"] if isinstance(m["content"], list) for p in m["content"]]
    assert sum(p["type"] == "image_url" for p in parts) == 1
    assert server.requests[-1][1]["authorization"] == "Bearer sk-very-secret"
    everything = "".join(p.read_text(errors="ignore") for p in out.iterdir() if p.suffix != ".png")
    assert "sk-very-secret" not in everything and "sk-very-secret" not in proc.stderr
    step1 = json.loads((out / "steps.jsonl").read_text().splitlines()[0])
    # UI-TARS-1.5 writes resized-image pixels; 640x400 -> smart_resize 644x392
    assert step1["actions"][0]["model"] == {"action": "click", "x": 160, "y": 120}
    assert step1["actions"][0]["screen"] == {"action": "click", "x": 159, "y": 122}


def test_dead_endpoint_is_a_clear_error(shot):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = tars("run", "x", "--endpoint", f"http://127.0.0.1:{port}/v1", "--dry-run",
                "--image", str(shot), "--json")
    assert proc.returncode in (1, 2)
    assert f"127.0.0.1:{port}" in proc.stderr + proc.stdout


def test_image_without_dry_run_is_bad_input(shot):
    proc = tars("run", "x", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m", "--image", str(shot))
    assert proc.returncode == 2


def test_replay_dry_run_prints_recorded_actions(shot, tmp_path):
    server = ChatServer([
        (200, completion("Action: click(start_box='(160,120)')"), 0),
        (200, completion("Action: type(content='hi\\n')"), 0),
        (200, completion("Action: finished()"), 0),
    ])
    try:
        out = tmp_path / "run"
        proc = tars("run", "x", "--endpoint", server.url, "--model", "UI-TARS-1.5-7B", "--dry-run",
                    "--image", str(shot), "--record", str(out))
        assert proc.returncode == 0, proc.stderr
    finally:
        server.close()
    proc = tars("replay", str(out), "--dry-run")
    assert proc.returncode == 0
    lines = [json.loads(l) for l in proc.stdout.splitlines()]
    assert [l["action"] for l in lines] == ["click", "type", "finished"]
    assert lines[1]["text"] == "hi\n"
    assert tars("replay", str(tmp_path / "missing"), "--dry-run").returncode == 2
    (out / "steps.jsonl").write_text("")  # as a run killed before its first step leaves it
    for args in (["--dry-run"], []):
        proc = tars("replay", str(out), *args)
        assert proc.returncode == 2 and proc.stdout == "", proc.stdout
        assert proc.stderr.strip() == f"tars: {out} has no recorded steps to replay"


def test_ctrl_c_stops_and_saves_the_state(shot, tmp_path):
    import signal
    import time

    server = ChatServer([
        (200, completion("Thought: first\nAction: click(start_box='(160,120)')"), 0),
        (200, completion("Action: finished()"), 30),  # the model "thinks" for 30 s
    ])
    out = tmp_path / "run"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("DISPLAY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tars", "run", "x", "--endpoint", server.url, "--model",
         "UI-TARS-1.5-7B", "--dry-run", "--image", str(shot), "--record", str(out), "--json"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(server.chats) < 2:
            time.sleep(0.05)
        assert len(server.chats) == 2
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=20)
        assert time.monotonic() - t0 < 10
    finally:
        proc.kill()
        server.close()
    assert proc.returncode == 130  # 128 + SIGINT
    assert json.loads(stdout)["status"] == "stopped"
    assert json.loads(stdout)["error"] == "stopped by SIGINT"
    assert json.loads((out / "result.json").read_text())["status"] == "stopped"
    assert len((out / "steps.jsonl").read_text().splitlines()) == 1


@pytest.mark.parametrize("args,needle", [
    (["--policy", "lite", "--model", "UI-TARS-1.5-7B"], "--model"),
    (["--policy", "bogus"], "lite, hf, openai"),
    (["--max-seconds", "-5"], "max-seconds"),
    (["--timeout", "5"], "--timeout"),
])
def test_bad_options_are_refused_before_anything_runs(args, needle, shot):
    proc = tars("run", "click OK", *args, "--dry-run", "--image", str(shot))
    assert proc.returncode == 2
    assert needle in proc.stderr


def test_unusable_record_folder_is_bad_input(shot, tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    used = tmp_path / "used"
    used.mkdir()
    (used / "steps.jsonl").write_text("{}\n")
    for target, needle in ((a_file, "not a folder"), (used, "already holds"),
                           (Path("/proc/tars-run"), "cannot create")):
        proc = tars("run", "x", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m", "--dry-run",
                    "--image", str(shot), "--record", str(target), "--json")
        assert proc.returncode == 2, (target, proc.stderr)
        assert needle in proc.stderr and proc.stderr.count("\n") == 1
    assert (used / "steps.jsonl").read_text() == "{}\n"


@pytest.mark.parametrize("args,needle", [
    (["run"], "Missing argument"),
    (["run", "x", "--bogus"], "No such option: --bogus"),
    (["run", "x", "--max-steps", "0"], "--max-steps"),
    (["eval", "tasks", "--jobs", "0"], "--jobs"),
])
def test_usage_errors_are_one_line_exit_2(args, needle):
    proc = tars(*args)
    assert proc.returncode == 2
    assert proc.stderr.startswith("tars: ") and proc.stderr.count("\n") == 1 and needle in proc.stderr
    assert "Traceback" not in proc.stderr


def test_timeout_option_reaches_the_endpoint_policy(shot):
    # the server answers after 20 s; with --timeout 0.5 every attempt times out
    server = ChatServer([(200, completion("Action: finished()"), 20)] * 8)
    try:
        proc = tars("run", "x", "--endpoint", server.url, "--model", "UI-TARS-1.5-7B", "--timeout",
                    "0.5", "--dry-run", "--image", str(shot), "--json")
    finally:
        server.close()
    assert proc.returncode == 1
    result = json.loads(proc.stdout)
    assert result["status"] == "error" and "timed out" in result["error"]
