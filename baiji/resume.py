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
import os
from collections.abc import Iterator

#: The version of the records' layout: a record of another is ignored (the transfer starts over).
LAYOUT = 1


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
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    import json  # imported here: commands that find no record (ls, small copies) do not pay for it

    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("layout") == LAYOUT else None


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
    offsets of the ranges that are whole in the file (each recorded once written)."""

    def __init__(self, path: str, record_path: str):
        import threading

        self.path, self.record_path = path, record_path
        self.record = read(record_path)
        self._lock = threading.Lock()

    def start(self, etag: str | None, version_id: str | None, size: int, span: int) -> None:
        """Record a fresh download (the partial file holds nothing of it yet)."""
        from baiji import tempfiles

        self.record = {"etag": etag, "version_id": version_id, "size": size, "span": span, "done": []}
        write(self.record_path, self.record)
        tempfiles.track(self.path, removed=False)  # kept for a rerun, also when the process is stopped

    def mark(self, offset: int) -> None:
        """Record that the range at ``offset`` is whole in the partial file."""
        with self._lock:
            if self.record is not None:
                self.record["done"].append(offset)
                write(self.record_path, self.record)

    def bytes_there(self) -> int:
        record = self.record or {}
        return sum(min(record["span"], record["size"] - offset) for offset in record.get("done", ()))

    def reset(self) -> None:
        """Start over: an empty partial file, no record."""
        self.record = None
        remove(self.record_path)
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
            if partial.record is None:  # nothing a rerun could resume (a small object, a failed check)
                remove(path)
            raise
        try:
            tempfiles.publish(path, dst, exclusive)
        finally:  # published, or refused (dst exists): nothing for a rerun to resume
            remove(path, record_path)
