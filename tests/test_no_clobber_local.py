"""``cp`` without ``-f`` to a local destination never replaces a file another writer creates
while the copy runs (issue 17, item 2, local half).

baiji checked that the destination was absent, then wrote a temp file and
``os.replace``d it over whatever was there by then: the whole transfer was a
window in which another writer's file was silently replaced (exit 0).  Now
the temp file is published with ``link()`` (or ``renameat2(RENAME_NOREPLACE)``,
or, where neither works, a last check just before ``os.replace``), which
refuses an existing destination at that very moment.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from baiji import tempfiles
from baiji.exceptions import KeyExists
from baiji.stores import LocalStore, WriteOptions
from support.helpers import put

PYTHON_M = [sys.executable, "-m", "baiji"]
THEIRS = b"the other writer's file\n"


def leftovers(directory) -> list[str]:
    """baiji's temp files in ``directory``."""
    return [name for name in os.listdir(directory) if tempfiles.is_temp_name(name)]


def create_once(path):
    """A callable that writes THEIRS at ``path`` the first time it is called (another writer)."""
    def create(*args, **kwargs):
        if not os.path.exists(path):
            path.write_bytes(THEIRS)
    return create


# -- the CLI: a download held back by the proxy while another writer creates the destination ----

@pytest.mark.parametrize("size", [1000, 20 * 1024 * 1024], ids=["single", "ranged"])
def test_cp_download_without_force_refuses_a_file_created_meanwhile(fault_proxy, s3dir, tmp_path, size):
    """``s3 cp s3://b/k dst`` exited 0 and replaced the file that appeared during the download."""
    put(fault_proxy.client(), s3dir + "k.bin", os.urandom(size))
    dst = tmp_path / "out" / "k.bin"
    dst.parent.mkdir()
    create = create_once(dst)

    def meanwhile(info):
        if info.op == "GetObject":
            create()
            return "delay"
        return None
    fault_proxy.proxy.fail_always("delay", seconds=0.5, match=meanwhile)
    done = subprocess.run(PYTHON_M + ["--endpoint-url", fault_proxy.endpoint_url, "cp", s3dir + "k.bin", str(dst)],
                          capture_output=True, timeout=120)
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert err.startswith("s3: error: ") and err.count("\n") == 1, err
    assert f"{dst} already exists" in err and "-f/--force" in err, err
    assert dst.read_bytes() == THEIRS
    assert leftovers(dst.parent) == []


def test_cp_r_download_without_force_skips_a_file_created_meanwhile(fault_proxy, s3dir, tmp_path):
    """``s3 cp -r`` without -f: a file created during its download is skipped like one that was
    there before (one warning), never replaced; the other files are copied."""
    client = fault_proxy.client()
    for name in ("a.txt", "b.txt", "c.txt"):
        put(client, s3dir + "tree/" + name, name.encode() * 10)
    out = tmp_path / "out"
    out.mkdir()
    create = create_once(out / "b.txt")

    def meanwhile(info):
        if info.op == "GetObject" and info.key.endswith("/b.txt"):
            create()
            return "delay"
        return None
    fault_proxy.proxy.fail_always("delay", seconds=0.5, match=meanwhile)
    done = subprocess.run(PYTHON_M + ["--endpoint-url", fault_proxy.endpoint_url, "cp", "-r",
                                      s3dir + "tree/", f"{out}/"], capture_output=True, timeout=120)
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert "Skipping 1 file whose destination exists" in err and str(out / "b.txt") in err, err
    assert (out / "b.txt").read_bytes() == THEIRS
    assert (out / "a.txt").read_bytes() == b"a.txt" * 10 and (out / "c.txt").read_bytes() == b"c.txt" * 10
    assert leftovers(out) == []


# -- the library: the other writer strikes while the bytes are being written ------------------

@pytest.mark.parametrize("source", ["local", "s3", "s3-ranged"])
def test_cp_without_force_refuses_a_file_created_during_the_copy(conn, client, s3dir, tmp_path, source):
    """``cp(src, dst)`` (no force) raised nothing and replaced a file that appeared while it
    wrote: the progress callback, called as bytes arrive, plays the other writer."""
    data = os.urandom(20 * 1024 * 1024 if source == "s3-ranged" else 3 * 1024 * 1024)
    if source == "local":
        src = tmp_path / "src.bin"
        src.write_bytes(data)
        src = str(src)
    else:
        src = s3dir + "src.bin"
        put(client, src, data)
    dst = tmp_path / "dst.bin"
    with pytest.raises(KeyExists) as raised:
        conn.cp(src, str(dst), progress=create_once(dst))
    assert str(dst) in str(raised.value)
    assert isinstance(raised.value, FileExistsError)
    assert dst.read_bytes() == THEIRS
    assert leftovers(tmp_path) == []
    other = tmp_path / "other.bin"
    with pytest.warns(UserWarning, match=f"Skipping {src}: {other} already exists"):  # skip: a skip
        assert conn.cp(src, str(other), skip=True, progress=create_once(other)) is False
    assert other.read_bytes() == THEIRS
    conn.cp(src, str(dst), force=True)  # forced copies still replace
    assert dst.read_bytes() == data


