"""Self-contained HTML reports of a trajectory or an evaluation folder (``tars report DIR``).

One HTML file with everything inside: screenshots as ``data:`` URLs with the actions drawn
over them as SVG (click markers, drag paths, scroll arrows), the model's thoughts and raw
answers, the actions in UI-TARS text, timings and errors. For a task-suite folder
(``summary.json`` with ``n_tasks``) a summary table links to one section per task, each
holding that task's trajectory; for a grounding folder (``summary.json`` with ``accuracy``)
the accuracy, the breakdowns and the per-record rows. The desktop app exports through
:func:`write_report` too.

Nothing is fetched from the network and no script runs in the page. Secrets never reach a
report: settings are passed through :func:`tars.agent.trajectory.scrub` again before printing.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any, Iterable

from tars.actions.coords import ScreenGeometry
from tars.agent.schema import (
    GroundingResultRow,
    GroundingSummary,
    Record,
    RunResultFile,
    StepLine,
    TaskResultRow,
    TaskSummary,
    TrajectoryMeta,
    parse,
    read_json,
)
from tars.frontends.markers import STATUS_RGB, STYLE, hex_rgb
from tars.frontends.wording import thought_for_people

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,DejaVu Sans,sans-serif;margin:24px;color:#1d2330;max-width:1400px}
h1{font-size:22px} h2{font-size:18px;margin-top:32px;border-bottom:1px solid #d8dce3;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:8px 0} td,th{border:1px solid #d8dce3;padding:4px 8px;text-align:left;font-size:13px}
th{background:#f1f3f6} .ok{color:@success;font-weight:600} .bad{color:@failure;font-weight:600}
.partial{color:@partial;font-weight:600} .unscored{color:@unscored;font-weight:600} table table{margin:0}
table table td,table table th{font-size:12px;padding:2px 6px}
.meta{color:#5f6672;font-size:13px} .step{border:1px solid #d8dce3;border-radius:6px;padding:10px;margin:12px 0}
.shot{position:relative;display:inline-block;max-width:100%} .shot img{display:block;max-width:100%;height:auto}
.shot svg{position:absolute;left:0;top:0;width:100%;height:100%;pointer-events:none}
pre{background:#f6f8fa;padding:8px;white-space:pre-wrap;word-break:break-word;font-size:12px;margin:4px 0}
code{font-size:12px} .thought{margin:6px 0;font-style:italic} .error{color:#b3261e}
"""
for _k in ("success", "failure", "partial", "unscored"):  # the status colours of every front end
    _CSS = _CSS.replace(f"@{_k}", hex_rgb(STATUS_RGB[_k]))

#: marker colours: the one style table of tars (tars.frontends.markers.STYLE)
_RING, _DOT = hex_rgb(STYLE.ring), hex_rgb(STYLE.dot)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _read_json(model: "type[Record]", path: Path) -> dict[str, Any] | None:
    """``path`` read through its schema model (:mod:`tars.agent.schema`) as a JSON object, or
    None when it is missing or unreadable (a report shows what is there, never fails)."""
    try:
        return read_json(model, path).to_json()
    except (OSError, ValueError):
        return None


def _read_jsonl(model: "type[Record]", path: Path) -> list[dict[str, Any]]:
    """The readable lines of a JSON-lines file, each through its schema model; a line that is
    torn (a crash) or not of the declared shape is left out, the rest is still worth showing."""
    rows: list[dict[str, Any]] = []
    if path.exists():
        for n, line in enumerate(path.read_bytes().splitlines(), 1):
            if not line.strip():
                continue
            try:  # decoded per line: one cut inside a character (a crash) spoils only itself
                rows.append(parse(model, json.loads(line.decode("utf-8")), f"{path}:{n}").to_json())
            except ValueError:  # UnicodeDecodeError and JSONDecodeError among them
                continue
    return rows


def _inside(folder: Path, name: str) -> Path | None:
    """``folder/name`` when it stays inside ``folder`` (an untrusted trajectory's absolute or
    ``../`` screenshot name must not pull any file of this machine into a report), else None."""
    path = folder / name
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return None
    return path


def _data_url(path: Path) -> str:
    mime = "image/jpeg" if path.suffix.lower() in (".jpg", ".jpeg") else "image/png"
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def _to_pixels(x: float, y: float, geometry: dict[str, Any] | None) -> tuple[float, float]:
    # actions are stored in screen points; the screenshot is in physical pixels
    return ScreenGeometry.from_json(geometry).to_pixels(x, y)


