"""Image preparation for the vision-language policies: smart_resize, then encoding.

A Qwen2-VL-family model sees every screenshot resized by ``smart_resize`` (sides multiples of
28, pixel count within ``min_pixels``..``max_pixels``); a ``resized``-space model (UI-TARS-1.5)
writes coordinates in pixels of *that* image. Resizing here, once, with the profile's budget
means the server or processor sees exactly the image the coordinates refer to, and the upload
is no bigger than what the model will look at.

The size rule is ``tars.actions.coords.smart_resize`` (checked against ``qwen_vl_utils`` in the
tests) and the resampling is Pillow's bicubic, as ``qwen_vl_utils.fetch_image`` does, so the
pixels equal what the Qwen reference pipeline produces. ``qwen_vl_utils`` itself is not
imported here: it pulls in torch, which the base install (OpenAI-compatible policy) has not.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Literal

from tars.actions.coords import CoordSpace

if TYPE_CHECKING:
    from PIL.Image import Image

ImageFormat = Literal["png", "jpeg"]

#: zlib level for PNG uploads. Measured on a synthetic 1920x1080 desktop (text, flat areas, a
#: noisy photo region) with Pillow on this project's CI machine: level 1 took 62 ms / 496 KiB,
#: level 3 81 ms / 486 KiB, Pillow's default 6 151 ms / 779 KiB; JPEG q90 12 ms / 330 KiB.
PNG_COMPRESS_LEVEL = 1
#: JPEG quality for uploads that choose JPEG; 90 keeps small UI text legible.
JPEG_QUALITY = 90


def to_rgb(image: "Image") -> "Image":
    """RGB copy of ``image``; transparency is flattened onto white (as qwen-vl-utils does)."""
    from PIL import Image as PILImage

    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = PILImage.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def model_image_size(width: int, height: int, space: CoordSpace) -> tuple[int, int]:
    """(width, height) in pixels of the image the model sees for a width x height screenshot.

    ``absolute`` spaces send the screenshot as it is; the others use :func:`smart_resize`
    with ``space.factor``, ``space.min_pixels`` and ``space.max_pixels`` (after OSWorld's
    linear pre-scale when ``space.prescale``): :meth:`CoordSpace.image_size`.

    Raises:
        ValueError: a side is not positive or the aspect ratio exceeds 200 (smart_resize).
    """
    return space.image_size(width, height)


def prepare_image(image: "Image", space: CoordSpace) -> "Image":
    """The screenshot as the model sees it: RGB, resized to :func:`model_image_size` (bicubic).

    With ``space.prescale`` the image is first shrunk as OSWorld's agent shrinks its upload
    (:func:`tars.actions.coords.linear_prescale`, Pillow's default resampling), then resized
    to the model size as the server's processor would; so the result is this module's
    smart_resize of exactly the image OSWorld would send. Returns the same object when no
    change is needed. Raises ValueError like :func:`model_image_size`.
    """
    from PIL import Image as PILImage

    from tars.actions.coords import linear_prescale

    rgb = to_rgb(image)
    if space.prescale and space.kind != "absolute":
        h, w = linear_prescale(rgb.height, rgb.width, space.min_pixels, space.max_pixels)
        if (w, h) != rgb.size:
            rgb = rgb.resize((w, h))
    size = model_image_size(image.width, image.height, space)
    if size == rgb.size:
        return rgb
    return rgb.resize(size, PILImage.Resampling.BICUBIC)


def encode_image(
    image: "Image",
    fmt: ImageFormat = "png",
    quality: int = JPEG_QUALITY,
    compress_level: int = PNG_COMPRESS_LEVEL,
) -> bytes:
    """Encode ``image`` as PNG (lossless, ``compress_level`` 0-9) or JPEG (``quality`` 1-95).

    Raises:
        ValueError: unknown format.
    """
    if fmt not in ("png", "jpeg"):
        raise ValueError(f"unknown image format {fmt!r}; use png or jpeg")
    buffer = io.BytesIO()
    if fmt == "png":
        image.save(buffer, format="PNG", compress_level=compress_level)
    else:
        to_rgb(image).save(buffer, format="JPEG", quality=quality, optimize=False)
    return buffer.getvalue()


def data_url(image: "Image", fmt: ImageFormat = "png", **encode_options) -> str:
    """``data:image/<fmt>;base64,...`` URL of ``image`` (the OpenAI chat ``image_url`` form)."""
    payload = base64.b64encode(encode_image(image, fmt, **encode_options)).decode("ascii")
    return f"data:image/{fmt};base64,{payload}"


def decode_data_url(url: str) -> "Image":
    """The image inside a ``data:image/...;base64,`` URL (for tests and replays).

    Raises:
        ValueError: not a base64 image data URL.
    """
    from PIL import Image as PILImage

    head, sep, payload = url.partition(",")
    if not sep or not head.startswith("data:image/") or not head.endswith(";base64"):
        raise ValueError("not a base64 image data URL")
    image = PILImage.open(io.BytesIO(base64.b64decode(payload)))
    image.load()
    return image
