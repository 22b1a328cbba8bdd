"""The two harnesses, rule by rule: a scripted OpenAI-compatible endpoint (tests/openai_server.py,
the wire protocol of vLLM) answers a real OpenAIPolicy driven by the agent loop on a dry-run
operator; the requests the server received show what each harness sends. The OSWorld scoring
rule is compared with OSWorld's own ``DesktopEnv.evaluate`` (desktop-env 1.0.2)."""

from __future__ import annotations

import itertools

import pytest
from openai_server import ChatServer, completion
from PIL import Image
from reference_agents import load_desktop_env_class

from tars.actions.space import Click
from tars.agent.harness import OSWORLD, TARS, get_harness, score_task
from tars.agent.loop import Agent, AgentConfig
from tars.desktop.dryrun import DryRunOperator
from tars.models.openai_compat import OpenAIPolicy
from tars.models.profiles import PROFILES

CLICK = "Thought: click it\nAction: click(start_box='(100,100)')"
CALL_USER = "Thought: I cannot do this\nAction: call_user()"
FINISHED = "Thought: done\nAction: finished(content='ok')"
GARBAGE = "I am not sure what to do here."


def screens(n: int = 8) -> list[Image.Image]:
    return [Image.new("RGB", (640, 400), (30 * i % 256, 120, 200)) for i in range(n)]


def run(replies: list[str], harness: str, max_steps: int = 10, model: str = "UI-TARS-1.5-7B"):
    server = ChatServer([(200, completion(r), 0) for r in replies])
    try:
        policy = OpenAIPolicy(server.url, model=model, backoff=0)
        op = DryRunOperator(images=screens())
        config = AgentConfig(max_steps=max_steps, settle=False, harness=harness, sleep_after_execution=0.0)
        agent = Agent(policy, op, config)
        result = agent.run("Open the file menu")
        policy.close()
    finally:
        server.close()
    return result, op, server.chats, agent


def test_osworld_sends_the_runner_prompt_language_and_sampling():
    _, _, chats, _ = run([FINISHED], "osworld")
    body = chats[0]
    # run_multienv_uitars15_v1.py runtime_conf (qwen25vl_normal): temperature 0, top_p 0.9,
    # max_tokens 1000, and UITARSAgent.predict's frequency_penalty=1
    assert (body["temperature"], body["top_p"], body["frequency_penalty"], body["max_tokens"]) == (0.0, 0.9, 1, 1000)
    prompt = body["messages"][1]["content"][0]["text"]
    assert "- Use Chinese in `Thought` part." in prompt
    assert "finished(content='xxx')" in prompt and "call_user()" not in prompt  # the NORMAL variant


def test_tars_sends_the_deploy_guide_sampling_and_the_call_user_variant():
    _, _, chats, _ = run([FINISHED], "tars")
    body = chats[0]
    assert body["temperature"] == 0.0 and body["max_tokens"] == 1000
    assert "top_p" not in body and "frequency_penalty" not in body
    prompt = body["messages"][1]["content"][0]["text"]
    assert "- Use English in `Thought` part." in prompt and "call_user()" in prompt


def test_four_call_user_in_a_row():
    result, op, chats, _ = run([CALL_USER] * 4 + [CLICK] * 3, "osworld")
    # uitars15_v1: callusr_tolerance 3 -> three WAITs, the fourth is FAIL; nothing performed
    assert result.status == "call_user" and result.final_action == "FAIL" and result.steps == 4
    assert len(chats) == 4 and op.executed == []
    # each tolerated call_user stays in the history as the model's answer
    assert [m["role"] for m in chats[3]["messages"]].count("assistant") == 3
    result, _, chats, _ = run([CALL_USER], "tars")
    assert result.status == "call_user" and result.final_action == "FAIL" and result.steps == 1


