"""The desktop app asks before a risky action (issue 16: asked when a person is at the controls).

On Xvfb with openbox, the real app window (minimised during the run, the overlay on), a real
run (LocalOperator) of a ScriptedPolicy, and the probe window (tests/probe_window.py) as the
program tars works on: it logs every key event it receives. The script clicks the probe's text
box, then answers ``hotkey(key='ctrl alt delete')`` (harmless on Xvfb: nothing there acts on
it; the probe logs it), then ``finished``. The question is answered by real clicks (XTest) on
the dialog's buttons, as a person would.
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

pytestmark = pytest.mark.needs("PySide6", "mss", "Xlib")

W, H = 1024, 768
QT_KEY_DELETE = 0x01000007
QT_CTRL, QT_ALT = 0x04000000, 0x08000000
REPLIES = [
    f"Thought: I click the text box.\nAction: click(start_box='({W // 2},{H // 2})')",
    "Thought: I open the security screen.\nAction: hotkey(key='ctrl alt delete')",
    "Thought: That is all.\nAction: finished(content='done')",
]


# ---------------------------------------------------------------- the scenario (child process)
def _wait(pred, timeout: float) -> bool:
    """Run Qt's event loop until ``pred()`` or ``timeout`` seconds. In slices of QEventLoop.exec,
    which lets go of Python's lock while it waits, as the app's own app.exec() does (QTest.qWait
    keeps it: the worker thread, holding a server grab, would then wait for it for ever while Qt
    waits for the X server)."""
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        loop = QEventLoop()
        QTimer.singleShot(20, loop.quit)
        loop.exec()
    return bool(pred())


def _x_click(widget) -> None:
    """A real left click (XTest, its own X connection) in the middle of ``widget``."""
    from PySide6.QtCore import QPoint
    from Xlib import X
    from Xlib.display import Display
    from Xlib.ext import xtest

    centre = widget.mapToGlobal(QPoint(widget.width() // 2, widget.height() // 2))
    d = Display()
    try:
        xtest.fake_input(d, X.MotionNotify, x=centre.x(), y=centre.y())
        d.sync()
        time.sleep(0.05)
        xtest.fake_input(d, X.ButtonPress, 1)
        d.sync()
        time.sleep(0.05)
        xtest.fake_input(d, X.ButtonRelease, 1)
        d.sync()
    finally:
        d.close()


def _x_chord(*names: str) -> None:
    """A real key chord (XTest, its own X connection): press ``names`` (X keysym names) in
    order, release them in reverse."""
    from Xlib import XK, X
    from Xlib.display import Display
    from Xlib.ext import xtest

    d = Display()
    try:
        codes = [d.keysym_to_keycode(XK.string_to_keysym(n)) for n in names]
        for code in codes:
            xtest.fake_input(d, X.KeyPress, code)
            d.sync()
            time.sleep(0.05)
        for code in reversed(codes):
            xtest.fake_input(d, X.KeyRelease, code)
            d.sync()
    finally:
        d.close()


def _on_screen_share(widget) -> float:
    """Share of ``widget``'s pixels the screen shows as the widget draws them (1.0: nothing
    covers it; the overlay or another window over it lowers the share)."""
    import numpy as np
    from gui_helpers import grab
    from PySide6.QtCore import QPoint

    own = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGB888)
    w, h = own.width(), own.height()
    mine = np.frombuffer(own.constBits(), np.uint8, own.bytesPerLine() * h).reshape(h, own.bytesPerLine())
    mine = mine[:, : 3 * w].reshape(h, w, 3)
    top_left = widget.mapToGlobal(QPoint(0, 0))
    screen = grab()[top_left.y(): top_left.y() + h, top_left.x(): top_left.x() + w]
    if screen.shape != mine.shape:
        return 0.0
    same = (np.abs(screen.astype(int) - mine.astype(int)) <= 8).all(axis=2)
    return float(same.mean())


def _one_run(win, mode: str) -> dict:
    """One run of the script on ``win``; ``mode`` says what the person does with the question:
    ``refuse``, ``allow``, ``stop`` (the overlay's Stop), ``estop`` (the emergency hotkey
    Ctrl+Alt+Esc), ``none`` (no answer), ``close``
    (the app's window is closed); ``setting``: Settings allows risky actions without asking."""
    from tars.frontends.layout import intersects
    from tars.models.scripted import ScriptedPolicy

    policies: list = []

    def policy_factory(settings):
        policies.append(ScriptedPolicy(REPLIES, delay=0.1))
        return policies[-1]

    win.policy_factory = policy_factory
    if mode == "setting":
        win.risky_box.setChecked(True)
    out: dict = {"mode": mode, "started": win.start_run("Open the security screen")}
    shown = _wait(lambda: getattr(win, "question_dialog", None) is not None
                  and win.question_dialog.isVisible() or (mode == "setting" and not win.running), 40)
    shown = shown and getattr(win, "question_dialog", None) is not None
    shown_at = time.monotonic()
    out["dialog_shown"] = shown
    dialog = win.question_dialog if shown else None
    if dialog is not None:
        _wait(lambda: False, 0.6)  # mapped, framed and painted
        g = dialog.frameGeometry()
        out["dialog_text"] = dialog.text() + " " + dialog.informativeText()
        out["default_button"] = dialog.defaultButton().text()
        out["visible_share"] = _on_screen_share(dialog)
        panel = win.overlay.panel if win.overlay is not None else None
        out["panel_texts"] = list(panel.texts) if panel is not None else None
        out["panel_over_dialog"] = bool(panel is not None and panel.isVisible() and intersects(
            (panel.x(), panel.y(), panel.width(), panel.height()), (g.x(), g.y(), g.width(), g.height())))
        out["markers_visible"] = bool(win.overlay is not None and win.overlay.window.isVisible())
        t0 = time.monotonic()
        if mode == "refuse":
            _x_click(dialog.refuse_btn)
        elif mode == "allow":
            _x_click(dialog.allow_btn)
        elif mode == "stop":
            _x_click(panel.stop_btn)
        elif mode == "estop":
            _x_chord("Control_L", "Alt_L", "Escape")
        elif mode == "close":
            win.close()
        out["dialog_gone"] = _wait(lambda: win.question_dialog is not dialog, 10)  # closed, deleted
        out["dialog_gone_s"] = time.monotonic() - t0  # after the answer
        out["dialog_up_s"] = time.monotonic() - shown_at
    ended = _wait(lambda: not win.running, 20)
    res = win.last_result
    prompts = policies[-1].prompts if policies else []
    out.update(ended=ended, status=res.status if res else None, steps=res.steps if res else None,
               asked=len(prompts),
               feedback=[t.feedback for p in prompts[-1:] for t in p.turns if t.feedback],
               errors=[r.error for r in win.rows])
    _wait(lambda: False, 0.3)
    return out


def scenario_risky(tmp: str, log: str, modes: str, answer_seconds: str = "") -> dict:
    """The app with the overlay on, the probe window under it; one run per mode (see
    :func:`_one_run`)."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from tars.desktop.local import LocalOperator
    from tars.frontends.app.window import MainWindow

    app = QApplication([])
    store = QSettings(str(Path(tmp) / "tars.ini"), QSettings.Format.IniFormat)
    win = MainWindow(store, None, lambda s: LocalOperator(monitor=s.monitor, estop_hotkey="ctrl+alt+esc"))
    if answer_seconds:
        win.answer_seconds = float(answer_seconds)
    win.overlay_box.setChecked(True)
    win.show()
    _wait(lambda: win.isVisible(), 5)
    runs = []
    for mode in modes.split(","):
        log_lines = len(Path(log).read_text().splitlines())
        run = _one_run(win, mode)
        _wait(lambda: False, 0.5)  # the probe logs what reached it
        events = [json.loads(line) for line in Path(log).read_text().splitlines()[log_lines:]]
        run["delete_keys"] = [e["mods"] for e in events if e["ev"] == "key" and e["key"] == QT_KEY_DELETE]
        runs.append(run)
    if win.isVisible():
        win.close()
    return {"runs": runs}


# ---------------------------------------------------------------- no display needed
def test_a_question_waits_for_the_first_answer_a_stop_or_its_time_limit():
    import threading

    from tars.frontends.app.ask import RiskyQuestion

    q = RiskyQuestion("hotkey(key='ctrl alt delete')", "presses ctrl+alt+delete", seconds=5)
    threading.Timer(0.1, q.answer, (True,)).start()
    assert q.wait(lambda: False) is True and q.outcome == "allowed"
    assert q.answer(False) is False and q.outcome == "allowed"  # the first answer stands
    stop = threading.Event()
    q = RiskyQuestion("x", "y", seconds=5)
    threading.Timer(0.1, stop.set).start()
    t0 = time.monotonic()
    assert q.wait(stop.is_set) is False and q.outcome == "stopped" and time.monotonic() - t0 < 1
    assert q.answer(True) is False  # too late: the wait is over
    q = RiskyQuestion("x", "y", seconds=0.3)
    t0 = time.monotonic()
    assert q.wait(lambda: False) is False and q.outcome == "no answer"
    assert 0.25 < time.monotonic() - t0 < 1.5


def test_the_allow_setting_is_off_by_default_and_reaches_the_run():
    from tars.agent.guard import refuse_risky
    from tars.frontends.app.settings import AppSettings

    assert AppSettings().allow_risky is False
    asked = AppSettings().run_options().agent_config(confirm=lambda a, r: False).confirm
    assert asked is not None and asked is not refuse_risky
    options = AppSettings(allow_risky=True).run_options()
    assert options.allow_risky and options.agent_config(confirm=lambda a, r: False).confirm is None


# ---------------------------------------------------------------- on a display
@pytest.fixture
def desktop(virtual_display, tmp_path):
    """An Xvfb with openbox and the probe window over the whole screen; yields a function
    running :func:`scenario_risky` there."""
    from test_operator_display import Probe

    d = virtual_display(W, H)
    probe = Probe(d, (0, 0, W, H), tmp_path / "events.jsonl")

    def run(modes: str, answer_seconds: str = "") -> list[dict]:
        r = run_scenario(__file__, "risky", d.env(), timeout=120,
                         args=[str(tmp_path), str(probe.log), modes, answer_seconds])
        return r["runs"]

    try:
        yield run
    finally:
        probe.stop()


def _asked_visibly(r: dict) -> None:
    assert r["started"] and r["dialog_shown"], "the app did not ask before ctrl+alt+delete"
    assert "hotkey(key='ctrl alt delete')" in r["dialog_text"] and "presses ctrl+alt+delete" in r["dialog_text"]
    assert r["default_button"] == "Refuse"
    # on top: the screen shows the question as it draws itself; the overlay steps aside
    assert r["visible_share"] > 0.98, r["visible_share"]
    assert not r["panel_over_dialog"] and not r["markers_visible"]
    assert r["panel_texts"][0] == "Waiting for your answer"


@pytest.mark.display
def test_refuse_keeps_the_action_undone_and_tells_the_model_the_user_refused(desktop):
    (r,) = desktop("refuse")
    _asked_visibly(r)
    assert r["dialog_gone"] and r["ended"]
    assert r["delete_keys"] == [], "ctrl+alt+delete was sent although the user refused"
    assert (r["status"], r["asked"]) == ("finished", 3)
    assert r["feedback"] == ["The user refused this action because it presses ctrl+alt+delete. "
                             "Do something else."]
    assert r["errors"][1] == r["feedback"][0]


@pytest.mark.display
def test_allow_performs_the_action_in_the_program_tars_works_on(desktop):
    r, setting = desktop("allow,setting")
    _asked_visibly(r)
    assert r["dialog_gone"] and r["ended"]
    # the key reached the probe, which kept the focus while the question was up
    assert r["delete_keys"] == [QT_CTRL | QT_ALT], r
    assert (r["status"], r["asked"]) == ("finished", 3)
    assert r["feedback"] == [] and r["errors"][1] is None
    # Settings -> "Allow risky actions without asking": performed, nothing asked
    assert not setting["dialog_shown"] and setting["delete_keys"] == [QT_CTRL | QT_ALT], setting
    assert (setting["status"], setting["feedback"]) == ("finished", [])


@pytest.mark.display
def test_stop_no_answer_and_closing_the_window_refuse_at_once_or_in_time(desktop):
    stop, estop, none, close = desktop("stop,estop,none,close", answer_seconds="3")
    for r in (stop, estop, close):  # the overlay's Stop, the emergency hotkey, the window closing
        assert r["dialog_shown"] and r["dialog_gone"] and r["dialog_gone_s"] < 1.0, r
        assert r["ended"] and r["status"] == "stopped" and r["asked"] == 2, r
        assert r["delete_keys"] == []
    # no answer: refused by itself after answer_seconds, the run goes on
    assert none["dialog_shown"] and none["dialog_gone"] and 2.5 < none["dialog_up_s"] < 5.0, none
    assert none["delete_keys"] == [] and (none["status"], none["asked"]) == ("finished", 3)
    assert "The user refused" in none["feedback"][0]


if __name__ == "__main__":
    print(json.dumps(globals()["scenario_" + sys.argv[1]](*sys.argv[2:])), flush=True)
