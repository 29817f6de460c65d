"""Reading S3 objects: GETs (through the engine, else boto3), HEADs that ask for checksums (through
the lister), and downloads in parallel ranges, each checked against the object's MD5, multipart
ETag or checksum (:mod:`baiji.stores.s3_bodies` gives the verdicts).  A mixin of
:class:`baiji.stores.s3.S3Store`.
"""

from __future__ import annotations

import functools
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from baiji import integrity
from baiji.exceptions import TransientError
from baiji.stores import local
from baiji.stores.base import Entry, Progress
from baiji.stores.listing import ListError
from baiji.stores.s3_bodies import (CHUNK, Body, Piece, accepted, basis, checksum_alone, content_verdict, drain,
                                   range_size, retryable_reads, verdict)
from baiji.stores.s3_control import PART_THREADS, entry_of, head_entry, object_split, version_args
from baiji.stores.s3_engine import HEADER_NAMES
from baiji.stores.s3_errors import StartOver, describe, translated
from baiji.resume import Partial, resumable_download
from baiji.tempfiles import atomic_path

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

log = logging.getLogger(__name__)

#: Attempts to read one response body (the engine and botocore retry requests, not body reads).
READ_ATTEMPTS = 5
#: Attempts at a whole download: one whose content fails its check, or whose
#: object is replaced while its ranges are read, starts over (once).
DOWNLOAD_ATTEMPTS = 2


def _engine_entry(url: str, result, version_id: str | None) -> Entry:
    """The Entry of an engine GET or HEAD: its meta and attributes (no word on encryption)."""
    meta, attrs = result.meta, dict(result.attributes)
    return Entry(
        url=url, size=meta["size"], last_modified=meta["last_modified"],
        etag=integrity.normalize(meta["e_tag"]) if meta.get("e_tag") else None,
        version_id=meta.get("version") or version_id,
        content_type=attrs.pop("Content-Type", None), content_encoding=attrs.pop("Content-Encoding", None),
        metadata={k: v for k, v in attrs.items() if k not in HEADER_NAMES},
    )


