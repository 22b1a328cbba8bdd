"""Each model family against its reference agent's own code, on several screen sizes.

The reference agents are OSWorld's (``desktop-env`` 1.0.2, ``mm_agents/``), imported by
``reference_agents.load_reference``. For every family the test

1. runs the reference agent's ``predict`` for several steps with a recording ``call_llm`` and
   compares every message it sends (roles, texts byte for byte, image sizes) with what tars
   renders from its own :class:`History` for the same screenshots and answers;
2. parses sample answers with the reference's parser and with tars's, and compares the screen
   pixels both land on (the reference's pyautogui code is read with tars's safe call reader;
   pyautogui itself truncates with ``int()``).

GTA1 and Holo have no reference package: their request is compared with the published model
card / README text (quoted below with its source) and their coordinate rule with the card's.
"""

from __future__ import annotations

import base64
import io
import types

import pytest
from PIL import Image
from reference_agents import load_reference

from tars.actions.coords import ScreenGeometry, action_to_screen, smart_resize
from tars.actions.parse import parse_response
from tars.actions.parse.pycall import read_calls
from tars.agent.history import History
from tars.models.families import render_messages
from tars.models.profiles import get_profile
from tars.models.vision import prepare_image

SIZES = [(1920, 1080), (1280, 800), (2560, 1440)]
INSTRUCTION = "Open the Format menu and make the title bold"


