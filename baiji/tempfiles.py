"""Temporary files: owner-only, in ``$BAIJI_TMP`` when set, never left behind.

Every temp file baiji creates is registered until it is removed or renamed
into place, so :func:`remove_all` can clean up when a process is told to
stop (a bulk-copy worker getting SIGTERM, say).
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import threading
from typing import Iterator

_PREFIX = ".baiji-"
_SUFFIX = ".tmp"
_live: set[str] = set()
_live_lock = threading.Lock()
_closed = False  # set by remove_all(): this process is about to die


def tmp_dir() -> str | None:
    """``$BAIJI_TMP`` if set (created if needed), else None (the system default)."""
    path = os.environ.get("BAIJI_TMP")
    if path:
        os.makedirs(path, exist_ok=True)
    return path or None


def new_temp(suffix: str = "", dir: str | None = None) -> str:
    """Create an empty owner-only temp file and return its path."""
    directory = dir or tmp_dir()
    with _live_lock:  # created and registered at once: remove_all() sees every file
        if _closed:
            raise InterruptedError("this process is stopping")
        fd, path = tempfile.mkstemp(prefix=_PREFIX, suffix=suffix, dir=directory)
        _live.add(path)
    os.close(fd)
    return path


@contextlib.contextmanager
def temp_path(suffix: str = "", dir: str | None = None) -> Iterator[str]:
    """A temp file that is removed when the block ends, however it ends."""
    path = new_temp(suffix, dir)
    try:
        yield path
    finally:
        remove_quietly(path)


def remove_quietly(path: str) -> None:
    """Remove ``path`` if it is there; it is no longer tracked either way."""
    with _live_lock:
        _live.discard(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def remove_all() -> None:
    """Remove every temp file this process holds and refuse new ones (it is about to die)."""
    global _closed
    with _live_lock:
        _closed = True
        doomed = list(_live)
    for path in doomed:
        remove_quietly(path)


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of baiji's in-flight downloads (``.baiji-*.tmp``).

    Listings leave such files out: another process is still writing them.
    """
    return name.startswith(_PREFIX) and name.endswith(_SUFFIX)


@functools.lru_cache(maxsize=1)
def _file_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(dst: str) -> Iterator[str]:
    """Yield a temp path beside ``dst``; it replaces ``dst`` only if the block succeeds.

    The parent directory is created if needed; on any error (including
    KeyboardInterrupt) the temp file is removed and ``dst`` is untouched.
    """
    parent = os.path.dirname(dst) or "."
    os.makedirs(parent, exist_ok=True)
    with temp_path(suffix=_SUFFIX, dir=parent) as tmp:
        yield tmp
        try:  # an existing file keeps its mode (like cp), e.g. an owner-only temp file
            mode = os.stat(dst).st_mode & 0o7777
        except OSError:
            mode = _file_mode()
        os.chmod(tmp, mode)
        os.replace(tmp, dst)
