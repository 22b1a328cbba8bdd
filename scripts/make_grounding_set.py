#!/usr/bin/env python3
"""Build the practice grounding set (assets/grounding/) from the practice apps' real widgets.

Each practice app (assets/apps/) is shown on a virtual X display (Xvfb + openbox, started
here), the whole screen is captured, and every visible control becomes one record whose box is
the widget's real geometry on screen (``QWidget.mapToGlobal`` + ``size``, ``QTabBar.tabRect``,
``QMenuBar.actionGeometry``, ``QListWidget.visualItemRect``), never a guess from OCR. The
records use the ScreenSpot-Pro format (``bbox`` = x1, y1, x2, y2 in image pixels, ``img_size``,
``ui_type`` text/icon, ``platform``, ``application``, ``group``), so
``tars eval grounding assets/grounding`` reads them like the published sets.

Run from the repository root:  python scripts/make_grounding_set.py [--out assets/grounding]
Needs Xvfb, openbox and PySide6. Screens are 1024x640 and saved as optimised PNGs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WIDTH, HEIGHT = 1024, 640


def _clean(text: str) -> str:
    # Qt mnemonics ("&File") are not shown as '&'
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").strip()


def _rect(widget, rect=None):
    """Global (x1, y1, x2, y2) of ``rect`` (widget coordinates; default the whole widget)."""
    from PySide6.QtCore import QPoint

    r = rect if rect is not None else widget.rect()
    top_left = widget.mapToGlobal(QPoint(r.x(), r.y()))
    return [top_left.x(), top_left.y(), top_left.x() + r.width(), top_left.y() + r.height()]


def _field_name(field, labels):
    """The label naming an input: its buddy label, else the nearest label to its left on the
    same row, else the label right above it."""
    for label in labels:
        if label.buddy() is field:
            return _clean(label.text()).rstrip(":")
    fx1, fy1, fx2, fy2 = _rect(field)
    fcy = (fy1 + fy2) / 2
    best = None
    for label in labels:
        x1, y1, x2, y2 = _rect(label)
        if x2 <= fx1 + 2 and abs((y1 + y2) / 2 - fcy) < (fy2 - fy1) / 2 and (best is None or x2 > best[0]):
            best = (x2, label)
    if best is None:
        for label in labels:
            x1, y1, x2, y2 = _rect(label)
            if 0 <= fy1 - y2 <= 30 and abs(x1 - fx1) < 40:
                best = (0, label)
    return _clean(best[1].text()).rstrip(":") if best else None


def elements(window):
    """(instruction, box, ui_type) for every visible control of ``window``."""
    from PySide6.QtWidgets import (
        QAbstractButton,
        QCheckBox,
        QComboBox,
        QLabel,
        QLineEdit,
        QListWidget,
        QMenuBar,
        QPlainTextEdit,
        QSpinBox,
        QTabBar,
        QWidget,
    )

    visible = [w for w in window.findChildren(QWidget) if w.isVisible()
               and w.width() > 2 and w.height() > 2]
    labels = [w for w in visible if isinstance(w, QLabel) and _clean(w.text())]
    out = []
    for w in visible:
        if isinstance(w, QCheckBox) and _clean(w.text()):
            out.append((f'the "{_clean(w.text())}" check box', _rect(w), "text"))
        elif isinstance(w, QAbstractButton) and not isinstance(w, QCheckBox) and _clean(w.text()) \
                and type(w).__name__ == "QPushButton":
            out.append((f'the "{_clean(w.text())}" button', _rect(w), "text"))
        elif isinstance(w, QLabel) and _clean(w.text()):
            out.append((f'the text "{_clean(w.text()).rstrip(":")}"', _rect(w), "text"))
        elif isinstance(w, (QLineEdit, QSpinBox, QComboBox, QPlainTextEdit)):
            if isinstance(w, QLineEdit) and isinstance(w.parent(), (QSpinBox, QComboBox)):
                continue  # the editor inside a spin box: the spin box is the element
            name = _field_name(w, labels)
            kind = "dropdown" if isinstance(w, QComboBox) else "field"
            if isinstance(w, QPlainTextEdit):
                out.append(("the text editing area", _rect(w), "icon"))
            elif name:
                out.append((f"the {name} {kind}", _rect(w), "icon"))
        elif isinstance(w, QTabBar):
            for i in range(w.count()):
                out.append((f'the "{_clean(w.tabText(i))}" tab', _rect(w, w.tabRect(i)), "text"))
        elif isinstance(w, QMenuBar):
            for action in w.actions():
                geo = w.actionGeometry(action)
                if geo.width() > 0:
                    out.append((f'the "{_clean(action.text())}" menu', _rect(w, geo), "text"))
        elif isinstance(w, QListWidget):
            vp = w.viewport()
            for i in range(w.count()):
                item = w.item(i)
                out.append((f'the list item "{item.text()}"', _rect(vp, w.visualItemRect(item)), "text"))
    # one record per instruction (duplicates would be ambiguous questions)
    seen, unique = set(), []
    for ins, box, kind in out:
        if ins not in seen:
            seen.add(ins)
            unique.append((ins, box, kind))
    return unique


def views(tmp: Path):
    """(application, view name, build function, setup(window)) for each screen to capture."""
    from tars.assets.apps import notes, settings, signup, todo

    def tab(index):
        def go(win):
            from PySide6.QtWidgets import QTabWidget

            win.findChild(QTabWidget).setCurrentIndex(index)
        return go

    return [
        ("signup", "form", lambda: signup.build(str(tmp / "signup.json")), None),
        ("todo", "list", lambda: todo.build(str(tmp / "todo.json"), list(todo.DEFAULT_ITEMS)), None),
        ("settings", "general", lambda: settings.build(str(tmp / "settings.json")), tab(0)),
        ("settings", "appearance", lambda: settings.build(str(tmp / "settings.json")), tab(1)),
        ("settings", "privacy", lambda: settings.build(str(tmp / "settings.json")), tab(2)),
        ("notes", "editor", lambda: notes.build(str(tmp / "notes.json"), str(tmp)), None),
    ]


def build_set(out: Path) -> list[dict]:
    """Capture every view into ``out/images`` and return the records (also written)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    records: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for application, view, build, setup in views(Path(tmp)):
            win = build()
            win.move(40, 40)
            win.show()
            win.raise_()
            win.activateWindow()
            if setup:
                setup(win)
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:  # let the WM map and decorate, Qt paint
                app.processEvents()
                time.sleep(0.02)
            screen = app.primaryScreen()
            shot = screen.grabWindow(0)
            name = f"{application}-{view}.png"
            _save_png(shot.toImage(), images / name)
            for n, (instruction, box, kind) in enumerate(elements(win), 1):
                x1, y1, x2, y2 = box
                if x1 < 0 or y1 < 0 or x2 > WIDTH or y2 > HEIGHT:
                    continue
                records.append({
                    "id": f"{application}-{view}-{n:02d}", "img_filename": name, "bbox": box,
                    "img_size": [WIDTH, HEIGHT], "instruction": instruction, "ui_type": kind,
                    "platform": "linux", "application": application, "group": "practice",
                })
            win.close()
            win.deleteLater()
            app.processEvents()
    (out / "practice.json").write_text(json.dumps(records, indent=1) + "\n")
    return records


def _save_png(qimage, path: Path) -> None:
    """Save as a small PNG: through Pillow, quantised to 64 colours (flat UI colours)."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice

    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    qimage.save(buf, "PNG")
    import io

    im = Image.open(io.BytesIO(bytes(buf.data()))).convert("RGB")
    im.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "assets" / "grounding"))
    args = parser.parse_args()
    from tars.agent.display import VirtualDisplay

    with VirtualDisplay(WIDTH, HEIGHT) as display:
        os.environ.update(display.env())
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        records = build_set(Path(args.out))
    print(f"{len(records)} records, {len({r['img_filename'] for r in records})} images in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
