"""Room kept on disk for a file that must be written even when the disk fills up (issue 16,
item 11: a run that ends because the disk is full must still say so in its result.json).

:class:`Reserve` writes a file of ``size`` zero bytes when a run starts (so a disk too full for
that fails at the start, with a clear error, before anything happened). At the end the final
file's bytes are written *over* those bytes, the file is cut to length, flushed, and renamed
onto the final name: overwriting blocks a file already owns needs no new ones, so this works
however full the disk is by then. A file larger than the room is written the ordinary way
(the reserve is kept until that succeeded); if that fails, a shorter version of the data that
fits goes into the reserve.

The guarantee holds on file systems that overwrite in place (ext4, XFS, tmpfs); on
copy-on-write ones (btrfs, ZFS) an overwrite needs new blocks, and a full disk can still
refuse it.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Callable

from tars.agent.atomic import write_atomic

#: bytes kept for result.json (a run's result is a few hundred bytes; a long ``finished``
#: content or error is shortened to fit when the disk is full)
RESULT_RESERVE_BYTES = 32 * 1024


class Reserve:
    """``size`` bytes kept at ``path`` (a file beside the final one, same folder)."""

    def __init__(self, path: str | os.PathLike, size: int = RESULT_RESERVE_BYTES):
        self.path = Path(path)
        self.size = size
        self.held = False

    def make(self) -> None:
        """Write the ``size`` bytes and flush them to disk.

        Raises:
            OSError: the disk has no room (the partial file is removed).
        """
        try:
            with open(self.path, "wb") as f:
                f.write(bytes(self.size))  # real bytes, not a sparse hole: the blocks are ours
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            self.release()
            raise
        self.held = True

    def release(self) -> None:
        """Give the room back (remove the file); nothing happens when there is none."""
        self.held = False
        try:
            self.path.unlink()
        except OSError:
            pass

    def write(self, final: str | os.PathLike, data: bytes,
              shorter: Callable[[int], bytes] | None = None) -> None:
        """Put ``data`` at ``final`` atomically (a reader sees the old file or the whole new one).

        Within the room: written over the reserve, which is renamed onto ``final``. Larger:
        written the ordinary way (a temporary file renamed into place) with the reserve still
        kept, and the reserve given back once that succeeded; when it fails (the disk is full)
        and ``shorter`` is given, ``shorter(limit)`` (at most ``limit`` bytes) goes into the
        reserve instead.

        Raises:
            OSError: the file cannot be written (no reserve was made and the disk is full, or
                the folder is gone).
        """
        final = Path(final)
        if self.held and len(data) <= self.size:
            self._into_reserve(final, data)
            return
        try:
            write_atomic(final, lambda f: f.write(data))
        except OSError:
            if not (self.held and shorter is not None):
                raise
            self._into_reserve(final, shorter(self.size))
            return
        self.release()

    def _into_reserve(self, final: Path, data: bytes) -> None:
        if len(data) > self.size:
            raise OSError(errno.ENOSPC, f"{len(data)} bytes do not fit in the {self.size} reserved")
        with open(self.path, "r+b") as f:  # over the bytes the file already owns
            f.write(data)
            f.truncate(len(data))
            f.flush()
            os.fsync(f.fileno())
        os.replace(self.path, final)
        self.held = False
