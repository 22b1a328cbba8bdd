"""Stopping a run from outside: Ctrl+C, ``kill`` (SIGTERM), a closed terminal (SIGHUP).

Why the run goes on a worker thread (issue 16, item 2): Python delivers a signal to the main
thread between two bytecodes, so a KeyboardInterrupt raised while the main thread is inside an
X request (``Xlib.protocol.display.send_and_recv``) leaves the connection half-read, and every
later X call spins. Here the main thread only waits; the signal handler calls ``stop(reason)``
(:meth:`tars.agent.loop.Agent.stop`: the operator's stop event is set, typing ends at the next
character, every key and button tars holds is released, the model request is abandoned) and the
worker finishes its own X request normally before it sees the stop.

Exit status of a stopped command: 128 + the signal number (SIGINT 130, SIGTERM 143, SIGHUP
129), the shell's convention. A second signal, or a run that has not ended ``grace`` seconds
after the first, ends the process at once with that status; the input watchdog
(:mod:`tars.desktop.watchdog`) still releases whatever was held.

A command whose main thread does no input at all and already stops cleanly on Ctrl+C (``tars
eval tasks``: the agents run in worker processes, the main thread waits for them) uses
:class:`InterruptSignals` instead: SIGTERM and SIGHUP become the KeyboardInterrupt a Ctrl+C
raises, so all three stop it the same way.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from typing import Any, Callable

#: the signals that stop a run, and the exit status each gives
STOP_SIGNALS = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}

#: Seconds within which the same signal again is the same request delivered twice, not a
#: second one: GNU ``timeout`` signals its child and then the child's process group, and a
#: terminal hang-up reaches tars from the kernel and again from the shell.
DUPLICATE_SECONDS = 0.5


def _install(handler: Callable[[int, Any], None]) -> dict[int, Any]:
    """Set ``handler`` for each of :data:`STOP_SIGNALS` and return the handlers it replaced.

    A signal the caller set to be ignored stays ignored: `nohup tars run` must live through
    the terminal's hang-up, and `tars run &` in a script (SIGINT ignored by the shell) must not
    stop at a Ctrl+C meant for the foreground job."""
    previous: dict[int, Any] = {}
    for sig in STOP_SIGNALS:
        if signal.getsignal(sig) != signal.SIG_IGN:
            previous[sig] = signal.signal(sig, handler)
    return previous


def _restore(previous: dict[int, Any]) -> None:
    """Put back the handlers :func:`_install` replaced (and forget them)."""
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    previous.clear()


def _exit_status(received: int | None) -> int | None:
    """128 + the signal's number for a stop signal (SIGINT 130, ...), None for no signal."""
    return STOP_SIGNALS.get(signal.Signals(received)) if received is not None else None


class StopSignals:
    """While entered (main thread only), SIGINT, SIGTERM and SIGHUP call ``stop(reason)`` once;
    a second one (not the same one again within :data:`DUPLICATE_SECONDS`), or
    :meth:`overdue` past ``grace`` seconds, exits the process. A signal that
    was ignored on entry (``nohup``, a shell's background job) is left ignored.

    :attr:`received` is the first signal's number (None: none came); :attr:`exit_code` its
    exit status. :attr:`wakeup` is a socket that becomes readable when a signal arrives, for
    event loops that sleep in C (Qt: a QSocketNotifier on it lets the handler run at once).
    """

    def __init__(self, stop: Callable[[str], Any], grace: float = 5.0):
        self._stop = stop
        self.grace = grace
        self.received: int | None = None
        self._at = 0.0
        self._previous: dict[int, Any] = {}
        self._old_wakeup = -1
        self.wakeup: socket.socket | None = None
        self._writer: socket.socket | None = None

    @property
    def exit_code(self) -> int | None:
        """128 + the first signal's number, or None when no signal came."""
        return _exit_status(self.received)

    def _handle(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.received is None:
            self.received, self._at = signum, time.monotonic()
            self._stop(f"stopped by {name}")
            return
        if signum == self.received and time.monotonic() - self._at < DUPLICATE_SECONDS:
            return  # the first one delivered twice (see DUPLICATE_SECONDS)
        self.exit_now(f"{name} again; exiting without waiting for the run to stop")

    def exit_now(self, why: str) -> None:
        """End the process at once with :attr:`exit_code` (the watchdog releases held input)."""
        try:
            print(f"tars: {why}", file=sys.stderr, flush=True)
        finally:
            os._exit(self.exit_code or 1)

    def overdue(self) -> bool:
        """True when a signal came more than ``grace`` seconds ago."""
        return self.received is not None and time.monotonic() - self._at > self.grace

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is not threading.main_thread():
            return self  # signals only reach the main thread; nothing to install here
        self.wakeup, self._writer = socket.socketpair()
        for s in (self.wakeup, self._writer):
            s.setblocking(False)
        self._old_wakeup = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self._previous = _install(self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        _restore(self._previous)
        if self._writer is not None:
            signal.set_wakeup_fd(self._old_wakeup)
            self._writer.close()
            if self.wakeup is not None:
                self.wakeup.close()
            self._writer = self.wakeup = None

    def drain(self) -> None:
        """Empty :attr:`wakeup` (call from the event loop's notifier)."""
        try:
            while self.wakeup is not None and self.wakeup.recv(512):
                pass
        except OSError:
            pass


class InterruptSignals:
    """While entered (main thread only), SIGINT, SIGTERM and SIGHUP each raise
    KeyboardInterrupt in the main thread, as Ctrl+C does; for a command whose main thread does
    no input and handles KeyboardInterrupt by stopping its work (never one that drives X from
    the main thread: use :func:`run_stoppable`). A signal ignored on entry stays ignored.

    :attr:`received` is the first signal's number (None: none came); :attr:`exit_code` is
    128 + it (SIGINT 130, SIGTERM 143, SIGHUP 129).
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    @property
    def exit_code(self) -> int | None:
        """128 + the first signal's number, or None when no signal came."""
        return _exit_status(self.received)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.received is None:
            self.received = signum
        raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")

    def __enter__(self) -> "InterruptSignals":
        if threading.current_thread() is not threading.main_thread():
            return self
        self._previous = _install(self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        _restore(self._previous)


def run_stoppable(fn: Callable[[], Any], stop: Callable[[str], Any], grace: float = 5.0) -> tuple[Any, int | None]:
    """Run ``fn()`` on a worker thread while this (main) thread turns SIGINT, SIGTERM and SIGHUP
    into ``stop(reason)``; returns (``fn``'s value, the exit status the signal asks for or None).

    Raises what ``fn`` raised. A run still going ``grace`` seconds after a signal, or a second
    signal, ends the process (see :class:`StopSignals`).
    """
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="tars-run", daemon=True)
    with StopSignals(stop, grace) as signals:
        worker.start()
        while worker.is_alive():
            worker.join(0.1)  # a signal interrupts the wait and its handler runs here
            if signals.overdue():
                signals.exit_now(f"the run did not stop within {grace:g} s of "
                                 f"{signal.Signals(signals.received or signal.SIGTERM).name}; exiting")
    if "error" in box:
        raise box["error"]
    return box["value"], signals.exit_code
