"""Typing exact text: per-key typing where the keyboard layout has the character, the clipboard
(or the platform's Unicode input) for everything else.

Rules (issue 3, UI-TARS convention for ``type(content=...)``):

* A single trailing ``\\n`` means submit: the text is typed, then Enter is pressed once.
* Newlines inside the text (``\\n``, ``\\r\\n``, ``\\r``) are typed as Enter, so multi-line text
  arrives line by line in a multi-line editor (QPlainTextEdit, a textarea); tabs as Tab.
* A line made only of characters the layout can type (X11: printable ASCII) is typed key by
  key, Shift added per character, checking the stop flag between characters so an emergency
  stop interrupts it within a few milliseconds.
* A line with any other character (accents, CJK, emoji) is pasted in one go: the user's
  clipboard text is saved, the line copied (pyperclip: xclip/xsel on X11), the paste key sent
  (Ctrl+V; Cmd+V on macOS), and the saved text put back after the target has had time to read
  it (``paste_settle`` seconds). Only text clipboards can be restored; an image on the clipboard
  is lost. Without any clipboard tool on X11, ``xdotool type`` is the fallback.
  Windows and macOS backends type every character through Unicode input instead.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from typing import Callable

from tars.desktop.operator import EmergencyStopError, UnsupportedActionError


def split_lines(text: str) -> list[str]:
    """Lines of ``text``, any newline convention; ``"a\\nb"`` -> ``["a", "b"]``."""
    return re.split(r"\r\n|\r|\n", text)


class TextTyper:
    """Types text through an input backend (:mod:`tars.desktop.x11_input` / :mod:`tars.desktop.pynput_input`).

    ``interval``: seconds between typed characters (X11 queues XTest events in the server, so
    none are dropped at any speed; a few ms keeps slow applications responsive).
    ``paste_keys``: canonical keys of the paste shortcut. ``paste_settle``: seconds to leave the
    target to read the clipboard before it is restored.
    """

    def __init__(self, backend, stop_event: threading.Event, paste_keys: tuple[str, ...],
                 interval: float = 0.004, paste_settle: float = 0.25,
                 press: Callable[[tuple[str, ...]], None] | None = None):
        self.backend = backend
        self.stop_event = stop_event
        self.paste_keys = paste_keys
        self.interval = interval
        self.paste_settle = paste_settle
        self._press: Callable[[tuple[str, ...]], None] = press or self._no_hotkeys  # hotkey sender with release-in-finally (the operator's)
        #: copy/paste of text: an owned xclip on X11 (:class:`XclipOwner`), else pyperclip
        self.clipboard = (XclipOwner(getattr(backend, "watchdog", None)) if XclipOwner.available()
                          else _PyperclipBackend())

    def close(self) -> None:
        """End what typing started (the xclip serving the clipboard)."""
        close = getattr(self.clipboard, "close", None)
        if close is not None:
            close()

    def _no_hotkeys(self, keys: tuple[str, ...]) -> None:
        raise EmergencyStopError(f"this typer was built without a hotkey sender; cannot press {'+'.join(keys)}")

    def _check_stop(self) -> None:
        if self.stop_event.is_set():
            raise EmergencyStopError("stopped while typing")

    def type(self, text: str) -> None:
        """Type ``text`` exactly (see module docstring); a trailing newline presses Enter once.

        Raises:
            EmergencyStopError: the stop flag was set; typing ends at the next character.
            UnsupportedActionError: a character cannot be typed or pasted here.
        """
        submit = text.endswith("\n")
        body = text[:-1] if submit else text
        if body.endswith("\r"):  # "...\r\n" trailing: the \r belongs to the submit newline
            body = body[:-1]
        clipboard = _ClipboardSession(self)
        try:
            for i, line in enumerate(split_lines(body)):
                if i:
                    self._check_stop()
                    self._press(("enter",))
                if all(self.backend.can_type(ch) for ch in line):
                    for ch in line:
                        self._check_stop()
                        self.backend.type_char(ch)
                        if self.interval:
                            time.sleep(self.interval)
                elif line:
                    self._check_stop()
                    clipboard.paste(line)
            if submit:
                self._check_stop()
                self._press(("enter",))
        finally:
            clipboard.restore()
            self.backend.sync()


class XclipOwner:
    """The X clipboard held by an ``xclip -quiet`` child of tars (issue 16, item 10).

    pyperclip's xclip copy leaves a daemonised xclip behind that keeps the caller's stdout and
    stderr open (a ``subprocess.run(..., capture_output=True)`` of tars never returns) and
    outlives tars. Here xclip runs in the foreground (``-quiet``), with stdout/stderr to
    /dev/null and in its own session; it serves the selection until another copy takes it or
    :meth:`close` ends it, and the input watchdog ends it if tars dies first. The price: text
    tars put back on the clipboard is served only while tars runs.
    """

    def __init__(self, watchdog=None):
        self.watchdog = watchdog
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        """True on Linux with xclip installed."""
        import sys

        return sys.platform.startswith("linux") and shutil.which("xclip") is not None

    def copy(self, text: str) -> None:
        """Own the clipboard with ``text`` (the previous owner of ours is ended)."""
        old, self.proc = self.proc, subprocess.Popen(
            ["xclip", "-quiet", "-selection", "clipboard"], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        if self.watchdog is not None:
            self.watchdog.tell(f"+p {self.proc.pid}")
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode("utf-8"))
        self.proc.stdin.close()
        if old is not None:
            self._end(old)

    def paste(self) -> str:
        """The clipboard's text ("" when it has none)."""
        out = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True,
                             timeout=2.0, stdin=subprocess.DEVNULL)
        return out.stdout.decode("utf-8", "replace") if out.returncode == 0 else ""

    def _end(self, proc: subprocess.Popen) -> None:
        try:
            proc.wait(0.5)  # it exits by itself once the new owner took the selection
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(1.0)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.watchdog is not None:
            self.watchdog.tell(f"-p {proc.pid}")

    def close(self) -> None:
        """End the xclip that holds the clipboard (tars is done)."""
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
            self._end(proc)


