"""lite's OCR networks (models/lite/ocr_nets.py) against rapidocr-onnxruntime's own pipeline.

With the departures turned off (no downscaling, PaddleOCR's 320-pixel padding) the boxes and
texts must equal rapidocr's; with them on, the detector must see at most ``det_side`` pixels
and still give boxes in the caller's pixels, and the less padded recogniser must read the
shipped screenshots as the padded one does (issue 15).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tars.models.lite.matching import normalize

pytest.importorskip("rapidocr_onnxruntime")
cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")

IMAGES = Path(__file__).resolve().parents[1] / "assets" / "grounding" / "images"


def _bgr(name: str):
    from PIL import Image

    return cv2.cvtColor(np.asarray(Image.open(IMAGES / name).convert("RGB")), cv2.COLOR_RGB2BGR)


def _crops(bgr, quads):
    out = []
    for q in quads:
        x1, y1, x2, y2 = int(q[:, 0].min()), int(q[:, 1].min()), int(q[:, 0].max()), int(q[:, 1].max())
        if x2 - x1 > 2 and y2 - y1 > 2:
            out.append(bgr[y1:y2, x1:x2])
    return out


@pytest.fixture(scope="module")
def reference():
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR(use_cls=False, print_verbose=False, det_limit_type="max", det_limit_side_len=4000)


@pytest.fixture(scope="module")
def paddle_like():
    from tars.models.lite.ocr_nets import TextNets

    return TextNets(det_side=4000, rec_min_width=320, runtime="onnxruntime")


@pytest.fixture(scope="module")
def nets():
    from tars.models.lite.ocr_nets import TextNets

    return TextNets(det_side=1600)


@pytest.mark.parametrize("name", ["signup-form.png", "settings-general.png"])
def test_equal_to_rapidocr_with_its_settings(reference, paddle_like, name):
    bgr = _bgr(name)
    ref_quads, _ = reference(bgr, use_det=True, use_cls=False, use_rec=False)
    quads = paddle_like.detect(bgr)
    assert len(quads) == len(ref_quads) > 5
    assert np.abs(np.array(quads) - np.array(ref_quads)).max() <= 1e-3
    crops = _crops(bgr, quads)
    ref_texts, _ = reference.text_rec(crops)
    texts = paddle_like.recognize(crops)
    assert [t for t, _ in texts] == [t for t, _ in ref_texts]
    assert max(abs(a[1] - b[1]) for a, b in zip(texts, ref_texts)) < 1e-3


def test_sessions_keep_their_memory_arena(paddle_like):
    for session in (paddle_like.ocr.text_det.infer.session, paddle_like.ocr.text_rec.session.session):
        assert session.get_session_options().enable_cpu_mem_arena


@pytest.mark.needs("openvino")
def test_openvino_is_the_default_and_reads_as_onnxruntime_does():
    """The same networks on OpenVINO (float32) give onnxruntime's boxes and texts: every
    shipped screenshot, at lite's own settings."""
    from tars.models.lite.ocr_nets import TextNets

    ov, ort = TextNets(), TextNets(runtime="onnxruntime")
    assert ov.runtime == "openvino" and ort.runtime == "onnxruntime"
    for path in sorted(IMAGES.glob("*.png")):
        bgr = _bgr(path.name)
        quads, ref_quads = ov.detect(bgr), ort.detect(bgr)
        assert len(quads) == len(ref_quads) > 0, path.name
        assert np.abs(np.array(quads) - np.array(ref_quads)).max() <= 1e-3, path.name
        crops = _crops(bgr, ref_quads)
        texts, ref_texts = ov.recognize(crops), ort.recognize(crops)
        assert [t for t, _ in texts] == [t for t, _ in ref_texts], path.name
        assert max(abs(a[1] - b[1]) for a, b in zip(texts, ref_texts)) < 1e-3, path.name


def test_unknown_or_impossible_runtime_is_refused():
    from tars.models.lite.ocr_nets import TextNets

    with pytest.raises(ValueError, match="not one of openvino, onnxruntime"):
        TextNets(runtime="tensorrt")
    with pytest.raises(ValueError, match="CPU only"):
        TextNets(runtime="openvino", use_cuda=True)


