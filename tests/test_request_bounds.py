"""Every model request and every run is bounded, whatever the server does (issue 16, items 4, 6,
9), against the loopback vLLM-protocol server's hang, drip and malformed modes:

* ``--timeout`` bounds each request, a 1-byte-a-second drip included; a server that never
  answers is given up within 2x the timeout per attempt; no back-off after the last attempt;
* ``--max-seconds`` ends the run as ``timeout`` while a request hangs;
* a malformed completion is a one-line PolicyError, not an AttributeError;
* a key in the endpoint URL (``user:KEY@``, ``?api-key=KEY``) is sent, and written nowhere.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai_server import SERVED, ChatServer, Drip, Hang, Raw, completion
from PIL import Image

from tars.models.base import PolicyError, Prompt, Turn
from tars.models.openai_compat import OpenAIPolicy

ROOT = Path(__file__).resolve().parent.parent
REPLY = "Thought: done\nAction: finished(content='ok')"


def prompt() -> Prompt:
    return Prompt(instruction="i", system="s", turns=[Turn(image=Image.new("RGB", (64, 48), (9, 9, 9)))])


@pytest.fixture
def server():
    made: list[ChatServer] = []

    def make(script):
        made.append(ChatServer(script))
        return made[-1]

    yield make
    for s in made:
        s.close()


def timed(fn):
    t0 = time.monotonic()
    try:
        fn()
    except PolicyError as exc:
        return time.monotonic() - t0, str(exc)
    raise AssertionError("no PolicyError")


@pytest.mark.parametrize("reply", [Hang(), Drip(completion(REPLY), interval=0.2)], ids=["hang", "drip"])
def test_each_attempt_is_bounded_by_the_timeout(server, reply):
    s = server([(200, reply, 0), (200, reply, 0)])
    policy = OpenAIPolicy(s.url, model=SERVED, timeout=1.0, max_retries=1, backoff=0.05)
    took, message = timed(lambda: policy.act(prompt()))
    assert "timed out after 2 attempts of at most 1 s" in message
    assert took < 2 * 2 * 1.0 + 0.5, took  # within 2x the timeout per attempt
    assert len(s.chats) == 2
    policy.close()


def test_a_dead_port_gives_up_without_a_last_back_off():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens here now
    t0 = time.monotonic()
    with pytest.raises(PolicyError, match="unreachable"):
        OpenAIPolicy(f"http://127.0.0.1:{port}/v1", timeout=1.0, max_retries=2, backoff=0.3)
    # back-off 0.3 + 0.6 between the three attempts; the old code slept 1.2 s more after the last
    assert time.monotonic() - t0 < 0.3 + 0.6 + 1.0


@pytest.mark.parametrize("raw,needle", [
    (b'{"id": "x", "choices": "nope"}', "malformed completion"),
    (b'{"id": "x", "choices": [{"index": 0}]}', "malformed completion"),
    (b'{"id": "x", "choices": [{"message": {"content": 7}}]}', "malformed completion"),
    (b'{"id": "x"}', "without choices"),
    (b"<html>gateway error</html>", ""),
])
def test_a_malformed_completion_is_a_policy_error(server, raw, needle):
    s = server([(200, Raw(raw), 0)])
    policy = OpenAIPolicy(s.url, model=SERVED, timeout=5, max_retries=0)
    with pytest.raises(PolicyError, match=needle):
        policy.act(prompt())
    policy.close()


@pytest.fixture(scope="module")
def shot(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("shot") / "screen.png"
    Image.new("RGB", (640, 400), (30, 90, 160)).save(path)
    return path


def tars(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("DISPLAY", None)
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "tars", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_max_seconds_ends_a_run_whose_request_hangs(server, shot):
    s = server([(200, Hang(), 0)])
    t0 = time.monotonic()
    r = tars("run", "x", "--endpoint", s.url, "--model", SERVED, "--dry-run", "--image", str(shot),
             "--max-seconds", "2", "--json")
    took = time.monotonic() - t0
    assert r.returncode == 1, r.stderr
    result = json.loads(r.stdout)
    assert result["status"] == "timeout" and "time limit of 2.0 s" in result["error"]
    assert took < 2 + 15  # start-up of python and the policy, then 2 s: not the 60 s timeout
    assert "Traceback" not in r.stderr


def test_a_key_in_the_endpoint_url_is_sent_and_written_nowhere(server, shot, tmp_path):
    s = server([(200, completion(REPLY), 0)])
    host = s.url.split("://", 1)[1]
    url = f"http://someone:PASSWORDX@{host}?api-key=QUERYKEYX&api-version=2024"
    out = tmp_path / "run"
    r = tars("run", "x", "--endpoint", url, "--model", SERVED, "--dry-run", "--image", str(shot),
             "--record", str(out), "--json")
    assert r.returncode == 0, r.stderr
    path, headers, _ = next(q for q in s.requests if q[0].startswith("/v1/chat/completions"))
    assert "api-key=QUERYKEYX" in path and "api-version=2024" in path  # the query key is sent
    assert base64.b64decode(headers["authorization"].split()[1]) == b"someone:PASSWORDX"
    report = tars("report", str(out))
    assert report.returncode == 0, report.stderr
    written = [r.stdout, r.stderr, report.stdout, report.stderr] + [
        p.read_text(encoding="utf-8", errors="replace") for p in out.iterdir() if p.suffix in (".json", ".jsonl", ".html")]
    for text in written:
        assert "PASSWORDX" not in text and "QUERYKEYX" not in text
    meta = json.loads((out / "meta.json").read_text())
    assert meta["settings"]["endpoint"].startswith("http://***@127.0.0.1")
    assert "api-key=***" in meta["settings"]["endpoint"]


def test_an_unreachable_endpoint_with_a_key_in_it_is_reported_without_the_key(shot):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    r = tars("run", "x", "--endpoint", f"http://u:PASSWORDX@127.0.0.1:{port}/v1?key=QUERYKEYX",
             "--dry-run", "--image", str(shot))
    assert r.returncode == 2 and "unreachable" in r.stderr
    assert "PASSWORDX" not in r.stderr and "QUERYKEYX" not in r.stderr