def test_unparsable_answer_is_resent_unchanged_at_temperature_1():
    result, _, chats, _ = run([GARBAGE, FINISHED], "osworld")
    assert result.status == "finished" and result.final_action == "DONE"
    assert len(chats) == 2
    assert chats[1]["messages"] == chats[0]["messages"]  # nothing fed back
    assert chats[0]["temperature"] == 0.0 and chats[1]["temperature"] == 1.0
    assert chats[1]["top_p"] == 0.9 and chats[1]["frequency_penalty"] == 1
    # tars: the failed answer and the parse error go back to the model, greedy again
    _, _, chats, _ = run([GARBAGE, FINISHED], "tars")
    assert chats[1]["temperature"] == 0.0
    assert len(chats[1]["messages"]) == len(chats[0]["messages"]) + 2
    assert chats[1]["messages"][-2] == {"role": "assistant", "content": [{"type": "text", "text": GARBAGE}]}
    assert "could not be parsed" in chats[1]["messages"][-1]["content"][0]["text"]


def test_three_unparsable_answers_end_the_run_as_done():
    result, _, chats, _ = run([GARBAGE] * 3, "osworld")
    # try_times 3, then ("client error", ["DONE"])
    assert len(chats) == 3 and result.status == "error" and result.final_action == "DONE"


def test_last_allowed_step_is_replaced_by_fail():
    result, op, chats, _ = run([CLICK] * 3, "osworld", max_steps=3)
    assert result.status == "max_steps" and result.final_action == "FAIL" and result.steps == 3
    assert len(op.executed) == 2 and all(isinstance(a, Click) for a in op.executed)  # not the third
    result, op, _, _ = run([CLICK] * 3, "tars", max_steps=3)
    assert result.status == "max_steps" and result.final_action is None
    assert len(op.executed) == 3


def test_finished_on_the_last_step_is_not_replaced():
    result, _, _, _ = run([CLICK, FINISHED], "osworld", max_steps=2)
    assert result.status == "finished" and result.final_action == "DONE"


def test_no_loop_breaker_and_no_error_text_under_osworld():
    # the same click on an unchanged screen: tars warns, then ends the run; OSWorld goes on
    same = [Image.new("RGB", (640, 400), "white")]
    for harness, expected_steps in (("tars", 4), ("osworld", 6)):
        server = ChatServer([(200, completion(CLICK), 0)] * 6)
        try:
            policy = OpenAIPolicy(server.url, model="UI-TARS-1.5-7B", backoff=0)
            op = DryRunOperator(images=same)
            config = AgentConfig(max_steps=6, settle=False, harness=harness, sleep_after_execution=0.0)
            result = Agent(policy, op, config).run("click")
        finally:
            server.close()
        assert result.steps == expected_steps, harness
        texts = [p.get("text", "") for b in server.chats for m in b["messages"] if m["role"] == "user"
                 for p in m["content"]]
        assert any("did not change" in t for t in texts) == (harness == "tars")


def test_fixed_sleep_after_each_action():
    server = ChatServer([(200, completion(CLICK), 0), (200, completion(FINISHED), 0)])
    try:
        policy = OpenAIPolicy(server.url, model="UI-TARS-1.5-7B", backoff=0)
        config = AgentConfig(max_steps=5, settle=False, harness="osworld", sleep_after_execution=0.3)
        result = Agent(policy, DryRunOperator(images=screens()), config).run("x")
    finally:
        server.close()
    assert result.status == "finished" and result.seconds >= 0.3


def test_harness_rules_are_recorded():
    _, _, _, agent = run([FINISHED], "osworld")
    rules = agent.harness.public()
    assert rules["call_user_tolerance"] == 3 and rules["last_step_fail"] is True
    assert rules["runner"].startswith("run_multienv_uitars15_v1.py")
    assert get_harness("osworld", PROFILES["ui-tars-1.0"]).space == (
        ("min_pixels", 3136), ("max_pixels", 2116800), ("prescale", True))
    with pytest.raises(ValueError, match="no OSWorld runner"):
        get_harness("osworld", PROFILES["gta1"] if "gta1" in PROFILES else PROFILES["qwen3-vl"])
    with pytest.raises(ValueError, match="unknown harness"):
        get_harness("webarena")
    assert get_harness(None) is TARS and set(OSWORLD) == {"uitars-1.5", "uitars-1.0", "doubao"}


# -- the scoring rule against OSWorld's own DesktopEnv.evaluate -------------------------------

