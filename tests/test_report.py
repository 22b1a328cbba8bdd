"""HTML reports: a trajectory written by the real recorder, a task-suite and a grounding folder."""

from __future__ import annotations

import base64
import json
import re
import time

import pytest
from PIL import Image

from tars.actions.coords import CoordSpace, ScreenGeometry
from tars.actions.space import Click, DoubleClick, Drag, Finished, Scroll, Step, Type
from tars.agent.hooks import RunInfo, RunResult, StepRecord
from tars.agent.trajectory import TrajectoryRecorder
from tars.desktop.operator import Observation
from tars.frontends.report import action_marks_svg, render_report, write_report


def _record_run(folder, geometry: ScreenGeometry, secret="sk-very-secret"):
    """Write a two-step trajectory with the lead's recorder (the real on-disk format)."""
    rec = TrajectoryRecorder(folder)
    rec.run_start(RunInfo("open <the> menu", "scripted", CoordSpace("absolute"),
                          settings={"api_key": secret, "endpoint": "http://x"}, geometry=geometry,
                          started=time.time()))
    img = Image.new("RGB", (geometry.width, geometry.height), "white")
    steps = [
        (Step("click the <b>File</b> menu", (Click(100, 80), DoubleClick(10, 10))),
         [Click(50, 40), DoubleClick(5, 5)]),
        (Step("drag then type", (Drag(0, 0, 200, 100), Type("hi\n"), Scroll(20, 20, "down"))),
         [Drag(0, 0, 100, 50), Type("hi\n"), Scroll(10, 10, "down")]),
        (Step("done", (Finished("ok"),)), [Finished("ok")]),
    ]
    for n, (step, screen) in enumerate(steps, 1):
        rec.step_end(StepRecord(n, Observation(img, geometry), f"Thought: {step.thought}\nAction: ...",
                                step, list(step.actions), screen, "boom" if n == 2 else None,
                                {"observe": 12.5, "think": 300.0, "act": 40.0}, time.time()))
    rec.run_end(RunResult("finished", "ok", 3, 1.5))


def test_trajectory_report(tmp_path):
    geometry = ScreenGeometry(320, 200, scale=2.0)  # HiDPI: points x2 = pixels
    _record_run(tmp_path / "run", geometry)
    text = render_report(tmp_path / "run")
    assert text.startswith("<!DOCTYPE html>")
    # three screenshots embedded, decodable PNGs of the recorded size
    urls = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(urls) == 3
    assert base64.b64decode(urls[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'viewBox="0 0 320 200"' in text
    # the click at screen point (50, 40) is drawn at pixel (100, 80); the drag ends at (200, 100)
    assert 'cx="100.0" cy="80.0"' in text
    assert 'x2="200.0" y2="100.0"' in text and "marker-end" in text
    # thoughts and actions are shown, escaped; timings and errors too
    assert "click the &lt;b&gt;File&lt;/b&gt; menu" in text and "<b>File</b>" not in text
    assert "click(start_box=" in text and "type(content=" in text
    assert "think 300.0 ms" in text and "Error: boom" in text
    assert "finished" in text
    assert "sk-very-secret" not in text  # secrets never reach a report
    assert "<script" not in text


def test_write_report_default_path_and_errors(tmp_path):
    _record_run(tmp_path / "run", ScreenGeometry(64, 48))
    out = write_report(tmp_path / "run")
    assert out == tmp_path / "run" / "report.html" and out.read_text().startswith("<!DOCTYPE")
    out2 = write_report(tmp_path / "run", tmp_path / "x" / "r.html")
    assert out2.exists()
    with pytest.raises(FileNotFoundError, match="neither a trajectory"):
        render_report(tmp_path)
    # an --out that cannot be written is named, and nothing is left behind
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError, match=r"cannot write the report to .*file/r\.html"):
        write_report(tmp_path / "run", blocker / "r.html")


def test_crashed_run_without_result_still_renders(tmp_path):
    _record_run(tmp_path / "run", ScreenGeometry(64, 48))
    (tmp_path / "run" / "result.json").unlink()
    with open(tmp_path / "run" / "steps.jsonl", "a") as f:
        f.write('{"step_num": 4, "torn')  # a crash mid-write
    text = render_report(tmp_path / "run")
    assert "did not end cleanly" in text and text.count('class="step"') == 3


def test_tasks_report_links_each_task(tmp_path):
    _record_run(tmp_path / "todo-add", ScreenGeometry(64, 48))
    rows = [{"id": "todo-add", "status": "finished", "score": 1.0, "success": True, "steps": 3,
             "seconds": 2.0, "error": None},
            {"id": "broken", "status": "setup_error", "score": 0.0, "success": False, "steps": 0,
             "seconds": 0.1, "error": "no window <appeared>"}]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "summary.json").write_text(json.dumps(
        {"n_tasks": 2, "n_success": 1, "success_rate": 0.5, "mean_steps": 1.5, "policy": "lite",
         "settings": {"policy": {"options": {"api_key": "sk-x"}}}}))
    text = render_report(tmp_path)
    assert 'href="#task-todo-add"' in text and 'id="task-todo-add"' in text
    assert 'href="#task-broken"' in text and "No trajectory (status setup_error)" in text
    assert "50.0 %" in text and "no window &lt;appeared&gt;" in text
    assert text.count("data:image/png;base64,") == 3  # the task's trajectory is inside
    assert "sk-x" not in text


