"""A local stand-in for the HTTP server inside OSWorld's VM, on one task's own display.

OSWorld's setup controller, python controller and getters (PyPI ``desktop-env``) reach the
VM through an HTTP server on port 5000 (``desktop_env/controllers/setup.py``,
``controllers/python.py``, ``evaluators/getters/*``). This module answers the same requests
on ``127.0.0.1:<free port>`` for the local desktop, so their code runs unchanged. What each
route returns is what those clients read: ``/execute`` and ``/setup/execute`` a JSON object
with ``status``, ``output``, ``error`` and ``returncode``; ``/file`` the raw bytes (404 when
absent); ``/screenshot`` a PNG; ``/terminal`` and ``/accessibility`` 500 (no GNOME terminal,
no AT-SPI here: their getters then get ``None``).

Run it as ``python -m tars.evals.osworld.server --spec FILE`` (:class:`ServerSpec` as JSON).
When started as root (the task runner wraps it in ``unshare --mount --pid --fork
--mount-proc``) it first builds the task's private view of the machine: a tmpfs over
``/home`` holding ``/home/user`` (OSWorld's user folder, bound to the task's fresh home) and
the command shims (:data:`SHIMS_MOUNT`), a
tmpfs over ``/run/user`` holding ``/run/user/<uid>`` (with a session D-Bus at
``/run/user/<uid>/bus`` as on the VM), then drops to the unprivileged account: everything a
task runs (VLC refuses root) and every file it reads or writes is that user's. The PID
namespace means ``pkill vlc`` in a task only sees the task's own processes, and everything
the task started ends with this server. It prints ``port <n>`` on stdout once it listens.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

#: seconds a ``/execute`` command may run (OSWorld's server gives 120 s)
EXECUTE_TIMEOUT = 120.0
#: seconds ``/setup/open_file`` waits for a window naming the file
OPEN_TIMEOUT = 30.0


@dataclass
class ServerSpec:
    """What the server needs: ``display`` (``":12"``), ``home`` (the task's fresh home folder on
    the host), ``shims`` (folder put first on PATH), ``user`` (account to drop to when root;
    None: stay as is), ``screen`` ([w, h] pixels), ``env`` (extra variables), ``isolate``
    (build the private /home and /run/user: only inside a mount namespace)."""

    display: str
    home: str
    shims: str
    user: str | None = None
    screen: tuple[int, int] = (1920, 1080)
    env: dict[str, str] = field(default_factory=dict)
    isolate: bool = False

    def to_json(self) -> str:
        """The spec as JSON text (what ``--spec`` reads)."""
        return json.dumps(asdict(self))


#: where the shims folder appears inside a task's namespace (the task user may not be able to
#: reach the folder on the host, e.g. below a 0700 temporary folder)
SHIMS_MOUNT = "/home/.tars-shims"


class Desktop:
    """The task's side of the machine: its environment, its processes, its files."""

    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self.home = Path("/home/user") if spec.isolate else Path(spec.home)
        shims = SHIMS_MOUNT if spec.isolate else spec.shims
        self.env = {
            "DISPLAY": spec.display, "HOME": str(self.home), "USER": os.environ.get("USER", "user"),
            "PATH": os.pathsep.join([shims, "/usr/local/bin", "/usr/bin", "/bin",
                                     "/usr/local/sbin", "/usr/sbin", "/sbin"]),
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "XDG_SESSION_TYPE": "x11",
            "XDG_CURRENT_DESKTOP": "GNOME", "SHELL": "/bin/bash", "TERM": "xterm",
            **spec.env,
        }
        self.procs: list[subprocess.Popen] = []
        self.lock = threading.Lock()
        # the account commands run as (None: this process's own)
        self.uid: int | None = None
        self.gid: int | None = None
        self.terminals = 0

    def _as_user(self) -> dict:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def own(self, path: Path) -> None:
        """Give a file the server wrote (an upload) to the task's user."""
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)

    # -- commands --------------------------------------------------------------------------
    def _argv(self, command: Any, shell: bool) -> Any:
        if shell:
            return command if isinstance(command, str) else " ".join(command)
        if isinstance(command, str):
            command = shlex.split(command)
        # OSWorld's server expands a leading ~ in list arguments
        return [os.path.expanduser(a) if isinstance(a, str) and a.startswith("~") else a
                for a in command]

    def run(self, command: Any, shell: bool = False, timeout: float = EXECUTE_TIMEOUT) -> dict:
        """Run to completion; the ``/execute`` answer."""
        try:
            proc = subprocess.run(self._argv(command, shell), shell=shell, env=self.env,
                                  cwd=self.home, capture_output=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL, executable="/bin/bash" if shell else None,
                                  **self._as_user())
        except subprocess.TimeoutExpired as exc:
            return {"status": "error", "output": _text(exc.stdout), "returncode": -1,
                    "error": f"timed out after {timeout:.0f} s"}
        except OSError as exc:
            return {"status": "error", "output": "", "error": str(exc), "returncode": -1}
        return {"status": "success", "output": _text(proc.stdout), "error": _text(proc.stderr),
                "returncode": proc.returncode}

    def launch(self, command: Any, shell: bool = False) -> str:
        """Start and leave running (``/setup/launch``); returns its pid as text."""
        log = open(self.home / ".cache" / "tars-launch.log", "ab") if (self.home / ".cache").is_dir() \
            else subprocess.DEVNULL
        proc = subprocess.Popen(self._argv(command, shell), shell=shell, env=self.env,
                                cwd=self.home, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, executable="/bin/bash" if shell else None,
                                **self._as_user())
        with self.lock:
            self.procs.append(proc)
        return str(proc.pid)

    def windows(self) -> list[tuple[str, str, str]]:
        """(id, class, title) of each managed window (``wmctrl -lx``)."""
        out = self.run(["wmctrl", "-lx"], timeout=10)["output"]
        rows = []
        for line in out.splitlines():
            parts = line.split(None, 4)
            if len(parts) >= 4:
                rows.append((parts[0], parts[2], parts[4] if len(parts) > 4 else ""))
        return rows

    def find_window(self, name: str, strict: bool, by_class: bool) -> str | None:
        """The id of the first window whose title (or class) is / contains ``name``."""
        for wid, klass, title in self.windows():
            hay = klass if by_class else title
            if (hay == name) if strict else (name.lower() in hay.lower()):
                return wid
        return None

    # -- the terminal (Ubuntu's Ctrl+Alt+T) -------------------------------------------------
    def open_terminal(self) -> str:
        """Open a terminal as the task's user, as Ctrl+Alt+T does on OSWorld's Ubuntu VM: an
        xterm titled "Terminal" whose output is logged for ``/terminal``."""
        self.terminals += 1
        log = self.home / ".cache" / f"tars-terminal-{self.terminals}.log"
        return self.launch(["xterm", "-T", "Terminal", "-fa", "Monospace", "-fs", "11",
                            "-l", "-lf", str(log)])

    def terminal_text(self) -> str | None:
        """What the newest terminal showed (its log, escape sequences removed), or None."""
        logs = sorted((self.home / ".cache").glob("tars-terminal-*.log"),
                      key=lambda p: p.stat().st_mtime)
        if not logs:
            return None
        raw = logs[-1].read_bytes().decode("utf-8", errors="replace")
        text = _ANSI.sub("", raw).replace("\r\n", "\n").replace("\r", "")
        return "".join(ch for ch in text if ch == "\n" or ch == "\t" or ord(ch) >= 32)

    def watch_hotkey(self) -> None:
        """Grab Ctrl+Alt+T on the display's root window and open a terminal on each press
        (a daemon thread; ends with the process)."""
        try:
            from Xlib import XK, X
            from Xlib import display as xdisplay
        except ImportError:
            return
        try:
            dpy = xdisplay.Display(self.spec.display)
        except Exception:  # no display: nothing to grab
            return
        root = dpy.screen().root
        code = dpy.keysym_to_keycode(XK.string_to_keysym("t"))
        base = X.ControlMask | X.Mod1Mask
        for extra in (0, X.LockMask, X.Mod2Mask, X.LockMask | X.Mod2Mask):  # Caps/NumLock
            root.grab_key(code, base | extra, True, X.GrabModeAsync, X.GrabModeAsync)
        dpy.sync()
        while True:
            event = dpy.next_event()
            if event.type == X.KeyPress and event.detail == code:
                try:
                    self.open_terminal()
                except OSError:
                    pass

    def close(self) -> None:
        """Stop everything this desktop launched (SIGTERM, then SIGKILL)."""
        with self.lock:
            procs, self.procs = self.procs, []
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    pass
        for p in procs:
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass


_ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][A-Z0-9]|[=>78DEHMc])")


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Fields of a multipart/form-data body: name -> (filename, bytes)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            fields[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


class Handler(BaseHTTPRequestHandler):
    """Routes of OSWorld's VM server that its controllers and getters call."""

    desktop: Desktop  # set on the class by serve()
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: the task log has the calls
        pass

    def _send(self, code: int, body: bytes | str | dict, ctype: str = "application/json") -> None:
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
            ctype = ctype if ctype != "application/octet-stream" else "text/plain"
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _json(self) -> dict:
        raw = self._body()
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            return {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        return json.loads(raw or b"{}")

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        d = self.desktop
        if self.path == "/screenshot":
            import mss
            import mss.tools

            with mss.mss(display=d.spec.display) as sct:
                shot = sct.grab(sct.monitors[0])
                self._send(200, mss.tools.to_png(shot.rgb, shot.size) or b"", "image/png")
        elif self.path == "/platform":
            self._send(200, "Linux", "text/plain")
        elif self.path == "/terminal":
            text = d.terminal_text()
            if text is None:
                self._send(500, {"error": "no terminal is open"})
            else:
                self._send(200, {"output": text})
        elif self.path == "/accessibility":
            self._send(500, {"error": f"{self.path} is not available on a local tars desktop"})
        else:
            self._send(404, {"error": f"no route {self.path}"})

    def do_POST(self) -> None:  # noqa: N802
        d = self.desktop
        try:
            if self.path in ("/execute", "/setup/execute"):
                req = self._json()
                self._send(200, d.run(req["command"], bool(req.get("shell", False))))
            elif self.path == "/setup/launch":
                req = self._json()
                self._send(200, f"launched {d.launch(req['command'], bool(req.get('shell', False)))}",
                           "text/plain")
            elif self.path == "/file":
                path = Path(os.path.expanduser(self._json()["file_path"]))
                if path.is_file():
                    self._send(200, path.read_bytes(), "application/octet-stream")
                else:
                    self._send(404, {"error": f"{path}: no such file"})
            elif self.path == "/setup/upload":
                fields = _multipart(self.headers.get("Content-Type", ""), self._body())
                target = Path(os.path.expanduser(fields["file_path"][1].decode()))
                missing = [p for p in [target.parent, *target.parent.parents] if not p.exists()]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(fields["file_data"][1])
                for p in [target, *missing]:
                    d.own(p)
                self._send(200, "uploaded", "text/plain")
            elif self.path == "/setup/open_file":
                path = Path(os.path.expanduser(self._json()["path"]))
                if not path.exists():
                    self._send(404, {"error": f"{path}: no such file"})
                    return
                d.launch(["xdg-open", str(path)])
                deadline = time.monotonic() + OPEN_TIMEOUT
                while time.monotonic() < deadline and d.find_window(path.name, False, False) is None:
                    time.sleep(0.5)
                self._send(200, "opened", "text/plain")
            elif self.path in ("/setup/activate_window", "/setup/close_window"):
                req = self._json()
                wid = d.find_window(req["window_name"], bool(req.get("strict")), bool(req.get("by_class")))
                if wid is None:
                    self._send(404, {"error": f"no window {req['window_name']!r}"})
                    return
                flag = "-a" if self.path.endswith("activate_window") else "-c"
                d.run(["wmctrl", "-i", flag, wid], timeout=10)
                self._send(200, "done", "text/plain")
            elif self.path == "/screen_size":
                w, h = d.spec.screen
                self._send(200, {"width": w, "height": h})
            elif self.path == "/desktop_path":
                self._send(200, {"desktop_path": str(d.home / "Desktop")})
            elif self.path == "/run_python":
                req = self._json()
                res = d.run(["python", "-c", req["code"]])
                self._send(200, {"status": "success" if res["returncode"] == 0 else "error",
                                 "message": res["output"], "output": res["output"],
                                 "error": res["error"], "returncode": res["returncode"]})
            elif self.path == "/run_bash_script":
                req = self._json()
                res = d.run(req["script"], shell=True, timeout=float(req.get("timeout", 30)))
                self._send(200, res)
            else:
                self._send(404, {"error": f"no route {self.path}"})
        except (KeyError, ValueError) as exc:
            self._send(400, {"error": f"bad request: {type(exc).__name__}: {exc}"})
        except OSError as exc:
            self._send(500, {"error": str(exc)})


def _isolate(spec: ServerSpec, uid: int, gid: int) -> None:
    """Inside the task's mount namespace: a private /home/user and /run/user/<uid>."""
    def mount(*args: str) -> None:
        subprocess.run(["mount", *args], check=True)

    mount("--make-rprivate", "/")
    mount("-t", "tmpfs", "-o", "mode=755", "tmpfs", "/home")
    os.makedirs("/home/user")
    mount("--bind", spec.home, "/home/user")
    os.makedirs(SHIMS_MOUNT)
    mount("--bind", "-o", "ro", spec.shims, SHIMS_MOUNT)
    os.makedirs("/run/user", exist_ok=True)
    mount("-t", "tmpfs", "-o", "mode=755", "tmpfs", "/run/user")
    run_dir = f"/run/user/{uid}"
    os.makedirs(run_dir, mode=0o700)
    os.chown(run_dir, uid, gid)


def serve(spec: ServerSpec) -> None:
    """Build the task's view (when isolating), start D-Bus as the task's user, serve until
    SIGTERM. The server itself keeps its account (it reads the interpreter tars runs from);
    every command it runs for the task runs as ``spec.user``."""
    desktop = Desktop(spec)
    uid, gid = os.getuid(), os.getgid()
    if spec.user and os.getuid() == 0:
        import pwd

        pw = pwd.getpwnam(spec.user)
        uid, gid = pw.pw_uid, pw.pw_gid
        desktop.uid, desktop.gid = uid, gid
        desktop.env["USER"] = desktop.env["LOGNAME"] = spec.user
    if spec.isolate:
        _isolate(spec, uid, gid)
    run_dir = Path(f"/run/user/{uid}") if spec.isolate else Path(spec.home) / ".run"
    run_dir.mkdir(mode=0o700, exist_ok=True)
    desktop.env["XDG_RUNTIME_DIR"] = str(run_dir)
    cache = desktop.home / ".cache"
    cache.mkdir(exist_ok=True)
    for p in (run_dir, cache):
        desktop.own(p)
    bus = None
    if shutil.which("dbus-daemon"):
        address = f"unix:path={run_dir / 'bus'}"
        bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile",
                                f"--address={address}"], env=desktop.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               **desktop._as_user())
        desktop.env["DBUS_SESSION_BUS_ADDRESS"] = address
        for _ in range(50):
            if (run_dir / "bus").exists():
                break
            time.sleep(0.05)
    threading.Thread(target=desktop.watch_hotkey, name="ctrl-alt-t", daemon=True).start()
    Handler.desktop = desktop
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"port {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        desktop.close()
        if bus is not None:
            bus.terminate()
            try:
                bus.wait(timeout=3)
            except subprocess.TimeoutExpired:
                bus.kill()


def main(argv: list[str] | None = None) -> int:
    """``--spec FILE``: serve one task's desktop until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True)
    args = parser.parse_args(argv)
    data = json.loads(Path(args.spec).read_text(encoding="utf-8"))
    data["screen"] = tuple(data.get("screen", (1920, 1080)))
    serve(ServerSpec(**data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
