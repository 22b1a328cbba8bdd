"""The overlay (agent/overlay.py) and the markers (agent/markers.py).

Display tests run each scenario in a child process on the test's Xvfb (one QApplication per
process); scenarios call the hook from a worker thread, as the loop does, while the main
thread runs Qt. The screen is captured with mss, as the operator captures it.
"""

from __future__ import annotations

import json
import sys
import time

import pytest

from tars.actions.coords import ScreenGeometry
from tars.actions.space import Click, DoubleClick, Drag, Finished, Hotkey, Scroll, Type

pytestmark = pytest.mark.needs("PySide6", "mss")

try:
    from gui_helpers import run_scenario
except ImportError:  # run as a script from elsewhere
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from gui_helpers import run_scenario

W, H = 1024, 768
CLICK = (400, 300)


# ---------------------------------------------------------------- no display needed
def test_screen_to_local_converts_points_through_pixels_to_qt_logical():
    from tars.frontends.overlay import screen_to_local

    # X11, no scaling: a point is a pixel; the monitor's offset is removed
    assert screen_to_local(400, 300, ScreenGeometry(1920, 1080)) == (400, 300)
    assert screen_to_local(-1500, 20, ScreenGeometry(1920, 1080, left=-1920, top=0)) == (420, 20)
    # macOS Retina: scale 2 and Qt dpr 2, Qt logical = points
    assert screen_to_local(700, 80, ScreenGeometry(2880, 1800, 2.0, 0, 0), dpr=2.0) == (700, 80)
    # Windows 150 % with a DPI-aware process: points are physical pixels, Qt logical = px / 1.5
    assert screen_to_local(300, 150, ScreenGeometry(2400, 1350, 1.0, 0, 0), dpr=1.5) == (200, 100)


def test_draw_actions_puts_the_marker_centre_on_the_target_pixel():
    import numpy as np
    from PIL import Image

    from tars.frontends.markers import MARKER_RGB, actions_to_pixels, draw_actions

    img = Image.new("RGB", (640, 400), (200, 210, 220))
    geo = ScreenGeometry(1280, 800, scale=2.0, left=100, top=0)  # HiDPI, monitor at x=100
    acts = actions_to_pixels([Click(250, 60)], geo)  # screen points -> pixels (300, 120)
    assert (acts[0].x, acts[0].y) == (300, 120)
    out = draw_actions(img, acts + [Drag(20, 20, 200, 300)], trail=[Click(600, 380)])
    arr = np.asarray(out)
    assert np.asarray(img).tolist() != arr.tolist() and img.getpixel((300, 120)) != MARKER_RGB
    ys, xs = np.nonzero((arr == MARKER_RGB).all(axis=2))
    blobs = {(round(x), round(y)) for x, y in [(xs[xs > 250].mean(), ys[xs > 250].mean())]}
    assert blobs == {(300, 120)}
    # the drag's two ends carry the exact dot too
    assert tuple(arr[20, 20]) == MARKER_RGB and tuple(arr[300, 200]) == MARKER_RGB


def test_describe_action_in_words():
    from tars.frontends.markers import describe_action

    assert describe_action(Click(3, 4)) == "Click at (3, 4)"
    assert describe_action(DoubleClick(3.4, 4.6)) == "Double-click at (3, 5)"
    assert describe_action(Drag(1, 2, 3, 4)) == "Drag from (1, 2) to (3, 4)"
    assert describe_action(Hotkey(("ctrl", "c"))) == "Press ctrl+c"
    assert describe_action(Type("hello\n")) == 'Type "hello" and press Enter'
    assert describe_action(Scroll(5, 6, "down")) == "Scroll down 5 at (5, 6)"
    assert describe_action(Finished("done")) == "Finished: done"


# ---------------------------------------------------------------- scenarios (child process)
def _setup():
    from gui_helpers import gui_thread_runner
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    return app, gui_thread_runner(app)


