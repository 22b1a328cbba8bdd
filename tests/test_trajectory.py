"""Trajectories on disk: format, flushing, a killed run, a full disk, secrets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PIL import Image

from tars.agent.loop import Agent, AgentConfig
from tars.agent.trajectory import TrajectoryRecorder, read_trajectory, scrub
from tars.desktop.dryrun import DryRunOperator
from tars.models.scripted import ScriptedPolicy

ROOT = Path(__file__).resolve().parents[1]


def noise(seed: int, size=(320, 200)) -> Image.Image:
    import random

    rnd = random.Random(seed)
    return Image.frombytes("RGB", size, bytes(rnd.getrandbits(8) for _ in range(size[0] * size[1] * 3)))


def test_recorded_run_has_the_design_format(tmp_path):
    policy = ScriptedPolicy([
        "Thought: open it\nAction: click(start_box='(10,20)')",
        "Thought: drag\nAction: drag(start_box='(1,2)', end_box='(30,40)')",
        "Thought: done\nAction: finished(content='ok')",
    ])
    op = DryRunOperator(images=[noise(1), noise(2), noise(3)])
    settings = {"policy": "scripted", "api_key": "sk-SECRET", "max_steps": 5}
    agent = Agent(policy, op, AgentConfig(settle=False, settings=settings),
                  [TrajectoryRecorder(tmp_path / "run")])
    result = agent.run("open the thing")
    assert result.status == "finished"
    folder = tmp_path / "run"
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["instruction"] == "open the thing" and meta["geometry"]["width"] == 320
    assert meta["settings"]["api_key"] == "***"
    from importlib import metadata  # what read the screen is on record (OCR runtimes included)

    for dist in ("rapidocr-onnxruntime", "onnxruntime", "openvino"):
        try:
            assert meta["versions"][dist] == metadata.version(dist)
        except metadata.PackageNotFoundError:
            assert dist not in meta["versions"]
    assert "sk-SECRET" not in "".join(p.read_text(errors="ignore") for p in folder.glob("*.json*"))
    lines = (folder / "steps.jsonl").read_text().splitlines()
    assert len(lines) == 3
    first = json.loads(lines[0])
    for key in ("step_num", "action_timestamp", "screenshot_file", "response", "thought",
                "actions", "error", "timings_ms"):
        assert key in first
    assert set(first["timings_ms"]) >= {"observe", "think", "act"}
    assert first["actions"][0]["model"] == {"action": "click", "x": 10, "y": 20}
    assert first["actions"][0]["screen"]["x"] == 10
    assert (folder / first["screenshot_file"]).exists()
    assert Image.open(folder / "step-0002.png").tobytes() == noise(2).tobytes()
    traj = read_trajectory(folder)
    assert len(traj.steps) == 3 and traj.result.status == "finished"


def test_existing_trajectory_is_not_overwritten(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "steps.jsonl").write_text('{"step_num": 1}\n')
    agent = Agent(ScriptedPolicy(["Action: finished()"]), DryRunOperator(images=[noise(1)]),
                  AgentConfig(settle=False), [TrajectoryRecorder(folder)])
    result = agent.run("x")
    assert result.status == "error" and "already holds" in result.error
    assert (folder / "steps.jsonl").read_text() == '{"step_num": 1}\n'


def test_torn_last_line_is_skipped(tmp_path):
    (tmp_path / "meta.json").write_text('{"instruction": "x"}')
    (tmp_path / "steps.jsonl").write_text('{"step_num": 1}\n{"step_num": 2, "resp')
    traj = read_trajectory(tmp_path)
    assert [s.step_num for s in traj.steps] == [1] and traj.result is None


def test_a_last_line_torn_inside_a_character_is_skipped_and_bad_bytes_elsewhere_are_named(tmp_path):
    """kill -9 while writing a non-ASCII thought cuts the line inside a UTF-8 character; the
    folder must read like any torn one. Invalid bytes in a complete line are a clear error."""
    import subprocess
    import sys

    from tars.agent.schema import SchemaError

    (tmp_path / "meta.json").write_text('{"instruction": "x"}')
    (tmp_path / "steps.jsonl").write_bytes('{"step_num": 1, "thought": "点击…"}\n'.encode()
                                           + b'{"step_num": 2, "thought": "\xe2\x80')
    traj = read_trajectory(tmp_path)
    assert [s.step_num for s in traj.steps] == [1] and traj.steps[0].thought == "点击…"
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-m", "tars", "report", str(tmp_path)], cwd=root,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "meta.json").write_text('{"instruction": "x"}')
    (bad / "steps.jsonl").write_bytes(b'{"step_num": 1, "thought": "\xff\xfe"}\n{"step_num": 2}\n')
    with pytest.raises(SchemaError, match="steps.jsonl:1: not valid UTF-8"):
        read_trajectory(bad)
    (bad / "steps.jsonl").write_text('{"step_num": 1}\n')
    (bad / "result.json").write_bytes(b'{"status": "\xff"}')
    with pytest.raises(SchemaError, match="result.json: not valid UTF-8"):
        read_trajectory(bad)
    r = subprocess.run([sys.executable, "-m", "tars", "replay", str(bad), "--dry-run"], cwd=root,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "not valid UTF-8" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "internal error" not in r.stderr
    # the report shows what it can read (it never fails on a damaged folder)
    (bad / "steps.jsonl").write_bytes(b'{"step_num": 1, "thought": "\xff"}\n{"step_num": 2}\n')
    r = subprocess.run([sys.executable, "-m", "tars", "report", str(bad)], cwd=root,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_scrub_nested():
    assert scrub({"a": 1, "API_KEY": "x", "sub": {"token": "t", "ok": 2}}) == {
        "a": 1, "API_KEY": "***", "sub": {"token": "***", "ok": 2}}
    kept = {"max_new_tokens": 12, "keys": ["ctrl"], "monkey": 1}
    assert scrub({**kept, "hf_token": "h", "password": "p"}) == {**kept, "hf_token": "***", "password": "***"}


def test_killed_run_loses_at_most_the_step_in_flight(tmp_path):
    folder = tmp_path / "run"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from PIL import Image
        from tars.desktop.dryrun import DryRunOperator
        from tars.agent.loop import Agent, AgentConfig
        from tars.agent.trajectory import TrajectoryRecorder
        from tars.models.scripted import ScriptedPolicy
        imgs = [Image.new("RGB", (64, 64), (i, 0, 0)) for i in range(200)]
        replies = [f"Thought: {{i}}\\nAction: click(start_box='({{i % 60}},5)')" for i in range(200)]
        agent = Agent(ScriptedPolicy(replies, delay=0.05), DryRunOperator(images=imgs),
                      AgentConfig(settle=False, max_steps=200), [TrajectoryRecorder({str(folder)!r})])
        agent.run("long task")
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        steps = folder / "steps.jsonl"
        if steps.exists() and steps.read_text().count("\n") >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    traj = read_trajectory(folder)
    assert len(traj.steps) >= 3 and traj.result is None
    assert [s.step_num for s in traj.steps] == list(range(1, len(traj.steps) + 1))
    for s in traj.steps:
        assert (folder / s.screenshot_file).exists()


@pytest.fixture
def tiny_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
            capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a small tmpfs")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_full_disk_ends_run_with_clear_error_and_keeps_what_was_written(tiny_disk):
    folder = tiny_disk / "run"
    images = [noise(i, (200, 150)) for i in range(40)]  # ~90 kB of PNG each: fills 256 kB fast
    replies = [f"Thought: step {i}\nAction: click(start_box='({i},{i})')" for i in range(40)]
    op = DryRunOperator(images=images)
    agent = Agent(ScriptedPolicy(replies), op, AgentConfig(settle=False, max_steps=40),
                  [TrajectoryRecorder(folder)])
    result = agent.run("fill the disk")
    assert result.status == "error"
    assert "No space left" in result.error
    traj = read_trajectory(folder)
    assert 1 <= len(traj.steps) < 40
    assert len(op.executed) <= len(traj.steps) + 1


def test_a_full_disk_leaves_no_empty_tmp_file(tmp_path):
    """A real ENOSPC: a 16 KiB tmpfs in a private mount namespace (skipped where unshare fails)."""
    import shutil
    import subprocess
    import sys

    if shutil.which("unshare") is None:
        pytest.skip("no unshare")
    disk = tmp_path / "disk"
    disk.mkdir()
    code = ("import json, sys; from pathlib import Path; from tars.agent.trajectory import _write_json_atomic\n"
            "d = Path(sys.argv[1]); _write_json_atomic(d / 'result.json', {'status': 'finished'})\n"
            "try:\n    _write_json_atomic(d / 'result.json', {'x': 'y' * 100000})\nexcept OSError as e:\n"
            "    print('ENOSPC' if e.errno == 28 else e)\n"
            "print(sorted(p.name for p in d.iterdir()), json.loads((d / 'result.json').read_text()))")
    r = subprocess.run(["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=16k none "$1" && exec "$2" -c "$3" "$1"',
                        "sh", str(disk), sys.executable, code], capture_output=True, text=True, timeout=60,
                       cwd=Path(__file__).resolve().parent.parent)
    if r.returncode != 0 and "mount" in r.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["ENOSPC", "['result.json'] {'status': 'finished'}"]


_FULL_DISK_RUN = """
import json, os, sys
from pathlib import Path
from PIL import Image
from tars.agent.hooks import Hook
from tars.agent.loop import Agent, AgentConfig
from tars.agent.trajectory import TrajectoryRecorder
from tars.desktop.dryrun import DryRunOperator
from tars.models.scripted import ScriptedPolicy

