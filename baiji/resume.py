"""What lets an interrupted transfer continue: a lock held while it runs, and a small JSON record.

An upload's record lives in ``$XDG_CACHE_HOME/baiji/uploads/`` (else
``~/.cache/baiji/uploads/``, owner-only), one per (bucket, key, source file),
locked through a ``.lock`` file beside it; a download's lives beside its
partial file, next to the destination, the partial file itself being the
lock (see :mod:`baiji.tempfiles`, :func:`partial_paths`).  A lock is an
``flock``: a second process finds it taken and transfers on its own, never
touching the first one's upload or partial file; a killed process lets go
of it.  Records are replaced atomically (a temp file renamed over them).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
from collections.abc import Iterator

log = logging.getLogger(__name__)

#: The version of the records' layout: a record of another is ignored (the transfer starts over).
LAYOUT = 1
#: Seconds between two writes of a download's record (see :class:`Partial`).
RECORD_EVERY = 1.0


def uploads_dir() -> str:
    """Where upload records live (created owner-only when needed)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "baiji", "uploads")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def upload_record_path(bucket: str, key: str, source: str) -> str:
    """The record of uploads of the file ``source`` to ``s3://bucket/key``."""
    name = "\0".join((bucket, key, os.path.realpath(source)))
    return os.path.join(uploads_dir(), hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest() + ".json")


def lock_of(record_path: str) -> str:
    """The lock file beside an upload record."""
    return record_path[:-len(".json")] + ".lock"


@contextlib.contextmanager
def locked(path: str) -> Iterator[int | None]:
    """Hold an exclusive ``flock`` on ``path`` (created owner-only) for the block: its descriptor,
    or None when another process holds it (the block then runs without it)."""
    import fcntl

    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise
            yield None
            return
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:  # removed by its last holder between our open and our lock
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield fd
    finally:
        os.close(fd)


def read(path: str) -> dict | None:
    """The record at ``path``; None when there is none, or none of this layout."""
    return found(path)[1]


def found(path: str) -> tuple[bool, dict | None]:
    """Whether a file is at ``path``, and the record it holds (None: none of this layout)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return False, None
    except OSError:
        return True, None
    import json  # imported here: commands that find no record (ls, small copies) do not pay for it

    try:
        record = json.loads(text)
    except ValueError:
        return True, None
    return True, record if isinstance(record, dict) and record.get("layout") == LAYOUT else None


def write(path: str, record: dict) -> None:
    """Replace the record at ``path`` atomically (owner-only)."""
    import json

    from baiji import tempfiles

    with tempfiles.temp_path(dir=os.path.dirname(path)) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({**record, "layout": LAYOUT}, f)
        os.replace(tmp, path)


def remove(*paths: str) -> None:
    """Remove records (and locks) that are done with, if they are there."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def upload_records() -> Iterator[tuple[str, dict]]:
    """Every upload record and its path (for ``s3 uploads``: which uploads are resumable)."""
    directory = uploads_dir()
    for name in sorted(os.listdir(directory)):
        if name.endswith(".json"):
            path = os.path.join(directory, name)
            record = read(path)
            if record:
                yield path, record


def forget_upload(record_path: str) -> None:
    """Remove the record of an upload aborted from outside (``s3 uploads --abort``), and its lock,
    unless a process holds that lock: that one is using the record, and finds its upload gone."""
    lock_path = lock_of(record_path)
    with locked(lock_path) as fd:
        if fd is not None:
            remove(record_path, lock_path)


