"""tars' own overhead per action: LocalOperator.execute() on Xvfb, median milliseconds.

    .venv/bin/python benchmarks/bench_execute.py [--repeat N]

Starts its own Xvfb (1280x800, openbox, an xterm to receive keys) and times execute() for each
action type twice:

- ``default``: the operator as shipped, including its deliberate pacing (8 ms between pointer
  events, 4 ms between typed characters, 0.5 s drags, 0.25 s paste settle);
- ``overhead``: the same with every deliberate pause set to 0, i.e. what tars itself costs
  (X round trips, checks, key lookups, clipboard tools).

Typed text is 20 characters; the non-ASCII case goes through the clipboard (xclip).
Last, the emergency stop: milliseconds from the Ctrl+Alt+Esc key press (XTest, another X
connection) to the moment a long ``Type`` in progress returns with EmergencyStopError.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _cases():
    from tars.actions.space import (
        Click,
        DoubleClick,
        Drag,
        Finished,
        Hotkey,
        KeyDown,
        KeyUp,
        MoveTo,
        Press,
        RightClick,
        Scroll,
        Type,
        Wait,
    )

    return [
        ("click", [Click(700, 400)]),
        ("left_double", [DoubleClick(700, 400)]),
        ("right_single", [RightClick(1200, 700)]),
        ("mouse_move", [MoveTo(640, 300)]),
        ("drag", [Drag(600, 300, 800, 350)]),
        ("scroll (5 notches)", [Scroll(640, 400, "down", 5)]),
        ("hotkey ctrl+shift+k", [Hotkey(("ctrl", "shift", "k"))]),
        ("press", [Press("f5")]),
        ("keydown+keyup", [KeyDown("shift"), KeyUp("shift")]),
        ("type 20 ASCII chars", [Type("Hello, World! 12345")]),
        ("type 20 chars non-ASCII", [Type("Grüße, 世界! 😀 ééééé")]),
        ("wait(0)", [Wait(0)]),
        ("finished", [Finished("done")]),
    ]


def _bench(op, actions, repeat) -> float:
    for a in actions:
        op.execute(a)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for a in actions:
            op.execute(a)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _estop_latency(op, tries: int = 5) -> list[float]:
    import threading

    from Xlib import XK, X
    from Xlib import display as xdisplay
    from Xlib.ext import xtest

    from tars.actions.space import Type
    from tars.desktop.operator import EmergencyStopError

    dp = xdisplay.Display()
    code = {n: dp.keysym_to_keycode(XK.string_to_keysym(n)) for n in ("Control_L", "Alt_L", "Escape")}
    out = []
    for _ in range(tries):
        op.stop_event.clear()
        done: dict = {}

        def typing():
            try:
                op.execute(Type("a" * 3000))
            except EmergencyStopError:
                done["t"] = time.perf_counter()  # noqa: B023  (called within this iteration)

        worker = threading.Thread(target=typing)
        worker.start()
        time.sleep(0.3)
        for n in ("Control_L", "Alt_L", "Escape"):
            xtest.fake_input(dp, X.KeyPress, code[n])
        dp.sync()
        t0 = time.perf_counter()
        for n in ("Escape", "Alt_L", "Control_L"):
            xtest.fake_input(dp, X.KeyRelease, code[n])
        dp.sync()
        worker.join(10)
        if "t" in done:
            out.append((done["t"] - t0) * 1000)
    op.stop_event.clear()
    dp.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    from tars.agent.display import VirtualDisplay
    from tars.desktop.local import LocalOperator

    with VirtualDisplay(1280, 800) as vd:
        os.environ.update(vd.env())
        subprocess.run(["xsetroot", "-mod", "16", "16"], check=True)
        term = subprocess.Popen(["xterm", "-geometry", "80x24+0+0"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        try:
            shipped = LocalOperator(estop_hotkey="ctrl+alt+esc")
            bare = LocalOperator(estop_hotkey=None, type_interval=0, paste_settle=0,
                                 drag_seconds=0, click_interval=0)
            bare.input.gap = 0
            rows = []
            for name, actions in _cases():
                rows.append((name, _bench(shipped, actions, args.repeat),
                             _bench(bare, actions, args.repeat)))
            latencies = _estop_latency(shipped)
            shipped.close()
            bare.close()
        finally:
            term.terminate()
    print(f"execute() per action, median of {args.repeat} (ms), Xvfb 1280x800, "
          f"{os.cpu_count()} CPUs")
    print(f"{'action':>26}  {'default':>10}  {'overhead':>10}")
    for name, full, over in rows:
        print(f"{name:>26}  {full:>10.2f}  {over:>10.2f}")
    if latencies:
        print(f"emergency stop, key press -> Type interrupted: median {statistics.median(latencies):.1f} ms,"
              f" max {max(latencies):.1f} ms ({len(latencies)} tries; budget 200 ms)")
        print(f"FIGURE estop_ms {statistics.median(latencies):.1f} reference - target <=200")
    else:
        print("emergency stop: the hotkey never interrupted typing")


if __name__ == "__main__":
    main()
