"""The held-out suite (assets/heldout) loads, and its two phrasings are the same tasks."""

import json
from pathlib import Path

from tars.evals.tasks import load_suite

ROOT = Path(__file__).resolve().parents[1] / "assets" / "heldout"


def test_both_phrasings_load_and_pair_up():
    explicit = {t.id.removesuffix("-explicit"): t for t in load_suite(ROOT / "explicit")}
    natural = {t.id.removesuffix("-natural"): t for t in load_suite(ROOT / "natural")}
    assert explicit.keys() == natural.keys() and len(explicit) >= 12
    for name, a in explicit.items():
        b = natural[name]
        assert a.instruction != b.instruction, name
        # same world and same check: only the wording differs
        assert a.model_dump(exclude={"id", "instruction"}) == b.model_dump(exclude={"id", "instruction"}), name


def test_success_is_read_from_the_program_not_from_tars():
    for path in sorted(ROOT.glob("*/*.json")):
        task = json.loads(path.read_text())
        funcs = task["evaluator"]["func"]
        funcs = funcs if isinstance(funcs, list) else [funcs]
        if task.get("infeasible"):
            assert funcs == ["infeasible"], path
        else:
            assert "infeasible" not in funcs and task["config"], path
