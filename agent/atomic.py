"""Writing a file so that readers see the old version or the new one, never a part.

The data goes to ``NAME.tmp`` beside the file and is renamed over it (``os.replace`` is atomic
on one file system). A write that fails (a full disk, an interrupt) removes its ``.tmp``, so no
0-byte leftover lies beside the last good file (issue 16, item 11).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Callable


def write_atomic(path: str | os.PathLike, fill: Callable[[BinaryIO], object], sync: bool = True) -> None:
    """Write ``path`` through ``fill(f)`` (``f`` a binary file open on ``path``'s ``.tmp``), then
    rename it into place. ``sync``: flush the bytes to the disk before the rename (the
    trajectory's JSON files); without it, only the rename is atomic (screenshots).

    Raises:
        OSError: the write or the rename failed (the ``.tmp`` is removed; ``path`` untouched).
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            fill(f)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
