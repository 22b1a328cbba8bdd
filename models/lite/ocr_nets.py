"""The two PP-OCR networks that ship in ``rapidocr-onnxruntime``, run for speed on a desktop.

:class:`TextNets` detects text lines (DB, PP-OCRv4 mobile) and recognises line images
(SVTR-LCNet, PP-OCRv4 mobile) with rapidocr's own models and its own pre- and post-processing
steps (letterbox, DB box extraction, CTC decoding), and departs from rapidocr 1.4 in five
measured places (issue 15, 1920x1080 busy desktop, 2 cores; figures in docs/lite.md):

* **OpenVINO runs the same ONNX files, in float32, when it is installed** (the ``lite`` extra
  installs it; onnxruntime otherwise, and always for CUDA). Interleaved on the benchmark's
  busy 1080p screen: detector 176 -> 125 ms, recogniser (132 lines) 814 -> 414 ms, with the
  same boxes and texts and confidences within 1e-4. ``INFERENCE_PRECISION_HINT`` is pinned to
  f32: OpenVINO's default on CPUs with AVX-512 BF16 is bfloat16, which was faster again
  (82 / 273 ms) but changed 5 of 132 texts ("To-do list" read "To-dlo list").

* **Memory arena on.** rapidocr builds its sessions with ``enable_cpu_mem_arena = False``, so
  every detector run maps its activations afresh (above glibc's 32 MB mmap threshold); on a
  virtual machine the first touch of fresh memory costs 1-5 ms per MB. With the arena kept the
  detector step fell from ~530 to ~390 ms. Outputs are the same (same kernels, same inputs).
* **The detector's size limit is honoured.** rapidocr's ``limit_type="max"`` ignores the limit
  it is given (any image of 1500-2000 px is detected at full size); here the longer side is
  limited to ``det_side`` as documented (1920x1080 -> 1600x896, detector ~0.64x the work).
* **Input normalisation in one OpenCV pass** (``cv2.dnn.blobFromImage``) instead of numpy in
  float64: ~50 ms -> ~10 ms at 1920x1080. Values equal to float32 rounding.
* **Recogniser batches padded to their widest line and at least 192 px, not 320 px.** PaddleOCR
  pads every batch to at least 48x320 (``rec_img_shape``); UI lines are short (median aspect
  4.4), so much of that work is padding: recognition of ~124 lines fell by about 40 %. The
  texts are not always byte-equal to the padded ones (the network's context differs), and a
  short caption's confidence falls with its padding (see :data:`REC_MIN_WIDTH`; unpadded, Tk's
  "OK" fell under lite's cut and a message box went unseen in the held-out suite).
  ``rec_min_width=320`` restores PaddleOCR's padding (the differential tests use it to compare
  with rapidocr byte for byte); hand-made cuts (lone glyphs) always get it.

Not thread-safe: the caller (:class:`tars.models.lite.ocr.OcrEngine`) holds a lock.
"""

from __future__ import annotations

import math
from typing import Any

#: PaddleOCR's recogniser input height (``rec_img_shape`` [3, 48, 320]), pixels
REC_HEIGHT = 48
#: PaddleOCR's least padded recogniser width (``rec_img_shape`` [3, 48, 320]), pixels
PADDLE_WIDTH = 320
#: the least padded width lite's own line reading uses, pixels (aspect 4): less padding costs
#: confidence on short captions (Tk's "OK": 0.75 at 320, 0.66 at 192, 0.46 unpadded, under
#: lite's 0.6 cut), more costs time (busy 1080p: 0.98 s at 320, 0.59 s at 192, 0.48 s at 0)
REC_MIN_WIDTH = 192
#: lines per recogniser batch (rapidocr's ``rec_batch_num``; larger batches were slower here)
REC_BATCH = 6


#: the runtimes :class:`TextNets` can run the networks on
RUNTIMES = ("openvino", "onnxruntime")


#: environment variable that picks the runtime by hand (one of :data:`RUNTIMES`)
RUNTIME_ENV = "TARS_OCR_RUNTIME"