def _info(geo):
    from tars.actions.coords import CoordSpace
    from tars.agent.hooks import RunInfo

    return RunInfo("open the settings", "scripted", CoordSpace("absolute"), geometry=geo)


def _map_state(widget) -> str:
    import subprocess

    out = subprocess.run(["xwininfo", "-id", str(int(widget.winId()))], capture_output=True,
                         text=True).stdout
    return next((ln.split(":", 1)[1].strip() for ln in out.splitlines() if "Map State" in ln), "?")


def scenario_hidden_for_capture() -> dict:
    """Overlay shown over a target window; hidden for capture; a click passes through."""
    import subprocess

    import numpy as np
    from gui_helpers import Target, grab

    from tars.desktop.operator import Observation
    from tars.frontends.overlay import OverlayHook, OverlaySettings

    app, run = _setup()
    target = Target()
    try:
        time.sleep(0.3)
        base = grab()
        geo = ScreenGeometry(base.shape[1], base.shape[0])
        hook = OverlayHook(OverlaySettings(settle_s=0.15))

        def agent_side():
            out = {}
            hook.run_start(_info(geo))
            hook.after_observe(1, Observation(None, geo))
            hook.before_action(1, Click(*CLICK), geo)
            time.sleep(0.2)
            shown = grab()
            out["state_shown"] = _map_state(hook.window)
            hook.before_capture(2)  # must return only once the overlay is off screen
            hidden = grab()
            out["state_hidden"] = _map_state(hook.window)
            out["panel_hidden"] = _map_state(hook.panel)
            hook.after_capture(2)  # must return only once it is back
            out["state_again"] = _map_state(hook.window)
            out["panel_again"] = _map_state(hook.panel)
            time.sleep(0.3)
            x, y = CLICK
            again = grab()
            out["marker_visible_again"] = bool((np.abs(again[y - 2:y + 3, x - 2:x + 3].astype(int)
                                                       - base[y - 2:y + 3, x - 2:x + 3]) > 0).any())
            subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "1"], check=True)
            out["click"] = target.line(5)
            out["shown_diff"] = int((shown != base).any(axis=2).sum())
            out["hidden_diff"] = int((hidden != base).any(axis=2).sum())
            out["marker_diff"] = int((shown[y - 25:y + 26, x - 25:x + 26] != base[y - 25:y + 26, x - 25:x + 26]).any(axis=2).sum())
            return out

        result = run(agent_side)
        hook.close()
        return result
    finally:
        target.close()


def scenario_kept_in_captures() -> dict:
    """keep_in_captures: the capture shows the overlay's drawings and the desktop elsewhere."""
    import numpy as np
    from gui_helpers import Target, grab

    from tars.frontends.markers import MARKER_RGB
    from tars.frontends.overlay import OverlayHook, OverlaySettings

    app, run = _setup()
    target = Target()
    try:
        time.sleep(0.3)
        base = grab()
        geo = ScreenGeometry(base.shape[1], base.shape[0])
        hook = OverlayHook(OverlaySettings(keep_in_captures=True))

        def agent_side():
            hook.run_start(_info(geo))
            hook.before_capture(1)  # kept in captures: does not hide
            hook.before_action(1, Drag(100, 500, 300, 650), geo)
            hook.before_action(2, Click(*CLICK), geo)  # the drag moves to the trail
            time.sleep(0.2)
            return grab(), _map_state(hook.window)

        shot, state = run(agent_side)
        # what the overlay may change: its own drawn pixels (the window's mask) and the strip
        allowed = np.zeros(base.shape[:2], bool)
        img = hook.window.image
        alpha = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)[:, :img.width(), 3]
        wx, wy = hook.window.x(), hook.window.y()
        allowed[wy:wy + alpha.shape[0], wx:wx + alpha.shape[1]] = alpha >= 128
        s = hook.panel.geometry()
        allowed[s.y():s.y() + s.height(), s.x():s.x() + s.width()] = True
        changed = (shot != base).any(axis=2)
        black = (shot == 0).all(axis=2) & ~(base == 0).all(axis=2)
        ys, xs = np.nonzero((shot == MARKER_RGB).all(axis=2))
        near_click = (np.abs(xs - CLICK[0]) < 20) & (np.abs(ys - CLICK[1]) < 20)
        near_drag_end = (np.abs(xs - 300) < 10) & (np.abs(ys - 650) < 10)
        hook.close()
        return {
            "changed": int(changed.sum()),
            "changed_outside": int((changed & ~allowed).sum()),
            "new_black": int(black.sum()),
            "new_black_outside": int((black & ~allowed).sum()),
            "allowed_fraction": float(allowed.mean()),
            "centroid": [float(xs[near_click].mean()), float(ys[near_click].mean())],
            "trail_drag_end_marker": int(near_drag_end.sum()),
            "state": state,
        }
    finally:
        target.close()


