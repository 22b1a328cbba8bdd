"""OSWorld's own local tasks, unchanged, on a local desktop, scored by OSWorld's own evaluator
(desktop_env.DesktopEnv.evaluate), with results OSWorld's show_result.py reads.

Tasks whose apps are small (os, multi_apps, and the tasks of every domain that start no app)
always run; those that drive Chromium, VLC, GIMP or LibreOffice are marked ``osworld_apps``
and skipped when the app is missing. ``TARS_OSWORLD_ALL=1`` runs the do-nothing agent on all
44 loadable local tasks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from osworld_paths import OSWORLD, local_tasks, needs_osworld
from osworld_solutions import SOLUTIONS, apps_present

from tars.evals.osworld.suite import load_osworld
from tars.evals.tasks import RunSettings, run_suite

pytestmark = [needs_osworld, pytest.mark.display,
              pytest.mark.skipif(os.getuid() != 0, reason="the per-task namespace and user need root")]

#: programs of each local task beyond the small desktop (from the task's setup and evaluator)
BIG_APPS = {"chromium": ("google-chrome", "chrome"), "vlc": ("vlc",), "gimp": ("gimp",),
            "soffice": ("libreoffice", "soffice")}


def _tasks(ids, **kw):
    tasks, _ = load_osworld(OSWORLD / "evaluation_examples" / "test_all.json", is_online=False, **kw)
    by_id = {t.id: t for t in tasks}
    return [by_id[i] for i in ids]


def _apps(task) -> tuple[str, ...]:
    text = json.dumps(task.raw.get("config", [])) + json.dumps(task.evaluator)
    return tuple(app for app, names in BIG_APPS.items() if any(f'"{n}' in text or f" {n}" in text for n in names))


def _small_local():
    rows = [(d, i, inf) for d, i, inf in local_tasks() if i != "5ac2891a-eacd-4954-b339-98abba077adb"]
    tasks = _tasks([i for _, i, _ in rows])
    return [t for t in tasks if not _apps(t)]


#: b6781586 (time zone) reads `timedatectl status`: no systemd here, so OSWorld's is_utc_0 raises
EVAL_ERROR_OK = {"b6781586-6346-41cd-935a-a6b1487918fc"}


def _do_nothing():
    # UI-TARS that does nothing and gives up, under --harness osworld: call_user() at every step;
    # OSWorld's UI-TARS agent tolerates three as waits and makes the fourth FAIL, which OSWorld's
    # rule scores (1 for an infeasible task, 0 for a feasible one)
    return RunSettings({"name": "scripted", "settings": {"replies": ["Action: call_user()"] * 4}},
                       max_steps=15, max_seconds=120, jobs=2, harness="osworld", sleep_after_execution=0.2)


def _check_do_nothing(summary):
    for row in summary["rows"]:
        task_infeasible = row["id"] in {i for _, i, inf in local_tasks() if inf}
        assert row["score"] == (1.0 if task_infeasible else 0.0), row
        if row["status"] == "eval_error":
            assert row["id"][:8] in {i[:8] for i in EVAL_ERROR_OK}, row
        else:
            assert row["status"] in ("call_user", "setup_error"), row
            assert row["status"] == "setup_error" or row["final_action"] == "FAIL", row


def test_do_nothing_scores_zero_feasible_one_infeasible_small_apps(tmp_path):
    tasks = _small_local()
    assert {t.domain for t in tasks} >= {"os", "multi_apps", "chrome", "gimp"}
    summary = run_suite(tasks, tmp_path / "out", _do_nothing())
    _check_do_nothing(summary)
    statuses = {r["id"]: r["status"] for r in summary["rows"]}
    assert sum(s == "call_user" for s in statuses.values()) >= len(tasks) - 1, statuses


@pytest.mark.osworld_apps
@pytest.mark.skipif(os.environ.get("TARS_OSWORLD_ALL") != "1", reason="set TARS_OSWORLD_ALL=1 (about 10 minutes)")
def test_do_nothing_all_local_tasks(tmp_path):
    ids = [i for _, i, _ in local_tasks() if i != "5ac2891a-eacd-4954-b339-98abba077adb"]
    tasks = [t for t in _tasks(ids) if all(shutil.which(a) for a in _apps(t))]
    summary = run_suite(tasks, tmp_path / "out", _do_nothing())
    print(json.dumps({r["id"]: [r["status"], r["score"], r["error"]] for r in summary["rows"]}, indent=1))
    _check_do_nothing(summary)
    statuses = {r["id"]: r["status"] for r in summary["rows"]}
    # VLC is the only video player here, so "make VLC the default" holds before the agent acts:
    # reported, not scored as a success
    assert statuses["937087b6-f668-4ba6-9110-60682ee33441"] == "setup_error"
    assert sum(s == "call_user" for s in statuses.values()) >= 40


def _solve(ids, tmp_path, jobs=2):
    replies = {i: SOLUTIONS[i][2] for i in ids}
    tasks = _tasks(ids, model="scripted-solutions")
    rows = []
    for t in tasks:  # one suite per task: each has its own script
        summary = run_suite([t], tmp_path / "out" / t.id[:8], RunSettings(
            {"name": "scripted", "settings": {"replies": replies[t.id]}}, max_seconds=150, jobs=jobs))
        rows += summary["rows"]
    return rows


SMALL = [i for i, (d, apps, _) in SOLUTIONS.items() if not apps]
BIG = [i for i, (d, apps, _) in SOLUTIONS.items() if apps]


def test_scripted_solutions_small_apps_score_one(tmp_path):
    rows = _solve(SMALL, tmp_path)
    assert {r["id"]: r["score"] for r in rows} == {i: 1.0 for i in SMALL}, rows
    assert all(r["status"] == "finished" for r in rows)


@pytest.mark.osworld_apps
@pytest.mark.parametrize("task_id", BIG)
def test_scripted_solution_big_app_scores_one(task_id, tmp_path):
    domain, apps, _ = SOLUTIONS[task_id]
    if not apps_present(apps):
        pytest.skip(f"needs {', '.join(apps)} (scripts/install-system.sh --osworld)")
    rows = _solve([task_id], tmp_path, jobs=1)
    assert rows[0]["score"] == 1.0 and rows[0]["domain"] == domain, rows


@pytest.mark.osworld_apps
@pytest.mark.parametrize("task_id", ["9195653c-f4aa-453d-aa95-787f6ccfaae9", "d52d6308-ec58-42b7-a2c9-de80e4837b2b",
                                     "030eeff7-b492-4218-b312-701ec99ee0cc"])
def test_big_app_do_nothing_scores_zero(task_id, tmp_path):
    apps = SOLUTIONS[task_id][1]
    if not apps_present(apps):
        pytest.skip(f"needs {', '.join(apps)} (scripts/install-system.sh --osworld)")
    summary = run_suite(_tasks([task_id]), tmp_path / "out", _do_nothing())
    row = summary["rows"][0]
    assert row["status"] == "call_user" and row["score"] == 0.0 and "evaluator" not in (row["error"] or ""), row


def test_results_in_osworld_layout_read_by_show_result(tmp_path):
    """Two solved tasks and one infeasible task the agent wrongly calls finished: OSWorld's own
    show_result.py reads the folder and prints the rate summary.json has."""
    ids = ["f9be0997-4b7c-45c5-b05c-4612b44a6118", "b3d4a89c-53f2-4d6b-8b6a-541fb5d205fa"]
    tasks = _tasks(ids, model="org/my-model")
    replies = SOLUTIONS[ids[0]][2]  # the infeasible task gets the same script: it ends "finished"
    out = tmp_path / "results"
    summary = run_suite(tasks, out, RunSettings({"name": "scripted", "settings": {"replies": replies}},
                                                max_seconds=120, jobs=1))
    assert [r["score"] for r in summary["rows"]] == [1.0, 0.0]
    assert summary["domains"] == {"os": {"n": 2, "n_success": 1, "success_rate": 0.5}}
    for task, row in zip(tasks, summary["rows"]):
        folder = out / "pyautogui" / "screenshot" / "org_my-model" / "os" / task.id
        assert row["folder"] == str(folder.relative_to(out))
        assert (folder / "result.txt").read_text() == f"{row['score']}\n"
        assert json.loads((folder / "result.json").read_text())["score"] == row["score"]
        traj = [json.loads(line) for line in (folder / "traj.jsonl").read_text().splitlines()]
        assert [t["step_num"] for t in traj] == [1, 2, 3]
        assert traj[-1]["done"] is True and traj[0]["action"] == "hotkey(key='ctrl alt t')"
        for t in traj:
            assert re.fullmatch(r"\d{8}@\d{12}", t["action_timestamp"])
            assert t["screenshot_file"] == f"step_{t['step_num']}_{t['action_timestamp']}.png"
            assert (folder / t["screenshot_file"]).stat().st_size > 1000
    show = OSWORLD / "scripts" / "show_result.py"
    proc = subprocess.run([sys.executable, str(show), "--model", "org_my-model", "--result_dir", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rate = re.search(r"Current Success Rate: ([\d.]+) %", proc.stdout)
    assert rate and float(rate.group(1)) == round(100 * summary["success_rate"], 2) == 50.0, proc.stdout
    assert "Domain: os Runned: 2 Success Rate: 50.0 %" in proc.stdout
    # tars report finds the trajectories in OSWorld's layout
    subprocess.run([sys.executable, "-m", "tars", "report", str(out)], check=True, capture_output=True, timeout=120)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert tasks[0].instruction.split("'")[0] in html and "No trajectory" not in html


def test_task_never_touches_the_users_home_or_processes(tmp_path):
    """Setup runs as an unprivileged user with a fresh /home/user; `pkill` in a task only sees
    the task's processes; nothing the task started outlives it."""
    ids = ["e0df059f-28a6-4169-924f-b9623e7184cc"]
    marker = subprocess.Popen(["sleep", "300"])  # a process of "the user" named like a task's target
    try:
        replies = [SOLUTIONS[ids[0]][2][0],
                   "Action: type(content='id -u > ~/Desktop/uid; echo $HOME > ~/Desktop/home; pkill sleep\\n')",
                   "Action: finished()"]
        summary = run_suite(_tasks(ids), tmp_path / "out", RunSettings(
            {"name": "scripted", "settings": {"replies": replies}}, max_seconds=120))
        assert marker.poll() is None, "a task's pkill reached a process outside the task"
    finally:
        marker.kill()
        marker.wait()
    row = summary["rows"][0]
    home = tmp_path / "out" / row["folder"] / "work" / "home"
    assert (home / "Desktop" / "home").read_text().strip() == "/home/user"
    assert int((home / "Desktop" / "uid").read_text()) != 0
    assert (home / "Desktop" / "todo_list_Jan_1").is_dir()  # made by the task's `sudo mkdir`, as the user
    left = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
    assert left == [], "processes of the task outlived it"
