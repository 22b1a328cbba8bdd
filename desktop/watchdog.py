"""The input watchdog: a small process that outlives tars just long enough to let go of what
tars held (issue 16: SIGKILL during a drag or after ``keydown`` must not leave the left button
or Shift held on the X server).

tars starts one per X input backend (:class:`Watchdog`) and tells it, over a pipe, every key
and button it is about to hold and has released (``+k CODE`` / ``-k CODE`` / ``+b N`` /
``-b N``; ``clear`` after it released everything; each ``+`` is written *before* the press, so a kill between the two leaves at most a release of
something that is not down, which the X server drops), and every helper process it must not
leave behind (``+p PID`` / ``-p PID``: the clipboard owner of :mod:`tars.desktop.clipboard`).

When the pipe reaches end of file (tars exited, crashed or was killed; the kernel closes the
pipe with the process) or tars's pid is no longer its parent, the watchdog releases, on its own
X connection, every key and button still listed, terminates every listed process, and exits.
A clean :meth:`Watchdog.close` sends ``bye`` after tars released everything itself, and the
watchdog exits at once. It runs in its own session with SIGINT, SIGTERM and SIGHUP ignored, so
Ctrl+C in the terminal, a closed terminal or a signal to tars's process group cannot end it
before tars is gone; it never waits on anything but the pipe (1 s poll) and exits within a
second of its parent.

    python desktop/watchdog.py DISPLAY PARENT_PID   (run by path: it imports only Xlib)
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading


class Watchdog:
    """The tars side: start the watchdog process and keep it told.

    ``display``: the X display name the input backend opened. Every method is thread-safe and
    never raises: a watchdog that cannot start or has died only means no SIGKILL guarantee
    (:attr:`alive` says which).
    """

    def __init__(self, display: str | None):
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        try:
            self._proc = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), display or os.environ.get("DISPLAY", ""),
                 str(os.getpid())],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                close_fds=True, start_new_session=True, bufsize=0,
            )
        except OSError:
            self._proc = None

    @property
    def alive(self) -> bool:
        """True while the watchdog process runs."""
        return self._proc is not None and self._proc.poll() is None

    def tell(self, line: str) -> None:
        """Send one protocol line (``+k 50``); ignored when the watchdog is gone."""
        with self._lock:
            if self._proc is None or self._proc.stdin is None:
                return
            try:
                os.write(self._proc.stdin.fileno(), (line + "\n").encode())
            except OSError:
                self._proc = None

    def close(self, timeout: float = 1.0) -> None:
        """Tell the watchdog tars let go of everything itself, and reap it."""
        self.tell("bye")
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(1.0)


def _release(display_name: str, keys: set[int], buttons: set[int]) -> None:
    if not keys and not buttons:
        return
    from Xlib import X
    from Xlib import display as xdisplay
    from Xlib.ext import xtest

    d = xdisplay.Display(display_name or None)
    try:
        for b in sorted(buttons):
            xtest.fake_input(d, X.ButtonRelease, b)
        for k in sorted(keys):
            xtest.fake_input(d, X.KeyRelease, k)
        d.sync()
    finally:
        d.close()


def _kill(pids: set[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


def main(argv: list[str] | None = None) -> int:
    """Watch the pipe on stdin until tars is gone; then release and exit (see module doc)."""
    args = sys.argv[1:] if argv is None else argv
    display_name, parent = args[0], int(args[1])
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    keys: set[int] = set()
    buttons: set[int] = set()
    pids: set[int] = set()
    fd = sys.stdin.fileno()
    pending = b""
    clean = False
    while True:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            if os.getppid() != parent:
                break
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for raw in lines:
            parts = raw.decode("ascii", "replace").split()
            if not parts:
                continue
            if parts[0] in ("clear", "bye"):  # tars released every key and button itself
                keys.clear()
                buttons.clear()
                if parts[0] == "bye":
                    pids.clear()
                    clean = True
                continue
            if len(parts) != 2 or not parts[1].isdigit():
                continue
            op, value = parts[0], int(parts[1])
            target = {"+k": keys, "-k": keys, "+b": buttons, "-b": buttons, "+p": pids, "-p": pids}.get(op)
            if target is None:
                continue
            (target.add if op[0] == "+" else target.discard)(value)
    if not clean or keys or buttons or pids:
        try:
            _release(display_name, keys, buttons)
        except Exception:
            pass
        _kill(pids)
    return 0


if __name__ == "__main__":
    sys.exit(main())
