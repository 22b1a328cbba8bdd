"""Practice applications: small PySide6 programs that tars ships for its demo, tests and tasks.

Each runs with one command, ``python -m tars.assets.apps.<name> --state FILE``, looks like an
ordinary desktop application (system font, normal sizes, Qt's own widgets) and writes its
observable state as JSON to ``FILE`` after every change, so an evaluator can read what the
agent did without looking at pixels:

* ``signup``   a sign-up form: labelled text fields, a country dropdown, check boxes, buttons;
* ``notes``    a notes editor with a menu bar and a Save dialog (writes real files);
* ``settings`` a settings window with tabs;
* ``todo``     a list you can add items to and delete items from.

:data:`APPS` names them; :func:`app_command` builds the command line that starts one.
"""

from __future__ import annotations

import sys

#: practice app name -> one-line description
APPS: dict[str, str] = {
    "signup": "sign-up form with text fields, a dropdown, check boxes and buttons",
    "notes": "notes editor with a menu bar and a Save dialog",
    "settings": "settings window with tabs",
    "todo": "a to-do list you can add to and delete from",
}


def app_command(name: str, state_file: str, *extra: str, python: str | None = None) -> list[str]:
    """The argv that starts practice app ``name`` writing its state to ``state_file``.

    Raises:
        ValueError: ``name`` is not one of :data:`APPS`.
    """
    if name not in APPS:
        raise ValueError(f"unknown practice app {name!r}; choose one of {', '.join(APPS)}")
    return [python or sys.executable, "-m", f"tars.assets.apps.{name}", "--state", state_file, *extra]
