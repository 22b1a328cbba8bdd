"""A loopback chat-completions server speaking vLLM's OpenAI-compatible wire protocol.

``GET /v1/models`` and ``POST /v1/chat/completions`` with the JSON bodies vLLM writes
(``id``/``object``/``created``/``model``/``choices``/``usage``; errors as
``{"object": "error", "message", "type", "param", "code"}``), replying from a script. Used by
the policy tests and the ``tars run --endpoint`` tests: a real vLLM server needs a GPU.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVED = "ui-tars-1.5-7b"


def completion(content: str, model: str = SERVED) -> dict:
    """A chat-completion body exactly as vLLM's OpenAI server writes it."""
    return {
        "id": "chatcmpl-8f1c2b7a9d3e4f5a",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "reasoning_content": None, "content": content, "tool_calls": []},
                "logprobs": None,
                "finish_reason": "stop",
                "stop_reason": None,
            }
        ],
        "usage": {"prompt_tokens": 2731, "total_tokens": 2760, "completion_tokens": 29, "prompt_tokens_details": None},
        "prompt_logprobs": None,
    }


def vllm_error(message: str, code: int = 400, kind: str = "BadRequestError") -> dict:
    return {"object": "error", "message": message, "type": kind, "param": None, "code": code}


class Hang:
    """A script reply that never comes: the request is read and left unanswered (until close)."""


class Drip:
    """A script reply sent one byte every ``interval`` seconds after prompt headers (a server
    that stalls mid-answer: each read returns something, so a per-read timeout never fires)."""

    def __init__(self, body: dict, interval: float = 1.0):
        self.data = json.dumps(body).encode()
        self.interval = interval


class Raw:
    """A script reply of exactly these bytes (malformed JSON, a wrong shape, not JSON at all)."""

    def __init__(self, data: bytes, content_type: str = "application/json"):
        self.data, self.content_type = data, content_type


class ChatServer:
    """Loopback chat-completions server. ``script``: list of (status, body, delay_seconds)
    answered to successive POSTs, where body is a dict, ``callable(request_json) -> dict``, or
    :class:`Hang` / :class:`Drip` / :class:`Raw`; ``requests``: every (path, headers, json)
    received."""

    def __init__(self, script=(), models=(SERVED,)):
        self.script = list(script)
        self.models = list(models)
        self.requests: list[tuple[str, dict, dict | None]] = []
        self.closing = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # client gave up (timeout test)
                    pass

            def do_GET(self):
                outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, None))
                if self.path.split("?")[0] == "/v1/models":
                    self._send(200, {
                        "object": "list",
                        "data": [
                            {"id": m, "object": "model", "created": 1732000000, "owned_by": "vllm",
                             "root": m, "parent": None, "max_model_len": 32768}
                            for m in outer.models
                        ],
                    })
                else:
                    self._send(404, {"detail": "Not Found"})

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length))
                outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                if self.path.split("?")[0] != "/v1/chat/completions":
                    self._send(404, {"detail": "Not Found"})
                    return
                if not outer.script:
                    self._send(500, vllm_error("script exhausted", 500, "InternalServerError"))
                    return
                status, reply, delay = outer.script.pop(0)
                if delay and outer.closing.wait(delay):
                    return
                if isinstance(reply, Hang):
                    outer.closing.wait()
                    return
                if isinstance(reply, (Drip, Raw)):
                    self._send_raw(status, reply)
                    return
                self._send(status, reply(body) if callable(reply) else reply)

            def _send_raw(self, status: int, reply) -> None:
                kind = reply.content_type if isinstance(reply, Raw) else "application/json"
                try:
                    self.send_response(status)
                    self.send_header("content-type", kind)
                    self.send_header("content-length", str(len(reply.data)))
                    self.end_headers()
                    if isinstance(reply, Raw):
                        self.wfile.write(reply.data)
                        return
                    for i in range(len(reply.data)):
                        self.wfile.write(reply.data[i:i + 1])
                        self.wfile.flush()
                        if outer.closing.wait(reply.interval):
                            return
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def chats(self) -> list[dict]:
        return [b for p, _, b in self.requests if p.split("?")[0] == "/v1/chat/completions"]

    def close(self):
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()
