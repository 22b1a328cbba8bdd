"""benchmarks/summary.py reads the FIGURE lines the benchmarks print into one table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from summary import figures  # noqa: E402

LOG = """== benchmarks/bench_loop.py
loop step at 1920x1080 ...
FIGURE loop_critical_ms 4.2 reference 210.0 target <=10 and >=3x
FIGURE memory_growth_mib 0.5 reference - target flat
not a FIGURE line
FIGURE parse_startup_ms 90 reference 120 (ui-tars), 25 (python) target <=150 and below ui-tars
FIGURE bare 7
"""


def test_figures_are_read_in_order_with_reference_and_target():
    rows = figures(LOG)
    assert [r["name"] for r in rows] == ["loop_critical_ms", "memory_growth_mib", "parse_startup_ms", "bare"]
    assert rows[0] == {"name": "loop_critical_ms", "value": "4.2", "ref": "210.0", "target": "<=10 and >=3x"}
    assert rows[2]["ref"] == "120 (ui-tars), 25 (python)"
    assert rows[3] == {"name": "bare", "value": "7", "ref": "-", "target": "-"}


def test_summary_prints_one_markdown_row_per_figure(tmp_path):
    log = tmp_path / "bench.log"
    log.write_text(LOG)
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "summary.py"), str(log)],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0].startswith("| figure | tars |") and len(out) == 2 + 4
    assert "loop step critical path" in out[2] and "| 4.2 | 210.0 |" in out[2]
