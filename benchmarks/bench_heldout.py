"""How lite does on programs it was not developed on: the held-out suite (assets/heldout).

    .venv/bin/python benchmarks/bench_heldout.py [--jobs 2] [--only explicit|natural] [--out DIR]

16 tasks on Debian programs (galculator, l3afpad, yad form/list/calendar dialogs) and a Tk
order form, each in two phrasings: ``explicit`` (lite's own step language) and ``natural`` (as
people write them). Success is read from each program's own state (the calculator's display
through its own copy command, the saved file, yad's output, the form's JSON), never from
tars's exit status. Prints per phrasing: success rate, and the runs that ended ``finished``
with the program in the wrong state (false successes: the figure that must stay 0).
Needs galculator, l3afpad, yad, python3-tk, xclip (scripts/install-system.sh). Takes several
minutes on 2 cores; not part of ``make test``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def bench(kind: str, out: Path, jobs: int) -> dict:
    from tars.evals.tasks import RunSettings, load_suite, run_suite

    tasks = load_suite(ROOT / "assets" / "heldout" / kind)
    t0 = time.monotonic()
    summary = run_suite(tasks, out / kind, RunSettings({"name": "lite"}, max_seconds=120, jobs=jobs))
    rows = summary["rows"]
    false_ok = [r for r in rows if r["status"] == "finished" and not r["success"]]
    print(f"{kind}: success rate {100 * summary['success_rate']:.1f} % "
          f"({summary['n_success']}/{summary['n_tasks']}), false successes {len(false_ok)}, "
          f"mean steps {summary['mean_steps']:.2f}, {time.monotonic() - t0:.0f} s wall with --jobs {jobs}")
    for r in rows:
        mark = "FALSE SUCCESS" if r in false_ok else ("ok" if r["success"] else "failed")
        print(f"  {mark:13} {r['id']}: {r['status']} in {r['steps']} steps {r['error'] or ''}")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", choices=("explicit", "natural"), default=None)
    parser.add_argument("--out", default=None, help="keep results here (default: a temp folder)")
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="tars-bench-heldout-"))
    for kind in ([args.only] if args.only else ["explicit", "natural"]):
        bench(kind, out, args.jobs)
    print(f"results in {out} (tars report {out}/explicit)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
