"""Task evaluators in OSWorld's shape: a getter fetches a value, a metric scores it.

An evaluator entry of a task (OSWorld ``evaluator``) names a metric ``func``, the ``result``
to fetch from the finished desktop (a getter spec with a ``type``), the ``expected`` value
(usually ``{"type": "rule", "rules": {...}}``) and ``options``; several funcs are lists joined
by ``conj`` (``and`` = all must pass, ``or`` = any). This mirrors OSWorld's
``desktop_env/evaluators`` (getters + metrics), with getters that read the local machine and
the task's own virtual display instead of a VM.

Getters (``result`` / ``expected`` ``type``):

* ``file``: ``{"path"}`` -> the path as a string (metrics decide what to do with it);
* ``json_file`` / ``app_state``: ``{"path"}`` -> the parsed JSON, or None when missing or
  invalid (``app_state`` is a practice app's ``--state`` file);
* ``command``: ``{"command", "shell"?, "timeout"?}`` -> ``{"returncode", "stdout", "stderr"}``,
  run on the task's display;
* ``window_titles``: ``{}`` -> the titles of the windows on the task's display (xdotool,
  falling back to wmctrl);
* ``rule``: ``{"rules"}`` -> the rules object as written.

Metrics (``func``) take ``(result, expected, **options)`` and return a score in 0..1:
``file_exists``, ``file_not_exists``, ``file_equals``, ``file_matches``, ``json_equals``,
``app_state_equals``, ``command_succeeds``, ``command_output_matches``, ``window_exists``,
``window_absent``, ``infeasible``. Every metric scores 0, never raises, when what it reads is
missing, so "doing nothing" can be shown to fail.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


class EvaluatorError(ValueError):
    """A task's evaluator is malformed (unknown func or getter, missing argument)."""


@dataclass
class EvalContext:
    """What getters need: the task's environment (DISPLAY set), its working folder, the
    agent's final status (``finished``, ``call_user``, ... or None when no agent ran), and
    ``touched``: whether any of its actions acted on the desktop (see :data:`UNTOUCHING`)."""

    env: dict[str, str]
    workdir: Path
    status: str | None = None
    touched: bool = False


#: actions that leave the desktop as it was: an infeasible task still counts as declined
#: after them (moving the pointer away, waiting, giving up or finishing)
UNTOUCHING = frozenset({"wait", "mouse_move", "call_user", "finished"})


# -- getters -------------------------------------------------------------------------------

def _get_file(spec: dict, ctx: EvalContext) -> str:
    return str(_require(spec, "path"))


def _get_json(spec: dict, ctx: EvalContext) -> Any:
    try:
        return json.loads(Path(_require(spec, "path")).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _get_command(spec: dict, ctx: EvalContext) -> dict[str, Any]:
    command = _require(spec, "command")
    shell = bool(spec.get("shell", isinstance(command, str)))
    try:
        proc = subprocess.run(
            command, shell=shell, env=ctx.env, cwd=ctx.workdir, capture_output=True, text=True,
            timeout=float(spec.get("timeout", 10)),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"returncode": None, "stdout": "", "stderr": str(exc)}
    return {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}


def window_titles(env: dict[str, str]) -> list[str]:
    """Titles of the visible top-level windows on ``env``'s DISPLAY.

    Uses ``xdotool search --onlyvisible --name .`` (titles via ``getwindowname``); falls back
    to ``wmctrl -l`` when xdotool is missing. Returns [] when neither works.
    """
    if shutil.which("xdotool"):
        ids = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", "."], env=env,
            capture_output=True, text=True, timeout=10,
        ).stdout.split()
        titles = []
        for wid in ids:
            name = subprocess.run(
                ["xdotool", "getwindowname", wid], env=env, capture_output=True, text=True,
                timeout=10,
            )
            if name.returncode == 0 and name.stdout.strip():
                titles.append(name.stdout.rstrip("\n"))
        return titles
    if shutil.which("wmctrl"):
        out = subprocess.run(["wmctrl", "-l"], env=env, capture_output=True, text=True, timeout=10)
        # wmctrl -l: "<id> <desktop> <host> <title...>"
        return [line.split(None, 3)[3] for line in out.stdout.splitlines() if len(line.split(None, 3)) == 4]
    return []


def _get_window_titles(spec: dict, ctx: EvalContext) -> list[str]:
    return window_titles(ctx.env)


def _get_rule(spec: dict, ctx: EvalContext) -> Any:
    return spec.get("rules", {})


