"""Work moved off the loop's critical path really overlaps, and a kill still leaves a readable
trajectory.

Overlap is proven by timestamps (time.perf_counter() spans recorded by the encoder, the
recorder and the test's policy/operator), never by timing how long a step took.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tars.actions.coords import CoordSpace
from tars.agent.loop import Agent, AgentConfig
from tars.agent.trajectory import TrajectoryRecorder, read_trajectory
from tars.desktop.dryrun import DryRunOperator
from tars.models.base import Policy, Prompt
from tars.models.prefetch import FrameEncoder
from tars.models.vision import data_url, prepare_image

REPO = Path(__file__).resolve().parents[1]


def noise(seed: int, size=(640, 400)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


class EncodingPolicy(Policy):
    """Answers a click after sending its screenshots as data URLs (the ``openai`` policy's
    image path: smart_resize + PNG + base64 through a :class:`FrameEncoder`), taking
    ``think`` seconds as a model would. Records when each act ran."""

    name = "encoding"

    def __init__(self, think: float = 0.0, steps: int = 3) -> None:
        self.space = CoordSpace("resized")
        self.encoder: FrameEncoder[str] = FrameEncoder(lambda im: data_url(prepare_image(im, self.space)))
        self.think, self.steps = think, steps
        self.acts: list[tuple[float, float, int]] = []  # (start, urls ready, id of screenshot)
        self.sent: list[Image.Image] = []

    def prefetch(self, image):
        self.encoder.prefetch(image)

    def act(self, prompt: Prompt) -> str:
        start = time.perf_counter()
        images = prompt.images()
        self.encoder.keep(images)
        for image in images:
            self.encoder.get(image)
        self.acts.append((start, time.perf_counter(), id(images[-1])))
        self.sent.append(images[-1])
        time.sleep(self.think)
        if len(self.acts) >= self.steps:
            return "Thought: done\nAction: finished(content='ok')"
        return f"Thought: go\nAction: click(start_box='({100 + len(self.acts)},200)')"

    def close(self):
        self.encoder.close()


class TimedCapture(DryRunOperator):
    """The real screen (mss), with the time each frame was taken."""

    def __init__(self):
        super().__init__(allow_blank=True)
        self.frames: list[tuple[float, Image.Image]] = []  # kept alive: ids are never reused

    def observe(self):
        obs = super().observe()
        self.frames.append((time.perf_counter(), obs.image))
        return obs


@pytest.mark.display
def test_settled_frame_is_encoded_while_its_successor_is_awaited(virtual_display):
    virtual_display(800, 600)
    subprocess.run(["xsetroot", "-solid", "#4070a0"], env=dict(os.environ), check=False)
    policy = EncodingPolicy(steps=3)
    op = TimedCapture()
    agent = Agent(policy, op, AgentConfig(max_steps=5, settle=True, settle_interval=0.3))
    try:
        assert agent.run("click around").status == "finished"
    finally:
        op.close()
        policy.close()
    spans = {s.key: s for s in policy.encoder.spans}
    for act_start, ready, key in policy.acts[1:]:  # steps after an action settle first
        # the frame sent is one that was compared against a successor taken after it
        taken = [t for t, im in op.frames if id(im) == key]
        later = [t for t, _ in op.frames if taken[0] < t < act_start]
        assert taken and later, "the settled frame must be the earlier of the compared pair"
        span = spans[key]
        assert span.prefetched, "the settled frame was encoded ahead, not when the request was built"
        # encoding began before the successor frame was grabbed: it overlapped the settle wait
        assert span.start < later[0]
        # and act found it done or in progress: nothing was encoded twice
        assert sum(1 for s in policy.encoder.spans if s.key == key) == 1
        assert ready >= span.end


def test_screenshot_png_is_written_while_the_model_thinks(tmp_path):
    policy = EncodingPolicy(think=0.4, steps=3)
    op = DryRunOperator(images=[noise(1), noise(2), noise(3)])
    recorder = TrajectoryRecorder(tmp_path / "run")
    agent = Agent(policy, op, AgentConfig(settle=False), [recorder])
    assert agent.run("record me").status == "finished"
    assert [w[0] for w in recorder.writes] == [1, 2, 3]
    for (step, w_start, w_end), (act_start, _, _) in zip(recorder.writes, policy.acts):
        think_end = act_start + policy.think
        # the write ran inside the step's thinking time, not after it
        assert w_start < think_end and w_end <= think_end + 0.35, (step, w_start, w_end, act_start)
    traj = read_trajectory(tmp_path / "run")
    for n, step in enumerate(traj.steps, start=1):
        assert Image.open(traj.screenshot_path(step)).tobytes() == noise(n).tobytes()
    assert not list((tmp_path / "run").glob("*.tmp"))


CHILD = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from PIL import Image
    from tars.agent.loop import Agent, AgentConfig
    from tars.agent.trajectory import TrajectoryRecorder
    from tars.desktop.dryrun import DryRunOperator
    from tars.models.scripted import ScriptedPolicy

    folder, asked = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(0)
    frames = [Image.fromarray(rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)) for _ in range(4)]

    def answer(prompt):
        n = len(prompt.turns)
        with open(asked, "a") as f:   # which step is being answered, on disk before answering
            f.write(f"{n}\\n"); f.flush(); os.fsync(f.fileno())
        time.sleep(0.05)
        return f"Thought: step {n}\\nAction: click(start_box='({n},{n})')"

    op = DryRunOperator(images=frames)
    agent = Agent(ScriptedPolicy([answer] * 1000), op,
                  AgentConfig(max_steps=1000, settle=False, loop_limit=10**6),
                  [TrajectoryRecorder(folder)])
    agent.run("never ends")
""")


@pytest.mark.parametrize("kill_after", [3, 6])
def test_a_killed_run_loses_at_most_the_step_in_flight(tmp_path, kill_after):
    folder, asked = tmp_path / "run", tmp_path / "asked.txt"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder), str(asked)], env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            steps = folder / "steps.jsonl"
            if steps.exists() and steps.read_text().count("\n") >= kill_after:
                break
            assert child.poll() is None, "the run ended by itself"
            time.sleep(0.01)
        else:
            pytest.fail("the run did not reach the step to kill it at")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    last_asked = int(asked.read_text().split()[-1])
    traj = read_trajectory(folder)
    numbers = [s.step_num for s in traj.steps]
    assert numbers == list(range(1, len(numbers) + 1))  # contiguous, nothing torn in between
    # only the step being answered (or acted on) when the kill came may be missing
    assert len(numbers) >= last_asked - 1, (numbers, last_asked)
    for step in traj.steps:  # every listed screenshot exists and is a whole PNG
        path = traj.screenshot_path(step)
        assert path is not None
        with Image.open(path) as im:
            im.load()
            assert im.size == (1280, 720)
