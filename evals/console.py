"""Console front end of the evaluations: progress bars while they run, tables at the end.

Used by ``tars eval grounding`` and ``tars eval tasks`` (agent/cli.py); the evaluation
modules themselves print nothing, so the app and tests can run them silently.
"""

from __future__ import annotations

from typing import Any, Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def progress(console: Console | None = None) -> Progress:
    """A rich progress bar: description, bar, done/total, elapsed time (on stderr)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[note]}"), TimeElapsedColumn(),
                    console=console or Console(stderr=True), transient=False)


def with_progress(total: int, label: str, work: Callable[[Callable[[dict], None]], Any],
                  note: Callable[[dict], str]) -> Any:
    """Run ``work(on_row)`` under a progress bar of ``total`` items; ``on_row`` advances it
    and shows ``note(row)`` (e.g. the running accuracy)."""
    with progress() as bar:
        task = bar.add_task(label, total=total, note="")

        def on_row(row: dict) -> None:
            bar.update(task, advance=1, note=note(row))

        return work(on_row)


def grounding_table(summary: dict[str, Any]) -> Table:
    """Accuracy overall and per breakdown value, as the papers report it."""
    table = Table(title=f"grounding: {summary.get('policy')}")
    table.add_column("group")
    table.add_column("value")
    table.add_column("n", justify="right")
    table.add_column("accuracy", justify="right")
    table.add_row("all", "", str(summary["n"]), f"{100 * summary['accuracy']:.1f} %")
    for name, groups in summary.get("breakdowns", {}).items():
        for value, g in groups.items():
            table.add_row(name, value, str(g["n"]), f"{100 * g['accuracy']:.1f} %")
    if summary.get("n_no_point"):
        table.caption = f"{summary['n_no_point']} answers held no point (counted as misses)"
    return table


def tasks_table(summary: dict[str, Any]) -> Table:
    """One row per task (status, score, steps, seconds, error) and the success rate."""
    table = Table(title=f"tasks: {summary.get('policy') or 'no agent'}")
    for col, justify in (("task", "left"), ("status", "left"), ("score", "right"),
                         ("steps", "right"), ("seconds", "right"), ("error", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in summary.get("rows", []):
        style = "green" if r["success"] else "red"
        table.add_row(r["id"], r["status"], f"[{style}]{r['score']:.2f}[/]", str(r["steps"]),
                      f"{r['seconds']:.1f}", (r.get("error") or "")[:80])
    table.caption = (f"success rate {100 * summary['success_rate']:.1f} % "
                     f"({summary['n_success']}/{summary['n_tasks']}), "
                     f"mean steps {summary['mean_steps']:.2f}")
    return table
