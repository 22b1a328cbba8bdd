"""Virtual X displays: an Xvfb server, optionally with a window manager.

Used by the demo when there is no screen, by each task of a task suite (a fresh display per
task, so tasks cannot disturb each other or the user), and by the tests marked ``display``.
Needs Debian's ``xvfb`` (and ``openbox`` for a window manager, ``xprop`` from x11-utils to
know when it is ready).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
import threading
import time
from typing import IO

# Display numbers this process has used are never handed out again. Xvfb's -displayfd alone
# picks the lowest free number, so a display stopped a moment ago comes back under the same
# name: a client of the old server still shutting down (a window manager, an app, an input or
# capture connection cached by name) then talks to the new one, or the new server finds the
# old one's socket and lock file not yet removed and fails. Each process starts at its own
# offset, so parallel test runs rarely even try the same number.
_NUMBERS = itertools.count(100 + (os.getpid() % 400) * 10)
_NUMBERS_LOCK = threading.Lock()


def _free_number() -> int:
    """The next display number not used by this process and not locked by another server."""
    with _NUMBERS_LOCK:
        while True:
            n = next(_NUMBERS)
            if not os.path.exists(os.path.join(tempfile.gettempdir(), f".X{n}-lock")) and \
                    not os.path.exists(f"/tmp/.X11-unix/X{n}"):
                return n


class DisplayError(RuntimeError):
    """The virtual display could not start; the message says what is missing."""


class VirtualDisplay:
    """An Xvfb server of ``width`` x ``height`` pixels (24-bit), and openbox when ``wm``.

    Use as a context manager; :attr:`display` is the ``DISPLAY`` string (``":12"``) and
    :meth:`env` an environment for child processes. Nothing starts before :meth:`start`.

    Raises:
        DisplayError: Xvfb (or openbox when asked for) is not installed or does not start
            within ``timeout`` seconds.
    """

    def __init__(self, width: int = 1280, height: int = 800, wm: bool = True, timeout: float = 30.0):
        self.width, self.height, self.wm, self.timeout = width, height, wm, timeout
        self.display: str | None = None
        self._xvfb: subprocess.Popen | None = None
        self._wm: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    def _server_log(self) -> str:
        """The last line Xvfb wrote on stderr (why it failed), or ""."""
        if self._log is None:
            return ""
        self._log.seek(0)
        lines = self._log.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else ""

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """A copy of ``base`` (default os.environ) with DISPLAY set and Wayland unset."""
        env = dict(os.environ if base is None else base)
        if self.display is None:
            raise DisplayError("virtual display not started")
        env["DISPLAY"] = self.display
        env.pop("WAYLAND_DISPLAY", None)
        env["XDG_SESSION_TYPE"] = "x11"
        return env

    def start(self) -> "VirtualDisplay":
        """Start Xvfb (and the window manager); returns self. A display number another
        process took between the check and the start is retried with the next one (3 tries)."""
        if shutil.which("Xvfb") is None:
            raise DisplayError("Xvfb is not installed (Debian/Ubuntu: apt-get install xvfb)")
        for attempt in range(3):
            try:
                return self._start_once()
            except DisplayError:
                if attempt == 2:
                    raise
        return self

    def _start_once(self) -> "VirtualDisplay":
        read_fd, write_fd = os.pipe()
        self._log = tempfile.TemporaryFile()
        self._xvfb = subprocess.Popen(
            ["Xvfb", f":{_free_number()}", "-displayfd", str(write_fd), "-screen", "0",
             f"{self.width}x{self.height}x24", "-nolisten", "tcp", "-ac", "+extension", "RANDR",
             "-dpi", "96"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=self._log,
            # a session of its own: a terminal's Ctrl+C or hang-up reaches the whole foreground
            # process group, and a server that died with it would turn the running agent's
            # polite stop into a lost display; the server ends when stop() says so
            start_new_session=True,
        )
        os.close(write_fd)
        number = b""
        deadline = time.monotonic() + self.timeout
        with os.fdopen(read_fd, "rb", buffering=0) as pipe:
            while time.monotonic() < deadline and not number.endswith(b"\n"):
                chunk = pipe.read(16)
                if not chunk:
                    break
                number += chunk
        if not number.strip():
            why = self._server_log()
            self.stop()
            raise DisplayError("Xvfb did not start" + (f": {why}" if why else ""))
        self.display = f":{int(number.strip())}"
        if self.wm:
            self._start_wm()
        return self

    def _start_wm(self) -> None:
        if shutil.which("openbox") is None:
            self.stop()
            raise DisplayError("openbox is not installed (apt-get install openbox)")
        self._wm = subprocess.Popen(
            ["openbox", "--sm-disable"], env=self.env(),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        # Ready when the WM has claimed the root window; windows mapped before that would
        # not be managed (no focus, no decorations).
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            out = subprocess.run(
                ["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], env=self.env(),
                capture_output=True, text=True,
            ).stdout
            if "window id" in out:
                return
            time.sleep(0.05)
        self.stop()
        raise DisplayError("openbox did not start on the virtual display")

    def stop(self) -> None:
        """Stop the window manager and the server; safe to call twice."""
        for proc in (self._wm, self._xvfb):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._wm = self._xvfb = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "VirtualDisplay":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
