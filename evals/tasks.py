"""Task suites in OSWorld's shape (DESIGN.md, Task suite): load, set up, run, evaluate.

A task is one JSON file (OSWorld ``evaluation_examples`` shape, extra keys allowed)::

    {"id": "todo-add", "instruction": "type \\"milk\\" into the New item field, then click Add",
     "config": [{"type": "launch", "parameters": {"command": ["{python}", "-m",
                 "tars.assets.apps.todo", "--state", "{workdir}/todo.json"], "wait_window": "To-do"}}],
     "evaluator": {"func": "app_state_equals",
                   "result": {"type": "app_state", "path": "{workdir}/todo.json"},
                   "expected": {"type": "rule", "rules": {"expect": {"items.-1": "milk"}}}},
     "max_steps": 10}

Setup steps (``config``): ``launch`` (start a program and leave it running; optional
``wait_window``: a title regex to wait for), ``open`` (``path`` opened ``with`` a command),
``execute`` (run a command to completion; a non-zero exit fails the setup), ``sleep``
(``seconds``), and ``write`` (``path``, ``content``: create a file). Strings may use
``{workdir}`` (the task's own scratch folder), ``{python}`` (this interpreter), ``{repo}`` (the
folder holding the ``agent`` package) and ``{task_dir}`` (the folder of the task file).

Each task runs on a fresh :class:`tars.agent.display.VirtualDisplay` (Xvfb + openbox): setup, the
agent in a child process (``python -m tars.evals.worker``; a process per task because
pyautogui binds to one DISPLAY per process, which also lets ``--jobs N`` run tasks side by
side), then the evaluators (:mod:`tars.evals.evaluators`) on the same display, then everything
is torn down.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

import tars
import tars.assets
from tars.agent.schema import RunResultFile, TaskResultRow, TaskSummary, dumps_line, read_json
from tars.evals.evaluators import GETTERS, METRICS, EvalContext, EvaluatorError, evaluate, window_titles

#: the folder that holds the ``tars`` package (the checkout, or site-packages): put on the
#: PYTHONPATH of task processes so that they import this same tars. Not resolved: in a
#: checkout ``tars/`` links to the top-level folders, and resolving would leave the namespace.
REPO_ROOT = Path(tars.__file__).parent.parent
#: the suite that ships with tars (``tars eval tasks practice``)
BUILTIN_SUITES = {"practice": Path(tars.assets.__file__).parent / "tasks"}
STEP_TYPES = ("launch", "open", "execute", "sleep", "write")


class TaskError(ValueError):
    """A task file is malformed or a task's setup failed; the message names the task."""


