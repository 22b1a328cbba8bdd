"""The app asks its user before a risky action (issue 16: asked when a person is at the controls).

The agent runs on the worker's thread and the question is shown on the GUI thread, so the two
meet in a :class:`RiskyQuestion`: the worker creates it, sends it to the window in a Qt signal
and blocks in :meth:`RiskyQuestion.wait`; the window shows a :class:`RiskyDialog` whose buttons
call :meth:`RiskyQuestion.answer`. The wait is bounded on the worker's side, so a stuck or
closed GUI cannot hold a run: no answer within :data:`ANSWER_SECONDS` is a refusal, and a stop
(the Stop buttons, the emergency hotkey, the window closing, the run's time limit) refuses at
once. Which risky actions are asked about: :func:`tars.agent.guard.is_risky`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt

#: Seconds the app waits for an answer before it refuses the risky action by itself (the
#: run goes on, the model is told the user refused). Long enough to read the question and
#: look at the screen; short enough that an unattended run does not stall for long.
ANSWER_SECONDS = 120.0

#: the question's heading (and window title)
TITLE = "tars asks before a risky action"

#: Seconds between two looks at the stop switch while waiting (how promptly a stop that did
#: not come through :meth:`RiskyQuestion.answer`, such as the emergency hotkey, ends the wait).
POLL_SECONDS = 0.05


class RiskyQuestion:
    """One question, answered at most once, from any thread.

    ``action_text``: the action in the action language (``hotkey(key='ctrl alt delete')``);
    ``reason``: why it is risky (:func:`tars.agent.guard.is_risky`, e.g. "presses
    ctrl+alt+delete"); ``seconds``: how long :meth:`wait` waits for an answer.
    :attr:`outcome` after the wait: ``allowed``, ``refused``, ``no answer`` or ``stopped``.
    """

    def __init__(self, action_text: str, reason: str, seconds: float = ANSWER_SECONDS) -> None:
        self.action_text = action_text
        self.reason = reason
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.outcome: str | None = None
        self._lock = threading.Lock()
        self._answered = threading.Event()
        self._allowed = False

    def answer(self, allowed: bool) -> bool:
        """Record the person's answer; True when it was the first (later answers, and answers
        after the wait ended, change nothing)."""
        with self._lock:
            if self._answered.is_set():
                return False
            self._allowed = allowed
            self._answered.set()
            return True

    def wait(self, stopped: Callable[[], bool]) -> bool:
        """Block until answered, ``stopped()`` turns true, or :attr:`seconds` pass; True only
        for an Allow. ``stopped`` is polled every :data:`POLL_SECONDS`."""
        while not self._answered.wait(min(POLL_SECONDS, max(0.0, self.deadline - time.monotonic()))):
            if stopped():
                self._close("stopped")
                break
            if time.monotonic() >= self.deadline:
                self._close("no answer")
                break
        with self._lock:
            if self.outcome is None:
                self.outcome = "allowed" if self._allowed else "refused"
            return self.outcome == "allowed"

    def _close(self, outcome: str) -> None:
        with self._lock:
            if not self._answered.is_set():  # an answer that came first wins
                self.outcome = outcome
                self._answered.set()

    @property
    def seconds_left(self) -> float:
        """Seconds until the question refuses by itself (0 when past)."""
        return max(0.0, self.deadline - time.monotonic())


class RiskyDialog(QtWidgets.QMessageBox):
    """The question on screen: what tars wants to do, why it asks, Allow and Refuse (the
    default), and how many seconds are left before it refuses by itself.

    A top-level window of its own, so it shows while the app's window is minimised for the
    run, and above every other window: on X11 it bypasses the window manager (as the
    overlay's panel does), because a window manager may stack a window that does not take
    the focus below the focused one (openbox does) and the program tars works on may stay on
    top itself. It never takes the keyboard focus: that program keeps it, so an allowed key
    press or text lands where the model aimed it, and a key the user happens to be typing
    cannot answer the question; it is answered with the mouse. It does not block the app's or
    the overlay's Stop (it is not modal for Qt). Closing it refuses.
    """

    def __init__(self, question: RiskyQuestion) -> None:
        super().__init__()
        self.risky_question = question
        self.setWindowTitle(TITLE)
        self.setIcon(QtWidgets.QMessageBox.Icon.Warning)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setText(f"<b>{TITLE}</b><br>tars wants to perform <b>{_escape(question.action_text)}</b>: "
                     f"it {_escape(question.reason)}.")
        self.allow_btn = self.addButton("Allow", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        self.refuse_btn = self.addButton("Refuse", QtWidgets.QMessageBox.ButtonRole.RejectRole)
        self.setDefaultButton(self.refuse_btn)
        self.setEscapeButton(self.refuse_btn)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setWindowFlags(Qt.WindowType.Dialog | Qt.WindowType.FramelessWindowHint
                            | Qt.WindowType.WindowStaysOnTopHint | Qt.WindowType.X11BypassWindowManagerHint
                            | Qt.WindowType.WindowDoesNotAcceptFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, True)
        self.setStyleSheet("QMessageBox{border:2px solid #c0392b;}")
        self.buttonClicked.connect(self._clicked)
        self._timer = QtCore.QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._tick()

    def _tick(self) -> None:
        left = self.risky_question.seconds_left
        self.setInformativeText(f"Allow it? Without an answer tars refuses it in {left:.0f} s.")

    def _clicked(self, button: QtWidgets.QAbstractButton) -> None:
        self.risky_question.answer(button is self.allow_btn)

    def show_centred(self, screen: QtGui.QScreen | None = None) -> None:
        """Show the question in the middle of ``screen`` (default: the primary screen), above
        every other window, and start its countdown."""
        screen = screen or QtGui.QGuiApplication.primaryScreen()
        self.show()  # a message box sets its size when shown
        area = screen.availableGeometry()
        size = self.frameGeometry().size()
        self.move(area.x() + (area.width() - size.width()) // 2,
                  area.y() + (area.height() - size.height()) // 2)
        self.raise_()
        QtGui.QGuiApplication.sync()
        self._timer.start(1000)

    def done(self, code: int) -> None:
        """Close the question (Qt's; a button, Escape, the close box). Anything but Allow refuses."""
        self._timer.stop()
        self.risky_question.answer(self.clickedButton() is self.allow_btn)
        super().done(code)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 (Qt name)
        self._timer.stop()
        self.risky_question.answer(False)
        super().closeEvent(event)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
