"""Geometry rules on monitor layouts of machines this CI does not have (no display needed).

The layouts are mss-style monitor lists as mss reports them on each platform (macOS: points;
Windows: physical pixels in a DPI-aware process; X11: pixels), index 0 the union.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tars.actions.coords import CoordSpace, ScreenGeometry, model_to_screen
from tars.actions.space import Click, Drag, Scroll
from tars.desktop.capture import (
    check_display_environment,
    monitor_geometry,
    pick_monitor,
    primary_index,
    single_colour,
)
from tars.desktop.operator import OffScreenError, OperatorError, UnsupportedActionError
from tars.desktop.platform_keys import paste_keys, platform_hotkey
from tars.desktop.targets import check_on_screen, in_corner, keep_inside, screen_bounds


def mon(left, top, width, height, **kw):
    return {"left": left, "top": top, "width": width, "height": height, **kw}


# MacBook Pro: built-in Retina "looks like 1440x900" (points); external 1920x1080 monitor
# arranged to its left; a 4K monitor at "looks like 2560x1440" arranged above.
MAC = [mon(-1920, -1440, 3360, 2340), mon(0, 0, 1440, 900), mon(-1920, 0, 1920, 1080),
       mon(0, -1440, 2560, 1440)]
# Windows, DPI-aware (mss sets per-monitor awareness): primary 2880x1620 at 150 %, a 100 %
# 1920x1080 monitor to its left (negative offset), physical pixels throughout.
WIN_AWARE = [mon(-1920, 0, 4800, 1620), mon(0, 0, 2880, 1620), mon(-1920, 0, 1920, 1080)]
# Windows, a process that stayed DPI-unaware at 125 %: input sees 1920x1080 points for a
# 2400x1350 physical primary.
WIN_UNAWARE = [mon(-1920, 0, 4320, 1350), mon(0, 0, 2400, 1350), mon(-1920, 0, 1920, 1080)]
# X11, two monitors side by side via RandR, the second marked primary by xrandr.
X11 = [mon(0, 0, 3200, 1200), mon(0, 0, 1280, 1024), mon(1280, 0, 1920, 1200, is_primary=True)]


@pytest.mark.parametrize("layout, index, image, primary, expected", [
    (MAC, 1, (2880, 1800), (1440, 900), ScreenGeometry(2880, 1800, 2.0, 0, 0, 1)),
    (MAC, 2, (1920, 1080), (1440, 900), ScreenGeometry(1920, 1080, 1.0, -1920, 0, 2)),
    (MAC, 3, (5120, 2880), (1440, 900), ScreenGeometry(5120, 2880, 2.0, 0, -1440, 3)),
    (WIN_AWARE, 1, (2880, 1620), (2880, 1620), ScreenGeometry(2880, 1620, 1.0, 0, 0, 1)),
    (WIN_AWARE, 2, (1920, 1080), (2880, 1620), ScreenGeometry(1920, 1080, 1.0, -1920, 0, 2)),
    (WIN_UNAWARE, 1, (2400, 1350), (1920, 1080), ScreenGeometry(2400, 1350, 1.25, 0, 0, 1)),
    (WIN_UNAWARE, 2, (1920, 1080), (1920, 1080), ScreenGeometry(1920, 1080, 1.25, -1536, 0, 2)),
    (X11, 2, (1920, 1200), None, ScreenGeometry(1920, 1200, 1.0, 1280, 0, 2)),
    (X11, 0, (3200, 1200), None, ScreenGeometry(3200, 1200, 1.0, 0, 0, 0)),
])
def test_monitor_geometry(layout, index, image, primary, expected):
    assert monitor_geometry(layout, index, image, primary) == expected


def test_retina_model_point_to_screen_point_round_trip():
    g = monitor_geometry(MAC, 1, (2880, 1800), (1440, 900))
    space = CoordSpace("absolute")
    assert model_to_screen(1000, 500, space, g) == (500, 250)
    # the last pixel column rounds to point 1440 and is still accepted as on screen
    x, y = model_to_screen(2879, 1799, space, g)
    check_on_screen(Click(x, y), g)
    assert keep_inside(x, y, g) == (1438, 898)
    # a monitor left of the primary: points are negative
    g2 = monitor_geometry(MAC, 2, (1920, 1080), (1440, 900))
    assert model_to_screen(10, 10, space, g2) == (-1910, 10)
    check_on_screen(Click(-1910, 10), g2)
    with pytest.raises(OffScreenError):
        check_on_screen(Click(5, 10), g2)


def test_primary_and_monitor_choice():
    assert primary_index(X11) == 2          # mss's is_primary flag wins
    assert primary_index(MAC) == 1          # else the monitor at the origin
    assert primary_index(WIN_AWARE) == 1
    assert pick_monitor(X11, None) == 2
    assert pick_monitor(X11, 1) == 1
    assert pick_monitor(X11, 0) == 0
    with pytest.raises(OperatorError, match="monitor 3 does not exist.*1: 1280x1024"):
        pick_monitor(X11, 3)
    with pytest.raises(OperatorError):
        pick_monitor(X11, -1)


def test_screen_bounds_and_off_screen():
    g = ScreenGeometry(1280, 800)
    assert screen_bounds(g) == (0, 0, 1279, 799)
    check_on_screen(Drag(0, 0, 1279, 799), g)
    for bad in (Click(1280, 5), Click(5, 800), Click(-1, 0), Click(float("nan"), 3),
                Drag(10, 10, 10, 900)):
        with pytest.raises(OffScreenError, match="outside the screen"):
            check_on_screen(bad, g)
    check_on_screen(Scroll(None, None, "down"), g)  # no position: scroll where the pointer is
    check_on_screen(Click(99999, 5), None)          # nothing known before the first look
    g2 = ScreenGeometry(1920, 1080, 1.0, -1920, -200, 2)
    assert screen_bounds(g2) == (-1920, -200, -1, 879)


def test_keep_inside_and_corners_with_offsets():
    g = ScreenGeometry(1920, 1080, 1.0, -1920, 0, 2)
    assert keep_inside(-1920, 0, g) == (-1919, 1)
    assert keep_inside(-1, 1079, g) == (-2, 1078)
    assert keep_inside(-1000.4, 500.5, g) == (-1000, 501)
    assert in_corner(-1920, 0, g) and in_corner(-1, 1079, g)
    assert not in_corner(-1919, 0, g) and not in_corner(0, 0, g)
    w = ScreenGeometry(2400, 1350, 1.25)  # 1920x1080 points
    assert keep_inside(1919, 1079, w) == (1918, 1078)


def test_single_colour_detection():
    black = bytes(4 * 64 * 48)
    assert single_colour(black) == (0, 0, 0)
    # BGRA: blue=10, green=20, red=30; the 4th (X/alpha) byte may vary without counting
    teal = bytes([10, 20, 30, 255]) * 5000 + bytes([10, 20, 30, 0])
    assert single_colour(teal) == (30, 20, 10)
    one_dot = bytearray(black)
    one_dot[4 * 1234 + 1] = 1          # a single pixel off the sparse sample grid
    assert single_colour(bytes(one_dot)) is None


def test_platform_hotkeys():
    assert platform_hotkey(("ctrl", "c"), "darwin") == ("win", "c")
    assert platform_hotkey(("ctrl", "shift", "z"), "darwin") == ("win", "shift", "z")
    assert platform_hotkey(("ctrl", "c"), "darwin", ctrl_is_cmd_on_mac=False) == ("ctrl", "c")
    assert platform_hotkey(("ctrl", "alt", "t"), "darwin") == ("ctrl", "alt", "t")
    assert platform_hotkey(("ctrl", "e"), "darwin") == ("ctrl", "e")  # not a common shortcut
    assert platform_hotkey(("ctrl", "c"), "linux") == ("ctrl", "c")
    assert platform_hotkey(("ctrl", "alt", "delete"), "linux") == ("ctrl", "alt", "delete")
    with pytest.raises(UnsupportedActionError, match="Windows"):
        platform_hotkey(("ctrl", "alt", "delete"), "windows")
    with pytest.raises(UnsupportedActionError, match="Windows"):
        platform_hotkey(("win", "l"), "windows")
    with pytest.raises(UnsupportedActionError, match="fn"):
        platform_hotkey(("fn", "f5"), "linux")
    assert paste_keys("darwin") == ("win", "v") and paste_keys("windows") == ("ctrl", "v")


def test_wayland_without_x_is_refused_with_advice(monkeypatch):
    with pytest.raises(OperatorError, match="Wayland.*X11 session"):
        check_display_environment({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    with pytest.raises(OperatorError, match="DISPLAY is not set"):
        check_display_environment({}, "linux")
    check_display_environment({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux")
    check_display_environment({}, "win32")
    check_display_environment({}, "darwin")
    # and the operator itself refuses at construction, before touching anything
    from tars.desktop.local import LocalOperator

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    with pytest.raises(OperatorError, match="Wayland"):
        LocalOperator()


def test_import_stays_light():
    code = ("import sys, tars.desktop.operator, tars.desktop.local, tars.desktop.dryrun, tars.desktop.capture; "
            "heavy = {'mss', 'pyautogui', 'pynput', 'Xlib', 'PySide6', 'pyperclip'}; "
            "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1],
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": "."})
    assert out.stdout.strip() == "[]"
