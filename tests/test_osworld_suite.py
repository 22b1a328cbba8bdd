"""Loading OSWorld's evaluation_examples as published: index files, the folder tree, domains,
and the reasons a task is skipped (checked against desktop-env's own files)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from osworld_paths import OSWORLD, local_tasks, needs_osworld

from tars.evals.osworld import refcode
from tars.evals.osworld.suite import Skipped, cache_path, check_task, is_osworld_suite, load_osworld
from tars.evals.tasks import TaskError

pytestmark = needs_osworld


def _index():
    return OSWORLD / "evaluation_examples" / "test_all.json"


def test_index_file_all_tasks_load_or_skip_with_a_reason():
    tasks, skipped = load_osworld(_index(), is_online=False)
    index = json.loads(_index().read_text())
    assert len(tasks) + len(skipped) == sum(len(v) for v in index.values()) == 369
    assert all(isinstance(s, Skipped) and s.reason for s in skipped)
    # the index's order and domains are kept
    assert [t.id for t in tasks] == [i for d, ids in index.items() for i in ids if i in {t.id for t in tasks}]
    assert {t.domain for t in tasks} <= set(index)
    # offline, a task whose setup downloads names the URL it lacks
    downloads = [s for s in skipped if s.reason.startswith("offline and https://")]
    assert len(downloads) > 200


def test_local_tasks_load_except_the_metric_desktop_env_lacks():
    tasks, skipped = load_osworld(_index(), is_online=False)
    by_id = {t.id: t for t in tasks}
    local = local_tasks()
    loaded = [tid for _, tid, _ in local if tid in by_id]
    assert len(local) == 45 and len(loaded) == 44
    missing = {s.id: s.reason for s in skipped if s.id not in by_id and s.id in {t for _, t, _ in local}}
    assert missing == {"5ac2891a-eacd-4954-b339-98abba077adb":
                       "metric 'check_play_and_exit' is not in desktop-env 1.0.2"}
    for domain, tid, infeasible in local:
        if tid in by_id:
            assert by_id[tid].domain == domain and by_id[tid].is_infeasible == infeasible
            assert by_id[tid].screen == (1920, 1080)
            assert by_id[tid].out_folder() == Path("pyautogui", "screenshot", "tars", domain, tid)


def test_folder_tree_and_domains(tmp_path):
    root = OSWORLD / "evaluation_examples"
    assert is_osworld_suite(root) and is_osworld_suite(root / "examples") and is_osworld_suite(_index())
    by_tree, _ = load_osworld(root, domains=["vlc", "os"], is_online=False)
    by_index, _ = load_osworld(_index(), domains=["vlc", "os"], is_online=False)
    assert {t.domain for t in by_tree} == {"vlc", "os"}
    assert {t.id for t in by_tree} >= {t.id for t in by_index}
    one, _ = load_osworld(root / "examples" / "vlc", is_online=False)
    assert one and {t.domain for t in one} == {"vlc"}
    with pytest.raises(TaskError, match="no domain nope"):
        load_osworld(_index(), domains=["nope"], is_online=False)
    with pytest.raises(TaskError, match="no such"):
        load_osworld(tmp_path / "absent.json")
    # tars's own suites are not OSWorld's
    assert not is_osworld_suite(Path(__file__).parent.parent / "assets" / "tasks")


def _task(**evaluator):
    return {"id": "t1", "instruction": "x", "config": [], "evaluator": {"func": "exact_match", **evaluator}}


def test_check_task_names_what_is_missing(tmp_path):
    ok = _task(result={"type": "vm_command_line", "command": "true"}, expected={"type": "rule", "rules": {}})
    assert check_task(ok, None, False) is None
    assert "step type 'teleport'" in check_task({**ok, "config": [{"type": "teleport", "parameters": {}}]}, None, False)
    assert "getter 'nope'" in check_task(_task(result={"type": "nope"}), None, False)
    assert "metric 'no_such_metric'" in check_task({**ok, "evaluator": {"func": "no_such_metric"}}, None, False)
    assert "postconfig step type 'x'" in check_task(_task(postconfig=[{"type": "x"}]), None, False)
    url = "https://example.org/f.docx"
    dl = {**ok, "config": [{"type": "download", "parameters": {"files": [{"url": url, "path": "/home/user/f.docx"}]}}]}
    assert check_task(dl, None, False) == f"offline and {url} is not in the cache (--cache)"
    assert check_task(dl, None, True) is None  # online: setup downloads it
    cached = cache_path(tmp_path, "t1", url, "/home/user/f.docx")
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert check_task(dl, tmp_path, False) is None


def test_refcode_maps_names_to_desktop_envs_own_modules():
    metrics = refcode.name_map("metrics")
    getters = refcode.name_map("getters")
    assert metrics["check_qt_max_volume"] == "vlc" and metrics["exact_match"] == "general"
    assert metrics["infeasible"] is None and getters["get_vm_command_line"] == "general"
    assert {"launch", "execute", "download", "command", "open", "sleep", "activate_window"} <= refcode.setup_types()
    # the lazily imported function is desktop-env's own object
    fn = refcode.metric("exact_match")
    assert fn.__module__ == "desktop_env.evaluators.metrics.general" and fn("a", {"expected": "a"}) == 1
    with pytest.raises(refcode.RefCodeError, match="no metric 'nope'"):
        refcode.metric("nope")


def test_cli_reports_skips_and_bad_domain(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "tars", "eval", "tasks", str(_index()), "--domain", "nope",
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no domain nope" in proc.stderr