disk = Path(sys.argv[1])

class FillTheDisk(Hook):
    # another program fills the disk just after the run's first screenshot was taken
    def after_observe(self, step_num, observation):
        with open(disk / "filler", "wb", buffering=0) as f:
            try:
                while True:
                    f.write(os.urandom(4096))
            except OSError as exc:
                assert exc.errno == 28, exc

op = DryRunOperator(images=[Image.new("RGB", (64, 64), (9, 9, 9))])
action = os.environ.get("TARS_TEST_ACTION", "click(start_box='(5,5)')")
agent = Agent(ScriptedPolicy(["Thought: go\\nAction: " + action] * 3), op,
              AgentConfig(settle=False, max_steps=3), [FillTheDisk(), TrajectoryRecorder(disk / "run")])
result = agent.run("fill the disk")
print(json.dumps({"status": result.status, "error": result.error, "executed": len(op.executed),
                  "files": sorted(p.name for p in (disk / "run").iterdir()),
                  "result.json": json.loads((disk / "run" / "result.json").read_text())
                  if (disk / "run" / "result.json").exists() else None}))
"""


def run_on_tiny_disk(tmp_path, code: str, size: str = "64k") -> subprocess.CompletedProcess:
    """``python -c code DISK`` with DISK a ``size`` tmpfs of its own mount namespace (unshare -rm:
    no root needed); skips where that cannot be made."""
    import shutil

    if shutil.which("unshare") is None:
        pytest.skip("no unshare")
    disk = tmp_path / "disk"
    disk.mkdir()
    r = subprocess.run(["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size="$1" none "$2" && exec "$3" -c "$4" "$2"',
                        "sh", size, str(disk), sys.executable, code], capture_output=True, text=True, timeout=60,
                       cwd=ROOT)
    if r.returncode != 0 and "mount" in r.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    return r


def test_a_run_ended_by_a_full_disk_still_writes_result_json_saying_why(tmp_path):
    """A real ENOSPC at the first screenshot (the disk filled by someone else): the click is
    not performed, and result.json is written into the room reserved at the start."""
    r = run_on_tiny_disk(tmp_path, _FULL_DISK_RUN)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["status"] == "error" and "No space left on device" in out["error"], out
    assert out["executed"] == 0
    assert out["result.json"] is not None, out
    assert out["result.json"]["status"] == "error"
    assert "step 1" in out["result.json"]["error"] and "No space left" in out["result.json"]["error"]
    assert out["files"] == ["meta.json", "result.json", "steps.jsonl"]  # no .tmp, no reserve left


def test_a_screenshot_lost_at_a_step_without_action_is_named_as_the_screenshot(tmp_path, monkeypatch):
    """The final step (``finished``: no action to hold back) finds its screenshot unwritten at
    step end: the error names the screenshot, not just "step 1"."""
    monkeypatch.setenv("TARS_TEST_ACTION", "finished(content='done')")
    r = run_on_tiny_disk(tmp_path, _FULL_DISK_RUN)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["status"] == "error", out
    assert "step 1's screenshot" in out["error"] and "No space left" in out["error"], out
    assert out["result.json"]["error"] == out["error"]


def test_a_result_too_big_for_the_reserve_is_clipped_when_the_disk_is_full(tmp_path):
    code = ("import json, os, sys; from pathlib import Path; from tars.agent.reserve import Reserve\n"
            "from tars.agent.trajectory import result_bytes\n"
            "d = Path(sys.argv[1]); r = Reserve(d / 'result.json.reserve', 8192); r.make()\n"
            "f = open(d / 'filler', 'wb', buffering=0)\n"
            "try:\n    while True:\n        f.write(os.urandom(4096))\nexcept OSError as e:\n"
            "    print('full' if e.errno == 28 else e)\n"
            "data = {'status': 'finished', 'content': 'é' * 50000, 'steps': 3}\n"
            "r.write(d / 'result.json', result_bytes(data), shorter=lambda n: result_bytes(data, n))\n"
            "back = json.loads((d / 'result.json').read_text())\n"
            "print(back['status'], back['steps'], back['content'].endswith('[clipped: the disk is full]'),\n"
            "      sorted(p.name for p in d.iterdir()))")
    r = run_on_tiny_disk(tmp_path, code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["full", "finished 3 True ['filler', 'result.json']"]
