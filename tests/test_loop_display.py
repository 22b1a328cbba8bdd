"""The loop end to end on Xvfb: scripted replies drive a real window through LocalOperator,
and each way a run ends (finished, call_user, max steps, loop detector, retries) ends as
specified. The window is the probe of the operator tests, which logs what it receives."""

from __future__ import annotations

import pytest
from test_operator_display import Probe

from tars.actions.coords import CoordSpace
from tars.agent.loop import Agent, AgentConfig
from tars.agent.trajectory import TrajectoryRecorder, read_trajectory
from tars.models.scripted import ScriptedPolicy

pytestmark = pytest.mark.display

W, H = 1280, 800


@pytest.fixture
def desk(virtual_display, tmp_path):
    from tars.desktop.local import LocalOperator

    vd = virtual_display(W, H)
    probe = Probe(vd, (0, 0, W, H), tmp_path / "probe.jsonl")
    op = LocalOperator(estop_hotkey=None)
    yield probe, op
    op.close()
    probe.stop()


def edit_centre(probe, space: CoordSpace) -> tuple[int, int]:
    """The probe's text field centre, written in ``space`` as a model would."""
    ex, ey, ew, eh = probe.ready["edit"]
    x, y = space.from_pixels(ex + ew / 2, ey + eh / 2, W, H)
    return round(x), round(y)


def test_scripted_run_types_into_a_real_window_and_finishes(desk, tmp_path):
    probe, op = desk
    space = CoordSpace("resized")  # as UI-TARS-1.5 writes: pixels of the smart_resized image
    x, y = edit_centre(probe, space)
    policy = ScriptedPolicy([
        "I will click the field first",  # no Action: fed back, retried
        f"Thought: click the text field\nAction: click(start_box='<|box_start|>({x},{y})<|box_end|>')",
        "Thought: type the greeting\nAction: type(content='hello tars')",
        "Thought: the text is there\nAction: finished(content='typed')",
    ], space=space)
    agent = Agent(policy, op, AgentConfig(max_steps=5), [TrajectoryRecorder(tmp_path / "run")])
    result = agent.run("type hello tars in the field")
    assert result.status == "finished", result
    assert probe.wait_text("hello tars") == "hello tars"
    clicks = [e for e in probe.events() if e["ev"] == "press"]
    ex, ey, ew, eh = probe.ready["edit"]
    assert abs(clicks[0]["x"] - (ex + ew / 2)) <= 2 and abs(clicks[0]["y"] - (ey + eh / 2)) <= 2
    traj = read_trajectory(tmp_path / "run")
    assert [s.step_num for s in traj.steps] == [1, 2, 3]
    assert traj.steps[0].attempts == 2
    # the screenshot of step 3 shows the typed text arrived before the model was asked again:
    # it differs from step 2's (settling waited for the repaint)
    from PIL import Image

    a = Image.open(tmp_path / "run" / "step-0002.png")
    b = Image.open(tmp_path / "run" / "step-0003.png")
    assert a.tobytes() != b.tobytes()


def test_call_user_touches_nothing(desk):
    probe, op = desk
    policy = ScriptedPolicy(["Thought: there is no such button\nAction: call_user()"])
    result = Agent(policy, op, AgentConfig()).run("press the purple button")
    assert result.status == "call_user"
    assert [e for e in probe.settle() if e["ev"] in ("press", "key")] == []


def test_max_steps_on_a_real_window(desk):
    probe, op = desk
    x, y = edit_centre(probe, CoordSpace("absolute"))
    replies = [f"Action: click(start_box='({x + i * 3},{y})')" for i in range(2)]
    result = Agent(ScriptedPolicy(replies), op, AgentConfig(max_steps=2)).run("keep clicking")
    assert result.status == "max_steps" and result.steps == 2
    assert len([e for e in probe.settle() if e["ev"] == "press"]) == 2


def test_loop_detector_on_a_real_window(desk):
    probe, op = desk
    # a spot of the window outside the text field: clicking it changes nothing on screen
    same = "Thought: click it again\nAction: click(start_box='(40,600)')"
    policy = ScriptedPolicy([same] * 4)
    result = Agent(policy, op, AgentConfig(max_steps=10)).run("click")
    assert result.status == "error" and "loop" in result.error
    assert len([e for e in probe.settle() if e["ev"] == "press"]) == 3
    assert any(t.feedback and "did not change" in t.feedback for t in policy.prompts[-1].turns)
