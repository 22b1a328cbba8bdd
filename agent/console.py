"""The live console view of a run (a hook): one block per step with the thought, the
actions and the timings, and a status line while the model thinks. Written to stderr so
that ``tars run --json`` keeps stdout for the result object."""

from __future__ import annotations

from typing import Any

from tars.actions.describe import describe_action
from tars.agent.hooks import Hook, RunInfo, RunResult, StepRecord


class ConsoleHook(Hook):
    """Prints each step with rich; ``quiet`` prints only the outcome."""

    def __init__(self, quiet: bool = False) -> None:
        from rich.console import Console

        # soft_wrap: no hard line breaks when stderr is a pipe or a log file (rich would wrap
        # at 80 columns and split messages mid-sentence)
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self.quiet = quiet
        self._status: Any = None  # a rich Status while a step is thinking
        self._max_steps: int | None = None

    def run_start(self, info: RunInfo) -> None:
        self._max_steps = info.settings.get("max_steps")
        if not self.quiet:
            self.console.print(f"[bold]tars[/] {info.policy}"
                               + (f" ({info.model})" if info.model else "")
                               + f": [italic]{info.instruction}[/]")

    def after_observe(self, step_num: int, observation) -> None:
        if self.quiet or self._status is not None:
            return
        total = f"/{self._max_steps}" if self._max_steps else ""
        self._status = self.console.status(f"step {step_num}{total}: thinking…")
        self._status.start()

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def model_output(self, step_num, text, step, error) -> None:
        if error and not self.quiet:
            self._stop_status()
            self.console.print(f"  [yellow]step {step_num}: unparseable answer ({error}); asking again[/]")

    def step_end(self, record: StepRecord) -> None:
        self._stop_status()
        if self.quiet:
            return
        t = record.timings_ms
        self.console.print(
            f"[bold cyan]step {record.step_num}[/]  [dim]observe {t['observe']:.0f} ms · "
            f"think {t['think']:.0f} ms · act {t['act']:.0f} ms[/]"
        )
        if record.thought:
            self.console.print(f"  [green]thought[/] {record.thought}", soft_wrap=True)
        for action in record.actions_screen:
            self.console.print(f"  [magenta]action[/]  {describe_action(action)}")
        if record.error:
            self.console.print(f"  [red]error[/]   {record.error}")

    def run_end(self, result: RunResult) -> None:
        self._stop_status()
        colour = "green" if result.status == "finished" else "yellow" if result.status == "call_user" else "red"
        line = f"[bold {colour}]{result.status}[/] after {result.steps} step(s), {result.seconds:.1f} s"
        if result.content:
            line += f": {result.content}"
        if result.error:
            line += f" [dim]({result.error})[/]"
        self.console.print(line)
