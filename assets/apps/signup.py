"""Practice app: a sign-up form.

Full name, Email and Password fields with labels to their left, a Country dropdown, a
"Comments" field with its label above it, two check boxes, and Submit / Clear buttons.
Submitting with "I agree to the terms" checked records the submission; without it the form
says so and records nothing.

State JSON: ``{"app": "signup", "fields": {"full_name", "email", "password", "country",
"comments"}, "agree": bool, "newsletter": bool, "submitted": [fields..., ...], "message": str}``.

Run: ``python -m tars.assets.apps.signup --state /tmp/signup.json``
"""

from __future__ import annotations

from tars.assets.apps._common import parse_args, run_app, write_state

COUNTRIES = ["Choose a country", "Brazil", "Canada", "France", "Germany", "Japan", "Kenya", "Spain"]


def build(state_file: str, title: str | None = None):
    """Build the sign-up window (a QWidget) writing its state to ``state_file``."""
    from PySide6.QtWidgets import (
        QCheckBox,
        QComboBox,
        QFormLayout,
        QHBoxLayout,
        QLabel,
        QLineEdit,
        QPushButton,
        QVBoxLayout,
        QWidget,
    )

    win = QWidget()
    win.setWindowTitle(title or "Sign up")
    outer = QVBoxLayout(win)
    heading = QLabel("Create your account")
    font = heading.font()
    font.setPointSizeF(font.pointSizeF() * 1.3)
    font.setBold(True)
    heading.setFont(font)
    outer.addWidget(heading)

    form = QFormLayout()
    name, email, password = QLineEdit(), QLineEdit(), QLineEdit()
    password.setEchoMode(QLineEdit.EchoMode.Password)
    for edit in (name, email, password):
        edit.setMinimumWidth(260)
    country = QComboBox()
    country.addItems(COUNTRIES)
    form.addRow("Full name:", name)
    form.addRow("Email:", email)
    form.addRow("Password:", password)
    form.addRow("Country:", country)
    outer.addLayout(form)

    outer.addWidget(QLabel("Comments"))
    comments = QLineEdit()
    outer.addWidget(comments)

    agree = QCheckBox("I agree to the terms")
    newsletter = QCheckBox("Send me the newsletter")
    newsletter.setChecked(True)
    outer.addWidget(agree)
    outer.addWidget(newsletter)

    message = QLabel("")
    outer.addWidget(message)
    buttons = QHBoxLayout()
    clear, submit = QPushButton("Clear"), QPushButton("Submit")
    buttons.addStretch(1)
    buttons.addWidget(clear)
    buttons.addWidget(submit)
    outer.addLayout(buttons)

    submitted: list[dict] = []

    def fields() -> dict:
        return {
            "full_name": name.text(), "email": email.text(), "password": password.text(),
            "country": country.currentText() if country.currentIndex() > 0 else "",
            "comments": comments.text(),
        }

    def save() -> None:
        write_state(state_file, {
            "app": "signup", "fields": fields(), "agree": agree.isChecked(),
            "newsletter": newsletter.isChecked(), "submitted": submitted, "message": message.text(),
        })

    def on_submit() -> None:
        if not agree.isChecked():
            message.setText("Please agree to the terms first.")
        elif not name.text().strip():
            message.setText("Please enter your full name.")
        else:
            submitted.append(dict(fields(), newsletter=newsletter.isChecked()))
            message.setText(f"Welcome, {name.text().strip()}!")
        save()

    def on_clear() -> None:
        for edit in (name, email, password, comments):
            edit.clear()
        country.setCurrentIndex(0)
        agree.setChecked(False)
        message.setText("")
        save()

    for edit in (name, email, password, comments):
        edit.textChanged.connect(save)
    country.currentIndexChanged.connect(save)
    agree.toggled.connect(save)
    newsletter.toggled.connect(save)
    submit.clicked.connect(on_submit)
    clear.clicked.connect(on_clear)
    save()
    return win


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m tars.assets.apps.signup --state FILE``."""
    args = parse_args("tars practice app: a sign-up form", argv)
    return run_app(lambda: build(args.state, args.title), args.geometry)


if __name__ == "__main__":
    raise SystemExit(main())
