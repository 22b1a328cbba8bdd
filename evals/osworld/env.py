"""One OSWorld task on a local desktop: the stand-in server, OSWorld's controllers, its scoring.

:class:`LocalDesktop` starts :mod:`.server` for a task's display (in its own mount and PID
namespace when tars runs as root) and gives OSWorld's code the object it expects of a
``DesktopEnv``: ``vm_ip``/``server_port`` (the stand-in), ``chromium_port`` 9222, ``vlc_port``
8080, ``cache_dir``, ``controller`` (OSWorld's ``PythonController``), ``setup_controller``
(OSWorld's ``SetupController``) and ``action_history``. Setup is
``SetupController.setup(task["config"])``; scoring is ``DesktopEnv.evaluate`` itself, called
on this object (postconfig, the infeasible rule, getters, metrics, ``conj``), so nothing of
OSWorld's logic is re-written here.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import tars
from tars.evals.osworld import refcode
from tars.evals.osworld.server import SHIMS_MOUNT, ServerSpec

#: the unprivileged account OSWorld's apps run as when tars runs as root
TASK_USER = "tars-osworld"
#: OSWorld's VM screen (desktop_env.DesktopEnv default screen_size), pixels
SCREEN = (1920, 1080)
#: the VM user's sudo password OSWorld's tasks type ({CLIENT_PASSWORD}; DesktopEnv default)
CLIENT_PASSWORD = "password"
#: the folders of a fresh Ubuntu home (xdg-user-dirs), which OSWorld's tasks assume
HOME_FOLDERS = ("Desktop", "Documents", "Downloads", "Music", "Pictures", "Public", "Templates", "Videos")
#: seconds the stand-in server gets to come up
START_TIMEOUT = 20.0


class LocalDesktopError(RuntimeError):
    """The task's desktop could not be prepared (no unshare, no user, server did not start)."""


def ensure_user(name: str = TASK_USER) -> pwd.struct_passwd:
    """The unprivileged account, created (``useradd --system``) when missing; root only.

    Raises:
        LocalDesktopError: not root and the account is missing, or useradd failed.
    """
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    if os.getuid() != 0:
        raise LocalDesktopError(f"account {name!r} is missing and only root can create it")
    proc = subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/home/user",
                           "--shell", "/bin/bash", name], capture_output=True, text=True)
    if proc.returncode != 0 and "already exists" not in proc.stderr:
        raise LocalDesktopError(f"useradd {name}: {proc.stderr.strip()}")
    return pwd.getpwnam(name)


SUDO_SHIM = r"""#!/bin/bash
# tars: OSWorld's tasks call sudo with the VM user's password. Nothing of a task runs as root
# here: the command runs as the task's own (unprivileged) user; `apt(-get) update` is a no-op
# (offline) and `apt(-get) install PKG...` succeeds only when every PKG is already installed.
while [ $# -gt 0 ]; do
  case "$1" in
    -S) cat >/dev/null 2>&1 < /dev/stdin & sleep 0.05; shift ;;
    -E|-H|-n|-k|-i|-s) shift ;;
    -u) shift 2 ;;
    --) shift; break ;;
    -*) shift ;;
    *) break ;;
  esac
done
[ $# -eq 0 ] && exit 0
case "$1" in
  apt|apt-get)
    sub="$2"; shift 2
    case "$sub" in
      update) echo "tars: apt update skipped (offline stand-in)" >&2; exit 0 ;;
      install)
        for p in "$@"; do
          case "$p" in -*) continue ;; esac
          dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
            || { echo "tars: package $p is not installed (scripts/install-system.sh --osworld)" >&2; exit 100; }
        done
        exit 0 ;;
      *) echo "tars: sudo apt $sub refused" >&2; exit 1 ;;
    esac ;;
esac
exec "$@"
"""


