"""The on-screen overlay: what the agent thinks and where it is about to act (DESIGN.md: overlay.py).

A hook on the loop (:class:`OverlayHook`), never a second loop. It shows, on the monitor the
operator captures:

* a text panel with the step number, the action in words and the model's thought;
* a marker (ring + a centre dot of :data:`tars.frontends.markers.MARKER_RGB`) on the exact point the
  operator is about to act on, the drag path or scroll direction, and a short trail of the
  last actions;
* a small control strip with Pause / Resume / Stop that calls the agent's ``pause()``,
  ``resume()``, ``stop()`` (the only part that takes clicks).

The marker window is frameless, always on top, bypasses the window manager, never takes focus
and is transparent for input (on X11 Qt gives it an empty input shape), so every click lands on
the application below.

**No compositor.** Where nothing composites (many X11 sessions, Xvfb) a translucent window is
painted opaque black. The overlay therefore renders into an ARGB image and shapes its window to
the pixels it drew (``setMask`` from the image's alpha): outside the marker, the path, the trail
and the panel there is no window at all, and the desktop shows through unchanged.

**Never in the model's screenshot.** On Windows the window is excluded from capture with
``SetWindowDisplayAffinity(WDA_EXCLUDEFROMCAPTURE)`` (Windows 10 2004+), on macOS with
``NSWindow.sharingType = NSWindowSharingNone``; elsewhere (X11) ``before_observe`` hides the
windows, waits for the X server to unmap them (a round trip with ``QGuiApplication.sync``) and
gives the windows below ``settle_s`` to repaint; ``after_observe`` shows them again.
:attr:`OverlaySettings.keep_in_captures` keeps the overlay visible in captures (for screen
recordings of a run).

**Coordinates.** Actions arrive in screen points with the :class:`ScreenGeometry` of the
captured monitor. The overlay covers the QScreen of that monitor; a point goes to the window's
Qt logical coordinates as ``((x - left) * scale / dpr, (y - top) * scale / dpr)``: screen
points -> physical pixels of the monitor (``scale``, measured by the operator) -> Qt logical
pixels (``dpr``, Qt's devicePixelRatio of that screen). On X11 without Qt scaling both are 1 and
a point is a pixel; on macOS scale == dpr (points everywhere); on Windows (DPI-aware process)
scale is 1 and dpr is the monitor's scaling.

**Threads.** Hooks are called on the loop's thread; every call is marshalled to the Qt GUI
thread through queued signals. ``before_observe`` (hide) and ``before_action`` (draw) block
until the GUI thread has done it, at most ``wait_s`` seconds, so a stuck GUI never hangs the
agent. The hook must be built on the GUI thread, after the QApplication exists.
"""

from __future__ import annotations

import collections
import importlib.util
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from tars.actions.coords import ScreenGeometry
from tars.actions.space import Action, DoubleClick, Drag, Scroll
from tars.agent.hooks import Hook, RunInfo, RunResult, StepRecord
from tars.frontends.markers import MARKER_RGB, OUTLINE_RGB, RING_RGB, TRAIL_RGB, describe_action

# `tars run` falls back to no overlay on ImportError at import time; say so without importing Qt
if importlib.util.find_spec("PySide6") is None:
    raise ImportError('the overlay needs PySide6 (pip install "tars[gui]")')

@dataclass
class OverlaySettings:
    """How the overlay behaves.

    ``keep_in_captures``: stay visible in screenshots (for recording a run on video; the model
    then sees the overlay too). ``trail``: how many earlier actions stay marked.
    ``controls``: show the Pause/Resume/Stop strip. ``settle_s``: seconds given to the windows
    below to repaint after the overlay hides (X11 without a compositor repaints exposed areas
    through the applications). ``dwell_s``: seconds the marker is shown before the action is
    performed (0: act at once). ``wait_s``: the most a hook call waits for the GUI thread.
    """

    keep_in_captures: bool = False
    trail: int = 5
    controls: bool = True
    settle_s: float = 0.05
    dwell_s: float = 0.0
    wait_s: float = 2.0


def screen_to_local(x: float, y: float, geometry: ScreenGeometry, dpr: float = 1.0) -> tuple[float, float]:
    """Screen point (x, y) -> Qt logical coordinates inside the overlay covering ``geometry``'s
    monitor (origin at the monitor's top-left). ``dpr``: Qt's devicePixelRatio of the screen.
    """
    px, py = geometry.to_pixels(x, y)  # the operator's own conversion, then Qt's ratio
    return px / dpr, py / dpr


