"""The LoRA training loop of ``tars finetune`` (plain PyTorch + peft) and the adapter folder.

:func:`finetune` loads the base checkpoint through :class:`tars.models.hf.HFPolicy` (the
loading, dtype and device rules of inference: bf16 on CUDA, fp32 on CPU), builds the samples
(:mod:`tars.agent.finetune.samples`), puts LoRA on the language model's attention and MLP
projections (optionally the vision-language merger; the vision tower stays frozen), and trains
with AdamW, linear warm-up and decay, gradient accumulation and clipping. The loss of a step is
the mean over the answer tokens of its samples.

Everything is written inside ``OUT.partial/`` next to ``OUT``: ``train_log.jsonl`` (one line per
optimizer step and per validation), checkpoints every ``save_every`` steps (``checkpoint/``,
replaced by rename, so a kill at any moment leaves the previous one whole), and at the end the
adapter folder, which is renamed to ``OUT`` only when complete (peft's files, the manifest
``tars_adapter.json``, the training log; ``merged/`` with ``merge``). ``OUT`` therefore never
exists half-written; ``resume=True`` continues an interrupted run from its last checkpoint with
the same optimizer, schedule, data order and random state.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import math
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from tars.agent.finetune.data import DataError, find_sources
from tars.agent.finetune.samples import IGNORE, SampleError, SampleSet, episode_of
from tars.models import adapters as mf

#: LoRA targets by default: every attention and MLP projection of the language model
LM_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
#: added with ``train_merger``: the two linear layers of the Qwen-VL vision-language merger
MERGER_TARGETS = r".*visual\.merger\.mlp\.(0|2)"
#: model_type values whose module layout the default targets and the profiles know
KNOWN_MODEL_TYPES = ("qwen2_vl", "qwen2_5_vl")


class FinetuneError(RuntimeError):
    """Training cannot start or finish; the message says why (and what was kept).

    ``exit_code``: 2 for bad input found before training (nothing written), 1 for a failure
    while training or saving.
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class TuneSettings:
    """Settings of one ``tars finetune`` run (all written to the manifest).

    LoRA: ``rank``, ``alpha``, ``dropout``, ``target_modules`` (a regex over module names;
    None: :data:`LM_TARGETS`), ``train_merger``. Optimisation: ``lr``, ``epochs``,
    ``batch_size`` (samples per forward pass), ``grad_accum`` (forward passes per optimizer
    step), ``warmup_ratio``, ``weight_decay``, ``max_grad_norm``, ``max_steps`` (optimizer
    steps, overrides ``epochs`` when smaller), ``seed``. ``val_split``: fraction held out for
    the validation loss (whole trajectories when there are several, else steps).
    ``grad_checkpointing``: recompute activations (less memory, ~30 % slower).
    Harness of the samples: ``history_images`` (None: the profile's), ``language`` (None:
    the harness's), ``harness`` (``tars`` | ``osworld``),
    ``thought`` (keep | empty | a template), ``include_failed``. Loading: ``profile``,
    ``device``, ``dtype`` (None: bf16 on CUDA, fp32 on CPU). ``save_every``: optimizer steps
    between checkpoints.
    """

    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: str | None = None
    train_merger: bool = False
    lr: float = 2e-4
    epochs: int = 3
    batch_size: int = 1
    grad_accum: int = 1
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    max_steps: int | None = None
    val_split: float = 0.1
    grad_checkpointing: bool = False
    history_images: int | None = None
    language: str | None = None
    harness: str = "tars"
    thought: str = "keep"
    include_failed: bool = False
    profile: str | None = None
    device: str | None = None
    dtype: str | None = None
    seed: int = 0
    save_every: int = 50

    def check(self) -> None:
        """Raise :class:`FinetuneError` for a value that cannot work."""
        positive = {"rank": self.rank, "alpha": self.alpha, "epochs": self.epochs,
                    "batch_size": self.batch_size, "grad_accum": self.grad_accum,
                    "save_every": self.save_every}
        for name, value in positive.items():
            if value < 1:
                raise FinetuneError(f"{name} must be at least 1, got {value}")
        if not self.lr > 0:
            raise FinetuneError(f"the learning rate must be positive, got {self.lr}")
        if not 0 <= self.dropout < 1 or not 0 <= self.val_split < 1 or not 0 <= self.warmup_ratio < 1:
            raise FinetuneError("dropout, val_split and warmup_ratio must lie in [0, 1)")
        if self.max_steps is not None and self.max_steps < 1:
            raise FinetuneError(f"max_steps must be at least 1, got {self.max_steps}")
        if self.history_images is not None and self.history_images < 1:
            raise FinetuneError("history_images must be at least 1")

    def targets(self) -> str:
        """The regex of modules LoRA is put on."""
        base = self.target_modules or LM_TARGETS
        return f"(?:{base})|(?:{MERGER_TARGETS})" if self.train_merger else base


