"""The hf policy's vision-feature cache: each screenshot goes through the vision tower once
while it stays in the history window, and the greedy answers are the same with and without it
(tiny random-weight checkpoints built by the tests, saved and loaded again)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image  # noqa: E402

from tars.agent.history import History  # noqa: E402
from tars.models.prompts import system_prompt  # noqa: E402
from tars.models.vision_cache import base_model_of  # noqa: E402
from tests.tiny_models import build_lora_adapter, build_tiny_vl  # noqa: E402


def frames(n: int, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    sizes = [(200, 120), (180, 140), (200, 120), (150, 100), (200, 120), (220, 90), (200, 120)]
    return [Image.fromarray(rng.integers(0, 256, (sizes[i % 7][1], sizes[i % 7][0], 3), dtype=np.uint8))
            for i in range(n)]


def run_steps(policy, images, history_images=3):
    """Answers of a run over ``images`` with a ``history_images`` window, and per step the
    number of images encoded by the vision tower."""
    instruction = "open the settings"
    history = History(instruction, system_prompt(policy.profile, instruction), policy.space,
                      max_images=history_images)
    answers, encoded = [], []
    counter = {"n": 0}

    def count(module, args, kwargs, output):  # images in this vision-tower call
        grid = kwargs.get("grid_thw", args[1] if len(args) > 1 else None)
        counter["n"] += len(grid)

    hook = base_model_of(policy.model).visual.register_forward_hook(count, with_kwargs=True)
    try:
        for image in images:
            before = counter["n"]
            prompt = history.prompt(image)
            with torch.random.fork_rng():
                answers.append(policy.act(prompt))
            encoded.append(counter["n"] - before)
            history.add(image, answers[-1] or "Thought: x\nAction: wait()")
    finally:
        hook.remove()
    return answers, encoded


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("vision-cache")
    return {family: build_tiny_vl(root / family, family, layers=2) for family in FAMILIES}


FAMILIES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl", "qwen3_5")


@pytest.mark.parametrize("family", FAMILIES)
def test_same_greedy_answers_and_each_screenshot_encoded_once(checkpoints, family):
    from tars.models.hf import HFPolicy

    images = frames(5)
    plain = HFPolicy(str(checkpoints[family]), max_new_tokens=10, vision_cache=False)
    cached = HFPolicy(str(checkpoints[family]), max_new_tokens=10)
    try:
        want, encoded_plain = run_steps(plain, images)
        got, encoded_cached = run_steps(cached, images)
    finally:
        plain.close()
        cached.close()
    assert got == want
    # without the cache the tower sees the whole window at each step (1, 2, 3, 3, 3 images)
    assert encoded_plain == [1, 2, 3, 3, 3]
    # with it only the new screenshot is encoded
    assert encoded_cached == [1, 1, 1, 1, 1]


def test_cache_counts_and_capacity(checkpoints):
    from tars.models.hf import HFPolicy

    policy = HFPolicy(str(checkpoints["qwen2_5_vl"]), max_new_tokens=4)
    try:
        run_steps(policy, frames(5, seed=3), history_images=2)
        cache = policy.vision_cache
        assert (cache.misses, cache.hits, cache.calls) == (5, 4, 5)
        assert len(cache) <= cache.capacity
        # the same screenshot again (a still screen) is a hit, not a new encoding
        run_steps(policy, frames(1, seed=3), history_images=2)
        assert cache.misses == 5
    finally:
        policy.close()


def test_cache_sits_under_a_lora_adapter(checkpoints, tmp_path):
    from tars.models.hf import HFPolicy

    # the adapter fixture of test_hf_policy is built on qwen2_vl
    lora = build_lora_adapter(checkpoints["qwen2_vl"], tmp_path / "lora")
    plain = HFPolicy(str(checkpoints["qwen2_vl"]), adapter=str(lora), max_new_tokens=8, vision_cache=False)
    cached = HFPolicy(str(checkpoints["qwen2_vl"]), adapter=str(lora), max_new_tokens=8)
    try:
        images = frames(4, seed=5)
        assert run_steps(cached, images)[0] == run_steps(plain, images)[0]
        assert cached.vision_cache.hits > 0
    finally:
        plain.close()
        cached.close()