class Partial:
    """A resumable download's partial file ``path`` (locked while in use) and its record: the
    object's ``etag``, ``version_id`` and ``size``, the ``span`` of its ranges, and ``done``, the
    offsets of the ranges that are whole in the file.

    The record is written at most every :data:`RECORD_EVERY` seconds (a timer writes the ranges
    marked since), and when the download fails (:meth:`close`): a download done sooner never
    writes one.  Each write replaces the file and costs a journal commit; one per range took
    0.45 s of a 256 MiB download (ext4).  A process killed outright loses at most the last
    second's ranges, which a rerun fetches again.
    """

    def __init__(self, path: str, record_path: str):
        import threading

        self.path, self.record_path = path, record_path
        there, self.record = found(record_path)
        if there and self.record is None:  # unreadable, or of another layout: of no use
            remove(record_path)
        self.written = self.record is not None  # a record is on disk: the partial file is kept
        self._lock = threading.Lock()
        self._saved = 0.0  # when the record was last written (time.monotonic)
        self._timer: threading.Timer | None = None
        self._closed = False

    def start(self, etag: str | None, version_id: str | None, size: int, span: int) -> None:
        """Begin a fresh download's record (the partial file holds nothing of it yet)."""
        import time

        self.record = {"etag": etag, "version_id": version_id, "size": size, "span": span, "done": []}
        self._saved = time.monotonic()

    def mark(self, offset: int) -> None:
        """Note that the range at ``offset`` is whole in the partial file (written when due)."""
        import threading
        import time

        with self._lock:
            if self.record is None or self._closed:
                return
            self.record["done"].append(offset)
            wait = self._saved + RECORD_EVERY - time.monotonic()
            if wait <= 0:
                self._save()
            elif self._timer is None:
                self._timer = threading.Timer(wait, self._due)
                self._timer.daemon = True
                self._timer.start()

    def _due(self) -> None:
        with self._lock:
            self._timer = None
            if self.record is not None and not self._closed:
                self._save_quietly()

    def _save_quietly(self) -> None:
        """:meth:`_save`, where a failure costs only a rerun's work (the process is stopping, a
        full disk): logged with ``-v``."""
        try:
            self._save()
        except OSError as err:
            log.debug("%s: record not written (%s)", self.record_path, err)

    def _save(self) -> None:
        """Write the record (the lock held); from now on the partial file is kept for a rerun,
        also when the process is stopped."""
        import time

        from baiji import tempfiles

        write(self.record_path, self.record or {})
        self._saved, self.written = time.monotonic(), True
        tempfiles.track(self.path, removed=False)

    def close(self, failed: bool) -> None:
        """No more writes of the record; ``failed``: write the ranges marked since the last one,
        for a rerun."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if failed and self.record is not None and self.record["done"] and not self._closed:
                self._save_quietly()
            self._closed = True

    def bytes_there(self) -> int:
        record = self.record or {}
        return sum(min(record["span"], record["size"] - offset) for offset in record.get("done", ()))

    def reset(self) -> None:
        """Start over: an empty partial file, no record (an empty one is not truncated again: on
        ext4 that makes its close write all the data out at once, 0.1 s for 256 MiB)."""
        if self.written:
            remove(self.record_path)
        self.record, self.written = None, False
        if os.stat(self.path).st_size:
            os.truncate(self.path, 0)


@contextlib.contextmanager
def resumable_download(dst: str, exclusive: bool) -> Iterator[Partial | None]:
    """The :class:`Partial` of a download to ``dst``, put in place of ``dst`` (see
    :func:`baiji.tempfiles.publish`) when the block succeeds and kept, with its record, when it
    fails; None when another process downloads to ``dst`` (the caller then uses a temp file)."""
    from baiji import tempfiles

    tempfiles.prepare_parent(dst)
    path, record_path = tempfiles.partial_paths(dst)
    tempfiles.track(path)  # before it exists: a stop (remove_all) never misses one it creates
    with locked(path) as fd:
        if fd is None:
            tempfiles.track(path, removed=False)  # another process's
            yield None
            return
        partial = Partial(path, record_path)
        try:
            # nothing to resume: removed if stopped (InterruptedError if stopping already: removed now)
            tempfiles.track(path, removed=partial.record is None)
            yield partial
        except BaseException:
            partial.close(failed=True)
            if not partial.written:  # nothing a rerun could resume (a small object, a failed check)
                remove(path)
            raise
        partial.close(failed=False)
        try:
            tempfiles.publish(path, dst, exclusive)
        except BaseException:  # refused (dst exists): nothing for a rerun to resume
            remove(path, record_path)
            raise
        if partial.written:  # else none was ever there: the lock was held since the record was read
            remove(record_path)