def partial_folder(out: Path) -> Path:
    """Where a run writing ``out`` keeps its work until the adapter is complete."""
    return out.with_name(out.name + ".partial")


def _split(samples: SampleSet, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, validation) sample indices: whole episodes held out when there are several."""
    n = len(samples)
    if fraction <= 0 or n < 2:
        return list(range(n)), []
    rng = random.Random(seed)
    episodes = sorted({info.episode for info in samples.infos})
    if len(episodes) > 1:
        rng.shuffle(episodes)
        held = set(episodes[: max(1, round(fraction * len(episodes)))])
        if len(held) == len(episodes):
            held.pop()
        val = [i for i, info in enumerate(samples.infos) if info.episode in held]
    else:
        order = list(range(n))
        rng.shuffle(order)
        val = sorted(order[: max(1, round(fraction * n))])
    train = [i for i in range(n) if i not in set(val)]
    return train, val


def collate(batch: list[dict[str, Any]], pad_id: int) -> dict[str, Any]:
    """One batch from encoded samples: token tensors right-padded (``pad_id``, attention 0,
    labels :data:`IGNORE`), image tensors concatenated."""
    import torch

    if len(batch) == 1:
        return batch[0]
    width = max(b["input_ids"].shape[1] for b in batch)
    out: dict[str, Any] = {}
    for key in batch[0]:
        values = [b[key] for b in batch]
        if values[0].dim() == 2 and values[0].shape[0] == 1 and key != "image_grid_thw" \
                and values[0].shape[1] == batch[0]["input_ids"].shape[1]:
            fill = {"input_ids": pad_id, "labels": IGNORE}.get(key, 0)
            out[key] = torch.cat([torch.nn.functional.pad(v, (0, width - v.shape[1]), value=fill)
                                  for v in values])
        else:
            out[key] = torch.cat(values)
    return out


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


class _Log:
    """train_log.jsonl in the partial folder: appended, flushed and fsynced per line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def truncate_after(self, step: int) -> None:
        if not self.path.exists():
            return
        keep = [line for line in self.path.read_text(encoding="utf-8").splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= step]
        self.path.write_text("".join(line + "\n" for line in keep), encoding="utf-8")

    def write(self, row: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()
            os.fsync(f.fileno())


def _rng_state() -> dict[str, Any]:
    import torch

    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save_checkpoint(partial: Path, model, optimizer, scheduler, step: int, run_id: str) -> None:
    """Write checkpoint/ for ``step`` atomically: build checkpoint.tmp, then swap by rename."""
    import torch

    tmp, final, old = partial / "checkpoint.tmp", partial / "checkpoint", partial / "checkpoint.old"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.save_pretrained(tmp)
    except OSError:
        raise
    except Exception as exc:  # safetensors' SafetensorError wraps the I/O error (full disk)
        raise OSError(str(exc).splitlines()[0]) from exc
    torch.save({"step": step, "run_id": run_id, "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "rng": _rng_state()}, tmp / "state.pt")
    for f in tmp.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def _find_checkpoint(partial: Path) -> Path | None:
    for name in ("checkpoint", "checkpoint.old"):  # .old: killed between the two renames
        folder = partial / name
        if (folder / "state.pt").is_file() and (folder / "adapter_config.json").is_file():
            return folder
    return None


def _load_policy(model: str, settings: TuneSettings):
    from tars.models.base import PolicyError
    from tars.models.hf import HFPolicy

    folder = mf.model_folder(model)
    kind = mf.model_type(folder) if folder else None
    if settings.profile is None and kind is not None and kind not in KNOWN_MODEL_TYPES:
        raise FinetuneError(
            f"model {model} is a {kind} checkpoint: tars knows the prompt format and module "
            f"layout of {', '.join(KNOWN_MODEL_TYPES)} only (give --profile and "
            "--target-modules to try it anyway)"
        )
    try:
        # no vision feature cache: it would hand back features computed without gradients
        return HFPolicy(model, profile=settings.profile, device=settings.device, dtype=settings.dtype,
                        vision_cache=False)
    except PolicyError as exc:
        raise FinetuneError(str(exc)) from None


def _peft_model(policy, settings: TuneSettings):
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                        target_modules=settings.targets(), bias="none")
    try:
        model = get_peft_model(policy.model, config)
    except ValueError as exc:  # no module matches: an architecture the targets do not know
        raise FinetuneError(
            f"cannot put LoRA on {policy.model_id}: {str(exc).splitlines()[0]} "
            f"(targets {settings.targets()!r}; see --target-modules)"
        ) from None
    if settings.grad_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    return model


def _loss(model, batch: dict[str, Any], device) -> tuple[Any, int]:
    """(mean loss over the batch's answer tokens, their count)."""
    inputs = {k: v.to(device) for k, v in batch.items()}
    n = int((inputs["labels"][:, 1:] != IGNORE).sum())
    out = model(**inputs, use_cache=False)
    return out.loss, n


def evaluate(model, samples: SampleSet, indices: list[int], device) -> float | None:
    """Mean loss per answer token over the samples at ``indices`` (None when there are none)."""
    import torch

    if not indices:
        return None
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in indices:
            loss, n = _loss(model, samples.encode(i), device)
            total += float(loss) * n
            count += n
    if was_training:
        model.train()
    return total / max(count, 1)


def _summary(found, episodes, samples: SampleSet, train: list[int], val: list[int]) -> dict[str, Any]:
    return {
        "sources": [{"folder": str(ep.source.folder), "kind": ep.source.kind, "origin": ep.source.origin,
                     "instruction": ep.instruction, "steps": len(ep.examples), "dropped_steps": ep.dropped}
                    for ep in episodes],
        "skipped": found.skipped,
        "train_samples": len(train),
        "val_samples": len(val),
        "answer_tokens": sum(info.answer_tokens for info in samples.infos),
        "max_tokens": max((info.total_tokens for info in samples.infos), default=0),
    }


def finetune(data: list[str], model: str, out: str | os.PathLike, settings: TuneSettings | None = None,
             resume: bool = False, merge: bool = False,
             on_event: Callable[[str, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Tune a LoRA adapter for ``model`` on the trajectories in ``data`` and write it to ``out``.

    ``on_event(kind, info)`` is told ``prepared`` (samples, train, val), ``start`` (total_steps,
    step), ``step`` (step, loss, lr, steps_per_s, samples_per_s), ``val`` (step, val_loss),
    ``saved`` (step) and ``done`` (the manifest).
    Returns the manifest written to ``out/tars_adapter.json``.

    Raises:
        FinetuneError: ``out`` exists; an unfinished run is in ``out.partial`` (and not
            ``resume``), or nothing to resume; bad data (:class:`DataError`,
            :class:`SampleError`, with their message); a model peft or the profiles do not
            know; a write that fails (full disk): ``out`` is then not created and the last
            checkpoint stays in ``out.partial``.
        KeyboardInterrupt: passed on after saving a checkpoint of the last finished step.
    """
    import torch

    settings = settings or TuneSettings()
    settings.check()
    emit = on_event or (lambda kind, info: None)
    out = Path(out).expanduser().absolute()
    partial = partial_folder(out)
    if out.exists():
        raise FinetuneError(f"{out} already exists; choose a new --out folder")
    checkpoint = _find_checkpoint(partial) if partial.exists() else None
    if resume and checkpoint is None:
        raise FinetuneError(f"nothing to resume: {partial} holds no checkpoint")
    if not resume and partial.exists():
        raise FinetuneError(
            f"an unfinished run of {out} is in {partial}: add --resume to continue it, "
            "or remove that folder to start again"
        )
    try:
        found = find_sources(data, settings.include_failed)
    except DataError as exc:
        raise FinetuneError(str(exc)) from None
    policy = _load_policy(model, settings)
    profile = policy.profile
    history_images = settings.history_images or profile.history_images
    try:
        episodes = [episode_of(s, profile, settings.thought) for s in found.sources]
        episodes = [ep for ep in episodes if ep.examples]
        if not episodes:
            raise FinetuneError("no step without an error to train on")
        samples = SampleSet(policy, episodes, history_images, settings.language, harness=settings.harness)
        samples.prepare()
    except (SampleError, ValueError, KeyError) as exc:
        raise FinetuneError(f"cannot build the training samples: {exc}") from None
    train, val = _split(samples, settings.val_split, settings.seed)
    emit("prepared", {"samples": len(samples), "train": len(train), "val": len(val)})
    base = mf.base_record(model)
    run_id = _digest(asdict(dataclasses.replace(settings, save_every=0)), base,
                     [(str(ep.source.folder), [e.answer for e in ep.examples]) for ep in episodes])
    torch.manual_seed(settings.seed)
    random.seed(settings.seed)
    net = _peft_model(policy, settings)
    try:
        partial.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FinetuneError(f"cannot create {partial}: {exc.strerror or exc}") from None
    device = policy.model.device if hasattr(policy.model, "device") else torch.device("cpu")
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    per_epoch = math.ceil(len(train) / (settings.batch_size * settings.grad_accum))
    total = per_epoch * settings.epochs
    if settings.max_steps is not None:
        total = min(total, settings.max_steps)
    warmup = int(settings.warmup_ratio * total)

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    log = _Log(partial / "train_log.jsonl")
    step = 0
    if checkpoint is not None:
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        state = torch.load(checkpoint / "state.pt", weights_only=False)
        if state.get("run_id") != run_id:
            raise FinetuneError(
                f"{partial} belongs to a run with other data or settings; use the same ones "
                "to --resume, or remove that folder"
            )
        set_peft_model_state_dict(net, load_file(checkpoint / "adapter_model.safetensors"))
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        _set_rng_state(state["rng"])
        step = int(state["step"])
        log.truncate_after(step)
    else:
        log.write({"step": 0, "val_loss": evaluate(net, samples, val, device), "time": time.time()})
    emit("start", {"total_steps": total, "step": step, "train": len(train), "val": len(val)})
    pad = policy.tokenizer.pad_token_id if policy.tokenizer.pad_token_id is not None else 0
    net.train()
    saved = step
    updating = False
    t_start, done_at_start = time.perf_counter(), step
    last_loss = None
    try:
        while step < total:
            epoch, in_epoch = divmod(step, per_epoch)
            order = torch.randperm(len(train), generator=torch.Generator().manual_seed(settings.seed + epoch)).tolist()
            chunk = settings.batch_size * settings.grad_accum
            picks = [train[j] for j in order[in_epoch * chunk:(in_epoch + 1) * chunk]]
            micro = [picks[j:j + settings.batch_size] for j in range(0, len(picks), settings.batch_size)]
            encoded = [collate([samples.encode(i) for i in group], pad) for group in micro]
            tokens = sum(int((b["labels"][:, 1:] != IGNORE).sum()) for b in encoded)
            total_loss = 0.0
            for batch in encoded:
                loss, n = _loss(net, batch, device)
                (loss * (n / max(tokens, 1))).backward()
                total_loss += float(loss.detach()) * n
            updating = True
            torch.nn.utils.clip_grad_norm_(params, settings.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            updating = False
            last_loss = total_loss / max(tokens, 1)
            elapsed = time.perf_counter() - t_start
            rate = (step - done_at_start) / elapsed if elapsed > 0 else 0.0
            row = {"step": step, "epoch": epoch + 1, "loss": last_loss, "lr": scheduler.get_last_lr()[0],
                   "steps_per_s": rate, "samples_per_s": rate * len(picks), "time": time.time()}
            log.write(row)
            emit("step", {**row, "total_steps": total})
            end_of_epoch = step % per_epoch == 0 or step == total
            if end_of_epoch and val:
                v = evaluate(net, samples, val, device)
                log.write({"step": step, "epoch": epoch + 1, "val_loss": v, "time": time.time()})
                emit("val", {"step": step, "val_loss": v})
            if step % settings.save_every == 0 and step < total:
                _save_checkpoint(partial, net, optimizer, scheduler, step, run_id)
                saved = step
                emit("saved", {"step": step})
    except KeyboardInterrupt:
        if step > saved and not updating:
            _save_checkpoint(partial, net, optimizer, scheduler, step, run_id)
            emit("saved", {"step": step})
        raise
    except OSError as exc:
        raise FinetuneError(f"training stopped: cannot write in {partial}: {exc.strerror or exc}", 1) from None
    except RuntimeError as exc:  # a checkpoint's safetensors write failing, CUDA out of memory
        if "out of memory" in str(exc).lower():
            raise FinetuneError(
                f"out of memory at step {step + 1}: try --batch-size 1, --gradient-checkpointing "
                "or a smaller --history-images", 1) from None
        raise
    return _finish(out, partial, net, policy, model, settings, base, log, merge,
                   _summary(found, episodes, samples, train, val), step, emit)


def _val_losses(log: _Log) -> tuple[float | None, float | None, float | None]:
    rows = [json.loads(line) for line in log.path.read_text(encoding="utf-8").splitlines() if line.strip()]
    vals = [r["val_loss"] for r in rows if r.get("val_loss") is not None]
    losses = [r["loss"] for r in rows if "loss" in r]
    return (vals[0] if vals else None, vals[-1] if vals else None, losses[-1] if losses else None)


def _finish(out: Path, partial: Path, net, policy, model: str, settings: TuneSettings, base: dict,
            log: _Log, merge: bool, data: dict, step: int, emit) -> dict[str, Any]:
    """Assemble the adapter in ``partial/adapter.tmp`` and rename it to ``out``."""
    from tars import __version__

    first_val, last_val, last_loss = _val_losses(log)
    manifest = {
        "format": mf.FORMAT,
        "tars_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "base_model": base,
        "profile": policy.profile.name,
        "harness": {"name": settings.harness,
                    "history_images": settings.history_images or policy.profile.history_images,
                    "language": settings.language, "task": "computer",
                    "coords": {"kind": policy.space.kind, "min_pixels": policy.space.min_pixels,
                               "max_pixels": policy.space.max_pixels, "factor": policy.space.factor}},
        "data": data,
        "settings": {**asdict(settings), "target_regex": settings.targets()},
        "results": {"steps": step, "train_loss": last_loss, "val_loss_start": first_val,
                    "val_loss": last_val, "dtype": str(policy.dtype).replace("torch.", ""),
                    "device": str(policy.device)},
    }
    tmp = partial / "adapter.tmp"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        net.save_pretrained(tmp)
        _point_config_at(tmp, base)
        mf.write_json_synced(tmp / mf.MANIFEST, manifest)
        shutil.copyfile(log.path, tmp / "train_log.jsonl")
        if merge:
            merged = net.merge_and_unload()
            merged.save_pretrained(tmp / "merged")
            policy.processor.save_pretrained(tmp / "merged")
            mf.write_json_synced(tmp / "merged" / mf.MANIFEST, {**manifest, "merged": True})
        for f in tmp.rglob("*"):
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        os.replace(tmp, out)
    except Exception as exc:  # OSError, or safetensors' SafetensorError wrapping one (full disk)
        shutil.rmtree(tmp, ignore_errors=True)
        why = (exc.strerror if isinstance(exc, OSError) else None) or str(exc).splitlines()[0]
        raise FinetuneError(
            f"cannot write the adapter ({why}); {out} was not created; the "
            f"training log{' and last checkpoint' if _find_checkpoint(partial) else ''} stay in {partial}",
            1,
        ) from None
    shutil.rmtree(partial, ignore_errors=True)
    emit("done", manifest)
    return manifest


def _point_config_at(folder: Path, base: dict) -> None:
    """adapter_config.json names the base as given (peft writes the loaded folder's path)."""
    path = folder / "adapter_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = base.get("source")
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
