"""Where OSWorld's published task files are for the tests: ``shared/osworld`` beside the checkout
(CI lays a copy of shared/ next to its clone), or ``$TARS_OSWORLD_DIR``. Tests that need them
skip with the reason when neither exists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parent.parent


def osworld_dir() -> Path | None:
    """The folder holding ``evaluation_examples/`` and ``local_ok.txt``, or None."""
    candidates = [os.environ.get("TARS_OSWORLD_DIR")]
    for parent in [_ROOT, *_ROOT.parents][:4]:
        candidates.append(str(parent / "shared" / "osworld"))
    for c in candidates:
        if c and (Path(c) / "evaluation_examples" / "test_all.json").exists():
            return Path(c)
    return None


OSWORLD = osworld_dir()
needs_osworld = pytest.mark.skipif(OSWORLD is None, reason="OSWorld's task files (shared/osworld) are not here")


def local_tasks() -> list[tuple[str, str, bool]]:
    """(domain, id, infeasible) of the 45 tasks of local_ok.txt."""
    assert OSWORLD is not None
    rows = []
    for line in (OSWORLD / "local_ok.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            domain, tid, kind = line.split("\t")[:3]
            rows.append((domain, tid, kind == "infeasible"))
    return rows