def default_runtime(use_cuda: bool = False) -> str:
    """The runtime :class:`TextNets` uses when none is given: :data:`RUNTIME_ENV` when set,
    else ``"openvino"`` when the CPU is wanted and openvino imports, else ``"onnxruntime"``
    (rapidocr's own runtime, the only one with the CUDA provider here). An openvino that is
    installed but does not import (a missing shared library, a wheel for another CPU) is
    passed over, not an error: lite still reads the screen, on onnxruntime.

    Raises:
        ValueError: :data:`RUNTIME_ENV` names no runtime of :data:`RUNTIMES`.
    """
    import os

    chosen = os.environ.get(RUNTIME_ENV, "").strip()
    if chosen:
        if chosen not in RUNTIMES:
            raise ValueError(f"{RUNTIME_ENV}={chosen!r} is not one of {', '.join(RUNTIMES)}")
        return chosen
    if use_cuda:
        return "onnxruntime"
    try:
        import openvino  # noqa: F401 - importing it is the test
    except Exception:  # ImportError, OSError from its shared libraries
        return "onnxruntime"
    return "openvino"


class OpenVinoNet:
    """One of rapidocr's ONNX networks compiled by OpenVINO for the CPU, called like rapidocr's
    ``OrtInferSession``: ``net(x)`` with ``x`` a float32 NCHW array (any batch, height and width
    the model allows) returns ``[output]``, a list holding the model's one output array (a
    copy: the request's buffer is reused by the next call).

    Float32 throughout (``INFERENCE_PRECISION_HINT``), the latency performance hint. Not
    thread-safe (one infer request).

    Raises:
        ImportError: openvino is not installed; RuntimeError: OpenVINO cannot read the model.
    """

    def __init__(self, model_path: str):
        import openvino

        self.model_path = str(model_path)
        core = openvino.Core()
        self._compiled = core.compile_model(self.model_path, "CPU", {
            "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"})
        self._request = self._compiled.create_infer_request()

    def __call__(self, x: Any) -> list:
        self._request.infer({0: x}, share_inputs=True)
        return [self._request.get_output_tensor(0).data.copy()]


def _arena_session(old: Any) -> Any:
    """A copy of rapidocr's ``OrtInferSession.session`` (same model file, same execution
    providers and thread settings) with onnxruntime's CPU memory arena turned on."""
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    opts.log_severity_level = 4
    opts.enable_cpu_mem_arena = True
    opts.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(old._model_path, sess_options=opts, providers=old.get_providers())


