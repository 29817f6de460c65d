"""Multipart uploads: the unfinished ones of a bucket, and the ones this process has in flight.

Every multipart upload baiji starts ends completed or aborted.  obstore
aborts one that fails, and so does baiji's boto3 path; neither sees the
process being told to stop while parts travel: a bulk-copy worker leaves
with ``os._exit`` on SIGTERM, and the threads of ``cp -r`` would send every
part before Ctrl-C could end the command.  So each upload is registered
while it runs (:func:`in_flight`), and :func:`abort_in_flight` aborts what
is registered (called when a worker is stopped, and on Ctrl-C/SIGTERM of
copies running on threads).

obstore does not tell an upload's id.  An upload it makes is known by its
key and by the uploads of that key that were already in progress when it
began (one ListMultipartUploads before it starts): any other upload of
that key found later is this one (or another writer's of the same key
started meanwhile, which then fails).  Where the server cannot list them,
the initiation time tells (within :data:`CLOCK_MARGIN`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import datetime

from baiji.exceptions import AWSError, S3Warning, TransientError

log = logging.getLogger(__name__)

#: Seconds the server's clock may be behind this machine's (AWS refuses requests signed more
#: than 15 minutes off): used only where the uploads already in progress could not be listed.
CLOCK_MARGIN = 15 * 60
#: Seconds :func:`abort_in_flight` waits for the aborts (a dead endpoint must not hold a stop).
ABORT_SECONDS = 30.0
#: Seconds before a second look for an upload not found at the first (its creation on the way).
SETTLE_SECONDS = 0.5


class Upload:
    """An unfinished multipart upload: ``bucket``, ``key``, ``upload_id``, ``initiated`` (aware)."""

    __slots__ = ("bucket", "key", "upload_id", "initiated")

    def __init__(self, bucket: str, key: str, upload_id: str, initiated: datetime | None = None):
        self.bucket, self.key, self.upload_id, self.initiated = bucket, key, upload_id, initiated

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def __repr__(self) -> str:
        return f"Upload({self.url!r}, {self.upload_id!r}, {self.initiated!r})"


class InFlight:
    """A multipart upload this process is sending to ``key``: its ``upload_id`` once known,
    else the ids of the key's uploads that were in progress ``before`` it (None: not known)."""

    def __init__(self, store, bucket: str, key: str, before: frozenset[str] | None):
        self.store, self.bucket, self.key, self.before = store, bucket, key, before
        self.upload_id: str | None = None
        self.started = time.time()

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def ours(self, upload: Upload) -> bool:
        """Whether ``upload`` (one of the key's uploads in progress) is this one."""
        if upload.key != self.key:
            return False
        if self.upload_id:
            return upload.upload_id == self.upload_id
        if self.before is not None:
            return upload.upload_id not in self.before
        return upload.initiated is not None and upload.initiated.timestamp() >= self.started - CLOCK_MARGIN

    def abort(self) -> int:
        """Abort this upload (all of them, after retries); how many were found."""
        found = ([Upload(self.bucket, self.key, self.upload_id)] if self.upload_id else
                 [upload for upload in self.store.multipart_uploads(self.url) if self.ours(upload)])
        for upload in found:
            self.store.abort_upload(upload)
        return len(found)


_live: dict[int, InFlight] = {}
_lock = threading.Lock()
_closed = False  # set by abort_in_flight(stop=True): this process is about to end


def _refuse_when_closed() -> None:
    if _closed:
        raise InterruptedError("this process is stopping: no new multipart upload")


def ids_of(store, bucket: str, key: str) -> frozenset[str] | None:
    """The ids of the uploads of ``key`` in progress; None when the server does not tell."""
    try:
        return frozenset(u.upload_id for u in store.multipart_uploads(f"s3://{bucket}/{key}") if u.key == key)
    except (AWSError, TransientError) as err:  # e.g. no s3:ListBucketMultipartUploads permission
        log.debug("s3://%s/%s: uploads in progress not listed (%s): initiation times will tell", bucket, key, err)
        return None


@contextlib.contextmanager
def in_flight(store, bucket: str, key: str) -> Iterator[InFlight]:
    """Register the multipart upload of ``key`` that the block makes, until it ends
    (``store``: an S3Store; set ``.upload_id`` on what this yields once the id is known).

    ``InterruptedError`` once the process is stopping (see :func:`abort_in_flight`).
    """
    _refuse_when_closed()
    flight = InFlight(store, bucket, key, ids_of(store, bucket, key))
    with _lock:
        _refuse_when_closed()
        _live[id(flight)] = flight
    try:
        yield flight
    finally:
        with _lock:
            _live.pop(id(flight), None)


def abort_in_flight(stop: bool = False, timeout: float = ABORT_SECONDS) -> list[str]:
    """Abort every multipart upload registered now, waiting at most ``timeout`` seconds.

    ``stop``: the process is about to end, so no upload may start from now on.
    Returns a message per upload that could not be aborted; each is also
    warned about (``S3Warning``) with the command that aborts it later.
    """
    global _closed
    with _lock:
        _closed = _closed or stop
        flights = list(_live.values())
    if not flights:
        return []
    failed: dict[int, str] = {id(flight): f"not aborted within {timeout:g} s" for flight in flights}
    worker = threading.Thread(target=_abort_each, args=(flights, failed), name="baiji-abort", daemon=True)
    worker.start()
    worker.join(timeout)
    messages = []
    for flight in flights:
        reason = failed.get(id(flight))
        if reason:
            messages.append(f"{flight.url}: multipart upload not aborted ({reason}); "
                            f"`s3 uploads --abort {flight.url}` aborts it")
            warnings.warn(messages[-1], S3Warning, stacklevel=2)
    return messages


def _abort_each(flights: list[InFlight], failed: dict[int, str]) -> None:
    """Abort each of ``flights``, taking them off ``failed`` as they are done.  One not found is
    looked for once more after :data:`SETTLE_SECONDS`: its CreateMultipartUpload may be on the way."""
    for last in (False, True):
        missing = []
        for flight in flights:
            try:
                if flight.abort() or last:
                    failed.pop(id(flight), None)
                else:
                    missing.append(flight)
            except Exception as err:  # reported by the caller, and the others are still aborted
                failed[id(flight)] = str(err)
        if not missing:
            return
        flights = missing
        time.sleep(SETTLE_SECONDS)
