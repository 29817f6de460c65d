"""Response bodies into local files: exact lengths, hashed as they arrive, checked.

:func:`drain` copies a body (boto3's, or an engine GET through :class:`Body`)
into a file at an offset and returns the MD5 and/or the object's checksum
digest of what it wrote; :func:`verdict` and :func:`content_verdict` decide
from those digests, or from the file, whether a download holds the object's
content.

What decides, in this order: an MD5 (a plain ETag, or the one baiji records
at multipart upload); a multipart ETag that the pieces reproduce; S3's
additional checksum (:class:`baiji.integrity.Checksum`), alone where it can
decide alone (:func:`checksum_alone`: no MD5 is then computed).  A mismatch
is certain against an MD5 and against a checksum whose layout is known (a
full-object one; a composite one with the part size the server gave); a
multipart ETag that no part size reproduces, with no checksum, proves
nothing either way.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
from collections.abc import Iterator

from baiji import integrity
from baiji.stores.base import Entry, Progress
from baiji.stores.s3_errors import EngineError, boto_stream_errors

log = logging.getLogger(__name__)

#: Bytes handed to the hash and the file at a time.
READ = 1024 * 1024
#: Size of the blocks the engine hands over (bigger: less Python per byte).
CHUNK = 8 * READ


#: What a range's hashes are: ``(md5 digest or None, checksum digest or None, length)``.
Piece = tuple


def content_verdict(path: str, entry: Entry) -> bool | None:
    """Whether the local file holds the object's content: True or False where the entry's MD5,
    ETag or checksum can tell, None where none can (see the module docstring)."""
    if entry.md5:
        return integrity.md5_file(path) == entry.md5
    if entry.etag and entry.etag_is_md5 and "-" in entry.etag and integrity.file_matches_etag(
            path, entry.etag, entry.part_size or integrity.PART_SIZE):
        return True
    if entry.checksum:
        return integrity.file_checksum_verdict(path, entry.checksum, entry.part_size)
    return None


def basis(entry: Entry) -> str:
    """What a download of ``entry`` is checked against, as its failure names it."""
    return f"{entry.checksum.algorithm} checksum" if entry.checksum and not entry.md5 else "ETag"


def accepted(entry: Entry, found: bool | None) -> bool:
    """Whether a download with this verdict is kept: all but a certain mismatch (its length was
    checked anyway; one nothing could verify is logged)."""
    if found is None:
        log.debug("%s: content not verified (a multipart ETag of an unknown part size, or no content "
                  "hash, and no checksum that tells)", entry.url)
    return found is not False


class Truncated(Exception):
    """A response body ended (or broke off) before the bytes it promised."""


def retryable_reads() -> tuple:
    """Errors of a body read that another request may cure."""
    return boto_stream_errors() + (Truncated,)


class Body:
    """The body of an engine GET as a file-like ``read(n)`` (a broken body raises ``Truncated``).

    Blocks are views into the engine's chunks: nothing is copied on the way
    to the hash and the file.
    """

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks, self._left = chunks, memoryview(b"")

    def read(self, size: int = -1):
        if size < 0:
            parts = [bytes(self._left)]
            while chunk := self._next():
                parts.append(chunk)
            self._left = memoryview(b"")
            return b"".join(parts)
        if not self._left:
            self._left = memoryview(self._next())
        block, self._left = self._left[:size], self._left[size:]
        return block

    def _next(self) -> bytes:
        try:
            return next(self._chunks, b"")
        except EngineError as err:
            raise Truncated(f"connection lost while reading ({err.kind})") from err

    def close(self) -> None:
        self._chunks = iter(())


def range_size(entry: Entry) -> int:
    """The size of ranged GETs for a large object: its own part size where its server or its ETag tells."""
    if entry.part_size:
        return entry.part_size
    parts = integrity.part_count(entry.etag or "") if entry.etag_is_md5 else None
    candidates = integrity.candidate_part_sizes(entry.size or 0, parts) if parts else []
    return candidates[0] if candidates else integrity.PART_SIZE


def verdict(entry: Entry, pieces: list[Piece]) -> bool | None:
    """Whether the ranges' digests prove the content right (True) or wrong (False).

    None when they cannot tell: a plain MD5 split over several ranges, a
    multipart ETag whose part size was guessed wrong, a SHA checksum over
    several ranges.  The file must then be read again (``content_verdict``).
    """
    md5s = [md5 for md5, _, _ in pieces]
    if len(md5s) == 1 and entry.md5 and md5s[0]:  # a plain ETag, or baiji's recorded MD5
        return md5s[0].hex() == entry.md5
    etag = (entry.etag or "") if entry.etag_is_md5 else ""  # Entry ETags come normalized
    if "-" in etag and None not in md5s and integrity.multipart_etag(md5s) == etag:
        return True
    checksum = entry.checksum
    if checksum and all(digest is not None for _, digest, _ in pieces):
        return integrity.checksum_verdict(checksum, [(digest, length) for _, digest, length in pieces],
                                          True if entry.part_size else None)
    return None


def checksum_alone(entry: Entry) -> bool:
    """Whether the ranges' checksum digests decide alone, so that no MD5 is computed: a full-object
    CRC (CRCs combine), or any checksum of an object whose part size its server told."""
    checksum = entry.checksum
    return checksum is not None and (entry.part_size is not None or (
        checksum.kind == integrity.FULL_OBJECT and not checksum.algorithm.startswith("SHA")))


def pwrite_all(fd: int, data: bytes, offset: int) -> None:
    """Write all of ``data`` at ``offset``: ``os.pwrite`` may write less (a disk filling up)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        if not written:  # no error, no progress: never loop forever
            raise OSError(errno.EIO, "write made no progress")
        view, offset = view[written:], offset + written


def drain(body, fd: int, offset: int, length: int, progress: Progress, algorithm: str | None = None,
          md5: bool = True) -> Piece:
    """Copy exactly ``length`` bytes of ``body`` into ``fd`` at ``offset``; their :data:`Piece`
    (``algorithm``: of the checksum to compute; ``md5``: whether to compute the MD5)."""
    done = 0
    hashers = (hashlib.md5() if md5 else None, integrity.hasher(algorithm) if algorithm else None)
    updates = [h.update for h in hashers if h]
    try:
        while done < length:
            block = body.read(min(READ, length - done))
            if not block:
                raise Truncated(f"body ended after {done} of {length} bytes")
            for update in updates:
                update(block)
            pwrite_all(fd, block, offset + done)
            done += len(block)
            if progress:
                progress(len(block))
    except BaseException:
        if progress and done:
            progress(-done)
        raise
    return (*(h.digest() if h else None for h in hashers), length)
