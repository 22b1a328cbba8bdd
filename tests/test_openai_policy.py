"""The ``openai`` policy against a loopback chat-completions server.

The server (``http.server`` in a thread on 127.0.0.1) speaks the wire protocol of vLLM's
OpenAI-compatible server: ``GET /v1/models`` and ``POST /v1/chat/completions`` with the JSON
bodies vLLM sends (``id``/``object``/``created``/``model``/``choices``/``usage``, errors as
``{"object": "error", "message", "type", "param", "code"}``), and replies from a script.
The tests check what the real ``openai`` client sent and how errors are handled.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from openai_server import SERVED, ChatServer, completion, vllm_error
from PIL import Image

from tars.actions.coords import CoordSpace
from tars.models.base import PolicyError, Prompt, Turn, load_policy
from tars.models.openai_compat import (
    OpenAIPolicy,
    image_limit_from_error,
    is_context_error,
    normalise_endpoint,
)
from tars.models.prompts import system_prompt
from tars.models.vision import data_url, decode_data_url, encode_image, model_image_size, prepare_image

REPLY = "Thought: The OK button closes the dialog.\nAction: click(start_box='(120,45)')"


@pytest.fixture
def server():
    started: list[ChatServer] = []

    def start(script=(), models=(SERVED,)):
        s = ChatServer(script, models)
        started.append(s)
        return s

    yield start
    for s in started:
        s.close()


def screenshot(i: int, size=(320, 200)) -> Image.Image:
    img = Image.new("RGB", size, (20 * i % 255, 90, 160))
    img.paste((255, 255, 255), (10 + i, 10, 80 + i, 40))
    return img


def prompt_with(policy: OpenAIPolicy, n_steps: int, window: int = 5) -> Prompt:
    """A prompt as the history would build it: ``n_steps`` past answers, the newest ``window``
    screenshots kept (older turns text only), the current screenshot last."""
    turns = []
    for i in range(n_steps):
        turns.append(Turn(screenshot(i), f"Thought: step {i}\nAction: click(start_box='({i},{i})')"))
    turns.append(Turn(screenshot(n_steps)))
    with_image = [t for t in turns if t.image is not None]
    for t in with_image[: max(0, len(with_image) - window)]:
        t.image = None
    return Prompt("Close the dialog", system_prompt(policy.profile, "Close the dialog"), turns, policy.space)


def image_urls(body: dict) -> list[str]:
    return [
        part["image_url"]["url"]
        for m in body["messages"]
        if isinstance(m["content"], list)
        for part in m["content"]
        if part["type"] == "image_url"
    ]


def test_request_carries_images_prompt_model_and_budget(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    s = server([(200, completion(REPLY), 0)])
    policy = OpenAIPolicy(s.url, model="ByteDance-Seed/UI-TARS-1.5-7B", max_tokens=321)
    assert policy.space.kind == "resized"
    prompt = prompt_with(policy, n_steps=7, window=5)
    assert policy.act(prompt) == REPLY
    (path, headers, body) = s.requests[-1]
    assert headers["authorization"] == "Bearer sk-test-secret-123"
    assert body["model"] == "ByteDance-Seed/UI-TARS-1.5-7B"
    assert body["max_tokens"] == 321 and body["temperature"] == 0.0
    urls = image_urls(body)
    assert len(urls) == 5  # the history window, not all 8 screenshots
    assert all(u.startswith("data:image/png;base64,") for u in urls)
    # each image is the smart_resize'd screenshot the resized-space coordinates refer to
    sent = decode_data_url(urls[-1])
    assert sent.size == model_image_size(320, 200, policy.space)
    assert sent.tobytes() == prepare_image(prompt.images()[-1], policy.space).tobytes()
    msgs = body["messages"]
    # every content a list of parts, as OSWorld's uitars15_v1 sends it
    assert msgs[0] == {"role": "system", "content": [{"type": "text", "text": "You are a helpful assistant."}]}
    assert msgs[1]["role"] == "user" and "## User Instruction\nClose the dialog" in msgs[1]["content"][0]["text"]
    answers = [m["content"][0]["text"] for m in msgs if m["role"] == "assistant"]
    assert len(answers) == 7 and answers[0].startswith("Thought: step 0")  # all text kept
    assert "sk-test-secret-123" not in repr(policy)


def test_model_asked_from_server_when_not_given(server):
    s = server([(200, completion(REPLY, "UI-TARS-7B-DPO"), 0)], models=("UI-TARS-7B-DPO", "other"))
    policy = load_policy("openai", endpoint=s.url.removesuffix("/v1"))  # bare host gets /v1
    assert policy.model == "UI-TARS-7B-DPO"
    assert policy.profile.name == "ui-tars-1.0" and policy.space.kind == "relative"
    assert s.requests[0][0] == "/v1/models"
    policy.act(prompt_with(policy, 1))
    assert s.chats[0]["model"] == "UI-TARS-7B-DPO"


def test_server_error_then_success_is_retried(server):
    s = server([
        (500, vllm_error("CUDA error: an illegal memory access", 500, "InternalServerError"), 0),
        (503, {"detail": "Service Unavailable"}, 0),
        (200, completion(REPLY), 0),
    ])
    policy = OpenAIPolicy(s.url, model=SERVED, backoff=0.01, max_retries=3)
    assert policy.act(prompt_with(policy, 2)) == REPLY
    assert len(s.chats) == 3


def test_timeout_gives_policy_error_after_retries(server):
    s = server([(200, completion(REPLY), 1.5)] * 3)
    policy = OpenAIPolicy(s.url, model=SERVED, timeout=0.3, max_retries=1, backoff=0.01)
    start = time.monotonic()
    with pytest.raises(PolicyError, match=r"timed out after 2 attempts") as err:
        policy.act(prompt_with(policy, 1))
    assert s.url in str(err.value)
    assert time.monotonic() - start < 3.0


@pytest.mark.parametrize(
    "error_body",
    [
        vllm_error("At most 2 image(s) may be provided in one request."),
        # newer vLLM wraps the error object
        {"error": vllm_error("You set image=2 (or defaulted to 1) in `--limit-mm-per-prompt`, "
                             "but passed 5 image items in the same prompt.")},
    ],
)
def test_too_many_images_shrinks_history_and_remembers(server, error_body):
    s = server([(400, error_body, 0), (200, completion(REPLY), 0), (200, completion(REPLY), 0)])
    policy = OpenAIPolicy(s.url, model=SERVED, backoff=0.01)
    assert policy.act(prompt_with(policy, 6)) == REPLY
    first, second = s.chats
    assert len(image_urls(first)) == 5 and len(image_urls(second)) == 2
    # the newest two screenshots are kept, every answer stays as text
    assert image_urls(second) == image_urls(first)[-2:]
    assert sum(m["role"] == "assistant" for m in second["messages"]) == 6
    assert policy.image_limit == 2
    policy.act(prompt_with(policy, 7))  # the next step goes straight to the limit
    assert len(image_urls(s.chats[2])) == 2 and len(s.chats) == 3


def test_context_length_lowers_max_tokens_or_drops_images(server):
    s = server([
        (400, vllm_error("This model's maximum context length is 8192 tokens. However, you requested "
                         "9000 tokens (7800 in the messages, 1200 in the completion). Please reduce "
                         "the length of the messages or completion."), 0),
        (200, completion(REPLY), 0),
        (400, vllm_error("This model's maximum context length is 8192 tokens. However, you requested "
                         "9000 tokens (8100 in the messages, 900 in the completion)."), 0),
        (200, completion(REPLY), 0),
    ])
    policy = OpenAIPolicy(s.url, model=SERVED, max_tokens=1200, backoff=0.01)
    policy.act(prompt_with(policy, 3))
    assert [c["max_tokens"] for c in s.chats] == [1200, 392]
    assert len(image_urls(s.chats[1])) == 4  # images untouched when max_tokens was the excess
    policy.act(prompt_with(policy, 3))
    assert len(image_urls(s.chats[2])) == 4 and len(image_urls(s.chats[3])) == 3


def test_request_that_never_fits_is_a_clear_error(server):
    too_long = vllm_error("The decoder prompt (length 40000) is longer than the maximum model length of 32768.")
    s = server([(400, too_long, 0)] * 10)
    policy = OpenAIPolicy(s.url, model=SERVED, max_tokens=256, backoff=0.01)
    with pytest.raises(PolicyError, match="rejected the request"):
        policy.act(prompt_with(policy, 2))
    # it shrank to one screenshot and the smallest budget before giving up
    assert len(image_urls(s.chats[-1])) == 1 and s.chats[-1]["max_tokens"] == 128


def test_other_client_errors_fail_at_once(server):
    s = server([
        (401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                         "param": None, "code": "invalid_api_key"}}, 0),
        (404, vllm_error("The model `nope` does not exist.", 404, "NotFoundError"), 0),
        (400, vllm_error("temperature must be non-negative"), 0),
    ])
    policy = OpenAIPolicy(s.url, model=SERVED, api_key="sk-very-secret", backoff=0.01)
    prompt = prompt_with(policy, 1)
    with pytest.raises(PolicyError, match="refused the API key") as err:
        policy.act(prompt)
    assert "sk-very-secret" not in str(err.value)
    with pytest.raises(PolicyError, match="does not serve model"):
        policy.act(prompt)
    with pytest.raises(PolicyError, match="temperature must be non-negative"):
        policy.act(prompt)
    assert len(s.chats) == 3  # no retries on 4xx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_dead_endpoint_names_the_url():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(PolicyError, match="unreachable") as err:
        OpenAIPolicy(url, max_retries=1, backoff=0.01)  # model discovery
    assert url in str(err.value)
    policy = OpenAIPolicy(url, model=SERVED, max_retries=1, backoff=0.01)
    prompt = Prompt("x", "sys", [Turn(screenshot(0))], CoordSpace("resized"))
    with pytest.raises(PolicyError) as err:
        policy.act(prompt)
    assert url in str(err.value) and "2 attempts" in str(err.value)


@pytest.mark.parametrize(
    "given,expected",
    [
        ("http://localhost:8000", "http://localhost:8000/v1"),
        ("localhost:8000/", "http://localhost:8000/v1"),
        ("http://h:8000/v1/chat/completions", "http://h:8000/v1"),
        ("https://ark.example.com/api/v3", "https://ark.example.com/api/v3"),
    ],
)
def test_normalise_endpoint(given, expected):
    assert normalise_endpoint(given) == expected


def test_error_message_readers():
    assert image_limit_from_error("At most 5 image(s) may be provided in one request.") == 5
    assert image_limit_from_error("At most 1 image(s) may be provided in one prompt.") == 1
    assert image_limit_from_error(
        "You set or defaulted to image=4 in --limit-mm-per-prompt, but passed 10 image items in the same prompt."
    ) == 4
    assert image_limit_from_error("This model's maximum context length is 32768 tokens.") is None
    assert is_context_error("This model's maximum context length is 32768 tokens. However, ...")
    assert is_context_error("Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096.")
    assert not is_context_error("temperature must be non-negative")


def test_data_url_round_trip_png_and_jpeg():
    img = screenshot(3)
    assert decode_data_url(data_url(img)).tobytes() == img.tobytes()  # PNG is lossless
    jpeg = data_url(img, "jpeg")
    assert jpeg.startswith("data:image/jpeg;base64,") and decode_data_url(jpeg).size == img.size
    with pytest.raises(ValueError):
        encode_image(img, "gif")
    with pytest.raises(ValueError):
        decode_data_url("https://example.com/a.png")


def _act_in_thread(policy: OpenAIPolicy, prompt: Prompt) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def answer():
        try:
            outcome["text"] = policy.act(prompt)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome["error"] = exc

    worker = threading.Thread(target=answer, daemon=True)
    worker.start()
    return worker, outcome


def _wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


def test_interrupt_abandons_the_request_in_flight(server):
    from tars.models.base import Interrupted

    # the first answer takes 30 s to come; the second comes at once
    s = server([(200, completion("Thought: slow\nAction: wait()"), 30), (200, completion(REPLY), 0)])
    policy = OpenAIPolicy(s.url, model=SERVED, backoff=0.01)
    prompt = prompt_with(policy, 1)
    worker, outcome = _act_in_thread(policy, prompt)
    _wait_for(lambda: len(s.chats) == 1)  # the server is "thinking"
    policy.interrupt()
    worker.join(5.0)  # far less than the server's 30 s
    assert not worker.is_alive(), "act still waiting for the server after interrupt()"
    assert isinstance(outcome.get("error"), Interrupted), outcome
    assert s.url in str(outcome["error"])

    # interrupted until reset: nothing is sent
    with pytest.raises(Interrupted):
        policy.act(prompt)
    assert len(s.chats) == 1
    policy.reset_interrupt()
    assert policy.act(prompt) == REPLY
    assert len(s.chats) == 2


def test_interrupt_wakes_the_retry_back_off(server):
    from tars.models.base import Interrupted

    s = server([(503, {"detail": "Service Unavailable"}, 0)])
    policy = OpenAIPolicy(s.url, model=SERVED, backoff=30.0, max_retries=1)
    worker, outcome = _act_in_thread(policy, prompt_with(policy, 0))
    _wait_for(lambda: len(s.chats) == 1)
    time.sleep(0.2)  # the 503 is back: act is in its 30 s back-off
    policy.interrupt()
    worker.join(5.0)
    assert not worker.is_alive(), "act still sleeping its back-off after interrupt()"
    assert isinstance(outcome.get("error"), Interrupted), outcome
    assert len(s.chats) == 1  # no retry after the interrupt
