"""The desktop app (agent/app.py, app_worker.py, app_settings.py).

GUI scenarios run in a child process on the test's Xvfb (one QApplication per process) and
print their measurements as JSON; the tests assert on them. The agent is real (tars.agent.loop),
the policy is a ScriptedPolicy, the operator a LocalOperator on Xvfb or a DryRunOperator.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

try:
    from gui_helpers import run_scenario
except ImportError:  # run as a script from elsewhere
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from gui_helpers import run_scenario

W, H = 1024, 768


# ---------------------------------------------------------------- no display needed
class _Store:
    """A dict with the part of QSettings' interface the settings code uses."""

    def __init__(self):
        self.data, self.prefix = {}, ""

    def beginGroup(self, g):  # noqa: N802 (Qt names)
        self.prefix = g + "/"

    def endGroup(self):  # noqa: N802
        self.prefix = ""

    def contains(self, k):
        return self.prefix + k in self.data

    def value(self, k):
        return self.data.get(self.prefix + k)

    def setValue(self, k, v):  # noqa: N802
        self.data[self.prefix + k] = str(v).lower() if isinstance(v, bool) else str(v)

    def remove(self, k):
        self.data.pop(self.prefix + k, None)

    def sync(self):
        pass


def test_settings_round_trip_and_the_key_is_kept_only_when_remembered():
    from tars.frontends.app.settings import AppSettings, load_settings, save_settings

    store = _Store()
    s = AppSettings(policy="openai", model="ui-tars", endpoint="http://h:8000/v1", api_key="sk-1",
                    max_steps=7, language="Chinese", overlay=False)
    save_settings(s, store)
    assert "sk-1" not in store.data.values()
    back = load_settings(store)
    assert back.api_key == "" and back.max_steps == 7 and back.overlay is False
    assert (back.policy, back.model, back.language) == ("openai", "ui-tars", "Chinese")
    s.remember_key = True
    save_settings(s, store)
    assert load_settings(store).api_key == "sk-1"
    s.remember_key = False
    save_settings(s, store)  # un-ticking erases the stored key
    assert "sk-1" not in store.data.values() and load_settings(store).api_key == ""
    assert "api_key" not in s.public() and s.policy_options().api_key.get_secret_value() == "sk-1"
    store.data["app/max_steps"] = "lots"  # unreadable values keep their default
    store.data["app/policy"] = "nonsense"
    assert load_settings(store).max_steps == 50 and load_settings(store).policy == "lite"


def test_trace_rows_from_a_trajectory_line(tmp_path):
    from PIL import Image

    from tars.frontends.app.trace import TraceRow
    from tars.frontends.markers import MARKER_RGB

    Image.new("RGB", (200, 100), (9, 9, 9)).save(tmp_path / "step-0001.png")
    line = {"step_num": 1, "screenshot_file": "step-0001.png", "thought": "t",
            "actions": [{"text": "click", "model": {"action": "click", "x": 1, "y": 2},
                         "screen": {"action": "click", "x": 60, "y": 40}},
                        {"text": "?", "model": {}, "screen": {"action": "nope"}}],
            "timings_ms": {"observe": 1.0, "think": 2.0, "act": 3.0}, "error": None,
            "geometry": {"width": 200, "height": 100, "scale": 2.0, "left": 50, "top": 0, "monitor": 1}}
    from tars.agent.schema import StepLine, TrajectoryMeta
    from tars.agent.trajectory import Trajectory

    traj = Trajectory(tmp_path, TrajectoryMeta(instruction="x", policy="lite"))
    row = TraceRow.from_line(StepLine(**line), traj)
    assert row.action_text == "Click at (60, 40)"  # the unreadable action is left out
    assert row.timings_text == "observe 1 ms · think 2 ms · act 3 ms"
    marked = row.marked_image()
    assert marked.getpixel((20, 80)) == MARKER_RGB  # (60-50)*2, 40*2: points -> pixels
    assert row.make_thumbnail().size[0] <= 192
    missing = TraceRow.from_line(StepLine(**{**line, "screenshot_file": "gone.png"}), traj)
    assert missing.marked_image() is None


def test_tars_app_without_a_screen_fails_clearly(monkeypatch):
    from typer.testing import CliRunner

    from tars.frontends.cli import app

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = CliRunner().invoke(app, ["app"])
    assert result.exit_code == 2
    assert "needs a screen" in result.output + (result.stderr if result.stderr_bytes else "")


