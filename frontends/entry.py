"""The ``tars`` console script and ``python -m tars``.

``tars parse`` with well-formed options runs without importing Typer, Rich or pydantic
(:func:`tars.frontends.parse_cmd.lean_main`): it is the command scripts call in loops, and its
start-up is measured in benchmarks/bench_parse.py. Everything else goes to the Typer command
line in :mod:`tars.frontends.cli`.
"""

from __future__ import annotations

import sys


def _dispatch(args: list[str]) -> None:
    if args[:1] == ["parse"]:
        from tars.frontends.parse_cmd import lean_main

        code = lean_main(args[1:])
        if code is not None:
            sys.exit(code)
    from tars.frontends.cli import main as cli_main

    cli_main()


def main() -> None:
    """Console-script entry point (exit status as :func:`tars.frontends.cli.main`; a stdout
    that cannot take the output: :mod:`tars.frontends.stdout`)."""
    try:
        try:
            _dispatch(sys.argv[1:])
        finally:  # inside the handlers below: a failed flush is reported like a failed print
            sys.stdout.flush()
    except OSError as exc:  # only stdout's writes get here: cli.main reports every other error
        from tars.frontends import stdout

        sys.exit(stdout.write_failed(exc))


if __name__ == "__main__":
    main()
