"""lite's OCR engine on drawn screens: it reads, it re-reads only what changed and still
agrees with a fresh full read, and bad settings are refused clearly."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from tars.models.base import PolicyError
from tars.models.lite.ocr import OcrEngine, cuda_available

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
WORDS = ["Open file", "Save changes", "Preferences", "Help center", "Quit now"]


def screen(extra: str | None = None) -> Image.Image:
    img = Image.new("RGB", (800, 500), (240, 240, 240))
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 15)
    for i, word in enumerate(WORDS):
        d.text((40, 30 + 40 * i), word, fill="black", font=font)
    if extra:
        d.text((400, 400), extra, fill="black", font=font)
    return img


def texts(result) -> list[str]:
    return sorted(line.text.strip() for line in result.lines)


def test_reads_text_with_boxes():
    engine = OcrEngine()
    result = engine.read(screen())
    assert texts(result) == sorted(WORDS)
    box = next(line.box for line in result.lines if line.text.strip() == "Preferences")
    assert 30 <= box[0] <= 45 and 105 <= (box[1] + box[3]) / 2 <= 125


def test_only_the_changed_part_is_read_again():
    engine = OcrEngine()
    engine.read(screen())
    again = engine.read(screen().copy())
    assert again.cached  # same pixels: not read at all
    changed = engine.read(screen("Unsaved work"))
    assert engine.last_detection == "regions 1" and changed.recognised == 1
    assert texts(changed) == texts(OcrEngine(line_cache=0).read(screen("Unsaved work")))


def test_bad_settings_are_refused():
    with pytest.raises(PolicyError, match="scale"):
        OcrEngine(scale=5)
    with pytest.raises(PolicyError, match="device"):
        OcrEngine(device="tpu")
    if not cuda_available():
        with pytest.raises(PolicyError, match="onnxruntime-gpu"):
            OcrEngine(device="cuda")


def test_read_says_how_long_detection_and_recognition_took():
    engine = OcrEngine(line_cache=0)
    result = engine.read(screen())
    assert result.recognised >= len(result.lines) > 0
    assert 0 < result.detect_seconds and 0 < result.recognise_seconds
    assert result.detect_seconds + result.recognise_seconds <= result.seconds
    again = engine.read(screen())  # the same bytes: served from the last read, nothing run
    assert again.cached and again.detect_seconds == again.recognise_seconds == 0


def _regions_whole_frame(engine, bgr):
    """The changed regions computed on the whole frame (numpy compare, full-size dilation and
    components), the reference for the cropped computation in ``OcrEngine._changed_regions``."""
    import cv2
    import numpy as np

    from tars.models.lite import ocr

    prev = engine._prev_frame
    diff = np.any(bgr != prev, axis=2).astype(np.uint8)
    if not diff.any():
        return []
    h, w = diff.shape
    if np.count_nonzero(diff) > ocr.REDETECT_SHARE * h * w:
        return None
    diff = cv2.dilate(diff, np.ones((5, 21), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(diff)
    first = [(int(x), int(y), int(x + bw), int(y + bh)) for x, y, bw, bh, _ in stats[1:n]]
    # the same growth over old lines, by the engine itself from these first regions
    return engine._grow(first, h, w)


def test_changed_regions_equal_the_whole_frame_computation():
    import numpy as np

    from tars.assets import grounding

    folder = next(iter(grounding.__path__))
    base = np.asarray(Image.open(f"{folder}/images/notes-editor.png").convert("RGB"))[:, :, ::-1].copy()
    engine = OcrEngine()
    engine._prev_frame = base.copy()
    engine._prev_boxes = [(30, 40, 200, 60), (30, 70, 400, 90), (500, 300, 700, 320)]
    rng = np.random.default_rng(5)
    h, w = base.shape[:2]
    cases = 0
    for k in range(12):
        frame = base.copy()
        for _ in range(1 + k % 4):  # a few changed patches: a caret, a word, a block, an edge
            pw, ph = int(rng.integers(1, 160)), int(rng.integers(1, 40))
            x, y = int(rng.integers(0, w - 1)), int(rng.integers(0, h - 1))
            if k % 5 == 0:
                x, y = 0, h - ph  # touching the frame's border
            frame[y:y + ph, x:x + pw, int(rng.integers(0, 3))] ^= 1  # a change of one level in one channel
        assert engine._changed_regions(frame) == _regions_whole_frame(engine, frame)
        cases += 1
    assert engine._changed_regions(base.copy()) == []
    noise = base ^ 7
    assert engine._changed_regions(noise) is None  # all of it changed
    assert cases == 12
