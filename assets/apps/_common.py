"""What every practice app shares: the command line, the state file, the Qt application.

The state file is rewritten whole after every change, atomically (write a temporary file in
the same folder, then ``os.replace``), so an evaluator never reads half a JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable


def parse_args(description: str, argv: list[str] | None = None, extra: Callable | None = None):
    """Parse ``--state FILE`` (required), ``--title`` and app-specific options from ``extra``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--state", required=True, help="JSON file the app rewrites after every change")
    parser.add_argument("--title", default=None, help="window title (default: the app's own)")
    parser.add_argument("--geometry", default=None, metavar="[WxH][+X+Y]",
                        help="window size and/or position in screen pixels (default: natural size at +40+40)")
    if extra is not None:
        extra(parser)
    return parser.parse_args(argv)


def write_state(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` as JSON to ``path`` atomically (temporary file + rename)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".state-", suffix=".json", dir=target.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=2, ensure_ascii=False)
    os.replace(tmp, target)


def read_state(path: str | os.PathLike) -> dict[str, Any]:
    """Read a state file written by :func:`write_state`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def parse_geometry(spec: str | None) -> tuple[int | None, int | None, int, int]:
    """``"640x480+100+50"`` / ``"640x480"`` / ``"+100+50"`` -> (w, h, x, y); w, h None when not
    given, x, y default 40. Raises ValueError for anything else."""
    import re

    if not spec:
        return None, None, 40, 40
    m = re.fullmatch(r"(?:(\d+)x(\d+))?(?:\+(\d+)\+(\d+))?", spec.strip())
    if not m or not any(m.groups()):
        raise ValueError(f"bad geometry {spec!r}; expected WxH+X+Y, WxH or +X+Y")
    w, h, x, y = m.groups()
    return (int(w) if w else None, int(h) if h else None, int(x) if x else 40, int(y) if y else 40)


def run_app(make_window: Callable[[], Any], geometry: str | None = None) -> int:
    """Create the QApplication, show the window ``make_window()`` builds, run the event loop.

    The window is shown at its natural size near the top-left of the screen (or where
    ``geometry``, ``WxH+X+Y``, says), raised and activated so it has the keyboard focus when
    tars starts.
    """
    from PySide6.QtWidgets import QApplication

    w, h, x, y = parse_geometry(geometry)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = make_window()
    if w and h:
        window.resize(w, h)
    window.move(x, y)
    window.show()
    window.raise_()
    window.activateWindow()
    return app.exec()
