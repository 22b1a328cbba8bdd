"""The demo behind the README's first command (``make demo`` -> scripts/demo.sh -> here).

1. When there is no screen (no ``DISPLAY``, or one that no X server answers), start a virtual
   one: Xvfb + openbox (:class:`tars.agent.display.VirtualDisplay`).
2. Open the sign-up practice app (``python -m tars.assets.apps.signup``), writing its state to a
   temporary folder.
3. Run ``tars run "<instruction>"`` with the default policy (``lite``), which prints each step
   (thought and actions) as it goes, and records the trajectory next to the state.
4. Print the outcome: how the run ended and what the form now holds, from the app's own state.

Exit status: tars's (0 when the run finished and the form was submitted as asked, 1 otherwise).
On a real screen tars moves your mouse: hands off until it ends (Ctrl+Alt+Esc stops it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

INSTRUCTION = (
    'type "Ada Lovelace" into Full name, then enter "ada@example.com" in the Email field; '
    'select "France" from Country then check "I agree to the terms" '
    "then uncheck Send me the newsletter and then click the Submit button"
)
EXPECTED = {"full_name": "Ada Lovelace", "email": "ada@example.com", "country": "France"}


def wait_for_window(env: dict, title: str, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Wait until a visible window titled ``title`` is mapped (needs xdotool), or a short while."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"demo: the practice app exited early (status {proc.returncode})")
        try:
            found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title], env=env,
                                   capture_output=True, text=True).stdout.strip()
        except FileNotFoundError:  # no xdotool: give the app a moment instead
            time.sleep(3)
            return
        if found:
            time.sleep(0.5)
            return
        time.sleep(0.2)
    raise SystemExit(f"demo: the {title!r} window did not appear within {timeout:.0f} s")


def display_reachable(display: str, env: dict, timeout: float = 5.0) -> bool:
    """True when an X server answers on ``display`` (``xdpyinfo`` connects within ``timeout``
    seconds). Without ``xdpyinfo`` (x11-utils) a local ``:N`` display counts as reachable when
    its socket /tmp/.X11-unix/XN exists; anything else is given the benefit of the doubt."""
    try:
        return subprocess.run(["xdpyinfo"], env={**env, "DISPLAY": display}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=timeout).returncode == 0
    except FileNotFoundError:
        number = display.split(":", 1)[1].split(".")[0] if display.startswith(":") else ""
        return not number.isdigit() or Path(f"/tmp/.X11-unix/X{number}").exists()
    except subprocess.TimeoutExpired:  # a server that does not answer is no screen either
        return False


def choose_display(virtual: bool, size: str, env: dict):
    """(VirtualDisplay or None, environment for the app and tars): the user's screen when
    ``DISPLAY`` is set and answers, else a fresh Xvfb + openbox of ``size`` (``WxH``).

    Raises:
        tars.agent.display.DisplayError: a virtual display was needed and could not start.
    """
    current = env.get("DISPLAY")
    reason = "no screen here"
    if not virtual and current:
        if display_reachable(current, env):
            return None, env
        reason = f"DISPLAY={current} does not answer (no X server there)"
    elif virtual:
        reason = "asked for --virtual"
    from tars.agent.display import VirtualDisplay

    width, height = (int(v) for v in size.lower().split("x"))
    print(f"demo: {reason}; starting a virtual display {width}x{height} (Xvfb + openbox)")
    display = VirtualDisplay(width, height, wm=True).start()
    return display, display.env(env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="tars demo: lite fills in a practice sign-up form")
    parser.add_argument("--instruction", default=INSTRUCTION, help="what to tell tars")
    parser.add_argument("--virtual", action="store_true", help="use a virtual display even when there is a screen")
    parser.add_argument("--size", default="1280x800", help="virtual display size, WxH")
    args = parser.parse_args(argv)

    display, env = choose_display(args.virtual, args.size, dict(os.environ))
    out = Path(tempfile.mkdtemp(prefix="tars-demo-"))
    state = out / "signup.json"
    app = subprocess.Popen([sys.executable, "-m", "tars.assets.apps.signup", "--state", str(state)],
                           cwd=REPO, env=env)
    try:
        wait_for_window(env, "Sign up", app)
        print(f"demo: the sign-up form is open; its state is written to {state}")
        print(f"demo: tars run {json.dumps(args.instruction)}\n", flush=True)
        cmd = [sys.executable, "-m", "tars.frontends.cli", "run", args.instruction, "--max-steps", "25",
               "--record", str(out / "trajectory")]
        if display is not None:
            cmd.append("--no-overlay")  # nobody is watching a virtual screen
        code = subprocess.run(cmd, cwd=REPO, env=env).returncode
        time.sleep(0.3)
        form = json.loads(state.read_text())
        print("\ndemo: the form now holds:")
        for key, value in form["fields"].items():
            print(f"  {key:10} {value!r}")
        print(f"  {'agree':10} {form['agree']}\n  {'newsletter':10} {form['newsletter']}")
        print(f"  {'message':10} {form['message']!r}")
        submitted = form["submitted"][-1] if form["submitted"] else None
        ok = code == 0 and submitted is not None and all(submitted.get(k) == v for k, v in EXPECTED.items()) \
            if args.instruction == INSTRUCTION else code == 0
        print(f"\ndemo: {'success' if ok else 'FAILED'}: tars exited with {code}; "
              f"trajectory in {out / 'trajectory'}")
        return 0 if ok else 1
    finally:
        app.terminate()
        try:
            app.wait(timeout=5)
        except subprocess.TimeoutExpired:
            app.kill()
        if display is not None:
            display.stop()


if __name__ == "__main__":
    raise SystemExit(main())