#: pure-Python packages that make ``python -c "import pyautogui ..."`` work (copied from the
#: interpreter tars runs in when the task's user cannot read that interpreter)
PYAUTOGUI_PACKAGES = ("pyautogui", "pymsgbox", "pytweening", "pyscreeze", "pygetwindow",
                      "pyrect", "mouseinfo", "Xlib", "pyperclip")


def _copy_packages(target: Path) -> Path:
    """Copy :data:`PYAUTOGUI_PACKAGES` from this interpreter's site-packages to ``target``.

    Raises:
        LocalDesktopError: pyautogui is not installed here (the ``desktop`` extra).
    """
    import importlib.util

    target.mkdir(parents=True, exist_ok=True)
    for name in PYAUTOGUI_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            if name == "pyautogui":
                raise LocalDesktopError("pyautogui is not installed (pip install -e '.[desktop]')")
            continue
        src = Path(spec.origin)
        if src.name == "__init__.py":
            shutil.copytree(src.parent, target / src.parent.name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, target / src.name)
    return target


def write_shims(folder: Path, python: str | None = None, visible_at: str | None = None) -> Path:
    """The commands OSWorld's tasks expect on the VM, in ``folder`` (first on the task's PATH):
    ``python``/``python3`` (an interpreter with pyautogui: ``python``, or when None Debian's
    ``/usr/bin/python3`` with pyautogui copied next to the shims, for a task user who cannot
    read tars's own interpreter), ``google-chrome`` (Chromium with Chrome's profile folder, so
    the getters find ``~/.config/google-chrome/Default/Preferences``; the binary is linked as
    ``chrome`` so that OSWorld's ``pkill chrome`` finds it), ``sudo`` (:data:`SUDO_SHIM`).

    ``visible_at``: the path the folder has where the task runs (its namespace), when not
    ``folder`` itself.

    Raises:
        LocalDesktopError: no usable interpreter.
    """
    folder.mkdir(parents=True, exist_ok=True)
    seen = Path(visible_at) if visible_at else folder

    def put(name: str, text: str) -> None:
        path = folder / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755)

    if python is None:
        if not Path("/usr/bin/python3").exists():
            raise LocalDesktopError("Debian's python3 is needed for the task user (apt-get install python3)")
        _copy_packages(folder / "pylib")
        line = f'PYTHONPATH="{seen / "pylib"}${{PYTHONPATH:+:$PYTHONPATH}}" exec /usr/bin/python3 "$@"'
    else:
        line = f'exec "{python}" "$@"'
    for name in ("python", "python3"):
        put(name, f"#!/bin/sh\n{line}\n")
    real = Path("/usr/lib/chromium/chromium")
    if not real.exists():
        real = Path(shutil.which("chromium") or "/usr/bin/chromium")
    chrome = folder / "chrome"
    if chrome.is_symlink() or chrome.exists():
        chrome.unlink()
    chrome.symlink_to(real)
    put("google-chrome", '#!/bin/sh\nexec "$(dirname "$0")/chrome" --no-sandbox --no-first-run '
        '--no-default-browser-check --password-store=basic --disable-dev-shm-usage '
        '--user-data-dir="$HOME/.config/google-chrome" "$@"\n')
    put("sudo", SUDO_SHIM)
    return folder


