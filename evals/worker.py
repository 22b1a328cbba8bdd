"""One task's agent run, in its own process: ``python -m tars.evals.worker < spec.json``.

The task runner (:mod:`tars.evals.tasks`) starts this with DISPLAY pointing at the task's
virtual display and sends a JSON spec on stdin: ``instruction``, ``trajectory`` (folder),
``policy`` (``{"options": {...}}`` for :class:`tars.agent.runbuild.PolicyOptions`, or
``{"name", "settings"}`` for :func:`tars.models.base.load_policy`), ``agent`` (AgentConfig fields).
A separate process because pyautogui binds to the DISPLAY of the process that imports it.

The outcome is the trajectory's result.json (written by the recorder). When the run cannot
even start (bad policy, no operator) this writes a result.json with status ``error`` itself.
Exit status: 0 when the run finished, 1 otherwise, 2 on a bad spec.

SIGTERM (sent by the runner when the suite is interrupted with Ctrl+C) stops the run like the
stop button: it ends as ``stopped`` and the recorder closes the trajectory. Before the run has
started it ends the worker with a result.json of status ``stopped``.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any


def build_policy(spec: dict[str, Any]):
    """The policy a spec's ``policy`` entry describes.

    Raises:
        tars.models.base.PolicyError: unknown policy, missing extra or bad settings.
    """
    from tars.models.base import load_policy

    if "options" in spec:
        from tars.agent.runbuild import PolicyOptions, make_policy

        return make_policy(PolicyOptions(**spec["options"]))
    return load_policy(spec["name"], **(spec.get("settings") or {}))


def run_options(spec: dict[str, Any]):
    """The :class:`tars.agent.runbuild.RunOptions` of a spec (its ``policy`` and ``agent``
    entries) and the extra meta.json settings of an eval run (task id; a registered policy's
    own settings, without secrets)."""
    from tars.agent.runbuild import PolicyOptions, RunOptions
    from tars.agent.trajectory import scrub

    policy_spec = spec["policy"]
    extra: dict[str, Any] = {"front_end": "eval", "task_id": spec.get("task_id")}
    if "options" in policy_spec:
        policy_options = PolicyOptions(**policy_spec["options"])
    else:
        policy_options = PolicyOptions(policy=policy_spec.get("name"))
        extra.update(scrub(policy_spec.get("settings") or {}))
    return RunOptions(policy_options, **spec.get("agent", {})), extra


def _write_error(folder: Path, message: str, status: str = "error") -> None:
    from tars.agent.hooks import RunResult
    from tars.agent.schema import RunResultFile

    folder.mkdir(parents=True, exist_ok=True)
    result = RunResultFile(**RunResult(status, error=message).to_json())
    (folder / "result.json").write_text(json.dumps(result.to_json()))


def main() -> int:
    """Read the spec from stdin, run the agent, return the exit status."""
    try:
        spec = json.loads(sys.stdin.read())
        folder = Path(spec["trajectory"])
        instruction = spec["instruction"]
    except (ValueError, KeyError) as exc:
        print(f"worker: bad spec: {exc}", file=sys.stderr)
        return 2
    from tars.agent.runbuild import build_agent, make_operator
    from tars.agent.trajectory import TrajectoryRecorder
    from tars.desktop.operator import OperatorError
    from tars.models.base import PolicyError

    policy = operator = agent = None

    def on_sigterm(signum: int, frame: object) -> None:
        if agent is not None:
            agent.stop()  # the loop ends as "stopped" and run_end closes the trajectory
        else:
            raise KeyboardInterrupt  # still building the policy / operator

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        options, extra = run_options(spec)
        policy = build_policy(spec["policy"])
        # a task display may legitimately show nothing (the last window closed): no blank check
        operator = make_operator(options, allow_blank=True)
        from tars.agent.console import ConsoleHook

        # the console hook's lines go to the task's worker.log, for reading a failure
        agent = build_agent(options, policy, operator, [TrajectoryRecorder(folder), ConsoleHook()],
                            extra=extra)
        result = agent.run(instruction)
    except KeyboardInterrupt:
        if not (folder / "result.json").exists():
            _write_error(folder, "interrupted before the run started", status="stopped")
        return 1
    except (PolicyError, OperatorError, OSError, ValueError, TypeError, ImportError) as exc:
        _write_error(folder, f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        for thing in (operator, policy):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # closing must not hide the run's outcome
                    pass
    if not (folder / "result.json").exists():  # the run ended before run_start (e.g. prepare)
        from tars.agent.schema import RunResultFile

        (folder / "result.json").write_text(json.dumps(RunResultFile(**result.to_json()).to_json()))
    print(json.dumps(result.to_json()), flush=True)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
