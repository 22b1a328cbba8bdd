"""Where the overlay is on screen and how it stays out of captures, per platform.

**Coordinates.** Actions arrive in screen points with the :class:`ScreenGeometry` of the
captured monitor. The overlay covers the QScreen of that monitor; a point goes to the window's
Qt logical coordinates as ``((x - left) * scale / dpr, (y - top) * scale / dpr)``: screen
points -> physical pixels of the monitor (``scale``, measured by the operator) -> Qt logical
pixels (``dpr``, Qt's devicePixelRatio of that screen). On X11 without Qt scaling both are 1 and
a point is a pixel; on macOS scale == dpr (points everywhere); on Windows (DPI-aware process)
scale is 1 and dpr is the monitor's scaling.

**Capture exclusion.** Windows: ``SetWindowDisplayAffinity(WDA_EXCLUDEFROMCAPTURE)`` (Windows
10 2004+); macOS: ``NSWindow.sharingType = NSWindowSharingNone`` (UI-TARS-desktop does the same
through Electron's ``setContentProtection``). X11 has none: the overlay hides for each grab.
"""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import QPoint
from PySide6.QtGui import QGuiApplication, QScreen

from tars.actions.coords import ScreenGeometry


def screen_to_local(x: float, y: float, geometry: ScreenGeometry, dpr: float = 1.0) -> tuple[float, float]:
    """Screen point (x, y) -> Qt logical coordinates inside the overlay covering ``geometry``'s
    monitor (origin at the monitor's top-left). ``dpr``: Qt's devicePixelRatio of the screen.
    """
    px, py = geometry.to_pixels(x, y)  # the operator's own conversion, then Qt's ratio
    return px / dpr, py / dpr


def exclude_from_capture(widget: Any) -> bool:
    """Ask the OS to leave ``widget``'s window out of screen captures; True when it did.

    Windows: ``SetWindowDisplayAffinity(hwnd, WDA_EXCLUDEFROMCAPTURE)`` (0x11). macOS:
    ``[[view window] setSharingType:NSWindowSharingNone]`` through the Objective-C runtime.
    X11 has no such thing: returns False and the overlay hides itself around each capture
    instead. Never raises.
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


def screen_for(geometry: ScreenGeometry) -> QScreen:
    """The QScreen showing ``geometry``'s monitor, or the primary screen.

    Tried in order: the screen whose logical geometry contains the monitor's centre given in
    screen points; the same with the centre in physical pixels divided by the screen's dpr;
    the screen whose physical size equals the screenshot's.
    """
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
