"""The file formats users, scripts and benchmarks read, declared once (docs/DESIGN.md, Formats).

Every writer builds one of these models and every reader parses through them, so a field
means the same thing in ``tars run``, the app, the recorder, the evals and the report:

==========================  ====================================================================
``meta.json``               :class:`TrajectoryMeta`
``steps.jsonl`` (a line)    :class:`StepLine` (OSWorld's names where they exist: ``step_num``,
                            ``action_timestamp``, ``screenshot_file``, ``response``)
``result.json``             :class:`RunResultFile`
task ``results.jsonl`` row  :class:`TaskResultRow`; task ``summary.json``: :class:`TaskSummary`
grounding ``results.jsonl`` :class:`GroundingResultRow`; ``summary.json``: :class:`GroundingSummary`
==========================  ====================================================================

Models keep fields they do not declare (``extra="allow"``): a file written by a newer tars, or
extended by a front end (the recorder's ``source``, an eval's ``task_id``), reads back whole.
Readers raise :class:`SchemaError` (a ValueError) naming the file and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

#: how a run can end (DESIGN.md: result.json ``status``)
RunStatus = Literal["finished", "call_user", "max_steps", "timeout", "stopped", "error"]
RUN_STATUSES: tuple[str, ...] = ("finished", "call_user", "max_steps", "timeout", "stopped", "error")


class SchemaError(ValueError):
    """A file does not have the shape its format declares; the message names file and field."""


class Record(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_json(self) -> dict[str, Any]:
        """The JSON object (declared fields first, then any extra ones)."""
        return self.model_dump(mode="json")


class GeometryJSON(Record):
    """A screen geometry (:class:`tars.actions.coords.ScreenGeometry`): the captured monitor's
    size in physical pixels, its scale (pixels per screen point) and offset in screen points."""

    width: int
    height: int
    scale: float = 1.0
    left: int = 0
    top: int = 0
    monitor: int = 1


class CoordsJSON(Record):
    """The policy's coordinate space (:class:`tars.actions.coords.CoordSpace`): ``kind``
    (``relative`` | ``resized`` | ``absolute``) and the smart_resize budget."""

    kind: str
    min_pixels: int | None = None
    max_pixels: int | None = None
    factor: int | None = None


class TrajectoryMeta(Record):
    """``meta.json``: what was run, by which policy, with which settings (no secrets), on which
    screen; ``start_time`` ISO 8601 UTC."""

    instruction: str
    policy: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    #: the harness (``tars`` | ``osworld``) and its rules as the runs resolved them
    harness: str = "tars"
    harness_rules: dict[str, Any] | None = None
    model: str | None = None
    coords: CoordsJSON | None = None
    geometry: GeometryJSON | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    start_time: str | None = None


class ActionJSON(Record):
    """One action of a step: ``text`` (UI-TARS text in model space), ``model`` (the action in
    model space), ``screen`` (in screen points; :func:`tars.actions.space.action_from_json`)."""

    text: str | None = None
    model: dict[str, Any] | None = None
    screen: dict[str, Any]


class GroundingCall(Record):
    """One element the grounder was asked for in a planner + grounder step: the planner's
    ``element`` description, the grounder's raw ``answer``, the ``point`` it gave in screenshot
    pixels (None when it gave none) and the ``error`` when it gave none."""

    element: str
    answer: str | None = None
    point: list[float] | None = None
    error: str | None = None


class StepLine(Record):
    """One ``steps.jsonl`` line. ``timings_ms``: ``observe``/``think``/``act`` milliseconds;
    ``attempts``: answers asked for this step (parse retries included); ``geometry``: the
    screen this step's screenshot was taken on."""

    step_num: int
    action_timestamp: str | None = None
    screenshot_file: str | None = None
    response: str = ""
    thought: str | None = None
    reflection: str | None = None
    actions: list[ActionJSON] = Field(default_factory=list)
    error: str | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)
    attempts: int = 1
    geometry: GeometryJSON | None = None
    #: planner + grounder mode: the planner's raw answer and the grounder's calls (``response``
    #: then holds the combined answer in screenshot pixels)
    planner: str | None = None
    grounding: list[GroundingCall] = Field(default_factory=list)
    #: planner answers of this step that could not be used, each with the reason it was given
    planner_rejected: list[dict[str, str]] = Field(default_factory=list)