def _module(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _screens(n: int, size: tuple[int, int]) -> list[Image.Image]:
    # distinct corner pixels tell the screenshots apart after resizing
    return [Image.new("RGB", size, (40 * i % 256, 17, 99)) for i in range(n)]


def _ref_messages(messages: list[dict]) -> list[tuple]:
    """Reference messages -> (role, [("text", t) | ("image", (w, h), corner pixel)])."""
    out = []
    for m in messages:
        content = m["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        parts = []
        for p in content:
            if p.get("type") == "text":
                parts.append(("text", p["text"]))
            else:
                raw = base64.b64decode(p["image_url"]["url"].split(",", 1)[1])
                im = Image.open(io.BytesIO(raw))
                parts.append(("image", im.size, im.convert("RGB").getpixel((0, 0))))
        out.append((m["role"], parts))
    return out


def _tars_messages(messages: list[dict], profile, sent_size=None) -> list[tuple]:
    """tars messages -> the same shape; images as the model will see them (``prepare_image``),
    or, with ``sent_size``, as the reference sends them to its server (raw screenshot size)."""
    out = []
    for m in messages:
        parts = []
        for p in m["content"]:
            if p["type"] == "text":
                parts.append(("text", p["text"]))
            else:
                im = p["image"] if sent_size else prepare_image(p["image"], profile.space)
                parts.append(("image", im.size, im.convert("RGB").getpixel((0, 0))))
        out.append((m["role"], parts))
    return out


def _tars_run(profile, screens, answers, step):
    """The messages tars sends at ``step`` (0-based) after ``answers[:step]``."""
    history = History(INSTRUCTION, "", profile.space, max_images=5)
    for i in range(step):
        history.add(screens[i], answers[i])
    return render_messages(history.prompt(screens[step]), profile)


def _assert_same(ref, mine, where):
    assert len(ref) == len(mine), f"{where}: {len(ref)} reference messages, tars {len(mine)}"
    for i, (a, b) in enumerate(zip(ref, mine)):
        assert a == b, f"{where}: message {i} differs\nreference: {a!r:.1500}\ntars:      {b!r:.1500}"


def _on_screen(point: tuple[int, int], size) -> tuple[int, int]:
    """A reference pixel as tars places it: a point past the last pixel (Qwen3-VL's 999 on the
    0..999 grid gives x = W) is put on the last pixel; everything else is unchanged."""
    return min(point[0], size[0] - 1), min(point[1], size[1] - 1)


def _screen_point(text: str, profile, size) -> tuple[int, int]:
    step = parse_response(text)
    action = action_to_screen(step.actions[0], profile.space, ScreenGeometry(*size))
    return next(iter(action.points()))


def _pyautogui_point(code: str) -> tuple[int, int]:
    """The pixel pyautogui would act on for the first pointer call of ``code`` (int())."""
    for call in read_calls(code.replace("\n\n", "\n")):
        if call.name.startswith("pyautogui.") and (call.args or "x" in call.kwargs):
            x = call.kwargs.get("x", call.args[0] if call.args else None)
            y = call.kwargs.get("y", call.args[1] if len(call.args) > 1 else None)
            return int(x), int(y)
    raise AssertionError(f"no pointer call in {code!r}")


# -- Qwen3-VL ---------------------------------------------------------------------------------

QWEN3_ANSWERS = [
    f'Action: Click item {i}\n<tool_call>\n{{"name": "computer_use", "arguments": '
    f'{{"action": "left_click", "coordinate": [{111 * i + 17}, {93 * i + 5}]}}}}\n</tool_call>'
    for i in range(7)
]


@pytest.fixture(scope="module")
def qwen3vl():
    module = load_reference("qwen3vl_agent", extra={"dashscope": _module("dashscope", MultiModalConversation=object)})
    module.logger = _module("log", info=lambda *a, **k: None, error=lambda *a, **k: None)
    return module


@pytest.mark.parametrize("size", SIZES)
def test_qwen3vl_messages_equal_the_reference(qwen3vl, size, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the agent writes ./draft/message_cache/*.json
    profile = get_profile("Qwen/Qwen3-VL-8B-Instruct")
    agent = qwen3vl.Qwen3VLAgent()
    sent: list = []
    agent.call_llm = lambda payload, model: (sent.append(payload), QWEN3_ANSWERS[len(sent) - 1])[1]
    screens = _screens(len(QWEN3_ANSWERS), size)
    for step in range(len(QWEN3_ANSWERS)):
        agent.predict(INSTRUCTION, {"screenshot": _png(screens[step])})
        mine = _tars_messages(_tars_run(profile, screens, QWEN3_ANSWERS, step), profile)
        _assert_same(_ref_messages(sent[-1]["messages"]), mine, f"qwen3-vl {size} step {step + 1}")
    assert sent[-1]["max_tokens"] == profile.max_new_tokens
    assert (sent[-1]["top_p"], sent[-1]["temperature"]) == (profile.top_p, profile.temperature)


@pytest.mark.parametrize("size", SIZES)
def test_qwen3vl_points_land_where_the_reference_clicks(qwen3vl, size):
    profile = get_profile("qwen3-vl")
    agent = qwen3vl.Qwen3VLAgent()
    w, h = size
    for x, y in [(0, 0), (999, 999), (500, 500), (333, 666), (1, 998), (123, 456), (998, 1)]:
        for action, fn in [("left_click", "click"), ("double_click", "doubleClick"),
                           ("right_click", "rightClick"), ("mouse_move", "moveTo")]:
            answer = (f'Action: do it\n<tool_call>\n{{"name": "computer_use", "arguments": '
                      f'{{"action": "{action}", "coordinate": [{x}, {y}]}}}}\n</tool_call>')
            _, code = agent.parse_response(answer, w, h, w, h)
            assert code[0].startswith(f"pyautogui.{fn}(")
            assert _screen_point(answer, profile, size) == _on_screen(_pyautogui_point(code[0]), size), (size, x, y, action)


# -- OpenCUA ----------------------------------------------------------------------------------

OPENCUA_ANSWERS = [
    f"## Thought:\nStep {i} needs a click.\n\n## Action:\nClick the item number {i}\n\n"
    f"## Code:\n```python\npyautogui.click(x={97 * i + 3}, y={55 * i + 9})\n```"
    for i in range(6)
]


@pytest.fixture(scope="module")
def opencua():
    return load_reference("opencua.opencua_agent", extra={"httpx": _module("httpx")})


@pytest.mark.parametrize("size", SIZES)
def test_opencua_messages_equal_the_reference(opencua, size):
    profile = get_profile("xlangai/OpenCUA-7B")
    agent = opencua.OpenCUAAgent(model="opencua-7b", history_type="action_history", max_steps=100,
                                 coordinate_type="qwen25", use_old_sys_prompt=True, screen_size=size,
                                 max_tokens=2048, top_p=0.9, temperature=0)  # run_multienv_opencua defaults
    opencua.logger = _module("log", info=lambda *a, **k: None, error=lambda *a, **k: None,
                             warning=lambda *a, **k: None)
    sent: list = []
    agent.call_llm = lambda payload, model: (sent.append(payload), OPENCUA_ANSWERS[len(sent) - 1])[1]
    screens = _screens(len(OPENCUA_ANSWERS), size)
    for step in range(len(OPENCUA_ANSWERS)):
        agent.predict(INSTRUCTION, {"screenshot": _png(screens[step])})
        mine = _tars_messages(_tars_run(profile, screens, OPENCUA_ANSWERS, step), profile, sent_size=True)
        _assert_same(_ref_messages(sent[-1]["messages"]), mine, f"opencua {size} step {step + 1}")
    assert (sent[-1]["max_tokens"], sent[-1]["top_p"], sent[-1]["temperature"]) == (
        profile.max_new_tokens, profile.top_p, profile.temperature)
    # the reference sends the raw screenshot; its server smart_resizes it to what tars sends
    h, w = smart_resize(size[1], size[0], 28, 3136, 12845056)
    assert prepare_image(screens[0], profile.space).size == (w, h)


@pytest.mark.parametrize("size", SIZES)
def test_opencua_points_land_where_the_reference_clicks(opencua, size):
    profile = get_profile("opencua")
    rh, rw = smart_resize(size[1], size[0], 28, 3136, 12845056)
    for x, y in [(2, 3), (rw - 1, rh - 1), (rw // 2, rh // 3), (1234 % rw, 777 % rh), (28, 56)]:
        answer = f"## Action:\nClick it\n\n## Code:\n```python\npyautogui.click(x={x}, y={y})\n```"
        _, code, _ = opencua.parse_response_to_cot_and_action(answer, size, "qwen25")
        assert _screen_point(answer, profile, size) == _on_screen(_pyautogui_point(code[0]), size), (size, x, y)
    done = "## Action:\nDone\n\n## Code:\n```code\ncomputer.terminate(status='success')\n```"
    assert opencua.parse_response_to_cot_and_action(done, size, "qwen25")[1] == ["DONE"]
    assert parse_response(done).actions[0].name == "finished"
    failed = done.replace("success", "failure")
    assert opencua.parse_response_to_cot_and_action(failed, size, "qwen25")[1] == ["FAIL"]
    assert parse_response(failed).actions[0].name == "call_user"


# -- GUI-Owl ----------------------------------------------------------------------------------

OWL_ANSWERS = [
    f'<thinking>I look at step {i}.</thinking>\n<tool_call>\n{{"name": "computer_use", "arguments": '
    f'{{"action": "click", "coordinate": [{151 * i + 20}, {88 * i + 30}]}}}}\n</tool_call>\n'
    f"<conclusion>Clicked thing {i}.</conclusion>"
    for i in range(4)
]


@pytest.fixture(scope="module")
def owl():
    return load_reference("owl_agent", extra={"oss2": _module("oss2"), "dashscope": _module("dashscope")})


class _Completions:
    def __init__(self, answers):
        self.answers, self.sent = answers, []

    def create(self, **payload):
        self.sent.append(payload)
        text = self.answers[len(self.sent) - 1]
        message = types.SimpleNamespace(content=text)
        return types.SimpleNamespace(choices=[types.SimpleNamespace(message=message)])


def _owl_agent(owl, answers):
    agent = owl.OwlAgent(model="gui-owl-7b", api_url="http://127.0.0.1:9/v1", api_key="x")
    agent.image_format = "base64"  # the agent's other option uploads to OSS
    completions = _Completions(answers)
    agent.llm_client = types.SimpleNamespace(chat=types.SimpleNamespace(completions=completions))
    return agent, completions


@pytest.mark.parametrize("size", SIZES)
def test_owl_messages_equal_the_reference(owl, size):
    """Equal at 1920x1080. Elsewhere equal but for the resolution line: the agent states
    1932x1092 for every screen, tars the smart_resize size of the actual screenshot."""
    profile = get_profile("mPLUG/GUI-Owl-7B")
    agent, completions = _owl_agent(owl, OWL_ANSWERS)
    screens = _screens(len(OWL_ANSWERS), size)
    h, w = smart_resize(size[1], size[0], 28, profile.space.min_pixels, profile.space.max_pixels)
    for step in range(len(OWL_ANSWERS)):
        agent.predict(INSTRUCTION, {"screenshot": _png(screens[step])})
        payload = completions.sent[-1]
        ref = _ref_messages(payload["messages"])
        ref = [(role, [(p[0], p[1].replace("1932x1092", f"{w}x{h}")) if p[0] == "text" else p for p in parts])
               for role, parts in ref]
        # the agent sends its pre-shrunk image; its server smart_resizes that to the model image
        ref = [(role, [("image", _server_size(p[1]), p[2]) if p[0] == "image" else p for p in parts])
               for role, parts in ref]
        mine = _tars_messages(_tars_run(profile, screens, OWL_ANSWERS, step), profile)
        _assert_same(ref, mine, f"gui-owl {size} step {step + 1}")
    assert (payload["max_tokens"], payload["temperature"], payload["top_p"]) == (
        profile.max_new_tokens, profile.temperature, profile.top_p)
    assert payload["extra_body"] == {"repetition_penalty": profile.repetition_penalty, "top_k": profile.top_k}


def _server_size(size):
    h, w = smart_resize(size[1], size[0], 28, 3136, 12845056)
    return (w, h)


def test_owl_points_land_where_the_reference_clicks(owl):
    """At 1920x1080, the only screen the agent is written for, tars clicks its pixels."""
    profile = get_profile("gui-owl")
    size = (1920, 1080)
    for x, y in [(0, 0), (1931, 1091), (966, 546), (100, 1000), (1500, 37)]:
        for action, fn in [("click", "click"), ("double_click", "doubleClick"), ("right_click", "click")]:
            answer = (f'<tool_call>\n{{"name": "computer_use", "arguments": {{"action": "{action}", '
                      f'"coordinate": [{x}, {y}]}}}}\n</tool_call>\n<conclusion>ok</conclusion>')
            parsed = owl.parse_action_fncall(answer, None, 1080, 1920)
            code = owl.parsing_response_to_pyautogui_code(parsed[0], 1080, 1920)
            assert f"pyautogui.{fn}(" in code
            ref = _pyautogui_point("\n".join(l for l in code.splitlines() if l.startswith("pyautogui.")))
            assert _screen_point(answer, profile, size) == _on_screen(ref, size), (x, y, action)


# -- Jedi grounder ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def jedi():
    module = load_reference("jedi_7b_agent")
    module.logger = _module("log", info=lambda *a, **k: None, error=lambda *a, **k: None)
    return module


@pytest.mark.parametrize("size", SIZES)
def test_jedi_grounder_request_and_point_equal_the_reference(jedi, size):
    profile = get_profile("xlangai/Jedi-7B-1080p")
    agent = jedi.JediAgent7B(executor_model="jedi-7b")
    w, h = size
    rh, rw = smart_resize(h, w, max_pixels=2700 * 28 * 28)
    x, y = rw * 3 // 7, rh * 5 // 9
    answer = f'<tool_call>\n{{"name": "computer_use", "arguments": {{"action": "left_click", "coordinate": [{x}, {y}]}}}}\n</tool_call>'
    sent: list = []
    agent.call_llm = lambda payload, model: (sent.append(payload), answer)[1]
    screen = _screens(1, size)[0]
    line = "# Click the Bold button in the toolbar\npyautogui.click(x=1, y=2)"
    code = agent.convert_action_to_grounding_model_instruction(line, {"screenshot": _png(screen)}, INSTRUCTION,
                                                               h, w, rh, rw)
    history = History("Click the Bold button in the toolbar", "", profile.space)
    mine = _tars_messages(render_messages(history.prompt(screen), profile), profile, sent_size=True)
    _assert_same(_ref_messages(sent[0]["messages"]), mine, f"jedi {size}")
    assert prepare_image(screen, profile.space).size == (rw, rh)  # the size the prompt states
    assert _screen_point(answer, profile, size) == _pyautogui_point(code.split("\n", 1)[1])
    assert sent[0]["temperature"] == profile.temperature and sent[0]["top_p"] == profile.top_p


# -- published cards: GTA1, Holo1.5, Holo3 ---------------------------------------------------

#: github.com/Yan98/GTA1 README, inference snippet (SYSTEM_PROMPT, stripped)
GTA1_PUBLISHED = (
    "You are an expert UI element locator. Given a GUI image and a user's element description, provide "
    "the coordinates of the specified element as a single (x,y) point. The image resolution is height "
    "{height} and width {width}. For elements with area, return the center point.\n\nOutput the "
    "coordinate pair exactly:\n(x,y)"
)
#: Hcompany Holo1.5 card: "Localize an element ..." + ClickAbsoluteAction schema + target
HOLO15_PUBLISHED = (
    "Localize an element on the GUI image according to the provided target and output a click position.\n"
    " * You must output a valid JSON following the format: {schema}\n Your target is:\n{target}"
)
HOLO15_SCHEMA = (
    "{'description': 'Click at absolute coordinates.', 'properties': {'action': {'const': 'click_absolute', "
    "'default': 'click_absolute', 'title': 'Action', 'type': 'string'}, 'x': {'description': 'The x "
    "coordinate, number of pixels from the left edge.', 'title': 'X', 'type': 'integer'}, 'y': "
    "{'description': 'The y coordinate, number of pixels from the top edge.', 'title': 'Y', 'type': "
    "'integer'}}, 'required': ['x', 'y'], 'title': 'ClickAbsoluteAction', 'type': 'object'}"
)


@pytest.mark.parametrize("size", SIZES)
def test_gta1_request_and_point_follow_the_readme(size):
    profile = get_profile("HelloKKMe/GTA1-7B")
    screen = _screens(1, size)[0]
    rh, rw = smart_resize(size[1], size[0], 28, 3136, 4096 * 2160)
    msgs = render_messages(History("the Bold button", "", profile.space).prompt(screen), profile)
    assert msgs[0] == {"role": "system", "content": [{"type": "text",
                       "text": GTA1_PUBLISHED.format(height=rh, width=rw)}]}
    assert [p["type"] for p in msgs[1]["content"]] == ["image", "text"]
    assert msgs[1]["content"][1]["text"] == "the Bold button"
    assert prepare_image(screen, profile.space).size == (rw, rh)
    x, y = rw * 2 // 3, rh // 4
    # README: pred_x *= width / resized_width
    assert _screen_point(f"({x},{y})", profile, size) == (int(x * (size[0] / rw)), int(y * (size[1] / rh)))


@pytest.mark.parametrize("size", SIZES)
def test_holo_requests_and_points_follow_the_cards(size):
    screen = _screens(1, size)[0]
    holo15 = get_profile("Hcompany/Holo1.5-7B")
    msgs = render_messages(History("the Bold button", "", holo15.space).prompt(screen), holo15)
    assert len(msgs) == 1 and [p["type"] for p in msgs[0]["content"]] == ["image", "text"]
    assert msgs[0]["content"][1]["text"] == HOLO15_PUBLISHED.format(schema=HOLO15_SCHEMA, target="the Bold button")
    rh, rw = smart_resize(size[1], size[0], 28, 3136, 12845056)
    answer = f'{{"action": "click_absolute", "x": {rw // 3}, "y": {rh // 2}}}'
    px, py = (rw // 3) * size[0] / rw, (rh // 2) * size[1] / rh
    assert _screen_point(answer, holo15, size) == (int(px + 0.5), int(py + 0.5))

    holo3 = get_profile("Hcompany/Holo3-35B-A3B")
    msgs = render_messages(History("the Bold button", "", holo3.space).prompt(screen), holo3)
    text = msgs[0]["content"][1]["text"]
    assert text.startswith("Localize an element on the GUI image according to the provided target and output "
                           "a click position.\n * You must output a valid JSON following the format: {")
    assert "'X coordinate as integer in [0, 1000]'" in text and text.endswith("\n Your target is:\nthe Bold button")
    for x, y in [(0, 0), (1000, 1000), (333, 667), (500, 1)]:
        # hub.hcompany.ai: abs_x = int(point.x / 1000 * SCREENSHOT_WIDTH)
        want = (min(int(x / 1000 * size[0]), size[0] - 1), min(int(y / 1000 * size[1]), size[1] - 1))
        assert _screen_point(f'{{"x": {x}, "y": {y}}}', holo3, size) == want
    with pytest.raises(Exception, match="no element"):
        parse_response('{"action": "click_absolute", "x": -1, "y": -1}')