class SetupStep(BaseModel):
    """One ``config`` entry: ``{"type": ..., "parameters": {...}}`` (OSWorld shape)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["launch", "open", "execute", "sleep", "write"]
    parameters: dict[str, Any] = Field(default_factory=dict)


class Evaluator(BaseModel):
    """OSWorld ``evaluator``: ``func`` (a name or a list), ``result``, ``expected``,
    ``options`` (each a value or a list matching ``func``), ``conj`` (``and`` | ``or``)."""

    model_config = ConfigDict(extra="allow")
    func: str | list[str]
    result: Any = None
    expected: Any = None
    options: Any = None
    conj: Literal["and", "or"] = "and"

    @model_validator(mode="after")
    def _known_names(self) -> "Evaluator":
        # checked when the suite loads, so a typo fails before any agent runs, not after
        names = self.func if isinstance(self.func, list) else [self.func]
        if not names:
            raise ValueError("func: give at least one evaluator func")
        for name in names:
            if name not in METRICS:
                raise ValueError(f"func: unknown evaluator func {name!r}; known: {', '.join(METRICS)}")
        n, is_list = len(names), isinstance(self.func, list)
        for key in ("result", "expected", "options"):
            value = getattr(self, key)
            if is_list and isinstance(value, list) and len(value) != n:
                raise ValueError(f"{key}: {len(value)} entries for {n} funcs")
            if key == "options":
                continue
            for spec in (value if is_list and isinstance(value, list) else [value]):
                if spec is None:
                    continue
                if not isinstance(spec, dict) or spec.get("type") not in GETTERS:
                    got = spec.get("type") if isinstance(spec, dict) else spec
                    raise ValueError(f"{key}: unknown getter type {got!r}; known: {', '.join(GETTERS)}")
        return self


class Task(BaseModel):
    """One task: ``id``, ``instruction``, setup ``config``, ``evaluator``, ``max_steps``,
    ``infeasible`` (success = the agent ended with ``call_user``), ``screen`` (``[w, h]`` of
    its virtual display, pixels). Unknown OSWorld keys (``snapshot``, ``source``, ...) are kept."""

    model_config = ConfigDict(extra="allow")
    id: str
    instruction: str
    config: list[SetupStep] = Field(default_factory=list)
    evaluator: Evaluator
    max_steps: int = 15
    infeasible: bool = False
    screen: tuple[int, int] = (1280, 800)
    source_file: Path | None = Field(default=None, exclude=True)

    @field_validator("id")
    @classmethod
    def _safe_id(cls, v: str) -> str:
        # the id names the task's folder under --out
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", v):
            raise ValueError("id must be letters, digits, '.', '_' or '-' (it names a folder)")
        return v

    @property
    def is_infeasible(self) -> bool:
        """True when success means giving up (``infeasible`` or func ``infeasible``)."""
        funcs = self.evaluator.func if isinstance(self.evaluator.func, list) else [self.evaluator.func]
        return self.infeasible or "infeasible" in funcs

    def out_folder(self) -> Path:
        """The task's results folder, relative to ``--out``: its id (OSWorld tasks use
        OSWorld's results layout, :class:`tars.evals.osworld.suite.OSWorldTask`)."""
        return Path(self.id)

    def session(self, env: dict[str, str], workdir: Path,
                stop: threading.Event | None = None) -> "TaskSession":
        """The task's world on its display: a :class:`TaskSession`."""
        return TaskSession(self, env, workdir, stop)

    def row_fields(self) -> dict[str, Any]:
        """Extra fields of this task's results.jsonl row (OSWorld tasks: ``domain``)."""
        return {}

    def record_score(self, task_dir: Path, row: dict[str, Any]) -> None:
        """After scoring: the score goes into the trajectory's result.json too (when the agent
        wrote one), so each task folder says how it was scored."""
        result = task_dir / "result.json"
        if not result.exists() or row["status"] == "stopped":
            return
        try:
            data = json.loads(result.read_text(encoding="utf-8"))
        except ValueError:
            return
        data["score"] = row["score"]
        tmp = result.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, result)


def load_task(path: str | Path) -> Task:
    """Read and validate one task file.

    Raises:
        TaskError: unreadable JSON or a field that does not fit the schema (named).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        task = Task.model_validate(data)
    except (OSError, ValueError) as exc:  # ValidationError is a ValueError
        detail = str(exc)
        if isinstance(exc, ValidationError):
            e = exc.errors()[0]
            detail = f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            if e["type"] == "literal_error":  # name the bad value, not only the good ones
                detail += f" (got {e['input']!r})"
        raise TaskError(f"{path}: {detail}") from None
    task.source_file = path.resolve()
    return task


def load_suite(suite: str | Path) -> list[Task]:
    """Tasks of a suite: a task file, a folder of them (``*.json``, sorted), or the name of
    a built-in suite (``practice``: assets/tasks).

    Raises:
        TaskError: no such suite, no tasks, a bad file, or two tasks with one id.
    """
    path = BUILTIN_SUITES.get(str(suite), Path(suite))
    if path.is_file():
        tasks = [load_task(path)]
    elif path.is_dir():
        tasks = [load_task(p) for p in sorted(path.glob("*.json"))]
    else:
        raise TaskError(f"{suite}: no such task file, folder or built-in suite "
                        f"({', '.join(BUILTIN_SUITES)})")
    if not tasks:
        raise TaskError(f"{path}: no task files (*.json)")
    seen: set[str] = set()
    for t in tasks:
        if t.id in seen:
            raise TaskError(f"{path}: two tasks have the id {t.id!r}")
        seen.add(t.id)
    return tasks


def substitute(value: Any, variables: dict[str, str]) -> Any:
    """Replace ``{name}`` for each variable in every string inside ``value`` (recursively).

    Only the named placeholders are touched, so regex braces (``a{2}``) survive.
    """
    if isinstance(value, str):
        for k, v in variables.items():
            value = value.replace("{" + k + "}", v)
        return value
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, variables) for k, v in value.items()}
    return value


def wait_for_window(env: dict[str, str], pattern: str, timeout: float = 15.0,
                    stop: threading.Event | None = None,
                    proc: subprocess.Popen | None = None) -> bool:
    """Poll until a visible window's title matches regex ``pattern``; False on timeout, when
    ``stop`` is set, or at once when ``proc`` (the program that should show it) has failed
    (a non-zero exit). A launcher that exits with 0 may have handed over to another process
    (soffice, browser wrappers): the wait goes on."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
        if proc is not None and proc.poll() not in (None, 0):
            return any(rx.search(t) for t in window_titles(env))
        if any(rx.search(t) for t in window_titles(env)):
            return True
        time.sleep(0.1)
    return False