def exclude_from_capture(widget: Any) -> bool:
    """Ask the OS to leave ``widget``'s window out of screen captures; True when it did.

    Windows: ``SetWindowDisplayAffinity(hwnd, WDA_EXCLUDEFROMCAPTURE)`` (0x11, Windows 10 2004
    and later). macOS: ``[[view window] setSharingType:NSWindowSharingNone]`` through the
    Objective-C runtime. X11 has no such thing: returns False and the overlay hides itself
    around each capture instead. Never raises.
    """
    try:
        wid = int(widget.winId())
        if sys.platform == "win32":
            import ctypes
            from ctypes import wintypes

            user32 = ctypes.windll.user32  # type: ignore[attr-defined]
            user32.SetWindowDisplayAffinity.argtypes = [wintypes.HWND, wintypes.DWORD]
            user32.SetWindowDisplayAffinity.restype = wintypes.BOOL
            return bool(user32.SetWindowDisplayAffinity(wid, 0x11))
        if sys.platform == "darwin":
            import ctypes
            import ctypes.util

            objc = ctypes.cdll.LoadLibrary(ctypes.util.find_library("objc"))
            objc.sel_registerName.restype = ctypes.c_void_p
            objc.sel_registerName.argtypes = [ctypes.c_char_p]
            msg = objc.objc_msgSend
            get = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(
                ctypes.cast(msg, ctypes.c_void_p).value)
            put = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ulong)(
                ctypes.cast(msg, ctypes.c_void_p).value)
            window = get(wid, objc.sel_registerName(b"window"))  # winId() is the NSView
            if not window:
                return False
            put(window, objc.sel_registerName(b"setSharingType:"), 0)  # NSWindowSharingNone
            return True
    except Exception:  # any failure: fall back to hiding around captures
        return False
    return False


def _qt():
    from PySide6 import QtCore, QtGui, QtWidgets

    return QtCore, QtGui, QtWidgets


def _color(rgb: tuple[int, int, int], alpha: int = 255):
    from PySide6.QtGui import QColor

    return QColor(rgb[0], rgb[1], rgb[2], alpha)