def test_grounding_report_pictures_misses(tmp_path):
    from tars.evals import grounding
    from tars.models.scripted import ScriptedPolicy

    Image.new("RGB", (400, 300), "white").save(tmp_path / "s.png")
    (tmp_path / "set.json").write_text(json.dumps([
        {"img_filename": "s.png", "bbox": [10, 10, 40, 20], "instruction": "ok <button>", "data_type": "text"},
        {"img_filename": "s.png", "bbox": [200, 200, 40, 20], "instruction": "save", "data_type": "icon"},
    ]))
    policy = ScriptedPolicy(["click(start_box='(20,20)')", "click(start_box='(100,100)')"])
    grounding.evaluate(grounding.load_dataset(tmp_path / "set.json"), policy, tmp_path / "out")
    text = render_report(tmp_path / "out")
    assert "50.0 %" in text and "by data_type" in text and "by split/type" in text
    assert text.count("data:image/jpeg;base64,") == 1  # only the miss is pictured
    # the crop starts at (20, 40): box (200,200)-(240,220) and point (100,100) drawn inside it
    assert '<rect x="180.0" y="160.0" width="40.0" height="20.0"' in text and 'cx="80.0" cy="60.0"' in text
    assert "ok &lt;button&gt;" in text


def test_grounding_report(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps(
        {"kind": "grounding", "accuracy": 0.25, "n": 4, "n_hit": 1, "n_no_point": 1, "policy": "lite",
         "breakdowns": {"data_type": {"icon": {"n": 2, "n_hit": 0, "accuracy": 0.0},
                                      "text": {"n": 2, "n_hit": 1, "accuracy": 0.5}}}}))
    (tmp_path / "results.jsonl").write_text(json.dumps(
        {"id": "r1", "instruction": "save", "bbox": [1, 2, 3, 4], "point": [2, 3], "hit": True,
         "error": None, "ms": 5}) + "\n")
    text = render_report(tmp_path)
    assert "25.0 %" in text and "by data_type" in text and ">hit<" in text


def test_marks_for_each_action_kind():
    svg = action_marks_svg(
        [{"action": "click", "x": 10, "y": 20}, {"action": "scroll", "x": 5, "y": 5, "direction": "up"},
         {"action": "type", "text": "x"}, {"action": "drag", "x": 0, "y": 0, "x2": 30, "y2": 40}],
        {"left": 100, "top": 0, "scale": 1.0}, 200, 100)
    # a monitor at left=100: screen point (10, 20) is off this image's origin by -100
    assert 'cx="-90.0" cy="20.0"' in svg
    assert svg.count("<text") == 3  # numbered marks for click, scroll and drag, none for type
    assert ">1<" in svg and ">2<" in svg and ">4<" in svg


def test_result_colour_follows_the_score_and_metadata_is_a_table(tmp_path):
    from tars.frontends.report import result_class

    # a finished run the evaluator scored 0 is red, never green; unscored is the agent's claim
    assert result_class("finished", 0.0) == ("bad", "score 0")
    assert result_class("finished", 1.0)[0] == "ok" and result_class("finished", 0.5)[0] == "partial"
    assert result_class("finished", None) == ("unscored", "not scored")
    assert result_class("error", None)[0] == "bad"
    _record_run(tmp_path / "t1", ScreenGeometry(64, 48))
    rows = [{"id": "t1", "status": "finished", "score": 0.0, "success": False, "steps": 3,
             "seconds": 2.0, "error": None}]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "summary.json").write_text(json.dumps({"n_tasks": 1, "n_success": 0, "success_rate": 0.0,
                                                       "mean_steps": 3, "policy": "lite"}))
    text = render_report(tmp_path)
    assert '<span class="bad">finished (score 0)</span>' in text and '<span class="ok">finished' not in text
    assert '<td class="bad">0.0</td>' in text
    # a plain run: no score, the status is not painted as a success
    one = render_report(tmp_path / "t1")
    assert '<span class="unscored">finished (not scored)</span>' in one
    # metadata: the instruction once (the heading), settings as a nested table, the screen in words
    assert one.count("open &lt;the&gt; menu") == 1
    assert "<th>settings</th><td><table>" in one and "<th>endpoint</th><td>http://x</td>" in one
    assert "64×48 px" in one and '{"width"' not in one


def test_untrusted_screenshot_names_are_not_embedded_and_a_bad_image_does_not_fail_the_report(tmp_path):
    """A trajectory is data from anywhere: a screenshot_file outside its folder (absolute or
    ../) is not read, and a file that is not an image is reported as unreadable while the rest
    of the report is still written."""
    geometry = ScreenGeometry(320, 200)
    _record_run(tmp_path / "run", geometry)
    secret_image = tmp_path / "elsewhere.png"
    Image.new("RGB", (7, 7), "red").save(secret_image)
    steps_path = tmp_path / "run" / "steps.jsonl"
    lines = [json.loads(line) for line in steps_path.read_text().splitlines()]
    lines[0]["screenshot_file"] = str(secret_image)          # absolute, outside the run
    lines[1]["screenshot_file"] = "../elsewhere.png"         # relative, climbing out
    (tmp_path / "run" / "step-0003.png").write_text("not a png")  # torn / foreign file
    steps_path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    text = render_report(tmp_path / "run")
    assert text.count("outside the run folder") == 2 and "step-0003.png unreadable" in text
    assert "data:image/png;base64" not in text  # nothing embedded: not the outside file either
    assert "drag then type" in text and "Result" in text


def test_a_summary_that_is_not_one_is_named_with_what_is_wrong(tmp_path):
    (tmp_path / "summary.json").write_text('{"accuracy": "x"}')
    with pytest.raises(FileNotFoundError, match="summary.json is not an evaluation summary.*accuracy"):
        render_report(tmp_path)
