"""The local filesystem as a store. Needs no credentials and no network."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from datetime import datetime, timezone
from typing import Iterator

from baiji import integrity
from baiji import path as paths
from baiji.exceptions import InvalidSchemeException, KeyExists, KeyNotFound, S3Exception
from baiji.stores.base import Entry, Progress, Store, key_order
from baiji.tempfiles import atomic_path, is_temp_name

_CHUNK = 1024 * 1024


@contextlib.contextmanager
def translated(path: str):
    """Turn ``OSError`` into baiji's exceptions, naming the path.

    The file the error names (a parent directory, say) is named instead,
    unless it is one of baiji's temp files: the user never heard of those.
    """
    try:
        yield
    except (KeyNotFound, KeyExists):
        raise
    except FileNotFoundError as err:
        raise KeyNotFound(f"{path}: no such file or directory") from err
    except OSError as err:
        reason = err.strerror or errno.errorcode.get(err.errno, str(err))
        named = err.filename if err.filename and not is_temp_name(os.path.basename(err.filename)) else path
        raise S3Exception(f"{named}: {reason}") from err


def _entry(path: str, st: os.stat_result) -> Entry:
    return Entry(url=path, size=st.st_size,
                 last_modified=datetime.fromtimestamp(st.st_mtime, tz=timezone.utc))


def _copy_file(src: str, dst: str, progress: Progress) -> None:
    with translated(src), open(src, "rb") as fin, translated(dst), atomic_path(dst) as tmp:
        with open(tmp, "wb") as fout:
            for block in iter(lambda: fin.read(_CHUNK), b""):
                fout.write(block)
                if progress:
                    progress(len(block))


def _walk_sorted(root: str, followlinks: bool) -> Iterator[Entry]:
    """The files under ``root`` in byte order of their paths, holding one directory per level.

    Sorting each directory's names, a directory's as ``name/``, orders the
    whole tree: everything under ``d/`` sorts where ``d/`` does among its
    siblings.  Like ``os.walk``: an unreadable directory is skipped, links to
    directories are followed only with ``followlinks``, and a file that
    vanishes meanwhile is left out.
    """
    try:
        with os.scandir(root) as children:
            listed = []
            for child in children:
                try:
                    is_dir = child.is_dir()
                except OSError:
                    is_dir = False
                listed.append((key_order(child.name + (os.sep if is_dir else "")), child, is_dir))
    except OSError:
        return
    listed.sort(key=lambda item: item[0])
    for _, child, is_dir in listed:
        if not is_dir:
            with contextlib.suppress(FileNotFoundError):
                yield _entry(child.path, os.stat(child.path))
        elif followlinks or not child.is_symlink():
            yield from _walk_sorted(child.path, followlinks)


class LocalStore(Store):
    """Files and directories on this machine, addressed by absolute path."""

    is_local = True
    sep = os.sep

    def dir_prefix(self, url):
        path = self._path(url)
        return path if path.endswith(os.sep) else path + os.sep

    def child(self, base, rel):
        return os.path.join(self._path(base), *rel.split("/"))

    def isdir(self, url):
        return os.path.isdir(self._path(url))

    def isfile(self, url):
        return os.path.isfile(self._path(url))

    def touch(self, url, encrypt=True):
        path = self._path(url)
        with translated(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "a"):
                os.utime(path)

    def etag(self, url):
        path = self._path(url)
        with translated(path):
            return integrity.local_etag(path)

    def md5(self, url):
        path = self._path(url)
        with translated(path):
            return integrity.md5_file(path)

    def etag_matches(self, url, etag):
        path = self._path(url)
        with translated(path):
            return integrity.file_matches_etag(path, etag)

    @staticmethod
    def _path(url: str) -> str:
        return paths.parse(url).path

    def stat(self, url, version_id=None):
        path = self._path(url)
        with translated(path):
            st = os.stat(path)
        entry = _entry(path, st)
        entry.is_dir = os.path.isdir(path)
        return entry

    def list(self, url, shallow=False, versions=False, followlinks=False) -> Iterator[Entry]:
        if versions:
            raise InvalidSchemeException(f"{url}: local files have no versions")
        root = self._path(url)
        if os.path.isfile(root):
            yield self.stat(root)
            return
        if not os.path.isdir(root):
            return
        with translated(root):
            if not shallow:
                yield from _walk_sorted(root, followlinks)
                return
            found = []
            for name in os.listdir(root):
                full = os.path.join(root, name)
                if os.path.isdir(full):
                    found.append(Entry(url=full + os.sep, is_dir=True))
                else:
                    found.append(_entry(full, os.stat(full)))
        found.sort(key=lambda e: key_order(e.url))
        yield from found

    def copy(self, src, dst, options, version_id=None, progress=None):
        if options.exclusive and os.path.exists(self._path(dst)):
            raise KeyExists(f"{self._path(dst)} already exists")
        _copy_file(self._path(src), self._path(dst), progress)

    def write_bytes(self, url, data, options):
        path = self._path(url)
        if options.exclusive:
            with translated(path):
                os.makedirs(os.path.dirname(path), exist_ok=True)
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                except FileExistsError:
                    return False
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
            return True
        with translated(path), atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                f.write(data)
        return True

    def read_bytes(self, url, version_id=None):
        path = self._path(url)
        with translated(path), open(path, "rb") as f:
            return f.read()

    def delete(self, url, version_id=None):
        path = self._path(url)
        with translated(path):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)

    def delete_many(self, urls):
        failed = []
        for url in urls:
            try:
                self.delete(url)
            except (KeyNotFound, S3Exception) as err:
                failed.append((url, err))
        return failed