def _make_classes():
    """Build the Qt classes on first use (PySide6 is imported only when an overlay is made)."""
    QtCore, QtGui, QtWidgets = _qt()
    Qt = QtCore.Qt

    class MarkerWindow(QtWidgets.QWidget):
        """Full-monitor, click-through, masked window that draws the marker, path, trail, panel."""

        def __init__(self) -> None:
            super().__init__(None, Qt.WindowType.FramelessWindowHint
                             | Qt.WindowType.WindowStaysOnTopHint | Qt.WindowType.Tool
                             | Qt.WindowType.X11BypassWindowManagerHint
                             | Qt.WindowType.WindowTransparentForInput
                             | Qt.WindowType.WindowDoesNotAcceptFocus)
            self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
            self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
            self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.setWindowTitle("tars overlay")
            self.geometry_: ScreenGeometry | None = None
            self.dpr = 1.0
            self.step_num = 0
            self.headline = ""
            self.thought = ""
            self.status = ""
            self.current: list[Action] = []  # local logical coordinates
            self.trail: collections.deque = collections.deque(maxlen=5)
            self.image = QtGui.QImage()
            self.drawn = False
            self.current_key: tuple | None = None  # (step_num, action) now marked
            self.origin = (0.0, 0.0)  # the monitor's top-left inside this window (logical)

        # -- placement -------------------------------------------------------------------
        def place(self, geometry: ScreenGeometry) -> None:
            """Cover the QScreen of ``geometry``'s monitor (see module docstring).

            When that QScreen is larger than the monitor (X11 without per-monitor screens:
            one QScreen spans the whole desktop), :attr:`origin` holds the monitor's top-left
            inside the window, in Qt logical pixels; otherwise it is (0, 0).
            """
            if geometry == self.geometry_:
                return
            self.geometry_ = geometry
            screen = _screen_for(geometry)
            self.dpr = screen.devicePixelRatio() if screen is not None else 1.0
            self.origin = (0.0, 0.0)
            if screen is not None:
                rect = screen.geometry()
                same = (abs(rect.width() * self.dpr - geometry.width) <= 1
                        and abs(rect.height() * self.dpr - geometry.height) <= 1)
                if not same:
                    f = geometry.scale / self.dpr
                    self.origin = ((geometry.left - rect.x()) * f, (geometry.top - rect.y()) * f)
            else:
                rect = QtCore.QRect(geometry.left, geometry.top, round(geometry.point_width),
                                    round(geometry.point_height))
            self.setGeometry(rect)
            self.trail.clear()

        def to_local(self, action: Action) -> Action:
            """``action`` (screen points) in this window's Qt logical coordinates."""
            g = self.geometry_
            if g is None:
                return action
            ox, oy = self.origin

            def conv(x: float, y: float) -> tuple[float, float]:
                lx, ly = screen_to_local(x, y, g, self.dpr)
                return lx + ox, ly + oy

            return action.map_points(conv)

        # -- rendering -------------------------------------------------------------------
        def render(self) -> None:
            """Draw everything into an ARGB image and shape the window to its opaque pixels.

            The image has the screen's physical resolution (logical size x dpr), so the
            marker's centre dot can sit on any physical pixel, not only on whole logical ones.
            """
            size = self.size()
            dpr = self.dpr or 1.0
            img = QtGui.QImage(round(size.width() * dpr), round(size.height() * dpr),
                               QtGui.QImage.Format.Format_ARGB32_Premultiplied)
            img.setDevicePixelRatio(dpr)
            img.fill(Qt.GlobalColor.transparent)
            p = QtGui.QPainter(img)
            p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
            for num, a in self.trail:
                self._draw_trail(p, num, a)
            for a in self.current:
                self._draw_action(p, a)
            self._draw_panel(p, size)
            p.end()
            self.image = img
            mask = img.createAlphaMask(Qt.ImageConversionFlag.ThresholdAlphaDither)
            region = QtGui.QRegion(QtGui.QBitmap.fromImage(mask))  # physical pixels
            if dpr != 1.0:  # setMask takes logical coordinates
                region = QtGui.QTransform.fromScale(1 / dpr, 1 / dpr).map(region)
            self.drawn = not region.isEmpty()
            if self.drawn:
                self.setMask(region)
            self.update()

        def _pen(self, rgb, width):
            pen = QtGui.QPen(_color(rgb), width)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            return pen

        def _ring(self, p, x, y, r):
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(self._pen(OUTLINE_RGB, 7))
            p.drawEllipse(QtCore.QPointF(x, y), r, r)
            p.setPen(self._pen(RING_RGB, 4))
            p.drawEllipse(QtCore.QPointF(x, y), r, r)

        def _dot(self, p, x, y):
            # exact colour on whole physical pixels: the centre pixel is the target
            d = self.dpr or 1.0
            xi, yi = round(x * d), round(y * d)
            p.fillRect(QtCore.QRectF((xi - 3) / d, (yi - 3) / d, 7 / d, 7 / d), _color(OUTLINE_RGB))
            p.fillRect(QtCore.QRectF((xi - 2) / d, (yi - 2) / d, 5 / d, 5 / d), _color(MARKER_RGB))

        def _arrow(self, p, x1, y1, x2, y2):
            import math

            line = QtCore.QLineF(x1, y1, x2, y2)
            p.setPen(self._pen(OUTLINE_RGB, 8))
            p.drawLine(line)
            p.setPen(self._pen(RING_RGB, 4))
            p.drawLine(line)
            ang = math.atan2(y2 - y1, x2 - x1)
            head = QtGui.QPolygonF([
                QtCore.QPointF(x2, y2),
                QtCore.QPointF(x2 - 18 * math.cos(ang - 0.45), y2 - 18 * math.sin(ang - 0.45)),
                QtCore.QPointF(x2 - 18 * math.cos(ang + 0.45), y2 - 18 * math.sin(ang + 0.45)),
            ])
            p.setPen(self._pen(OUTLINE_RGB, 2))
            p.setBrush(_color(RING_RGB))
            p.drawPolygon(head)
            p.setBrush(Qt.BrushStyle.NoBrush)

        def _draw_action(self, p, a: Action) -> None:
            r = 18.0
            if isinstance(a, Drag):
                self._ring(p, a.x1, a.y1, r * 0.7)
                self._arrow(p, a.x1, a.y1, a.x2, a.y2)
                self._dot(p, a.x1, a.y1)
                self._dot(p, a.x2, a.y2)
                return
            if isinstance(a, Scroll):
                if a.x is None or a.y is None:
                    return
                dx, dy = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}.get(
                    a.direction, (0, 0))
                self._ring(p, a.x, a.y, r)
                self._arrow(p, a.x + dx * r, a.y + dy * r, a.x + dx * 4 * r, a.y + dy * 4 * r)
                self._dot(p, a.x, a.y)
                return
            for x, y in a.points():
                self._ring(p, x, y, r)
                if isinstance(a, DoubleClick):
                    self._ring(p, x, y, r * 0.55)
                self._dot(p, x, y)

        def _draw_trail(self, p, num: int, a: Action) -> None:
            font = p.font()
            font.setPixelSize(11)
            font.setBold(True)
            p.setFont(font)
            for x, y in a.points():
                p.setPen(self._pen(OUTLINE_RGB, 5))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawEllipse(QtCore.QPointF(x, y), 10, 10)
                p.setPen(self._pen(TRAIL_RGB, 3))
                p.drawEllipse(QtCore.QPointF(x, y), 10, 10)
                p.setPen(_color((0, 0, 0)))
                p.fillRect(QtCore.QRectF(x + 10, y - 20, 22, 14), _color(TRAIL_RGB))
                p.setPen(_color((255, 255, 255)))
                p.drawText(QtCore.QRectF(x + 10, y - 20, 22, 14), Qt.AlignmentFlag.AlignCenter,
                           str(num))

        def _draw_panel(self, p, size) -> None:
            if not (self.headline or self.thought or self.status):
                return
            width = min(760, int(size.width() * 0.6))
            x = (size.width() - width) // 2
            font = p.font()
            font.setPixelSize(15)
            font.setBold(True)
            bold = QtGui.QFont(font)
            font.setBold(False)
            font.setPixelSize(13)
            body = QtGui.QFont(font)
            inner = QtCore.QRect(0, 0, width - 24, 10_000)
            head = self.headline or ""
            thought = self.thought if len(self.thought) <= 400 else self.thought[:399] + "…"
            status = self.status or ""
            flags = Qt.TextFlag.TextWordWrap
            h_head = QtGui.QFontMetrics(bold).boundingRect(inner, flags, head).height() if head else 0
            h_th = min(QtGui.QFontMetrics(body).boundingRect(inner, flags, thought).height(),
                       5 * QtGui.QFontMetrics(body).lineSpacing()) if thought else 0
            h_st = QtGui.QFontMetrics(body).lineSpacing() if status else 0
            height = 20 + h_head + h_th + h_st + 6 * (bool(head) + bool(thought) + bool(status) - 1)
            # keep the panel away from the marker: top of the screen unless the marker is there
            ys = [y for a in self.current for _, y in a.points()]
            y = 16 if not ys or min(ys) > size.height() * 0.35 else size.height() - height - 16
            box = QtCore.QRectF(x, y, width, height)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QtGui.QColor(24, 24, 28, 235))
            p.drawRoundedRect(box, 8, 8)
            cy = y + 10
            if head:
                p.setFont(bold)
                p.setPen(_color(RING_RGB))
                p.drawText(QtCore.QRectF(x + 12, cy, width - 24, h_head), flags, head)
                cy += h_head + 6
            if thought:
                p.setFont(body)
                p.setPen(_color((235, 235, 235)))
                p.drawText(QtCore.QRectF(x + 12, cy, width - 24, h_th), flags, thought)
                cy += h_th + 6
            if status:
                p.setFont(body)
                p.setPen(_color((160, 200, 255)))
                p.drawText(QtCore.QRectF(x + 12, cy, width - 24, h_st), Qt.TextFlag.TextSingleLine,
                           status)

        def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
            p = QtGui.QPainter(self)
            p.setCompositionMode(QtGui.QPainter.CompositionMode.CompositionMode_Source)
            p.drawImage(0, 0, self.image)
            p.end()

    class ControlStrip(QtWidgets.QWidget):
        """Pause/Resume and Stop buttons in a corner of the monitor; takes clicks, never focus."""

        def __init__(self, on_pause: Callable[[], None], on_resume: Callable[[], None],
                     on_stop: Callable[[], None]) -> None:
            super().__init__(None, Qt.WindowType.FramelessWindowHint
                             | Qt.WindowType.WindowStaysOnTopHint | Qt.WindowType.Tool
                             | Qt.WindowType.X11BypassWindowManagerHint
                             | Qt.WindowType.WindowDoesNotAcceptFocus)
            self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
            self.setWindowTitle("tars controls")
            self.setStyleSheet(
                "QWidget{background:#18181c;color:#eee;font-size:12px}"
                "QPushButton{border:1px solid #555;border-radius:4px;padding:3px 10px}"
                "QPushButton:hover{background:#333}")
            lay = QtWidgets.QHBoxLayout(self)
            lay.setContentsMargins(6, 4, 6, 4)
            label = QtWidgets.QLabel("tars")
            label.setStyleSheet("color:#ff4000;font-weight:bold")
            self.pause_btn = QtWidgets.QPushButton("Pause")
            self.stop_btn = QtWidgets.QPushButton("Stop")
            for b in (self.pause_btn, self.stop_btn):
                b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            lay.addWidget(label)
            lay.addWidget(self.pause_btn)
            lay.addWidget(self.stop_btn)
            self.paused = False
            self._on_pause, self._on_resume = on_pause, on_resume
            self.pause_btn.clicked.connect(self.toggle)
            self.stop_btn.clicked.connect(on_stop)
            self.adjustSize()

        def toggle(self) -> None:
            self.set_paused(not self.paused)
            (self._on_pause if self.paused else self._on_resume)()

        def set_paused(self, paused: bool) -> None:
            self.paused = paused
            self.pause_btn.setText("Resume" if paused else "Pause")

        def place(self, area, avoid: list[tuple[float, float]]) -> None:
            """Put the strip in a corner of ``area`` (global QRect) not covering ``avoid``."""
            self.adjustSize()
            w, h = self.width(), self.height()
            corners = [
                QtCore.QPoint(area.right() - w - 12, area.top() + 12),
                QtCore.QPoint(area.left() + 12, area.top() + 12),
                QtCore.QPoint(area.right() - w - 12, area.bottom() - h - 12),
                QtCore.QPoint(area.left() + 12, area.bottom() - h - 12),
            ]
            for c in corners:
                rect = QtCore.QRect(c.x() - 24, c.y() - 24, w + 48, h + 48)
                if not any(rect.contains(round(x), round(y)) for x, y in avoid):
                    self.move(c)
                    return
            self.move(corners[0])

    class Controller(QtCore.QObject):
        """Lives on the GUI thread; the hook's signals land on its slots."""

        sig_run_start = QtCore.Signal(object)
        sig_hide = QtCore.Signal(object)
        sig_show = QtCore.Signal(object)
        sig_output = QtCore.Signal(int, str)
        sig_action = QtCore.Signal(int, object, object, object)
        sig_run_end = QtCore.Signal(object)
        sig_paused = QtCore.Signal(bool)

        def __init__(self, hook: "OverlayHook") -> None:
            super().__init__()
            self.hook = hook
            self.settings = hook.settings
            self.window = MarkerWindow()
            self.window.trail = collections.deque(maxlen=max(0, self.settings.trail))
            self.strip = ControlStrip(hook._pause, hook._resume, hook._stop)
            self.native_excluded = False
            self.active = False
            q = Qt.ConnectionType.QueuedConnection
            self.sig_run_start.connect(self.on_run_start, q)
            self.sig_hide.connect(self.on_hide, q)
            self.sig_show.connect(self.on_show, q)
            self.sig_output.connect(self.on_output, q)
            self.sig_action.connect(self.on_action, q)
            self.sig_run_end.connect(self.on_run_end, q)
            self.sig_paused.connect(self.strip.set_paused, q)

        def _exclude(self) -> None:
            if self.settings.keep_in_captures or self.native_excluded:
                return
            # winId() creates the native windows; both must be excluded for the flag to hold
            self.native_excluded = exclude_from_capture(self.window) and (
                not self.settings.controls or exclude_from_capture(self.strip))

        def _show(self) -> None:
            if not self.active:
                return
            if self.window.drawn:
                self.window.show()
                self.window.raise_()
            if self.settings.controls:
                self.strip.show()
                self.strip.raise_()
            self._exclude()

        @QtCore.Slot(object)
        def on_run_start(self, info: RunInfo) -> None:
            self.active = True
            if info.geometry is not None:
                self.window.place(info.geometry)
            elif self.window.geometry_ is None:
                screen = QtGui.QGuiApplication.primaryScreen()
                self.window.dpr = screen.devicePixelRatio()
                self.window.setGeometry(screen.geometry())
            self.window.current = []
            self.window.trail.clear()
            self.window.step_num = 0
            self.window.headline = "tars: starting"
            self.window.thought = info.instruction
            self.window.status = "Pause / Stop: buttons in the corner" if self.settings.controls else ""
            self.window.render()
            self.strip.set_paused(False)
            self.strip.place(self.window.geometry(), [])
            self._show()

        @QtCore.Slot(object)
        def on_hide(self, done: threading.Event) -> None:
            try:
                self.window.hide()
                self.strip.hide()
                # a round trip on the X connection: the unmap requests have reached the server
                QtGui.QGuiApplication.sync()
            finally:
                done.set()

        @QtCore.Slot(object)
        def on_show(self, geometry: ScreenGeometry | None) -> None:
            if geometry is not None and geometry != self.window.geometry_:
                self.window.place(geometry)
                self.window.render()
                self.strip.place(self.window.geometry(), [])
            self._show()

        @QtCore.Slot(int, str)
        def on_output(self, step_num: int, thought: str) -> None:
            w = self.window
            w.step_num = step_num
            w.headline = f"Step {step_num}: thinking done"
            w.thought = thought
            w.render()
            if self.active and w.drawn and not w.isVisible():
                self._show()

        @QtCore.Slot(int, object, object, object)
        def on_action(self, step_num: int, action: Action, geometry: ScreenGeometry,
                      done: threading.Event) -> None:
            try:
                w = self.window
                w.place(geometry)
                if w.current and w.current_key != (step_num, action):
                    # the previous action joins the trail of earlier actions
                    for a in w.current:
                        if any(True for _ in a.points()):
                            w.trail.append((w.step_num, a))
                w.step_num = step_num
                w.current_key = (step_num, action)
                w.current = [w.to_local(action)]
                w.headline = f"Step {step_num}: {describe_action(action)}"
                w.render()
                avoid = [(w.x() + x, w.y() + y) for x, y in w.current[0].points()]
                self.strip.place(w.geometry(), avoid)
                if self.active:
                    self._show()
                    w.repaint()
                    QtGui.QGuiApplication.sync()
            finally:
                done.set()

        @QtCore.Slot(object)
        def on_run_end(self, result: RunResult) -> None:
            w = self.window
            w.current = []
            w.headline = f"tars: {result.status}"
            w.thought = result.content or (result.error or "")
            w.status = f"{result.steps} steps, {result.seconds:.1f} s"
            w.render()
            self.strip.hide()
            self.active = False
            if w.drawn:  # the outcome stays on screen a few seconds
                w.show()
                w.raise_()
            QtCore.QTimer.singleShot(4000, self.finish)

        @QtCore.Slot()
        def finish(self) -> None:
            if not self.active:
                self.window.hide()
                self.strip.hide()

        def close(self) -> None:
            self.active = False
            self.window.close()
            self.strip.close()

    return MarkerWindow, ControlStrip, Controller


