"""Reading the text on screen, with its boxes: rapidocr-onnxruntime (PP-OCRv4 mobile).

The detector (DB, PP-OCRv4 mobile) and the recogniser (SVTR-LCNet, PP-OCRv4 mobile) are ONNX
models that ship inside the ``rapidocr-onnxruntime`` wheel, so nothing is downloaded. They run
on the CPU through onnxruntime, or on the GPU when ``onnxruntime-gpu`` provides the CUDA
execution provider. The angle classifier is skipped: text on a desktop is never upside down.

Loading the sessions and the first inference cost seconds, so one :class:`OcrEngine` is kept
per process and per settings (:func:`get_engine`) and reused across steps, runs and policies.

Only what changed is read again: recognition (the larger cost on a busy screen, one network
pass per line) is cached per line image, keyed by a hash of its pixels, so between two steps
only the lines that appeared or changed go through the recogniser. Detection, too, runs only
where the frame changed since the previous one (:meth:`OcrEngine._changed_regions`): the
changed pixels, grown to cover the old text lines they touch, are detected again (with a
margin) and the old lines elsewhere are kept; when more than :data:`REDETECT_SHARE` of the
screen changed, the whole frame is detected again. A screenshot identical to the previous one
(same bytes) is not read at all. The full-frame detector sees the frame with its longer side
limited to ``det_side`` pixels (1920x1080 -> 1600x896 by default): UI text of 11-13 px stays
readable, and detection cost falls with area. How the two networks are run (memory arena,
one-pass normalisation, recogniser batches without PaddleOCR's 320-pixel padding) is
:mod:`.ocr_nets`'s job.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tars.models.base import PolicyError
from tars.models.lite.matching import TextBox
from tars.models.lite.ocr_nets import PADDLE_WIDTH

if TYPE_CHECKING:
    from PIL.Image import Image

#: above this share of the screen changed, detect text on the whole frame again
REDETECT_SHARE = 0.35
#: margin (pixels) around a changed region, so that text lines are seen whole
REGION_MARGIN = 12

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
    #: lines that went through the recogniser (the others came from the line cache)
    recognised: int = 0
    #: wall seconds of the detector and of the recogniser within ``seconds``
    detect_seconds: float = 0.0
    recognise_seconds: float = 0.0


class OcrEngine:
    """rapidocr-onnxruntime, loaded once.

    ``scale``: the screenshot is resized by this factor before reading (1.0 = as captured;
    0.75 reads a 1920x1080 screen at 1440x810: faster, worse on small fonts); boxes are
    mapped back to screenshot pixels. ``device``: ``auto`` (CUDA when available), ``cpu`` or
    ``cuda``. ``min_score``: see :data:`MIN_SCORE`. ``det_side``: longest side (pixels) of
    the image the detector sees. ``line_cache``: recognised line images remembered (0: no reuse between
    frames at all, every frame is detected and read whole).

    Raises:
        PolicyError: rapidocr-onnxruntime is not installed, ``device="cuda"`` without the
            CUDA provider, or ``TARS_OCR_RUNTIME`` (:data:`.ocr_nets.RUNTIME_ENV`) names an
            unknown runtime or one that does not import.
    """

    def __init__(self, scale: float = 1.0, device: str = "auto", min_score: float = MIN_SCORE,
                 det_side: int = 1600, line_cache: int = 4096):
        if not 0.2 <= scale <= 2.0:
            raise PolicyError(f"OCR scale {scale} is outside 0.2..2.0")
        try:
            import rapidocr_onnxruntime  # noqa: F401  (the models ship inside it)
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
        from tars.models.lite.ocr_nets import TextNets

        try:
            self._nets = TextNets(det_side=det_side, use_cuda=use_cuda)
        except (ValueError, ImportError) as exc:  # TARS_OCR_RUNTIME wrong, or names a broken runtime
            raise PolicyError(f"lite's OCR cannot start: {exc}") from exc
        self._lock = threading.Lock()
        self._last: tuple[str, list[TextBox]] | None = None
        self._lines: "OrderedDict[bytes, tuple[str, float]]" = OrderedDict()
        self._prev_frame = None  # the last frame detected (BGR array) and its line boxes
        self._prev_boxes: list[tuple[int, int, int, int]] = []
        #: how the last frame was detected: "full", "regions" (with their count) or "none"
        self.last_detection = "full"
        self._line_cache = line_cache
        self._timing = (0.0, 0.0)  # (detect, recognise) seconds of the last read

    def read(self, image: "Image") -> OcrResult:
        """All text lines in ``image`` (PIL, RGB) with boxes in its pixels, top to bottom."""
        import cv2
        import numpy as np

        t0 = time.perf_counter()
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        scaled = rgb
        if self.scale != 1.0:
            from PIL import Image as PILImage

            size = (max(1, round(rgb.width * self.scale)), max(1, round(rgb.height * self.scale)))
            scaled = rgb.resize(size, PILImage.Resampling.LANCZOS)
        # one copy into BGR, hashed in place: the lines depend only on these pixels (the scale
        # is fixed per engine), so equal BGR frames have equal lines
        bgr = cv2.cvtColor(np.asarray(scaled), cv2.COLOR_RGB2BGR)
        digest = hashlib.blake2b(bgr.data, digest_size=16).hexdigest()
        with self._lock:
            if self._last is not None and self._last[0] == digest:
                return OcrResult(list(self._last[1]), time.perf_counter() - t0, cached=True)
            lines, recognised = self._detect_and_read(bgr)
            lines.sort(key=lambda t: (round(t.center[1] / 8), t.box[0]))
            self._last = (digest, lines)
        return OcrResult(list(lines), time.perf_counter() - t0, recognised=recognised,
                         detect_seconds=self._timing[0], recognise_seconds=self._timing[1])

    def _changed_regions(self, bgr) -> "list[tuple[int, int, int, int]] | None":
        """Rectangles (x1, y1, x2, y2) covering what changed since the last frame, grown over
        the old text lines they touch; [] when nothing changed, None for the whole frame
        (first frame, new size, or more than :data:`REDETECT_SHARE` changed)."""
        import cv2
        import numpy as np

        prev = self._prev_frame
        if prev is None or prev.shape != bgr.shape:
            return None
        h, w = bgr.shape[:2]
        # a pixel changed when any channel differs: the channel maximum of |bgr - prev| > 0
        ch = cv2.split(cv2.absdiff(bgr, prev))
        diff = cv2.max(cv2.max(ch[0], ch[1]), ch[2])
        changed = cv2.countNonZero(diff)
        if not changed:
            return []
        if changed > REDETECT_SHARE * h * w:
            return None
        # wide kernel: the words of one line (gaps of a space or two) join into one region. The
        # dilation and the components run only on the changed pixels' bounding box grown by the
        # kernel's reach (2 rows, 10 columns): outside it the dilated mask is empty, so the
        # regions are those of the whole frame, at a fraction of the cost on a small change
        bx, by, bw, bh = cv2.boundingRect(diff)
        x0, y0 = max(0, bx - 10), max(0, by - 2)
        x1, y1 = min(w, bx + bw + 10), min(h, by + bh + 2)
        mask = (diff[y0:y1, x0:x1] > 0).astype(np.uint8)
        mask = cv2.dilate(mask, np.ones((5, 21), np.uint8))
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        regions = [(int(x + x0), int(y + y0), int(x + x0 + rw), int(y + y0 + rh)) for x, y, rw, rh, _ in stats[1:n]]
        return self._grow(regions, h, w)

    def _grow(self, regions: list[tuple[int, int, int, int]], h: int,
              w: int) -> "list[tuple[int, int, int, int]] | None":
        """``regions`` grown over the old text lines they touch and merged where they overlap;
        None when they come to cover more than :data:`REDETECT_SHARE` of the ``w`` x ``h`` frame."""
        # grow each region over the old lines it touches (a changed line is read whole) and
        # merge regions that then overlap, until nothing moves
        for _ in range(50):
            grown = []
            for r in regions:
                x1, y1, x2, y2 = r
                for b in self._prev_boxes:
                    if _overlaps(r, b):
                        x1, y1, x2, y2 = min(x1, b[0]), min(y1, b[1]), max(x2, b[2]), max(y2, b[3])
                grown.append((x1, y1, x2, y2))
            merged: list[tuple[int, int, int, int]] = []
            for g in grown:
                for i, o in enumerate(merged):
                    if _overlaps(g, o):
                        merged[i] = (min(g[0], o[0]), min(g[1], o[1]), max(g[2], o[2]), max(g[3], o[3]))
                        break
                else:
                    merged.append(g)
            if sum((r[2] - r[0]) * (r[3] - r[1]) for r in merged) > REDETECT_SHARE * h * w:
                return None
            if merged == regions:
                break
            regions = merged
        return regions

    def _detect(self, bgr) -> list[tuple[int, int, int, int]]:
        """Line boxes (x1, y1, x2, y2) in ``bgr``, re-detecting only what changed.

        A changed region is detected with a margin of :data:`REGION_MARGIN` pixels (the
        detector needs some context); old lines outside the region are kept, and lines found
        in the margin that duplicate a kept one (cut by the crop) are dropped.
        """
        import numpy as np

        h, w = bgr.shape[:2]

        def detect(img, dx=0, dy=0):
            out = []
            for quad in self._nets.detect(img):
                xs = [p[0] + dx for p in quad]
                ys = [p[1] + dy for p in quad]
                x1, y1 = max(0, int(min(xs))), max(0, int(min(ys)))
                x2, y2 = min(w, int(round(max(xs)))), min(h, int(round(max(ys))))
                if x2 - x1 >= 2 and y2 - y1 >= 2:
                    out.append((x1, y1, x2, y2))
            return out

        regions = self._changed_regions(bgr) if self._line_cache else None
        if regions is None:
            boxes = detect(bgr)
            self.last_detection = "full"
        else:
            kept = [b for b in self._prev_boxes if not any(_overlaps(b, r) for r in regions)]
            boxes = list(kept)
            m = REGION_MARGIN
            crops: list[tuple[int, int, int, int]] = []
            for r in regions:  # crops with their margins, merged where they overlap
                c = (max(0, r[0] - m), max(0, r[1] - m), min(w, r[2] + m), min(h, r[3] + m))
                while True:
                    hit = next((o for o in crops if _overlaps(c, o)), None)
                    if hit is None:
                        break
                    crops.remove(hit)
                    c = (min(c[0], hit[0]), min(c[1], hit[1]), max(c[2], hit[2]), max(c[3], hit[3]))
                crops.append(c)
            for x1, y1, x2, y2 in crops:
                for b in detect(bgr[y1:y2, x1:x2], x1, y1):
                    if not any(_overlaps(b, k) for k in kept):
                        boxes.append(b)
            self.last_detection = f"regions {len(regions)}" if regions else "none"
        if self._prev_frame is not None and self._prev_frame.shape == bgr.shape:
            np.copyto(self._prev_frame, bgr)  # memory already touched: a fresh copy costs page faults here
        else:
            self._prev_frame = bgr.copy()
        self._prev_boxes = boxes
        return boxes

    @staticmethod
    def _separate(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
        """Boxes of lines stacked closely overlap by a few rows (the detector pads each box);
        the recogniser then sees the top or bottom of the neighbouring line and misreads
        (``File`` -> ``Eile`` over a line of text). Split such overlaps in the middle."""
        out = [list(b) for b in boxes]
        for a in out:
            for b in out:
                if a is b or not (a[0] < b[2] and b[0] < a[2]):
                    continue
                if a[1] < b[1] < a[3] <= b[3]:  # b starts inside a, below a's top
                    overlap = a[3] - b[1]
                    if overlap < 0.4 * min(a[3] - a[1], b[3] - b[1]):
                        mid = b[1] + overlap // 2
                        a[3], b[1] = mid, mid
        return [tuple(b) for b in out if b[3] - b[1] >= 2]  # type: ignore[misc]

    def _detect_and_read(self, bgr) -> tuple[list[TextBox], int]:
        """Detect line boxes (only where the frame changed), recognise the lines not seen before."""
        t0 = time.perf_counter()
        boxes = self._separate(self._detect(bgr))
        t1 = time.perf_counter()
        crops, keys, rects = [], [], []
        for x1, y1, x2, y2 in boxes:
            crop = bgr[y1:y2, x1:x2]
            keys.append(hashlib.blake2b(crop.tobytes(), digest_size=16,
                                   person=f"{x2 - x1}x{y2 - y1}".encode()[:16]).digest())
            crops.append(crop)
            rects.append((x1, y1, x2, y2))
        todo = [i for i, k in enumerate(keys) if k not in self._lines]
        if todo:
            texts = self._nets.recognize([crops[i] for i in todo])
            for i, res in zip(todo, texts):
                self._lines[keys[i]] = (str(res[0]), float(res[1]))
        lines = []
        for key, (x1, y1, x2, y2) in zip(keys, rects):
            text, score = self._lines[key]
            self._lines.move_to_end(key)
            if score < self.min_score or not text.strip():
                continue
            s = self.scale
            lines.append(TextBox(text, (x1 / s, y1 / s, x2 / s, y2 / s), score))
        while len(self._lines) > self._line_cache:
            self._lines.popitem(last=False)
        self._timing = (t1 - t0, time.perf_counter() - t1)
        return lines, len(todo)


    def recognize(self, crops: list) -> list[tuple[str, float]]:
        """Recognise already-cut line images (BGR arrays, one line of text each) without
        detection: ``(text, confidence 0..1)`` per crop. lite uses it for keys whose lone glyph
        the detector does not find (issue 17: a calculator's "7") and for a field's own cut.
        These crops are padded as PaddleOCR pads them (:data:`.ocr_nets.PADDLE_WIDTH`)."""
        if not crops:
            return []
        with self._lock:
            return self._nets.recognize(list(crops), min_width=PADDLE_WIDTH)


def _overlaps(a, b) -> bool:
    """True when boxes ``a`` and ``b`` (x1, y1, x2, y2; ends exclusive) share a pixel."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


_ENGINES: dict[tuple, OcrEngine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(scale: float = 1.0, device: str = "auto", min_score: float = MIN_SCORE,
               det_side: int = 1600, line_cache: int = 4096) -> OcrEngine:
    """The process-wide :class:`OcrEngine` for these settings (built on first use)."""
    key = (float(scale), device, float(min_score), int(det_side), int(line_cache))
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = OcrEngine(scale, device, min_score, det_side, line_cache)
        return engine