GETTERS: dict[str, Callable[[dict, EvalContext], Any]] = {
    "file": _get_file,
    "json_file": _get_json,
    "app_state": _get_json,
    "command": _get_command,
    "window_titles": _get_window_titles,
    "rule": _get_rule,
}


def _require(spec: dict, key: str) -> Any:
    if key not in spec:
        raise EvaluatorError(f"getter {spec.get('type')!r} needs {key!r}")
    return spec[key]


def fetch(spec: dict | None, ctx: EvalContext) -> Any:
    """Run the getter ``spec["type"]``; None for a missing spec.

    Raises:
        EvaluatorError: unknown getter type or a missing argument.
    """
    if spec is None:
        return None
    if not isinstance(spec, dict) or spec.get("type") not in GETTERS:
        raise EvaluatorError(f"unknown result/expected type in {spec!r}; known: {', '.join(GETTERS)}")
    return GETTERS[spec["type"]](spec, ctx)


# -- metrics -------------------------------------------------------------------------------

def _read_text(path: Any) -> str | None:
    try:
        return Path(str(path)).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, TypeError):
        return None


def _norm(text: str, options: dict) -> str:
    if options.get("strip", True):
        text = text.strip()
    if options.get("ignore_case"):
        text = text.lower()
    return text


def file_exists(path: Any, expected: Any = None, **options: Any) -> float:
    """1 when ``path`` is an existing file."""
    return float(path is not None and Path(str(path)).is_file())


def file_not_exists(path: Any, expected: Any = None, **options: Any) -> float:
    """1 when ``path`` does not exist (e.g. the agent deleted a file)."""
    return float(path is not None and not Path(str(path)).exists())


def file_equals(path: Any, expected: Any, **options: Any) -> float:
    """1 when the file's text equals ``expected["text"]`` (options: ``strip`` default True,
    ``ignore_case``)."""
    text = _read_text(path)
    want = (expected or {}).get("text")
    if text is None or want is None:
        return 0.0
    return float(_norm(text, options) == _norm(str(want), options))


def file_matches(path: Any, expected: Any, **options: Any) -> float:
    """1 when regex ``expected["pattern"]`` is found in the file's text (``re.search``;
    option ``ignore_case``)."""
    text = _read_text(path)
    pattern = (expected or {}).get("pattern")
    if text is None or pattern is None:
        return 0.0
    flags = re.IGNORECASE if options.get("ignore_case") else 0
    return float(re.search(pattern, text, flags) is not None)


_MISSING = object()


def json_path(obj: Any, path: str) -> Any:
    """Follow a dotted path into JSON: ``"fields.name"``, ``"items.0"``, ``"items.-1"``.

    Returns a private sentinel (never equal to a JSON value) when the path does not exist.
    An empty path is the object itself.
    """
    if path in ("", "."):
        return obj
    for part in path.split("."):
        if isinstance(obj, dict) and part in obj:
            obj = obj[part]
        elif isinstance(obj, list) and re.fullmatch(r"-?\d+", part) and -len(obj) <= int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return _MISSING
    return obj


def json_equals(data: Any, expected: Any, **options: Any) -> float:
    """Fraction-free check of JSON state: 1 when every ``path: value`` pair of
    ``expected["expect"]`` holds in ``data`` (or ``expected["path"]`` equals
    ``expected["value"]``). Strings compare after ``strip`` when option ``strip`` (default
    True); ``ignore_case`` compares strings case-insensitively."""
    if data is None or not isinstance(expected, dict):
        return 0.0
    pairs = dict(expected.get("expect", {}))
    if "path" in expected:
        pairs[expected["path"]] = expected.get("value")
    if not pairs:
        raise EvaluatorError("json_equals needs rules 'expect' or 'path'/'value'")

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, str) and isinstance(b, str):
            return _norm(a, options) == _norm(b, options)
        return a == b

    return float(all(same(json_path(data, p), v) for p, v in pairs.items()))


def command_succeeds(result: Any, expected: Any = None, **options: Any) -> float:
    """1 when the command exited with ``expected["returncode"]`` (default 0)."""
    if not isinstance(result, dict):
        return 0.0
    want = (expected or {}).get("returncode", 0)
    return float(result.get("returncode") == want)