_CLASSES = None


def _classes():
    global _CLASSES
    if _CLASSES is None:
        _CLASSES = _make_classes()
    return _CLASSES


def _screen_for(geometry: ScreenGeometry):
    """The QScreen showing ``geometry``'s monitor, or the primary screen.

    Tried in order: the screen whose logical geometry contains the monitor's centre given in
    screen points; the same with the centre in physical pixels divided by the screen's dpr;
    the screen whose physical size equals the screenshot's.
    """
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QGuiApplication

    screens = QGuiApplication.screens()
    cx = geometry.left + geometry.point_width / 2
    cy = geometry.top + geometry.point_height / 2
    for s in screens:
        if s.geometry().contains(QPoint(round(cx), round(cy))):
            return s
    for s in screens:
        d = s.devicePixelRatio() or 1.0
        if s.geometry().contains(QPoint(round(cx * geometry.scale / d), round(cy * geometry.scale / d))):
            return s
    for s in screens:
        d = s.devicePixelRatio() or 1.0
        if (round(s.geometry().width() * d), round(s.geometry().height() * d)) == (geometry.width, geometry.height):
            return s
    return QGuiApplication.primaryScreen()


class OverlayHook(Hook):
    """The overlay as a loop hook. Build it on the Qt GUI thread (a QApplication must exist).

    ``settings``: :class:`OverlaySettings`. Call :meth:`attach` with the agent (anything with
    ``pause()``, ``resume()``, ``stop()``) so the control strip can drive it. Every hook method
    may be called from any thread (see module docstring); :meth:`close` on the GUI thread.
    """

    def __init__(self, settings: OverlaySettings | None = None) -> None:
        from PySide6.QtWidgets import QApplication

        if QApplication.instance() is None:
            raise RuntimeError("OverlayHook needs a QApplication (create it first, on this thread)")
        self.settings = settings or OverlaySettings()
        self.agent: Any = None
        self.paused = False
        self.closed = False
        _, _, Controller = _classes()
        self.controller = Controller(self)

    # -- the agent's controls (called on the GUI thread by the strip) ----------------------
    def attach(self, agent: Any) -> None:
        """Let the control strip call ``agent.pause()``, ``resume()`` and ``stop()``."""
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
        """Show the strip as paused/running (when pause comes from elsewhere, e.g. the app)."""
        self.paused = paused
        if not self.closed:
            self.controller.sig_paused.emit(paused)

    # -- helpers -----------------------------------------------------------------------
    @property
    def window(self):
        """The marker window (a QWidget), for tests and screenshots."""
        return self.controller.window

    @property
    def strip(self):
        """The control strip (a QWidget)."""
        return self.controller.strip

    def _on_gui_thread(self) -> bool:
        from PySide6.QtCore import QThread

        return QThread.currentThread() == self.controller.thread()

    def _call_and_wait(self, signal, *args: Any) -> None:
        if self.closed:
            return
        done = threading.Event()
        if self._on_gui_thread():
            # queued signals would never run while this thread waits: deliver, then process
            signal.emit(*args, done)
            from PySide6.QtCore import QCoreApplication

            deadline = time.monotonic() + self.settings.wait_s
            while not done.is_set() and time.monotonic() < deadline:
                QCoreApplication.processEvents()
            return
        signal.emit(*args, done)
        done.wait(self.settings.wait_s)

    # -- Hook events -------------------------------------------------------------------
    def run_start(self, info: RunInfo) -> None:
        if not self.closed:
            self.controller.sig_run_start.emit(info)

    def before_observe(self, step_num: int) -> None:
        """Hide (unless kept in captures or excluded by the OS); returns once unmapped."""
        if self.closed or self.settings.keep_in_captures or self.controller.native_excluded:
            return
        self._call_and_wait(self.controller.sig_hide)
        if self.settings.settle_s > 0:
            time.sleep(self.settings.settle_s)

    def after_observe(self, step_num: int, observation: Any) -> None:
        if not self.closed:
            # the loop sends None when the capture failed
            self.controller.sig_show.emit(getattr(observation, "geometry", None))

    def model_output(self, step_num: int, text: str, step: Any, error: str | None) -> None:
        if self.closed:
            return
        thought = (step.thought if step is not None else None) or ""
        if error:
            thought = f"(could not parse the answer: {error})"
        self.controller.sig_output.emit(step_num, thought)

    def before_action(self, step_num: int, action: Action, geometry: ScreenGeometry) -> None:
        """Draw the marker and return once it is on screen (then dwell ``dwell_s``)."""
        if self.closed:
            return
        self._call_and_wait(self.controller.sig_action, step_num, action, geometry)
        if self.settings.dwell_s > 0:
            time.sleep(self.settings.dwell_s)

    def step_end(self, record: StepRecord) -> None:
        pass

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
    the overlay; returns the :class:`RunResult` (or re-raises what the run raised).

    For ``tars run --overlay``. The overlay is added to ``tars.agent.hooks`` and its control strip
    drives ``agent.pause()/resume()/stop()``; Ctrl+C stops the agent. Creates the QApplication
    when none exists. Must be called on the main thread. ``with_signal``: return (result, exit
    status asked for by SIGINT/SIGTERM/SIGHUP or None) instead (:mod:`tars.frontends.signals`).
    """
    from PySide6.QtCore import QEventLoop, QObject, QSocketNotifier, QTimer, Signal

    from tars.frontends.signals import StopSignals
    from PySide6.QtWidgets import QApplication

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
        if stop_signals.overdue():
            stop_signals.exit_now("the run did not stop after the signal; exiting")

    ticker = QTimer()
    ticker.timeout.connect(check_overdue)
    ticker.start(250)
    thread = threading.Thread(target=work, name="tars-agent", daemon=True)
    thread.start()
    try:
        loop.exec()  # the worker's done signal (queued) quits it, even if already sent
        thread.join()
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
