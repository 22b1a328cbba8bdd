"""Screen capture speed: LocalOperator.observe() against a bare mss grab and pyautogui.screenshot().

    .venv/bin/python benchmarks/bench_observe.py [--repeat N]

Starts its own Xvfb (1280x800, then 1920x1080) with a patterned root window, and prints the
median milliseconds of each method per size. Each size runs in a child process because
pyautogui binds to the display named by DISPLAY when it is imported.

- ``mss grab``: ``MSS.grab(monitor)``, raw BGRA bytes, the floor. Run in a loop that drops
  each frame, it keeps reusing the same freed memory; observe() hands out a new image that the
  agent keeps, so it also pays first-touch page faults on fresh memory (most of the gap on a
  loaded machine, by cProfile: PIL's allocation + mss's buffer copy);
- ``observe()``: grab + one-colour check + RGB PIL image + geometry (what the agent gets);
- ``ImageGrab.grab()``: Pillow's X11 grab, which ``pyautogui.screenshot()`` calls on Linux when
  gnome-screenshot is installed;
- ``pyautogui.screenshot()``: itself, or ``nan`` with a note when pyscreeze finds neither
  gnome-screenshot nor scrot (then it cannot take screenshots on Linux at all).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = [(1280, 800), (1920, 1080)]


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm-up: connections, first allocation
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def child(repeat: int) -> dict:
    import mss

    from tars.desktop.local import LocalOperator

    sct = mss.MSS() if hasattr(mss, "MSS") else mss.mss()
    monitor = sct.monitors[1]
    op = LocalOperator(estop_hotkey=None)
    import pyautogui
    from PIL import ImageGrab

    out = {
        "mss grab": _median_ms(lambda: sct.grab(monitor), repeat),
        "observe()": _median_ms(op.observe, repeat),
        # pyautogui.screenshot() is Pillow's ImageGrab.grab() when gnome-screenshot is
        # installed, else scrot through a temporary PNG file, else an exception
        "ImageGrab.grab()": _median_ms(ImageGrab.grab, repeat),
    }
    try:
        out["pyautogui.screenshot()"] = _median_ms(pyautogui.screenshot, repeat)
    except Exception as exc:  # pyscreeze on Linux needs gnome-screenshot or scrot
        out["pyautogui.screenshot()"] = float("nan")
        print(f"pyautogui.screenshot() unavailable: {exc}", file=sys.stderr)
    size = op.observe().image.size
    op.close()
    sct.close()
    return {"size": list(size), "ms": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.repeat)))
        return
    from tars.agent.display import VirtualDisplay

    rows = []
    for w, h in SIZES:
        with VirtualDisplay(w, h) as vd:  # openbox keeps the server (and the root pattern) alive
            env = vd.env()
            # a plaid root window: a one-colour screen would be refused by observe()
            subprocess.run(["xsetroot", "-mod", "16", "16", "-fg", "#3060a0", "-bg", "#d0d0d0"],
                           env=env, check=True)
            env["PYTHONPATH"] = str(ROOT)
            res = subprocess.run([sys.executable, __file__, "--child", "--repeat",
                                  str(args.repeat)], env=env, capture_output=True, text=True)
            if res.returncode:
                sys.exit(f"child failed at {w}x{h}:\n{res.stderr}")
            rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
            if res.stderr.strip():
                notes = {line for line in res.stderr.splitlines() if "unavailable" in line}
                rows[-1]["notes"] = sorted(notes)
    print(f"observe() vs capture floor, median of {args.repeat} (ms), Xvfb, "
          f"{os.cpu_count()} CPUs")
    methods = list(rows[0]["ms"])
    print(f"{'size':>10}  " + "  ".join(f"{m:>24}" for m in methods))
    for row in rows:
        size = "x".join(map(str, row["size"]))
        print(f"{size:>10}  " + "  ".join(f"{row['ms'][m]:>24.2f}" for m in methods))
    for note in sorted({n for row in rows for n in row.get("notes", [])}):
        print("note:", note)
    big = rows[-1]["ms"]
    print(f"FIGURE observe_1080_ms {big['observe()']:.2f} reference {big['mss grab']:.2f} (bare mss grab), "
          f"{big['pyautogui.screenshot()']:.1f} (pyautogui) target <=3")


if __name__ == "__main__":
    main()
