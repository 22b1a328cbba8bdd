"""Grounding evaluation on ScreenSpot-format data sets (DESIGN.md, Grounding set).

A grounding record asks "where is the element this instruction names?" on one screenshot. The
policy answers with one point; a **hit** is a point inside the element's box. This is the
measure of ScreenSpot (Cheng et al., SeeClick, arXiv:2401.10935), ScreenSpot-v2 (OS-Atlas,
arXiv:2410.23218) and ScreenSpot-Pro (Li et al., arXiv:2504.07981), and the UI-TARS paper
reports its grounding numbers on them.

Two record shapes are read unchanged:

* ScreenSpot v1/v2: ``img_filename``, ``bbox`` = ``[x, y, width, height]`` in image pixels,
  ``instruction``, ``data_type`` (``text`` / ``icon``), ``data_source`` (``ios``, ``macos``, ...);
* ScreenSpot-Pro: ``img_filename``, ``bbox`` = ``[x1, y1, x2, y2]`` in image pixels,
  ``img_size`` = ``[width, height]``, ``instruction``, ``ui_type`` (``text`` / ``icon``),
  ``platform``, ``application``, ``group``, ``id``.

A record with ``img_size`` is read as corners, one without as x/y/width/height; the
``bbox_format`` argument (``--bbox-format``) overrides the guess for a whole data set.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from tars.agent.schema import GroundingResultRow, GroundingSummary, dumps_line

# the request -> answer -> point step lives with the policies (the planner's grounder uses it too)
from tars.models.grounding import NoPointError, ask_point

if TYPE_CHECKING:
    from PIL.Image import Image

    from tars.models.base import Policy, Prompt

BBOX_FORMATS = ("xywh", "xyxy")
#: record fields the summary breaks accuracy down by, when the records carry them
BREAKDOWN_FIELDS = ("data_type", "ui_type", "platform", "application", "data_source", "group")
#: extra breakdowns made by the loader: ``split`` (the JSON file's stem: ScreenSpot ships one
#: file per split, e.g. ``screenspot_mobile_v2``) and ``split/type`` (split x text/icon, the
#: table the ScreenSpot papers print)
DERIVED_FIELDS = ("split", "split/type")
#: folders (relative to the JSON file's folder) searched for ``img_filename``, in order:
#: beside the file, ``images/`` there (our sets, ScreenSpot-Pro's release has ``images/`` next to
#: ``annotations/``, hence ``../images``), and ScreenSpot v1's ``screenspot_imgs/``.
IMAGE_DIRS = (".", "images", "../images", "screenspot_imgs", "../screenspot_imgs")


class DatasetError(ValueError):
    """A grounding data set cannot be read; the message names the file and the record."""


@dataclass
class GroundingRecord:
    """One grounding question.

    ``bbox``: the target box as corners ``(x1, y1, x2, y2)`` in image pixels, whatever the
    file's format. ``image_path``: the screenshot on disk. ``meta``: the breakdown fields the
    record carries (``data_type``, ``platform``, ...). ``raw``: the record as read.
    """

    id: str
    instruction: str
    image_path: Path
    bbox: tuple[float, float, float, float]
    meta: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


def detect_bbox_format(record: dict[str, Any]) -> str:
    """``xyxy`` for a record with ``img_size`` (ScreenSpot-Pro), ``xywh`` otherwise (v1/v2)."""
    return "xyxy" if "img_size" in record else "xywh"


def to_corners(bbox: Iterable[float], fmt: str) -> tuple[float, float, float, float]:
    """``bbox`` in ``fmt`` (``xywh`` or ``xyxy``) -> corners ``(x1, y1, x2, y2)``.

    Raises:
        ValueError: not four numbers, unknown format, or an empty/negative box.
    """
    values = [float(v) for v in bbox]
    if len(values) != 4:
        raise ValueError(f"bbox must have 4 numbers, got {len(values)}")
    if fmt == "xywh":
        x, y, w, h = values
        corners = (x, y, x + w, y + h)
    elif fmt == "xyxy":
        corners = (values[0], values[1], values[2], values[3])
    else:
        raise ValueError(f"unknown bbox format {fmt!r}; use one of {', '.join(BBOX_FORMATS)}")
    if corners[2] <= corners[0] or corners[3] <= corners[1]:
        raise ValueError(f"bbox {values} read as {fmt} is empty or inverted")
    return corners


def point_in_box(x: float, y: float, box: tuple[float, float, float, float]) -> bool:
    """True when (x, y) lies inside corners ``box``, edges included (ScreenSpot's rule)."""
    x1, y1, x2, y2 = box
    return x1 <= x <= x2 and y1 <= y <= y2


def _find_image(json_dir: Path, name: str, image_dirs: Iterable[Path]) -> Path | None:
    for base in image_dirs:
        candidate = (base / name) if base.is_absolute() else (json_dir / base / name)
        if candidate.is_file():
            return candidate
    return None


def load_file(
    path: str | Path, bbox_format: str | None = None, images: str | Path | None = None
) -> list[GroundingRecord]:
    """Read one ScreenSpot-format JSON file (a list of records).

    ``bbox_format``: ``xywh`` / ``xyxy`` for every record, or None to decide per record
    (:func:`detect_bbox_format`). ``images``: an extra folder to look for images in first.

    Raises:
        DatasetError: unreadable JSON, a record without ``img_filename``/``bbox``/
            ``instruction``, a bad box, or an image that is in none of :data:`IMAGE_DIRS`.
    """
    path = Path(path)
    if bbox_format is not None and bbox_format not in BBOX_FORMATS:
        raise DatasetError(f"unknown bbox format {bbox_format!r}; use xywh or xyxy")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read JSON: {exc}") from None
    if not isinstance(data, list):
        raise DatasetError(f"{path}: expected a JSON list of records, got {type(data).__name__}")
    dirs = ([Path(images).resolve()] if images else []) + [Path(d) for d in IMAGE_DIRS]
    records = []
    for i, rec in enumerate(data):
        where = f"{path}: record {i}"
        if not isinstance(rec, dict):
            raise DatasetError(f"{where}: not an object")
        missing = [k for k in ("img_filename", "bbox", "instruction") if k not in rec]
        if missing:
            raise DatasetError(f"{where}: missing {', '.join(missing)}")
        fmt = bbox_format or detect_bbox_format(rec)
        try:
            box = to_corners(rec["bbox"], fmt)
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"{where}: {exc}") from None
        image = _find_image(path.parent, str(rec["img_filename"]), dirs)
        if image is None:
            raise DatasetError(
                f"{where}: image {rec['img_filename']!r} not found beside {path.name} "
                f"or in its images/ folder"
            )
        meta = {k: str(rec[k]) for k in BREAKDOWN_FIELDS if rec.get(k) not in (None, "")}
        meta["split"] = path.stem
        kind = meta.get("data_type") or meta.get("ui_type")
        if kind:
            meta["split/type"] = f"{path.stem}/{kind}"
        rid = str(rec.get("id") or f"{path.stem}-{i}")
        records.append(GroundingRecord(rid, str(rec["instruction"]), image, box, meta, rec))
    return records