class _PyperclipBackend:
    """pyperclip's copy/paste (Windows, macOS, X11 without xclip)."""

    def copy(self, text: str) -> None:
        import pyperclip

        pyperclip.copy(text)

    def paste(self) -> str:
        import pyperclip

        return pyperclip.paste()


class _ClipboardSession:
    """Saves the user's clipboard before the first paste of a Type and restores it once."""

    def __init__(self, typer: TextTyper):
        self.typer = typer
        self.saved: str | None = None
        self.used = False

    def paste(self, text: str) -> None:
        try:
            pyperclip = self.typer.clipboard
            if not self.used:
                try:
                    self.saved = pyperclip.paste()
                except Exception:
                    self.saved = None  # nothing readable to restore (empty or not text)
            pyperclip.copy(text)
            self._wait_owned(pyperclip, text)
        except Exception as exc:  # PyperclipException: no xclip/xsel/wl-copy
            if shutil.which("xdotool"):
                self._xdotool(text)
                return
            raise UnsupportedActionError(
                f"cannot type non-ASCII text without a clipboard tool ({exc}); "
                "install xclip or xsel"
            ) from exc
        self.used = True
        self.typer._press(self.typer.paste_keys)
        self.typer.backend.sync()
        # The target fetches the clipboard while handling the paste key; give it time to do so
        # before the next paste or the restore replaces the content.
        if self.typer.stop_event.wait(self.typer.paste_settle):
            raise EmergencyStopError("stopped while typing")

    @staticmethod
    def _wait_owned(pyperclip, text: str, timeout: float = 1.0) -> None:
        # xclip returns before its background copy owns the selection; pasting earlier pastes
        # the previous content (seen on Xvfb: a line pasted twice). Read it back until it is ours.
        deadline = time.monotonic() + timeout
        while pyperclip.paste() != text and time.monotonic() < deadline:
            time.sleep(0.005)

    def _xdotool(self, text: str) -> None:
        subprocess.run(["xdotool", "type", "--delay", "20", "--", text], check=False, timeout=60)

    def restore(self) -> None:
        if not self.used:
            return
        self.used = False
        try:
            self.typer.clipboard.copy(self.saved if self.saved is not None else "")
        except Exception:
            pass