def action_marks_svg(actions: Iterable[dict[str, Any]], geometry: dict[str, Any] | None,
                     width: int, height: int) -> str:
    """SVG (viewBox = the screenshot's pixels) drawing each action's target.

    ``actions``: action JSON objects in **screen points** (``Action.to_json`` shape).
    Clicks are rings with a dot (two rings for double clicks), drags a line with an arrow
    head from start to end, scrolls an arrow in their direction; each mark is numbered in
    the order the actions ran.
    """
    r = max(6.0, min(width, height) / 60)
    parts = [f'<svg viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="6" '
             'markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
             'fill="context-stroke"/></marker></defs>']
    for n, a in enumerate(actions, 1):
        name = str(a.get("action"))
        color = _RING
        label_at = None
        # a drag's start is ``x``/``y`` in DESIGN.md's JSON (``x1``/``y1`` in older files)
        sx, sy = a.get("x", a.get("x1")), a.get("y", a.get("y1"))
        if name == "drag" and sx is not None and sy is not None and None not in (a.get("x2"), a.get("y2")):
            x1, y1 = _to_pixels(sx, sy, geometry)
            x2, y2 = _to_pixels(a["x2"], a["y2"], geometry)
            parts.append(f'<circle cx="{x1:.1f}" cy="{y1:.1f}" r="{r / 2:.1f}" fill="{color}"/>'
                         f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                         f'stroke="{color}" stroke-width="{r / 3:.1f}" marker-end="url(#arrow)"/>')
            label_at = (x1, y1)
        elif a.get("x") is not None and a.get("y") is not None:
            x, y = _to_pixels(a["x"], a["y"], geometry)
            label_at = (x, y)
            if name == "scroll":
                dx, dy = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}.get(
                    str(a.get("direction")), (0, 1))
                parts.append(f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x + dx * 4 * r:.1f}" '
                             f'y2="{y + dy * 4 * r:.1f}" stroke="{color}" stroke-width="{r / 3:.1f}" '
                             f'marker-end="url(#arrow)"/>')
            else:
                fill = "none" if name == "mouse_move" else _DOT
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="none" '
                             f'stroke="{color}" stroke-width="{r / 4:.1f}"/>'
                             f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r / 4:.1f}" fill="{fill}"/>')
                if name == "left_double":
                    parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r * 1.6:.1f}" fill="none" '
                                 f'stroke="{color}" stroke-width="{r / 5:.1f}"/>')
        if label_at is not None:
            lx, ly = label_at
            parts.append(f'<text x="{lx + r * 1.2:.1f}" y="{ly - r * 1.2:.1f}" font-size="{r * 1.6:.0f}" '
                         f'font-weight="bold" fill="{color}" stroke="white" stroke-width="{r / 6:.1f}" '
                         f'paint-order="stroke">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _screen_actions(step: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for a in step.get("actions") or []:
        if isinstance(a, dict):
            out.append(a.get("screen") or a)
    return out


def _action_texts(step: dict[str, Any]) -> list[str]:
    texts = []
    for a in step.get("actions") or []:
        if isinstance(a, dict) and a.get("text"):
            texts.append(a["text"])
        elif isinstance(a, dict):
            texts.append(json.dumps(a.get("screen") or a, ensure_ascii=False))
    return texts


def _geometry_words(g: dict[str, Any]) -> str:
    text = f"{g.get('width')}×{g.get('height')} px"
    if g.get("scale") not in (None, 1, 1.0):
        text += f", {g.get('scale')} px per point"
    if g.get("left") or g.get("top"):
        text += f", at ({g.get('left')}, {g.get('top')})"
    if g.get("monitor") is not None:
        text += f", monitor {g.get('monitor')}"
    return text


def _value_html(value: Any) -> str:
    """A metadata value for people: nested objects as nested tables, lists joined, a screen
    geometry in words."""
    if isinstance(value, dict):
        if {"width", "height"} <= set(value) and set(value) <= {"width", "height", "scale", "left", "top", "monitor"}:
            return _e(_geometry_words(value))
        return _kv_table(value)
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return _e(", ".join(str(v) for v in value))
        return "".join(_value_html(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _e(value)


def _kv_table(data: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_value_html(v)}</td></tr>"
                   for k, v in data.items() if v not in (None, "", {}, []))
    return f"<table>{rows}</table>"


def result_class(status: Any, score: float | None = None) -> tuple[str, str]:
    """(CSS class, words) for how a run ended: by ``score`` when there is one (1 and above
    green, 0 red, between amber), else a ``finished`` run is the agent's claim ("not scored",
    blue) and any other status red. Green means success, never only "finished"."""
    if score is not None:
        s = float(score)
        if s >= 1:
            return "ok", f"score {s:g}"
        return ("bad" if s <= 0 else "partial"), f"score {s:g}"
    if status == "finished":
        return "unscored", "not scored"
    return "bad", ""


def render_trajectory(folder: str | Path, heading: str | None = None, level: int = 1,
                      score: float | None = None) -> str:
    """HTML fragment for one trajectory folder (meta.json, steps.jsonl, step-NNNN.png,
    result.json). Missing parts (a crash mid-run) are shown as missing, never an error.
    ``score``: the evaluator's score of the run (a task suite's row), which colours the
    result when result.json holds none."""
    from tars.agent.trajectory import scrub

    folder = Path(folder)
    meta = _read_json(TrajectoryMeta, folder / "meta.json") or {}
    steps = _read_jsonl(StepLine, folder / "steps.jsonl")
    result = _read_json(RunResultFile, folder / "result.json")
    h, h2 = f"h{level}", f"h{level + 1}"
    title = heading or meta.get("instruction") or folder.name
    out = [f"<{h}>{_e(title)}</{h}>"]
    info = {"instruction": meta.get("instruction") if title != meta.get("instruction") else None,
            "policy": meta.get("policy"),
            "model": meta.get("model"), "start": meta.get("start_time"),
            "screen": meta.get("geometry"), "coordinates": meta.get("coords"),
            "settings": scrub(meta.get("settings") or {})}
    out.append(_kv_table(info))
    if result:
        got = result.get("score") if result.get("score") is not None else score
        cls, words = result_class(result.get("status"), got)
        out.append(f'<p>Result: <span class="{cls}">{_e(result.get("status"))}'
                   + (f" ({_e(words)})" if words else "")
                   + f'</span> after {_e(result.get("steps"))} steps, '
                   f'{_e(result.get("seconds"))} s'
                   + (f' — {_e(result.get("content"))}' if result.get("content") else "")
                   + (f' <span class="error">{_e(result.get("error"))}</span>' if result.get("error") else "")
                   + "</p>")
    else:
        out.append('<p class="bad">No result.json: the run did not end cleanly.</p>')
    for step in steps:
        num = step.get("step_num", "?")
        out.append(f'<div class="step"><{h2}>Step {_e(num)}</{h2}>')
        timings = step.get("timings_ms") or {}
        if timings:
            out.append('<div class="meta">' + " · ".join(f"{_e(k)} {_e(v)} ms" for k, v in timings.items())
                       + (f" · at {_e(step.get('action_timestamp'))}" if step.get("action_timestamp") else "")
                       + "</div>")
        if step.get("thought"):
            out.append(f'<div class="thought">{_e(thought_for_people(step["thought"]))}</div>')
        for text in _action_texts(step):
            out.append(f"<pre>{_e(text)}</pre>")
        if step.get("error"):
            out.append(f'<div class="error">Error: {_e(step["error"])}</div>')
        shot = step.get("screenshot_file")
        path = _inside(folder, shot) if shot else None
        if shot and path is None:
            out.append(f'<div class="meta">screenshot {_e(shot)} not embedded: it lies outside the run folder</div>')
        elif path is not None and path.is_file():
            try:
                w, h_px = _image_size(path)
            except (OSError, ValueError) as exc:  # not an image (a torn write, a foreign file)
                out.append(f'<div class="meta">screenshot {_e(shot)} unreadable: {_e(exc)}</div>')
            else:
                svg = action_marks_svg(_screen_actions(step), step.get("geometry") or meta.get("geometry"), w, h_px)
                out.append(f'<div class="shot"><img alt="step {_e(num)}" src="{_data_url(path)}">{svg}</div>')
        elif shot:
            out.append(f'<div class="meta">screenshot {_e(shot)} missing</div>')
        if step.get("response"):
            out.append(f"<details><summary>model output</summary><pre>{_e(step['response'])}</pre></details>")
        out.append("</div>")
    if not steps:
        out.append('<p class="meta">No steps recorded.</p>')
    return "\n".join(out)


def _render_tasks(folder: Path, summary: dict[str, Any]) -> str:
    from tars.agent.trajectory import scrub

    rows = _read_jsonl(TaskResultRow, folder / "results.jsonl")
    out = [f"<h1>Task suite: {_e(summary.get('policy') or 'no agent')}</h1>",
           _kv_table({"tasks": summary.get("n_tasks"), "successes": summary.get("n_success"),
                      "success rate": f"{100 * float(summary.get('success_rate') or 0):.1f} %",
                      "mean steps": f"{float(summary.get('mean_steps') or 0):.2f}",
                      "statuses": summary.get("statuses"),
                      "settings": scrub(summary.get("settings") or {})}),
           "<table><tr><th>task</th><th>status</th><th>score</th><th>steps</th>"
           "<th>seconds</th><th>error</th></tr>"]
    for r in rows:
        anchor = f"task-{_e(r.get('id'))}"
        ok = result_class(r.get("status"), r.get("score"))[0]
        out.append(f'<tr><td><a href="#{anchor}">{_e(r.get("id"))}</a></td><td>{_e(r.get("status"))}</td>'
                   f'<td class="{ok}">{_e(r.get("score"))}</td><td>{_e(r.get("steps"))}</td>'
                   f'<td>{_e(r.get("seconds"))}</td><td class="error">{_e(r.get("error"))}</td></tr>')
    out.append("</table>")
    for r in rows:
        tid = str(r.get("id"))
        out.append(f'<section id="task-{_e(tid)}">')
        traj = folder / str(r.get("folder") or tid)  # OSWorld tasks: OSWorld's results layout
        if (traj / "meta.json").exists():
            out.append(render_trajectory(traj, heading=f"{tid} (score {r.get('score')})", level=2,
                                         score=r.get("score")))
        else:
            out.append(f"<h2>{_e(tid)} (score {_e(r.get('score'))})</h2>"
                       f'<p class="meta">No trajectory (status {_e(r.get("status"))}).</p>')
        out.append("</section>")
    return "\n".join(out)


#: grounding reports show at most this many missed records as pictures
MAX_MISS_IMAGES = 40


def _miss_figure(row: dict[str, Any]) -> str:
    """A crop of the record's screenshot around its box and the predicted point, with both
    drawn, as an embedded JPEG; empty when the image is gone."""
    import io

    from PIL import Image

    path = Path(str(row.get("image_path") or ""))
    box = row.get("bbox")
    if not path.is_file() or not box:
        return ""
    x1, y1, x2, y2 = box
    px, py = row.get("point") or (None, None)
    xs = [x1, x2] + ([px] if px is not None else [])
    ys = [y1, y2] + ([py] if py is not None else [])
    try:
        with Image.open(path) as im:
            w, h = im.size
            left, top = max(0, int(min(xs)) - 80), max(0, int(min(ys)) - 60)
            right, bottom = min(w, int(max(xs)) + 80), min(h, int(max(ys)) + 60)
            crop = im.convert("RGB").crop((left, top, right, bottom))
    except (OSError, ValueError):  # not an image: the row is still listed in the table below
        return ""
    buf = io.BytesIO()
    crop.save(buf, "JPEG", quality=80)
    cw, ch = crop.size
    marks = (f'<rect x="{x1 - left:.1f}" y="{y1 - top:.1f}" width="{x2 - x1:.1f}" height="{y2 - y1:.1f}" '
             f'fill="none" stroke="#137333" stroke-width="2"/>')
    if px is not None and py is not None:
        cx, cy = px - left, py - top
        marks += (f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="none" stroke="{_DOT}" '
                  f'stroke-width="2"/><circle cx="{cx:.1f}" cy="{cy:.1f}" r="2" fill="{_DOT}"/>')
    url = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'<div class="step"><div><b>{_e(row.get("id"))}</b>: {_e(row.get("instruction"))}'
            f'{" — " + _e(row.get("error")) if row.get("error") else ""}</div>'
            f'<div class="shot"><img alt="{_e(row.get("id"))}" src="{url}">'
            f'<svg viewBox="0 0 {cw} {ch}" xmlns="http://www.w3.org/2000/svg">{marks}</svg></div></div>')


def _render_grounding(folder: Path, summary: dict[str, Any]) -> str:
    rows = _read_jsonl(GroundingResultRow, folder / "results.jsonl")
    out = [f"<h1>Grounding: {_e(summary.get('policy'))}</h1>",
           _kv_table({"records": summary.get("n"), "hits": summary.get("n_hit"),
                      "accuracy": f"{100 * float(summary.get('accuracy') or 0):.1f} %",
                      "answers without a point": summary.get("n_no_point"),
                      "settings": summary.get("settings")})]
    for name, groups in (summary.get("breakdowns") or {}).items():
        out.append(f"<h3>by {_e(name)}</h3><table><tr><th>{_e(name)}</th><th>n</th><th>accuracy</th></tr>")
        for value, g in groups.items():
            out.append(f"<tr><td>{_e(value)}</td><td>{_e(g.get('n'))}</td>"
                       f"<td>{100 * float(g.get('accuracy') or 0):.1f} %</td></tr>")
        out.append("</table>")
    misses = [r for r in rows if not r.get("hit")]
    if misses:
        out.append(f"<h2>Misses</h2><p class=\"meta\">target box in green, predicted point in red"
                   f"{f'; the first {MAX_MISS_IMAGES} of {len(misses)}' if len(misses) > MAX_MISS_IMAGES else ''}</p>")
        for r in misses[:MAX_MISS_IMAGES]:
            out.append(_miss_figure(r))
    out.append("<h2>Records</h2><table><tr><th>id</th><th>instruction</th><th>box</th>"
               "<th>point</th><th>hit</th><th>ms</th><th>error</th></tr>")
    for r in rows:
        out.append(f"<tr><td>{_e(r.get('id'))}</td><td>{_e(r.get('instruction'))}</td>"
                   f"<td>{_e(r.get('bbox'))}</td><td>{_e(r.get('point'))}</td>"
                   f"<td class=\"{'ok' if r.get('hit') else 'bad'}\">{'hit' if r.get('hit') else 'miss'}</td>"
                   f"<td>{_e(r.get('ms'))}</td><td class=\"error\">{_e(r.get('error'))}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def render_report(folder: str | Path) -> str:
    """The whole HTML document for ``folder``: a trajectory, a task-suite evaluation or a
    grounding evaluation (decided by which files it holds).

    Raises:
        FileNotFoundError: the folder holds neither meta.json nor summary.json.
    """
    folder = Path(folder)
    tasks = _read_json(TaskSummary, folder / "summary.json")
    grounding = None if tasks else _read_json(GroundingSummary, folder / "summary.json")
    if tasks is not None:
        body, title = _render_tasks(folder, tasks), f"tars tasks report: {folder.name}"
    elif grounding is not None:
        body, title = _render_grounding(folder, grounding), f"tars grounding report: {folder.name}"
    elif (folder / "meta.json").exists():
        body, title = render_trajectory(folder), f"tars run: {folder.name}"
    elif (folder / "summary.json").exists():
        # name what is wrong in it, not "no summary"
        try:
            read_json(TaskSummary if "n_tasks" in (folder / "summary.json").read_text(errors="replace")
                      else GroundingSummary, folder / "summary.json")
        except ValueError as exc:
            raise FileNotFoundError(f"{folder}: summary.json is not an evaluation summary ({exc})") from None
        raise FileNotFoundError(f"{folder}: summary.json is not an evaluation summary")
    else:
        raise FileNotFoundError(f"{folder} is neither a trajectory (meta.json) nor an evaluation "
                                f"(summary.json)")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>\n{body}\n</body></html>\n")


def write_report(folder: str | Path, out_path: str | Path | None = None) -> Path:
    """Render ``folder`` and write the HTML to ``out_path`` (default ``folder/report.html``);
    returns the path written.

    Raises:
        FileNotFoundError: see :func:`render_report`. ReportWriteError (an OSError): the file
            cannot be written (the message names it); nothing half-written is left.
    """
    target = Path(out_path) if out_path is not None else Path(folder) / "report.html"
    text = render_report(folder)
    tmp = target.with_name(target.name + ".tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        if tmp.parent.is_dir():
            tmp.unlink(missing_ok=True)
        raise ReportWriteError(f"cannot write the report to {target}: {exc.strerror or exc}") from None
    return target


class ReportWriteError(OSError):
    """The report file cannot be written where it was asked for."""
