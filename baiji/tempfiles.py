"""Temporary files: owner-only, in ``$BAIJI_TMP`` when set, never left behind.

Every temp file baiji creates is registered until it is removed or renamed
into place, so :func:`remove_all` can clean up when a process is told to
stop (a bulk-copy worker getting SIGTERM, say).  A process killed outright
(SIGKILL, a power cut) cleans up nothing: :func:`atomic_path` removes such
leftovers from the directories it writes into (:func:`remove_stale` has the
rule).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import sys
import threading
import time
from collections.abc import Iterator

_PREFIX = ".baiji-"
_SUFFIX = ".tmp"
#: The temp names baiji makes, ``.baiji-<pid space>-<pid>-<random>.tmp`` (and
#: ``.baiji-<random>.tmp`` from baiji 3.0.0, which named no writer).
_NAME = re.compile(r"\.baiji-(?:([0-9a-f]{8})-([1-9][0-9]{0,6})-)?[a-z0-9_]{8}\.tmp")
#: The partial file of a resumable download and its record (see :func:`partial_paths`).
_PARTIAL = re.compile(r"\.baiji-resume-[0-9a-f]{16}\.(?:tmp|json)")
#: Seconds a temp file may stay unmodified before it is stale, whoever wrote it.
STALE_AGE = 24 * 3600
#: Seconds a resumable download's partial file is kept for a rerun, unmodified, before it is stale.
PARTIAL_AGE = 7 * 24 * 3600
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
    import tempfile  # imported here: ~2 ms at start-up, only commands that write files need it

    directory = dir or tmp_dir()
    with _live_lock:  # created and registered at once: remove_all() sees every file
        if _closed:
            raise InterruptedError("this process is stopping")
        fd, path = tempfile.mkstemp(prefix=f"{_PREFIX}{_pid_space()}-{os.getpid()}-",
                                    suffix=suffix, dir=directory)
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


def track(path: str, removed: bool = True) -> None:
    """Have :func:`remove_all` remove ``path`` too (``removed``; ``InterruptedError`` once the
    process is stopping), or no longer (a partial download that holds something to resume)."""
    with _live_lock:
        if removed and _closed:
            raise InterruptedError("this process is stopping")
        if removed:
            _live.add(path)
        else:
            _live.discard(path)


def remove_all() -> None:
    """Remove every temp file this process holds and refuse new ones (it is about to die).

    The paths stay tracked: a thread that tracked one before and creates it only
    now (the process stops meanwhile) has it removed by the next call."""
    global _closed
    with _live_lock:
        _closed = True
        doomed = list(_live)
    for path in doomed:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def is_temp_name(name: str) -> bool:
    """Whether a file name is one baiji gives its in-flight downloads (see ``_NAME``).

    Listings leave such files out: another process is still writing them.
    A user's own ``.baiji-notes.tmp`` is no such name.
    """
    return _NAME.fullmatch(name) is not None or _PARTIAL.fullmatch(name) is not None


def partial_paths(dst: str) -> tuple[str, str]:
    """The partial file that a resumable download to ``dst`` keeps beside it, and its record."""
    import hashlib

    name = hashlib.sha256(os.path.basename(dst).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    base = os.path.join(os.path.dirname(dst) or ".", f"{_PREFIX}resume-{name}")
    return base + _SUFFIX, base + ".json"


@functools.lru_cache(maxsize=1)
def _pid_space() -> str:
    """A tag of the space this process's pid lives in: host, boot and pid namespace.

    Another process's pid can be checked only when its tag is ours: a shared
    directory may hold temp files of other machines or containers.
    """
    # imported here: ~5 ms at start-up together, only commands that write files need them
    import hashlib
    import socket

    ids = [socket.gethostname()]
    with contextlib.suppress(OSError), open("/proc/sys/kernel/random/boot_id") as f:
        ids.append(f.read().strip())
    with contextlib.suppress(OSError):
        ids.append(str(os.stat("/proc/self/ns/pid").st_ino))
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:8]


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists here (True when that cannot be told)."""
    if os.name != "posix":  # on Windows os.kill(pid, 0) would stop it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        pass
    return True


def _is_stale(name: str, path: str) -> bool:
    if _PARTIAL.fullmatch(name):  # kept on purpose by a download that stopped: only age tells
        return time.time() - os.stat(path).st_mtime > PARTIAL_AGE
    match = _NAME.fullmatch(name)
    if not match:
        return False
    space, pid = match[1], int(match[2] or 0)
    if space == _pid_space() and pid:
        if pid == os.getpid():
            return False
        if not _running(pid):
            return True
    return time.time() - os.stat(path).st_mtime > STALE_AGE


