"""Human demonstrations: event merging rules, and a real recording on Xvfb replayed to the
same effect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tars.actions.space import Click, DoubleClick, Drag, Hotkey, Press, RightClick, Scroll, Type
from tars.frontends.recorder import EventMerger, pynput_key_name

pytestmark = pytest.mark.needs("pynput")


@pytest.fixture
def merger():
    out: list = []
    frames: list[float] = []
    stops: list[bool] = []

    def frame_at(t):
        frames.append(t)
        return f"frame@{t}"

    m = EventMerger(out.append, frame_at, double_click_s=0.4, drag_threshold=5,
                    stop_combo=(frozenset({"ctrl", "alt"}), "esc"), on_stop=lambda: stops.append(True))
    m.out, m.frames, m.stops = out, frames, stops
    return m


def _actions(m):
    return [d.action for d in m.out]


def test_click_then_double_click(merger):
    merger.mouse_down(10, 10, "left", 1.0)
    merger.mouse_up(10, 10, "left", 1.05)
    assert merger.out == []  # held: it may become a double click
    merger.tick(1.3)
    assert merger.out == []
    merger.tick(1.5)  # 0.45 s after: final
    assert _actions(merger) == [Click(10, 10)]
    assert merger.out[0].frame == "frame@1.0" and merger.out[0].timestamp == 1.0
    merger.mouse_down(50, 60, "left", 2.0)
    merger.mouse_up(50, 60, "left", 2.05)
    merger.mouse_down(51, 61, "left", 2.2)
    merger.mouse_up(51, 61, "left", 2.25)
    merger.flush()
    assert _actions(merger)[1:] == [DoubleClick(50, 60)]
    assert merger.out[1].frame == "frame@2.0"


def test_slow_second_click_is_two_clicks(merger):
    for t in (1.0, 1.6):
        merger.mouse_down(5, 5, "left", t)
        merger.mouse_up(5, 5, "left", t + 0.05)
    merger.flush()
    assert _actions(merger) == [Click(5, 5), Click(5, 5)]


def test_drag_right_click_and_middle(merger):
    merger.mouse_down(10, 10, "left", 1.0)
    merger.mouse_up(100, 40, "left", 1.5)
    merger.mouse_down(7, 8, "right", 2.0)
    merger.mouse_up(7, 8, "right", 2.1)
    merger.mouse_down(7, 8, "middle", 3.0)
    merger.mouse_up(7, 8, "middle", 3.1)
    merger.mouse_down(3, 3, "left", 4.0)
    merger.mouse_up(6, 6, "left", 4.1)  # moved 4.2 points: still a click
    merger.flush()
    assert _actions(merger) == [Drag(10, 10, 100, 40), RightClick(7, 8), Click(3, 3)]


def test_scrolls_merge_per_direction(merger):
    merger.scroll(100, 100, 0, -1, 1.0)
    merger.scroll(101, 100, 0, -1, 1.1)
    merger.scroll(101, 100, 0, -2, 1.2)
    merger.scroll(101, 100, 0, 1, 1.3)   # direction changes: a new scroll
    merger.scroll(101, 100, 0, 1, 3.0)   # too late: another one
    merger.scroll(101, 100, -1, 0, 3.1)
    merger.flush()
    assert _actions(merger) == [Scroll(100, 100, "down", 4), Scroll(101, 100, "up", 1),
                                Scroll(101, 100, "up", 1), Scroll(101, 100, "left", 1)]


def test_typing_runs_backspace_enter_and_hotkeys(merger):
    for i, ch in enumerate("helo"):
        merger.key_down(ch, ch, 1.0 + i / 10)
    merger.key_down("backspace", None, 1.5)
    merger.key_down("backspace", None, 1.6)
    merger.key_down("shift", None, 1.65)
    merger.key_down("l", "L", 1.7)          # Shift+l types "L"
    merger.key_up("shift")
    merger.key_down("o", "o", 1.8)
    merger.key_down("space", None, 1.85)
    merger.key_down("enter", None, 1.9)    # ends the run with submit
    merger.key_down("enter", None, 2.0)    # a bare Enter is a key press
    merger.key_down("ctrl", None, 3.0)
    merger.key_down("shift", None, 3.0)
    merger.key_down("t", "T", 3.1)
    merger.key_up("shift")
    merger.key_up("ctrl")
    merger.key_down("tab", None, 4.0)
    merger.key_down("shift", None, 4.1)
    merger.key_down("tab", None, 4.2)
    merger.key_up("shift")
    merger.key_down("x", "x", 5.0)
    merger.flush()
    assert _actions(merger) == [Type("heLo \n"), Press("enter"), Hotkey(("ctrl", "shift", "t")),
                                Press("tab"), Hotkey(("shift", "tab")), Type("x")]
    # the typing run keeps the frame from its first key
    assert merger.out[0].frame == "frame@1.0"


def test_click_interrupts_typing_and_stop_combo_is_not_recorded(merger):
    merger.key_down("a", "a", 1.0)
    merger.mouse_down(1, 2, "left", 1.1)
    merger.mouse_up(1, 2, "left", 1.2)
    merger.key_down("ctrl", None, 2.0)
    merger.key_down("alt", None, 2.0)
    merger.key_down("esc", None, 2.1)
    merger.flush()
    assert _actions(merger) == [Type("a"), Click(1, 2)]
    assert merger.stops == [True]


@pytest.mark.display
def test_pynput_key_names(virtual_display):
    virtual_display(320, 240, wm=False)  # pynput needs an X connection to import
    from pynput.keyboard import Key, KeyCode

    assert pynput_key_name(Key.ctrl_r) == ("ctrl", None)
    assert pynput_key_name(Key.cmd) == ("win", None)
    assert pynput_key_name(Key.enter) == ("enter", None)
    assert pynput_key_name(Key.page_down) == ("pagedown", None)
    assert pynput_key_name(KeyCode.from_char("A")) == ("a", "A")
    assert pynput_key_name(KeyCode.from_char("\x03")) == ("c", "c")


def _xdotool(env, *args):
    subprocess.run(["xdotool", *args], env=env, check=True, timeout=10)


def _start_xterm(env, cwd):
    proc = subprocess.Popen(["xterm", "-geometry", "80x20+0+0"], env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from tars.evals.tasks import wait_for_window

    assert wait_for_window(env, "^xterm$", 15)
    time.sleep(0.5)  # the shell prompt
    return proc


@pytest.mark.display
def test_record_with_xdotool_then_replay(virtual_display, tmp_path):
    """Events sent with xdotool are recorded as actions, saved as a trajectory, and the
    replay (``tars replay``) has the same effect on a fresh xterm."""
    display = virtual_display(800, 600)
    env = display.env()
    work = tmp_path / "work"
    work.mkdir()
    xterm = _start_xterm(env, work)
    from tars.frontends.recorder import DemoRecorder

    folder = tmp_path / "demo"
    rec = DemoRecorder(folder, instruction="write demo.txt in xterm").start()
    try:
        time.sleep(0.3)
        _xdotool(env, "mousemove", "200", "150")
        _xdotool(env, "click", "1")
        time.sleep(0.6)
        _xdotool(env, "type", "--delay", "20", "echo recorded > demo.txt")
        _xdotool(env, "key", "Return")
        time.sleep(0.3)
        _xdotool(env, "click", "5")
        _xdotool(env, "click", "5")
        time.sleep(0.3)
        _xdotool(env, "key", "ctrl+alt+Escape")
        assert rec.wait(5), "the stop hotkey did not end the recording"
    finally:
        actions = rec.finish()
    assert [type(d.action) for d in actions] == [Click, Type, Scroll]
    assert actions[0].action == Click(200, 150)
    assert actions[1].action == Type("echo recorded > demo.txt\n")
    assert actions[2].action.direction == "down" and actions[2].action.amount == 2
    assert (work / "demo.txt").read_text() == "recorded\n"

    # the trajectory: readable, screen and model forms, UI-TARS text, a final finished()
    from tars.agent.trajectory import read_trajectory

    traj = read_trajectory(folder)
    assert traj.meta.policy == "human" and traj.result is not None and traj.result.status == "finished"
    assert len(traj.steps) == 4 and all(traj.screenshot_path(s) for s in traj.steps)
    first = traj.steps[0].actions[0]
    assert first.screen == {"action": "click", "x": 200, "y": 150}
    assert first.text.startswith("click(start_box='(") and traj.steps[0].response.startswith("Action: click(")
    assert traj.steps[-1].actions[0].screen["action"] == "finished"

    # replay on a fresh xterm, with the lead's `tars replay`
    xterm.terminate()
    xterm.wait()
    (work / "demo.txt").unlink()
    xterm = _start_xterm(env, work)
    try:
        root = Path(__file__).resolve().parents[1]
        proc = subprocess.run([sys.executable, "-m", "tars", "replay", str(folder), "--pause", "0.2"],
                              env={**env, "PYTHONPATH": str(root)}, cwd=root, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        deadline = time.monotonic() + 5
        while not (work / "demo.txt").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (work / "demo.txt").read_text() == "recorded\n"
    finally:
        xterm.terminate()
        xterm.wait()


@pytest.mark.display
def test_record_command_stops_on_hotkey(virtual_display, tmp_path):
    """`tars record DIR` records until Ctrl+Alt+Esc and exits 0; an existing trajectory is refused."""
    display = virtual_display(640, 480)
    env = display.env()
    root = Path(__file__).resolve().parents[1]
    folder = tmp_path / "rec"
    proc = subprocess.Popen([sys.executable, "-m", "tars", "record", str(folder), "--coords", "relative"],
                            env={**env, "PYTHONPATH": str(root)}, cwd=root, stderr=subprocess.PIPE, text=True)
    try:
        assert "recording" in proc.stderr.readline()
        _xdotool(env, "mousemove", "320", "240", "click", "3")
        time.sleep(0.3)
        _xdotool(env, "key", "ctrl+alt+Escape")
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "1 actions saved" in proc.stderr.read()
    step = json.loads((folder / "steps.jsonl").read_text().splitlines()[0])
    assert step["actions"][0]["screen"] == {"action": "right_single", "x": 320, "y": 240}
    assert step["actions"][0]["model"] == {"action": "right_single", "x": 500, "y": 500}  # 0..1000 grid
    again = subprocess.run([sys.executable, "-m", "tars", "record", str(folder)], env=env, cwd=root,
                           capture_output=True, text=True, timeout=30)
    assert again.returncode == 2 and "already holds a trajectory" in again.stderr


@pytest.mark.parametrize("display", [None, ":987"])
def test_record_without_a_display_says_so(tmp_path, display):
    """No X display (unset, or one no server answers): one plain line, exit 2, no folder."""
    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    if display:
        assert not Path(f"/tmp/.X11-unix/X{display[1:]}").exists()
        env["DISPLAY"] = display
    folder = tmp_path / "rec"
    proc = subprocess.run([sys.executable, "-m", "tars", "record", str(folder)],
                          env={**env, "PYTHONPATH": str(root)}, cwd=root, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert line.startswith("tars: recording needs a graphical session") and "\n" not in line
    assert ("DISPLAY is unset" if display is None else f"X display '{display}'") in line
    assert "platform is not supported" not in line and not folder.exists()
