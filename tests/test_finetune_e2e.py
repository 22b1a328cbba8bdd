"""The whole loop on a real X display: demonstrate, tune, run.

A person's demonstration of a practice-app task is recorded with ``DemoRecorder`` (the code
behind ``tars record``) while xdotool drives the mouse and keyboard on Xvfb + openbox; a tiny
random-weight Qwen2.5-VL / Qwen2-VL checkpoint is tuned on it with ``tars finetune``; then
``tars run --policy hf --model TINY --adapter OUT`` completes the same task on a fresh window of
the app (checked through the app's state file), while the untuned checkpoint does not.

The tuned model can only repeat the demonstration if every training sample equals, token for
token, the request the run sends at that step: prompt template, history window, box-token
re-wrap, image budget and chat template (tests/test_finetune.py checks the tokens directly).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")

from tars.agent.display import VirtualDisplay  # noqa: E402
from tests.tiny_models import build_tiny_vl  # noqa: E402

pytestmark = [
    pytest.mark.display,
    pytest.mark.skipif(not all(shutil.which(p) for p in ("Xvfb", "openbox", "xdotool")),
                       reason="needs Xvfb, openbox and xdotool"),
]

ROOT = Path(__file__).resolve().parents[1]
INSTRUCTION = 'type "Buy bread" into the New item field, then click Add'
GEOMETRY = "440x300+0+0"
#: a small screen keeps the images (and the tuning) short: 476x308 after smart_resize
SCREEN = (480, 320)
DEFAULT_ITEMS = ["Buy milk", "Call the plumber", "Water the plants"]

# The practice app exactly as `python -m tars.assets.apps.todo` builds and places it, plus one
# line on stdout with the screen centres of its New item field and Add button.
PROBE = r"""
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton
from tars.assets.apps._common import parse_geometry
from tars.assets.apps.todo import DEFAULT_ITEMS, build
app = QApplication(sys.argv[:1])
win = build(sys.argv[1], DEFAULT_ITEMS)
w, h, x, y = parse_geometry(sys.argv[2])
win.resize(w, h); win.move(x, y); win.show(); win.raise_(); win.activateWindow()
def report():
    entry = win.findChild(QLineEdit)
    add = next(b for b in win.findChildren(QPushButton) if b.text() == "Add")
    centre = lambda wd: wd.mapToGlobal(wd.rect().center())
    print(json.dumps({"entry": [centre(entry).x(), centre(entry).y()],
                      "add": [centre(add).x(), centre(add).y()]}), flush=True)
QTimer.singleShot(700, report)
app.exec()
"""


@pytest.fixture(scope="module")
def desktop():
    with VirtualDisplay(*SCREEN, wm=True) as display:
        yield display


def _wait_for_state(path: Path, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        time.sleep(0.1)
    raise AssertionError(f"{path} was never written")


class App:
    """The to-do practice app on the display (probe=True: the instrumented copy)."""

    def __init__(self, desktop, state: Path, probe: bool = False) -> None:
        argv = ([sys.executable, "-c", PROBE, str(state), GEOMETRY] if probe else
                [sys.executable, "-m", "tars.assets.apps.todo", "--state", str(state), "--geometry", GEOMETRY])
        self.proc = subprocess.Popen(argv, env=desktop.env(), cwd=ROOT, stdout=subprocess.PIPE, text=True)
        self.state = state
        self.where = json.loads(self.proc.stdout.readline()) if probe else None
        _wait_for_state(state)
        time.sleep(0.8)  # mapped and painted

    def items(self) -> list[str]:
        return json.loads(self.state.read_text())["items"]

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _xdotool(env, *args):
    subprocess.run(["xdotool", *args], env=env, check=True, timeout=10)


@pytest.fixture(scope="module")
def demonstration(desktop, tmp_path_factory, monkeypatch_module):
    """A recorded demonstration of the task (DemoRecorder + xdotool), checked on the app."""
    from tars.actions.space import Click, Type
    from tars.frontends.recorder import DemoRecorder

    monkeypatch_module.setenv("DISPLAY", desktop.display)
    base = tmp_path_factory.mktemp("demo")
    env = desktop.env()
    app = App(desktop, base / "todo.json", probe=True)
    folder = base / "demo"
    try:
        rec = DemoRecorder(folder, instruction=INSTRUCTION).start()
        try:
            time.sleep(0.4)
            _xdotool(env, "mousemove", *map(str, app.where["entry"]), "click", "1")
            time.sleep(0.7)  # longer than the double-click window: the click is final
            _xdotool(env, "type", "--delay", "40", "Buy bread")
            time.sleep(0.4)
            _xdotool(env, "mousemove", *map(str, app.where["add"]), "click", "1")
            time.sleep(0.8)
            _xdotool(env, "key", "ctrl+alt+Escape")
            assert rec.wait(5), "the stop hotkey did not end the recording"
        finally:
            actions = rec.finish()
        assert [type(a.action) for a in actions] == [Click, Type, Click]
        assert app.items() == [*DEFAULT_ITEMS, "Buy bread"]
    finally:
        app.close()
    return folder


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _tars(desktop, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "tars", *args], env=desktop.env(), cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen2_vl"])
def test_tuned_on_a_demonstration_it_does_the_task(desktop, demonstration, tmp_path, family):
    checkpoint = build_tiny_vl(tmp_path / f"tiny-{family}", family, layers=2, init_std=0.2)
    out = tmp_path / "adapter"
    tuned = _tars(desktop, "finetune", str(demonstration), "--model", str(checkpoint), "--out", str(out),
                  "--lr", "1e-2", "--epochs", "20", "--grad-accum", "4", "--val-split", "0",
                  "--dropout", "0", "--history-images", "2")
    assert tuned.returncode == 0, tuned.stderr
    assert "adapter written to" in tuned.stderr
    manifest = json.loads((out / "tars_adapter.json").read_text())
    assert manifest["results"]["train_loss"] < 0.1, manifest["results"]

    runs = {}
    for name, extra in (("untuned", []), ("tuned", ["--adapter", str(out)])):
        app = App(desktop, tmp_path / f"{name}.json")
        try:
            proc = _tars(desktop, "run", INSTRUCTION, "--policy", "hf", "--model", str(checkpoint), *extra,
                         "--no-overlay", "--max-steps", "6", "--max-new-tokens", "60", "--json")
            time.sleep(0.5)
            runs[name] = (proc, app.items())
        finally:
            app.close()
    proc, items = runs["untuned"]
    assert proc.returncode != 0 and items == DEFAULT_ITEMS, proc.stdout
    proc, items = runs["tuned"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "finished" and result["steps"] == 4
    assert items == [*DEFAULT_ITEMS, "Buy bread"]