class Interrupted(Exception):
    """The suite was interrupted (Ctrl+C) while this task was being set up."""


class SuiteStop:
    """The Ctrl+C switch a suite run shares with its task threads.

    :meth:`trigger` sets :attr:`event` and sends SIGTERM to every live agent worker's process
    group; the worker turns it into ``Agent.stop()``, so its run ends as ``stopped`` and its
    trajectory is closed (result.json written). :meth:`kill` is the last resort (SIGKILL).
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self._procs: set[subprocess.Popen] = set()
        self._lock = threading.Lock()

    def is_set(self) -> bool:
        """True once the suite was interrupted."""
        return self.event.is_set()

    def add(self, proc: subprocess.Popen) -> None:
        """Track a running worker (its own process group, ``start_new_session=True``)."""
        with self._lock:
            self._procs.add(proc)
        if self.event.is_set():  # started just as the interrupt came
            self._signal(proc, signal.SIGTERM)

    def discard(self, proc: subprocess.Popen) -> None:
        """Forget a worker that has exited."""
        with self._lock:
            self._procs.discard(proc)

    @staticmethod
    def _signal(proc: subprocess.Popen, sig: int) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass

    def trigger(self) -> None:
        """Interrupt: set the event and ask every running worker to stop (SIGTERM)."""
        self.event.set()
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            self._signal(proc, signal.SIGTERM)

    def kill(self) -> None:
        """Kill every running worker now (SIGKILL to its process group)."""
        self.event.set()
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            self._signal(proc, signal.SIGKILL)


class TaskSession:
    """A task's world: its display environment, scratch folder and the programs it launched.

    ``env``: environment with DISPLAY set (from a started VirtualDisplay). ``workdir``: the
    task's scratch folder (``{workdir}``). Use as a context manager: programs started by
    setup are killed (their whole process group) on exit.
    """

    def __init__(self, task: Task, env: dict[str, str], workdir: str | Path,
                 stop: threading.Event | None = None) -> None:
        self.task = task
        # absolute: setup commands run *inside* the workdir, so a relative {workdir} would
        # point at a folder nested in itself
        self.workdir = Path(workdir).resolve()
        self.stop = stop
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env = dict(env)
        # the practice apps run as `python -m tars.assets.apps.X`: make the repo importable
        self.env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        self.variables = {
            "workdir": str(self.workdir), "python": sys.executable, "repo": str(REPO_ROOT),
            "task_dir": str(task.source_file.parent if task.source_file else REPO_ROOT),
        }
        self.processes: list[subprocess.Popen] = []

    def _command(self, params: dict, key: str = "command") -> tuple[Any, bool]:
        command = params.get(key)
        if not command:
            raise TaskError(f"task {self.task.id}: setup step needs {key!r}")
        shell = bool(params.get("shell", False))
        if isinstance(command, str) and not shell:
            command = shlex.split(command)
        return command, shell

    def _launch(self, command: Any, shell: bool, params: dict) -> None:
        log = open(self.workdir / f"launch-{len(self.processes)}.log", "wb")
        try:
            proc = subprocess.Popen(
                command, shell=shell, env=self.env, cwd=self.workdir, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        except OSError as exc:
            raise TaskError(f"task {self.task.id}: cannot launch {command!r}: {exc}") from None
        finally:
            log.close()
        self.processes.append(proc)
        title = params.get("wait_window")
        if title and not wait_for_window(self.env, title, float(params.get("timeout", 20)), self.stop, proc):
            self._check_stop()
            if proc.poll() not in (None, 0):  # it crashed (a missing library, a bad argument): say how
                tail = Path(log.name).read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
                raise TaskError(f"task {self.task.id}: {command!r} exited with status {proc.returncode} "
                                f"before a window titled /{title}/ appeared: {' | '.join(tail) or 'no output'}")
            raise TaskError(f"task {self.task.id}: no window titled /{title}/ appeared after "
                            f"launching {command!r} (log: {log.name})")

    def setup(self) -> None:
        """Run the task's ``config`` steps in order.

        Raises:
            TaskError: a command fails or a waited-for window does not appear.
            Interrupted: ``stop`` was set (Ctrl+C) before the setup ended.
        """
        for step in self.task.config:
            self._check_stop()
            params = substitute(step.parameters, self.variables)
            if step.type == "sleep":
                seconds = float(params.get("seconds", 1))
                if self.stop is not None:
                    self.stop.wait(seconds)
                else:
                    time.sleep(seconds)
            elif step.type == "write":
                target = Path(params["path"])
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(str(params.get("content", "")), encoding="utf-8")
            elif step.type == "launch":
                self._launch(*self._command(params), params)
            elif step.type == "open":
                opener, shell = self._command(params, "with")
                if shell:
                    raise TaskError(f"task {self.task.id}: 'open' takes 'with' as a list")
                self._launch(list(opener) + [params["path"]], False, params)
            elif step.type == "execute":
                command, shell = self._command(params)
                try:
                    proc = subprocess.run(
                        command, shell=shell, env=self.env, cwd=self.workdir, capture_output=True,
                        text=True, timeout=float(params.get("timeout", 30)),
                    )
                except (OSError, subprocess.TimeoutExpired) as exc:
                    raise TaskError(f"task {self.task.id}: setup command failed: {exc}") from None
                if proc.returncode != 0:
                    raise TaskError(f"task {self.task.id}: setup command {command!r} exited "
                                    f"{proc.returncode}: {proc.stderr.strip()[-300:]}")
        self._check_stop()

    def _check_stop(self) -> None:
        if self.stop is not None and self.stop.is_set():
            raise Interrupted(f"task {self.task.id}: interrupted during setup")

    def evaluate(self, status: str | None, final_action: str | None = None, scoring: str = "tars",
                 touched: bool = False) -> float:
        """Score the task now (0..1), given the agent's final ``status`` (None: no agent),
        ``final_action`` (the run's last OSWorld action word, result.json) and whether it acted
        on the desktop (``touched``, see :func:`touched_desktop`), by the harness's ``scoring``
        rule (:func:`tars.agent.harness.score_task`).

        Raises:
            EvaluatorError: the task's evaluator is malformed.
        """
        from tars.agent.harness import score_task

        spec = substitute(self.task.evaluator.model_dump(), self.variables)
        ctx = EvalContext(self.env, self.workdir, status, touched)
        if final_action is None and status == "call_user":  # a result.json without the word
            final_action = "FAIL"
        return score_task(scoring, self.task.is_infeasible, final_action,
                          lambda: evaluate(spec, ctx, infeasible_task=False), touched=touched)

    def close(self) -> None:
        """Stop every program the setup launched (SIGTERM, then SIGKILL after 3 s)."""
        for proc in self.processes:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.processes:
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        self.processes.clear()

    def __enter__(self) -> "TaskSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- running ------------------------------------------------------------------------------

@dataclass
class RunSettings:
    """How a suite is run.

    ``policy``: ``{"options": {...}}`` (fields of :class:`tars.agent.runbuild.PolicyOptions`)
    or ``{"name": ..., "settings": {...}}`` (any registered policy, e.g. ``scripted`` with its
    ``replies``), or None to run no agent at all (the "doing nothing" baseline).
    ``max_steps``: overrides each task's own limit when set. ``max_seconds``: wall-time limit
    of one agent run; the worker process is killed ``grace`` seconds after it.
    ``jobs``: tasks run side by side, each on its own display. ``language``: the Thought
    language (None: the harness's). ``harness``: ``tars`` | ``osworld``, the episode rules and
    the scoring rule (:mod:`tars.agent.harness`). ``sleep_after_execution``: the osworld
    harness's fixed sleep after each action, seconds (None: OSWorld's 3.0).
    """

    policy: dict[str, Any] | None
    max_steps: int | None = None
    max_seconds: float = 300.0
    history_images: int = 5
    language: str | None = None
    jobs: int = 1
    grace: float = 30.0
    extra: dict[str, Any] = field(default_factory=dict)
    harness: str = "tars"
    sleep_after_execution: float | None = None

    @property
    def scoring(self) -> str:
        """The scoring rule of the harness (``osworld`` | ``tars``)."""
        from tars.agent.harness import get_harness

        return get_harness(self.harness).scoring

    def public(self) -> dict[str, Any]:
        """Settings for summary.json, without secrets."""
        from tars.agent.trajectory import scrub

        return scrub({
            "policy": self.policy, "max_steps": self.max_steps, "max_seconds": self.max_seconds,
            "history_images": self.history_images, "language": self.language, "jobs": self.jobs,
            "harness": self.harness, "sleep_after_execution": self.sleep_after_execution,
            **self.extra,
        })


#: seconds a worker gets to end its run after Ctrl+C (SIGTERM) before it is killed
STOP_GRACE = 10.0


def _run_agent(task: Task, session: TaskSession, traj_dir: Path, settings: RunSettings,
               stop: SuiteStop | None = None) -> dict:
    """Run the agent on the task's display in a worker process; returns its result.json.

    When ``stop`` is triggered the worker gets SIGTERM (it ends its run as ``stopped``) and
    is killed :data:`STOP_GRACE` seconds later if still running.
    """
    spec = {
        "instruction": task.instruction,
        "trajectory": str(traj_dir),
        "policy": settings.policy,
        "agent": {"max_steps": settings.max_steps or task.max_steps,
                  "max_seconds": settings.max_seconds,
                  "history_images": settings.history_images, "language": settings.language,
                  "harness": settings.harness, "sleep_after_execution": settings.sleep_after_execution},
        "task_id": task.id,
    }
    log_path = traj_dir / "worker.log"
    limit = settings.max_seconds + settings.grace
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tars.evals.worker"], env=session.env, cwd=REPO_ROOT,
            stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        if stop is not None:
            stop.add(proc)
        try:
            # the spec (which may hold an API key) goes through a pipe, never argv or disk
            assert proc.stdin is not None
            try:
                proc.stdin.write(json.dumps(spec).encode())
                proc.stdin.close()
            except BrokenPipeError:  # the worker was stopped before it read its spec
                pass
            deadline = time.monotonic() + limit
            stop_deadline = None
            while proc.poll() is None:
                now = time.monotonic()
                if stop is not None and stop.is_set() and stop_deadline is None:
                    stop_deadline = now + STOP_GRACE
                if now >= min(deadline, stop_deadline or deadline):
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    if stop_deadline is not None:
                        break  # interrupted: the row is marked stopped below
                    return {"status": "timeout", "steps": _count_steps(traj_dir),
                            "error": f"worker killed after {limit:.0f} s"}
                time.sleep(0.1)
        finally:
            if stop is not None:
                stop.discard(proc)
    result_path = traj_dir / "result.json"
    if result_path.exists():
        try:
            return read_json(RunResultFile, result_path).to_json()
        except ValueError:  # killed while writing it
            pass
    tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
    return {"status": "error", "steps": _count_steps(traj_dir),
            "error": f"worker exited {proc.returncode}: {' | '.join(tail)}"}


def touched_desktop(traj_dir: Path) -> bool:
    """True when a step in ``traj_dir/steps.jsonl`` performed an action that acts on the
    desktop (anything but :data:`~tars.evals.evaluators.UNTOUCHING`); unreadable lines count
    as touching (the score must not be credited on a record it cannot read)."""
    from tars.evals.evaluators import UNTOUCHING

    steps = traj_dir / "steps.jsonl"
    if not steps.exists():
        return False
    for line in steps.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            names = [a["model"]["action"] for a in record.get("actions") or []]
        except (ValueError, KeyError, TypeError):
            return True
        if any(name not in UNTOUCHING for name in names):
            return True
    return False


def _count_steps(traj_dir: Path) -> int:
    steps = traj_dir / "steps.jsonl"
    return sum(1 for line in steps.read_text().splitlines() if line.strip()) if steps.exists() else 0


def _start_display(factory: Callable, screen: tuple[int, int], attempts: int = 2):
    """A started virtual display; one more try when it fails to come up (on a loaded machine
    openbox can miss its start-up deadline). Raises the last DisplayError."""
    from tars.agent.display import DisplayError

    for attempt in range(attempts):
        try:
            return factory(*screen, timeout=20.0).start()
        except DisplayError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def run_task(task: Task, out_dir: str | Path, settings: RunSettings,
             stop: SuiteStop | None = None) -> dict[str, Any]:
    """Run one task on a fresh virtual display and score it.

    Returns the results.jsonl row: ``id``, ``status`` (the agent's, ``none`` without an agent,
    ``setup_error``, ``eval_error``, or ``stopped`` when ``stop`` was triggered (Ctrl+C) while
    the task ran: such a task is not scored), ``score`` (0..1), ``success``, ``steps``,
    ``seconds``, ``error``. The trajectory goes to ``out_dir/<id>/``, the task's scratch files
    to ``out_dir/<id>/work/`` (``out_dir`` is made absolute first). Never raises for a failing
    task.
    """
    from tars.agent.display import DisplayError, VirtualDisplay

    started = time.monotonic()
    task_dir = Path(out_dir).resolve() / task.out_folder()
    task_dir.mkdir(parents=True, exist_ok=True)
    row: dict[str, Any] = {"id": task.id, "status": "none", "score": 0.0, "success": False,
                           "steps": 0, "seconds": 0.0, "error": None, **task.row_fields()}
    if task.out_folder() != Path(task.id):
        row["folder"] = str(task.out_folder())
    display = None
    try:
        display = _start_display(VirtualDisplay, task.screen)
        with task.session(display.env(), task_dir / "work",
                          stop.event if stop is not None else None) as session:
            try:
                session.setup()
            except Interrupted as exc:
                row.update(status="stopped", error=str(exc))
                return row
            except TaskError as exc:
                row.update(status="setup_error", error=str(exc))
                return row
            status = final_action = None
            if settings.policy is not None:
                result = _run_agent(task, session, task_dir, settings, stop)
                status, final_action = result.get("status"), result.get("final_action")
                row.update(status=status, steps=int(result.get("steps") or 0),
                           error=result.get("error"), final_action=final_action)
            if stop is not None and stop.is_set():
                # the run was cut short (and the display may be gone): not scored
                row.update(status="stopped", error=row["error"] or "interrupted (Ctrl+C)")
                return row
            try:
                row["score"] = float(session.evaluate(status, final_action, settings.scoring,
                                                      touched_desktop(task_dir)))
            except (EvaluatorError, OSError, subprocess.SubprocessError) as exc:
                row.update(status="eval_error", error=f"evaluator: {exc}")
    except DisplayError as exc:
        row.update(status="stopped" if stop is not None and stop.is_set() else "setup_error",
                   error=str(exc))
    finally:
        if display is not None:
            display.stop()
        row["success"] = row["score"] >= 1.0
        row["seconds"] = round(time.monotonic() - started, 2)
        task.record_score(task_dir, row)
    return row


def summarize(rows: list[dict[str, Any]], settings: RunSettings | None = None,
              not_run: list[str] | None = None) -> dict[str, Any]:
    """summary.json: ``n_tasks`` (tasks that ran, stopped ones included), ``n_success``,
    ``success_rate`` (0..1), ``mean_score``, ``mean_steps``, ``statuses`` (count per status),
    ``policy``, ``settings``, and ``interrupted`` / ``not_run`` (ids never started) when the
    run was interrupted (``not_run`` given)."""
    n = len(rows)
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    n_success = sum(1 for r in rows if r["success"])
    policy = settings.policy if settings else None
    name = None
    if policy:
        name = policy.get("name") or (policy.get("options") or {}).get("policy") or "lite"
    summary = {
        "kind": "tasks",
        "n_tasks": n,
        "n_success": n_success,
        "success_rate": n_success / n if n else 0.0,
        "mean_score": sum(r["score"] for r in rows) / n if n else 0.0,
        "mean_steps": sum(r["steps"] for r in rows) / n if n else 0.0,
        "statuses": statuses,
        "policy": name,
        "settings": settings.public() if settings else {},
        "harness": settings.harness if settings else "tars",
    }
    if not_run is not None:
        summary.update(interrupted=True, not_run=list(not_run))
    return summary


def _harness_rules(out: Path, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The harness rules the runs followed (resolved for the model's family by the worker), as
    the first trajectory's meta.json records them; None when no run got that far."""
    for row in rows:
        meta = out / (row.get("folder") or row["id"]) / "meta.json"
        try:
            rules = json.loads(meta.read_text(encoding="utf-8")).get("settings", {}).get("harness_rules")
        except (OSError, ValueError, AttributeError):
            continue
        if rules:
            return rules
    return None


def finish_summary(out: Path, ordered: list[dict[str, Any]], settings: RunSettings | None,
                   not_run: list[str] | None, skipped: list[dict[str, Any]] | None) -> dict[str, Any]:
    """:func:`summarize`, plus ``harness_rules`` (as the runs recorded them), ``domains`` (n, n_success, success_rate per domain, when rows
    have one) and ``n_skipped`` / ``skipped`` (tasks that could not run here, with reasons)."""
    summary = summarize(ordered, settings, not_run)
    summary["harness_rules"] = _harness_rules(out, ordered)
    domains: dict[str, dict[str, Any]] = {}
    for r in ordered:
        if r.get("domain"):
            d = domains.setdefault(r["domain"], {"n": 0, "n_success": 0, "success_rate": 0.0})
            d["n"] += 1
            d["n_success"] += int(r["success"])
            d["success_rate"] = d["n_success"] / d["n"]
    if domains:
        summary["domains"] = domains
    if skipped is not None:
        summary.update(n_skipped=len(skipped), skipped=list(skipped))
    return summary


def run_suite(
    tasks: list[Task],
    out_dir: str | Path,
    settings: RunSettings,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    skipped: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run ``tasks`` (``settings.jobs`` at a time) and write ``results.jsonl`` and
    ``summary.json`` to ``out_dir`` (made absolute first); returns the summary with ``rows``
    (in suite order) added. ``skipped``: tasks of the suite that cannot run here (``id``,
    ``reason``, ...), listed in summary.json as ``skipped`` and not counted in the rates.
    Rows with a ``domain`` also give ``domains`` (n, n_success, success_rate per domain).

    results.jsonl gets each task's row as the task ends (flushed, so finished tasks survive a
    crash); its lines are in finishing order. ``on_result`` is called with each row too
    (progress display).

    Ctrl+C (KeyboardInterrupt in the calling thread) stops the suite promptly: tasks not yet
    started are skipped, running workers get SIGTERM (their runs end as ``stopped``, their
    trajectories closed) and are killed after :data:`STOP_GRACE` s; their rows get status
    ``stopped``. summary.json is still written, with ``interrupted: true`` and ``not_run``
    (the ids never started); this returns normally and the caller reports the interruption.
    A second Ctrl+C kills the workers at once.

    Raises:
        TaskError: ``out_dir`` already holds results (trajectories are never overwritten).
    """
    out = Path(out_dir).resolve()
    if (out / "results.jsonl").exists() or (out / "summary.json").exists():
        raise TaskError(f"{out} already holds evaluation results; choose a new --out folder")
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, dict[str, Any]] = {}
    stop = SuiteStop()

    def one(task: Task) -> dict[str, Any]:
        try:
            row = run_task(task, out, settings, stop)
        except Exception as exc:  # one broken task must not lose the others' results
            row = {"id": task.id, "status": "error", "score": 0.0, "success": False, "steps": 0,
                   "seconds": 0.0, "error": f"internal error: {type(exc).__name__}: {exc}"}
        if on_result is not None:
            on_result(row)
        return row

    pool = ThreadPoolExecutor(max_workers=max(1, settings.jobs))
    with open(out / "results.jsonl", "w", encoding="utf-8") as results:
        def collect(futures: set) -> set:
            done, pending = wait(futures, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in done:
                if fut.cancelled():
                    continue
                row = fut.result()
                if row["id"] in rows:  # already written when a Ctrl+C cut this loop short
                    continue
                results.write(dumps_line(TaskResultRow(**row)) + "\n")
                results.flush()
                rows[row["id"]] = row
            return pending

        pending = {pool.submit(one, t) for t in tasks}
        try:
            while pending:
                pending = collect(pending)
        except KeyboardInterrupt:
            stop.trigger()
            for fut in pending:
                fut.cancel()  # not started yet: skipped
            pending = {f for f in pending if not f.cancelled()}
            while pending:
                try:
                    pending = collect(pending)
                except KeyboardInterrupt:  # a second Ctrl+C: no more waiting
                    stop.kill()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    ordered = [rows[t.id] for t in tasks if t.id in rows]
    not_run = [t.id for t in tasks if t.id not in rows] if stop.is_set() else None
    summary = TaskSummary(**finish_summary(out, ordered, settings, not_run, skipped)).to_json()
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    return {**summary, "rows": ordered}


def check_policy(policy: dict[str, Any] | None, timeout: float = 5.0, harness: str = "tars") -> None:
    """Check a suite's policy spec before any task starts, so a typo or a dead server fails
    once, up front, instead of once per task after its setup.

    ``{"options": ...}``: :meth:`PolicyOptions.check`; for ``openai`` one ``GET /models`` to
    the endpoint (any HTTP answer counts as reachable; ``timeout`` seconds, no retries), then
    the policy is built and closed. ``lite`` is built and closed (cheap: it loads OCR lazily).
    ``hf`` is not built here (that would load the weights twice); its worker reports a missing
    model. ``{"name", "settings"}``: built with :func:`tars.models.base.load_policy` and closed.

    ``harness``: checked to have rules for the built policy's model family.

    Raises:
        tars.models.base.PolicyError: bad options, unknown policy, unreachable endpoint, a
            harness without rules for the model's family.
    """
    if policy is None:
        return
    from tars.models.base import PolicyError, load_policy

    def checked(built: Any) -> None:
        try:
            if harness != "tars" and built.profile is not None:
                from tars.agent.harness import get_harness

                try:
                    get_harness(harness, built.profile)
                except ValueError as exc:
                    raise PolicyError(str(exc)) from None
        finally:
            built.close()

    if "options" not in policy:
        checked(load_policy(policy["name"], **(policy.get("settings") or {})))
        return
    from tars.agent.runbuild import PolicyOptions, make_policy

    options = PolicyOptions(**policy["options"])
    options.check()
    if options.resolved == "hf":
        return
    if options.resolved == "openai":
        import openai

        from tars.models.openai_compat import normalise_endpoint

        endpoint = normalise_endpoint(options.endpoint or "")
        client = openai.OpenAI(base_url=endpoint, api_key=options.secret_key or "EMPTY",
                               timeout=timeout, max_retries=0)
        try:
            client.models.list()
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise PolicyError(f"endpoint {endpoint} is unreachable ({type(exc).__name__}: "
                              f"{exc}); is the server running?") from None
        except openai.APIStatusError:
            pass  # the server answered: reachable (the worker reports HTTP errors per step)
        finally:
            client.close()
    checked(make_policy(options))