class LocalDesktop:
    """One task's OSWorld world on display ``display``: fresh ``home``, cache, stand-in server.

    Args:
        display: the task's X display (``":12"``), already running.
        workdir: the task's scratch folder (made here): ``home/``, ``shims/``, ``cache/``.
        task: the task JSON (OSWorld shape).
        isolate: run the server in its own mount + PID namespace as :data:`TASK_USER`
            (default: when root).

    Use as a context manager; :meth:`close` ends the server and everything the task started.
    """

    def __init__(self, display: str, workdir: str | Path, task: dict[str, Any],
                 cache_dir: str | Path | None = None, isolate: bool | None = None,
                 python: str | None = None) -> None:
        self.display = display
        self.workdir = Path(workdir).resolve()
        self.task = task
        self.isolate = (os.getuid() == 0) if isolate is None else isolate
        self.python = python or sys.executable
        self.cache_base = Path(cache_dir).resolve() if cache_dir else self.workdir / "cache"
        self.proc: subprocess.Popen | None = None
        self.server_port = 0
        # what OSWorld's getters read off a DesktopEnv
        self.vm_ip = "127.0.0.1"
        self.chromium_port = 9222
        self.vlc_port = 8080
        self.enable_proxy = False
        self.is_environment_used = False
        self.action_history: list[Any] = []
        self.screen_width, self.screen_height = SCREEN
        self.client_password = CLIENT_PASSWORD

    # -- the server --------------------------------------------------------------------------
    def start(self) -> "LocalDesktop":
        """Make the home, shims and cache, start the server, build OSWorld's controllers.

        Raises:
            LocalDesktopError: the server did not come up (its log is named).
            refcode.RefCodeError: desktop-env (or a package its controllers import) is missing.
        """
        home = self.workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        for name in HOME_FOLDERS:  # an Ubuntu user's home, as on OSWorld's VM
            (home / name).mkdir(exist_ok=True)
        if "google-chrome" in json.dumps(self.task):
            # Chrome has run once on OSWorld's VM: its profile exists (setup steps edit it with jq)
            prefs = home / ".config" / "google-chrome" / "Default" / "Preferences"
            if not prefs.exists():
                prefs.parent.mkdir(parents=True, exist_ok=True)
                prefs.write_text("{}", encoding="utf-8")
        shims = write_shims(self.workdir / "shims", None if self.isolate else self.python,
                            SHIMS_MOUNT if self.isolate else None)
        user = None
        if self.isolate:
            pw = ensure_user()
            user = pw.pw_name
            for path in [home, *home.rglob("*")]:
                os.chown(path, pw.pw_uid, pw.pw_gid)
            if shutil.which("unshare") is None:
                raise LocalDesktopError("unshare (util-linux) is needed to isolate a task")
        spec = ServerSpec(display=self.display, home=str(home), shims=str(shims), user=user,
                          screen=SCREEN, isolate=self.isolate)
        spec_file = self.workdir / "server.json"
        spec_file.write_text(spec.to_json(), encoding="utf-8")
        cmd = [self.python, "-m", "tars.evals.osworld.server", "--spec", str(spec_file)]
        if self.isolate:
            cmd = ["unshare", "--mount", "--pid", "--fork", "--mount-proc", "--kill-child", *cmd]
        log = open(self.workdir / "server.log", "wb")
        # the folder holding the tars package (not resolved: tars/ links to the top folders)
        root = str(Path(tars.__file__).parent.parent)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in [root, os.environ.get("PYTHONPATH", "")] if p))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                     env=env, start_new_session=True)
        log.close()
        line = _read_line(self.proc, START_TIMEOUT)
        if not line.startswith("port "):
            self.close()
            raise LocalDesktopError(f"the task's desktop server did not start (see {log.name})")
        self.server_port = int(line.split()[1])
        if "vlc" in json.dumps(self.task.get("config", [])) + json.dumps(self.task.get("evaluator", {})):
            self._seed_vlc()
        setup = refcode.import_module("desktop_env.controllers.setup")
        python = refcode.import_module("desktop_env.controllers.python")
        self.controller = python.PythonController(self.vm_ip, self.server_port)
        self.setup_controller = setup.SetupController(
            self.vm_ip, self.server_port, self.chromium_port, self.vlc_port, str(self.cache_base),
            self.client_password, self.screen_width, self.screen_height)
        return self

    def _seed_vlc(self) -> None:
        """VLC as on OSWorld's VM, where its first-run privacy dialog was answered: VLC's own
        default vlcrc (``--reset-config --save-config``) with ``qt-privacy-ask=0``, so the
        dialog does not cover the task and the vlc_config getter finds the file."""
        import requests

        script = ("vlc -I dummy --reset-config --save-config vlc://quit >/dev/null 2>&1; "
                  "sed -i 's/^#qt-privacy-ask=.*/qt-privacy-ask=0/' ~/.config/vlc/vlcrc")
        try:
            requests.post(f"http://{self.vm_ip}:{self.server_port}/setup/execute",
                          json={"command": script, "shell": True}, timeout=60)
        except requests.RequestException as exc:
            raise LocalDesktopError(f"cannot prepare VLC's settings: {exc}") from None

    def close(self) -> None:
        """End the server (and with its PID namespace every program of the task)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> "LocalDesktop":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- OSWorld's own code, bound to this object --------------------------------------------
    #: DesktopEnv methods OSWorld's code calls on its env, lent to this object unchanged
    _BORROWED = ("_set_task_info", "_set_evaluator_info")

    def __getattr__(self, name: str) -> Any:
        if name in LocalDesktop._BORROWED:
            return types.MethodType(getattr(self._desktop_env_class(), name), self)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _desktop_env_class(self):
        return refcode.import_module("desktop_env.desktop_env").DesktopEnv

    @property
    def vm_platform(self) -> str:
        """``DesktopEnv.vm_platform``: asks the machine (``platform.system()``)."""
        return self._desktop_env_class().vm_platform.fget(self)

    @property
    def vm_screen_size(self):
        """``DesktopEnv.vm_screen_size``."""
        return self._desktop_env_class().vm_screen_size.fget(self)

    def setup(self) -> bool:
        """OSWorld's ``DesktopEnv._set_task_info`` then ``SetupController.setup(config)``.

        Raises:
            Exception: what OSWorld's setup raises for a failing step (its message names it).
        """
        self.cache_dir_base = str(self.cache_base)
        with self._quiet():
            self._desktop_env_class()._set_task_info(self, self.task)
            self.setup_controller.reset_cache_dir(self.cache_dir)
            return bool(self.setup_controller.setup(self.config, False))

    def _quiet(self):
        """OSWorld's getters print what they fetch: into the task's ``osworld.log``, not onto
        tars's console (per thread: tasks of a ``--jobs`` run print side by side)."""
        import contextlib

        @contextlib.contextmanager
        def into_log():
            with open(self.workdir / "osworld.log", "a", encoding="utf-8") as log:
                _ThreadStdout.install()
                _ThreadStdout.local.target = log
                try:
                    yield
                finally:
                    _ThreadStdout.local.target = None

        return into_log()

    def evaluate(self, final_action: str | None) -> float:
        """``DesktopEnv.evaluate`` with the run's last OSWorld action (``"DONE"``, ``"FAIL"``,
        ``"WAIT"`` or None) as the action history: postconfig, then the score."""
        self.action_history = [final_action] if final_action else []
        with self._quiet():
            return float(self._desktop_env_class().evaluate(self))


class _ThreadStdout:
    """``sys.stdout`` that sends a thread's prints to that thread's ``local.target`` when set,
    else to the stream it replaced. Installed once and left in place: swapping ``sys.stdout``
    per call (``contextlib.redirect_stdout``) from several threads can leave it pointing at a
    closed file."""

    local = threading.local()
    _lock = threading.Lock()

    def __init__(self, base: Any) -> None:
        self.base = base

    @classmethod
    def install(cls) -> None:
        with cls._lock:
            if not isinstance(sys.stdout, cls):
                sys.stdout = cls(sys.stdout)

    def _out(self) -> Any:
        return getattr(self.local, "target", None) or self.base

    def write(self, text: str) -> int:
        return self._out().write(text)

    def flush(self) -> None:
        self._out().flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    """The first stdout line of ``proc`` within ``timeout`` seconds ('' otherwise)."""
    import selectors

    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline and not buf.endswith(b"\n"):
        if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
            break
        chunk = os.read(proc.stdout.fileno(), 256)
        if not chunk:
            break
        buf += chunk
    sel.close()
    return buf.decode(errors="replace").strip()
