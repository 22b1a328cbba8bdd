"""Reading the text on screen, with its boxes: rapidocr-onnxruntime (PP-OCRv4 mobile).

The detector (DB, PP-OCRv4 mobile) and the recogniser (SVTR-LCNet, PP-OCRv4 mobile) are ONNX
models that ship inside the ``rapidocr-onnxruntime`` wheel, so nothing is downloaded. They run
on the CPU through onnxruntime, or on the GPU when ``onnxruntime-gpu`` provides the CUDA
execution provider. The angle classifier is skipped: text on a desktop is never upside down.

Loading the sessions and the first inference cost seconds, so one :class:`OcrEngine` is kept
per process and per settings (:func:`get_engine`) and reused across steps, runs and policies.
A screenshot identical to the previous one (same bytes) is not read twice.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.base import PolicyError
from models.lite.matching import TextBox

if TYPE_CHECKING:
    from PIL.Image import Image

#: lines the recogniser is less sure of than this (0..1) are dropped (window-button glyphs)
MIN_SCORE = 0.6


def cuda_available() -> bool:
    """True when onnxruntime offers the CUDA execution provider (``onnxruntime-gpu``)."""
    try:
        import onnxruntime
    except ImportError:
        return False
    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


@dataclass
class OcrResult:
    """Lines found in one screenshot and how long reading took (``seconds``, wall time)."""

    lines: list[TextBox]
    seconds: float
    cached: bool = False


class OcrEngine:
    """rapidocr-onnxruntime, loaded once.

    ``scale``: the screenshot is resized by this factor before reading (1.0 = as captured;
    0.75 reads a 1920x1080 screen at 1440x810: faster, worse on small fonts); boxes are
    mapped back to screenshot pixels. ``device``: ``auto`` (CUDA when available), ``cpu`` or
    ``cuda``. ``min_score``: see :data:`MIN_SCORE`.

    Raises:
        PolicyError: rapidocr-onnxruntime is not installed, or ``device="cuda"`` without the
            CUDA provider.
    """

    def __init__(self, scale: float = 1.0, device: str = "auto", min_score: float = MIN_SCORE):
        if not 0.2 <= scale <= 2.0:
            raise PolicyError(f"OCR scale {scale} is outside 0.2..2.0")
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise PolicyError(f'lite needs rapidocr-onnxruntime ({exc}); pip install "tars[lite]"') from exc
        has_cuda = cuda_available()
        if device == "cuda" and not has_cuda:
            raise PolicyError("OCR device 'cuda' asked for, but onnxruntime has no CUDAExecutionProvider "
                              "(pip install onnxruntime-gpu)")
        if device not in ("auto", "cpu", "cuda"):
            raise PolicyError(f"OCR device {device!r} is not auto, cpu or cuda")
        self.device = "cuda" if (device == "cuda" or (device == "auto" and has_cuda)) else "cpu"
        use_cuda = self.device == "cuda"
        self.scale = scale
        self.min_score = min_score
        self._ocr = RapidOCR(use_cls=False, det_use_cuda=use_cuda, rec_use_cuda=use_cuda,
                             print_verbose=False)
        self._lock = threading.Lock()
        self._last: tuple[str, list[TextBox]] | None = None

    def read(self, image: "Image") -> OcrResult:
        """All text lines in ``image`` (PIL, RGB) with boxes in its pixels, top to bottom."""
        import numpy as np

        t0 = time.perf_counter()
        rgb = image.convert("RGB")
        digest = hashlib.blake2b(rgb.tobytes(), digest_size=16).hexdigest()
        with self._lock:
            if self._last is not None and self._last[0] == digest:
                return OcrResult(list(self._last[1]), time.perf_counter() - t0, cached=True)
            scaled = rgb
            if self.scale != 1.0:
                from PIL import Image as PILImage

                size = (max(1, round(rgb.width * self.scale)), max(1, round(rgb.height * self.scale)))
                scaled = rgb.resize(size, PILImage.Resampling.LANCZOS)
            bgr = np.ascontiguousarray(np.asarray(scaled)[:, :, ::-1])
            raw, _ = self._ocr(bgr, use_cls=False)
            lines: list[TextBox] = []
            for quad, text, score in raw or []:
                if float(score) < self.min_score or not str(text).strip():
                    continue
                xs = [p[0] / self.scale for p in quad]
                ys = [p[1] / self.scale for p in quad]
                lines.append(TextBox(str(text), (min(xs), min(ys), max(xs), max(ys)), float(score)))
            lines.sort(key=lambda t: (round(t.center[1] / 8), t.box[0]))
            self._last = (digest, lines)
        return OcrResult(list(lines), time.perf_counter() - t0)


_ENGINES: dict[tuple, OcrEngine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(scale: float = 1.0, device: str = "auto", min_score: float = MIN_SCORE) -> OcrEngine:
    """The process-wide :class:`OcrEngine` for these settings (built on first use)."""
    key = (float(scale), device, float(min_score))
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = OcrEngine(scale, device, min_score)
        return engine