def test_tars_app_refuses_a_missing_or_wrong_trajectory_before_qt(monkeypatch, tmp_path):
    """Checked before the screen and before Qt: the same answer with or without a display."""
    import sys as _sys

    from typer.testing import CliRunner

    from tars.frontends.cli import app

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    qt_loaded = "PySide6.QtWidgets" in _sys.modules
    missing = CliRunner().invoke(app, ["app", str(tmp_path / "nonexistent")])
    assert missing.exit_code == 2
    assert missing.stderr.strip() == f"tars: {tmp_path / 'nonexistent'} does not exist"
    not_a_run = tmp_path / "photos"
    not_a_run.mkdir()
    wrong = CliRunner().invoke(app, ["app", str(not_a_run)])
    assert wrong.exit_code == 2 and "is not a trajectory (no meta.json)" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
    torn = tmp_path / "torn"
    torn.mkdir()
    (torn / "meta.json").write_text('{"instruction": ')
    bad = CliRunner().invoke(app, ["app", str(torn)])
    assert bad.exit_code == 2 and "is not a readable trajectory" in bad.stderr
    assert ("PySide6.QtWidgets" in _sys.modules) == qt_loaded  # Qt was never started


# ---------------------------------------------------------------- scenarios (child process)
def _app():
    from PySide6.QtWidgets import QApplication

    return QApplication([])


def _wait(pred, timeout: float) -> bool:
    from PySide6.QtTest import QTest

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        QTest.qWait(20)
    return bool(pred())


def scenario_scripted_run(tmp: str) -> dict:
    """A real run (LocalOperator, overlay, recorder) of a 3-step script on a target window."""
    import numpy as np
    from gui_helpers import Target
    from PySide6.QtCore import QSettings

    from tars.desktop.local import LocalOperator
    from tars.frontends.app.window import MainWindow
    from tars.frontends.markers import MARKER_RGB
    from tars.models.scripted import ScriptedPolicy

    app = _app()
    target = Target()
    replies = [
        "Thought: I click the left area.\nAction: click(start_box='(400,300)')",
        "Thought: Now the lower right.\nAction: click(start_box='(700,500)')",
        "Thought: Both are clicked.\nAction: finished(content='all clicked')",
    ]
    policies: list = []

    def policy_factory(settings):
        policies.append(ScriptedPolicy(replies, delay=0.2))
        return policies[-1]

    store = QSettings(str(Path(tmp) / "tars.ini"), QSettings.Format.IniFormat)
    win = MainWindow(store, policy_factory,
                              lambda s: LocalOperator(monitor=s.monitor, estop_hotkey=None))
    win.policy_box.setCurrentText("openai")
    win.endpoint_edit.setText("http://127.0.0.1:9/v1")
    win.key_edit.setText("sk-secret-123")
    win.record_edit.setText(str(Path(tmp) / "runs"))
    win.overlay_box.setChecked(True)
    win.show()
    _wait(lambda: win.isVisible(), 5)
    minimized_during: list[bool] = []
    win.worker_rows = []
    started = win.start_run("Click both places")
    win.worker.step_done.connect(lambda row: minimized_during.append(win.isMinimized()))
    ended = _wait(lambda: not win.running, 40)
    _wait(lambda: win.isVisible() and not win.isMinimized(), 5)
    clicks = [target.line(1) for _ in range(2)]
    shots = [np.asarray(r.image) for r in win.rows if r.image is not None]
    marker_px = [int((s == MARKER_RGB).all(axis=2).sum()) for s in shots]
    win.trace.selectRow(0)
    app.processEvents()
    pix = win.preview.full
    traj = win.trajectory_dir
    report = win.export_html(Path(tmp) / "report.html")
    html = report.read_text(encoding="utf-8") if report else ""
    files_with_key = [str(p) for p in Path(tmp).rglob("*") if p.is_file() and p.suffix != ".ini"
                      and b"sk-secret-123" in p.read_bytes()]
    ini = (Path(tmp) / "tars.ini").read_text()
    # a second window (the app opened again) browses the recorded run
    win2 = MainWindow(QSettings(str(Path(tmp) / "tars.ini"), QSettings.Format.IniFormat),
                               hide_while_running=False)
    opened = win2.open_trajectory(traj)
    win2.show_step(2)
    out = {
        "started": started, "ended": ended, "status": win.last_result.status,
        "content": win.last_result.content, "rows": len(win.rows),
        "thoughts": [r.thought for r in win.rows],
        "trace_cells": [win.trace.item(i, 2).text() for i in range(win.trace.rowCount())],
        "thumbs": sum(1 for i in range(win.trace.rowCount()) if not win.trace.item(i, 1).icon().isNull()),
        "clicks": clicks, "marker_px_in_model_frames": marker_px,
        "minimized_during": minimized_during, "restored": win.isVisible() and not win.isMinimized(),
        "preview": [pix.width(), pix.height()] if pix is not None and not pix.isNull() else None,
        "html_has_images": html.count("data:image/png;base64"), "html_has_content": "all clicked" in html,
        "files_with_key": files_with_key, "key_in_ini": "sk-secret-123" in ini,
        "opened": opened, "opened_rows": len(win2.rows),
        "opened_actions": [r.action_text for r in win2.rows],
        "reopened_endpoint": win2.endpoint_edit.text(), "reopened_key": win2.key_edit.text(),
        "opened_preview": win2.preview.full is not None and not win2.preview.full.isNull(),
    }
    win2.close()
    win.close()
    target.close()
    return out