def scenario_marker_positions() -> dict:
    """Marker centre for several clicks (edges included), measured in the captured frame."""
    import numpy as np
    from gui_helpers import grab

    from tars.frontends.markers import MARKER_RGB
    from tars.frontends.overlay import OverlayHook, OverlaySettings

    app, run = _setup()
    hook = OverlayHook(OverlaySettings(keep_in_captures=True, trail=0, controls=False))
    base = grab()
    full = ScreenGeometry(base.shape[1], base.shape[0])
    # the right half as a monitor of its own (X11 with one QScreen for the whole desktop)
    half = base.shape[1] // 2
    right = ScreenGeometry(base.shape[1] - half, base.shape[0], left=half, monitor=2)
    points = [(400, 300, full), (37, 701, full), (base.shape[1] - 6, 5, full), (811, 123, full),
              (half + 300, 200, right), (half + 3, 760, right)]

    def agent_side():
        found = []
        hook.run_start(_info(full))
        for i, (x, y, geo) in enumerate(points, 1):
            hook.before_action(i, Click(x, y), geo)
            time.sleep(0.1)
            shot = grab()
            ys, xs = np.nonzero((shot == MARKER_RGB).all(axis=2))
            found.append([float(xs.mean()), float(ys.mean())] if len(xs) else None)
        return found

    found = run(agent_side)
    screen = app.primaryScreen()
    hook.close()
    return {"points": [p[:2] for p in points], "found": found, "dpr": screen.devicePixelRatio()}


def _visible_tars_windows() -> list[str]:
    import subprocess

    out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^tars (overlay|panel)$"],
                         capture_output=True, text=True).stdout
    return out.split()


def scenario_run_with_overlay() -> dict:
    """`tars run --overlay`'s path: a real Agent run under run_with_overlay."""
    from PIL import Image
    from PySide6.QtWidgets import QApplication

    from tars.agent.hooks import Hook
    from tars.agent.loop import Agent, AgentConfig
    from tars.desktop.dryrun import DryRunOperator
    from tars.frontends.overlay import OverlaySettings, run_with_overlay
    from tars.models.scripted import ScriptedPolicy

    app = QApplication([])
    at_capture: list[list[str]] = []
    at_step_end: list[list[str]] = []

    class WatchedOperator(DryRunOperator):
        def observe(self):
            at_capture.append(_visible_tars_windows())
            return super().observe()

    class StepWatcher(Hook):
        def step_end(self, record):
            at_step_end.append(_visible_tars_windows())

    policy = ScriptedPolicy([
        "Thought: first\nAction: click(start_box='(100,100)')",
        "Thought: second\nAction: drag(start_box='(200,150)', end_box='(400,300)')",
        "Thought: done\nAction: finished(content='ok')",
    ])
    op = WatchedOperator(images=[Image.new("RGB", (W, H), (90, 120, 150))])
    agent = Agent(policy, op, AgentConfig(max_steps=5, settle=False), [StepWatcher()])
    result = run_with_overlay(agent, "do it", OverlaySettings(hold_s=0.3))
    return {"status": result.status, "content": result.content, "steps": result.steps,
            "executed": [a.to_text() for a in op.executed], "hooks_after": len(agent.hooks.hooks),
            "at_capture": at_capture, "at_step_end": at_step_end}


