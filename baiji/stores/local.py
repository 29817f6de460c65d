"""The local filesystem as a store. Needs no credentials and no network."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from datetime import datetime, timezone
from typing import Iterator

from baiji import integrity
from baiji import path as paths
from baiji.exceptions import InvalidSchemeException, KeyExists, KeyNotFound, S3Exception
from baiji.stores.base import Entry, Progress, Prune, Store, key_order
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
        reason = err.strerror or errno.errorcode.get(err.errno, str(err))  # type: ignore[arg-type]  # None: the default
        named = err.filename if err.filename and not is_temp_name(os.path.basename(err.filename)) else path
        raise S3Exception(f"{named}: {reason}") from err


def _entry(path: str, st: os.stat_result) -> Entry:
    return Entry(url=path, size=st.st_size,
                 last_modified=datetime.fromtimestamp(st.st_mtime, tz=timezone.utc))


_SPECIAL_KINDS = ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"),
                  (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"))


def _special(mode: int) -> str | None:
    """``special file (KIND)`` for a FIFO, socket or device; None for anything else."""
    kind = next((name for test, name in _SPECIAL_KINDS if test(mode)), None)
    return f"special file ({kind})" if kind else None


def require_regular(path: str, writing: bool = False) -> None:
    """Refuse (``S3Exception``) to read or replace a special file, also behind a symlink.

    A FIFO would block for good and ``/dev/zero`` never ends, so they are
    never opened: checked just before a file is read or hashed.  With
    ``writing``, a missing file is fine, and a device node or FIFO is never
    replaced by a download (``/dev/null`` as root).
    """
    try:
        with translated(path):
            special = _special(os.stat(path).st_mode)
    except KeyNotFound:
        if writing:
            return
        raise
    if special:
        raise S3Exception(f"{path}: {special}, not {'written' if writing else 'read'}")


def _copy_file(src: str, dst: str, progress: Progress, exclusive: bool = False) -> None:
    """Copy ``src`` to ``dst`` through a temp file (``exclusive``: never over an existing ``dst``)."""
    require_regular(src)
    with translated(src), open(src, "rb") as fin, translated(dst), atomic_path(dst, exclusive) as tmp:
        with open(tmp, "wb") as fout:
            for block in iter(lambda: fin.read(_CHUNK), b""):
                fout.write(block)
                if progress:
                    progress(len(block))


def _reason(err: OSError) -> str:
    return "symlink loop" if err.errno == errno.ELOOP else err.strerror or str(err)


def _scan(directory: str) -> list[tuple[os.DirEntry, bool]]:
    """``(entry, is_dir)`` of a directory's children in listing order; ``OSError`` if unreadable.

    A directory sorts as ``name/``, which orders the whole tree: everything
    under ``d/`` sorts where ``d/`` does among its siblings.  baiji's temp
    files (another process's downloads in flight) are left out.
    """
    listed = []
    with os.scandir(directory) as children:
        for child in children:
            if is_temp_name(child.name):
                continue
            try:
                is_dir = child.is_dir()
            except OSError:  # e.g. a symlink loop: reported by _file_entry
                is_dir = False
            listed.append((key_order(child.name + (os.sep if is_dir else "")), child, is_dir))
    listed.sort(key=lambda item: item[0])
    return [(child, is_dir) for _, child, is_dir in listed]


def _file_entry(path: str) -> Entry | None:
    """A listed non-directory: its entry, a problem entry if it must not be read, None if it vanished."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Entry(url=path, problem="dangling symlink") if os.path.islink(path) else None
    except OSError as err:
        return Entry(url=path, problem=_reason(err))
    special = _special(st.st_mode)
    return Entry(url=path, problem=special) if special else _entry(path, st)


def _relative(path: str, base: str) -> str:
    """``path`` after ``base``, ``/``-separated."""
    rel = path[len(base):]
    return rel.replace(os.sep, "/") if os.sep != "/" else rel


def _walk_sorted(children: list[tuple[os.DirEntry, bool]], followlinks: bool,
                 ancestors: set[tuple[int, int]], prune: Prune, base: str) -> Iterator[Entry]:
    """The files under scanned ``children`` in byte order of their paths, holding one directory per level.

    A directory for which ``prune`` (given its path after ``base``, ``/``-separated)
    answers True is never entered, read or reported.
    Links to directories are followed only with ``followlinks``.  What
    cannot be used is a problem entry in its place: a directory (``name/``)
    that cannot be read, vanished or leads back to one of ``ancestors`` (the
    ``(st_dev, st_ino)`` of the directories on the current path); a file
    whose stat fails, a special file, a dangling symlink.  A file that
    vanished meanwhile is left out.
    """
    for child, is_dir in children:
        if not is_dir:
            entry = _file_entry(child.path)
            if entry:
                yield entry
            continue
        if (child.is_symlink() and not followlinks) or (prune and prune(_relative(child.path, base))):
            continue
        try:
            st = child.stat()
            node = (st.st_dev, st.st_ino)
            problem = "symlink loop" if node in ancestors else None
            grandchildren = [] if problem else _scan(child.path)
        except FileNotFoundError:
            problem = "directory vanished during the listing"
        except OSError as err:
            problem = f"unreadable directory ({_reason(err)})"
        if problem:
            yield Entry(url=child.path + os.sep, problem=problem)
            continue
        ancestors.add(node)
        try:
            yield from _walk_sorted(grandchildren, followlinks, ancestors, prune, base)
        finally:
            ancestors.discard(node)


class LocalStore(Store):
    """Files and directories on this machine, addressed by absolute path."""

    is_local = True
    sep = os.sep

    def dir_prefix(self, url):
        path = self._path(url)
        return path if path.endswith(os.sep) else path + os.sep

    def child(self, base, rel):
        """Where ``rel`` lives under ``base``; ``S3Exception`` when a directory on the way is a symlink.

        A write through a symlinked directory would land outside ``base`` (or,
        inside it, on a path the same sync may delete), so it is refused.
        """
        root, parts = self._path(base), rel.split("/")
        way = root
        for part in parts[:-1]:
            way = os.path.join(way, part)
            if os.path.islink(way):
                raise S3Exception(f"refusing to write {os.path.join(root, *parts)}: "
                                  f"{way} is a symlink (to {os.path.realpath(way)})")
        return os.path.join(root, *parts)

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
        require_regular(path)
        with translated(path):
            return integrity.local_etag(path)

    def md5(self, url):
        path = self._path(url)
        require_regular(path)
        with translated(path):
            return integrity.md5_file(path)

    def etag_matches(self, url, etag):
        path = self._path(url)
        require_regular(path)
        with translated(path):
            return integrity.file_matches_etag(path, etag)

    @staticmethod
    def _path(url: str) -> str:
        return paths.parse(url).path

    def stat(self, url, version_id=None):
        path = self._path(url)
        with translated(path):
            try:
                st = os.stat(path)
            except NotADirectoryError as err:  # below a regular file: nothing there, as os.path.exists says
                raise FileNotFoundError(err.errno, err.strerror, path) from err
        entry = _entry(path, st)
        entry.is_dir = os.path.isdir(path)
        return entry

    def list(self, url, shallow=False, versions=False, followlinks=False, prune=None) -> Iterator[Entry]:
        """Sorted entries; problem entries for what cannot be used; ``S3Exception`` if ``url`` cannot be read.

        ``prune``: see :meth:`Store.list`; relative to ``url`` as a directory.
        """
        if versions:
            raise InvalidSchemeException(f"{url}: local files have no versions")
        root = self._path(url)
        try:
            st = os.stat(root)
            children = _scan(root) if stat.S_ISDIR(st.st_mode) else []
        except OSError as err:
            if isinstance(err, FileNotFoundError) and not os.path.lexists(root):
                return  # nothing there
            raise S3Exception(f"{root}: cannot list ({_reason(err)})") from err
        if not stat.S_ISDIR(st.st_mode):
            entry = _file_entry(root)
            if entry:
                yield entry
        elif not shallow:
            yield from _walk_sorted(children, followlinks, {(st.st_dev, st.st_ino)}, prune,
                                    os.path.join(root, ""))
        else:
            for child, is_dir in children:
                entry = Entry(url=child.path + os.sep, is_dir=True) if is_dir else _file_entry(child.path)
                if entry:
                    yield entry

    def copy(self, src, dst, options, version_id=None, progress=None):
        if options.exclusive and os.path.exists(self._path(dst)):
            raise KeyExists(f"{self._path(dst)} already exists")
        _copy_file(self._path(src), self._path(dst), progress, options.exclusive)

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