def scenario_pause_stop(tmp: str) -> dict:
    """Pause holds the run between steps, Stop ends it fast, the GUI stays live during loading."""
    from PIL import Image
    from PySide6.QtCore import QSettings, QTimer

    from tars.desktop.dryrun import DryRunOperator
    from tars.frontends.app.window import MainWindow
    from tars.models.scripted import ScriptedPolicy

    app = _app()
    replies = [f"Thought: step {i}\nAction: click(start_box='({10 + i},{20 + i})')" for i in range(80)]

    def policy_factory(settings):
        time.sleep(1.0)  # a model "loading" in the worker thread
        return ScriptedPolicy(replies, delay=0.1)

    image = Image.new("RGB", (800, 600), (120, 130, 140))
    store = QSettings(str(Path(tmp) / "tars.ini"), QSettings.Format.IniFormat)
    win = MainWindow(store, policy_factory, lambda s: DryRunOperator(images=[image]),
                              hide_while_running=False)
    win.overlay_box.setChecked(False)
    win.steps_spin.setValue(200)
    win.show()
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    win.start_run("Keep clicking")
    got_rows = _wait(lambda: len(win.rows) >= 3, 20)
    timer.stop()
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    win.toggle_pause()
    label_paused = win.pause_btn.text()
    _wait(lambda: False, 0.8)  # the step in flight may still finish
    held_from = len(win.rows)
    _wait(lambda: False, 1.2)
    held_to = len(win.rows)
    win.toggle_pause()
    resumed = _wait(lambda: len(win.rows) >= held_to + 2, 10)
    t0 = time.monotonic()
    win.stop_run()
    stopped = _wait(lambda: not win.running, 5)
    stop_seconds = time.monotonic() - t0
    out = {
        "got_rows": got_rows, "max_gap_s": max(gaps) if gaps else None, "ticks": len(ticks),
        "label_paused": label_paused, "held": [held_from, held_to], "resumed": resumed,
        "stopped": stopped, "stop_seconds": stop_seconds, "status": win.last_result.status,
        "steps": win.last_result.steps, "rows": len(win.rows),
        "buttons_after": [win.run_btn.isEnabled(), win.stop_btn.isEnabled()],
    }
    # settings that cannot work are refused at once, before any model loads
    from tars.frontends.app.window import default_policy

    win.policy_factory = default_policy
    win.policy_box.setCurrentText("hf")
    win.model_edit.setText("")
    out["refused_hf_without_model"] = win.start_run("anything") is False and not win.running
    out["refused_status"] = win.message.text()
    win.close()
    return out


#: the practice settings app for the example run: x, y, w, h (screen pixels) on a 1280x800 screen
PRACTICE = (20, 40, 560, 420)


def _clipped(win) -> list[str]:
    """Texts of visible labels, check boxes and buttons narrower than their text needs."""
    from PySide6.QtWidgets import QAbstractButton, QLabel

    out = []
    for w in win.findChildren(QAbstractButton) + win.findChildren(QLabel):
        if not w.isVisible() or (isinstance(w, QLabel) and (w.wordWrap() or w.pixmap() is not None
                                                             and not w.pixmap().isNull())):
            if isinstance(w, QLabel) and w.isVisible() and w.wordWrap() and w.text():
                if w.height() < w.heightForWidth(w.width()) - 1:
                    out.append(w.text())
            continue
        text = w.text()
        if text and w.width() < w.sizeHint().width():
            out.append(text)
    return out


