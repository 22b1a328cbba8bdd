"""How well the default policy (`lite`) does on what tars ships: the practice grounding set and
the practice task suite. Prints figures; passes or fails nothing.

    .venv/bin/python benchmarks/bench_eval_practice.py [--jobs 2] [--skip-tasks] [--out DIR]

- grounding: accuracy on assets/grounding (ScreenSpot-Pro format, boxes from real widget
  geometry), overall and per application / ui_type, and the median milliseconds per record;
- tasks: success rate on assets/tasks (each task on its own Xvfb + openbox; needs xvfb,
  openbox, xterm, zenity, mousepad, xdotool), mean steps, median seconds per task, and the
  failures with their status and error. The issue's goal for `lite` is a success rate of at
  least 90 %. Takes several minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def bench_grounding(out: Path) -> None:
    from tars.evals.grounding import evaluate, load_dataset
    from tars.models.base import load_policy

    records = load_dataset(ROOT / "assets" / "grounding")
    policy = load_policy("lite")
    rows: list[dict] = []
    summary = evaluate(records, policy, out / "grounding", on_result=rows.append)
    print(f"grounding: accuracy {100 * summary['accuracy']:.1f} % over {summary['n']} records, "
          f"median {statistics.median(r['ms'] for r in rows):.0f} ms per record")
    for name in ("application", "ui_type"):
        parts = ", ".join(f"{k} {100 * v['accuracy']:.0f} %" for k, v in summary["breakdowns"][name].items())
        print(f"  by {name}: {parts}")
    for r in rows:
        if not r["hit"]:
            print(f"  miss {r['id']}: {r['instruction']!r} -> {r['point']} {r['error'] or ''}")
    hits = sum(1 for r in rows if r["hit"])
    print(f"FIGURE grounding_hits {hits}/{len(rows)} reference - target no hit lost")


def bench_tasks(out: Path, jobs: int) -> None:
    from tars.evals.tasks import RunSettings, load_suite, run_suite

    tasks = load_suite("practice")
    t0 = time.monotonic()
    summary = run_suite(tasks, out / "tasks", RunSettings({"name": "lite"}, max_seconds=120, jobs=jobs))
    wall = time.monotonic() - t0
    rows = summary["rows"]
    print(f"tasks: success rate {100 * summary['success_rate']:.1f} % "
          f"({summary['n_success']}/{summary['n_tasks']}), mean steps {summary['mean_steps']:.2f}, "
          f"median {statistics.median(r['seconds'] for r in rows):.1f} s per task, "
          f"{wall:.0f} s wall with --jobs {jobs}")
    for r in rows:
        if not r["success"]:
            print(f"  failed {r['id']}: {r['status']} score {r['score']} {r['error'] or ''}")
    print(f"FIGURE tasks_solved {summary['n_success']}/{summary['n_tasks']} reference - target 26/26")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip-tasks", action="store_true", help="only the grounding set")
    parser.add_argument("--out", default=None, help="keep results here (default: a temp folder)")
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="tars-bench-eval-"))
    bench_grounding(out)
    if not args.skip_tasks:
        bench_tasks(out, args.jobs)
    print(f"results in {out} (tars report {out / 'tasks'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
