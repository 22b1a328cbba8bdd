#!/usr/bin/env python3
"""Make the README's pictures of the overlay and of the app, on a virtual display.

    .venv/bin/python scripts/make_screenshots.py [--out docs]

Starts Xvfb + openbox (tars.agent.display.VirtualDisplay), opens the practice settings app
(assets/apps/settings.py), then in a child process on that display:

* ``overlay.png``: the overlay over the practice app, as a run shows it (thought panel,
  marker on the point about to be clicked, the trail of the previous action, control strip);
  captured with the overlay kept in the capture;
* ``app.png``: the tars app mid-run (a scripted policy and a dry-run operator serving the
  practice app's screenshot), with its trace and the selected step shown large.

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
THOUGHT = ("The settings window is open on the General tab. The theme is under Appearance, "
           "so I click the Appearance tab first.")


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

    app = QApplication(sys.argv[:1])  # noqa: F841  (must stay alive while widgets exist)
    desktop = _grab()
    geo = ScreenGeometry(desktop.width, desktop.height)
    wx, wy = _window_origin("Settings")
    tab = (wx + 128, wy + 4)  # the "Appearance" tab of the practice app (xdotool origin)

    # -- the overlay, kept in the capture so it can be photographed -------------------------
    hook = OverlayHook(OverlaySettings(keep_in_captures=True))
    hook.run_start(RunInfo("Switch the theme to Dark", "lite", CoordSpace("absolute"), geometry=geo))
    hook.before_action(1, Click(wx + 60, wy + 60), geo)  # becomes the trail
    reply = f"Thought: {THOUGHT}\nAction: click(start_box='({tab[0]},{tab[1]})')"
    hook.model_output(2, reply, parse_response(reply), None)
    hook.before_action(2, Click(*tab), geo)
    QTest.qWait(400)
    _save_small(_grab(), out / "overlay.png")
    hook.close()
    QTest.qWait(200)

    # -- the app mid-run ----------------------------------------------------------------------
    from tars.desktop.dryrun import DryRunOperator
    from tars.frontends.app.window import main_window_class
    from tars.models.scripted import ScriptedPolicy

    replies = [
        f"Thought: {THOUGHT}\nAction: click(start_box='({tab[0]},{tab[1]})')",
        f"Thought: The Appearance tab shows a Theme list. I open it.\n"
        f"Action: click(start_box='({wx + 200},{wy + 75})')",
        "Thought: Dark is in the list; I choose it.\nAction: type(content='Dark\\n')",
        "Thought: Apply stores the choice.\nAction: hotkey(key='alt a')",
    ] + ["Thought: waiting for the window.\nAction: wait()"] * 5
    store = QSettings(str(out / ".screenshots.ini"), QSettings.Format.IniFormat)
    win = main_window_class()(store, lambda s: ScriptedPolicy(replies, delay=0.3),
                              lambda s: DryRunOperator(images=[desktop]), hide_while_running=False)
    win.overlay_box.setChecked(False)
    win.policy_box.setCurrentText("hf")
    win.model_edit.setText("ByteDance-Seed/UI-TARS-1.5-7B")
    win.resize(1200, 760)
    win.move(40, 20)
    win.show()
    win.start_run("Switch the theme of the Settings app to Dark")
    deadline = time.monotonic() + 30
    while len(win.rows) < 4 and time.monotonic() < deadline:
        QTest.qWait(50)
    win.trace.selectRow(1)
    QTest.qWait(300)
    from PIL import Image

    img = win.grab().toImage().convertToFormat(win.grab().toImage().Format.Format_RGB888)
    pil = Image.frombytes("RGB", (img.width(), img.height()), bytes(img.constBits())[: img.sizeInBytes()],
                          "raw", "RGB", img.bytesPerLine())
    _save_small(pil, out / "app.png", width=1000)
    win.stop_run()
    deadline = time.monotonic() + 5
    while win.running and time.monotonic() < deadline:
        QTest.qWait(50)
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
             "--geometry", "760x480+260+150"],
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
