"""The installed import names are one namespace: a built wheel holds `tars/` and nothing else at
the top (no `agent`, `models`, `actions` or `assets` to shadow another project's), with every
sub-package and the shipped data inside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_holds_one_tars_namespace_with_its_data(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=240)
    wheel = next(tmp_path.glob("tars-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"tars", wheel.name.split("-py3")[0] + ".dist-info"}
    packages = {n.split("/")[1] for n in names if n.startswith("tars/") and n.count("/") >= 2}
    assert {"actions", "desktop", "models", "agent", "frontends", "evals", "assets"} <= packages
    assert "tars/__main__.py" in names and "tars/actions/parse/__init__.py" in names
    # every folder of Python modules in the tree is a package the wheel carries
    for folder in ("actions", "desktop", "models", "agent", "frontends", "evals", "assets"):
        for sub in (ROOT / folder).rglob("*.py"):
            rel = sub.relative_to(ROOT)
            if "__pycache__" not in rel.parts:
                assert f"tars/{rel.as_posix()}" in names, f"{rel} is not in the wheel (no __init__.py?)"
    assert any(n.startswith("tars/assets/tasks/") and n.endswith(".json") for n in names)
    assert any(n.startswith("tars/assets/grounding/") and n.endswith(".png") for n in names)
