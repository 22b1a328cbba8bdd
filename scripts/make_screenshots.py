#!/usr/bin/env python3
"""Make the README's pictures of the overlay and of the app, on a virtual display.

    .venv/bin/python scripts/make_screenshots.py [--out docs]

Starts Xvfb + openbox (tars.agent.display.VirtualDisplay), opens the practice settings app
(assets/apps/settings.py), then in a child process on that display:

* ``overlay.png``: the overlay over the practice app, as a run shows it (the panel off the
  practice window, the marker on the point about to be clicked, the numbered trail of the
  previous action); captured with the overlay kept in the capture;
* ``app.png``: the whole screen after a real run of the app's example instruction with the
  default ``lite`` policy: the app beside the practice app with the result and a selected
  step, and the overlay's final status.

Both are written as small palette PNGs. Needs: xvfb, openbox, xdotool, xsetroot (optional), PySide6, mss.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZE = (1280, 800)
THOUGHT = ('I see "Appearance" at the top of the settings window; the theme is there, so I click it.')


def _save_small(image, path: Path, width: int = 960) -> None:
    """Scale to ``width`` pixels and store as an optimised 256-colour PNG."""
    from PIL import Image

    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


def _grab():
    import mss
    from PIL import Image

    factory = getattr(mss, "MSS", None) or mss.mss
    with factory() as sct:
        shot = sct.grab(sct.monitors[1])
        return Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX")


def _window_origin(name: str) -> tuple[int, int]:
    out = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", name,
                          "getwindowgeometry"],
                         capture_output=True, text=True, timeout=10).stdout
    for line in out.splitlines():
        if "Position:" in line:
            x, y = line.split(":", 1)[1].split("(")[0].strip().split(",")
            return int(x), int(y)
    return 0, 0


def inside(out: Path) -> None:
    """On the virtual display: make both pictures."""
    from PySide6.QtCore import QSettings
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from tars.actions.coords import CoordSpace, ScreenGeometry
    from tars.actions.parse import parse_response
    from tars.actions.space import Click
    from tars.agent.hooks import RunInfo
    from tars.frontends.overlay import OverlayHook, OverlaySettings
    from tars.frontends.wording import EXAMPLE_INSTRUCTION

    app = QApplication(sys.argv[:1])  # noqa: F841  (must stay alive while widgets exist)
    desktop = _grab()
    geo = ScreenGeometry(desktop.width, desktop.height)
    wx, wy = _window_origin("Settings")
    general = (wx + 34, wy + 4)  # the practice app's "General" and "Appearance" tabs
    tab = (wx + 110, wy + 4)

    # -- the overlay, kept in the capture so it can be photographed -------------------------
    hook = OverlayHook(OverlaySettings(keep_in_captures=True))
    hook.run_start(RunInfo(EXAMPLE_INSTRUCTION, "lite", CoordSpace("absolute"), geometry=geo))
    first = f"Thought: I see \"General\" at {general}; I click it.\nAction: click(start_box='{general}')"
    hook.model_output(1, first, parse_response(first), None)
    hook.before_action(1, Click(*general), geo)  # becomes the trail
    reply = f"Thought: {THOUGHT}\nAction: click(start_box='({tab[0]},{tab[1]})')"
    hook.model_output(2, reply, parse_response(reply), None)
    hook.before_action(2, Click(*tab), geo)
    QTest.qWait(400)
    _save_small(_grab(), out / "overlay.png")
    hook.close()
    QTest.qWait(300)

    # -- the app after a real run of its example with lite, beside the practice app ---------
    from tars.desktop.local import LocalOperator
    from tars.frontends.app.window import MainWindow

    store = QSettings(str(out / ".screenshots.ini"), QSettings.Format.IniFormat)
    win = MainWindow(store, operator_factory=lambda s: LocalOperator(monitor=s.monitor, estop_hotkey=None))
    win.place_beside_target()
    win.show()
    QTest.qWait(500)
    win.place_beside_target()
    QTest.qWait(300)
    win.start_run(EXAMPLE_INSTRUCTION)
    deadline = time.monotonic() + 120
    while win.running and time.monotonic() < deadline:
        QTest.qWait(100)
    QTest.qWait(800)
    win.trace.selectRow(1)
    QTest.qWait(400)
    _save_small(_grab(), out / "app.png", width=1000)  # the whole screen: app, practice app, final panel
    win.close()
    (out / ".screenshots.ini").unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs"), help="folder for app.png and overlay.png")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.inside:
        inside(out)
        return 0
    from tars.agent.display import VirtualDisplay

    with VirtualDisplay(*SIZE) as display:
        env = display.env()
        env["QT_QPA_PLATFORM"] = "xcb"
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        if shutil.which("xsetroot"):  # a calm desktop instead of black
            subprocess.run(["xsetroot", "-solid", "#46627e"], env=env, check=False)
        practice = subprocess.Popen(
            [sys.executable, "-m", "tars.assets.apps.settings", "--state", str(out / ".settings-state.json"),
             "--geometry", "560x420+20+60"],
            env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(2.0)
            return subprocess.run([sys.executable, __file__, "--inside", "--out", str(out)],
                                  env=env, cwd=str(ROOT)).returncode
        finally:
            practice.terminate()
            practice.wait(5)
            (out / ".settings-state.json").unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
