"""tars finetune training step: samples per second and peak memory per step, for a given model,
screenshot size and history window.

A run of ``--steps-per-run`` steps is made by the real agent loop (a scripted policy on served
screenshots of ``--width`` x ``--height``) and recorded; its samples are built by
:mod:`tars.agent.finetune.samples` (the inference request plus the answer) and trained on with
the LoRA loop of :mod:`tars.agent.finetune.train` (its ``_loss``, AdamW on the LoRA weights).
Timed: ``--steps`` optimizer steps of one sample each, after one warm-up step; printed: samples
per second, the sequence length, and peak memory of a step (CUDA: ``max_memory_allocated``;
CPU: the peak resident set of the process, model and Python included).

Without ``--model`` a mid-size random Qwen2.5-VL (the one of bench_hf.py) is built, saved and
loaded by path, and the default is 1280x720 with 3 screenshots, to fit a shared CPU. On a GPU:

    .venv/bin/python benchmarks/bench_finetune.py --model ByteDance-Seed/UI-TARS-1.5-7B \\
        --width 1920 --height 1080 --history-images 5 --gradient-checkpointing
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_hf import frames  # noqa: E402  (the same synthetic desktops)


def _mid_model(tmp: Path) -> Path:
    from tests.tiny_models import build_tiny_vl

    return build_tiny_vl(
        tmp / "mid-qwen2.5-vl", "qwen2_5_vl", layers=2, init_std=0.2,
        text_sizes={"hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4,
                    "num_key_value_heads": 2, "max_position_embeddings": 32768,
                    "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0,
                                        "mrope_section": [4, 6, 6]}},
        vision_sizes={"depth": 2, "hidden_size": 128, "intermediate_size": 256, "out_hidden_size": 128,
                      "num_heads": 2, "window_size": 112, "fullatt_block_indexes": [1]},
    )


def _record(folder: Path, policy, images) -> None:
    from tars.agent.loop import Agent, AgentConfig
    from tars.agent.trajectory import TrajectoryRecorder
    from tars.desktop.dryrun import DryRunOperator
    from tars.models.scripted import ScriptedPolicy

    answers = [f"Thought: step {i}\nAction: click(start_box='({100 + 10 * i},{200 + 5 * i})')"
               for i in range(len(images) - 1)] + ["Action: finished(content='')"]
    scripted = ScriptedPolicy(answers, space=policy.space)
    scripted.profile = policy.profile
    Agent(scripted, DryRunOperator(images=images), AgentConfig(settle=False),
          [TrajectoryRecorder(folder)]).run("open the settings and turn on dark mode")


def _peak_mib(device) -> float:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="checkpoint to tune (default: a mid-size random Qwen2.5-VL)")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--history-images", type=int, default=3)
    ap.add_argument("--steps", type=int, default=4, help="timed optimizer steps")
    ap.add_argument("--gradient-checkpointing", action="store_true")
    args = ap.parse_args()
    import torch

    from tars.agent.finetune.data import find_sources
    from tars.agent.finetune.samples import SampleSet, episode_of
    from tars.agent.finetune.train import TuneSettings, _load_policy, _loss, _peft_model

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        model = args.model or str(_mid_model(tmp))
        settings = TuneSettings(grad_checkpointing=args.gradient_checkpointing, dropout=0.0)
        policy = _load_policy(model, settings)
        n = args.history_images + 1
        _record(tmp / "run", policy, [im.resize((args.width, args.height)) for im in frames(n)])
        episode = episode_of(find_sources([str(tmp / "run")]).sources[0], policy.profile)
        samples = SampleSet(policy, [episode], args.history_images)
        samples.prepare()
        last = len(samples) - 1  # the step with the whole history window of screenshots
        net = _peft_model(policy, settings)
        device = policy.model.device
        optimizer = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-4)
        net.train()

        def step() -> None:
            loss, _ = _loss(net, samples.encode(last), device)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        step()  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(device)
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = (time.perf_counter() - t0) / args.steps
        peak = _peak_mib(device)
        info = samples.infos[last]
        where = f"{device.type}" + ("" if device.type == "cuda" else f" {torch.get_num_threads()} threads")
    print(f"finetune step, {model if args.model else 'mid-size random Qwen2.5-VL'}, {args.width}x{args.height}, "
          f"{args.history_images} screenshots in the prompt, {info.total_tokens} tokens "
          f"({info.answer_tokens} trained), {policy.dtype}, {where}"
          f"{', gradient checkpointing' if args.gradient_checkpointing else ''}")
    print(f"  {seconds:.2f} s per step, {1 / seconds:.2f} samples/s, peak memory "
          f"{'allocated' if device.type == 'cuda' else 'resident, whole process'} {peak:.0f} MiB")
    print(f"FIGURE finetune_samples_per_s {1 / seconds:.2f} reference {seconds:.2f} s per step, "
          f"peak {peak:.0f} MiB, {info.total_tokens} tokens target measured (no goal set)")


if __name__ == "__main__":
    main()