def scenario_example_with_lite(tmp: str) -> dict:
    """The example instruction, with the default policy (lite), on the practice settings app;
    where the app stands, what it says, the end of the run."""
    import subprocess

    from PySide6.QtCore import QSettings

    from tars.assets.apps import app_command
    from tars.assets.apps._common import read_state
    from tars.desktop.local import LocalOperator
    from tars.frontends import windows
    from tars.frontends.app.window import MainWindow
    from tars.frontends.layout import intersects
    from tars.frontends.wording import EXAMPLE_INSTRUCTION

    state = str(Path(tmp) / "settings.json")
    x, y, w, h = PRACTICE
    proc = subprocess.Popen(app_command("settings", state, "--geometry", f"{w}x{h}+{x}+{y}"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        app = _app()
        _wait(lambda: windows.target_window() is not None, 20)
        _wait(lambda: False, 0.5)
        target = windows.target_window()
        store = QSettings(str(Path(tmp) / "tars.ini"), QSettings.Format.IniFormat)
        win = MainWindow(store, operator_factory=lambda s: LocalOperator(monitor=s.monitor, estop_hotkey=None))
        win.place_beside_target()
        win.show()
        _wait(lambda: win.isVisible(), 5)
        _wait(lambda: False, 0.5)
        win.place_beside_target()  # again, now that the frame is known
        _wait(lambda: False, 0.3)
        out: dict = {"target": list(target.rect), "app_at_open": list(win.frame_rect())}
        out["placeholder"] = win.instruction.placeholderText()
        out["export_enabled"] = win.export_act.isEnabled()
        out["export_tip"] = win.export_act.toolTip()
        out["clipped_run_tab"] = _clipped(win)
        win.tabs.setCurrentIndex(1)
        _wait(lambda: False, 0.2)
        out["clipped_settings_tab"] = _clipped(win)
        win.tabs.setCurrentIndex(0)
        out["refused"] = win.start_run("Find out why the build is slow") is False
        out["refusal"] = win.message.text()
        out["refusal_visible"] = win.message.isVisible()
        out["clipped_with_refusal"] = _clipped(win)
        started = win.start_run(EXAMPLE_INSTRUCTION)
        out["started"] = started
        hidden: list[bool] = []
        win.worker.step_done.connect(lambda row: hidden.append(win.isMinimized() or not win.isVisible()))
        out["ended"] = _wait(lambda: not win.running, 120)
        _wait(lambda: win.isVisible() and not win.isMinimized(), 5)
        _wait(lambda: False, 0.5)
        res = win.last_result
        out.update(status=res.status, error=res.error, steps=res.steps, hidden_during=hidden,
                   app_at_end=list(win.frame_rect()), visible_at_end=win.isVisible() and not win.isMinimized(),
                   message_at_end=win.message.text(), clipped_at_end=_clipped(win),
                   selected=[i.row() for i in win.trace.selectedItems()][:1], rows=len(win.rows),
                   step_cells=[win.trace.item(i, 0).text() for i in range(win.trace.rowCount())],
                   thought_cells=[win.trace.item(i, 3).text() for i in range(win.trace.rowCount())])
        hook = win.overlay
        g = hook.panel.geometry()
        out["panel"] = [g.x(), g.y(), g.width(), g.height()]
        out["panel_visible_at_end"] = hook.panel.isVisible()
        out["panel_texts"] = list(hook.panel.texts)
        out["state"] = read_state(state)
        # the step's screenshot zooms to its own pixels
        win.trace.selectRow(0)
        app.processEvents()
        view = win.preview
        out["fit_scale"] = view.current_scale()
        view.set_zoom(1.0)
        app.processEvents()
        out["zoom_label"] = [view.label.width(), view.label.height()]
        out["shot"] = [view.full.width(), view.full.height()]
        out["scrollable"] = view.area.horizontalScrollBar().maximum() > 0
        view.step(1)
        out["zoom_after_plus"] = view.zoom
        out["intersects_open"] = intersects(tuple(out["app_at_open"]), tuple(out["target"]))
        out["intersects_end"] = intersects(tuple(out["app_at_end"]), tuple(out["target"]))
        out["panel_over_app"] = intersects(tuple(out["panel"]), tuple(out["app_at_end"]))
        out["panel_over_target"] = intersects(tuple(out["panel"]), tuple(out["target"]))
        win.close()
        return out
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.mark.display
def test_the_example_instruction_runs_with_lite_beside_the_practice_app(virtual_display, tmp_path):
    d = virtual_display(1280, 800)
    r = run_scenario(__file__, "example_with_lite", d.env(), args=[str(tmp_path)], timeout=200)
    from tars.frontends.wording import EXAMPLE_INSTRUCTION

    assert EXAMPLE_INSTRUCTION in r["placeholder"]
    # the example works with the default policy, on a practice app
    assert r["started"] and r["ended"], r
    assert (r["status"], r["error"]) == ("finished", None), r
    assert r["state"]["applied"]["theme"] == "Dark"
    # the app stands beside the practice window, not over it, when it opens and after the run
    assert not r["intersects_open"] and not r["intersects_end"], (r["app_at_open"], r["app_at_end"], r["target"])
    assert r["hidden_during"] and all(r["hidden_during"]) and r["visible_at_end"]
    assert "Finished" in r["message_at_end"] and r["selected"] == [r["rows"] - 1]
    assert r["step_cells"] == [str(i) for i in range(1, r["rows"] + 1)]
    # one step numbering: lite's "Step K of N" (a part of the instruction) reads "Part K of N"
    assert r["thought_cells"][0].startswith("Part 1 of 3")
    assert not any(c.startswith("Step ") for c in r["thought_cells"])
    # the overlay's final status: on screen, off the app and off the practice window
    assert r["panel_visible_at_end"] and r["panel_texts"][0] == "Finished"
    assert not r["panel_over_app"] and not r["panel_over_target"], (r["panel"], r["app_at_end"])
    # a refusal says what to do instead, without class names
    assert r["refused"] and r["refusal_visible"]
    assert "step by step" in r["refusal"] and EXAMPLE_INSTRUCTION in r["refusal"]
    assert "Error" not in r["refusal"] and "InstructionError" not in r["refusal"]
    # nothing clipped; Export says why it is off
    assert r["clipped_run_tab"] == [] and r["clipped_settings_tab"] == [], r
    assert r["clipped_with_refusal"] == [] and r["clipped_at_end"] == []
    assert not r["export_enabled"] and "Record to" in r["export_tip"]
    # the screenshot zooms to its own pixels and scrolls
    assert r["fit_scale"] < 1.0 and r["zoom_label"] == r["shot"] == [1280, 800] and r["scrollable"]
    assert r["zoom_after_plus"] == 1.5


@pytest.mark.display
def test_app_runs_a_scripted_task_to_finished_with_a_full_trace(virtual_display, tmp_path):
    d = virtual_display(W, H)
    r = run_scenario(__file__, "scripted_run", d.env(), args=[str(tmp_path)], timeout=90)
    assert r["started"] and r["ended"]
    assert (r["status"], r["content"]) == ("finished", "all clicked")
    assert r["rows"] == 3 and r["thumbs"] == 3
    assert r["thoughts"] == ["I click the left area.", "Now the lower right.", "Both are clicked."]
    assert r["trace_cells"] == ["Click at (400, 300)", "Click at (700, 500)", "Finished: all clicked"]
    assert r["clicks"] == ["click 400 300", "click 700 500"]  # the clicks reached the window below
    assert r["marker_px_in_model_frames"] == [0, 0, 0]  # the overlay never was in a screenshot
    assert r["minimized_during"] and all(r["minimized_during"]) and r["restored"]
    assert r["preview"] == [W, H]
    assert r["html_has_images"] == 3 and r["html_has_content"]
    assert r["files_with_key"] == [] and not r["key_in_ini"]
    assert r["opened"] and r["opened_rows"] == 3 and r["opened_preview"]
    assert r["opened_actions"] == r["trace_cells"]
    assert r["reopened_endpoint"] == "http://127.0.0.1:9/v1" and r["reopened_key"] == ""


@pytest.mark.display
def test_app_pause_holds_between_steps_and_stop_ends_within_a_second(virtual_display, tmp_path):
    d = virtual_display(W, H, wm=False)
    r = run_scenario(__file__, "pause_stop", d.env(), args=[str(tmp_path)], timeout=90)
    assert r["got_rows"]
    assert r["ticks"] > 30 and r["max_gap_s"] < 0.5, "the window froze while the policy loaded"
    assert r["label_paused"] == "Resume"
    assert r["held"][0] == r["held"][1], "steps ran while paused"
    assert r["resumed"]
    assert r["stopped"] and r["stop_seconds"] < 1.0 and r["status"] == "stopped"
    assert r["steps"] >= r["rows"] >= r["held"][1] + 2
    assert r["buttons_after"] == [True, False]
    assert r["refused_hf_without_model"] and "--model" in r["refused_status"]


if __name__ == "__main__":
    print(json.dumps(globals()["scenario_" + sys.argv[1]](*sys.argv[2:])), flush=True)
