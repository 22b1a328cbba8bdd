"""The tars manifest of an adapter folder (``tars_adapter.json``) and the base-model check.

An adapter folder written by ``tars finetune`` holds peft's files (``adapter_config.json``,
``adapter_model.safetensors``) plus this manifest::

    {"format": 1, "tars_version": "...", "created": "...",
     "base_model": {"source": "/models/UI-TARS-1.5-7B", "model_type": "qwen2_5_vl",
                    "fingerprint": "sha256:..."},
     "profile": "ui-tars-1.5",
     "harness": {"history_images": 5, "language": "English", "task": "computer"},
     "data": {"sources": [...], "train_samples": N, "val_samples": M, ...},
     "settings": {"rank": 16, ...}, "results": {"train_loss": ..., "val_loss": ...}}

so that ``tars run --adapter DIR`` needs no other option (the base model, profile, history
window and language come from here) and refuses a base checkpoint other than the one the
adapter was tuned on: the fingerprint covers the checkpoint's ``model_type`` and its weight
files (names, sizes, safetensors headers and sampled bytes), so two checkpoints of one
architecture with different weights (Qwen2.5-VL-7B vs UI-TARS-1.5-7B) are told apart.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

#: file name of the manifest inside an adapter folder (and a merged checkpoint)
MANIFEST = "tars_adapter.json"
FORMAT = 1
#: bytes read from each weight file at the start of its data and in its middle
_SAMPLE = 1 << 16


class ManifestError(ValueError):
    """A manifest that cannot be read, or a base model that does not match it."""


def model_folder(source: str) -> Path | None:
    """The local folder of a checkpoint: ``source`` itself when it is a folder, else the
    Hugging Face cache snapshot of the Hub id ``source``; None when neither is there."""
    path = Path(source).expanduser()
    if path.is_dir():
        return path.resolve()
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(source, "config.json")
    except Exception:  # not a valid repo id, no huggingface_hub: nothing cached
        return None
    return Path(cached).parent if isinstance(cached, str) else None


def _weight_files(folder: Path) -> list[Path]:
    files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
    return [f for f in files if f.is_file()]


def fingerprint(folder: str | os.PathLike) -> str:
    """``sha256:<hex>`` identifying the checkpoint in ``folder``.

    Hashes ``model_type`` from config.json and, for each weight file (``*.safetensors``, else
    ``*.bin``) in name order: its name, its size, its safetensors header (tensor names,
    shapes, dtypes) and 64 KiB at the start and in the middle of its data. Reads a few
    hundred KiB whatever the checkpoint's size (a 7B model takes milliseconds).

    Raises:
        ManifestError: no config.json or no weight file in ``folder``.
    """
    folder = Path(folder)
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{folder} is not a checkpoint (config.json: {exc})") from None
    files = _weight_files(folder)
    if not files:
        raise ManifestError(f"{folder} holds no weight files")
    h = hashlib.sha256()
    h.update(str(config.get("model_type")).encode())
    for path in files:
        size = path.stat().st_size
        h.update(f"\0{path.name}\0{size}\0".encode())
        with open(path, "rb") as f:
            start = 0
            if path.suffix == ".safetensors":
                head = f.read(8)
                n = int.from_bytes(head, "little") if len(head) == 8 else 0
                h.update(f.read(min(n, 1 << 24)))
                start = 8 + n
            for offset in (start, start + max(0, (size - start) // 2 - _SAMPLE // 2)):
                f.seek(offset)
                h.update(f.read(_SAMPLE))
    return "sha256:" + h.hexdigest()


def model_type(folder: str | os.PathLike) -> str | None:
    """``model_type`` of the checkpoint's config.json, or None when unreadable."""
    try:
        return json.loads((Path(folder) / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None


def base_record(source: str) -> dict[str, Any]:
    """The manifest's ``base_model`` entry for the checkpoint ``source`` (Hub id or folder)."""
    folder = model_folder(source)
    record: dict[str, Any] = {"source": str(folder) if Path(source).expanduser().is_dir() else source}
    if folder is not None:
        record["model_type"] = model_type(folder)
        record["fingerprint"] = fingerprint(folder)
    return record


def read_manifest(adapter: str | os.PathLike) -> dict[str, Any] | None:
    """The manifest of a local adapter folder; None when the folder has none (an adapter made
    elsewhere) or ``adapter`` is not a local folder.

    Raises:
        ManifestError: the manifest exists but is not a JSON object of a known format.
    """
    path = Path(adapter).expanduser() / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{path} is not readable JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ManifestError(f"{path} is not a tars adapter manifest of format {FORMAT}")
    return data


def check_base(manifest: dict[str, Any], source: str, adapter: str = "the adapter") -> None:
    """Refuse ``source`` (the ``--model``) unless it is the checkpoint the adapter was tuned on.

    Compared: the fingerprint when both sides have one (the base is a local folder or in the
    Hugging Face cache), else the model_type, else the source string.

    Raises:
        ManifestError: with both checkpoints named.
    """
    base = manifest.get("base_model") or {}
    want_fp, want_type = base.get("fingerprint"), base.get("model_type")
    folder = model_folder(source)
    tuned_on = base.get("source", "?")
    if folder is not None and want_fp:
        got_type = model_type(folder)
        if want_type and got_type and got_type != want_type:
            raise ManifestError(
                f"{adapter} was tuned on {tuned_on} ({want_type}); --model {source} is a "
                f"{got_type} checkpoint"
            )
        got_fp = fingerprint(folder)
        if got_fp != want_fp:
            raise ManifestError(
                f"{adapter} was tuned on {tuned_on}; --model {source} is a different checkpoint "
                f"(weights fingerprint {got_fp[7:19]} != {want_fp[7:19]})"
            )
        return
    if folder is None and source != tuned_on:
        raise ManifestError(
            f"{adapter} was tuned on {tuned_on}; --model {source} cannot be checked against it "
            "(not a local folder and not in the Hugging Face cache)"
        )


def write_json_synced(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` and fsync it (the folder is renamed into place later)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=2)
        f.flush()
        os.fsync(f.fileno())
