"""Grounding evaluation: ScreenSpot v1/v2 and Pro loaders, box formats, scoring, summaries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tars.actions.coords import CoordSpace
from tars.evals import grounding as g
from tars.models.scripted import ScriptedPolicy


def _png(path: Path, size=(200, 100)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, "white").save(path)


@pytest.fixture
def v2_set(tmp_path):
    """A ScreenSpot-v2 style file: bbox x, y, width, height; images beside the JSON."""
    _png(tmp_path / "a.png")
    records = [
        {"img_filename": "a.png", "bbox": [10, 20, 30, 40], "instruction": "open menu",
         "data_type": "icon", "data_source": "macos"},
        {"img_filename": "a.png", "bbox": [100, 50, 50, 10], "instruction": "click save",
         "data_type": "text", "data_source": "windows"},
    ]
    f = tmp_path / "screenspot_desktop_v2.json"
    f.write_text(json.dumps(records))
    return f


@pytest.fixture
def pro_set(tmp_path):
    """A ScreenSpot-Pro style release: annotations/*.json, images/<app>/*.png, bbox corners."""
    _png(tmp_path / "images" / "vscode" / "s1.png", (400, 300))
    rec = {"id": "vscode_1", "img_filename": "vscode/s1.png", "bbox": [10, 20, 30, 40],
           "img_size": [400, 300], "instruction": "run button", "ui_type": "icon",
           "platform": "linux", "application": "vscode", "group": "Dev"}
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "vscode_linux.json").write_text(json.dumps([rec]))
    return tmp_path


def test_v2_records_are_read_as_xywh(v2_set):
    recs = g.load_dataset(v2_set)
    assert [r.bbox for r in recs] == [(10, 20, 40, 60), (100, 50, 150, 60)]
    assert recs[0].meta == {"data_type": "icon", "data_source": "macos",
                            "split": "screenspot_desktop_v2", "split/type": "screenspot_desktop_v2/icon"}
    assert recs[0].image_path == v2_set.parent / "a.png"


def test_pro_records_with_img_size_are_read_as_corners(pro_set):
    recs = g.load_dataset(pro_set)  # a folder with annotations/ and a sibling images/
    assert len(recs) == 1
    r = recs[0]
    assert r.id == "vscode_1"
    assert r.bbox == (10, 20, 30, 40)
    assert r.meta["application"] == "vscode" and r.meta["platform"] == "linux"
    assert r.image_path.name == "s1.png"


def test_bbox_format_override(v2_set, pro_set, tmp_path):
    # Pro box read as width/height: [10,20,30,40] -> (10,20,40,60)
    assert g.load_dataset(pro_set, bbox_format="xywh")[0].bbox == (10, 20, 40, 60)
    # a record without img_size read as corners when told so
    f = tmp_path / "corners.json"
    f.write_text(json.dumps([{"img_filename": "a.png", "bbox": [10, 20, 30, 40], "instruction": "i"}]))
    assert g.load_dataset(f)[0].bbox == (10, 20, 40, 60)
    assert g.load_dataset(f, bbox_format="xyxy")[0].bbox == (10, 20, 30, 40)
    # v2's [100,50,50,10] is an inverted box as corners: a clear error naming the record
    with pytest.raises(g.DatasetError, match="record 1.*inverted"):
        g.load_dataset(v2_set, bbox_format="xyxy")


def test_images_folder_beside_json(tmp_path):
    _png(tmp_path / "images" / "x.png")
    (tmp_path / "set.json").write_text(json.dumps(
        [{"img_filename": "x.png", "bbox": [0, 0, 5, 5], "instruction": "i"}]))
    assert g.load_dataset(tmp_path / "set.json")[0].image_path == tmp_path / "images" / "x.png"


@pytest.mark.parametrize("content, message", [
    ("{not json", "cannot read JSON"),
    ('{"a": 1}', "expected a JSON list"),
    ('[{"bbox": [0,0,1,1], "instruction": "x"}]', "missing img_filename"),
    ('[{"img_filename": "nope.png", "bbox": [0,0,1,1], "instruction": "x"}]', "not found"),
    ('[{"img_filename": "a.png", "bbox": [0,0,1], "instruction": "x"}]', "4 numbers"),
])
def test_bad_files_give_clear_errors(tmp_path, content, message):
    _png(tmp_path / "a.png")
    f = tmp_path / "bad.json"
    f.write_text(content)
    with pytest.raises(g.DatasetError, match=message):
        g.load_dataset(f)


def test_bad_bbox_format_name(v2_set):
    with pytest.raises(g.DatasetError, match="unknown bbox format"):
        g.load_dataset(v2_set, bbox_format="cxcywh")


@pytest.mark.parametrize("point, hit", [
    ((10, 20), True),      # top-left corner counts
    ((40, 60), True),      # bottom-right corner counts
    ((25, 40), True),      # centre
    ((9.9, 30), False),    # just left
    ((25, 60.1), False),   # just below
])
def test_point_in_box_hand_checked(point, hit):
    assert g.point_in_box(*point, (10, 20, 40, 60)) is hit


def test_summary_breakdowns():
    rows = [
        {"hit": True, "error": None, "meta": {"data_type": "text", "platform": "mac"}},
        {"hit": False, "error": None, "meta": {"data_type": "text", "platform": "win"}},
        {"hit": False, "error": "unparseable", "meta": {"data_type": "icon", "platform": "win"}},
        {"hit": True, "error": None, "meta": {"data_type": "icon", "platform": "win"}},
    ]
    s = g.summarize(rows)
    assert s["n"] == 4 and s["n_hit"] == 2 and s["accuracy"] == 0.5 and s["n_no_point"] == 1
    assert s["breakdowns"]["data_type"]["text"] == {"n": 2, "n_hit": 1, "accuracy": 0.5}
    assert s["breakdowns"]["platform"]["win"]["accuracy"] == pytest.approx(1 / 3)
    assert "application" not in s["breakdowns"]
    assert g.summarize([])["accuracy"] == 0.0


def test_evaluate_scripted_policy_in_relative_space(v2_set, tmp_path):
    """Scripted answers on the 0..1000 grid: converted to pixels on the 200x100 image."""
    pytest.importorskip("tars.actions.parse")
    policy = ScriptedPolicy(
        [
            "Action: click(start_box='<|box_start|>(125,400)<|box_end|>')",  # (25,40): in box 1
            "click(start_box='(100,500)')",  # (20, 50): outside box 2
        ],
        space=CoordSpace("relative"),
    )
    out = tmp_path / "out"
    summary = g.evaluate(g.load_dataset(v2_set), policy, out)
    assert summary["n"] == 2 and summary["n_hit"] == 1
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert rows[0]["point"] == [25.0, 40.0] and rows[0]["hit"] is True
    assert rows[1]["point"] == [20.0, 50.0] and rows[1]["hit"] is False
    saved = json.loads((out / "summary.json").read_text())
    assert saved["accuracy"] == 0.5 and saved["breakdowns"]["data_type"]["icon"]["n_hit"] == 1
    # the policy was sent the grounding prompt with the instruction and one screenshot
    prompt = policy.prompts[0]
    assert prompt.task == "grounding" and "open menu" in prompt.system
    assert len(prompt.images()) == 1 and prompt.images()[0].size == (200, 100)


def test_unparseable_answer_is_a_counted_miss(v2_set):
    pytest.importorskip("tars.actions.parse")
    policy = ScriptedPolicy(["I have no idea", "Action: finished()"])
    summary = g.evaluate(g.load_dataset(v2_set), policy)
    assert summary["n_hit"] == 0 and summary["n_no_point"] == 2


def test_folder_of_splits_gives_the_papers_table(tmp_path):
    """ScreenSpot ships one file per split; the summary crosses split with text/icon."""
    _png(tmp_path / "a.png")
    for split in ("screenspot_mobile_v2", "screenspot_web_v2"):
        (tmp_path / f"{split}.json").write_text(json.dumps([
            {"img_filename": "a.png", "bbox": [0, 0, 10, 10], "instruction": "t", "data_type": "text"},
            {"img_filename": "a.png", "bbox": [50, 50, 10, 10], "instruction": "i", "data_type": "icon"},
        ]))
    recs = g.load_dataset(tmp_path)
    assert [r.meta["split"] for r in recs] == ["screenspot_mobile_v2"] * 2 + ["screenspot_web_v2"] * 2
    rows = [g.score_record(r, (5, 5)) for r in recs]  # (5,5) hits the text boxes only
    table = g.summarize(rows)["breakdowns"]["split/type"]
    assert table["screenspot_mobile_v2/text"]["accuracy"] == 1.0
    assert table["screenspot_web_v2/icon"]["accuracy"] == 0.0
    assert g.summarize(rows)["breakdowns"]["data_type"]["text"]["n"] == 2


def test_evaluate_with_a_tiny_transformers_checkpoint(v2_set, tmp_path):
    """The hf policy path end to end: a tiny random Qwen2.5-VL checkpoint gets the grounding
    prompt and one screenshot per record; its nonsense answers are scored as counted misses."""
    pytest.importorskip("transformers")
    pytest.importorskip("torch")
    from tars.models.base import load_policy
    from tests.tiny_models import build_tiny_vl

    folder = build_tiny_vl(tmp_path / "tiny", family="qwen2_5_vl")
    policy = load_policy("hf", model=str(folder), profile="ui-tars-1.5", max_new_tokens=12)
    try:
        out = tmp_path / "out"
        summary = g.evaluate(g.load_dataset(v2_set), policy, out)
    finally:
        policy.close()
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert summary["n"] == 2 and len(rows) == 2
    for row in rows:
        # either a point inside the image or a miss with its reason; never a crash
        if row["point"] is None:
            assert not row["hit"] and row["error"]
        else:
            assert 0 <= row["point"][0] < 200 and 0 <= row["point"][1] < 100
    assert summary["n_no_point"] == sum(1 for r in rows if r["point"] is None)
