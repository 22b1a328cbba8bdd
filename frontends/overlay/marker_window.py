"""The overlay's marker window: where the agent is about to act, and the trail of earlier acts.

A full-monitor window, frameless, always on top, bypassing the window manager, never taking
focus and transparent for input (on X11 Qt gives it an empty input shape), so every click
lands on the application below.

**No compositor.** Where nothing composites (many X11 sessions, Xvfb) a translucent window is
painted opaque black. The window therefore renders into an ARGB image and shapes itself to
the pixels it drew (``setMask`` from the image's alpha): outside the marker, the path and the
trail there is no window at all, and the desktop shows through unchanged.

Shapes and colours come from :data:`tars.frontends.markers.STYLE`, the table the Pillow and
HTML markers use too.
"""

from __future__ import annotations

import collections
import math

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt

from tars.actions.coords import ScreenGeometry
from tars.actions.space import Action, DoubleClick, Drag, Scroll
from tars.frontends.markers import STYLE
from tars.frontends.overlay.platform import screen_for, screen_to_local

_SCROLL = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}


def _color(rgb: tuple[int, int, int], alpha: int = 255) -> QtGui.QColor:
    return QtGui.QColor(rgb[0], rgb[1], rgb[2], alpha)


class MarkerWindow(QtWidgets.QWidget):
    """Full-monitor, click-through, masked window drawing the current action and the trail.

    :attr:`current`: actions now marked, in this window's Qt logical coordinates.
    :attr:`trail`: ``(step_num, action)`` of earlier actions, numbered by the step they
    belonged to. :attr:`origin`: the monitor's top-left inside this window (logical pixels;
    (0, 0) unless one QScreen spans several monitors).
    """

    def __init__(self, trail: int = 5) -> None:
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
        self.current: list[Action] = []
        self.trail: collections.deque[tuple[int, Action]] = collections.deque(maxlen=max(0, trail))
        self.image = QtGui.QImage()
        self.drawn = False
        self.origin = (0.0, 0.0)

    # -- placement -----------------------------------------------------------------------
    def place(self, geometry: ScreenGeometry) -> bool:
        """Cover the QScreen of ``geometry``'s monitor; True when the placement changed (the
        trail is then cleared: its points belong to another monitor)."""
        if geometry == self.geometry_:
            return False
        self.geometry_ = geometry
        screen = screen_for(geometry)
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
        return True

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

    def global_points(self, action: Action) -> list[tuple[float, float]]:
        """The points of ``action`` (screen points) in Qt global logical coordinates."""
        return [(self.x() + x, self.y() + y) for x, y in self.to_local(action).points()]

    # -- rendering -----------------------------------------------------------------------
    def redraw(self) -> None:
        """Draw everything into an ARGB image and shape the window to its opaque pixels.

        The image has the screen's physical resolution (logical size x dpr), so the marker's
        centre dot can sit on any physical pixel, not only on whole logical ones.
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

    def _pen(self, rgb: tuple[int, int, int], width: float) -> QtGui.QPen:
        pen = QtGui.QPen(_color(rgb), width)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        return pen

    def _ring(self, p: QtGui.QPainter, x: float, y: float, r: float) -> None:
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(self._pen(STYLE.outline, 7))
        p.drawEllipse(QtCore.QPointF(x, y), r, r)
        p.setPen(self._pen(STYLE.ring, 4))
        p.drawEllipse(QtCore.QPointF(x, y), r, r)

    def _dot(self, p: QtGui.QPainter, x: float, y: float) -> None:
        # exact colour on whole physical pixels: the centre pixel is the target
        d = self.dpr or 1.0
        xi, yi = round(x * d), round(y * d)
        h = STYLE.dot_half
        p.fillRect(QtCore.QRectF((xi - h - 1) / d, (yi - h - 1) / d, (2 * h + 3) / d, (2 * h + 3) / d),
                   _color(STYLE.outline))
        p.fillRect(QtCore.QRectF((xi - h) / d, (yi - h) / d, (2 * h + 1) / d, (2 * h + 1) / d),
                   _color(STYLE.dot))

    def _arrow(self, p: QtGui.QPainter, x1: float, y1: float, x2: float, y2: float) -> None:
        line = QtCore.QLineF(x1, y1, x2, y2)
        p.setPen(self._pen(STYLE.outline, 8))
        p.drawLine(line)
        p.setPen(self._pen(STYLE.ring, 4))
        p.drawLine(line)
        ang = math.atan2(y2 - y1, x2 - x1)
        head = QtGui.QPolygonF([
            QtCore.QPointF(x2, y2),
            QtCore.QPointF(x2 - 18 * math.cos(ang - 0.45), y2 - 18 * math.sin(ang - 0.45)),
            QtCore.QPointF(x2 - 18 * math.cos(ang + 0.45), y2 - 18 * math.sin(ang + 0.45)),
        ])
        p.setPen(self._pen(STYLE.outline, 2))
        p.setBrush(_color(STYLE.ring))
        p.drawPolygon(head)
        p.setBrush(Qt.BrushStyle.NoBrush)

    def _draw_action(self, p: QtGui.QPainter, a: Action) -> None:
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
            dx, dy = _SCROLL.get(a.direction, (0, 0))
            self._ring(p, a.x, a.y, r)
            self._arrow(p, a.x + dx * r, a.y + dy * r, a.x + dx * 4 * r, a.y + dy * 4 * r)
            self._dot(p, a.x, a.y)
            return
        for x, y in a.points():
            self._ring(p, x, y, r)
            if isinstance(a, DoubleClick):
                self._ring(p, x, y, r * 0.55)
            self._dot(p, x, y)

    def badge_rect(self, x: float, y: float) -> QtCore.QRectF:
        """Where the step-number badge of a trail point (x, y) is drawn (logical pixels)."""
        bx, by = STYLE.badge_offset
        return QtCore.QRectF(x + bx, y + by, 22, 15)

    def _draw_trail(self, p: QtGui.QPainter, num: int, a: Action) -> None:
        font = p.font()
        font.setPixelSize(11)
        font.setBold(True)
        p.setFont(font)
        for x, y in a.points():
            # a small dot on the point and the number beside it: the clicked label stays readable
            box = self.badge_rect(x, y)
            p.setPen(self._pen(STYLE.outline, 3))
            p.drawLine(QtCore.QPointF(x, y), box.bottomLeft())
            p.setPen(self._pen(STYLE.trail, 1.5))
            p.drawLine(QtCore.QPointF(x, y), box.bottomLeft())
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(_color(STYLE.outline))
            p.drawEllipse(QtCore.QPointF(x, y), 4, 4)
            p.setBrush(_color(STYLE.trail))
            p.drawEllipse(QtCore.QPointF(x, y), 2.5, 2.5)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.fillRect(box.adjusted(-1, -1, 1, 1), _color(STYLE.outline))
            p.fillRect(box, _color(STYLE.trail))
            p.setPen(_color(STYLE.badge_text))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, str(num))

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt name)
        p = QtGui.QPainter(self)
        p.setCompositionMode(QtGui.QPainter.CompositionMode.CompositionMode_Source)
        p.drawImage(0, 0, self.image)
        p.end()
