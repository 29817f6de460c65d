"""Response bodies into local files: exact lengths, hashed as they arrive, checked.

:func:`drain` copies a body (boto3's, or an engine GET through :class:`Body`)
into a file at an offset and returns the MD5 of what it wrote;
:func:`verdict` and :func:`content_matches` decide from those digests, or
from the file, whether a download holds the object's content.
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


def content_matches(path: str, entry: Entry) -> bool:
    """Whether the local file holds the object's content, as far as its ETag can tell.

    A mismatch is certain only against an MD5 (a plain ETag or baiji's
    recorded MD5).  A multipart ETag that no common part size reproduces, or
    an ETag that is no content hash (KMS), cannot be checked: it counts as a
    match (the download's length was still checked).
    """
    if entry.md5:
        return integrity.md5_file(path) == entry.md5
    if not entry.etag or not entry.etag_is_md5 or integrity.file_matches_etag(path, entry.etag):
        return True
    if "-" in entry.etag:
        log.debug("%s: multipart ETag of an unknown part size, content not verified", entry.url)
        return True
    return False


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
    """The size of ranged GETs for a large object: its own part size where the ETag tells."""
    parts = integrity.part_count(entry.etag or "") if entry.etag_is_md5 else None
    candidates = integrity.candidate_part_sizes(entry.size or 0, parts) if parts else []
    return candidates[0] if candidates else integrity.PART_SIZE


def verdict(entry: Entry, part_digests: list[bytes]) -> bool | None:
    """Whether the ranges' digests prove the content right (True) or wrong (False).

    None when they cannot tell: a plain MD5 split over several ranges, or a
    multipart ETag whose part size was guessed wrong.  The file must then be
    read again (``content_matches``).
    """
    if len(part_digests) == 1 and entry.md5:  # a plain ETag, or baiji's recorded MD5
        return part_digests[0].hex() == entry.md5
    etag = (entry.etag or "") if entry.etag_is_md5 else ""  # Entry ETags come normalized
    if "-" in etag and integrity.multipart_etag(part_digests) == etag:
        return True
    return None


def pwrite_all(fd: int, data: bytes, offset: int) -> None:
    """Write all of ``data`` at ``offset``: ``os.pwrite`` may write less (a disk filling up)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        if not written:  # no error, no progress: never loop forever
            raise OSError(errno.EIO, "write made no progress")
        view, offset = view[written:], offset + written


def drain(body, fd: int, offset: int, length: int, progress: Progress) -> bytes:
    """Copy exactly ``length`` bytes of ``body`` into ``fd`` at ``offset``; their MD5."""
    done, digest = 0, hashlib.md5()
    try:
        while done < length:
            block = body.read(min(READ, length - done))
            if not block:
                raise Truncated(f"body ended after {done} of {length} bytes")
            digest.update(block)
            pwrite_all(fd, block, offset + done)
            done += len(block)
            if progress:
                progress(len(block))
    except BaseException:
        if progress and done:
            progress(-done)
        raise
    return digest.digest()
