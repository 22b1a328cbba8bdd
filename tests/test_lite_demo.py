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
    assert "step 1" in out and "Part 6 of 6" in out  # each step is printed
    assert "full_name  'Ada Lovelace'" in out and "country    'France'" in out
    assert "demo: success" in out
    trajectories = list(tmp_path.glob("tars-demo-*/trajectory/steps.jsonl"))
    assert len(trajectories) == 1 and len(trajectories[0].read_text().splitlines()) >= 7


def _demo_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("tars_demo_script", REPO / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_display_number() -> str:
    number = 987
    while Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
        number += 1
    return f":{number}"


@pytest.mark.display
@pytest.mark.skipif(not all(shutil.which(p) for p in ("Xvfb", "openbox", "xdpyinfo")),
                    reason="needs Xvfb, openbox and xdpyinfo")
def test_demo_falls_back_to_a_virtual_display_when_display_does_not_answer(capsys):
    """`DISPLAY=:99 make demo` with no server on :99 used to end in a Qt xcb error."""
    demo = _demo_module()
    dead = _free_display_number()
    env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
    env["DISPLAY"] = dead
    assert not demo.display_reachable(dead, env)
    display, child_env = demo.choose_display(False, "640x480", env)
    try:
        assert display is not None and child_env["DISPLAY"] == display.display != dead
        assert demo.display_reachable(child_env["DISPLAY"], child_env)
        # the app and tars get the virtual screen, at the asked size
        info = subprocess.run(["xdpyinfo"], env=child_env, capture_output=True, text=True).stdout
        assert "640x480 pixels" in info
    finally:
        if display is not None:
            display.stop()
    out = capsys.readouterr().out
    assert out == (f"demo: DISPLAY={dead} does not answer (no X server there); "
                   "starting a virtual display 640x480 (Xvfb + openbox)\n")


@pytest.mark.display
def test_demo_keeps_a_display_that_answers(virtual_display):
    demo = _demo_module()
    virtual_display(320, 240, wm=False)
    env = dict(os.environ)
    display, child_env = demo.choose_display(False, "640x480", env)
    assert display is None and child_env["DISPLAY"] == os.environ["DISPLAY"]
