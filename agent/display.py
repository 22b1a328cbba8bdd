"""Virtual X displays: an Xvfb server, optionally with a window manager.

Used by the demo when there is no screen, by each task of a task suite (a fresh display per
task, so tasks cannot disturb each other or the user), and by the tests marked ``display``.
Needs Debian's ``xvfb`` (and ``openbox`` for a window manager, ``xprop`` from x11-utils to
know when it is ready).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time


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
        """Start Xvfb (and the window manager); returns self."""
        if shutil.which("Xvfb") is None:
            raise DisplayError("Xvfb is not installed (Debian/Ubuntu: apt-get install xvfb)")
        read_fd, write_fd = os.pipe()
        self._xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{self.width}x{self.height}x24",
             "-nolisten", "tcp", "-ac", "+extension", "RANDR", "-dpi", "96"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
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
            self.stop()
            raise DisplayError("Xvfb did not start")
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
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
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
        self._wm = self._xvfb = None

    def __enter__(self) -> "VirtualDisplay":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