class _Env:
    """The attributes DesktopEnv.evaluate reads; the metric is a plain function."""

    def __init__(self, func: str, last_action, metric_value: float):
        class Setup:
            def setup(self, config, use_proxy=False):
                return True

        self.evaluator = {"func": func, "result": {"type": "x"}}
        self.setup_controller = Setup()
        self.enable_proxy = False
        self.is_environment_used = False
        self.action_history = [] if last_action is None else ["pyautogui.click(1, 1)", last_action]
        self.metric = lambda result, **options: metric_value
        self.result_getter = lambda env, config: "state"
        self.expected_getter = None
        self.metric_options = {}
        self.metric_conj = "and"


@pytest.mark.parametrize("infeasible,final,metric", list(itertools.product(
    [False, True], [None, "DONE", "FAIL", "WAIT", "pyautogui.click(5, 5)"], [0.0, 0.5, 1.0])))
def test_osworld_scoring_equals_desktop_env_evaluate(infeasible, final, metric):
    DesktopEnv = load_desktop_env_class()
    env = _Env("infeasible" if infeasible else "check_something", final, metric)
    reference = DesktopEnv.evaluate(env)
    word = final if final in ("DONE", "FAIL", "WAIT") else None
    assert score_task("osworld", infeasible, word, lambda: metric) == reference


def test_tars_scoring_rule():
    assert score_task("tars", False, "FAIL", lambda: 1.0) == 1.0  # the state counts
    assert score_task("tars", True, "FAIL", lambda: 0.0) == 1.0
    assert score_task("tars", True, "FAIL", lambda: 0.0, touched=True) == 0.0  # gave up after acting
    assert score_task("tars", True, None, lambda: 1.0) == 0.0
    assert score_task("osworld", True, "FAIL", lambda: 0.0, touched=True) == 1.0
    with pytest.raises(ValueError):
        score_task("webarena", False, None, lambda: 1.0)


# -- grounding: the template's layout on the wire, and the harness's sampling ------------------

def _ground(model: str, harness: str):
    from tars.evals.grounding import predict_point

    server = ChatServer([(200, completion("Action: click(start_box='(500,500)')"), 0)])
    try:
        policy = OpenAIPolicy(server.url, model=model, backoff=0)
        point = predict_point(policy, Image.new("RGB", (800, 600), "white"), "the OK button", harness)
        policy.close()
    finally:
        server.close()
    return point, server.chats[0]


def test_grounding_requests_follow_their_reference_layout():
    # UI-TARS-1.0 (README_v1): one user message, the image first, then prompt + instruction
    point, body = _ground("UI-TARS-7B-DPO", "tars")
    assert [m["role"] for m in body["messages"]] == ["user"]
    parts = body["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["image_url", "text"]
    assert parts[1]["text"].startswith("Output only the coordinate of one point") and point == (400.0, 300.0)
    # UI-TARS-1.5 (codes/prompts.py GROUNDING): the agent layout, text then image
    _, body = _ground("UI-TARS-1.5-7B", "tars")
    assert [m["role"] for m in body["messages"]] == ["system", "user", "user"]
    assert body["messages"][1]["content"][0]["text"].endswith("## User Instruction\nthe OK button")
    assert body["messages"][2]["content"][0]["type"] == "image_url"
    assert "top_p" not in body and "frequency_penalty" not in body


def test_grounding_under_osworld_gets_its_sampling():
    _, body = _ground("UI-TARS-1.5-7B", "osworld")
    assert (body["temperature"], body["top_p"], body["frequency_penalty"], body["max_tokens"]) == (0.0, 0.9, 1, 1000)


def test_app_settings_carry_the_harness():
    from tars.frontends.app.settings import AppSettings, load_settings

    assert AppSettings(harness="osworld").run_options().harness == "osworld"
    assert AppSettings().run_options().harness == "tars"

    class Store(dict):  # the part of QSettings load_settings uses
        def beginGroup(self, name): pass
        def endGroup(self): pass
        def contains(self, key): return key in self
        def value(self, key): return self[key]

    assert load_settings(Store(harness="osworld")).harness == "osworld"
    assert load_settings(Store(harness="nonsense")).harness == "tars"
