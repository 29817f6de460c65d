"""A long stream kept on disk rather than in memory: what a listing or a plan of any
length passes through when it must be seen whole before it is used."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterator

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import IO

#: Items a :class:`Spool` keeps in memory; past that they go to its file, in pickled chunks of this many.
CHUNK = 1000


class Spool:
    """Items :meth:`add`-ed in order and read back once, in the same order.

    Up to :data:`CHUNK` items are kept in memory; the rest go to an anonymous
    temporary file (``$TMPDIR``), which is gone once read through or dropped.  On the
    file each item is ``pack(item)`` (something cheaper to pickle) and is read back
    as ``unpack(packed)``.
    """

    def __init__(self, pack: Callable | None = None, unpack: Callable | None = None):
        self.count = 0
        self._pack, self._unpack = pack, unpack
        self._kept: list = []
        self._file: IO[bytes] | None = None

    def add(self, item) -> None:
        self._kept.append(item)
        self.count += 1
        if len(self._kept) == CHUNK:
            import tempfile  # only for a long stream (the s3 command's start-up does without)

            kept = self._kept if self._pack is None else list(map(self._pack, self._kept))
            try:
                self._file = self._file or tempfile.TemporaryFile()
                pickle.dump(kept, self._file, pickle.HIGHEST_PROTOCOL)
            except OSError as err:  # a full disk (or no usable one): say which, and why baiji wrote there
                where = tempfile.tempdir or os.environ.get("TMPDIR") or "the temporary directory"
                raise OSError(err.errno, f"{err.strerror}: a temporary file in {where} "
                                         f"(TMPDIR) holding {self.count:,} entries of a long listing or "
                                         "plan") from err
            self._kept = []

    def __iter__(self) -> Iterator:
        spooled, self._file = self._file, None
        if spooled is not None:
            with spooled:
                spooled.seek(0)
                while True:
                    try:
                        chunk = pickle.load(spooled)
                    except EOFError:
                        break
                    yield from (chunk if self._unpack is None else map(self._unpack, chunk))
        kept, self._kept = self._kept, []
        yield from kept
