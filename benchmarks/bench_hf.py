"""hf policy step with a 5-image history at real screenshot sizes, with and without the
vision-feature cache (each screenshot through the vision tower once).

A small random-weight Qwen2.5-VL checkpoint (vision tower: 2 blocks of width 128, one windowed
and one full attention as in Qwen2.5-VL, real patch 14 / merge 2; decoder: 2 layers of width
128) is built,
saved and loaded by path as a user's checkpoint is. Screenshots are 1920x1080 frames, which
the UI-TARS-1.5 budget resizes to 1932x1092 (2,691 image tokens each). The timed step has 5
screenshots in its prompt (4 earlier turns and the new one); with the cache the 4 earlier
ones were seen by earlier steps. Printed: its seconds and the images the vision tower encoded. The weights are random: the answers are nonsense, their cost
is real. CPU figures on a shared machine: read the ratio.

    .venv/bin/python benchmarks/bench_hf.py [--new-tokens 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def frames(n: int):
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        im = Image.new("RGB", (1920, 1080), (235, 235, 235))
        draw = ImageDraw.Draw(im)
        for _ in range(60):  # windows, buttons and text-like strokes
            x, y = int(rng.integers(0, 1800)), int(rng.integers(0, 1000))
            draw.rectangle((x, y, x + int(rng.integers(20, 300)), y + int(rng.integers(10, 80))),
                           fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
        draw.text((40, 40 + 10 * i), f"step {i}", fill=(0, 0, 0))
        out.append(im)
    return out


def timed_step(policy, images, prime: bool) -> tuple[float, int]:
    """Seconds of one step whose prompt holds ``images`` (the last is the new screenshot,
    the others earlier turns), and the images the vision tower encoded in it. ``prime``: show
    each earlier screenshot to the policy first, alone, as the earlier steps of a run would
    have (that fills the cache; the earlier answers do not change the cost of this step)."""
    from tars.agent.history import History
    from tars.models.prompts import system_prompt
    from tars.models.vision_cache import base_model_of

    instruction = "open the settings"
    system = system_prompt(policy.profile, instruction)
    answer = "Thought: I click the button.\nAction: click(start_box='(100,200)')"
    if prime:
        for image in images[:-1]:
            policy.act(History(instruction, system, policy.space, max_images=1).prompt(image))
    history = History(instruction, system, policy.space, max_images=len(images))
    for image in images[:-1]:
        history.add(image, answer)
    seen = {"n": 0}

    def count(module, args, kwargs, output):
        seen["n"] += len(kwargs.get("grid_thw", args[1] if len(args) > 1 else []))

    hook = base_model_of(policy.model).visual.register_forward_hook(count, with_kwargs=True)
    try:
        t0 = time.perf_counter()
        policy.act(history.prompt(images[-1]))
        return time.perf_counter() - t0, seen["n"]
    finally:
        hook.remove()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--new-tokens", type=int, default=8)
    args = ap.parse_args()
    import torch

    from tars.models.hf import HFPolicy
    from tests.tiny_models import build_tiny_vl

    torch.set_num_threads(max(1, torch.get_num_threads()))
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_tiny_vl(
            Path(tmp) / "mid-qwen2.5-vl", "qwen2_5_vl", layers=2,
            text_sizes={"hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4,
                        "num_key_value_heads": 2, "max_position_embeddings": 32768,
                        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0,
                                            "mrope_section": [4, 6, 6]}},
            vision_sizes={"depth": 2, "hidden_size": 128, "intermediate_size": 256, "out_hidden_size": 128,
                          "num_heads": 2, "window_size": 112, "fullatt_block_indexes": [1]},
        )
        images = frames(5)
        rows = {}
        for label, cache in (("without cache", False), ("with cache", True)):
            policy = HFPolicy(str(folder), max_new_tokens=args.new_tokens, vision_cache=cache)
            try:
                rows[label] = timed_step(policy, images, prime=cache)
            finally:
                policy.close()
    print(f"hf step, 5-image history, 1920x1080 screenshots (1932x1092, 2691 tokens each), "
          f"small random Qwen2.5-VL, {args.new_tokens} new tokens, CPU "
          f"{torch.get_num_threads()} threads")
    for label, (seconds, encoded) in rows.items():
        print(f"  {label:14s} {seconds:7.2f} s   images through the vision tower: {encoded}")
    (off, n_off), (on, n_on) = rows["without cache"], rows["with cache"]
    print(f"FIGURE hf_step_s {on:.2f} reference {off:.2f} without the cache ({n_off} images through the "
          f"vision tower, {n_on} with it; {off / on:.1f}x) target each screenshot through the tower once")


if __name__ == "__main__":
    main()
