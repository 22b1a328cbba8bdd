"""``tars finetune`` on the terminal: a progress bar with loss and steps per second.

The bar (rich, on stderr) shows the optimizer step, the training loss of the last step, the
last validation loss and the rate; the outcome is one line. Exit codes follow DESIGN.md: 2
for bad input (nothing trained), 1 for a run that failed while training or saving, 130 for
Ctrl+C (a checkpoint of the last finished step is kept for ``--resume``).
"""

from __future__ import annotations

from typing import Any

from tars.agent.finetune.train import FinetuneError, TuneSettings, partial_folder


def _message(manifest: dict[str, Any], out: str) -> str:
    res = manifest.get("results") or {}
    data = manifest.get("data") or {}
    val = ""
    if res.get("val_loss") is not None:
        val = f", validation loss {res['val_loss_start']:.4f} -> {res['val_loss']:.4f}"
    return (f"adapter written to {out}: {res.get('steps')} steps on {data.get('train_samples')} samples, "
            f"training loss {res.get('train_loss') or 0:.4f}{val}; run it with "
            f"tars run --adapter {out} \"...\"")


def run_finetune(data: list[str], model: str, out: str, settings: TuneSettings,
                 resume: bool = False, merge: bool = False) -> tuple[int, str]:
    """Run :func:`tars.agent.finetune.train.finetune` with a progress bar; returns
    (exit code, one line for the user)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from tars.agent.finetune.train import finetune

    console = Console(stderr=True)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("loss {task.fields[loss]}  val {task.fields[val]}  {task.fields[rate]}"),
                        TimeRemainingColumn(), console=console, transient=False)
    task_id = None
    started = [False]

    def on_event(kind: str, info: dict[str, Any]) -> None:
        nonlocal task_id
        if kind == "prepared":
            console.print(f"{info['samples']} samples ({info['train']} training, {info['val']} validation)")
        elif kind == "start":
            progress.start()
            started[0] = True
            task_id = progress.add_task("tuning", total=info["total_steps"], completed=info["step"],
                                        loss="-", val="-", rate="")
        elif kind == "step" and task_id is not None:
            progress.update(task_id, completed=info["step"], loss=f"{info['loss']:.4f}",
                            rate=f"{info['steps_per_s']:.2f} steps/s")
        elif kind == "val" and task_id is not None and info.get("val_loss") is not None:
            progress.update(task_id, val=f"{info['val_loss']:.4f}")

    try:
        manifest = finetune(data, model, out, settings, resume=resume, merge=merge, on_event=on_event)
    except FinetuneError as exc:
        return exc.exit_code, str(exc)
    except KeyboardInterrupt:
        return 130, (f"interrupted; {partial_folder_text(out)} keeps the last checkpoint: "
                     "run the same command with --resume to continue")
    finally:
        if started[0]:
            progress.stop()
    return 0, _message(manifest, out)


def partial_folder_text(out: str) -> str:
    from pathlib import Path

    return str(partial_folder(Path(out).expanduser().absolute()))
