"""Practice app: a to-do list you can add to and delete from.

A "New item" field with an Add button (Enter in the field adds too), the list, and a Delete
button that removes the selected item. Starts with a few items (``--items`` to change them).

State JSON: ``{"app": "todo", "items": [str, ...], "selected": str | null}``.

Run: ``python -m tars.assets.apps.todo --state /tmp/todo.json``
"""

from __future__ import annotations

from tars.assets.apps._common import parse_args, run_app, write_state

DEFAULT_ITEMS = ["Buy milk", "Call the plumber", "Water the plants"]


def build(state_file: str, items: list[str], title: str | None = None):
    """Build the to-do window (a QWidget) holding ``items``, writing state to ``state_file``."""
    from PySide6.QtWidgets import (
        QHBoxLayout,
        QLabel,
        QLineEdit,
        QListWidget,
        QPushButton,
        QVBoxLayout,
        QWidget,
    )

    win = QWidget()
    win.setWindowTitle(title or "To-do list")
    outer = QVBoxLayout(win)
    row = QHBoxLayout()
    row.addWidget(QLabel("New item:"))
    entry = QLineEdit()
    entry.setMinimumWidth(240)
    add = QPushButton("Add")
    row.addWidget(entry)
    row.addWidget(add)
    outer.addLayout(row)
    listing = QListWidget()
    listing.addItems(items)
    listing.setMinimumHeight(220)
    outer.addWidget(listing)
    bottom = QHBoxLayout()
    bottom.addStretch(1)
    delete = QPushButton("Delete")
    bottom.addWidget(delete)
    outer.addLayout(bottom)

    def save() -> None:
        current = listing.currentItem()
        write_state(state_file, {
            "app": "todo",
            "items": [listing.item(i).text() for i in range(listing.count())],
            "selected": current.text() if current is not None and current.isSelected() else None,
        })

    def on_add() -> None:
        text = entry.text().strip()
        if text:
            listing.addItem(text)
            entry.clear()
        save()

    def on_delete() -> None:
        row_index = listing.currentRow()
        if row_index >= 0 and listing.currentItem().isSelected():
            listing.takeItem(row_index)
        save()

    add.clicked.connect(on_add)
    entry.returnPressed.connect(on_add)
    delete.clicked.connect(on_delete)
    listing.itemSelectionChanged.connect(save)
    save()
    return win


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m tars.assets.apps.todo --state FILE [--items a,b,c]``."""
    args = parse_args(
        "tars practice app: a to-do list", argv,
        extra=lambda p: p.add_argument("--items", default=",".join(DEFAULT_ITEMS),
                                       help="comma-separated starting items"),
    )
    items = [s.strip() for s in args.items.split(",") if s.strip()]
    return run_app(lambda: build(args.state, items, args.title), args.geometry)


if __name__ == "__main__":
    raise SystemExit(main())
