"""Top-level windows on the desktop: where the program the agent works on is.

The overlay keeps its panel off that window and the app places itself beside it
(:mod:`tars.frontends.layout`). On X11 (python-xlib) the windows come from the window manager's
``_NET_CLIENT_LIST_STACKING`` (EWMH; bottom to top) with their frames (``_NET_FRAME_EXTENTS``),
or, without a window manager, from the root window's children (bottom to top). Elsewhere
nothing is listed (the callers fall back to screen corners).

Rectangles are ``(x, y, width, height)`` in X pixels of the whole desktop (root window
coordinates).
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """A top-level window: ``title``, ``rect`` (x, y, w, h, frame included, root pixels),
    ``pid`` (``_NET_WM_PID``, None when unset) and ``wid`` (the X window id)."""

    title: str
    rect: tuple[int, int, int, int]
    pid: int | None
    wid: int

    def contains(self, x: float, y: float) -> bool:
        """True when the root point (x, y) lies on this window."""
        rx, ry, rw, rh = self.rect
        return rx <= x < rx + rw and ry <= y < ry + rh


_ATOMS: dict[tuple[int, str], int] = {}


def _prop(disp, win, name: str):
    key = (id(disp), name)
    if key not in _ATOMS:
        _ATOMS[key] = disp.intern_atom(name, only_if_exists=True)
    atom = _ATOMS[key]
    if not atom:
        return None
    try:
        p = win.get_full_property(atom, 0)
    except Exception:
        return None
    return None if p is None else p.value


def _title(disp, win) -> str:
    value = _prop(disp, win, "_NET_WM_NAME")
    if value is not None:
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    try:
        name = win.get_wm_name()
    except Exception:
        name = None
    if isinstance(name, bytes):
        return name.decode("latin-1", "replace")
    return name or ""


def _rect(disp, win, root) -> tuple[int, int, int, int] | None:
    try:
        g = win.get_geometry()
        t = root.translate_coords(win, 0, 0)
    except Exception:
        return None
    x, y, w, h = t.x, t.y, g.width, g.height
    ext = _prop(disp, win, "_NET_FRAME_EXTENTS")
    if ext is not None and len(ext) == 4:
        left, right, top, bottom = (int(v) for v in ext)
        x, y, w, h = x - left, y - top, w + left + right, h + top + bottom
    return x, y, w, h


def list_windows(display_name: str | None = None) -> list[Window]:
    """The viewable top-level application windows, topmost first; [] off X11 or on any X
    error (never raises). Override-redirect windows (menus, tooltips, tars's overlay) are not
    listed."""
    if not (display_name or os.environ.get("DISPLAY")):
        return []
    try:
        from Xlib import X
        from Xlib import display as xdisplay
    except ImportError:
        return []
    try:
        disp = xdisplay.Display(display_name)
    except Exception:
        return []
    try:
        root = disp.screen().root
        ids = _prop(disp, root, "_NET_CLIENT_LIST_STACKING")
        managed = ids is not None
        wins = [disp.create_resource_object("window", int(i)) for i in ids] if managed \
            else list(root.query_tree().children)
        out: list[Window] = []
        for w in reversed(wins):  # topmost first
            try:
                attrs = w.get_attributes()
            except Exception:
                continue
            if not managed and (attrs.override_redirect or attrs.map_state != X.IsViewable):
                continue
            if managed and attrs.map_state != X.IsViewable:
                continue  # minimised (iconic) windows are unmapped
            rect = _rect(disp, w, root)
            if rect is None or rect[2] <= 1 or rect[3] <= 1:
                continue
            pid = _prop(disp, w, "_NET_WM_PID")
            out.append(Window(_title(disp, w), rect, int(pid[0]) if pid is not None and len(pid) else None,
                              int(w.id)))
        return out
    except Exception:
        return []
    finally:
        for key in [k for k in _ATOMS if k[0] == id(disp)]:
            del _ATOMS[key]
        disp.close()


def target_window(exclude_pid: int | None = None, display_name: str | None = None) -> Window | None:
    """The window the agent will most likely work on: the topmost application window not
    belonging to process ``exclude_pid`` (default: this process). None when there is none."""
    pid = os.getpid() if exclude_pid is None else exclude_pid
    for w in list_windows(display_name):
        if w.pid != pid:
            return w
    return None


def window_at(x: float, y: float, display_name: str | None = None) -> Window | None:
    """The topmost application window under root point (x, y), or None."""
    for w in list_windows(display_name):
        if w.contains(x, y):
            return w
    return None


def wm_running(display_name: str | None = None) -> bool:
    """True when a window manager runs on the X display (EWMH ``_NET_SUPPORTING_WM_CHECK`` on
    the root window): only then can a window be minimised. False off X11."""
    if not (display_name or os.environ.get("DISPLAY")):
        return False
    try:
        from Xlib import display as xdisplay
    except ImportError:
        return False
    try:
        disp = xdisplay.Display(display_name)
    except Exception:
        return False
    try:
        return _prop(disp, disp.screen().root, "_NET_SUPPORTING_WM_CHECK") is not None
    except Exception:
        return False
    finally:
        for key in [k for k in _ATOMS if k[0] == id(disp)]:
            del _ATOMS[key]
        disp.close()
