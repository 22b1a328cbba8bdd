"""Loop overhead per step: the critical path at 1920x1080, and memory over 200 steps.

Starts its own Xvfb at 1920x1080 with an xterm running `top` on it, then measures:

  tars:      the Agent loop with settling on, the real ``openai`` policy's request building
             (``OpenAIPolicy.build_messages``: smart_resize + PNG level 1 data URLs through its
             FrameEncoder, 5-image history) and the JSON body, then a simulated model that
             answers after ``--think`` seconds; parse, dry-run execute, trajectory recording.
             The *critical path* of a step is (request body ready - settle end) + (first
             input event - answer arrived): what happens between the screen settling and the
             request leaving, and between the answer and the input events. Encoding the
             settled frame (during settling) and writing the trajectory PNG (during the
             model's thinking) are off it only where they really overlap; the whole step's
             wall time is printed too.
  reference: pyautogui.screenshot(), PNG base64 at Pillow's default compression, the
             ui-tars package's parser, the same PNG written to disk: all on the path.

Steps after an action are counted (the first step has nothing to settle, so its encoding is
on the path: printed apart). Then 200 steps and the resident memory at steps 20, 100, 200.
Figures only; nothing here passes or fails.

    .venv/bin/python benchmarks/bench_loop.py [--steps 30] [--think 0.3]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
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
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--think", type=float, default=0.3, help="simulated model seconds per answer")
    args = ap.parse_args()
    with VirtualDisplay(1920, 1080, wm=True) as display:
        os.environ.update(display.env())
        term = subprocess.Popen(["xterm", "-geometry", "120x40+100+100", "-e", "top"],
                                env=display.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        try:
            run(args.steps, args.think)
        finally:
            term.terminate()


def run(steps: int, think: float) -> None:
    import psutil
    import pyautogui
    from ui_tars.action_parser import parse_action_to_structure_output

    from tars.agent.hooks import Hook
    from tars.agent.loop import Agent, AgentConfig
    from tars.agent.trajectory import TrajectoryRecorder
    from tars.desktop.dryrun import DryRunOperator
    from tars.models.base import Policy
    from tars.models.openai_compat import OpenAIPolicy

    class BenchPolicy(Policy):
        """The openai policy's request building, then a model that takes ``think`` s."""

        name = "bench"

        def __init__(self, think: float):
            self.inner = OpenAIPolicy("http://127.0.0.1:9/v1", model="ui-tars-1.5-7b")
            self.space = self.inner.space
            self.profile = self.inner.profile
            self.think = think
            self.ready: list[float] = []
            self.answered: list[float] = []

        def prefetch(self, image):
            self.inner.prefetch(image)

        def act(self, prompt):
            sent = self.inner.shrink_prompt(prompt, len(prompt.images()))
            self.inner._trim_cache(sent.images())
            body = json.dumps({"model": self.inner.model, "messages": self.inner.build_messages(sent),
                               "max_tokens": 400, "temperature": 0.0})
            self.ready.append(time.perf_counter())
            del body
            time.sleep(self.think)  # the model thinking (and the network)
            self.answered.append(time.perf_counter())
            # vary the point so the loop detector stays quiet
            return REPLY.replace("966", str(900 + len(prompt.turns) % 50))

        def close(self):
            self.inner.close()

    class Timings(Hook):
        def __init__(self):
            self.settled: dict[int, float] = {}
            self.acted: dict[int, float] = {}
            self.rows: list[dict] = []
            self.rss: dict[int, float] = {}

        def after_observe(self, step_num, observation):
            self.settled[step_num] = time.perf_counter()

        def before_action(self, step_num, action, geometry):
            self.acted.setdefault(step_num, time.perf_counter())

        def step_end(self, record):
            self.rows.append(record.timings_ms)
            if record.step_num in (20, 100, 200):
                self.rss[record.step_num] = psutil.Process().memory_info().rss / 2**20

    with tempfile.TemporaryDirectory() as tmp:
        timings, policy = Timings(), BenchPolicy(think)
        op = DryRunOperator(allow_blank=True)
        agent = Agent(policy, op, AgentConfig(max_steps=steps, settle=True), [timings, TrajectoryRecorder(Path(tmp) / "run")])
        t0 = time.perf_counter()
        agent.run("benchmark")
        wall = (time.perf_counter() - t0) * 1e3 / steps
        op.close()
        policy.close()
    to_request = [(policy.ready[n - 1] - timings.settled[n]) * 1e3 for n in range(1, steps + 1)]
    to_input = [(timings.acted[n] - policy.answered[n - 1]) * 1e3 for n in range(1, steps + 1)]
    critical = [a + b for a, b in zip(to_request, to_input)]
    later = critical[1:]

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
    ref_med = statistics.median(ref)
    med = statistics.median(later)

    print(f"loop step at 1920x1080, {steps} steps, settling on, simulated model {think:g} s (median ms)")
    print(f"  tars critical path (settle end -> request ready, answer -> input): {med:7.1f}"
          f"  [{statistics.median(to_request[1:]):.1f} + {statistics.median(to_input[1:]):.1f}]"
          f"  first step (no settling to overlap): {critical[0]:.1f}")
    print(f"  tars whole step (settle + model + record): {wall:7.1f}   observe incl. settling "
          f"{statistics.median(r['observe'] for r in timings.rows[1:]):.1f}")
    print(f"  reference pyautogui.screenshot + PNG base64 + ui-tars parser + PNG write: {ref_med:7.1f}"
          f"   ratio {ref_med / med:.1f}x")
    print(f"FIGURE loop_critical_ms {med:.1f} reference {ref_med:.1f} target <=10 and >=3x")

    timings = Timings()
    with tempfile.TemporaryDirectory() as tmp:
        policy = BenchPolicy(0.0)
        op = DryRunOperator(allow_blank=True)
        agent = Agent(policy, op, AgentConfig(max_steps=200, settle=False),
                      [timings, TrajectoryRecorder(Path(tmp) / "run")])
        agent.run("memory")
        op.close()
        policy.close()
    growth = timings.rss.get(200, 0) - timings.rss.get(20, 0)
    print("resident memory over 200 steps (MiB): "
          + ", ".join(f"step {k}: {v:.1f}" for k, v in sorted(timings.rss.items()))
          + f"  (growth 20->200: {growth:+.1f} MiB)")
    print(f"FIGURE memory_growth_mib {growth:.1f} reference - target flat")


if __name__ == "__main__":
    main()
