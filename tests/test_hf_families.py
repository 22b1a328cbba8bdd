"""Qwen3-VL and Qwen3.5 checkpoints, and family profiles, through the ``hf`` policy.

Tiny random-weight checkpoints of each architecture are built (``tiny_models``), saved and
loaded again by path through ``AutoModelForImageTextToText`` / ``AutoProcessor``, exactly the
code a real checkpoint takes; two steps are asked of each, and the inputs are checked against
the profile (16-pixel patches, the smart_resize budget, the family's message layout).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image  # noqa: E402

from tars.agent.history import History  # noqa: E402
from tars.models.vision import model_image_size  # noqa: E402
from tests.tiny_models import build_tiny_vl  # noqa: E402

MAX_NEW = 6


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("family-checkpoints")


def _screen(color, size):
    img = Image.new("RGB", size, color)
    img.paste((255, 255, 255), (10, 10, 60, 30))
    return img


def _two_steps(policy, sizes=((320, 200), (256, 160))):
    """Ask two consecutive steps through the loop's History; return (answers, second inputs)."""
    history = History("Open the settings", "", policy.space, max_images=5)
    first_shot = _screen((200, 30, 30), sizes[0])
    first = policy.act(history.prompt(first_shot))
    history.add(first_shot, first)
    second_prompt = history.prompt(_screen((30, 30, 200), sizes[1]))
    second = policy.act(second_prompt)
    return (first, second), second_prompt, policy.build_inputs(second_prompt)


@pytest.mark.parametrize("family", ["qwen3_vl", "qwen3_5"])
def test_qwen3_architectures_load_by_path_and_step(tiny_dir, family):
    from tars.models.hf import HFPolicy

    folder = build_tiny_vl(tiny_dir / f"tiny-{family}", family)
    policy = HFPolicy(str(folder), max_new_tokens=MAX_NEW)
    try:
        assert type(policy.model).__name__ == {"qwen3_vl": "Qwen3VLForConditionalGeneration",
                                               "qwen3_5": "Qwen3_5ForConditionalGeneration"}[family]
        # the folder's model_type picks the Qwen3-VL profile: 0..999 grid, 32-pixel factor
        assert policy.profile.name == "qwen3-vl" and policy.space.grid == 999 and policy.space.factor == 32
        answers, prompt, inputs = _two_steps(policy)
        assert all(isinstance(a, str) for a in answers)
        grid = inputs["image_grid_thw"].tolist()
        assert len(grid) == 2  # the first step's screenshot is still in the window
        for (t, gh, gw), img in zip(grid, prompt.images()):
            w, h = model_image_size(img.width, img.height, policy.space)
            assert (t, gh * 16, gw * 16) == (1, h, w)
        text = policy.tokenizer.decode(inputs["input_ids"][0].tolist(), skip_special_tokens=False)
        # Qwen3VLAgent's layout: tools in the system turn, the instruction on the first image
        assert text.startswith("<|im_start|>system\n# Tools\n")
        assert "Instruction: Open the settings\n\nPrevious actions:\nNone" in text
        assert text.count("<|vision_start|>") == 2 and text.endswith("<|im_start|>assistant\n")
    finally:
        policy.close()


def test_a_family_profile_on_a_qwen25_checkpoint_sends_the_images_its_layout_shows(tiny_dir):
    """OpenCUA's layout shows at most 3 screenshots; the processor gets exactly those."""
    from tars.models.hf import HFPolicy

    folder = build_tiny_vl(tiny_dir / "tiny-qwen2.5-vl", "qwen2_5_vl")
    policy = HFPolicy(str(folder), max_new_tokens=MAX_NEW, profile="opencua")
    try:
        history = History("Open the settings", "", policy.space, max_images=5)
        for i in range(4):
            shot = _screen((40 * i, 30, 30), (196, 112))
            history.add(shot, f"## Action:\nClick {i}\n## Code:\n```python\npyautogui.click(x=1, y=2)\n```")
        prompt = history.prompt(_screen((0, 99, 0), (196, 112)))
        assert len(prompt.images()) == 5
        inputs = policy.build_inputs(prompt)
        assert len(inputs["image_grid_thw"]) == 3
        text = policy.tokenizer.decode(inputs["input_ids"][0].tolist(), skip_special_tokens=False)
        assert "# Step 1:\n## Action:\nClick 0\n\n# Step 2:\n## Action:\nClick 1\n" in text
        assert "# Task Instruction:\nOpen the settings" in text
        assert isinstance(policy.act(prompt), str)
    finally:
        policy.close()
