"""``tars parse`` without Typer: the console script's fast path answers exactly as the Typer
command does, and imports none of Typer, Rich, click or pydantic. Start-up time itself is
measured in benchmarks/bench_parse.py."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tars.frontends.cli import app
from tars.frontends.parse_cmd import lean_main, read_options
from tests.test_parse import CLI, CLI_BAD

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("typer", "rich", "click", "pydantic", "pydantic_core", "numpy", "PIL")


def via_typer(text, options):
    result = CliRunner().invoke(app, ["parse", *options], input=text)
    return result.exit_code, result.stdout, result.stderr


def via_lean(text, options, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code = lean_main(list(options))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("text,options", [(t, o) for t, o, _ in CLI] + [(t, o) for t, o, _ in CLI_BAD])
def test_lean_path_answers_as_typer_does(text, options, monkeypatch, capsys):
    assert via_lean(text, options, monkeypatch, capsys) == via_typer(text, options)


@pytest.mark.parametrize("options", [
    ["--help"], ["--frobnicate"], ["--scale", "abc"], ["--image-size"], ["--coords", "a", "--coords", "b"],
    ["--min-pixels", "1.5"], ["extra"],
])
def test_options_the_lean_path_does_not_read_go_to_typer(options):
    assert read_options(options) is None


def test_equals_form_and_space_form_read_alike():
    assert read_options(["--image-size=1920x1080", "--scale", "2", "--max-pixels=1000"]) == \
        {"image_size": "1920x1080", "scale": 2.0, "max_pixels": 1000}


PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + ' '.join(sorted(sys.modules))))\n"
    "sys.argv = ['tars'] + sys.argv[1:]\n"
    "from tars.frontends.entry import main\n"
    "main()\n"
)


def run_entry(*args: str, text: str = "Action: click(start_box='(966,546)')"):
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], input=text, capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    err, _, modules = proc.stderr.rpartition("\nMODULES ")
    return proc.returncode, proc.stdout, err, set(modules.split())


def test_tars_parse_imports_nothing_heavy():
    code, out, err, modules = run_entry("parse", "--image-size", "1920x1080")
    assert code == 0 and '"x": 960' in out, err
    assert not {m.split(".")[0] for m in modules} & set(HEAVY)


def test_unread_options_still_get_typers_answer():
    code, out, err, modules = run_entry("parse", "--frobnicate")
    assert code == 2 and out == ""
    assert err.startswith("tars: ") and "frobnicate" in err and err.count("\n") <= 1
    assert "typer" in modules  # the full command line answered