def load_dataset(
    path: str | Path, bbox_format: str | None = None, images: str | Path | None = None
) -> list[GroundingRecord]:
    """Read a data set: one JSON file, or every ``*.json`` in a folder (sorted by name).

    A folder with an ``annotations/`` subfolder (the ScreenSpot-Pro release) is read from
    there. See :func:`load_file` for the arguments.

    Raises:
        DatasetError: the path does not exist, holds no JSON file, or a file is bad.
    """
    path = Path(path)
    if path.is_file():
        return load_file(path, bbox_format, images)
    if not path.is_dir():
        raise DatasetError(f"{path}: no such file or folder")
    folder = path / "annotations" if (path / "annotations").is_dir() else path
    files = sorted(folder.glob("*.json"))
    if not files:
        raise DatasetError(f"{folder}: no .json files")
    records: list[GroundingRecord] = []
    for f in files:
        records.extend(load_file(f, bbox_format, images))
    return records


# -- asking a policy ------------------------------------------------------------------------



def grounding_request(policy: "Policy", image: "Image", instruction: str, harness: str = "tars") -> "Prompt":
    """The policy's grounding prompt under ``harness``: ``osworld`` gives it OSWorld's
    sampling (temperature 0, top_p 0.9, frequency_penalty 1, 1000 tokens for UI-TARS) and
    pixel budget for the profile's family; the template and layout stay the profile's (OSWorld
    has no grounding runner for UI-TARS).

    Raises:
        ValueError: no such harness for the policy's family.
    """
    import dataclasses

    from tars.agent.harness import get_harness

    prompt = policy.grounding_prompt(image, instruction)
    if harness == "tars":
        return prompt
    rules = get_harness(harness, policy.profile)
    space = dataclasses.replace(prompt.space, **dict(rules.space)) if rules.space else prompt.space
    sampling = {k: v for k, v in rules.sampling if k != "history_images"}
    return dataclasses.replace(prompt, space=space, sampling={**sampling, **prompt.sampling})


