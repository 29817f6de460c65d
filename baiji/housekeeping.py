"""Housekeeping of stored objects: rewrite one in place (to encrypt it, or to make its
ETag its MD5), undelete in a versioned bucket, list and abort unfinished multipart uploads.

Each public function is the body of the :class:`~baiji.connection.S3Connection`
method of its name (``conn``), whose docstring is its contract.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Iterator

from baiji import path as paths
from baiji import resume
from baiji.bulk import finished
from baiji.exceptions import BucketNotFound, KeyNotFound, S3Exception
from baiji.report import Event, Listener, Report
from baiji.stores import Entry, S3Store, WriteOptions
from baiji.stores.base import DEFAULT_CONTENT_TYPE
from baiji.stores.s3_uploads import Upload
from baiji.tempfiles import temp_path


def _rewrite_options(conn, key: str, entry: Entry, encrypt: bool) -> WriteOptions:
    """Options that keep an object's type, encoding, metadata and ACL when it is rewritten."""
    try:
        grants = conn._s3.grants_of(key)
    except S3Exception:  # some stores keep no ACL for some objects: the default applies
        grants = None
    return WriteOptions(encrypt=encrypt, content_type=entry.content_type or DEFAULT_CONTENT_TYPE,
                        content_encoding=entry.content_encoding, metadata=entry.metadata,
                        grants=grants)


def _rewrite_in_place(conn, key: str, entry: Entry, encrypt: bool) -> None:
    """Copy an object onto itself (keeping type, metadata and ACL) to re-encrypt or re-ETag it."""
    conn._s3.copy(key, key, _rewrite_options(conn, key, entry, encrypt))


def encrypt_at_rest(conn, key: str) -> None:
    entry = conn._remote(key).stat(key)
    if not entry.encrypted:
        _rewrite_in_place(conn, key, entry, encrypt=True)


def fix_etag(conn, key: str) -> tuple[str, str]:
    store = conn._remote(key)
    entry = store.stat(key)
    if "-" not in (entry.etag or ""):
        return entry.etag, entry.etag
    _rewrite_in_place(conn, key, entry, encrypt=bool(entry.encrypted))
    new = store.stat(key)
    if "-" in (new.etag or ""):  # some stores keep the parts on a copy: upload it whole
        with temp_path(suffix=os.path.splitext(paths.basename(key))[1]) as tmp:
            store.download(key, tmp)
            options = _rewrite_options(conn, key, new, encrypt=bool(new.encrypted))
            options.part_size = max(new.size or 0, 1)
            store.upload(tmp, key, options)
        new = store.stat(key)
    return entry.etag, new.etag


def restore(conn, key: str) -> None:
    store = conn._remote(key)
    for e in store.list(key, versions=True):
        if e.url == key and e.is_latest:
            if e.delete_marker:
                store.delete(key, e.version_id)
            return
    raise KeyNotFound(f"{key}: no version to restore")


def restore_r(conn, prefix: str) -> list[str]:
    store = conn._remote(prefix)
    restored = []
    for e in store.list(prefix, versions=True):
        if e.is_latest and e.delete_marker:
            store.delete(e.url, e.version_id)
            restored.append(e.url)
    return restored


def uploads(conn, prefix: str, older_than: float | timedelta | None) -> Iterator[dict]:
    store = conn._remote(prefix)
    sources = {record.get("upload_id"): record.get("source") for _, record in resume.upload_records()}
    for upload in _old_uploads(store, prefix, older_than):
        try:
            parts, size = store.upload_size(upload)
        except BucketNotFound:
            raise
        except KeyNotFound:  # completed or aborted since it was listed
            continue
        yield {"uri": upload.url, "upload_id": upload.upload_id, "initiated": upload.initiated,
               "parts": parts, "size": size, "resumable": sources.get(upload.upload_id)}


def abort_uploads(conn, prefix: str, older_than: float | timedelta | None,
                  on_event: Listener | None) -> Report:
    store = conn._remote(prefix)
    report = Report(on_event)
    records = {record.get("upload_id"): path for path, record in resume.upload_records()}
    for upload in _old_uploads(store, prefix, older_than):
        what = f"upload {upload.upload_id}"
        try:
            gone = not store.abort_upload(upload)
        except BucketNotFound:
            raise
        except S3Exception as err:
            report.add(Event("fail", None, upload.url, f"{what}: {err}"), err)
            continue
        if upload.upload_id in records:  # nothing left to resume: its record goes too
            resume.forget_upload(records[upload.upload_id])
        report.add(Event("skip", None, upload.url, f"{what}: no longer in progress") if gone
                   else Event("abort", None, upload.url, what))
    return finished(report, "aborts", total=report.aborted + report.failed, warn_skips=False)


def _old_uploads(store: S3Store, prefix: str, older_than: float | timedelta | None) -> Iterator[Upload]:
    """The unfinished uploads under ``prefix`` initiated more than ``older_than`` ago (all: None)."""
    if older_than is None:
        return store.multipart_uploads(prefix)
    age = older_than if isinstance(older_than, timedelta) else timedelta(seconds=older_than)
    if age < timedelta(0):
        raise ValueError(f"older_than must not be negative, got {older_than!r}")
    cutoff = datetime.now(timezone.utc) - age
    # ignore[operator]: a listing's uploads all have their initiated time
    return (upload for upload in store.multipart_uploads(prefix) if upload.initiated <= cutoff)  # type: ignore[operator]
