"""The `tars` command line (typer). Each command imports its heavy parts lazily, so that
`tars parse` and `tars --help` stay fast and work without torch, Qt or a display.

Exit status (DESIGN.md): 0 when a run finished, 1 on call_user, limits or a failed
evaluation, 2 on bad input with a one-line reason on stderr.
"""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    name="tars",
    help="tars: a desktop GUI agent in the style of UI-TARS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(message: str, code: int = 2) -> "typer.Exit":
    """Print a one-line reason on stderr and return the Exit to raise."""
    print(f"tars: {message}".replace("\n", " "), file=sys.stderr)
    return typer.Exit(code)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
