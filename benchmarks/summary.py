"""One table of every figure the benchmarks printed, each with its reference and target.

Each benchmark prints, beside its own tables, lines of the form::

    FIGURE <name> <value> reference <what it is compared with> target <the goal>

``make bench`` runs every benchmarks/bench_*.py into one log and then this script on it:

    .venv/bin/python benchmarks/summary.py bench.log

Prints a Markdown table (figure | tars | reference in the same run | target), in the order
the figures were printed. Passes or fails nothing.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

FIGURE = re.compile(r"^FIGURE (?P<name>\S+) (?P<value>\S+)(?: reference (?P<ref>.*?))?(?: target (?P<target>.*))?$")

#: what each figure measures, for the table (benchmark script in brackets)
WHAT = {
    "loop_critical_ms": "loop step critical path at 1920x1080, ms (bench_loop)",
    "memory_growth_mib": "resident memory growth, steps 20 -> 200, MiB (bench_loop)",
    "observe_1080_ms": "observe() at 1920x1080, ms (bench_observe)",
    "parse_startup_ms": "`tars parse` start-up, ms (bench_parse)",
    "parse_rate": "parser throughput, actions/s (bench_parse)",
    "lite_first_look_ms": "lite step, whole screen read (first look), 1920x1080, ms (bench_lite)",
    "lite_step_reuse_ms": "lite step after a small change (reuse on), 1920x1080, ms (bench_lite)",
    "hf_step_s": "hf step, 5-image history, 1920x1080 screenshots, s (bench_hf)",
    "finetune_samples_per_s": "finetune training step, 1280x720, 3 screenshots, samples/s (bench_finetune)",
    "estop_ms": "emergency stop during typing, ms (bench_execute)",
    "grounding_hits": "lite on the shipped grounding set (bench_eval_practice)",
    "tasks_solved": "lite on the shipped task suite (bench_eval_practice)",
}


def figures(text: str) -> list[dict[str, str]]:
    """The FIGURE lines of a benchmark log, parsed, in order."""
    out = []
    for line in text.splitlines():
        m = FIGURE.match(line.strip())
        if m:
            out.append({k: (v or "-").strip() for k, v in m.groupdict().items()})
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: benchmarks/summary.py LOG", file=sys.stderr)
        return 2
    rows = figures(Path(argv[0]).read_text(encoding="utf-8", errors="replace"))
    print("| figure | tars | reference in the same run | target |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {WHAT.get(r['name'], r['name'])} | {r['value']} | {r['ref']} | {r['target']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
