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
