"""A local file read for an upload to S3: what is stored is what was hashed, or nothing is.

A multipart upload reads its file twice: once whole, for the MD5 that baiji
records in the object's metadata (it must be known before the first
request) and the MD5 of each part; then part by part, to send them.
:class:`Source` checks every part it hands over against the first read,
and, after the last, the file's size and modification time against those
it had before the first: a file that changed while it was read raises
:class:`~baiji.exceptions.SourceChanged`, which aborts the upload before it
completes (obstore aborts an upload whose parts iterator raises; boto3's
path aborts on any error), so an object already there stays.  A single PUT,
read once, is held to the same rule.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import BinaryIO

from baiji import integrity
from baiji.exceptions import SourceChanged

#: The most one ``pread`` returns on Linux (2 GiB - 4 KiB): larger reads take several.
_MAX_READ = 0x7FFFF000


def _stamp(fd: int) -> tuple[int, int]:
    """What tells that a file changed: its size and modification time (ns)."""
    found = os.fstat(fd)
    return found.st_size, found.st_mtime_ns


def _pread(fd: int, length: int, offset: int) -> bytes:
    """``length`` bytes at ``offset`` (fewer only where the file ends)."""
    chunks = []
    while length:
        chunk = os.pread(fd, min(length, _MAX_READ), offset)
        if not chunk:
            break
        chunks.append(chunk)
        length, offset = length - len(chunk), offset + len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class Source:
    """The local file ``path``, open as the binary file ``f``, read for an upload to ``url``.

    ``size``: its size when this was made.  :meth:`whole` reads it for one
    PUT; :meth:`hash` reads it a first time (``md5``, the parts' digests),
    :meth:`part` and :meth:`parts` a second.  ``failure``: the
    ``SourceChanged`` raised, if any (obstore reports an Abort's failure
    instead of it).
    """

    def __init__(self, path: str, f: BinaryIO, url: str):
        self.path, self.url, self._f, self._fd = path, url, f, f.fileno()
        self._stamp = _stamp(self._fd)
        self.mtime_ns = self._stamp[1]
        self.size = self._stamp[0]
        self.part_size = max(self.size, 1)
        self.md5: str | None = None
        self._digests: list[bytes] = []
        self.failure: SourceChanged | None = None

    def whole(self) -> bytes:
        """All of it, for one PUT."""
        data = _pread(self._fd, self.size, 0)
        self.check(len(data) == self.size)
        return data

    def hash(self, part_size: int) -> None:
        """The first read: ``md5``, and the digest of each ``part_size`` part."""
        self.part_size = part_size
        self._f.seek(0)
        self.md5, self._digests = integrity.file_hashes(self._f, part_size)

    @property
    def count(self) -> int:
        """How many parts it has."""
        return max(1, -(-self.size // self.part_size))

    @property
    def etag(self) -> str:
        """The ETag of its multipart upload (from the first read)."""
        return integrity.multipart_etag(self._digests)

    def span(self, number: int) -> tuple[int, int]:
        """``(offset, length)`` of part ``number`` (from 1)."""
        offset = (number - 1) * self.part_size
        return offset, min(self.part_size, self.size - offset)

    def part_md5(self, number: int) -> str:
        """The hex MD5 that the first read found for part ``number``: the ETag a server gives it."""
        return self._digests[number - 1].hex()

    def part(self, number: int) -> tuple[bytes, bytes]:
        """Part ``number`` (from 1) and its MD5 digest, read again: it must be what the first read hashed."""
        offset, length = self.span(number)
        data = _pread(self._fd, length, offset)
        digest = hashlib.md5(data).digest()
        self.check(len(data) == length and number <= len(self._digests) and digest == self._digests[number - 1])
        return data, digest

    def parts(self) -> Iterator[bytes]:
        """Every part in order, then a last look at the file (for obstore, which pulls them)."""
        for number in range(1, self.count + 1):
            yield self.part(number)[0]
        self.check()

    def check(self, same: bool = True) -> None:
        """``SourceChanged`` unless ``same`` and the file's size and modification time are those it
        had when this was made."""
        if same and _stamp(self._fd) == self._stamp:
            return
        self.failure = SourceChanged(f"{self.path} changed while it was read (uploading to {self.url}); "
                                     "nothing was stored: upload it again once it is complete")
        raise self.failure