def command_output_matches(result: Any, expected: Any, **options: Any) -> float:
    """1 when the command's stdout equals ``expected["stdout"]`` (after strip) or matches the
    regex ``expected["pattern"]``; ``expected["returncode"]``, when given, must match too."""
    if not isinstance(result, dict) or not isinstance(expected, dict):
        return 0.0
    if "returncode" in expected and result.get("returncode") != expected["returncode"]:
        return 0.0
    out = result.get("stdout") or ""
    if "stdout" in expected:
        return float(_norm(out, options) == _norm(str(expected["stdout"]), options))
    if "pattern" in expected:
        flags = re.IGNORECASE if options.get("ignore_case") else 0
        return float(re.search(expected["pattern"], out, flags) is not None)
    raise EvaluatorError("command_output_matches needs rules 'stdout' or 'pattern'")


def _title_hit(titles: Any, expected: Any, options: dict) -> bool:
    if not isinstance(titles, list) or not isinstance(expected, dict):
        return False
    if "pattern" in expected:
        rx = re.compile(expected["pattern"], re.IGNORECASE if options.get("ignore_case") else 0)
        return any(rx.search(t) for t in titles)
    want = _norm(str(expected.get("title", "")), options)
    return bool(want) and any(_norm(t, options) == want for t in titles)


def window_exists(titles: Any, expected: Any, **options: Any) -> float:
    """1 when a window titled ``expected["title"]`` (exact) or matching ``expected["pattern"]``
    is shown."""
    return float(_title_hit(titles, expected, options))


def window_absent(titles: Any, expected: Any, **options: Any) -> float:
    """1 when no such window is shown (e.g. the agent closed a dialog). Scores 0 when the
    titles could not be read at all."""
    if not isinstance(titles, list):
        return 0.0
    return float(not _title_hit(titles, expected, options))


def infeasible(result: Any = None, expected: Any = None, **options: Any) -> float:
    """OSWorld's ``infeasible`` func: scored by the runner from the agent's final status."""
    return 0.0


METRICS: dict[str, Callable[..., float]] = {
    "file_exists": file_exists,
    "file_not_exists": file_not_exists,
    "file_equals": file_equals,
    "file_matches": file_matches,
    "json_equals": json_equals,
    "app_state_equals": json_equals,
    "command_succeeds": command_succeeds,
    "command_output_matches": command_output_matches,
    "window_exists": window_exists,
    "window_absent": window_absent,
    "infeasible": infeasible,
}


def _per_func(value: Any, key: str, n: int, is_list: bool) -> list:
    # With a list of funcs, each argument is a list of the same length, or one value shared.
    if not is_list:
        return [value]
    if isinstance(value, list):
        if len(value) != n:
            raise EvaluatorError(f"evaluator {key!r} has {len(value)} entries for {n} funcs")
        return value
    return [value] * n


def evaluate(evaluator: dict[str, Any], ctx: EvalContext, infeasible_task: bool = False) -> float:
    """Score a finished task in 0..1 from its ``evaluator`` entry.

    ``infeasible_task`` (or ``func == "infeasible"``): 1 exactly when the agent ended with
    ``call_user`` (OSWorld's rule for infeasible tasks) without having acted on the desktop
    (``ctx.touched`` False: only waits and pointer moves before), whatever the metrics say.
    With a list of funcs, ``result``/``expected``/``options`` are lists of the same length
    (or one value shared by all) and ``conj`` (``and`` default, ``or``) combines the scores.

    Raises:
        EvaluatorError: unknown func, getter or conj, or mismatched list lengths.
    """
    funcs = evaluator.get("func")
    names = funcs if isinstance(funcs, list) else [funcs]
    if infeasible_task or "infeasible" in names:
        # declined without acting: a run that clicked or typed before giving up may have
        # changed what it was asked not to be able to do (issue 17)
        return float(ctx.status == "call_user" and not ctx.touched)
    unknown = [f for f in names if f not in METRICS]
    if unknown:
        raise EvaluatorError(f"unknown evaluator func {unknown[0]!r}; known: {', '.join(METRICS)}")
    is_list = isinstance(funcs, list)
    n = len(names)
    results = _per_func(evaluator.get("result"), "result", n, is_list)
    expecteds = _per_func(evaluator.get("expected"), "expected", n, is_list)
    options = _per_func(evaluator.get("options") or {}, "options", n, is_list)
    scores = [
        float(METRICS[name](fetch(r, ctx), fetch(e, ctx), **(o or {})))
        for name, r, e, o in zip(names, results, expecteds, options)
    ]
    conj = evaluator.get("conj", "and")
    if conj == "and":
        return min(scores)
    if conj == "or":
        return max(scores)
    raise EvaluatorError(f"unknown conj {conj!r}; use 'and' or 'or'")
