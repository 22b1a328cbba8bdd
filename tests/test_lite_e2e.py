"""The main job, for real: ``lite`` through the agent loop and the LocalOperator on Xvfb with
openbox, on the practice apps and on Debian programs no one here wrote (xmessage, zenity,
xterm). Each run is checked through the application's own state or output; instructions whose
target does not exist must end in ``call_user`` and leave the application untouched.

One display for the whole module (starting Xvfb and openbox per test would cost more than the
runs); each test starts its application, runs, and closes it again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tars.agent.display import VirtualDisplay

pytestmark = [
    pytest.mark.display,
    pytest.mark.needs("PySide6", "mss", "Xlib", "rapidocr_onnxruntime"),
    pytest.mark.skipif(not all(shutil.which(p) for p in ("Xvfb", "openbox", "xdotool")),
                       reason="needs Xvfb, openbox and xdotool"),
]

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def desktop():
    """One 1024x768 Xvfb + openbox for the module; DISPLAY points at it while it runs."""
    old = os.environ.get("DISPLAY")
    with VirtualDisplay(1024, 768, wm=True) as display:
        os.environ["DISPLAY"] = display.display
        try:
            yield display
        finally:
            if old is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = old


def wait_for_window(env: dict, name: str, timeout: float = 15.0) -> None:
    """Block until a visible window whose title contains ``name`` is mapped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", name], env=env,
                               capture_output=True, text=True).stdout.strip()
        if found:
            time.sleep(0.3)  # first paint
            return
        time.sleep(0.1)
    raise AssertionError(f"window {name!r} did not appear")


class Program:
    """A started program on the test display, stopped on exit (terminate, then kill)."""

    def __init__(self, desktop, argv, window: str, **popen):
        self.env = desktop.env()
        self.proc = subprocess.Popen(argv, env=self.env, cwd=REPO, **popen)
        wait_for_window(self.env, window)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def practice_app(desktop, name: str, state: Path, window: str, *extra: str) -> Program:
    return Program(desktop, [sys.executable, "-m", f"tars.assets.apps.{name}", "--state", str(state), *extra],
                   window)


def run_lite(instruction: str, max_looks: int = 1, max_steps: int = 20):
    """Run ``instruction`` with lite + LocalOperator; returns (RunResult, model answers)."""
    from tars.agent.hooks import Hook
    from tars.agent.loop import Agent, AgentConfig
    from tars.desktop.local import LocalOperator
    from tars.models.lite.policy import LitePolicy

    answers: list[str] = []

    class Keep(Hook):
        def model_output(self, step_num, text, step, error):
            answers.append(text)

    # allow_blank: between two dialogs the bare Xvfb root window is one black frame
    operator = LocalOperator(estop_hotkey=None, allow_blank=True)
    try:
        agent = Agent(LitePolicy(max_looks=max_looks), operator,
                      AgentConfig(max_steps=max_steps, settle_timeout=2.0), hooks=[Keep()])
        result = agent.run(instruction)
    finally:
        operator.close()
    return result, answers


def state_of(path: Path) -> dict:
    return json.loads(path.read_text())


def assert_finished(result, answers):
    assert result.status == "finished", f"{result}\n" + "\n---\n".join(answers)


# -- the practice apps -------------------------------------------------------------------------

def test_signup_form(desktop, tmp_path):
    state = tmp_path / "signup.json"
    with practice_app(desktop, "signup", state, "Sign up"):
        result, answers = run_lite(
            'type "Ada Lovelace" into Full name, then enter "ada@example.com" in the Email field; '
            'select "Japan" from Country then check "I agree to the terms" '
            "and then uncheck Send me the newsletter then click the Submit button")
        assert_finished(result, answers)
        s = state_of(state)
    assert s["submitted"] == [{"full_name": "Ada Lovelace", "email": "ada@example.com", "password": "",
                               "country": "Japan", "comments": "", "newsletter": False}]