def scenario_strip_buttons() -> dict:
    """Pause, Resume and Stop clicked (xdotool) on the control strip during a real run."""
    import subprocess
    import threading

    from gui_helpers import wait_until
    from PIL import Image
    from PySide6.QtWidgets import QApplication

    from tars.agent.loop import Agent, AgentConfig
    from tars.desktop.dryrun import DryRunOperator
    from tars.frontends.overlay import OverlaySettings, run_with_overlay
    from tars.models.scripted import ScriptedPolicy

    app = QApplication([])
    # more steps than the clicks below can take on a loaded machine: the run must still be going
    # when Stop is clicked
    replies = [f"Thought: step {i}\nAction: click(start_box='({100 + i},{100 + i})')" for i in range(300)]
    op = DryRunOperator(images=[Image.new("RGB", (W, H), (90, 120, 150))])
    agent = Agent(ScriptedPolicy(replies, delay=0.3), op, AgentConfig(max_steps=300, settle=False))
    box: dict = {}

    def click_button(name: str, done) -> bool:
        # the strip hides for each capture: click, and click again if it had no effect
        for _ in range(10):
            strip = box["hook"].panel if "hook" in box else None
            if strip is None or not _visible_tars_windows():
                time.sleep(0.05)
                continue
            btn = getattr(strip, name)
            c = btn.geometry().center()
            x, y = strip.x() + c.x(), strip.y() + c.y()
            subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "1"], check=True)
            if wait_until(done, 1.0):
                return True
        return False

    def user():
        wait_until(lambda: len(op.executed) >= 2, 10)
        box["hook"] = next(h for h in agent.hooks.hooks if type(h).__name__ == "OverlayHook")
        box["paused"] = click_button("pause_btn", lambda: agent.paused)
        n = len(op.executed)
        time.sleep(1.0)
        box["held"] = len(op.executed) - n
        box["resumed"] = click_button("pause_btn", lambda: not agent.paused)
        wait_until(lambda: len(op.executed) >= n + 2, 10)
        box["t_stop"] = time.monotonic()
        box["stop_clicked"] = click_button("stop_btn", lambda: agent.guard.stopped)

    clicker = threading.Thread(target=user, daemon=True)
    clicker.start()
    result = run_with_overlay(agent, "keep clicking", OverlaySettings(hold_s=0))
    ended = time.monotonic()
    clicker.join(5)  # the run can end before the clicker has noted that its Stop click worked
    return {"status": result.status, "paused": box.get("paused"), "held": box.get("held"),
            "resumed": box.get("resumed"), "stop_clicked": box.get("stop_clicked"),
            "stop_seconds": ended - box.get("t_stop", ended), "steps": result.steps}


#: the practice app the sampled run works on, and where (x, y, w, h in screen pixels)
PRACTICE_RECT = (30, 40, 560, 400)
REASON = "the Apply button asks for an administrator password"


def _bbox(mask) -> list[int] | None:
    import numpy as np

    ys, xs = np.nonzero(mask)
    if not len(xs):
        return None
    return [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]


