"""Practice-app plumbing (no display) and `tars run` refusing an instruction lite cannot follow
before anything is touched. The apps themselves run in tests/test_lite_e2e.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tars.assets.apps import APPS, app_command
from tars.assets.apps._common import parse_geometry, read_state, write_state

pytestmark = pytest.mark.needs("PySide6")

REPO = Path(__file__).resolve().parent.parent


def test_every_app_has_a_module_and_a_command(tmp_path):
    for name in APPS:
        assert (REPO / "assets" / "apps" / f"{name}.py").exists()
        argv = app_command(name, str(tmp_path / "s.json"))
        assert argv[1:4] == ["-m", f"tars.assets.apps.{name}", "--state"]
    with pytest.raises(ValueError, match="unknown practice app"):
        app_command("minesweeper", "x.json")


@pytest.mark.parametrize("spec,expected", [
    (None, (None, None, 40, 40)),
    ("640x480", (640, 480, 40, 40)),
    ("+100+50", (None, None, 100, 50)),
    ("800x600+10+20", (800, 600, 10, 20)),
])
def test_geometry(spec, expected):
    assert parse_geometry(spec) == expected


@pytest.mark.parametrize("bad", ["big", "640x", "+1", "x+1+2"])
def test_bad_geometry(bad):
    with pytest.raises(ValueError, match="geometry"):
        parse_geometry(bad)


def test_state_is_replaced_whole(tmp_path):
    path = tmp_path / "deep" / "state.json"
    write_state(path, {"a": 1, "text": "é"})
    write_state(path, {"a": 2})
    assert read_state(path) == {"a": 2}
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temporary left over


def test_tars_run_refuses_what_lite_cannot_follow(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "tars", "run", "click OK then juggle three oranges", "--dry-run"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert proc.returncode == 2, proc.stderr
    assert "juggle three oranges" in proc.stderr
    assert proc.stdout.strip() == ""  # no step was taken
