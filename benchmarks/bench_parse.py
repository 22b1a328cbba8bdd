"""Parser throughput (actions/s) and `tars parse` start-up time, next to the public `ui-tars`
package's parser on the same machine. Prints figures; passes or fails nothing.

Run from the repository root: ``.venv/bin/python benchmarks/bench_parse.py [--seconds S]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tars.actions.parse import parse_response  # noqa: E402

#: a mix of the shapes models write; every one is readable by both parsers
CORPUS = [
    "Thought: The login button is at the top right.\nAction: click(start_box='(966,546)')",
    "Thought: open the file menu\nAction: left_double(start_box='(120,40,180,60)')",
    "Thought: context menu\nAction: right_single(start_box='(500,300)')",
    "Thought: move the slider\nAction: drag(start_box='(100,200)', end_box='(400,200)')",
    "Thought: copy it\nAction: hotkey(key='ctrl c')",
    "Thought: type the user name and submit\nAction: type(content='alice@example.com\\n')",
    "Reflection: the page did not load\nAction_Summary: scroll down to find the form\n"
    "Action: scroll(start_box='(960,540)', direction='down')",
    "Thought: two steps\nAction: click(start_box='(10,20)')\n\ntype(content='hello world')",
    "Thought: hover the menu\nAction: hover(start_box='(300,30)')",
    "Thought: done\nAction: finished(content='The price is 42 EUR.')",
    "Thought: Seed style\nAction: click(point='<point>450 565</point>')",
]


def _actions_per_second(parse, texts: list[str], seconds: float) -> tuple[float, int]:
    n_actions = 0
    rounds = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for text in texts:
            n_actions += parse(text)
        rounds += 1
    return n_actions / (time.perf_counter() - start), rounds


def _tars(text: str) -> int:
    return len(parse_response(text).actions)


def _reference():
    """The ui-tars package's parser, text -> structures -> pyautogui code, or None."""
    try:
        from ui_tars.action_parser import (
            parse_action_to_structure_output,
            parsing_response_to_pyautogui_code,
        )
    except ImportError:
        return None

    def parse(text: str) -> int:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints on every failure
            structs = parse_action_to_structure_output(text, 1000, 1080, 1920, model_type="qwen25vl")
            parsing_response_to_pyautogui_code(structs, 1080, 1920, scale_factor=1)
        return len(structs)

    return parse


def _startup_times(commands: dict[str, tuple[list[str], str]], runs: int) -> dict[str, float]:
    """Median wall seconds of each command, run in turn ``runs`` times (interleaved, so a
    change of load on a shared machine hits them alike), after one warm-up run each.

    Bytecode: the children may write ``__pycache__`` (PYTHONDONTWRITEBYTECODE removed), as an
    installed package has its ``.pyc`` files from pip; the warm-up run writes them.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(runs + 1):
        for name, (cmd, stdin) in commands.items():
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, cwd=ROOT, env=env)
            elapsed = time.perf_counter() - t0
            if proc.returncode != 0:
                raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
            if round_:
                times[name].append(elapsed)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="time per throughput figure")
    ap.add_argument("--runs", type=int, default=7, help="subprocess runs per start-up figure")
    args = ap.parse_args()

    print(f"corpus: {len(CORPUS)} model answers")
    rate, rounds = _actions_per_second(_tars, CORPUS, args.seconds)
    print(f"tars parse_response           {rate:12,.0f} actions/s  ({rounds} rounds)")
    reference = _reference()
    if reference is not None:
        ref_rate, ref_rounds = _actions_per_second(reference, CORPUS, args.seconds)
        print(f"ui-tars structure + pyautogui {ref_rate:12,.0f} actions/s  ({ref_rounds} rounds)")
    else:
        print("ui-tars: not installed (pip install ui-tars) - no comparison")

    text = CORPUS[0]
    py = sys.executable
    commands = {
        "python": ([py, "-c", "pass"], ""),
        "tars": ([py, "-m", "tars", "parse", "--image-size", "1920x1080"], text),
    }
    if reference is not None:
        ref_cmd = (
            "import sys, contextlib, io\n"
            "from ui_tars.action_parser import parse_action_to_structure_output as p, "
            "parsing_response_to_pyautogui_code as c\n"
            "s = p(sys.stdin.read(), 1000, 1080, 1920, model_type='qwen25vl')\n"
            "print(c(s, 1080, 1920, scale_factor=1))\n"
        )
        commands["ui-tars"] = ([py, "-c", ref_cmd], text)
    med = _startup_times(commands, args.runs)
    print(f"python start-up (baseline)    {med['python'] * 1000:8.0f} ms  (median of {args.runs}, interleaved)")
    print(f"tars parse start-up           {med['tars'] * 1000:8.0f} ms")
    if reference is not None:
        print(f"ui-tars parse start-up        {med['ui-tars'] * 1000:8.0f} ms")
        print(f"FIGURE parse_startup_ms {med['tars'] * 1000:.0f} reference {med['ui-tars'] * 1000:.0f} (ui-tars), "
              f"{med['python'] * 1000:.0f} (python) target <=150 and below ui-tars")
    print(f"FIGURE parse_rate {rate:.0f} reference {ref_rate if reference is not None else float('nan'):.0f} "
          "target above ui-tars")


if __name__ == "__main__":
    main()