class TextNets:
    """rapidocr's detector and recogniser with the settings in the module docstring.

    ``det_side``: the longest side (pixels) of the image the detector sees (larger images are
    scaled down, then the boxes scaled back). ``use_cuda``: onnxruntime's CUDA provider.
    ``rec_min_width``: the least padded width of a recogniser batch (0: the batch's widest line;
    320: PaddleOCR's rule; :data:`REC_MIN_WIDTH` by default). ``runtime``: one of
    :data:`RUNTIMES`, or None for :func:`default_runtime`; :attr:`runtime` says which runs.

    Raises:
        ImportError: rapidocr-onnxruntime (or the openvino asked for) is not installed;
        ValueError: an unknown ``runtime``, or openvino asked for together with CUDA.
    """

    def __init__(self, det_side: int = 1600, use_cuda: bool = False, rec_min_width: int = REC_MIN_WIDTH,
                 runtime: str | None = None):
        from rapidocr_onnxruntime import RapidOCR

        runtime = runtime or default_runtime(use_cuda)
        if runtime not in RUNTIMES:
            raise ValueError(f"OCR runtime {runtime!r} is not one of {', '.join(RUNTIMES)}")
        if runtime == "openvino" and use_cuda:
            raise ValueError("the openvino OCR runtime runs on the CPU only; use onnxruntime for CUDA")
        self.runtime = runtime
        self.ocr = RapidOCR(use_cls=False, det_use_cuda=use_cuda, rec_use_cuda=use_cuda,
                            print_verbose=False)
        det, rec = self.ocr.text_det, self.ocr.text_rec
        if runtime == "openvino":  # same model files, called the way rapidocr calls its sessions
            det.infer = OpenVinoNet(det.infer.session._model_path)
            rec.session = OpenVinoNet(rec.session.session._model_path)
        elif not use_cuda:  # the CUDA provider keeps its own arena already
            for runner in (det.infer, rec.session):
                runner.session = _arena_session(runner.session)
        self.det_side = int(det_side)
        self.rec_min_width = int(rec_min_width)

    # -- detection --------------------------------------------------------------------------------
    def _det_input(self, img):
        """``img`` (BGR, HxWx3 uint8) as the detector's input: scaled so that its longer side is
        at most ``det_side``, both sides rounded to multiples of 32 (the network's stride), then
        (x / 255 - 0.5) / 0.5 per channel, NCHW float32 (rapidocr's DetPreProcess, in one pass)."""
        import cv2

        h, w = img.shape[:2]
        ratio = min(1.0, self.det_side / max(h, w))
        rh = max(32, int(round(int(h * ratio) / 32) * 32))
        rw = max(32, int(round(int(w * ratio) / 32) * 32))
        resized = img if (rh, rw) == (h, w) else cv2.resize(img, (rw, rh))
        return cv2.dnn.blobFromImage(resized, scalefactor=1 / 127.5, mean=(127.5, 127.5, 127.5))

    def detect(self, img) -> list:
        """Text line quadrilaterals in ``img`` (BGR array), each a 4x2 float array of corner
        points in ``img`` pixels (clockwise from top left), in rapidocr's reading order; [] when
        there is no text. Small or very wide images are letterboxed first, as rapidocr does."""
        ocr, det = self.ocr, self.ocr.text_det
        raw_h, raw_w = img.shape[:2]
        img, ratio_h, ratio_w = ocr.preprocess(img)
        record: dict = {"preprocess": {"ratio_h": ratio_h, "ratio_w": ratio_w}}
        img, record = ocr.maybe_add_letterbox(img, record)
        preds = det.infer(self._det_input(img))[0]
        boxes, _ = det.postprocess_op(preds, img.shape[:2])
        boxes = det.filter_tag_det_res(boxes, img.shape[:2])
        if len(boxes) == 0:
            return []
        return list(ocr._get_origin_points(ocr.sorted_boxes(boxes), record, raw_h, raw_w))

    # -- recognition ------------------------------------------------------------------------------
    def recognize(self, crops: list, min_width: int | None = None) -> list[tuple[str, float]]:
        """Texts of line images ``crops`` (BGR arrays, one line each): ``(text, confidence
        0..1)`` per crop, in the order given. Lines are sorted by aspect ratio and recognised in
        batches of :data:`REC_BATCH`, each padded to its widest line and to at least
        ``min_width`` pixels (None: ``rec_min_width``; :data:`PADDLE_WIDTH` for lone glyphs
        and other cuts made by hand, which lose confidence without PaddleOCR's padding: a
        calculator's "=" key went unread)."""
        if min_width is None:
            min_width = self.rec_min_width
        import numpy as np

        if not crops:
            return []
        rec = self.ocr.text_rec
        ratios = [c.shape[1] / float(c.shape[0]) for c in crops]
        order = np.argsort(np.array(ratios), kind="stable")
        out: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        for start in range(0, len(crops), REC_BATCH):
            batch = [int(i) for i in order[start:start + REC_BATCH]]
            widest = max(ratios[i] for i in batch)
            width = max(min_width, int(REC_HEIGHT * widest))
            x = np.zeros((len(batch), 3, REC_HEIGHT, width), np.float32)
            for row, i in enumerate(batch):
                self._rec_input(crops[i], ratios[i], x[row])
            for i, res in zip(batch, rec.postprocess_op(rec.session(x)[0])):
                out[i] = (str(res[0]), float(res[1]))
        return out

    @staticmethod
    def _rec_input(crop, ratio: float, into) -> None:
        """``crop`` resized to :data:`REC_HEIGHT` rows (width by its aspect ``ratio``, at most
        ``into``'s width), normalised to -1..1 and written into the zero-padded CHW ``into``."""
        import cv2

        width = into.shape[2]
        w = min(width, int(math.ceil(REC_HEIGHT * ratio)))
        blob = cv2.dnn.blobFromImage(cv2.resize(crop, (w, REC_HEIGHT)), scalefactor=1 / 127.5,
                                     mean=(127.5, 127.5, 127.5))
        into[:, :, :w] = blob[0]
