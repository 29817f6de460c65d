"""What ``s3.open()`` returns: a local file, or a temp file spooled to or from S3.

Reading an s3 key downloads it (verified) into an owner-only temp file
opened in the requested mode; writing goes to a temp file uploaded on
``close()``.  If a ``with`` block raises, nothing is uploaded.  The temp
file is removed when the object is closed, however that happens.  Text
modes on s3 keys use UTF-8.
"""

from __future__ import annotations

import builtins
import errno
import os

from baiji import path as paths
from baiji.exceptions import KeyExists, KeyNotFound
from baiji.stores import Store, WriteOptions
from baiji.stores.base import CLAIM_METADATA
from baiji.stores.local import translated as local_errors
from baiji.tempfiles import new_temp, remove_quietly

_MODE_CHARS = set("rwxabt+")


def parse_mode(mode: str) -> tuple[str, bool]:
    """``(kind, binary)`` of a valid ``open()`` mode; ``ValueError`` otherwise."""
    if (not isinstance(mode, str) or not mode or set(mode) - _MODE_CHARS
            or len(set(mode)) != len(mode) or sum(c in "rwxa" for c in mode) != 1
            or ("b" in mode and "t" in mode)):
        raise ValueError(f"invalid mode: {mode!r}")
    kind = next(c for c in mode if c in "rwxa")
    return kind, "b" in mode


def open_key(conn, store: Store, key: str, mode: str, version_id: str | None):
    """Open ``key`` (see module docstring); ``conn`` uploads and downloads."""
    kind, binary = parse_mode(mode)
    if store.is_local:
        return _open_local(paths.parse(key).path, mode, kind)
    if kind == "a" or "+" in mode:
        raise NotImplementedError(f"{key}: mode {mode!r} is not supported for s3 keys (use r, w or x)")
    if kind != "r" and (key.endswith("/") or not paths.key(key)):
        raise ValueError(f"{key}: a key ending in / names a directory, not a file to write")
    file_mode = ("rb" if kind == "r" else "wb") if binary else ("r" if kind == "r" else "w")
    encoding = None if binary else "utf-8"
    tmp = new_temp(suffix=os.path.splitext(paths.basename(key))[1])
    try:
        if kind == "r":
            store.download(key, tmp, version_id)
        claim = {CLAIM_METADATA: _claim_token()} if kind == "x" else None
        if claim and not store.write_bytes(key, b"", WriteOptions(exclusive=True, metadata=claim)):
            raise KeyExists(f"{key} already exists")
        return RemoteFile(builtins.open(tmp, file_mode, encoding=encoding), conn, key,
                          writing=kind != "r", placeholder=claim)
    except BaseException:
        remove_quietly(tmp)
        raise


def _claim_token() -> str:
    """A unique value marking the placeholder that mode "x" writes as ours."""
    import uuid  # imported here: ~3 ms at start-up (it imports platform), only mode "x" needs it

    return uuid.uuid4().hex


def _open_local(local: str, mode: str, kind: str):
    if os.path.isdir(local):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), local)
    if kind == "r" and not os.path.exists(local):
        raise KeyNotFound(f"{local}: no such file")
    if kind == "x" and os.path.exists(local):
        raise KeyExists(f"{local} already exists")
    with local_errors(local):
        if kind != "r":
            os.makedirs(os.path.dirname(local), exist_ok=True)
        return builtins.open(local, mode)


class RemoteFile:
    """A temp file standing in for an s3 key; ``.name`` is the temp path, ``.remotename`` the key."""

    def __init__(self, file, conn, remotename: str, writing: bool, placeholder: dict | None):
        self._file = file
        self._conn = conn
        self.remotename = remotename
        self._writing = writing
        self._placeholder = placeholder

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __iter__(self):
        return iter(self._file)

    def __next__(self):
        return next(self._file)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.discard()

    @property
    def closed(self) -> bool:
        return self._file.closed

    def close(self) -> None:
        """Close; for writing, upload the content first. The temp file is removed either way."""
        if self._file.closed:
            return
        try:
            self._file.close()  # its last flush may fail (a full disk): nothing is uploaded then
            if self._writing:
                self._conn.cp(self._file.name, self.remotename, force=True, exact=True)
                self._placeholder = None
        except BaseException:
            self._drop_placeholder()
            raise
        finally:
            remove_quietly(self._file.name)

    def discard(self) -> None:
        """Close without uploading; an ``x`` placeholder baiji wrote is removed."""
        if not self._file.closed:
            self._file.close()
        remove_quietly(self._file.name)
        self._drop_placeholder()

    def _drop_placeholder(self) -> None:
        """Remove the ``x`` placeholder while it is still the one this file wrote (its claim token)."""
        if not self._placeholder:
            return
        claim, self._placeholder = self._placeholder, None
        store = self._conn._store(self.remotename)
        try:
            entry = store.stat(self.remotename)
        except KeyNotFound:
            return
        if entry.size == 0 and entry.metadata == claim:
            store.delete(self.remotename)

    def __del__(self):
        if "_file" in self.__dict__ and not self._file.closed:
            self.discard()
