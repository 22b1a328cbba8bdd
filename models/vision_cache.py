"""Each screenshot through the vision tower once: a per-image cache of a Qwen-VL model's
image features, reused for as long as the screenshot stays in the history window.

With a 5-image history every step sends the four previous screenshots again; without a cache
the vision tower encodes all five at every step. The Qwen2-VL / Qwen2.5-VL vision towers encode
each image on its own (attention never crosses images: ``cu_seqlens`` per image, window
attention within one image), so an image's features do not depend on the other images of the
prompt and can be computed once and kept.

How it plugs in: transformers' ``generate`` (5.x) encodes the images through the base model's
``get_image_features(pixel_values, image_grid_thw)`` before prefill, and the base model's
``forward`` calls the same method when it is given pixels. :meth:`VisionFeatureCache.install`
puts a wrapper on that instance attribute: the policy names the images of the next call
(:meth:`expect`, keys = hashes of the resized screenshots), the wrapper splits
``pixel_values`` per image (``image_grid_thw.prod(-1)`` patches each), runs the original
method on the images it has not seen, and returns the features of all of them in order.
When anything does not line up (another number of images, another grid) it runs the original
method on everything: the cache can only save work, never change an answer. Qwen3-VL's extra
per-image "deepstack" features are cached with the image's features.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from PIL.Image import Image


def image_key(image: "Image") -> bytes:
    """16-byte key of a (resized) screenshot: its mode, size and pixels."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{image.mode}:{image.width}x{image.height}".encode())
    h.update(image.tobytes())
    return h.digest()


def base_model_of(model: Any) -> Any:
    """The transformers base model (``Qwen2VLModel``/``Qwen2_5_VLModel``) under ``model``: a
    ``...ForConditionalGeneration``, or a peft model wrapping one."""
    get_base = getattr(model, "get_base_model", None)  # peft's PeftModel
    if callable(get_base):
        model = get_base()
    return model.base_model


class VisionFeatureCache:
    """Image features of the last ``capacity`` screenshots (least recently used dropped).

    ``hits``/``misses`` count images served from the cache / encoded; ``calls`` the vision
    tower runs. Not thread-safe across concurrent generations (the hf policy holds its lock
    around build_inputs + generate).
    """

    def __init__(self, capacity: int = 8) -> None:
        self.capacity = capacity
        self._features: "OrderedDict[bytes, tuple[Any, Any]]" = OrderedDict()  # key -> (grid, features)
        self._expected: list[bytes] | None = None
        self._lock = threading.Lock()
        self._model: Any = None
        self._original: Any = None
        self.hits = self.misses = self.calls = 0
        self._out_type: Any = None  # the model's own output class, learnt from its first call

    def install(self, model: Any) -> "VisionFeatureCache":
        """Wrap ``model``'s base model ``get_image_features``; returns self."""
        base = base_model_of(model)
        if self._model is not None:
            raise RuntimeError("this cache is already installed on a model")
        self._model, self._original = base, base.get_image_features
        base.get_image_features = self._get_image_features
        return self

    def uninstall(self) -> None:
        """Restore the model's own method and forget every feature."""
        if self._model is not None:
            self._model.get_image_features = self._original
            self._model = self._original = None
        self.clear()

    def clear(self) -> None:
        """Forget every cached feature."""
        with self._lock:
            self._features.clear()
            self._expected = None

    def expect(self, keys: Sequence[bytes]) -> None:
        """The next ``get_image_features`` call encodes these images, in this order."""
        with self._lock:
            self._expected = list(keys)

    def __len__(self) -> int:
        return len(self._features)

    def _get_image_features(self, pixel_values: Any, image_grid_thw: Any = None, **kwargs: Any) -> Any:
        import torch

        with self._lock:
            keys, self._expected = self._expected, None
        grids = image_grid_thw
        if keys is None or grids is None or len(keys) != len(grids) or kwargs.get("return_dict") is False:
            return self._original(pixel_values, image_grid_thw, **kwargs)
        sizes = [int(n) for n in grids.prod(-1).tolist()]
        if sum(sizes) != pixel_values.shape[0]:
            return self._original(pixel_values, image_grid_thw, **kwargs)
        chunks = pixel_values.split(sizes)
        missing = []
        for i, key in enumerate(keys):
            hit = self._features.get(key)
            if hit is None or not torch.equal(hit[0], grids[i].cpu()):
                missing.append(i)
        if missing:
            out = self._original(torch.cat([chunks[i] for i in missing]), grids[missing], **kwargs)
            self.calls += 1
            self._out_type = type(out)
            # Qwen3-VL also returns per-image "deepstack" features of some vision layers
            deep = getattr(out, "deepstack_features", None)
            for n, i in enumerate(missing):
                levels = [level[n] for level in deep] if deep is not None else None
                self._features[keys[i]] = (grids[i].cpu(), (out.pooler_output[n], levels))
        self.misses += len(missing)
        self.hits += len(keys) - len(missing)
        entries = []
        for key in keys:
            self._features.move_to_end(key)
            entries.append(self._features[key][1])
        while len(self._features) > max(self.capacity, len(keys)):
            self._features.popitem(last=False)
        fields: dict[str, Any] = {"pooler_output": tuple(e[0] for e in entries)}
        if entries[0][1] is not None:
            fields["deepstack_features"] = [tuple(e[1][j] for e in entries) for j in range(len(entries[0][1]))]
        return self._out_type(**fields)