def scenario_sampled_run() -> dict:
    """A real run (LocalOperator, settle frames on) on the practice settings app, photographed
    every 0.1 s from outside: where the panel is, whether it is there, the model's frames."""
    import subprocess
    import tempfile
    import threading

    import numpy as np
    from gui_helpers import grab, wait_until
    from PySide6.QtWidgets import QApplication

    from tars.agent.hooks import Hook
    from tars.agent.loop import Agent, AgentConfig
    from tars.assets.apps import app_command
    from tars.desktop.local import LocalOperator
    from tars.frontends import windows
    from tars.frontends.markers import MARKER_RGB, PANEL_RGB, STATUS_RGB, STYLE
    from tars.frontends.overlay import OverlaySettings, run_with_overlay
    from tars.models.scripted import ScriptedPolicy

    x, y, w, h = PRACTICE_RECT
    state = tempfile.mktemp(suffix=".json")
    app_proc = subprocess.Popen(app_command("settings", state, "--geometry", f"{w}x{h}+{x}+{y}"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: windows.target_window() is not None, 20)
        time.sleep(0.5)
        target = windows.target_window()
        app = QApplication([])
        captures: list[list[float]] = []
        frames_with_overlay: list[int] = []

        class TimedOperator(LocalOperator):
            def observe(self):
                t0 = time.monotonic()
                obs = super().observe()
                captures.append([t0, time.monotonic()])
                arr = np.asarray(obs.image)
                frames_with_overlay.append(int((arr == PANEL_RGB).all(axis=2).sum()
                                               + (arr == MARKER_RGB).all(axis=2).sum()))
                return obs

        # points inside the practice window's empty tab page: nothing changes, nothing opens
        points = [(x + 300, y + 250), (x + 340, y + 270), (x + 260, y + 290), (x + 380, y + 240)]
        replies = [f"Thought: I click the empty page ({i}).\nAction: click(start_box='({px},{py})')"
                   for i, (px, py) in enumerate(points, 1)]
        replies.append(f"Thought: {REASON}; I hand over.\nAction: call_user()")
        trails: list[list] = []
        step_actions: dict[str, int] = {}
        ends: list[float] = []
        box: dict = {}

        class Watcher(Hook):
            def step_end(self, record):
                for a in record.actions_screen:
                    step_actions[a.to_text()] = record.step_num
                overlay = box.get("hook")
                if overlay is not None:
                    trails.append([[n, a.to_text()] for n, a in list(overlay.window.trail)])

            def run_end(self, result):
                ends.append(time.monotonic())

        op = TimedOperator(estop_hotkey=None)
        agent = Agent(ScriptedPolicy(replies, delay=1.0), op,
                      AgentConfig(max_steps=10, settle=True, settle_interval=0.15), [Watcher()])
        samples: list[dict] = []
        stop = threading.Event()

        def sampler():
            while not stop.is_set():
                t0 = time.monotonic()
                shot = grab()
                t1 = time.monotonic()
                panel = _bbox((shot == PANEL_RGB).all(axis=2))
                accent = None
                if panel is not None:
                    accent = [int(v) for v in shot[(panel[1] + panel[3]) // 2, max(0, panel[0] - 2)]]
                trail_px = int((shot == STYLE.trail).all(axis=2).sum())
                samples.append({"t": [t0, t1], "panel": panel, "accent": accent, "trail_px": trail_px})
                time.sleep(0.1)

        th = threading.Thread(target=sampler, daemon=True)
        started = time.monotonic()
        th.start()
        original_add = agent.hooks.add

        def add(hook):  # run_with_overlay subscribes its OverlayHook: keep a handle on it
            box["hook"] = hook
            original_add(hook)

        agent.hooks.add = add
        settings = OverlaySettings(hold_s=2.0)
        result = run_with_overlay(agent, "click around, then ask", settings)
        returned = time.monotonic()
        time.sleep(0.3)
        stop.set()
        th.join(5)
        return {
            "status": result.status, "steps": result.steps, "captures": captures,
            "frames_with_overlay": frames_with_overlay, "samples": samples, "started": started,
            "run_end": ends[0] if ends else None, "returned": returned, "hold_s": settings.hold_s,
            "settle_s": settings.settle_s, "target": list(target.rect) if target else None,
            "trails": trails, "step_actions": step_actions,
            "call_user_rgb": list(STATUS_RGB["call_user"]), "running_rgb": list(STATUS_RGB["running"]),
            "final_texts": list(box["hook"].panel.texts) if "hook" in box else None,
        }
    finally:
        app_proc.terminate()
        app_proc.wait(5)


@pytest.mark.display
def test_overlay_stays_up_between_captures_in_one_place_off_the_target_and_holds_the_end(virtual_display):
    d = virtual_display(W, H)
    r = run_scenario(__file__, "sampled_run", d.env(), timeout=120)
    assert (r["status"], r["steps"]) == ("call_user", 5)
    # never in what the model saw (first frames and settle frames alike)
    assert len(r["captures"]) >= 5 and r["frames_with_overlay"] == [0] * len(r["captures"])
    margin = r["settle_s"] + 0.25  # hide -> grab -> show, on a loaded machine
    hidden = [(a - margin, b + 0.25) for a, b in r["captures"]]
    first_show = r["captures"][0][1] + 0.3
    during = [s for s in r["samples"] if first_show < s["t"][0] and s["t"][1] < r["run_end"]
              and not any(s["t"][0] < b and s["t"][1] > a for a, b in hidden)]
    assert len(during) >= 5, "too few samples between captures to judge"
    missing = [s["t"] for s in during if s["panel"] is None]
    assert missing == [], f"overlay absent between captures at {missing}"
    # one place for the whole run, and not over the practice window
    places = {tuple(s["panel"]) for s in r["samples"] if s["panel"] is not None}
    assert len(places) == 1, places
    (px0, py0, px1, py1), = places
    tx, ty, tw, th = r["target"]
    assert px1 < tx or px0 >= tx + tw or py1 < ty or py0 >= ty + th, (places, r["target"])
    # the end stays on screen (call_user's colour) for the hold, then goes
    held = [s for s in r["samples"] if r["run_end"] + 0.4 < s["t"][0] and s["t"][1] < r["run_end"] + r["hold_s"] - 0.3]
    assert held and all(s["panel"] is not None and s["accent"] == r["call_user_rgb"] for s in held)
    assert r["final_texts"][0] == "tars needs you" and REASON in r["final_texts"][1]
    after = [s for s in r["samples"] if s["t"][0] > r["returned"]]
    assert after and all(s["panel"] is None for s in after)
    assert r["returned"] - r["run_end"] >= r["hold_s"] - 0.2
    # trail badges carry the step number of the action they mark
    seen = [tuple(t) for trail in r["trails"] for t in trail]
    assert seen, "no trail was drawn"
    assert all(r["step_actions"][text] == num for num, text in seen), (seen, r["step_actions"])
    assert {num for num, _ in seen} >= {1, 2, 3}
    assert any(s["trail_px"] > 50 for s in during), "no trail badge on screen"


def scenario_panel_steps_aside() -> dict:
    """An action aimed under the panel: the panel (it takes clicks) hides for that step only,
    in the same place afterwards."""
    from gui_helpers import grab

    from tars.frontends.overlay import OverlayHook, OverlaySettings

    app, run = _setup()
    base = grab()
    geo = ScreenGeometry(base.shape[1], base.shape[0])
    hook = OverlayHook(OverlaySettings(hold_s=0))

    def agent_side():
        hook.run_start(_info(geo))
        time.sleep(0.2)
        g = hook.panel.geometry()
        before = [g.x(), g.y(), g.width(), g.height()]
        hook.before_action(1, Click(g.x() + g.width() // 2, g.y() + g.height() // 2), geo)
        under = _map_state(hook.panel)
        rec = type("R", (), {"step_num": 1, "exchange": None})()
        hook.step_end(rec)
        time.sleep(0.2)
        again = _map_state(hook.panel)
        hook.before_action(2, Click(40, 40), geo)
        elsewhere = _map_state(hook.panel)
        g = hook.panel.geometry()
        return {"before": before, "after": [g.x(), g.y(), g.width(), g.height()], "under": under,
                "again": again, "elsewhere": elsewhere}

    out = run(agent_side)
    hook.close()
    return out


@pytest.mark.display
def test_panel_steps_aside_for_an_action_beneath_it_and_never_moves(virtual_display):
    d = virtual_display(W, H, wm=False)
    r = run_scenario(__file__, "panel_steps_aside", d.env())
    assert r["under"] == "IsUnMapped", "a click aimed under the panel would land on it"
    assert r["again"] == "IsViewable" and r["elsewhere"] == "IsViewable"
    assert r["before"] == r["after"]


@pytest.mark.display
def test_control_strip_pauses_resumes_and_stops_the_run(virtual_display):
    d = virtual_display(W, H)
    r = run_scenario(__file__, "strip_buttons", d.env())
    assert r["paused"] and r["held"] <= 1  # at most the step in flight finishes
    assert r["resumed"] and r["stop_clicked"], r
    assert r["status"] == "stopped" and r["steps"] < 300
    assert r["stop_seconds"] < 2.0


@pytest.mark.display
def test_run_with_overlay_runs_the_agent_and_hides_for_every_capture(virtual_display):
    d = virtual_display(W, H)
    r = run_scenario(__file__, "run_with_overlay", d.env())
    assert (r["status"], r["content"], r["steps"]) == ("finished", "ok", 3)
    assert r["executed"] == ["click(start_box='(100,100)')",
                             "drag(start_box='(200,150)', end_box='(400,300)')"]
    assert r["hooks_after"] == 1  # the overlay unsubscribed itself
    assert len(r["at_capture"]) == 3 and all(v == [] for v in r["at_capture"])
    assert len(r["at_step_end"][0]) == 2  # marker window and panel were up between captures


@pytest.mark.display
def test_overlay_is_never_in_the_capture_and_clicks_pass_through(virtual_display):
    d = virtual_display(W, H)
    r = run_scenario(__file__, "hidden_for_capture", d.env())
    assert r["state_shown"] == "IsViewable"
    assert r["marker_diff"] > 100, "the marker was not on screen while shown"
    assert r["shown_diff"] > r["marker_diff"]  # panel and control strip too
    assert r["state_hidden"] == "IsUnMapped"
    assert r["hidden_diff"] == 0, "the captured frame differs from the frame without overlay"
    assert r["panel_hidden"] == "IsUnMapped"
    assert r["state_again"] == "IsViewable" and r["panel_again"] == "IsViewable"
    assert r["marker_visible_again"]
    assert r["click"] == f"click {CLICK[0]} {CLICK[1]}", "the click did not reach the window below"


@pytest.mark.display
def test_overlay_kept_in_captures_changes_only_its_own_drawings(virtual_display):
    d = virtual_display(W, H)
    r = run_scenario(__file__, "kept_in_captures", d.env())
    assert r["state"] == "IsViewable"
    assert r["changed"] > 500
    assert r["changed_outside"] == 0, "desktop changed outside the overlay's drawings"
    assert r["new_black_outside"] == 0 and r["new_black"] == 0, "no-compositor black showed"
    assert r["allowed_fraction"] < 0.15, "the window mask covers far more than the drawings"
    assert r["centroid"] == [CLICK[0], CLICK[1]]
    assert r["trail_drag_end_marker"] == 0  # the earlier drag is drawn as trail, not as marker


@pytest.mark.display
@pytest.mark.parametrize("qt_scale", ["1", "2"])
def test_marker_lands_on_the_target_pixel(virtual_display, qt_scale):
    d = virtual_display(W, H, wm=False)
    env = d.env()
    env["QT_SCALE_FACTOR"] = qt_scale  # Qt logical pixels = X pixels / 2: the dpr path
    r = run_scenario(__file__, "marker_positions", env)
    assert r["dpr"] == float(qt_scale)
    for (x, y), got in zip(r["points"], r["found"]):
        assert got is not None, f"no marker found for {(x, y)}"
        assert abs(got[0] - x) <= 1 and abs(got[1] - y) <= 1, (x, y, got)


if __name__ == "__main__":
    print(json.dumps(globals()["scenario_" + sys.argv[1]]()), flush=True)
