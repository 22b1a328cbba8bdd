"""The ``openai`` policy: any OpenAI-compatible chat-completions endpoint (vLLM, SGLang, TGI,
hosted services) serving a UI-TARS / Qwen-VL model.

Screenshots go as ``data:`` URLs in ``image_url`` parts, resized with the profile's
``smart_resize`` budget first (:mod:`tars.models.vision`), so a ``resized``-space model's
coordinates refer to exactly the image tars computed and the upload is no bigger than what
the model sees. The request keeps the message shape of :meth:`tars.models.base.Prompt.messages`
(system, template, then per step screenshot / answer / feedback), as the UI-TARS reference
agents send it.

Failures:

* connection errors, timeouts, HTTP 429 and 5xx are retried ``max_retries`` times with
  exponential back-off, then raise :class:`PolicyError` naming the endpoint URL;
* "too many images" (vLLM: ``At most 5 image(s) may be provided in one request.`` /
  ``You set image=2 ... in --limit-mm-per-prompt, but passed 3 image items in the same
  prompt.``) drops the oldest screenshots down to the server's limit, which is remembered for
  later steps; every earlier answer stays in the prompt as text;
* "context length exceeded" (vLLM / OpenAI: ``This model's maximum context length is N
  tokens. However, you requested T tokens (P in the messages, C in the completion)``, SGLang,
  TGI) lowers ``max_tokens`` when the completion budget is the excess, else drops the oldest
  screenshot, and retries;
* a rejected API key, an unknown model or any other 4xx raise :class:`PolicyError` at once.

Stop: :meth:`OpenAIPolicy.interrupt` (any thread) abandons the request in flight at once and
wakes a back-off sleep; ``act`` raises :class:`~tars.models.base.Interrupted`. The blocking client
call runs in a worker thread so the caller can stop waiting for it; the abandoned request
ends on its own (server answer or ``timeout``) and its answer is dropped.

The API key comes from ``api_key``, else ``OPENAI_API_KEY``, else ``TARS_API_KEY``; it is
never logged or put in an error message.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from tars.actions.coords import CoordSpace
from tars.models.base import Interrupted, Policy, PolicyError, Prompt
from tars.models.families import render_messages
from tars.models.prefetch import FrameEncoder
from tars.models.profiles import ModelProfile, get_profile
from tars.models.secrets import redact_text, redact_url
from tars.models.vision import ImageFormat, data_url, prepare_image

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)

#: fewest completion tokens tars will lower ``max_tokens`` to; a UI-TARS step (thought and
#: one action) rarely fits in less
MIN_COMPLETION_TOKENS = 128

# "at most N images": vLLM <= 0.6 and >= 0.8 wording, and the --limit-mm-per-prompt wording
_IMAGE_LIMIT_PATTERNS = (
    re.compile(r"at most (\d+) image\(?s?\)? may be provided", re.I),
    re.compile(r"image=(\d+)[^.]*limit-mm-per-prompt", re.I),
    re.compile(r"limit-mm-per-prompt[^.]*image=(\d+)", re.I),
    re.compile(r"(?:maximum|max|at most|up to) (?:of )?(\d+) images?\b", re.I),
    re.compile(r"too many images[^0-9]*(\d+)", re.I),
)
_TOO_MANY_IMAGES = re.compile(r"too many images|image items in the same prompt", re.I)

_CONTEXT_PATTERNS = (
    re.compile(r"maximum context length", re.I),
    re.compile(r"context[_ ]length[_ ]exceeded", re.I),
    re.compile(r"longer than the maximum model length", re.I),
    re.compile(r"exceeds the maximum allowed length", re.I),
    re.compile(r"must be <= \d+", re.I),  # TGI: `inputs` tokens + `max_new_tokens` must be <= N
    re.compile(r"prompt is too long", re.I),
)
_MAX_CONTEXT = re.compile(r"(?:maximum context length is|maximum model length of|must be <=)\s*(\d+)", re.I)
_PROMPT_TOKENS = re.compile(
    r"\((\d+) in the messages|request has (\d+) input tokens|Given: (\d+) `inputs` tokens"
    r"|prompt \(length (\d+)\)",
    re.I,
)


def normalise_endpoint(endpoint: str) -> str:
    """The base URL the ``openai`` client wants: ``http://host:8000`` -> ``http://host:8000/v1``;
    a full ``.../v1/chat/completions`` URL is cut back to ``.../v1``; other paths are kept.

    Raises:
        PolicyError: not an http(s) URL.
    """
    text = endpoint.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PolicyError(f"endpoint {endpoint!r} is not an http(s) URL")
    path = parts.path.rstrip("/")
    for suffix in ("/chat/completions", "/completions", "/models"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    if not path:
        path = "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def endpoint_query(endpoint: str) -> dict[str, str]:
    """The query parameters of ``endpoint`` (``?api-key=K&api-version=2``), sent with every
    request: :func:`normalise_endpoint` drops them from the base URL the client joins paths to."""
    text = endpoint.strip()
    if "://" not in text:
        text = "http://" + text
    return dict(parse_qsl(urlsplit(text).query, keep_blank_values=True))


class RequestDeadline(Exception):
    """One request ran past its deadline (the answer stalled or never came)."""


def _deadline_client(openai: Any, timeout: float) -> Any:
    """An httpx client for the openai client whose responses cannot be read past ``timeout``
    seconds after the request began: httpx's own timeout bounds each read, so a server sending
    one byte a second never trips it (issue 16, item 4)."""
    import time

    try:  # recent openai releases are built on the httpx2 fork, older ones on httpx
        import httpx2 as httpx
    except ImportError:
        import httpx  # type: ignore[no-redef]

    class _Stream(httpx.SyncByteStream):
        def __init__(self, inner: Any, deadline: float):
            self.inner, self.deadline = inner, deadline

        def __iter__(self):
            for chunk in self.inner:
                if time.monotonic() > self.deadline:
                    raise httpx.ReadTimeout(f"no complete answer within {timeout:g} s")
                yield chunk

        def close(self) -> None:
            self.inner.close()

    class _Transport(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            deadline = time.monotonic() + timeout
            response = super().handle_request(request)
            response.stream = _Stream(response.stream, deadline)
            return response

    return openai.DefaultHttpxClient(transport=_Transport(), timeout=timeout)


def _error_text(exc: Exception) -> str:
    """The server's message for an API error (vLLM puts it at top level, OpenAI under error)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        message = body.get("message") or body.get("detail") or body.get("error")
        if isinstance(message, dict):
            message = message.get("message")
        if message:
            return str(message)
    return str(exc)


