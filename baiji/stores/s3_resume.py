"""Resumable multipart uploads: one that an interrupted run left is continued by the next.

An unfinished upload's metadata cannot be read back (neither
ListMultipartUploads nor ListParts returns it), and it carries the
whole-file MD5 set at its creation: so right after CreateMultipartUpload a
local record (:mod:`baiji.resume`) ties the upload to its source file (size,
modification time, part size, MD5) and to its arguments.  A rerun finds the
record, checks the source against it (a changed one starts over and aborts
the stale upload), asks ListParts what is there, and sends only the parts
that are missing or whose ETag is not the MD5 of the local part.

Such an upload is not aborted when the run fails or is stopped (Ctrl-C,
SIGTERM, a lost network): its parts are kept for the rerun.  It is aborted
when it can never complete: its source changed while it was read, or the
key exists and the upload must not replace it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Iterator

from baiji import integrity, resume
from baiji.exceptions import KeyExists, KeyNotFound, S3Exception, SourceChanged, TransientError
from baiji.stores.s3_source import Source
from baiji.stores.s3_uploads import Upload

log = logging.getLogger(__name__)


class Parts:
    """A multipart upload under way: its ``ids`` (Bucket, Key, UploadId) and the parts already
    there (``there``: part number -> ETag), ``resumed`` when an earlier run made it."""

    def __init__(self, ids: dict, there: dict[int, str] | None = None, resumed: bool = False):
        self.ids, self.there, self.resumed = ids, there or {}, resumed

    def bytes_there(self, source: Source) -> int:
        return sum(source.span(number)[1] for number in self.there)


def _wanted(url: str, source: Source, args: dict) -> dict:
    """What a record must say for its upload to be continued with ``source`` and ``args``."""
    import json  # imported here: commands that transfer nothing (ls) do not pay for it

    digest = hashlib.sha256(json.dumps(args, sort_keys=True, default=str).encode()).hexdigest()
    return {"url": url, "source": source.path, "size": source.size, "mtime_ns": source.mtime_ns,
            "part_size": source.part_size, "md5": source.md5, "args": digest}


def _paths(url: str, source: Source) -> tuple[str, str]:
    from baiji.stores.s3_control import split

    record = resume.upload_record_path(*split(url), source.path)
    return record, resume.lock_of(record)


def _upload_of(record: dict) -> Upload:
    from baiji.stores.s3_control import split

    return Upload(*split(record["url"]), record["upload_id"])


def forget(store, url: str, source: Source) -> None:
    """``resume=False``: abort the upload an interrupted run left for this source, and its record."""
    record_path, lock_path = _paths(url, source)
    if not os.path.exists(record_path):
        return
    with resume.locked(lock_path) as fd:
        record = resume.read(record_path) if fd is not None else None
        if record:
            _drop(store, record, record_path)
            resume.remove(lock_path)


def _drop(store, record: dict, record_path: str) -> None:
    """Abort the upload of ``record`` (one gone already is no error), then forget it."""
    try:
        store.abort_upload(_upload_of(record))
    except (S3Exception, TransientError) as err:
        log.warning("%s: stale multipart upload %s not aborted (%s); `s3 uploads --abort %s` aborts it",
                    record["url"], record["upload_id"], err, record["url"])
    resume.remove(record_path)


def _continued(store, record: dict, source: Source) -> Parts | None:
    """The upload of ``record`` with the parts of it that hold ``source``'s; None when it is gone."""
    upload = _upload_of(record)
    try:
        listed = store.parts_of(upload)
    except KeyNotFound:  # NoSuchUpload: aborted (`s3 uploads --abort`) or expired meanwhile
        return None
    there = {}
    for part in listed:
        number = part["PartNumber"]
        if number <= source.count and part.get("Size") == source.span(number)[1] \
                and integrity.normalize(part["ETag"]) == source.part_md5(number):
            there[number] = part["ETag"]
    ids = {"Bucket": upload.bucket, "Key": upload.key, "UploadId": upload.upload_id}
    return Parts(ids, there, resumed=True)


@contextlib.contextmanager
def resumable(store, url: str, source: Source, args: dict) -> Iterator[Parts | None]:
    """The resumable upload of ``source`` (hashed) to ``url``: the one an interrupted run left when
    it still fits, else a new one, recorded; None when another process is uploading this source
    to this key (the caller then makes an upload of its own, not resumable)."""
    record_path, lock_path = _paths(url, source)
    with resume.locked(lock_path) as fd:
        if fd is None:
            log.info("%s: another process is uploading %s there; this upload is not resumable", url, source.path)
            yield None
            return
        wanted = _wanted(url, source, args)
        record = resume.read(record_path)
        parts = None
        if record and all(record.get(name) == value for name, value in wanted.items()):
            parts = _continued(store, record, source)
        elif record:
            log.info("%s: %s changed since the interrupted upload: starting over", url, source.path)
            _drop(store, record, record_path)
        if parts is None:
            parts = Parts(store.create_upload(url, args))
            resume.write(record_path, {**wanted, "upload_id": parts.ids["UploadId"], "created": time.time()})
        try:
            yield parts
        except (SourceChanged, KeyExists) as err:  # it can never complete
            store._abort(url, parts.ids, err)
            resume.remove(record_path, lock_path)
            raise
        except BaseException as err:
            log.info("%s: multipart upload %s kept for a rerun to resume (%s)", url, parts.ids["UploadId"],
                     type(err).__name__)
            raise
        resume.remove(record_path, lock_path)