class Reads:
    """GETs, HEADs and downloads (``self``: the :class:`~baiji.stores.s3.S3Store`)."""

    # S3Store's, for mypy (annotations only: nothing at run time)
    client: Any
    engine: Any
    lister: Any
    _native: Any
    _checksum_mode: bool

    def _open(self, url: str, version_id: str | None, byte_range: tuple[int, int] | None = None,
              if_match: str | None = None) -> tuple[Entry, Any]:
        """GET ``url`` (``byte_range``: ``(start, end)``, end exclusive): its Entry and its body."""
        bucket, key = object_split(url)
        if self._native(key):
            with translated(url, version_id):
                result = self.engine.get(bucket, key, version_id, byte_range, if_match)
            return _engine_entry(url, result, version_id), Body(self.engine.chunks(result, CHUNK))
        args = {"Bucket": bucket, "Key": key, **version_args(version_id)}
        if byte_range:
            args["Range"] = f"bytes={byte_range[0]}-{byte_range[1] - 1}"
        if if_match:
            args["IfMatch"] = if_match
        with translated(url, version_id):
            resp = self.client.get_object(**args)
        return entry_of(url, resp, version_id), resp["Body"]

    def read_bytes(self, url, version_id=None):
        for attempt in range(READ_ATTEMPTS):
            _, body = self._open(url, version_id)
            try:
                return body.read()
            except retryable_reads() as err:
                if attempt == READ_ATTEMPTS - 1:
                    raise TransientError(f"{describe(url, version_id)}: connection lost while reading") from err
            finally:
                body.close()

    def download(self, url, local_path, version_id=None, progress=None, validate=True, exclusive=False,
                 resume=False):
        object_split(url)  # a bucket is no object: said before a local path gets the blame
        for _ in range(DOWNLOAD_ATTEMPTS):
            try:
                with local.translated(local_path):
                    return self._download_once(url, local_path, version_id, progress, validate, exclusive, resume)
            except StartOver as err:  # the temp file is gone (a partial one emptied), local_path untouched
                failure = err
                log.info("%s", err)  # with -v; without, the error raised says it once
        raise TransientError(f"{failure} (tried {DOWNLOAD_ATTEMPTS} times)") from failure

    def _download_once(self, url: str, local_path: str, version_id: str | None, progress: Progress,
                       validate: bool, exclusive: bool, resume: bool) -> int | None:
        """One attempt: into the partial file (``resume``, unless another process holds it), else
        into a temp file."""
        if resume:
            with resumable_download(local_path, exclusive) as partial:
                if partial is not None:
                    try:
                        return self._fetch_checked(url, partial.path, version_id, progress, validate, partial)
                    except StartOver:
                        partial.reset()
                        raise
        with atomic_path(local_path, exclusive) as tmp:
            return self._fetch_checked(url, tmp, version_id, progress, validate)

    def _fetch_checked(self, url: str, tmp: str, version_id: str | None, progress: Progress, validate: bool,
                       partial: Partial | None = None) -> int | None:
        """:meth:`_fetch`, then the check of what ``tmp`` holds (``StartOver`` if it fails):
        the bytes a partial file held already (None: not resumed)."""
        entry, pieces, there = self._fetch(url, tmp, version_id, progress, validate, partial)
        if validate and not self._checks_out(tmp, entry, pieces, version_id):
            raise StartOver(f"{describe(url, version_id)}: downloaded content does not match its {basis(entry)}")
        return there

    def _checks_out(self, path: str, entry: Entry, pieces: list[Piece] | None, version_id: str | None) -> bool:
        """Whether the downloaded file holds the object's content (its ranges' digests, else the file).

        An engine GET does not say how the object is encrypted: before an MD5
        mismatch counts, a HEAD tells whether its ETag is a content hash at all
        (and, if not, which checksum it has).
        """
        good = verdict(entry, pieces) if pieces is not None else None
        if good is None:
            good = content_verdict(path, entry)
        if good is False and entry.encrypted is None:
            self._describe(entry, version_id)
            if not entry.etag_is_md5:
                good = content_verdict(path, entry)
        return accepted(entry, good)

    def head(self, url: str, version_id: str | None = None, if_match: str | None = None,
             part_number: int | None = None) -> Entry:
        """A HEAD through baiji's own client (no boto3) that asks for the object's checksum:
        size, ETag, encryption, metadata and checksum (``StartOver`` when ``if_match`` fails)."""
        with translated(url, version_id):
            fields = self._head_fields(url, version_id, part_number,
                                       {"if-match": f'"{if_match}"'} if if_match else {})
        return head_entry(url, fields, version_id)

    def _head_fields(self, url: str, version_id: str | None, part_number: int | None, headers: dict) -> dict:
        """A HEAD's header fields (ListError on failure), with ``x-amz-checksum-mode: ENABLED`` unless
        this server refused it (a 400 or 501 that the same HEAD without it does not get: it is then
        never sent again)."""
        bucket, key = object_split(url)
        params = {**({"versionId": version_id} if version_id else {}),
                  **({"partNumber": str(part_number)} if part_number else {})}
        if self._checksum_mode:
            try:
                return self.lister.head(bucket, key, params, {**headers, "x-amz-checksum-mode": "ENABLED"})
            except ListError as err:
                if err.status not in (400, 501):
                    raise
                fields = self.lister.head(bucket, key, params, headers)
                log.debug("%s refuses x-amz-checksum-mode (%s): checksums are not asked for",
                          self.lister.shown, err)
                self._checksum_mode = False
                return fields
        return self.lister.head(bucket, key, params, headers)

    def _describe(self, entry: Entry, version_id: str | None) -> None:
        """Fill in what a GET does not tell: encryption and checksum (a HEAD pinned to the same
        ETag) and, for a multipart object whose checksum is not a full-object one, its part size."""
        found = self.head(entry.url, version_id, if_match=entry.etag)
        entry.encrypted, entry.etag_is_md5, entry.checksum = found.encrypted, found.etag_is_md5, found.checksum
        self._find_part_size(entry, version_id)

    def _find_part_size(self, entry: Entry, version_id: str | None) -> None:
        """Ask for the part size of an object without an MD5 unless a full-object checksum, which
        needs none, tells its content."""
        if entry.md5 is None and (entry.checksum is None or entry.checksum.kind != integrity.FULL_OBJECT):
            entry.part_size = self._part_size(entry, version_id)

    def matches_file(self, url: str, path: str) -> bool:
        """Whether the local file at ``path`` surely holds the object's content: its MD5, its
        multipart ETag (with the part size its server tells), or a checksum of 64 bits or more
        (a CRC32 may prove a download wrong, never two files the same).  One to three HEADs."""
        entry = self.head(url)
        if not integrity.strong(entry.checksum):
            entry.checksum = None
        self._find_part_size(entry, None)
        with local.translated(path):
            return content_verdict(path, entry) is True

    def _part_size(self, entry: Entry, version_id: str | None) -> int | None:
        """A multipart object's part size as its server tells it (HEAD ``?partNumber=``): None for a
        single part, a server that does not tell, or parts that are not all one size but the last."""
        parts = integrity.part_count(entry.etag or "")
        if not parts or parts < 2:
            return None
        try:
            first, last = (self._head_fields(entry.url, version_id, n, {}) for n in (1, parts))
        except ListError:  # no part numbers here (or a flaky server): the layout stays unknown
            return None
        span, tail = int(first.get("content-length", 0)), int(last.get("content-length", 0))
        told = first.get("x-amz-mp-parts-count") == str(parts) == last.get("x-amz-mp-parts-count")
        return span if told and 0 < tail <= span and span * (parts - 1) + tail == entry.size else None

    def _fetch(self, url: str, tmp: str, version_id: str | None, progress: Progress,
               validate: bool = True, partial: Partial | None = None) -> tuple[Entry, list[Piece] | None, int | None]:
        """Write the object into ``tmp``: one GET, plus parallel ranged GETs for large objects.

        Returns the object's entry, the :data:`Piece` of each range, hashed
        as they arrive (in parallel: hashlib and the CRCs let go of the GIL),
        and None (see :meth:`_resume` for a resumed download).
        When no MD5 will tell (``validate`` and an ETag that is no plain MD5,
        with no MD5 that baiji recorded), HEADs ask for the object's checksum
        and part size first, and each range is hashed with that checksum too
        (instead of MD5 where the checksum decides alone: ``checksum_alone``).
        Ranges follow the object's own part size when its server or its ETag
        tells it, so its multipart ETag or composite checksum can be checked
        from the digests without reading the file again.  Ranges are pinned to
        the first answer's ETag (If-Match).  ``partial``: the ranges of a large
        object are recorded as they become whole.
        """
        if partial is not None and partial.record:
            resumed = self._resume(url, tmp, version_id, progress, validate, partial)
            if resumed:
                return resumed
        if partial is not None:
            partial.reset()
        entry, body = self._open(url, version_id)
        size = entry.size or 0
        etag = f'"{entry.etag}"' if entry.etag else None
        fd = os.open(tmp, os.O_WRONLY)  # not open(): its fstat, ioctl and lseek each let go of the GIL
        try:
            try:
                if validate and not entry.md5:
                    self._describe(entry, version_id)
                span = size if size <= integrity.MULTIPART_THRESHOLD else range_size(entry)
                if partial is not None and span < size:
                    partial.start(entry.etag, entry.version_id, size, span)
                hashes: dict[str, Any] = {"algorithm": entry.checksum.algorithm if entry.checksum else None,
                                          "md5": not checksum_alone(entry)}
                get: Callable[..., Piece] = functools.partial(self._get_range, url, version_id, etag, fd,
                                                              progress=progress,
                                                              partial=partial if span < size else None, **hashes)
            except BaseException:
                body.close()
                raise

            def first() -> Piece:
                """The first range, from the first answer's body (fetched again if that breaks)."""
                try:
                    try:
                        piece = drain(body, fd, 0, span, progress, **hashes)
                    finally:
                        body.close()
                except retryable_reads():
                    return get(0, span)
                if partial is not None and span < size:
                    partial.mark(0)
                return piece
            if span >= size:
                return entry, [first()], None
            rest = [(off, min(span, size - off)) for off in range(span, size, span)]
            with ThreadPoolExecutor(PART_THREADS) as pool:
                # the other ranges are asked for while the first answer's body is read: 20 ms away,
                # reading 16 to 50 MiB before asking for more made a 256 MiB download 2.4x rclone's
                head = pool.submit(first)
                pieces = list(pool.map(lambda r: get(*r), rest))
                return entry, [head.result(), *pieces], None
        finally:
            os.close(fd)

    def _resume(self, url: str, tmp: str, version_id: str | None, progress: Progress, validate: bool,
                partial: Partial) -> tuple[Entry, None, int] | None:
        """Fetch the ranges that ``partial``'s record does not tell whole, pinned (If-Match) to its
        ETag: the object's entry, None (the file is checked whole), the bytes there already.
        None when the object changed since (another ETag, version or size): ``partial`` is then
        emptied, and the download starts over."""
        record = partial.record or {}
        try:
            entry: Entry | None = self.head(url, version_id, if_match=record["etag"])
        except StartOver:
            entry = None
        if entry is None or entry.size is None or entry.size != record["size"] \
                or record["version_id"] not in (None, entry.version_id):
            log.info("%s changed since the interrupted download: starting over", describe(url, version_id))
            partial.reset()
            return None
        if validate and not entry.md5:
            self._find_part_size(entry, version_id)
        there, span, done = partial.bytes_there(), record["span"], set(record["done"])
        if progress and there:
            progress(there)
        size = entry.size
        missing = [(off, min(span, size - off)) for off in range(0, size, span) if off not in done]
        with open(tmp, "r+b") as f:
            get = functools.partial(self._get_range, url, version_id, f'"{entry.etag}"', f.fileno(),
                                    progress=progress, partial=partial, md5=False)
            with ThreadPoolExecutor(PART_THREADS) as pool:
                list(pool.map(lambda r: get(*r), missing))
        return entry, None, there

    # ignore[return]: the loop returns, or raises at its last attempt (mypy cannot tell)
    def _get_range(self, url, version_id, etag, fd, offset, length, progress, partial=None,  # type: ignore[return]
                   **hashes) -> Piece:
        """Fetch ``length`` bytes at ``offset`` into ``fd``, retrying broken bodies; their :data:`Piece`
        (``hashes``: as :func:`drain` takes them; ``partial``: told the range is whole)."""
        for attempt in range(READ_ATTEMPTS):
            _, body = self._open(url, version_id, (offset, offset + length), etag)
            try:
                piece = drain(body, fd, offset, length, progress, **hashes)
                if partial is not None:
                    partial.mark(offset)
                return piece
            except retryable_reads() as err:
                if attempt == READ_ATTEMPTS - 1:
                    raise TransientError(f"{url}: connection lost while reading") from err
            finally:
                body.close()
