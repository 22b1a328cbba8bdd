"""A probe window for the operator tests: logs what input it receives, as JSON lines.

    python tests/probe_window.py --log FILE --rect X,Y,W,H

A frameless PySide6 window covering the rectangle (corners included) with a QPlainTextEdit in
it. Every mouse, wheel and key event reaching the window is appended to FILE with global
coordinates, one JSON object per line, flushed at once:

    {"ev": "ready", "rect": [x, y, w, h], "edit": [x, y, w, h]}        once, when shown
    {"ev": "press"|"release"|"dblclick", "button": 1|2|4, "x": gx, "y": gy, "mods": int}
    {"ev": "move", "x": gx, "y": gy, "buttons": int}
    {"ev": "wheel", "dx": angleDelta.x, "dy": angleDelta.y, "x": gx, "y": gy}
    {"ev": "key"|"keyup", "key": Qt key code, "text": str, "mods": int, "repeat": bool}
    {"ev": "text", "text": the editor's whole content}                on every change

Buttons and modifiers are Qt's values (Qt.LeftButton = 1, Qt.RightButton = 2; Shift
0x02000000, Control 0x04000000, Alt 0x08000000, Meta 0x10000000). The window paints a
coloured square in each corner (red, green, blue, yellow clockwise from top left, 16 px) so
captures can be checked against it.
"""

from __future__ import annotations

import argparse
import json
import sys

from PySide6 import QtCore, QtGui, QtWidgets

CORNER_COLOURS = {"tl": (255, 0, 0), "tr": (0, 255, 0), "br": (255, 255, 0), "bl": (0, 0, 255)}
CORNER = 16
EDIT_RECT = (200, 150, 600, 300)  # x, y, w, h inside the window


class Log:
    def __init__(self, path: str):
        self.f = open(path, "a", encoding="utf-8")

    def write(self, **rec) -> None:
        self.f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self.f.flush()


class Probe(QtWidgets.QWidget):
    def __init__(self, log: Log, rect: tuple[int, int, int, int]):
        super().__init__(None, QtCore.Qt.FramelessWindowHint | QtCore.Qt.WindowStaysOnTopHint)
        self.log = log
        self.setGeometry(*rect)
        self.edit = QtWidgets.QPlainTextEdit(self)
        self.edit.setGeometry(*EDIT_RECT)
        self.edit.textChanged.connect(lambda: log.write(ev="text", text=self.edit.toPlainText()))

    def paintEvent(self, event):
        p = QtGui.QPainter(self)
        grad = QtGui.QLinearGradient(0, 0, self.width(), self.height())
        grad.setColorAt(0, QtGui.QColor(40, 60, 90))
        grad.setColorAt(1, QtGui.QColor(200, 210, 220))
        p.fillRect(self.rect(), grad)
        w, h = self.width(), self.height()
        for name, (x, y) in {"tl": (0, 0), "tr": (w - CORNER, 0), "br": (w - CORNER, h - CORNER),
                             "bl": (0, h - CORNER)}.items():
            p.fillRect(x, y, CORNER, CORNER, QtGui.QColor(*CORNER_COLOURS[name]))
        p.end()


class Recorder(QtCore.QObject):
    """Application-wide filter: logs each input event once, where it reaches a QWindow."""

    MOUSE = {
        QtCore.QEvent.MouseButtonPress: "press",
        QtCore.QEvent.MouseButtonRelease: "release",
        QtCore.QEvent.MouseButtonDblClick: "dblclick",
    }

    def __init__(self, log: Log):
        super().__init__()
        self.log = log

    def eventFilter(self, obj, ev):
        if not isinstance(obj, QtGui.QWindow):
            return False
        t = ev.type()
        if t in self.MOUSE:
            g = ev.globalPosition()
            self.log.write(ev=self.MOUSE[t], button=int(ev.button().value), x=round(g.x()),
                           y=round(g.y()), mods=int(ev.modifiers().value))
        elif t == QtCore.QEvent.MouseMove:
            g = ev.globalPosition()
            self.log.write(ev="move", x=round(g.x()), y=round(g.y()),
                           buttons=int(ev.buttons().value))
        elif t == QtCore.QEvent.Wheel:
            g = ev.globalPosition()
            d = ev.angleDelta()
            self.log.write(ev="wheel", dx=d.x(), dy=d.y(), x=round(g.x()), y=round(g.y()))
        elif t in (QtCore.QEvent.KeyPress, QtCore.QEvent.KeyRelease):
            self.log.write(ev="key" if t == QtCore.QEvent.KeyPress else "keyup", key=ev.key(),
                           text=ev.text(), mods=int(ev.modifiers().value),
                           repeat=ev.isAutoRepeat())
        return False


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--rect", required=True, help="X,Y,W,H in global pixels")
    args = ap.parse_args(argv)
    rect = tuple(int(v) for v in args.rect.split(","))
    app = QtWidgets.QApplication(sys.argv[:1])
    log = Log(args.log)
    recorder = Recorder(log)
    app.installEventFilter(recorder)
    win = Probe(log, rect)
    win.show()

    def ready():
        win.activateWindow()
        win.raise_()
        win.edit.setFocus()
        g = win.frameGeometry()
        e = win.edit.geometry()
        top_left = win.mapToGlobal(QtCore.QPoint(e.x(), e.y()))
        log.write(ev="ready", rect=[g.x(), g.y(), g.width(), g.height()],
                  edit=[top_left.x(), top_left.y(), e.width(), e.height()])

    QtCore.QTimer.singleShot(300, ready)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
