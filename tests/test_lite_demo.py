"""The README's first command, minus the install: scripts/demo.sh starts its own virtual
display, opens the sign-up practice app and runs `tars run` with the default policy; the
outcome is read from the app's own state."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.display
@pytest.mark.skipif(not all(shutil.which(p) for p in ("Xvfb", "openbox", "xdotool")),
                    reason="needs Xvfb, openbox and xdotool")
def test_demo_fills_in_the_form_on_a_virtual_display(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["TMPDIR"] = str(tmp_path)
    # tars prints the steps on stderr, the demo its own lines on stdout: read them together
    proc = subprocess.run(["bash", "scripts/demo.sh"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=240)
    out = proc.stdout
    assert proc.returncode == 0, out
    assert "starting a virtual display" in out
    assert "step 1" in out and "Step 6 of 6" in out  # each step is printed
    assert "full_name  'Ada Lovelace'" in out and "country    'France'" in out
    assert "demo: success" in out
    trajectories = list(tmp_path.glob("tars-demo-*/trajectory/steps.jsonl"))
    assert len(trajectories) == 1 and len(trajectories[0].read_text().splitlines()) >= 7
