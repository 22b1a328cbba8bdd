"""The agent loop with a scripted policy on a dry-run operator: every way a run can end."""

from __future__ import annotations

import threading
import time

from PIL import Image

from tars.actions.coords import CoordSpace
from tars.actions.space import Click, Type
from tars.agent.hooks import Hook
from tars.agent.loop import Agent, AgentConfig
from tars.desktop.dryrun import DryRunOperator
from tars.models.scripted import ScriptedPolicy, ScriptExhausted


def screens(n: int = 1, size=(400, 300)) -> list[Image.Image]:
    return [Image.new("RGB", size, (i * 40 % 256, 100, 150)) for i in range(n)]


class Events(Hook):
    def __init__(self):
        self.names: list[str] = []
        self.records = []
        self.outputs = []

    def run_start(self, info):
        self.names.append("run_start")

    def before_observe(self, n):
        self.names.append("before_observe")

    def after_observe(self, n, obs):
        self.names.append("after_observe")

    def model_output(self, n, text, step, error):
        self.names.append("model_output")
        self.outputs.append((text, error))

    def before_action(self, n, action, geometry):
        self.names.append("before_action")

    def step_end(self, record):
        self.names.append("step_end")
        self.records.append(record)

    def run_end(self, result):
        self.names.append("run_end")


def run(replies, images=None, config=None, space=None):
    policy = ScriptedPolicy(replies, space=space)
    op = DryRunOperator(images=images or screens(3))
    events = Events()
    agent = Agent(policy, op, config or AgentConfig(settle=False), [events])
    return agent.run("test task"), op, events, policy


def test_finished_after_actions_converts_to_screen_points():
    result, op, events, policy = run([
        "Thought: click the button\nAction: click(start_box='(100,50)')",
        "Thought: type\nAction: type(content='hello\\n')",
        "Thought: done\nAction: finished(content='all good')",
    ])
    assert result.status == "finished" and result.content == "all good" and result.exit_code == 0
    assert result.steps == 3
    assert op.executed == [Click(100, 50), Type("hello\n")]
    assert events.names[0] == "run_start" and events.names[-1] == "run_end"
    assert events.names.count("step_end") == 3
    # every earlier answer is in the next prompt
    assert policy.prompts[2].turns[0].response.startswith("Thought: click the button")


def test_relative_space_converted_once():
    result, op, _, _ = run(
        ["Action: click(start_box='(500,500)')", "Action: finished()"],
        space=CoordSpace("relative"))
    assert op.executed == [Click(200, 150)]


def test_call_user_ends_with_exit_1():
    result, op, _, _ = run(["Thought: I need a password\nAction: call_user()"])
    assert result.status == "call_user" and result.exit_code == 1 and op.executed == []


def test_max_steps():
    replies = ["Action: click(start_box='(1,1)')", "Action: click(start_box='(2,2)')"]
    result, op, _, _ = run(replies, config=AgentConfig(max_steps=2, settle=False))
    assert result.status == "max_steps" and result.steps == 2


def test_bad_output_is_fed_back_and_retried_then_succeeds():
    result, op, events, policy = run([
        "I think I should click somewhere",
        "Action: click(start_box='=')",
        "Thought: ok\nAction: click(start_box='(10,10)')",
        "Action: finished()",
    ])
    assert result.status == "finished"
    assert op.executed == [Click(10, 10)]
    assert [e is not None for _, e in events.outputs] == [True, True, False, False]
    retry_prompt = policy.prompts[2]
    feedback = [t.feedback for t in retry_prompt.turns if t.feedback]
    assert len(feedback) == 2 and "could not be parsed" in feedback[0]
    assert events.records[0].attempts == 3
    # the failed attempts are not kept in the history of later steps
    assert all(t.response != "I think I should click somewhere" for t in policy.prompts[3].turns)


def test_unparseable_after_retries_ends_cleanly():
    result, op, events, policy = run(["nonsense"] * 4)
    assert result.status == "error" and "did not parse" in result.error
    assert len(policy.prompts) == 4 and op.executed == []
    assert events.records[-1].error and events.names[-1] == "run_end"


def test_repeated_action_on_unchanged_screen_is_reported_then_ends():
    same = "Thought: again\nAction: click(start_box='(5,5)')"
    result, op, events, policy = run([same] * 4, images=screens(1))
    assert result.status == "error" and "loop" in result.error
    assert len(op.executed) == 3
    warned = [t.feedback for t in policy.prompts[3].turns if t.feedback]
    assert warned and "did not change" in warned[-1]


def test_operator_error_is_fed_back():
    result, op, events, policy = run([
        "Action: click(start_box='(5000,5000)')", "Action: finished()"],
        space=CoordSpace("absolute"))
    # a point far beyond the image is refused, and the refusal is fed back to the model
    assert op.executed == [] and result.status == "finished"
    assert "outside the screen" in (policy.prompts[1].turns[0].feedback or "")
    result, op, events, policy = run([
        "Action: click(start_box='(401,301)')", "Action: finished()"], space=CoordSpace("absolute"))
    assert op.executed[0] == Click(399, 299)  # just past the edge (model rounding): clamped
    result, op, events, policy = run(["Action: press_home()", "Action: finished()"])
    assert result.status == "finished"
    assert "failed" in (policy.prompts[1].turns[0].feedback or "")
    assert events.records[0].error


def test_scripted_policy_fails_on_unexpected_call():
    result, _, _, _ = run(["Action: click(start_box='(1,1)')"], config=AgentConfig(max_steps=5, settle=False))
    assert result.status == "error" and "scripted policy called 2 times" in result.error


def test_stop_from_another_thread_and_pause():
    policy = ScriptedPolicy(["Action: click(start_box='(1,1)')"] * 100, delay=0.05)
    op = DryRunOperator(images=screens(100))
    agent = Agent(policy, op, AgentConfig(settle=False, max_steps=100, loop_limit=1000))
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", agent.run("x")))
    t.start()
    time.sleep(0.3)
    agent.pause()
    time.sleep(0.2)
    held = len(policy.prompts)
    time.sleep(0.4)
    assert len(policy.prompts) <= held + 1  # at most the step in flight finishes
    agent.resume()
    time.sleep(0.2)
    assert len(policy.prompts) > held + 1
    t0 = time.monotonic()
    agent.stop()
    t.join(5)
    assert not t.is_alive() and time.monotonic() - t0 < 1.0
    assert out["r"].status == "stopped"


def test_time_limit():
    policy = ScriptedPolicy(["Action: wait()"] * 50)
    agent = Agent(policy, DryRunOperator(images=screens(1)),
                  AgentConfig(settle=False, max_seconds=0.3, loop_limit=1000))
    # wait() would sleep 5 s; a wait never outlasts the time limit
    t0 = time.monotonic()
    result = agent.run("x")
    assert result.status == "timeout"
    assert time.monotonic() - t0 < 2.5


def test_policy_error_ends_run_with_error():
    result, _, events, _ = run([lambda p: (_ for _ in ()).throw(ScriptExhausted("endpoint gone"))])
    assert result.status == "error" and "endpoint gone" in result.error
    assert events.names[-1] == "run_end"
