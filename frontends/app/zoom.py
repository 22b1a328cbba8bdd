"""The app's step screenshot view: fitted to the room it has, or zoomed, and scrollable.

A 1280x800 screenshot fitted into a part of the window is too small to read, so the view
zooms: the buttons (Fit, 100 %, -, +), Ctrl + mouse wheel, or a double click (fit <-> 100 %).
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt

#: zoom steps offered by - and + (1.0 = one screenshot pixel per screen pixel)
ZOOMS = (0.25, 0.33, 0.5, 0.67, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)


class ZoomView(QtWidgets.QWidget):
    """Shows :attr:`full` (a QPixmap at the screenshot's own size) fitted or at :attr:`zoom`.

    :attr:`zoom` is None while fitting. :meth:`set_full` replaces the picture (None shows
    ``text`` instead); :meth:`set_zoom` takes a factor or None (fit).
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self.full: QtGui.QPixmap | None = None
        self.zoom: float | None = None
        self.area = QtWidgets.QScrollArea()
        self.area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.area.setWidgetResizable(False)
        self.label = QtWidgets.QLabel(text)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        self.area.setWidget(self.label)
        self.area.viewport().installEventFilter(self)
        self.label.installEventFilter(self)
        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        self.info = QtWidgets.QLabel("")
        self.fit_btn = QtWidgets.QToolButton()
        self.fit_btn.setText("Fit")
        self.one_btn = QtWidgets.QToolButton()
        self.one_btn.setText("100 %")
        self.out_btn = QtWidgets.QToolButton()
        self.out_btn.setText("−")
        self.in_btn = QtWidgets.QToolButton()
        self.in_btn.setText("+")
        for b, tip in ((self.fit_btn, "Fit the screenshot into the view"),
                       (self.one_btn, "One screenshot pixel per screen pixel"),
                       (self.out_btn, "Zoom out (Ctrl + wheel)"), (self.in_btn, "Zoom in (Ctrl + wheel)")):
            b.setToolTip(tip)
        self.fit_btn.clicked.connect(lambda: self.set_zoom(None))
        self.one_btn.clicked.connect(lambda: self.set_zoom(1.0))
        self.out_btn.clicked.connect(lambda: self.step(-1))
        self.in_btn.clicked.connect(lambda: self.step(1))
        bar.addWidget(self.info, 1)
        for b in (self.fit_btn, self.one_btn, self.out_btn, self.in_btn):
            bar.addWidget(b)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.area, 1)
        lay.addLayout(bar)
        self._text = text
        self._show()

    def set_full(self, pixmap: QtGui.QPixmap | None, text: str = "") -> None:
        """Show ``pixmap`` (kept zoom), or ``text`` when None."""
        self.full = pixmap
        if text:
            self._text = text
        self._show()

    def set_zoom(self, zoom: float | None) -> None:
        """Zoom factor (1.0 = 100 %), or None to fit the view."""
        self.zoom = zoom
        self._show()

    def current_scale(self) -> float:
        """The scale the picture is shown at now (fitted or zoomed)."""
        if self.full is None or self.full.isNull():
            return 1.0
        if self.zoom is not None:
            return self.zoom
        vp = self.area.viewport().size()
        return max(0.05, min(vp.width() / self.full.width(), vp.height() / self.full.height()))

    def step(self, direction: int) -> None:
        """One zoom step in (+1) or out (-1) from the current scale."""
        now = self.current_scale()
        if direction > 0:
            self.set_zoom(next((z for z in ZOOMS if z > now + 1e-3), ZOOMS[-1]))
        else:
            self.set_zoom(next((z for z in reversed(ZOOMS) if z < now - 1e-3), ZOOMS[0]))

    def _show(self) -> None:
        has = self.full is not None and not self.full.isNull()
        for b in (self.fit_btn, self.one_btn, self.out_btn, self.in_btn):
            b.setEnabled(has)
        if not has:
            self.label.setPixmap(QtGui.QPixmap())
            self.label.setText(self._text)
            self.label.resize(self.area.viewport().size())
            self.info.setText("")
            return
        assert self.full is not None
        scale = self.current_scale()
        size = QtCore.QSize(max(1, round(self.full.width() * scale)), max(1, round(self.full.height() * scale)))
        shown = self.full if scale == 1.0 else self.full.scaled(
            size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        self.label.setPixmap(shown)
        self.label.resize(shown.size())
        self.info.setText(f"{self.full.width()}×{self.full.height()} px at {round(scale * 100)} %"
                          + (" (fitted)" if self.zoom is None else ""))

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QtCore.QEvent.Type.Wheel and isinstance(event, QtGui.QWheelEvent):
            if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self.step(1 if event.angleDelta().y() > 0 else -1)
                return True
        if event.type() == QtCore.QEvent.Type.MouseButtonDblClick:
            self.set_zoom(None if self.zoom is not None else 1.0)
            return True
        return super().eventFilter(obj, event)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        if self.zoom is None:
            self._show()
