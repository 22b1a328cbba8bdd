"""What tars does when its standard output cannot take what it prints.

Two cases, each ended without a traceback (issue 16: no path ends in one):

* **The reader went away** (``tars parse | head -c 10``): a ``BrokenPipeError``. tars ends
  quietly with :data:`BROKEN_PIPE_EXIT` (128 + SIGPIPE, what a shell tool killed by SIGPIPE
  reports), as ``cat`` or ``grep`` would.
* **The output cannot be written** (a full disk, ``> /dev/full``): one ``tars: ...`` line on
  stderr and :data:`OUTPUT_ERROR`, BSD sysexits' EX_IOERR.

Either way standard output is then pointed at ``/dev/null`` (:func:`drop`), so the interpreter's
own flush at exit of what is still buffered cannot fail a second time. Imports only ``os`` and
``sys``: the lean ``tars parse`` path uses it.
"""

from __future__ import annotations

import errno
import os
import signal
import sys

#: exit status when the reader of stdout went away: 128 + SIGPIPE (141 on Linux)
BROKEN_PIPE_EXIT = 128 + int(getattr(signal, "SIGPIPE", 13))
#: exit status when stdout cannot be written (a full disk), BSD sysexits' EX_IOERR
OUTPUT_ERROR = 74


#: errors of a write that found no room (a full disk, a quota): the output could not be written
NO_ROOM = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG)


def drop() -> None:
    """Point file descriptor 1 at ``/dev/null`` (what is still buffered is then discarded)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no stdout at all (closed, or not a file)
        pass


def write_failed(exc: OSError) -> int:
    """The exit status for ``exc``, raised while writing or flushing stdout, after saying so:
    nothing for a broken pipe (:data:`BROKEN_PIPE_EXIT`), else one ``tars:`` line on stderr
    (:data:`OUTPUT_ERROR`). Stdout is dropped (:func:`drop`) either way."""
    drop()
    if isinstance(exc, BrokenPipeError):
        return BROKEN_PIPE_EXIT
    print(f"tars: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
    return OUTPUT_ERROR


def write_line(line: str) -> int:
    """Print ``line`` (a newline added) and flush it: 0, or :func:`write_failed`'s status."""
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except OSError as exc:
        return write_failed(exc)
    return 0