def test_det_side_limits_what_the_detector_sees_and_boxes_come_back_in_image_pixels(paddle_like):
    from tars.models.lite.ocr_nets import TextNets

    small = _bgr("signup-form.png")  # 1024x640
    big = cv2.resize(small, (2048, 1280), interpolation=cv2.INTER_NEAREST)
    limited = TextNets(det_side=1024)
    assert max(limited._det_input(big).shape[2:]) <= 1024
    want = sorted((float(q[:, 0].min()) * 2, float(q[:, 1].min()) * 2) for q in paddle_like.detect(small))
    got = sorted((float(q[:, 0].min()), float(q[:, 1].min())) for q in limited.detect(big))
    assert len(got) == len(want)
    # each box of the full-size read has its twin, scaled back, in the limited read
    assert max(min(abs(a[0] - b[0]) + abs(a[1] - b[1]) for a in got) for b in want) <= 8


@pytest.mark.parametrize("name", sorted(p.name for p in IMAGES.glob("*.png")))
def test_less_padded_recogniser_reads_as_the_padded_one(nets, paddle_like, name):
    bgr = _bgr(name)
    crops = _crops(bgr, paddle_like.detect(bgr))
    padded = paddle_like.recognize(crops)
    unpadded = nets.recognize(crops)
    confident = [(a, b) for a, b in zip(padded, unpadded) if a[1] >= 0.8]
    assert confident
    same = sum(normalize(a[0]) == normalize(b[0]) for a, b in confident)
    assert same >= 0.9 * len(confident), [(a[0], b[0]) for a, b in confident if normalize(a[0]) != normalize(b[0])]


def test_hand_made_cuts_get_paddleocrs_padding(paddle_like):
    """Lone glyphs and field cuts (OcrEngine.recognize) are read exactly as PaddleOCR pads them:
    without the padding a calculator's "=" key was not read (held-out suite)."""
    from tars.models.lite.ocr import OcrEngine
    from tars.models.lite.ocr_nets import TextNets

    bgr = _bgr("settings-general.png")
    crops = _crops(bgr, paddle_like.detect(bgr))
    engine = OcrEngine(line_cache=0)
    padded = TextNets(rec_min_width=320, runtime=engine._nets.runtime)  # the same runtime's numbers
    assert engine.recognize(crops) == padded.recognize(crops)


def _tars(args, env_extra, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, **env_extra}
    root = Path(__file__).resolve().parents[1]
    return subprocess.run([sys.executable, "-m", "tars", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def _grounding_subset(tmp_path) -> Path:
    import json

    from tars.evals.grounding import load_dataset

    root = IMAGES.parent
    subset = [r.raw for r in load_dataset(root) if r.raw["img_filename"] == "signup-form.png"][:3]
    (tmp_path / "images").mkdir(parents=True)
    (tmp_path / "images" / "signup-form.png").write_bytes((IMAGES / "signup-form.png").read_bytes())
    (tmp_path / "set.json").write_text(json.dumps(subset))
    return tmp_path / "set.json"


def test_an_openvino_that_does_not_import_is_passed_over_for_onnxruntime(tmp_path):
    """An installed openvino whose import fails (its shared library missing: here a package of
    that name that raises on import, first on the path) must not stop lite: it reads on
    onnxruntime, and the run's versions still say what was installed."""
    import json
    import os

    broken = tmp_path / "broken" / "openvino"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text(
        'raise ImportError("libopenvino.so.2641: cannot open shared object file")\n')
    path = os.pathsep.join([str(tmp_path / "broken"), os.environ.get("PYTHONPATH", "")])
    out = tmp_path / "out"
    r = _tars(["eval", "grounding", str(_grounding_subset(tmp_path)), "--out", str(out)],
              {"PYTHONPATH": path}, tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "summary.json").read_text())["n"] == 3
    # forced onto the broken runtime by hand: the evaluation stops with one line naming it
    r = _tars(["eval", "grounding", str(_grounding_subset(tmp_path / "again")), "--out", str(tmp_path / "o2")],
              {"PYTHONPATH": path, "TARS_OCR_RUNTIME": "openvino"}, tmp_path)
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 1 and "lite's OCR cannot start" in last and "libopenvino" in last, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr


def test_the_runtime_can_be_chosen_by_environment(monkeypatch):
    from tars.models.lite.ocr_nets import RUNTIME_ENV, TextNets, default_runtime

    monkeypatch.setenv(RUNTIME_ENV, "onnxruntime")
    assert default_runtime() == "onnxruntime" and TextNets().runtime == "onnxruntime"
    monkeypatch.setenv(RUNTIME_ENV, "tensorrt")
    with pytest.raises(ValueError, match="TARS_OCR_RUNTIME='tensorrt' is not one of"):
        default_runtime()
