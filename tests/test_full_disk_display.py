"""A full disk while recording, on a real X server (issue 16, item 11): when the step's
screenshot cannot be written (a real ENOSPC: a tiny tmpfs in a mount namespace of its own,
``unshare -rm``), the step's click is not performed, the run ends with one clear line, and
result.json (written into the room reserved when the run started) says why.

The model is the loopback vLLM-protocol server (tests/openai_server.py); the target is the
probe window (tests/probe_window.py), whose log shows every button press it received.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openai_server import SERVED, ChatServer, completion
from test_operator_display import Probe, buttons_down

pytestmark = pytest.mark.display

ROOT = Path(__file__).resolve().parent.parent

#: room for result.json's reserve (32 KiB) and meta.json, none for a 1280x800 screenshot
DISK_SIZE = "40k"

# mount the tmpfs, run tars on it, copy the trajectory out (the mount ends with the namespace)
_IN_NAMESPACE = ('mount -t tmpfs -o size="$1" none "$2" || exit 99; disk="$2"; out="$3"; shift 3; '
                 '"$@"; code=$?; cp -r "$disk/run" "$out/" 2>/dev/null; exit $code')


def test_a_full_disk_at_the_first_step_stops_the_run_before_its_click(tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("no unshare")
    from tars.agent.display import VirtualDisplay

    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    server = ChatServer([(200, completion("Thought: click it\nAction: click(start_box='(640,400)')"), 0)] * 3)
    with VirtualDisplay(1280, 800) as vd:
        probe = Probe(vd, (0, 0, 1280, 800), tmp_path / "events.jsonl")
        try:
            env = vd.env()
            env.pop("WAYLAND_DISPLAY", None)
            probe.mark()
            r = subprocess.run(
                ["unshare", "-rm", "sh", "-c", _IN_NAMESPACE, "sh", DISK_SIZE, str(disk), str(out),
                 sys.executable, "-m", "tars", "run", "click it", "--endpoint", server.url,
                 "--model", SERVED, "--no-overlay", "--max-steps", "3", "--record", str(disk / "run")],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
            if r.returncode == 99:
                pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
            presses = [e for e in probe.settle() if e["ev"] == "press"]
            assert buttons_down(vd.display) == 0
        finally:
            probe.stop()
            server.close()
    assert r.returncode == 1, r.stderr
    assert presses == [], "the click was performed although its screenshot was not written"
    assert "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if "No space left on device" in line]
    assert len(errors) == 1 and "step 1's screenshot" in errors[0], r.stderr
    assert "action was not performed" in errors[0]
    result = json.loads((out / "run" / "result.json").read_text())
    assert result["status"] == "error" and result["steps"] == 1
    assert "step 1's screenshot" in result["error"] and "No space left on device" in result["error"], result
    assert not list((out / "run").glob("*.tmp"))
    assert len(server.chats) == 1  # no second step after the failed one
