"""Helpers for the GUI tests (overlay, app): run a scenario in a child process on a display,
capture the screen, and a patterned target window that reports clicks.

Qt allows one QApplication per process and dies with its X connection, so every GUI scenario
runs in its own Python process on the test's Xvfb; it prints one JSON line of measurements
that the test asserts on.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: A full-screen window painted with a gradient that has no black pixel; prints "ready" after
#: its first paint and "click X Y" (global coordinates) for every mouse press.
TARGET_SCRIPT = r"""
import sys
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication, QWidget

app = QApplication(sys.argv[:1])
geo = app.primaryScreen().geometry()
h, w = geo.height(), geo.width()
y, x = np.mgrid[0:h, 0:w]
rgb = np.dstack([(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)),
                 ((x // 40 + y // 40) % 2) * 50 + 90]).astype(np.uint8)
rgb[rgb.sum(axis=2) == 0] = (1, 1, 90)
buf = np.ascontiguousarray(rgb)
img = QImage(buf.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()

class Target(QWidget):
    painted = False
    def paintEvent(self, event):
        p = QPainter(self)
        p.drawImage(0, 0, img)
        p.end()
        if not self.painted:
            self.painted = True
            print("ready", flush=True)
    def mousePressEvent(self, event):
        g = event.globalPosition()
        print(f"click {round(g.x())} {round(g.y())}", flush=True)

t = Target()
t.setWindowFlags(Qt.WindowType.FramelessWindowHint)
t.setGeometry(geo)
t.show()
app.exec()
"""


class Target:
    """The patterned target window in a child process; :meth:`line` reads what it printed."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", TARGET_SCRIPT], env=env or dict(os.environ),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        first = self.line(20)
        if first != "ready":
            self.close()
            raise RuntimeError(f"target window did not start ({first!r})")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def line(self, timeout: float = 5.0) -> str | None:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def grab():
    """The whole first monitor as an H x W x 3 uint8 array (mss, as the operator captures)."""
    import mss
    import numpy as np

    factory = getattr(mss, "MSS", None) or mss.mss
    with factory() as sct:
        shot = sct.grab(sct.monitors[1])
        return np.asarray(shot)[:, :, 2::-1].copy()  # BGRA -> RGB


def run_scenario(module_file: str, name: str, env: dict[str, str], timeout: float = 60,
                 args: list[str] | None = None) -> dict:
    """Run ``python module_file name [args]`` with ``env`` and return its last JSON line."""
    env = dict(env)
    env["QT_QPA_PLATFORM"] = "xcb"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, module_file, name, *(args or [])], env=env,
                          capture_output=True, text=True, timeout=timeout, cwd=str(ROOT))
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise AssertionError(f"scenario {name} failed (rc {proc.returncode}):\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def gui_thread_runner(app):
    """Run ``fn`` in a worker thread while ``app`` runs its event loop; returns its value.

    Hooks are called from the loop's thread in real runs, so scenarios do the same.
    """
    from PySide6.QtCore import QObject, Signal

    class _Quit(QObject):
        sig = Signal()

    def run(fn):
        quitter = _Quit()
        quitter.sig.connect(app.quit)
        box: dict = {}

        def work():
            try:
                box["value"] = fn()
            except BaseException as exc:  # re-raised on the main thread
                box["error"] = exc
            finally:
                quitter.sig.emit()

        th = threading.Thread(target=work, daemon=True)
        th.start()
        app.exec()
        th.join()
        if "error" in box:
            raise box["error"]
        return box["value"]

    return run


def wait_until(pred, timeout: float = 5.0, interval: float = 0.02) -> bool:
    """Poll ``pred()`` until true or ``timeout`` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return bool(pred())
