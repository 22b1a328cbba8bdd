"""Finding training data: trajectory folders, demonstrations and evaluation folders.

``tars finetune DATA...`` takes any mix of

* a trajectory folder (``tars run --record``; ``meta.json`` + ``steps.jsonl``): used when the
  run ended ``finished`` (``--include-failed`` takes any run that ended);
* a demonstration (``tars record``; a trajectory whose policy is ``human``);
* an evaluation folder (``tars eval tasks --out``; ``results.jsonl`` + one trajectory per task
  in ``<id>/``): the tasks whose row says ``success`` (``--include-failed``: all);
* a folder holding any of these one level down (a folder of demonstrations).

A step whose screenshot is missing is bad input (the model cannot be shown what it saw).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from tars.agent.schema import TaskResultRow
from tars.agent.trajectory import Trajectory, read_trajectory


class DataError(ValueError):
    """A DATA folder that is not usable training data; the message says which and why."""


@dataclass
class Source:
    """One trajectory to learn from.

    ``kind``: ``demonstration`` (a person's actions, no thoughts) or ``run`` (an agent's).
    ``origin``: how it was found (the folder given, or ``EVAL:task-id``), for the data summary.
    """

    trajectory: Trajectory
    kind: str
    origin: str

    @property
    def folder(self) -> Path:
        return self.trajectory.folder


@dataclass
class Found:
    """What :func:`find_sources` found: the ``sources`` used and why others were ``skipped``."""

    sources: list[Source] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _is_demonstration(traj: Trajectory) -> bool:
    return traj.meta.policy == "human" or traj.meta.settings.get("source") == "demonstration"


def _load(folder: Path) -> Trajectory:
    try:
        traj = read_trajectory(folder)
    except FileNotFoundError as exc:
        raise DataError(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{folder} is not a readable trajectory: {exc}") from None
    if not traj.meta.instruction.strip():
        raise DataError(f"{folder}/meta.json has no instruction")
    for step in traj.steps:
        if traj.screenshot_path(step) is None:
            name = step.screenshot_file or "(none recorded)"
            raise DataError(
                f"{folder}: step {step.step_num} has no screenshot ({name}); "
                "record with screenshots to train on it"
            )
    return traj


def _add_trajectory(folder: Path, found: Found, include_failed: bool, origin: str) -> None:
    traj = _load(folder)
    if not traj.steps:
        found.skipped.append(f"{folder}: no steps")
        return
    if _is_demonstration(traj):
        found.sources.append(Source(traj, "demonstration", origin))
        return
    status = traj.result.status if traj.result is not None else None
    if status is None:
        found.skipped.append(f"{folder}: the run never ended (no result.json)")
    elif status != "finished" and not include_failed:
        found.skipped.append(f"{folder}: the run ended {status}, not finished (--include-failed takes it)")
    else:
        found.sources.append(Source(traj, "run", origin))


def _add_eval(folder: Path, found: Found, include_failed: bool) -> None:
    rows = []
    for i, line in enumerate((folder / "results.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(TaskResultRow.model_validate(json.loads(line)))
        except ValueError as exc:  # JSONDecodeError, pydantic's ValidationError
            raise DataError(f"{folder}/results.jsonl:{i}: not a task result ({str(exc).splitlines()[0]})") from None
    for row in rows:
        task = row.id
        where = folder / task
        if not row.success and not include_failed:
            found.skipped.append(f"{folder}: task {task} did not succeed")
            continue
        if not (where / "meta.json").is_file():
            found.skipped.append(f"{folder}: task {task} has no trajectory ({row.status})")
            continue
        traj = _load(where)
        if traj.steps:
            found.sources.append(Source(traj, "run", f"{folder}:{task}"))


def find_sources(paths: list[str], include_failed: bool = False) -> Found:
    """The trajectories in ``paths`` (see the module docstring for what each may be).

    Raises:
        DataError: a path that does not exist or holds none of the above, a trajectory that
            cannot be read or has a step without its screenshot, or nothing usable at all.
    """
    found = Found()
    if not paths:
        raise DataError("no DATA given: name trajectory, demonstration or evaluation folders")
    for raw in paths:
        folder = Path(raw).expanduser()
        if not folder.exists():
            raise DataError(f"{raw} does not exist")
        if not folder.is_dir():
            raise DataError(f"{raw} is a file; give a trajectory, demonstration or evaluation folder")
        if (folder / "meta.json").is_file():
            _add_trajectory(folder, found, include_failed, str(folder))
        elif (folder / "results.jsonl").is_file():
            _add_eval(folder, found, include_failed)
        else:
            children = sorted(p for p in folder.iterdir() if (p / "meta.json").is_file()
                              or (p / "results.jsonl").is_file())
            if not children:
                raise DataError(
                    f"{raw} is not a trajectory (no meta.json), a demonstration or an "
                    "evaluation folder (no results.jsonl)"
                )
            for child in children:
                if (child / "meta.json").is_file():
                    _add_trajectory(child, found, include_failed, str(child))
                else:
                    _add_eval(child, found, include_failed)
    if not found.sources:
        why = "; ".join(found.skipped[:3]) or "no steps"
        raise DataError(f"nothing to train on in {', '.join(paths)} ({why})")
    return found
