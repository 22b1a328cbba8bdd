"""Encoding screenshots ahead of the request, on one background thread.

While the loop waits for the screen to settle it hands each candidate frame to
:meth:`tars.models.base.Policy.prefetch`; a policy that sends images (``openai``) starts the
frame's preparation (smart_resize + PNG/JPEG + base64) here, so that when the frame turns out
to be the settled one its data URL is ready and the request leaves at once. The same object
then serves as the cache of the URLs of screenshots still in the history window.

Results are keyed by the identity of the PIL image (the agent keeps the very object it
prefetched). One worker thread, not a pool: on a 2-core machine two encodes at once only slow
each other down (Pillow's encoders hold the GIL part of the time).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Generic, Iterable, TypeVar

if TYPE_CHECKING:
    from PIL.Image import Image

T = TypeVar("T")


@dataclass
class EncodeSpan:
    """When one frame was encoded (time.perf_counter() seconds) and whether it was prefetched."""

    key: int
    start: float
    end: float
    prefetched: bool


class FrameEncoder(Generic[T]):
    """``encode(image) -> T`` run at most once per image object, ahead of time when asked.

    :meth:`prefetch` queues a frame and returns at once; :meth:`get` returns the result,
    waiting for a queued or running encode of that frame, or encoding it on the caller's thread
    when it was never queued. :meth:`keep` forgets every frame not listed (screenshots that left
    the history window, settle frames that were not kept). :attr:`spans` records when each
    encode ran (for tests and benchmarks; the last ``span_limit`` kept).

    Errors raised by ``encode`` are raised by :meth:`get` for that frame.
    """

    def __init__(self, encode: Callable[["Image"], T], span_limit: int = 256) -> None:
        self._encode = encode
        self._lock = threading.Lock()
        self._jobs: dict[int, tuple["Image", Future[T]]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._span_limit = span_limit
        self.spans: list[EncodeSpan] = []

    def _run(self, image: "Image", prefetched: bool) -> T:
        start = time.perf_counter()
        try:
            return self._encode(image)
        finally:
            span = EncodeSpan(id(image), start, time.perf_counter(), prefetched)
            with self._lock:
                self.spans.append(span)
                del self.spans[:-self._span_limit]

    def prefetch(self, image: "Image") -> None:
        """Start encoding ``image`` in the background unless it is already encoded or queued."""
        with self._lock:
            job = self._jobs.get(id(image))
            if job is not None and job[0] is image:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="tars-encode")
            future = self._pool.submit(self._run, image, True)
            self._jobs[id(image)] = (image, future)

    def get(self, image: "Image") -> T:
        """The encoding of ``image``: from the cache, from the background job (waited for), or
        computed now on this thread."""
        with self._lock:
            job = self._jobs.get(id(image))
            if job is None or job[0] is not image:
                job = None
                future: Future[T] = Future()
                self._jobs[id(image)] = (image, future)
        if job is not None:
            return job[1].result()
        try:
            result = self._run(image, False)
        except BaseException as exc:
            future.set_exception(exc)
            with self._lock:
                self._jobs.pop(id(image), None)
            raise
        future.set_result(result)
        return result

    def keep(self, images: Iterable["Image"]) -> None:
        """Forget every frame but ``images`` (a queued encode of a dropped frame still runs to
        its end, its result is discarded)."""
        live = {id(im) for im in images}
        with self._lock:
            for key in [k for k in self._jobs if k not in live]:
                del self._jobs[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    def close(self) -> None:
        """Forget everything and stop the worker thread (waits for the encode in progress)."""
        with self._lock:
            self._jobs.clear()
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