def image_limit_from_error(message: str) -> int | None:
    """The per-request image limit a server states in ``message``: 0 when it says "too many
    images" without a number, None when the message is not about images."""
    for pattern in _IMAGE_LIMIT_PATTERNS:
        match = pattern.search(message)
        if match:
            return int(match.group(1))
    return 0 if _TOO_MANY_IMAGES.search(message) else None


def is_context_error(message: str) -> bool:
    """True when ``message`` says the prompt plus completion exceed the model's context."""
    return any(p.search(message) for p in _CONTEXT_PATTERNS)


def _context_numbers(message: str) -> tuple[int | None, int | None]:
    """(max context, prompt tokens) stated in a context-length error, where stated."""
    limit = _MAX_CONTEXT.search(message)
    prompt = _PROMPT_TOKENS.search(message)
    prompt_tokens = next((int(g) for g in prompt.groups() if g), None) if prompt else None
    return (int(limit.group(1)) if limit else None), prompt_tokens


class OpenAIPolicy(Policy):
    """A UI-TARS-style model behind an OpenAI-compatible chat-completions endpoint.

    ``endpoint``: base URL (``http://localhost:8000/v1``; ``/v1`` is added to a bare host).
    ``model``: served model name; None asks the server's ``/v1/models`` for the first one.
    ``api_key``: else ``OPENAI_API_KEY``, else ``TARS_API_KEY``, else ``EMPTY`` (vLLM's
    placeholder). ``profile``: profile name overriding the guess from ``model``.
    ``timeout``: seconds per HTTP request. ``max_retries``: extra attempts after a connection
    error, timeout, 429 or 5xx. ``max_tokens``: completion budget (default: the profile's).
    ``image_format``: ``png`` (lossless, the UI-TARS reference) or ``jpeg`` (smaller).
    ``backoff``: seconds before the first retry, doubled each time (at most 8 s).

    Raises:
        PolicyError: bad URL, unknown profile, or (when ``model`` is None) the endpoint is
            unreachable or serves no model.
    """

    name = "openai"

    def __init__(
        self,
        endpoint: str,
        model: str | None = None,
        api_key: str | None = None,
        profile: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        max_tokens: int | None = None,
        image_format: ImageFormat = "png",
        backoff: float = 1.0,
        **_: Any,
    ) -> None:
        try:
            import openai
        except ImportError as exc:  # pragma: no cover - a base dependency
            raise PolicyError(f"the openai policy needs the openai package ({exc})") from exc
        if not endpoint:
            raise PolicyError("the openai policy needs --endpoint URL")
        base_url = normalise_endpoint(endpoint)
        #: the endpoint as shown in every message and log: a key in it is ``***``
        self.endpoint = redact_url(base_url)
        self.timeout = float(timeout)
        self.max_retries = max(0, int(max_retries))
        self.backoff = max(0.0, float(backoff))
        self.image_format: ImageFormat = image_format
        key = api_key or os.environ.get("OPENAI_API_KEY") or os.environ.get("TARS_API_KEY") or "EMPTY"
        # interrupt(): set until reset_interrupt(); every waiting call's wake event is set too
        self._interrupt = threading.Event()
        self._waiters: set[threading.Event] = set()
        self._waiters_lock = threading.Lock()
        # retries are ours (they interleave with history shrinking), so the client makes none
        self._client = openai.OpenAI(
            base_url=base_url, api_key=key, timeout=self.timeout, max_retries=0,
            default_query=endpoint_query(endpoint) or None,
            http_client=_deadline_client(openai, self.timeout),
        )
        self._openai = openai
        self.model = model or self._first_served_model()
        self.model_id = self.model  # the name recorded in trajectories (meta.json `model`)
        try:
            self.profile: ModelProfile = get_profile(self.model, override=profile)
        except ValueError as exc:
            raise PolicyError(str(exc)) from exc
        self.space = self.profile.space
        self._max_tokens = int(max_tokens) if max_tokens else None  # the user's, wins over all
        self.max_tokens = int(max_tokens or self.profile.max_new_tokens)
        #: per-request image limit learned from the server (None: not known yet)
        self.image_limit: int | None = None
        self._lock = threading.Lock()
        #: data URLs of the screenshots in the history window, encoded once each, ahead of
        #: time for the frames the loop prefetches while the screen settles
        self._run_space: CoordSpace = self.space  # the space images are prepared for
        self.encoder: FrameEncoder[str] = FrameEncoder(self._encode_image)
        log.info("openai policy: %s at %s, profile %s", self.model, self.endpoint, self.profile.name)

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIPolicy(endpoint={self.endpoint!r}, model={self.model!r})"

    # -- server discovery ----------------------------------------------------------------

    def _first_served_model(self) -> str:
        """The first model id of ``GET /v1/models``."""
        last: Exception | None = None
        for attempt in range(self.max_retries + 1):
            try:
                models = self._call(lambda: list(self._client.models.list()))
                break
            except (self._openai.APIConnectionError, self._openai.InternalServerError,
                    RequestDeadline) as exc:
                last = exc
                if attempt < self.max_retries:  # no back-off after the last attempt
                    self._sleep(attempt)
            except self._openai.APIStatusError as exc:
                raise PolicyError(
                    f"endpoint {self.endpoint} did not list its models (HTTP {exc.status_code}: "
                    f"{redact_text(_error_text(exc))}); give --model"
                ) from exc
        else:
            raise PolicyError(
                f"endpoint {self.endpoint} is unreachable ({type(last).__name__}: "
                f"{redact_text(str(last))}); is the server running?"
            ) from last
        if not models:
            raise PolicyError(f"endpoint {self.endpoint} serves no model")
        return models[0].id

    # -- request building --------------------------------------------------------------

    def _encode_image(self, image: "Image") -> str:
        return data_url(prepare_image(image, self._run_space), self.image_format)

    def _image_url(self, image: "Image", space: CoordSpace | None = None) -> str:
        """Data URL of the screenshot prepared for ``space`` (the prompt's; default the
        policy's); encoded once per image object (ahead of time when it was prefetched),
        because the same screenshot is re-sent for as long as it stays in the history window.
        A prompt in another space than the last one (a harness's pixel budget) starts the
        encoder afresh, so prefetches that follow prepare for that space."""
        space = space or self.space
        if space != self._run_space:
            self._run_space = space
            self.encoder.keep([])
        return self.encoder.get(image)

    def _trim_cache(self, images: list["Image"]) -> None:
        self.encoder.keep(images)

    def prefetch(self, image: "Image") -> None:
        """Start preparing ``image``'s data URL in the background (smart_resize + encode)."""
        self.encoder.prefetch(image)

    def shrink_prompt(self, prompt: Prompt, keep_images: int) -> Prompt:
        """A copy of ``prompt`` keeping only the newest ``keep_images`` screenshots (at least 1);
        older turns keep their text (answers and feedback)."""
        keep_images = max(1, keep_images)
        with_image = [i for i, t in enumerate(prompt.turns) if t.image is not None]
        drop = set(with_image[: max(0, len(with_image) - keep_images)])
        if not drop:
            return prompt
        turns = [dataclasses.replace(t, image=None) if i in drop else t for i, t in enumerate(prompt.turns)]
        return dataclasses.replace(prompt, turns=turns)

    def build_messages(self, prompt: Prompt) -> list[dict[str, Any]]:
        """Chat-completions ``messages`` for ``prompt``: every content a list of parts, text as
        ``text`` parts and screenshots as ``image_url`` parts with data URLs, the shape OSWorld's
        UI-TARS agent (uitars15_v1) sends."""
        out: list[dict[str, Any]] = []
        for message in render_messages(prompt, self.profile):
            parts: list[dict[str, Any]] = []
            for part in message["content"]:
                if part.get("type") == "image":
                    url = self._image_url(part["image"], prompt.space)
                    parts.append({"type": "image_url", "image_url": {"url": url}})
                else:
                    parts.append({"type": "text", "text": part.get("text", "")})
            out.append({"role": message["role"], "content": parts})
        return out

    def sampling(self, prompt: Prompt) -> dict[str, Any]:
        """The request's generation settings: the profile's, then the prompt's
        :attr:`~tars.models.base.Prompt.sampling` (harness numbers, a temperature-1 retry),
        then an explicit ``max_tokens`` given to the policy. ``top_p`` and
        ``frequency_penalty`` are sent only when set."""
        settings: dict[str, Any] = {
            "temperature": self.profile.temperature, "top_p": self.profile.top_p,
            "frequency_penalty": self.profile.frequency_penalty, "max_new_tokens": self.profile.max_new_tokens,
        }
        settings.update(prompt.sampling)
        budget = self.max_tokens if self._max_tokens else settings["max_new_tokens"] or self.max_tokens
        out = {"max_tokens": int(budget),
               "temperature": settings["temperature"]}
        for key in ("top_p", "frequency_penalty"):
            if settings.get(key) is not None:
                out[key] = settings[key]
        return out

    # -- the call ------------------------------------------------------------------------

    def _sleep(self, attempt: int) -> None:
        """Back off before retry ``attempt`` (0-based); wakes at once on :meth:`interrupt`.

        Raises:
            Interrupted: :meth:`interrupt` was called before or during the sleep.
        """
        if self.backoff and self._interrupt.wait(min(8.0, self.backoff * (2**attempt))):
            raise Interrupted(f"request to {self.endpoint} interrupted")
        if self._interrupt.is_set():
            raise Interrupted(f"request to {self.endpoint} interrupted")

    def _call(self, fn: Any) -> Any:
        """``fn()`` (a blocking client call) in a worker thread; returns its value or raises
        its exception, unless :meth:`interrupt` comes first.

        Raises:
            Interrupted: :meth:`interrupt` was called before or while ``fn`` ran (its result,
                arriving later, is dropped).
        """
        wake = threading.Event()
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["value"] = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                box["error"] = exc
            finally:
                wake.set()

        with self._waiters_lock:
            self._waiters.add(wake)
        try:
            # checked after registering, so an interrupt() racing with us is never missed
            if self._interrupt.is_set():
                raise Interrupted(f"request to {self.endpoint} interrupted")
            threading.Thread(target=work, name="tars-openai-request", daemon=True).start()
            # the transport ends a stalled answer at the timeout; this bounds the wait even
            # when the server stalls before its headers
            if not wake.wait(self.timeout + 1.0):
                raise RequestDeadline(f"no answer within {self.timeout:g} s")
        finally:
            with self._waiters_lock:
                self._waiters.discard(wake)
        if self._interrupt.is_set():
            raise Interrupted(f"request to {self.endpoint} interrupted")
        if "error" in box:
            raise box["error"]
        return box["value"]

    def interrupt(self) -> None:
        """Abandon the request in flight (any thread): the waiting :meth:`act` raises
        :class:`~tars.models.base.Interrupted` at once, as does every later ``act`` until
        :meth:`reset_interrupt`; a back-off sleep wakes too."""
        self._interrupt.set()
        with self._waiters_lock:
            for wake in self._waiters:
                wake.set()

    def reset_interrupt(self) -> None:
        """Let :meth:`act` ask again (called by the agent when a run starts)."""
        self._interrupt.clear()

    def act(self, prompt: Prompt) -> str:
        """Ask the endpoint for the answer to ``prompt``; returns the raw model text
        (``""`` when the server sends no content, which the parser then reports).

        Raises:
            Interrupted: :meth:`interrupt` was called before or during the request.
            PolicyError: unreachable or failing endpoint after the retries (the message names
                the URL), rejected key, unknown model, or a request that still does not fit
                after shrinking the history to one screenshot and ``max_tokens`` to
                :data:`MIN_COMPLETION_TOKENS`.
        """
        if not prompt.images():
            raise PolicyError("the prompt has no screenshot")
        with self._lock:
            return self._act(prompt)

    def _act(self, prompt: Prompt) -> str:
        openai = self._openai
        n_images = len(prompt.images())
        keep = min(n_images, self.image_limit) if self.image_limit else n_images
        sampling = self.sampling(prompt)
        max_tokens = sampling.pop("max_tokens")
        failures = 0
        # every refusal strictly shrinks images or max_tokens, so this bound is never reached
        # in practice; it guards against a server that answers inconsistently
        for _ in range(64):
            sent = self.shrink_prompt(prompt, keep)
            self._trim_cache(sent.images())
            request: dict[str, Any] = {
                "model": self.model,
                "messages": self.build_messages(sent),
                "max_tokens": max_tokens,
                **sampling,
            }
            extra = {k: v for k, v in (("repetition_penalty", self.profile.repetition_penalty),
                                       ("top_k", self.profile.top_k)) if v is not None}
            if extra:  # vLLM / SGLang sampling parameters outside the OpenAI schema (GUI-Owl)
                request["extra_body"] = extra
            try:
                response = self._call(lambda req=request: self._client.chat.completions.create(**req))
            except (openai.APIConnectionError, openai.InternalServerError, openai.RateLimitError,
                    RequestDeadline) as exc:
                # APITimeoutError is an APIConnectionError
                if failures >= self.max_retries:
                    timed_out = isinstance(exc, (openai.APITimeoutError, RequestDeadline))
                    kind = "timed out" if timed_out else "failed"
                    each = f" of at most {self.timeout:g} s" if timed_out else ""
                    raise PolicyError(
                        f"endpoint {self.endpoint} {kind} after {failures + 1} attempts{each} "
                        f"({type(exc).__name__}: {redact_text(_error_text(exc))})"
                    ) from exc
                log.warning("endpoint %s: %s; retrying", self.endpoint, type(exc).__name__)
                self._sleep(failures)
                failures += 1
                continue
            except openai.APIStatusError as exc:
                message = redact_text(_error_text(exc))
                new_keep, new_max = self._fit(message, exc.status_code, len(sent.images()), max_tokens)
                if new_keep is None:
                    raise self._rejected(exc, message) from exc
                keep, max_tokens = new_keep, new_max
                continue
            except (openai.APIError, ValueError) as exc:  # a body that is no completion (HTML, bad JSON)
                raise PolicyError(
                    f"endpoint {self.endpoint} sent an answer that is not a chat completion "
                    f"({type(exc).__name__}: {redact_text(str(exc))[:200]})"
                ) from None
            return self._content(response)
        raise PolicyError(f"endpoint {self.endpoint} kept refusing the request; giving up")

    def _fit(self, message: str, status: int, n_sent: int, max_tokens: int) -> tuple[int | None, int]:
        """Smaller (images, max_tokens) after a refusal, or (None, _) when nothing helps."""
        limit = image_limit_from_error(message)
        if limit is not None or status == 413:
            target = limit if limit else n_sent - 1
            target = min(target, n_sent - 1)
            if target < 1:
                return None, max_tokens
            self.image_limit = target  # remembered: later steps send no more than this
            log.warning("endpoint %s takes at most %d images; shrinking the history", self.endpoint, target)
            return target, max_tokens
        if not is_context_error(message):
            return None, max_tokens
        context, prompt_tokens = _context_numbers(message)
        if context and prompt_tokens and prompt_tokens + MIN_COMPLETION_TOKENS <= context:
            fitted = context - prompt_tokens
            if fitted < max_tokens:  # the completion budget is the excess: lower it
                log.warning("endpoint %s: max_tokens %d -> %d to fit the context", self.endpoint, max_tokens, fitted)
                return n_sent, fitted
        if n_sent > 1:
            log.warning("endpoint %s: context full; dropping the oldest screenshot", self.endpoint)
            return n_sent - 1, max_tokens
        if max_tokens > MIN_COMPLETION_TOKENS:
            return n_sent, max(MIN_COMPLETION_TOKENS, max_tokens // 2)
        return None, max_tokens

    def _rejected(self, exc: Exception, message: str) -> PolicyError:
        status = getattr(exc, "status_code", "?")
        if status in (401, 403):
            return PolicyError(
                f"endpoint {self.endpoint} refused the API key (HTTP {status}); "
                "pass --api-key or set OPENAI_API_KEY / TARS_API_KEY"
            )
        if status == 404:
            return PolicyError(
                f"endpoint {self.endpoint} does not serve model {self.model!r} (HTTP 404: {message})"
            )
        return PolicyError(f"endpoint {self.endpoint} rejected the request (HTTP {status}: {message})")

    def _content(self, response: Any) -> str:
        """The answer text of a completion; a body of any other shape (``"choices": "nope"``, a
        string, a list) is a :class:`PolicyError` naming the endpoint, never an AttributeError."""
        choices = getattr(response, "choices", None)
        if not choices:
            raise PolicyError(f"endpoint {self.endpoint} answered without choices")
        try:
            content = choices[0].message.content
            if isinstance(content, list):  # some servers return content parts
                content = "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
            if content is not None and not isinstance(content, str):
                raise TypeError(f"content is a {type(content).__name__}")
        except (AttributeError, TypeError, KeyError, IndexError) as exc:
            raise PolicyError(f"endpoint {self.endpoint} sent a malformed completion ({exc})") from None
        return (content or "").strip()

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.encoder.close()
        self._client.close()