# -- the publishing step, on filesystems with and without hard links --------------------------

def _no_links(monkeypatch):
    """link() fails as on FAT (EPERM)."""
    def refuse(src, dst, *args, **kwargs):
        raise OSError(errno.EPERM, os.strerror(errno.EPERM), src, None, dst)
    monkeypatch.setattr(tempfiles.os, "link", refuse)


def _no_renameat2(monkeypatch):
    monkeypatch.setattr(tempfiles, "_renameat2", lambda: None)


@pytest.fixture(params=["link", "renameat2", "last-check"])
def publishing(request, monkeypatch):
    """How the filesystem lets a file be published: only hard links; ``renameat2`` (tried
    first); neither."""
    if request.param != "renameat2":
        _no_renameat2(monkeypatch)
    if request.param != "link":
        _no_links(monkeypatch)
    if request.param == "renameat2" and tempfiles._renameat2() is None:
        pytest.skip("no renameat2 in this libc")
    return request.param


def test_exclusive_atomic_path_publishes_a_new_file(tmp_path, publishing):
    dst = tmp_path / "sub" / "new.bin"
    with tempfiles.atomic_path(str(dst), exclusive=True) as tmp:
        with open(tmp, "wb") as f:
            f.write(b"mine")
    assert dst.read_bytes() == b"mine"
    assert dst.stat().st_mode & 0o777 == tempfiles._file_mode()
    assert dst.stat().st_nlink == 1
    assert leftovers(dst.parent) == []


def test_exclusive_atomic_path_refuses_a_file_created_meanwhile(tmp_path, publishing):
    """Each way of publishing refuses a destination created while the temp file was written."""
    dst = tmp_path / "dst.bin"
    with pytest.raises(KeyExists, match="already exists") as raised:
        with tempfiles.atomic_path(str(dst), exclusive=True) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"mine")
            dst.write_bytes(THEIRS)
    assert str(dst) in str(raised.value)
    assert dst.read_bytes() == THEIRS
    assert leftovers(tmp_path) == []


def test_renameat2_is_used_where_links_are_not(tmp_path, monkeypatch):
    """Without hard links, renameat2(RENAME_NOREPLACE) decides (not the last check)."""
    if tempfiles._renameat2() is None:
        pytest.skip("no renameat2 in this libc")
    _no_links(monkeypatch)
    monkeypatch.setattr(tempfiles.os.path, "lexists", lambda path: pytest.fail("the last check was used"))
    dst = tmp_path / "dst.bin"
    with tempfiles.atomic_path(str(dst), exclusive=True) as tmp:
        with open(tmp, "wb") as f:
            f.write(b"mine")
    assert dst.read_bytes() == b"mine"
    dst.write_bytes(THEIRS)
    with pytest.raises(KeyExists):
        with tempfiles.atomic_path(str(dst), exclusive=True) as tmp:
            pass
    assert dst.read_bytes() == THEIRS


def test_forced_atomic_path_still_replaces(tmp_path):
    dst = tmp_path / "dst.bin"
    dst.write_bytes(THEIRS)
    with tempfiles.atomic_path(str(dst)) as tmp:
        with open(tmp, "wb") as f:
            f.write(b"mine")
    assert dst.read_bytes() == b"mine"
    assert leftovers(tmp_path) == []


# -- the local store's exclusive writes ------------------------------------------------------------

def test_local_exclusive_write_keeps_an_existing_file(conn, tmp_path):
    target = tmp_path / "k.txt"
    target.write_bytes(b"theirs")
    assert LocalStore().write_bytes(str(target), b"mine", WriteOptions(exclusive=True)) is False
    assert target.read_bytes() == b"theirs"


@pytest.mark.parametrize("exclusive", [False, True])
def test_local_write_bytes_says_it_wrote(tmp_path, exclusive):
    target = tmp_path / "k.txt"
    assert LocalStore().write_bytes(str(target), b"x", WriteOptions(exclusive=exclusive)) is True
    assert target.read_bytes() == b"x"


def test_local_exclusive_write_errors_name_the_path(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    target = tmp_path / "file" / "k.txt"  # a file where a directory must go
    with pytest.raises(Exception) as info:
        LocalStore().write_bytes(str(target), b"x", WriteOptions(exclusive=True))
    assert str(tmp_path / "file") in str(info.value)


def test_local_exclusive_copy_names_the_existing_destination(tmp_path):
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    with pytest.raises(KeyExists, match=f"{tmp_path / 'b'} already exists"):
        LocalStore().copy(str(tmp_path / "a"), str(tmp_path / "b"), WriteOptions(exclusive=True))
    assert (tmp_path / "b").read_bytes() == b"b"
