"""The ``hf`` policy on CUDA: a tiny checkpoint in bf16, and a real UI-TARS / Qwen-VL checkpoint
when one is in the local Hugging Face cache (nothing is downloaded; skipped otherwise).

Marked ``gpu``: conftest skips these without CUDA.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.gpu

torch = pytest.importorskip("torch")

from PIL import Image, ImageDraw  # noqa: E402

from tars.models.base import Prompt, Turn  # noqa: E402
from tars.models.prompts import system_prompt  # noqa: E402
from tests.tiny_models import build_tiny_vl  # noqa: E402

# smallest first: the first one found in the cache is used
_CANDIDATES = re.compile(r"ui-?tars|qwen2(\.5)?-vl", re.I)


def _cached_checkpoint() -> str | None:
    """Hub id of the smallest cached UI-TARS / Qwen2(.5)-VL checkpoint with weights, or None."""
    try:
        from huggingface_hub import scan_cache_dir

        repos = scan_cache_dir().repos
    except Exception:  # no cache folder at all
        return None
    found = [
        r for r in repos
        if r.repo_type == "model" and _CANDIDATES.search(r.repo_id)
        and any(f.file_name.endswith(".safetensors") for rev in r.revisions for f in rev.files)
    ]
    return min(found, key=lambda r: r.size_on_disk).repo_id if found else None


def dialog_screenshot() -> Image.Image:
    """A 1280x800 desktop with one dialog and an OK button at (640, 460)."""
    img = Image.new("RGB", (1280, 800), (58, 110, 165))
    draw = ImageDraw.Draw(img)
    draw.rectangle((440, 300, 840, 500), fill=(240, 240, 240), outline=(90, 90, 90))
    draw.text((470, 340), "Save changes before closing?", fill=(0, 0, 0))
    draw.rectangle((600, 440, 680, 480), fill=(220, 220, 220), outline=(40, 40, 40))
    draw.text((630, 453), "OK", fill=(0, 0, 0))
    return img


def test_tiny_checkpoint_runs_in_bf16_on_cuda(tmp_path):
    from tars.models.hf import HFPolicy

    folder = build_tiny_vl(tmp_path / "tiny-qwen2.5-vl", "qwen2_5_vl")
    policy = HFPolicy(str(folder), max_new_tokens=8)
    assert policy.device.type == "cuda"
    assert policy.dtype in (torch.bfloat16, torch.float16)
    assert next(policy.model.parameters()).is_cuda
    prompt = Prompt("x", system_prompt(policy.profile, "Click OK"), [Turn(dialog_screenshot())], policy.space)
    assert isinstance(policy.act(prompt), str)
    policy.close()


def test_real_checkpoint_from_cache_answers_in_uitars_format():
    repo_id = _cached_checkpoint()
    if repo_id is None:
        pytest.skip("no UI-TARS / Qwen-VL checkpoint in the local Hugging Face cache")
    from tars.models.hf import HFPolicy

    policy = HFPolicy(repo_id, max_new_tokens=128)
    instruction = "Click the OK button"
    prompt = Prompt(instruction, system_prompt(policy.profile, instruction), [Turn(dialog_screenshot())], policy.space)
    text = policy.act(prompt)
    assert text.strip(), "the model wrote nothing"
    if "tars" in repo_id.lower():  # trained on this format; a plain Qwen-VL may not follow it
        assert "Action:" in text, text
        from tars.actions.parse import parse_response

        step = parse_response(text)
        assert step.actions, text
    policy.close()
