"""Frame handling on the loop's critical path: BGRA -> RGB conversion and frame comparison.

The fast implementations are checked against the plain ones they replace (Pillow's
``frombuffer`` with the BGRX decoder; numpy's per-pixel compare), on random frames.
Speed itself is measured in benchmarks/bench_observe.py and bench_loop.py, not here.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tars.agent.guard import changed_pixels, screen_changed
from tars.desktop.capture import bgra_to_rgb, recycle_frame_memory


def reference_changed(a: Image.Image, b: Image.Image) -> int:
    diff = np.asarray(a) != np.asarray(b)
    return int(np.count_nonzero(diff.any(axis=2) if diff.ndim == 3 else diff))


@pytest.mark.parametrize("size", [(1, 1), (7, 3), (640, 401)])
def test_bgra_to_rgb_equals_pillows_bgrx_decoder(size):
    rng = np.random.default_rng(sum(size))
    raw = bytearray(rng.integers(0, 256, size[0] * size[1] * 4, dtype=np.uint8).tobytes())
    image = bgra_to_rgb(raw, size)
    expected = Image.frombuffer("RGB", size, bytes(raw), "raw", "BGRX", 0, 1)
    assert image.mode == "RGB" and image.size == size
    assert image.tobytes() == expected.tobytes()
    b, g, r, _ = raw[:4]
    assert image.getpixel((0, 0)) == (r, g, b)


def test_bgra_to_rgb_refuses_a_short_buffer():
    with pytest.raises(ValueError, match="needs 64 bytes"):
        bgra_to_rgb(bytearray(60), (4, 4))


def test_recycle_frame_memory_never_lowers_a_larger_setting():
    core = Image.core
    before = core.get_blocks_max()
    try:
        core.set_blocks_max(40)
        recycle_frame_memory(8)
        assert core.get_blocks_max() == 40
        core.set_blocks_max(0)
        recycle_frame_memory(8)
        assert core.get_blocks_max() == 8
    finally:
        core.set_blocks_max(before)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "I"])
def test_changed_pixels_counts_like_numpy(mode):
    rng = np.random.default_rng(len(mode))
    for trial in range(30):
        w, h = int(rng.integers(1, 90)), int(rng.integers(1, 60))
        bands = {"RGB": 3, "RGBA": 4, "L": 1, "I": 1}[mode]
        shape = (h, w, bands) if bands > 1 else (h, w)
        dtype = np.int32 if mode == "I" else np.uint8
        a = rng.integers(0, 256, shape, dtype=dtype)
        b = a.copy()
        n = int(rng.integers(0, w * h + 1)) if trial % 3 else int(rng.integers(0, 4))
        ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
        if bands > 1:  # change one band only at some pixels: any band counts
            b[ys, xs, rng.integers(0, bands, n)] ^= 1
        else:
            b[ys, xs] ^= 1
        ia, ib = Image.fromarray(a), Image.fromarray(b)
        assert ia.mode == ib.mode == mode
        assert changed_pixels(ia, ib) == reference_changed(ia, ib)


def test_changed_pixels_refuses_different_sizes_or_modes():
    with pytest.raises(ValueError):
        changed_pixels(Image.new("RGB", (4, 4)), Image.new("RGB", (4, 5)))
    with pytest.raises(ValueError):
        changed_pixels(Image.new("RGB", (4, 4)), Image.new("L", (4, 4)))


def test_screen_changed_threshold_is_exact_at_32_pixels():
    base = Image.new("RGB", (100, 100), "white")
    for n, changed in ((32, False), (33, True)):
        other = base.copy()
        for i in range(n):
            other.putpixel((i % 100, i // 100 * 7), (0, 0, 0))
        assert screen_changed(base, other) is changed
    assert screen_changed(base, base.convert("RGBA")) is False  # a mode change alone is not
