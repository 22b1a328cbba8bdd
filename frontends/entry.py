"""The ``tars`` console script and ``python -m tars``.

``tars parse`` with well-formed options runs without importing Typer, Rich or pydantic
(:func:`tars.frontends.parse_cmd.lean_main`): it is the command scripts call in loops, and its
start-up is measured in benchmarks/bench_parse.py. Everything else goes to the Typer command
line in :mod:`tars.frontends.cli`.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Console-script entry point (exit status as :func:`tars.frontends.cli.main`)."""
    args = sys.argv[1:]
    if args[:1] == ["parse"]:
        from tars.frontends.parse_cmd import lean_main

        code = lean_main(args[1:])
        if code is not None:
            sys.exit(code)
    from tars.frontends.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
