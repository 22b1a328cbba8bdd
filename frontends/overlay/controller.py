"""The overlay's controller: lives on the Qt GUI thread; the hook's queued signals land here.

It owns the marker window and the panel, keeps the panel in ONE place for the whole run
(chosen at ``run_start`` off the target window and the app), numbers the trail with the step
each action belonged to, holds the final status on screen after the run, and steps aside
while the app asks its user about a risky action (:meth:`Controller.set_asking`).
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6 import QtCore, QtGui

from tars.actions.coords import ScreenGeometry
from tars.actions.space import Action
from tars.agent.hooks import RunInfo, RunResult
from tars.frontends.layout import Rect, corner_spot
from tars.frontends.markers import STATUS_RGB, describe_action
from tars.frontends.overlay.marker_window import MarkerWindow
from tars.frontends.overlay.panel import PANEL_SIZE, StatusPanel
from tars.frontends.overlay.platform import exclude_from_capture
from tars.frontends.wording import action_in_words, outcome, quoted_label, thought_for_people


class Controller(QtCore.QObject):
    """See module docstring. Built by :class:`~tars.frontends.overlay.hook.OverlayHook`."""

    sig_run_start = QtCore.Signal(object, object)
    sig_hide = QtCore.Signal(object)
    sig_show = QtCore.Signal(object)
    sig_observed = QtCore.Signal(object)
    sig_output = QtCore.Signal(int, str)
    sig_action = QtCore.Signal(int, object, object, object, object)
    sig_step_end = QtCore.Signal(int, str)
    sig_run_end = QtCore.Signal(object)
    sig_paused = QtCore.Signal(bool)
    #: the final status was dismissed (Close or the hold time ran out)
    held_done = QtCore.Signal()

    def __init__(self, hook: Any) -> None:
        """``hook``: the :class:`~tars.frontends.overlay.hook.OverlayHook` (its settings and
        its ``_pause``/``_resume``/``_stop``)."""
        super().__init__()
        self.hook = hook
        self.settings = hook.settings
        self.window = MarkerWindow(self.settings.trail)
        self.panel = StatusPanel(hook._pause, hook._resume, hook._stop, self.finish,
                                 controls=self.settings.controls)
        self.native_excluded = False
        self.active = False
        self.holding = False
        self.panel_blocked = False  # hidden for an action whose point is under the panel
        self.asking = False  # the app's risky-action question is on screen
        self._texts_before_asking: tuple[str, str, str] = ("", "", "")
        self.step_num = 0
        self.last_thought = ""
        self.current_key: tuple[int, Action] | None = None
        self.current_step = 0
        self.hold_timer = QtCore.QTimer(self)
        self.hold_timer.setSingleShot(True)
        self.hold_timer.timeout.connect(self.finish)
        q = QtCore.Qt.ConnectionType.QueuedConnection
        self.sig_run_start.connect(self.on_run_start, q)
        self.sig_hide.connect(self.on_hide, q)
        self.sig_show.connect(self.on_show, q)
        self.sig_observed.connect(self.on_observed, q)
        self.sig_output.connect(self.on_output, q)
        self.sig_action.connect(self.on_action, q)
        self.sig_step_end.connect(self.on_step_end, q)
        self.sig_run_end.connect(self.on_run_end, q)
        self.sig_paused.connect(self.panel.set_paused, q)

    # -- helpers -------------------------------------------------------------------------
    def _exclude(self) -> None:
        if self.settings.keep_in_captures or self.native_excluded:
            return
        # winId() creates the native windows; both must be excluded for the flag to hold
        self.native_excluded = exclude_from_capture(self.window) and exclude_from_capture(self.panel)

    def _show(self) -> None:
        if not (self.active or self.holding):
            return
        if self.active and self.window.drawn and not self.asking:
            self.window.show()
            self.window.raise_()
            self.window.repaint()
        if not self.panel_blocked:
            self.panel.show()
            self.panel.raise_()
            self.panel.repaint()
        self._exclude()

    def set_asking(self, asking: bool, reason: str = "") -> None:
        """While ``asking`` (GUI thread): the marker window is off the screen, so no ring or
        trail covers the question, and the panel (its Stop still works) says tars waits for
        an answer about ``reason``; afterwards the panel's texts and the markers come back."""
        if asking == self.asking:
            return
        self.asking = asking
        if asking:
            self._texts_before_asking = self.panel.texts
            self.window.hide()
            if self.active:
                self.panel.set_texts("Waiting for your answer", f"tars asks before it {reason}.", "")
        else:
            if self.active:
                self.panel.set_texts(*self._texts_before_asking)
                self._show()
        QtGui.QGuiApplication.sync()

    def panel_rect(self) -> Rect:
        """The panel's place (Qt global logical pixels)."""
        g = self.panel.geometry()
        return (g.x(), g.y(), g.width(), g.height())

    # -- slots ---------------------------------------------------------------------------
    @QtCore.Slot(object, object)
    def on_run_start(self, info: RunInfo, avoid: list[Rect]) -> None:
        self.hold_timer.stop()
        self.active, self.holding, self.panel_blocked, self.asking = True, False, False, False
        if info.geometry is not None:
            self.window.place(info.geometry)
        elif self.window.geometry_ is None:
            screen = QtGui.QGuiApplication.primaryScreen()
            self.window.dpr = screen.devicePixelRatio()
            self.window.setGeometry(screen.geometry())
        self.window.current = []
        self.window.trail.clear()
        self.window.redraw()
        self.step_num, self.last_thought, self.current_key = 0, "", None
        g = self.window.geometry()
        x, y, _, _ = corner_spot((g.x(), g.y(), g.width(), g.height()), PANEL_SIZE, list(avoid))
        self.panel.move(x, y)  # one place for the whole run
        self.panel.set_final(False)
        self.panel.set_paused(False)
        self.panel.set_accent(STATUS_RGB["running"])
        self.panel.set_texts("tars is starting", info.instruction,
                             "Pause or Stop the run here" if self.settings.controls else "")
        self._show()
        QtGui.QGuiApplication.sync()

    @QtCore.Slot(object)
    def on_hide(self, done: threading.Event) -> None:
        try:
            self.window.hide()
            self.panel.hide()
            # a round trip on the X connection: the unmap requests have reached the server
            QtGui.QGuiApplication.sync()
        finally:
            done.set()

    @QtCore.Slot(object)
    def on_show(self, done: threading.Event | None) -> None:
        try:
            self._show()
            QtGui.QGuiApplication.sync()
        finally:
            if done is not None:
                done.set()

    @QtCore.Slot(object)
    def on_observed(self, geometry: ScreenGeometry | None) -> None:
        if geometry is not None and self.window.place(geometry):
            self.window.redraw()

    @QtCore.Slot(int, str)
    def on_output(self, step_num: int, thought: str) -> None:
        self.step_num = step_num
        self.last_thought = thought_for_people(thought)
        self.panel.set_texts(f"Step {step_num}", self.last_thought, "")

    @QtCore.Slot(int, object, object, object, object)
    def on_action(self, step_num: int, action: Action, geometry: ScreenGeometry,
                  window_title: str | None, done: threading.Event) -> None:
        try:
            w = self.window
            w.place(geometry)
            if w.current and self.current_key != (step_num, action):
                # the previous action joins the trail, numbered by ITS step
                for a in w.current:
                    if any(True for _ in a.points()):
                        w.trail.append((self.current_step, a))
            self.current_key = (step_num, action)
            self.current_step = step_num
            w.current = [w.to_local(action)]
            w.redraw()
            label = quoted_label(self.last_thought) if step_num == self.step_num else None
            words = action_in_words(action, label, window_title)
            plain = describe_action(action)
            self.panel.set_texts(f"Step {step_num} · {words}", self.last_thought,
                                 plain if plain != words else "")
            px, py, pw, ph = self.panel_rect()
            under = any(px - 8 <= x < px + pw + 8 and py - 8 <= y < py + ph + 8
                        for x, y in w.global_points(action))
            # the panel takes clicks: it steps aside for an action aimed beneath it
            self.panel_blocked = under
            if under:
                self.panel.hide()
            if self.active:
                self._show()
                QtGui.QGuiApplication.sync()
        finally:
            done.set()

    @QtCore.Slot(int, str)
    def on_step_end(self, step_num: int, exchange: str) -> None:
        if exchange:  # planner + grounder: both answers on the status line
            head, thought, _ = self.panel.texts
            self.panel.set_texts(head, thought, exchange)
        if self.panel_blocked:
            self.panel_blocked = False
            self._show()

    @QtCore.Slot(object)
    def on_run_end(self, result: RunResult) -> None:
        self.active = False
        self.holding = True
        self.panel_blocked = False
        self.window.current = []
        self.window.trail.clear()
        self.window.redraw()
        self.window.hide()  # no stale rings over what the run left behind
        title, body = outcome(result.status, result.content, result.error, self.last_thought)
        hold = self.settings.hold_s
        self.panel.set_final(True)
        self.panel.set_accent(STATUS_RGB.get(result.status, STATUS_RGB["error"]))
        self.panel.set_texts(title, body, f"{result.steps} steps, {result.seconds:.1f} s")
        self.panel.show()
        self.panel.raise_()
        self.panel.repaint()
        if hold > 0:
            self.hold_timer.start(round(hold * 1000))
        else:
            self.finish()

    @QtCore.Slot()
    def finish(self) -> None:
        """Dismiss the final status (Close button, or the hold time ran out)."""
        self.hold_timer.stop()
        was = self.holding
        self.holding = False
        if not self.active:
            self.window.hide()
            self.panel.hide()
        if was:
            self.held_done.emit()

    def close(self) -> None:
        """Destroy both windows (GUI thread)."""
        self.hold_timer.stop()
        self.active = self.holding = False
        self.window.close()
        self.panel.close()
