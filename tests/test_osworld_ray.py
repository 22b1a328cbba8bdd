"""OSWorld tasks on a local two-worker Ray instance give the same results as --jobs 1, in the
same files (results.jsonl, summary.json, OSWorld's layout)."""

from __future__ import annotations

import json
import os

import pytest
from osworld_paths import OSWORLD, needs_osworld
from osworld_solutions import SOLUTIONS

from tars.evals.osworld.suite import load_osworld
from tars.evals.tasks import RunSettings, run_suite

ray = pytest.importorskip("ray")
pytestmark = [needs_osworld, pytest.mark.display,
              pytest.mark.skipif(os.getuid() != 0, reason="the per-task namespace and user need root")]

IDS = ["f9be0997-4b7c-45c5-b05c-4612b44a6118",   # the script solves it: 1
       "a4d98375-215b-4a4d-aee9-3d4370fccc41",   # another setting: 0
       "b3d4a89c-53f2-4d6b-8b6a-541fb5d205fa"]   # infeasible, but the script ends finished: 0


def test_two_ray_workers_match_jobs_1(tmp_path):
    from tars.evals.osworld.ray_runner import run_suite_ray

    tasks, _ = load_osworld(OSWORLD / "evaluation_examples" / "test_all.json", is_online=False, model="m")
    tasks = [t for t in tasks if t.id in IDS]
    script = {"name": "scripted", "settings": {"replies": SOLUTIONS[IDS[0]][2]}}
    local = run_suite(tasks, tmp_path / "jobs1", RunSettings(script, max_seconds=120, jobs=1))
    seen = []
    on_ray = run_suite_ray(tasks, tmp_path / "ray", RunSettings(script, max_seconds=120, jobs=2),
                           address="local", on_result=seen.append, skipped=[])

    def outcome(summary):
        return {r["id"]: (r["status"], r["score"], r["steps"], r["domain"]) for r in summary["rows"]}

    assert outcome(on_ray) == outcome(local)
    assert [r["score"] for r in local["rows"]] == [1.0, 0.0, 0.0]
    assert sorted(r["id"] for r in seen) == sorted(IDS)  # streamed back as each finished
    assert on_ray["success_rate"] == local["success_rate"] and on_ray["settings"]["ray"] == "local"
    lines = (tmp_path / "ray" / "results.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == sorted(IDS)
    for row in on_ray["rows"]:
        folder = tmp_path / "ray" / row["folder"]
        assert (folder / "result.txt").read_text() == f"{row['score']}\n"
        assert (folder / "traj.jsonl").exists() and (folder / "steps.jsonl").exists()
        assert json.loads((folder / "result.json").read_text())["score"] == row["score"]
        assert not (folder / "work").exists()  # the task's scratch home stays on the node