def test_notes_menu_and_save_dialog(desktop, tmp_path):
    state = tmp_path / "notes.json"
    with practice_app(desktop, "notes", state, "Notes", "--dir", str(tmp_path)):
        result, answers = run_lite(
            'type "Shopping: eggs, flour" then click File then click Save As... '
            'then type "groceries" into the File name field then click the Save button')
        assert_finished(result, answers)
    assert (tmp_path / "groceries.txt").read_text() == "Shopping: eggs, flour"
    assert state_of(state)["saved"] == {str(tmp_path / "groceries.txt"): "Shopping: eggs, flour"}


def test_notes_keyboard_save(desktop, tmp_path):
    state = tmp_path / "notes.json"
    with practice_app(desktop, "notes", state, "Notes", "--dir", str(tmp_path)):
        result, answers = run_lite('type "dear diary" then press ctrl+s then type "memo" then press enter')
        assert_finished(result, answers)
    assert (tmp_path / "memo.txt").read_text() == "dear diary"


def test_settings_tabs(desktop, tmp_path):
    state = tmp_path / "settings.json"
    with practice_app(desktop, "settings", state, "Settings"):
        result, answers = run_lite(
            'type "marie" into Username; check Start on login; click the Appearance tab; '
            'select "High contrast" from Theme; click Privacy; uncheck Send usage statistics; click Apply')
        assert_finished(result, answers)
        applied = state_of(state)["applied"]
    assert applied == {"username": "marie", "start_on_login": True, "check_updates": True,
                       "theme": "High contrast", "font_size": 11, "usage_statistics": False}


def test_todo_add_and_delete(desktop, tmp_path):
    state = tmp_path / "todo.json"
    with practice_app(desktop, "todo", state, "To-do"):
        result, answers = run_lite(
            'type "Book the dentist" into New item, then click Add, then click "Call the plumber" '
            "then click Delete")
        assert_finished(result, answers)
        items = state_of(state)["items"]
    assert items == ["Buy milk", "Water the plants", "Book the dentist"]


# -- Debian programs ---------------------------------------------------------------------------

def test_xmessage_chain_of_buttons(desktop, tmp_path):
    out = tmp_path / "codes.txt"
    script = (f'xmessage -buttons "Not now:3,Later:4" "Update available"; echo $? > {out}; '
              f'xmessage -buttons "Restart:5,Cancel:6" "Restart the computer?"; echo $? >> {out}')
    with Program(desktop, ["sh", "-c", script], "xmessage"):
        result, answers = run_lite("click Later then click Cancel")
        assert_finished(result, answers)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(out.read_text().split()) < 2:
            time.sleep(0.1)
    assert out.read_text().split() == ["4", "6"]


def test_zenity_entry(desktop, tmp_path):
    with Program(desktop, ["zenity", "--entry", "--title", "Who are you", "--text", "Your name:"],
                 "Who are you", stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as z:
        result, answers = run_lite('type "Grace Hopper" into the Your name field then click OK')
        assert_finished(result, answers)
        stdout, _ = z.proc.communicate(timeout=10)
    assert z.proc.returncode == 0 and stdout.strip() == "Grace Hopper"


def test_xterm_shell(desktop, tmp_path):
    out = tmp_path / "hello.txt"
    with Program(desktop, ["xterm", "-T", "terminal", "-e", "bash", "--norc", "--noprofile"], "terminal",
                 stderr=subprocess.DEVNULL):
        result, answers = run_lite(f'type "echo tars was here > {out}" then press enter')
        assert_finished(result, answers)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not out.exists():
            time.sleep(0.1)
    assert out.read_text() == "tars was here\n"


# -- targets that do not exist -----------------------------------------------------------------

@pytest.mark.parametrize("instruction,looks", [
    ('click "Launch the rockets"', 1),
    ('type "42" into the Shoe size field then click Apply', 0),
])
def test_missing_target_calls_user_and_touches_nothing(desktop, tmp_path, instruction, looks):
    state = tmp_path / "settings.json"
    with practice_app(desktop, "settings", state, "Settings"):
        before = state_of(state)
        result, answers = run_lite(instruction, max_looks=looks)
        time.sleep(0.3)
        after = state_of(state)
    assert result.status == "call_user", answers
    assert "do not see" in answers[-1]
    assert after == before
    assert len(answers) == looks + 1
