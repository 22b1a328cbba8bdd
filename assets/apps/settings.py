"""Practice app: a settings window with tabs.

Tabs General (Username field, "Start on login" and "Check for updates" check boxes),
Appearance (Theme dropdown, Font size box) and Privacy ("Send usage statistics" check box,
"Clear history" button); Apply stores the values, Cancel puts back the stored ones.

State JSON: ``{"app": "settings", "tab": str, "values": {...}, "applied": {...},
"history_cleared": bool}`` where values/applied hold ``username``, ``start_on_login``,
``check_updates``, ``theme``, ``font_size``, ``usage_statistics``.

Run: ``python -m tars.assets.apps.settings --state /tmp/settings.json``
"""

from __future__ import annotations

from tars.assets.apps._common import parse_args, run_app, write_state

THEMES = ["Light", "Dark", "High contrast", "Follow system"]
DEFAULTS = {
    "username": "guest", "start_on_login": False, "check_updates": True, "theme": "Light",
    "font_size": 11, "usage_statistics": True,
}


def build(state_file: str, title: str | None = None):
    """Build the settings window (a QWidget) writing its state to ``state_file``."""
    from PySide6.QtWidgets import (
        QCheckBox,
        QComboBox,
        QFormLayout,
        QHBoxLayout,
        QLineEdit,
        QPushButton,
        QSpinBox,
        QTabWidget,
        QVBoxLayout,
        QWidget,
    )

    win = QWidget()
    win.setWindowTitle(title or "Settings")
    outer = QVBoxLayout(win)
    tabs = QTabWidget()
    outer.addWidget(tabs)

    general = QWidget()
    g = QFormLayout(general)
    username = QLineEdit()
    username.setMinimumWidth(220)
    start_on_login = QCheckBox("Start on login")
    check_updates = QCheckBox("Check for updates")
    g.addRow("Username:", username)
    g.addRow(start_on_login)
    g.addRow(check_updates)
    tabs.addTab(general, "General")

    appearance = QWidget()
    a = QFormLayout(appearance)
    theme = QComboBox()
    theme.addItems(THEMES)
    font_size = QSpinBox()
    font_size.setRange(6, 32)
    a.addRow("Theme:", theme)
    a.addRow("Font size:", font_size)
    tabs.addTab(appearance, "Appearance")

    privacy = QWidget()
    p = QVBoxLayout(privacy)
    usage = QCheckBox("Send usage statistics")
    clear_history = QPushButton("Clear history")
    p.addWidget(usage)
    p.addWidget(clear_history)
    p.addStretch(1)
    tabs.addTab(privacy, "Privacy")

    buttons = QHBoxLayout()
    buttons.addStretch(1)
    cancel, apply = QPushButton("Cancel"), QPushButton("Apply")
    buttons.addWidget(cancel)
    buttons.addWidget(apply)
    outer.addLayout(buttons)

    applied = dict(DEFAULTS)
    flags = {"history_cleared": False}

    def values() -> dict:
        return {
            "username": username.text(), "start_on_login": start_on_login.isChecked(),
            "check_updates": check_updates.isChecked(), "theme": theme.currentText(),
            "font_size": font_size.value(), "usage_statistics": usage.isChecked(),
        }

    def show(v: dict) -> None:
        username.setText(v["username"])
        start_on_login.setChecked(v["start_on_login"])
        check_updates.setChecked(v["check_updates"])
        theme.setCurrentText(v["theme"])
        font_size.setValue(v["font_size"])
        usage.setChecked(v["usage_statistics"])

    def save() -> None:
        write_state(state_file, {
            "app": "settings", "tab": tabs.tabText(tabs.currentIndex()), "values": values(),
            "applied": applied, "history_cleared": flags["history_cleared"],
        })

    def on_apply() -> None:
        applied.update(values())
        save()

    def on_clear_history() -> None:
        flags["history_cleared"] = True
        save()

    show(DEFAULTS)
    username.textChanged.connect(save)
    for box in (start_on_login, check_updates, usage):
        box.toggled.connect(save)
    theme.currentIndexChanged.connect(save)
    font_size.valueChanged.connect(save)
    tabs.currentChanged.connect(save)
    apply.clicked.connect(on_apply)
    def on_cancel() -> None:
        show(applied)
        save()

    cancel.clicked.connect(on_cancel)
    clear_history.clicked.connect(on_clear_history)
    win.resize(460, 300)
    save()
    return win


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m tars.assets.apps.settings --state FILE``."""
    args = parse_args("tars practice app: a settings window with tabs", argv)
    return run_app(lambda: build(args.state, args.title), args.geometry)


if __name__ == "__main__":
    raise SystemExit(main())
