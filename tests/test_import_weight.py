"""`tars parse` and `import actions` stay light: no torch, Qt, input or capture library is
imported (DESIGN.md: heavy libraries are imported where they are used). Each check runs in a
fresh interpreter, because this test process has long since imported everything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: must never be imported by `tars parse` or by `import actions...`
HEAVY = (
    "torch", "torchvision", "transformers", "peft", "PySide6", "pyautogui", "pynput", "mss",
    "onnxruntime", "rapidocr_onnxruntime", "cv2", "openai", "Xlib",
)

_PROBE = """
import io, json, sys
HEAVY = {heavy!r}
sys.stdin = io.StringIO({stdin!r})
code = 0
try:
    {body}
except SystemExit as exc:
    code = exc.code or 0
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(HEAVY))
print("\\n" + json.dumps({{"loaded": loaded, "code": code}}))
"""


def probe(body: str, stdin: str = "") -> dict:
    script = _PROBE.format(heavy=HEAVY, stdin=stdin, body=body)
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DISPLAY": ""},
    )
    assert proc.returncode == 0, proc.stderr
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "stdout": proc.stdout}


def test_probe_sees_a_heavy_import():
    """The probe works: importing pyautogui's neighbour mss is noticed."""
    pytest.importorskip("mss")
    assert probe("import mss")["loaded"] == ["mss"]


@pytest.mark.parametrize(
    "module", ["tars.actions", "tars.actions.parse", "tars.actions.space", "tars.actions.coords", "tars.actions.keys"]
)
def test_actions_import_is_light(module):
    assert probe(f"import {module}")["loaded"] == []


def test_tars_parse_is_light():
    body = (
        "sys.argv = ['tars', 'parse', '--image-size', '1920x1080', '--scale', '2']\n"
        "    from tars.frontends.cli import main\n"
        "    main()"
    )
    result = probe(body, stdin="Thought: t\nAction: click(start_box='(966,546)')")
    assert result["code"] == 0
    assert '"action": "click"' in result["stdout"]  # it really parsed
    assert result["loaded"] == []


def test_tars_parse_error_path_is_light():
    body = "sys.argv = ['tars', 'parse']\n    from tars.frontends.cli import main\n    main()"
    result = probe(body, stdin="no action here")
    assert result["code"] == 2
    assert result["loaded"] == []
