"""Loop overhead per step and memory over 200 steps (issue: agent loop, benchmarks).

Starts its own Xvfb at 1920x1080 with an xterm on it, then measures, per step:
  tars:      Agent loop with a scripted policy that prepares and encodes the screenshots as
             the OpenAI-compatible policy does (smart_resize + PNG level 1 data URL), parse,
             dry-run execute, trajectory recording -- observe/think/act from timings_ms;
  reference: pyautogui.screenshot(), PNG base64 at Pillow's default compression, the
             ui-tars package's parser, the same PNG written to disk.
Then runs 200 scripted steps and prints resident memory at steps 20, 100 and 200.
Figures only; nothing here passes or fails.
"""

from __future__ import annotations

import base64
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tars.agent.display import VirtualDisplay  # noqa: E402

REPLY = "Thought: press the button\nAction: click(start_box='(966,546)')"


def main() -> None:
    with VirtualDisplay(1920, 1080, wm=True) as display:
        os.environ.update(display.env())
        term = subprocess.Popen(["xterm", "-geometry", "120x40+100+100", "-e", "top"],
                                env=display.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        try:
            run(display)
        finally:
            term.terminate()


def run(display) -> None:
    import psutil
    import pyautogui
    from ui_tars.action_parser import parse_action_to_structure_output

    from tars.actions.coords import CoordSpace
    from tars.desktop.dryrun import DryRunOperator
    from tars.agent.hooks import Hook
    from tars.agent.loop import Agent, AgentConfig
    from tars.agent.trajectory import TrajectoryRecorder
    from tars.models.vision import data_url, prepare_image

    space = CoordSpace("resized")

    class EncodingPolicy:
        """Scripted answers, after doing the image work a real remote policy does."""

        name, model_id = "bench", None

        def __init__(self):
            self.space = space

        def act(self, prompt):
            for image in prompt.images()[-1:]:  # the new screenshot; older ones are cached
                data_url(prepare_image(image, space))
            # vary the point so the loop detector stays quiet
            return REPLY.replace("966", str(900 + len(prompt.turns) % 50))

        def close(self):
            pass

    class Timings(Hook):
        def __init__(self):
            self.rows, self.rss = [], {}

        def step_end(self, record):
            self.rows.append(record.timings_ms)
            if record.step_num in (20, 100, 200):
                self.rss[record.step_num] = psutil.Process().memory_info().rss / 2**20

    steps = 30
    with tempfile.TemporaryDirectory() as tmp:
        timings = Timings()
        agent = Agent(EncodingPolicy(), DryRunOperator(allow_blank=True), AgentConfig(max_steps=steps, settle=False),
                      [timings, TrajectoryRecorder(Path(tmp) / "run")])
        t0 = time.perf_counter()
        agent.run("benchmark")
        wall = (time.perf_counter() - t0) * 1e3 / steps
    med = {k: statistics.median(r[k] for r in timings.rows) for k in ("observe", "think", "act")}

    ref = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(steps):
            t = time.perf_counter()
            shot = pyautogui.screenshot()
            buf = io.BytesIO()
            shot.save(buf, format="PNG")
            base64.b64encode(buf.getvalue())
            parse_action_to_structure_output(REPLY, 28, 1080, 1920, model_type="qwen25vl")
            shot.save(Path(tmp) / f"{i}.png")
            ref.append((time.perf_counter() - t) * 1e3)

    print("loop overhead per step at 1920x1080 (median ms, scripted policy, dry-run operator)")
    print(f"  tars      observe {med['observe']:7.1f}  think(prepare+encode+answer) {med['think']:7.1f}"
          f"  parse+act+record {med['act']:7.1f}  whole step {wall:7.1f}")
    print(f"  reference pyautogui.screenshot + PNG base64 + ui-tars parser + PNG write: "
          f"{statistics.median(ref):7.1f}")

    timings = Timings()
    with tempfile.TemporaryDirectory() as tmp:
        agent = Agent(EncodingPolicy(), DryRunOperator(allow_blank=True), AgentConfig(max_steps=200, settle=False),
                      [timings, TrajectoryRecorder(Path(tmp) / "run")])
        agent.run("memory")
    print("resident memory over 200 scripted steps (MiB): "
          + ", ".join(f"step {k}: {v:.1f}" for k, v in sorted(timings.rss.items()))
          + f"  (growth 20->200: {timings.rss.get(200, 0) - timings.rss.get(20, 0):+.1f} MiB)")


if __name__ == "__main__":
    main()
