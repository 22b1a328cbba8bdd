"""The overlay's panel: step, action in words, thought, and Pause / Stop (Close at the end).

One small opaque window of fixed size, put once per run where it covers neither the target
window nor the app (:func:`tars.frontends.layout.corner_spot`), as UI-TARS-desktop keeps one
run widget in a corner. It takes clicks (its buttons) but never the focus. A 5-pixel bar of
the accent colour on its left edge says the state (running, finished, needs you, error) in
the colours of :data:`tars.frontends.markers.STATUS_RGB`; texts are elided to fit, never
clipped mid-letter.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt

from tars.frontends.markers import PANEL_RGB, STATUS_RGB

#: the panel's size in Qt logical pixels (width, height)
PANEL_SIZE = (440, 138)
#: width of the accent bar on the panel's left edge, pixels
ACCENT_W = 5
_PAD = 12
_THOUGHT_LINES = 3


def fit_lines(text: str, font: QtGui.QFont, width: int, lines: int) -> str:
    """``text`` shortened (with "…") so that, word-wrapped at ``width`` pixels, it takes at
    most ``lines`` lines of ``font``."""
    fm = QtGui.QFontMetrics(font)
    limit = lines * fm.lineSpacing()
    flags = int(Qt.TextFlag.TextWordWrap)

    def height(t: str) -> int:
        return fm.boundingRect(QtCore.QRect(0, 0, width, 10_000), flags, t).height()

    text = " ".join(text.split())
    if height(text) <= limit:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits with its ellipsis
        mid = (lo + hi + 1) // 2
        if height(text[:mid].rstrip() + "…") <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


class StatusPanel(QtWidgets.QWidget):
    """The panel (see module docstring). ``on_pause``/``on_resume``/``on_stop`` drive the
    agent; ``on_close`` is called when the user dismisses the final status."""

    def __init__(self, on_pause: Callable[[], None], on_resume: Callable[[], None],
                 on_stop: Callable[[], None], on_close: Callable[[], None], controls: bool = True) -> None:
        super().__init__(None, Qt.WindowType.FramelessWindowHint
                         | Qt.WindowType.WindowStaysOnTopHint | Qt.WindowType.Tool
                         | Qt.WindowType.X11BypassWindowManagerHint
                         | Qt.WindowType.WindowDoesNotAcceptFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setWindowTitle("tars panel")
        self.setFixedSize(*PANEL_SIZE)
        self.accent: tuple[int, int, int] = STATUS_RGB["running"]
        self.setStyleSheet(
            "QLabel{color:#ececec;background:transparent}"
            "QPushButton{color:#eee;background:#2c2c33;border:1px solid #555;border-radius:4px;"
            "padding:2px 10px;font-size:12px}QPushButton:hover{background:#3a3a44}")
        head_font = QtGui.QFont(self.font())
        head_font.setPixelSize(15)
        head_font.setBold(True)
        body_font = QtGui.QFont(self.font())
        body_font.setPixelSize(12)
        small_font = QtGui.QFont(self.font())
        small_font.setPixelSize(11)
        self.head = QtWidgets.QLabel()
        self.head.setFont(head_font)
        self.thought = QtWidgets.QLabel()
        self.thought.setFont(body_font)
        self.thought.setWordWrap(True)
        self.thought.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.status = QtWidgets.QLabel()
        self.status.setFont(small_font)
        self.status.setStyleSheet("color:#a9c4ee")
        self.pause_btn = QtWidgets.QPushButton("Pause")
        self.stop_btn = QtWidgets.QPushButton("Stop")
        self.close_btn = QtWidgets.QPushButton("Close")
        for b in (self.pause_btn, self.stop_btn, self.close_btn):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(_PAD + ACCENT_W, 8, _PAD, 8)
        lay.setSpacing(4)
        lay.addWidget(self.head)
        lay.addWidget(self.thought, 1)
        row = QtWidgets.QHBoxLayout()
        row.setSpacing(6)
        row.addWidget(self.status, 1)
        row.addWidget(self.pause_btn)
        row.addWidget(self.stop_btn)
        row.addWidget(self.close_btn)
        lay.addLayout(row)
        self.controls = controls
        self.paused = False
        self._on_pause, self._on_resume = on_pause, on_resume
        self.pause_btn.clicked.connect(self.toggle)
        self.stop_btn.clicked.connect(on_stop)
        self.close_btn.clicked.connect(on_close)
        self.set_final(False)
        self._texts = ("", "", "")

    # -- state ---------------------------------------------------------------------------
    def toggle(self) -> None:
        """The Pause/Resume button."""
        self.set_paused(not self.paused)
        (self._on_pause if self.paused else self._on_resume)()

    def set_paused(self, paused: bool) -> None:
        """Show the run as paused (button says Resume) or running."""
        self.paused = paused
        self.pause_btn.setText("Resume" if paused else "Pause")

    def set_final(self, final: bool) -> None:
        """Final status shown: Close instead of Pause/Stop."""
        self.pause_btn.setVisible(self.controls and not final)
        self.stop_btn.setVisible(self.controls and not final)
        self.close_btn.setVisible(final)

    def set_accent(self, rgb: tuple[int, int, int]) -> None:
        """Colour of the state bar on the left edge."""
        self.accent = rgb
        self.update()

    def set_texts(self, headline: str, thought: str, status: str) -> None:
        """Show the three texts, each elided to the room it has."""
        self._texts = (headline, thought, status)
        inner = PANEL_SIZE[0] - 2 * _PAD - ACCENT_W
        self.head.setText(QtGui.QFontMetrics(self.head.font()).elidedText(
            headline, Qt.TextElideMode.ElideRight, inner))
        self.thought.setText(fit_lines(thought, self.thought.font(), inner, _THOUGHT_LINES))
        room = inner - sum(b.sizeHint().width() + 6 for b in (self.pause_btn, self.stop_btn, self.close_btn)
                           if not b.isHidden())
        self.status.setText(QtGui.QFontMetrics(self.status.font()).elidedText(
            status, Qt.TextElideMode.ElideRight, max(40, room)))
        self.head.setToolTip(headline)
        self.thought.setToolTip(thought)

    @property
    def texts(self) -> tuple[str, str, str]:
        """(headline, thought, status) as given to :meth:`set_texts` (before eliding)."""
        return self._texts

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt name)
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), QtGui.QColor(*PANEL_RGB))
        p.fillRect(QtCore.QRect(0, 0, ACCENT_W, self.height()), QtGui.QColor(*self.accent))
        p.end()