def predict_point(policy: "Policy", image: "Image", instruction: str, harness: str = "tars") -> tuple[float, float]:
    """Ask ``policy`` where ``instruction``'s element is; returns image pixels (floats).

    The request is the policy's own :meth:`~tars.models.base.Policy.grounding_prompt` (a model
    gets its profile's grounding template and one screenshot turn; ``lite`` is asked to
    ``click <instruction>``). The answer is parsed and its first point (a ``click`` or a bare
    point) converted from the policy's coordinate space to pixels with
    :meth:`CoordSpace.to_pixels`.

    Raises:
        NoPointError: no point could be had from the answer, or the policy cannot follow the
            instruction (:class:`~tars.models.base.InstructionError`: a miss, not a stop).
        PolicyError: the policy could not answer at all.
    """
    return ask_point(policy, grounding_request(policy, image, instruction, harness), image)



# -- scoring --------------------------------------------------------------------------------

def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy over ``results`` (rows of :func:`evaluate`), overall and per breakdown field.

    Returns ``{"accuracy", "n", "n_hit", "n_no_point", "breakdowns": {field: {value:
    {"n", "n_hit", "accuracy"}}}}``; accuracy is a fraction in 0..1 (0.0 for no records).
    """
    n = len(results)
    hits = sum(1 for r in results if r["hit"])
    breakdowns: dict[str, dict[str, dict[str, Any]]] = {}
    for name in BREAKDOWN_FIELDS + DERIVED_FIELDS:
        groups: dict[str, list[bool]] = {}
        for r in results:
            value = r.get("meta", {}).get(name)
            if value is not None:
                groups.setdefault(value, []).append(bool(r["hit"]))
        if groups:
            breakdowns[name] = {
                v: {"n": len(h), "n_hit": sum(h), "accuracy": sum(h) / len(h)}
                for v, h in sorted(groups.items())
            }
    return {
        "accuracy": hits / n if n else 0.0,
        "n": n,
        "n_hit": hits,
        "n_no_point": sum(1 for r in results if r.get("error")),
        "breakdowns": breakdowns,
    }


def score_record(record: GroundingRecord, point: tuple[float, float] | None,
                 error: str | None = None, ms: float = 0.0) -> dict[str, Any]:
    """One results.jsonl row: a hit when ``point`` (image pixels) lies in the record's box."""
    hit = point is not None and point_in_box(point[0], point[1], record.bbox)
    return {
        "id": record.id,
        "instruction": record.instruction,
        "img_filename": record.raw.get("img_filename", record.image_path.name),
        "image_path": str(record.image_path),
        "bbox": list(record.bbox),
        "point": None if point is None else [round(point[0], 1), round(point[1], 1)],
        "hit": hit,
        "error": error,
        "ms": round(ms, 1),
        "meta": record.meta,
    }


def evaluate(
    records: list[GroundingRecord],
    policy: "Policy",
    out_dir: str | Path | None = None,
    settings: dict[str, Any] | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    harness: str = "tars",
) -> dict[str, Any]:
    """Ask ``policy`` for a point on every record and score it; returns the summary.

    ``harness``: ``tars`` | ``osworld`` (see :func:`grounding_request`); recorded in the summary.

    With ``out_dir``, writes ``results.jsonl`` (one row per record, flushed as it goes) and
    ``summary.json`` (the summary plus ``policy``, ``settings``, ``kind: "grounding"``).
    ``on_result`` is called with each row (the CLI's progress bar). A :class:`NoPointError` is a
    miss with its ``error`` set; a :class:`tars.models.base.PolicyError` stops the evaluation.
    """
    from PIL import Image

    out = Path(out_dir) if out_dir is not None else None
    sink = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        sink = open(out / "results.jsonl", "w", encoding="utf-8")
    results = []
    try:
        for record in records:
            with Image.open(record.image_path) as im:
                image = im.convert("RGB")
            start = time.perf_counter()
            try:
                point, error = predict_point(policy, image, record.instruction, harness), None
            except NoPointError as exc:
                point, error = None, str(exc)
            row = score_record(record, point, error, (time.perf_counter() - start) * 1000)
            results.append(row)
            if sink is not None:
                sink.write(dumps_line(GroundingResultRow(**row)) + "\n")
                sink.flush()
            if on_result is not None:
                on_result(row)
    finally:
        if sink is not None:
            sink.close()
    summary = summarize(results)
    summary.update(kind="grounding", policy=policy.name, settings=settings or {}, harness=harness)
    summary = GroundingSummary(**summary).to_json()
    if out is not None:
        (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    return summary
