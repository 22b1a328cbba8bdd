"""The overlay as a loop hook, and ``tars run --overlay``'s way of running one.

**Never in the model's screenshot.** Where the OS can exclude a window from captures
(Windows, macOS: :func:`~tars.frontends.overlay.platform.exclude_from_capture`) the overlay
stays up. On X11 it hides around each grab only: ``before_capture`` hides the windows, waits
for the X server to unmap them (a round trip) and gives the windows below ``settle_s`` to
repaint; ``after_capture`` shows them again and returns once they are mapped and painted. So
the overlay is off screen for a grab's milliseconds (each settle frame included), not for a
whole observation. :attr:`OverlaySettings.keep_in_captures` keeps it in captures (recordings).

**Threads.** Hook events come on the loop's thread and are marshalled to the GUI thread by
queued signals; hide, show and draw wait for the GUI thread at most ``wait_s`` seconds, so a
stuck GUI never hangs the agent. Build the hook on the GUI thread, after the QApplication.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication, QThread
from PySide6.QtWidgets import QApplication

from tars.actions.coords import ScreenGeometry
from tars.actions.space import Action
from tars.agent.hooks import Hook, RunInfo, RunResult, StepRecord
from tars.frontends import windows
from tars.frontends.layout import Rect
from tars.frontends.overlay.controller import Controller


@dataclass
class OverlaySettings:
    """How the overlay behaves.

    ``keep_in_captures``: stay visible in screenshots (for recording a run on video; the model
    then sees the overlay too). ``trail``: how many earlier actions stay marked.
    ``controls``: show Pause/Stop on the panel. ``settle_s``: seconds given to the windows
    below to repaint after the overlay hides (X11 without a compositor repaints exposed areas
    through the applications). ``dwell_s``: seconds the marker is shown before the action is
    performed (0: act at once). ``wait_s``: the most a hook call waits for the GUI thread.
    ``hold_s``: seconds the final status stays on screen after the run (Close ends it
    sooner; 0: not held).
    """

    keep_in_captures: bool = False
    trail: int = 5
    controls: bool = True
    settle_s: float = 0.05
    dwell_s: float = 0.0
    wait_s: float = 2.0
    hold_s: float = 6.0


class OverlayHook(Hook):
    """The overlay as a loop hook. Build it on the Qt GUI thread (a QApplication must exist).

    ``settings``: :class:`OverlaySettings`. Call :meth:`attach` with the agent (anything with
    ``pause()``, ``resume()``, ``stop()``) so the panel's buttons can drive it. :attr:`avoid`:
    rectangles (x, y, w, h, Qt global logical pixels) the panel must keep off besides the
    target window (the app puts its own window here). Every hook method may be called from
    any thread; :meth:`close` on the GUI thread.

    Raises:
        RuntimeError: no QApplication exists.
    """

    def __init__(self, settings: OverlaySettings | None = None) -> None:
        if QApplication.instance() is None:
            raise RuntimeError("OverlayHook needs a QApplication (create it first, on this thread)")
        self.settings = settings or OverlaySettings()
        self.agent: Any = None
        self.paused = False
        self.closed = False
        self.avoid: list[Rect] = []
        #: the window the run works on (found at run_start; None off X11 or when none)
        self.target: windows.Window | None = None
        self.controller = Controller(self)

    # -- the agent's controls (GUI thread, from the panel) --------------------------------
    def attach(self, agent: Any) -> None:
        """Let the panel call ``agent.pause()``, ``resume()`` and ``stop()``."""
        self.agent = agent

    def _pause(self) -> None:
        self.paused = True
        if self.agent is not None:
            self.agent.pause()

    def _resume(self) -> None:
        self.paused = False
        if self.agent is not None:
            self.agent.resume()

    def _stop(self) -> None:
        if self.agent is not None:
            self.agent.stop()

    def set_paused(self, paused: bool) -> None:
        """Show the run as paused/running (when pause comes from elsewhere, e.g. the app)."""
        self.paused = paused
        if not self.closed:
            self.controller.sig_paused.emit(paused)

    def set_asking(self, asking: bool, reason: str = "") -> None:
        """Step aside while the app asks its user about a risky action (GUI thread; see
        :meth:`Controller.set_asking`)."""
        if not self.closed:
            self.controller.set_asking(asking, reason)

    # -- helpers -------------------------------------------------------------------------
    @property
    def window(self) -> Any:
        """The marker window (a QWidget), for tests and screenshots."""
        return self.controller.window

    @property
    def panel(self) -> Any:
        """The panel (a QWidget with the texts and the buttons)."""
        return self.controller.panel

    @property
    def holding(self) -> bool:
        """True while the final status is on screen after a run."""
        return self.controller.holding

    def _hidden_for_captures(self) -> bool:
        return not (self.closed or self.settings.keep_in_captures or self.controller.native_excluded)

    def _call_and_wait(self, signal: Any, *args: Any) -> None:
        if self.closed:
            return
        done = threading.Event()
        if QThread.currentThread() == self.controller.thread():
            # queued signals would never run while this thread waits: deliver, then process
            signal.emit(*args, done)
            deadline = time.monotonic() + self.settings.wait_s
            while not done.is_set() and time.monotonic() < deadline:
                QCoreApplication.processEvents()
            return
        signal.emit(*args, done)
        done.wait(self.settings.wait_s)

    # -- Hook events -----------------------------------------------------------------------
    def run_start(self, info: RunInfo) -> None:
        if self.closed:
            return
        self.target = windows.target_window()
        avoid: list[Rect] = []
        if self.target is not None:
            avoid.append(self.target.rect)
        self.controller.sig_run_start.emit(info, avoid + list(self.avoid))

    def before_capture(self, step_num: int) -> None:
        """Hide (unless kept in captures or excluded by the OS); returns once unmapped."""
        if not self._hidden_for_captures():
            return
        self._call_and_wait(self.controller.sig_hide)
        if self.settings.settle_s > 0:
            time.sleep(self.settings.settle_s)

    def after_capture(self, step_num: int) -> None:
        """Show again; returns once mapped (the grab is done)."""
        if self._hidden_for_captures():
            self._call_and_wait(self.controller.sig_show)

    def after_observe(self, step_num: int, observation: Any) -> None:
        if not self.closed and observation is not None:
            self.controller.sig_observed.emit(observation.geometry)

    def model_output(self, step_num: int, text: str, step: Any, error: str | None) -> None:
        if self.closed:
            return
        thought = (step.thought if step is not None else None) or ""
        if error:
            thought = f"(could not read the answer: {error})"
        self.controller.sig_output.emit(step_num, thought)

    def before_action(self, step_num: int, action: Action, geometry: ScreenGeometry) -> None:
        """Draw the marker and return once it is on screen (then dwell ``dwell_s``)."""
        if self.closed:
            return
        title = None
        points = list(action.points())
        if points:
            under = windows.window_at(*points[0])
            title = under.title if under is not None and under.title else None
        self._call_and_wait(self.controller.sig_action, step_num, action, geometry, title)
        if self.settings.dwell_s > 0:
            time.sleep(self.settings.dwell_s)

    def step_end(self, record: StepRecord) -> None:
        if not self.closed:
            from tars.frontends.wording import exchange_in_words

            self.controller.sig_step_end.emit(record.step_num, exchange_in_words(record.exchange))

    def run_end(self, result: RunResult) -> None:
        if not self.closed:
            self.controller.sig_run_end.emit(result)

    def close(self) -> None:
        """Hide and destroy the windows (GUI thread)."""
        self.closed = True
        self.controller.close()


def run_with_overlay(agent: Any, instruction: str, settings: OverlaySettings | None = None,
                     with_signal: bool = False) -> Any:
    """Run ``agent.run(instruction)`` in a worker thread while this thread runs Qt and shows
    the overlay; returns the :class:`RunResult` (or re-raises what the run raised) once the
    final status has been on screen ``settings.hold_s`` seconds or was closed.

    For ``tars run --overlay``. The overlay is added to ``agent.hooks`` and its panel drives
    ``agent.pause()/resume()/stop()``; Ctrl+C (SIGTERM, SIGHUP) stops the agent, and after the
    run ends the hold. Creates the QApplication when none exists. Must be called on the main
    thread. ``with_signal``: return (result, exit status asked for by SIGINT/SIGTERM/SIGHUP or
    None) instead (:mod:`tars.frontends.signals`).
    """
    import sys

    from PySide6.QtCore import QEventLoop, QObject, QSocketNotifier, QTimer, Signal

    from tars.frontends.signals import StopSignals

    app = QApplication.instance() or QApplication(sys.argv[:1])
    hook = OverlayHook(settings)
    hook.attach(agent)
    agent.hooks.add(hook)

    class _Done(QObject):
        done = Signal()

    notifier = _Done()
    loop = QEventLoop()
    notifier.done.connect(loop.quit)
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = agent.run(instruction)
        except BaseException as exc:  # handed back to the caller's thread
            box["error"] = exc
        finally:
            notifier.done.emit()

    stop_signals = StopSignals(agent.stop).__enter__()
    # Python runs signal handlers only between bytecodes, and Qt sleeps in C: the handler's
    # wake-up socket wakes the event loop at once (the handler has run when the slot does)
    woken = None
    if stop_signals.wakeup is not None:
        woken = QSocketNotifier(stop_signals.wakeup.fileno(), QSocketNotifier.Type.Read)
        woken.activated.connect(lambda *_: stop_signals.drain())

    def check_overdue() -> None:
        if stop_signals.received is not None and hook.holding:
            hook.controller.finish()  # a signal after the run: no need to wait for the hold
        if stop_signals.overdue() and "value" not in box and "error" not in box:
            stop_signals.exit_now("the run did not stop after the signal; exiting")

    ticker = QTimer()
    ticker.timeout.connect(check_overdue)
    ticker.start(250)
    thread = threading.Thread(target=work, name="tars-agent", daemon=True)
    thread.start()
    try:
        loop.exec()  # the worker's done signal (queued) quits it, even if already sent
        thread.join()
        app.processEvents()  # run_end's queued slot: the final status goes up
        if hook.holding and stop_signals.received is None:
            hold = QEventLoop()
            hook.controller.held_done.connect(hold.quit)
            QTimer.singleShot(round((hook.settings.hold_s + 2) * 1000), hold.quit)  # bounded
            if hook.holding:
                hold.exec()
    finally:
        ticker.stop()
        if woken is not None:
            woken.setEnabled(False)
        stop_signals.__exit__(None, None, None)
        try:
            agent.hooks.hooks.remove(hook)
        except ValueError:
            pass
        hook.close()
        app.processEvents()
    if "error" in box:
        raise box["error"]
    return (box["value"], stop_signals.exit_code) if with_signal else box["value"]
