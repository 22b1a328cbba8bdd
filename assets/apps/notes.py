"""Practice app: a notes editor with a menu bar and a Save dialog.

A text area under a menu bar: File (New, Save, Save As..., Quit) and Edit (Select All, Clear).
Save on a new note opens Qt's own Save dialog (not the desktop's native one, so it looks the
same everywhere) in the ``--dir`` folder; the note is written there as a real file.

State JSON: ``{"app": "notes", "text": str, "file": str | null, "saved": {path: text},
"modified": bool}``.

Run: ``python -m tars.assets.apps.notes --state /tmp/notes.json [--dir FOLDER]``
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tars.assets.apps._common import parse_args, run_app, write_state


def build(state_file: str, folder: str, title: str | None = None):
    """Build the notes window (a QMainWindow) saving into ``folder``, state in ``state_file``."""
    from PySide6.QtGui import QAction, QKeySequence
    from PySide6.QtWidgets import QFileDialog, QMainWindow, QPlainTextEdit

    win = QMainWindow()
    base_title = title or "Notes"
    editor = QPlainTextEdit()
    win.setCentralWidget(editor)
    win.resize(640, 420)
    doc: dict[str, Any] = {"file": None, "saved": {}, "modified": False}

    def refresh_title() -> None:
        name = Path(doc["file"]).name if doc["file"] else "Untitled"
        win.setWindowTitle(f"{'*' if doc['modified'] else ''}{name} - {base_title}")

    def save_state() -> None:
        write_state(state_file, {
            "app": "notes", "text": editor.toPlainText(), "file": doc["file"],
            "saved": doc["saved"], "modified": doc["modified"],
        })

    def write_to(path: str) -> None:
        text = editor.toPlainText()
        Path(path).write_text(text, encoding="utf-8")
        doc["file"] = path
        doc["saved"][path] = text
        doc["modified"] = False
        refresh_title()
        save_state()

    def save_as() -> None:
        dialog = QFileDialog(win, "Save note", folder, "Text files (*.txt);;All files (*)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setDefaultSuffix("txt")
        if dialog.exec():
            write_to(dialog.selectedFiles()[0])

    def save() -> None:
        if doc["file"]:
            write_to(doc["file"])
        else:
            save_as()

    def new() -> None:
        editor.clear()
        doc.update(file=None, modified=False)
        refresh_title()
        save_state()

    def on_change() -> None:
        doc["modified"] = True
        refresh_title()
        save_state()

    file_menu = win.menuBar().addMenu("&File")
    edit_menu = win.menuBar().addMenu("&Edit")
    for menu, label, shortcut, slot in (
        (file_menu, "&New", QKeySequence.StandardKey.New, new),
        (file_menu, "&Save", QKeySequence.StandardKey.Save, save),
        (file_menu, "Save &As...", QKeySequence("Ctrl+Shift+S"), save_as),
        (file_menu, "&Quit", QKeySequence("Ctrl+Q"), win.close),
        (edit_menu, "Select &All", QKeySequence.StandardKey.SelectAll, editor.selectAll),
        (edit_menu, "&Clear", QKeySequence(), editor.clear),
    ):
        action = QAction(label, win)
        action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
    editor.textChanged.connect(on_change)
    refresh_title()
    save_state()
    return win


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m tars.assets.apps.notes --state FILE [--dir FOLDER]``."""
    args = parse_args(
        "tars practice app: a notes editor", argv,
        extra=lambda p: p.add_argument("--dir", default=None,
                                       help="folder the Save dialog opens in (default: the state file's)"),
    )
    folder = args.dir or os.path.dirname(os.path.abspath(args.state))
    return run_app(lambda: build(args.state, folder, args.title), args.geometry)


if __name__ == "__main__":
    raise SystemExit(main())