def remove_stale(directory: str) -> None:
    """Remove the temp files that killed baiji processes left in ``directory``.

    Only names baiji makes count (``.baiji-<pid space>-<pid>-<random>.tmp``,
    and a resumable download's ``.baiji-resume-<hash>.tmp|json``, stale when
    unmodified for ``PARTIAL_AGE``, a week).  Such a file is stale when its writer's pid is not running here (pids of
    other machines or containers, told apart by the pid space, are not
    checked), or when it has not been modified for ``STALE_AGE`` (a day: a
    pid since reused, a writer elsewhere).  This process's own files are
    never stale.  Best effort: what cannot be read or removed is left alone.
    """
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                if _is_stale(entry.name, entry.path):
                    os.unlink(entry.path)


@functools.lru_cache(maxsize=1024)
def remove_stale_once(directory: str) -> None:
    """:func:`remove_stale`, once per directory (of the last 1024) per process: bulk copies stay cheap."""
    remove_stale(directory)


@functools.lru_cache(maxsize=1)
def _file_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(dst: str, exclusive: bool = False) -> Iterator[str]:
    """Yield a temp path beside ``dst``; it replaces ``dst`` only if the block succeeds.

    The parent directory is created if needed, and stale temp files of
    killed processes are removed from it (:func:`remove_stale`).  On any
    error (including KeyboardInterrupt) the temp file is removed and ``dst``
    is untouched.  ``exclusive``: never replace a ``dst`` that exists when
    the file is put in place, even one another writer created meanwhile
    (``KeyExists``, see :func:`publish_new`).
    """
    parent = prepare_parent(dst)
    with temp_path(suffix=_SUFFIX, dir=parent) as tmp:
        yield tmp
        publish(tmp, dst, exclusive)


def prepare_parent(dst: str) -> str:
    """Create the directory of ``dst`` if needed, clean it of stale temp files; its path."""
    parent = os.path.dirname(dst) or "."
    if not os.path.isdir(parent):  # one stat where makedirs takes three system calls
        os.makedirs(parent, exist_ok=True)
    remove_stale_once(os.path.abspath(parent))
    return parent


def publish(tmp: str, dst: str, exclusive: bool) -> None:
    """Put the finished ``tmp`` in place of ``dst`` (``exclusive``: see :func:`publish_new`), with
    the mode of the file it replaces, else the umask's."""
    try:  # an existing file keeps its mode (like cp), e.g. an owner-only temp file
        mode = _file_mode() if exclusive else os.stat(dst).st_mode & 0o7777  # exclusive: none is there
    except OSError:
        mode = _file_mode()
    os.chmod(tmp, mode)
    if exclusive:
        publish_new(tmp, dst)
    else:
        os.replace(tmp, dst)


def publish_new(tmp: str, dst: str) -> None:
    """Move ``tmp`` to ``dst`` unless ``dst`` exists (``KeyExists``), decided at that very moment.

    ``renameat2(RENAME_NOREPLACE)`` fails if ``dst`` exists, atomically (Linux).
    Elsewhere, or where the filesystem does not take the flag, a hard link
    does the same, ``tmp`` then removed; where the filesystem has no hard
    links either (FAT, some network and FUSE filesystems), ``dst`` is checked just before ``os.replace``: a
    writer creating it in between (microseconds) would be replaced.
    """
    from baiji.exceptions import KeyExists

    try:
        _link_or_rename(tmp, dst)
    except FileExistsError as err:
        raise KeyExists(f"{dst} already exists") from err


def _link_or_rename(tmp: str, dst: str) -> None:
    """The steps of :func:`publish_new`: FileExistsError when ``dst`` exists.  ``renameat2`` first:
    one change to the directory where a link and an unlink make two (each a journal entry)."""
    if _rename_noreplace(tmp, dst):
        return
    try:
        os.link(tmp, dst)
    except OSError as err:
        if err.errno not in _NO_LINKS:
            raise
    else:
        remove_quietly(tmp)
        return
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), dst)
    os.replace(tmp, dst)


#: What ``link()`` answers where the filesystem has no hard links (FAT: EPERM; others: ENOTSUP...).
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}
#: ``renameat2``'s flag: fail with EEXIST rather than replace.
_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


@functools.lru_cache(maxsize=1)
def _renameat2():
    """libc's ``renameat2`` (glibc >= 2.28, Linux), or None."""
    import ctypes

    if not sys.platform.startswith("linux"):
        return None
    try:
        call = ctypes.CDLL(None, use_errno=True).renameat2  # libc's symbols are the process's
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    call.restype = ctypes.c_int
    return call


def _rename_noreplace(tmp: str, dst: str) -> bool:
    """``rename(tmp, dst)`` unless ``dst`` exists (FileExistsError); False where this cannot be
    done (no ``renameat2``, or a filesystem that does not support the flag)."""
    import ctypes

    call = _renameat2()
    if call is None:
        return False
    if call(_AT_FDCWD, os.fsencode(tmp), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), dst)