class RunResultFile(Record):
    """``result.json``: how the run ended. ``seconds`` wall time; ``score`` set by an
    evaluation (0..1), else None; ``final_action``: OSWorld's word for the last step
    (``DONE`` | ``FAIL`` | ``WAIT``, None for an ordinary action), what the harness's scoring
    rule reads (:func:`tars.agent.harness.score_task`)."""

    status: RunStatus
    content: str = ""
    steps: int = 0
    seconds: float = 0.0
    error: str | None = None
    score: float | None = None
    final_action: Literal["DONE", "FAIL", "WAIT"] | None = None


class TaskResultRow(Record):
    """One task of a suite (``results.jsonl``): ``status`` is a run status or
    ``setup_error`` / ``none`` (no agent ran); ``score`` 0..1 from the task's evaluator;
    ``success`` score == 1."""

    id: str
    status: str
    score: float = 0.0
    success: bool = False
    steps: int = 0
    seconds: float = 0.0
    error: str | None = None
    final_action: str | None = None
    #: OSWorld tasks: the examples domain, and the task's folder under --out (OSWorld's layout)
    domain: str | None = None
    folder: str | None = None


class TaskSummary(Record):
    """A task suite's ``summary.json``."""

    kind: Literal["tasks"] = "tasks"
    n_tasks: int
    n_success: int
    success_rate: float
    mean_score: float = 0.0
    mean_steps: float = 0.0
    statuses: dict[str, int] = Field(default_factory=dict)
    policy: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    #: per domain (OSWorld suites): ``n``, ``n_success``, ``success_rate``
    domains: dict[str, dict[str, Any]] | None = None
    #: tasks of the suite that cannot run here, each ``id``, ``domain``, ``reason`` (not in the rates)
    n_skipped: int | None = None
    skipped: list[dict[str, Any]] | None = None


class GroundingResultRow(Record):
    """One record of a grounding evaluation (``results.jsonl``): ``bbox`` x1,y1,x2,y2 and
    ``point`` x,y in image pixels; ``hit`` when the point lies in the box; ``ms`` per answer."""

    id: str
    instruction: str
    img_filename: str | None = None
    image_path: str | None = None
    bbox: list[float]
    point: list[float] | None = None
    hit: bool
    error: str | None = None
    ms: float = 0.0
    meta: dict[str, Any] = Field(default_factory=dict)


class GroundingSummary(Record):
    """A grounding evaluation's ``summary.json``: ``accuracy`` = ``n_hit`` / ``n``."""

    kind: Literal["grounding"] = "grounding"
    accuracy: float
    n: int
    n_hit: int
    n_no_point: int = 0
    breakdowns: dict[str, Any] = Field(default_factory=dict)
    policy: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)


M = TypeVar("M", bound=Record)


def _invalid(where: str, exc: ValidationError) -> SchemaError:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or "(top)"
    return SchemaError(f"{where}: {field}: {first.get('msg', 'invalid')}")


def parse(model: type[M], data: Any, where: str) -> M:
    """Validate ``data`` (a decoded JSON value) as ``model``; ``where`` names it in errors.

    Raises:
        SchemaError: not an object, or a field has the wrong type or is missing.
    """
    if not isinstance(data, dict):
        raise SchemaError(f"{where}: expected a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(where, exc) from None


def read_json(model: type[M], path: str | Path) -> M:
    """Read one JSON file as ``model``.

    Raises:
        FileNotFoundError: no such file. SchemaError: not JSON, or not the declared shape.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    return parse(model, data, str(path))


def read_jsonl(model: type[M], path: str | Path, torn_tail_ok: bool = True) -> list[M]:
    """Read a JSON-lines file as a list of ``model``; blank lines are skipped. With
    ``torn_tail_ok`` an unreadable *last* line (a crash mid-write: the step in flight) is
    dropped, as the crash guarantee of the trajectory format promises.

    Raises:
        FileNotFoundError: no such file. SchemaError: a complete line is not JSON or not the
            declared shape (the message gives its line number).
    """
    path = Path(path)
    # decoded line by line: a write cut inside a multi-byte character (a non-ASCII thought)
    # leaves a last line that is not UTF-8, torn like any other
    lines = path.read_bytes().split(b"\n")
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    out: list[M] = []
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            if torn_tail_ok and i == last:
                break
            what = "not valid UTF-8" if isinstance(exc, UnicodeDecodeError) else "not valid JSON"
            raise SchemaError(f"{path}:{i + 1}: {what}") from None
        out.append(parse(model, data, f"{path}:{i + 1}"))
    return out


def dumps_line(record: Record) -> str:
    """One JSON-lines line for ``record`` (no newline; non-ASCII kept)."""
    return json.dumps(record.to_json(), ensure_ascii=False)
