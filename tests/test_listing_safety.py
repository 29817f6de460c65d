"""Listings that cannot be trusted never cost data (issue 9, "Never lose data, part 2").

A local listing reports what it cannot use (an unreadable or vanished
directory, a file whose stat fails, a special file, a dangling symlink, a
symlink loop) as a problem entry in its sorted place.  ``sync`` then copies
the rest, deletes nothing and fails naming it; ``cp -r`` copies the rest and
fails naming it.  Writes never go through a symlinked directory inside a
local destination, special files are never opened for reading, and baiji's
in-flight temp files (another process's downloads) are never listed.

Unreadable directories are tested through the ``s3`` command run without
root's override (``helpers.without_root_override``); anything that used to
hang (a FIFO, ``/dev/zero``) runs in a subprocess with a timeout.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys

import pytest

from baiji import path as paths
from baiji.connection import S3Connection
from baiji.stores import LocalStore
from baiji.util import parallel as bulk
from support.helpers import PYTHON_M_BAIJI, get, keys_under, one_line, without_root_override, write_url

TIMEOUT = 60  # seconds; the old code hung for good on FIFOs and /dev/zero


# Helpers ------------------------------------------------------------------------


def run(*args, as_user: bool = True) -> subprocess.CompletedProcess:
    """``s3 ARGS`` in a subprocess; ``as_user``: file permissions apply even as root."""
    argv = [*PYTHON_M_BAIJI, *map(str, args)]
    return subprocess.run(without_root_override(argv) if as_user else argv,
                          capture_output=True, text=True, timeout=TIMEOUT)


def run_python(code: str) -> subprocess.CompletedProcess:
    """``python -c CODE`` with file permissions applied even as root."""
    return subprocess.run(without_root_override([sys.executable, "-c", code]),
                          capture_output=True, text=True, timeout=TIMEOUT)


def join(base: str, rel: str) -> str:
    return base + rel if paths.isremote(base) else os.path.join(base, *rel.split("/"))


def fill(client, base: str, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        write_url(client, join(base, rel), data)


def contents(client, base: str) -> dict[str, bytes]:
    """``{rel: content}`` below ``base``: s3 keys, or local regular files (never opening anything else)."""
    if paths.isremote(base):
        return {rel: get(client, base + rel) for rel in keys_under(client, base)}
    found = {}
    for dirpath, _, names in os.walk(base):
        for name in names:
            full = os.path.join(dirpath, name)
            if stat.S_ISREG(os.lstat(full).st_mode):
                with open(full, "rb") as f:
                    found[os.path.relpath(full, base).replace(os.sep, "/")] = f.read()
    return found


def assert_failed_naming(result: subprocess.CompletedProcess, *names: str) -> str:
    """The command exited 1 with one ``s3: error:`` line naming every one of ``names``."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert one_line(result.stderr) and result.stderr.startswith("s3: error:"), result.stderr
    for name in names:
        assert name in result.stderr, (name, result.stderr)
    return result.stderr


def local_or_s3(kind: str, s3dir: str, tmp_path, name: str) -> str:
    """A directory URL of ``kind``: s3 ones end in '/', local ones do not."""
    return f"{s3dir}{name}/" if kind == "s3" else str(tmp_path / name)


@pytest.fixture(params=["s3", "local"], ids=["local-s3", "local-local"])
def from_local(request, s3dir, tmp_path):
    """``(src, dst)``: a local source directory (created) and a destination of the parameter's kind."""
    src = tmp_path / "src"
    src.mkdir()
    return str(src), local_or_s3(request.param, s3dir, tmp_path, "dst")


@pytest.fixture(params=["s3", "local"], ids=["s3-local", "local-local"])
def to_local(request, s3dir, tmp_path):
    """``(src, dst)``: a source of the parameter's kind and a local destination directory (created)."""
    dst = tmp_path / "dst"
    dst.mkdir()
    return local_or_s3(request.param, s3dir, tmp_path, "src"), str(dst)


# 1. Listing errors: nothing deleted, non-zero exit naming the directory -----------------


def test_sync_unreadable_source_directory_deletes_nothing(client, from_local, unreadable):
    src, dst = from_local
    fill(client, src, {"a": b"a", "sec/x": b"x"})
    fill(client, dst, {"a": b"a", "sec/x": b"x", "old": b"old"})
    fill(client, src, {"b": b"b"})
    unreadable(os.path.join(src, "sec"))
    result = run("sync", src, dst)
    assert_failed_naming(result, os.path.join(src, "sec"), "nothing deleted")
    assert contents(client, dst) == {"a": b"a", "b": b"b", "sec/x": b"x", "old": b"old"}


def test_sync_unreadable_source_root_deletes_nothing(client, from_local, unreadable):
    src, dst = from_local
    fill(client, src, {"a": b"a", "d/x": b"x"})
    fill(client, dst, {"a": b"a", "d/x": b"x", "old": b"old"})
    unreadable(src)
    assert_failed_naming(run("sync", src, dst), src)
    assert contents(client, dst) == {"a": b"a", "d/x": b"x", "old": b"old"}


def test_sync_unreadable_destination_directory_deletes_nothing(client, to_local, unreadable):
    src, dst = to_local
    fill(client, src, {"a": b"a", "b": b"b"})
    fill(client, dst, {"a": b"a", "old": b"old", "sec/x": b"x"})
    unreadable(os.path.join(dst, "sec"))
    assert_failed_naming(run("sync", src, dst), os.path.join(dst, "sec"), "nothing deleted")
    assert contents(client, dst) == {"a": b"a", "b": b"b", "old": b"old", "sec/x": b"x"}


def test_sync_unreadable_destination_root_deletes_nothing(client, tmp_path, unreadable):
    src, dst = str(tmp_path / "src"), str(tmp_path / "dst")
    fill(client, src, {"a": b"a"})
    fill(client, dst, {"old": b"old"})
    unreadable(dst)
    assert_failed_naming(run("sync", src, dst), dst)
    os.chmod(dst, 0o755)
    assert contents(client, dst) == {"old": b"old"}


def test_sync_files_whose_stat_fails_are_reported(client, from_local, unreadable):
    """A directory readable but not searchable (r--): its names list, their stat fails."""
    src, dst = from_local
    fill(client, src, {"a": b"a", "ro/f": b"f"})
    fill(client, dst, {"ro/f": b"f", "old": b"old"})
    unreadable(os.path.join(src, "ro"), 0o444)
    assert_failed_naming(run("sync", src, dst), os.path.join(src, "ro", "f"), "nothing deleted")
    assert contents(client, dst) == {"a": b"a", "ro/f": b"f", "old": b"old"}


@pytest.mark.parametrize("where", ["sec", ""], ids=["directory", "root"])
def test_sync_parallel_unreadable_directory_deletes_nothing(client, from_local, unreadable, where):
    """The Pool consumes the listing in a feeder thread: its errors still stop every delete."""
    src, dst = from_local
    files = {f"a{i}": b"a" for i in range(20)} | {"sec/x": b"x"}
    fill(client, src, files)
    fill(client, dst, {"sec/x": b"x", "old": b"old"})
    unreadable(os.path.join(src, where))
    result = run_python(f"from baiji import s3; s3.sync({src!r}, {dst!r}, parallel=True)")
    assert result.returncode == 1 and os.path.join(src, where) in result.stderr, result.stderr
    assert contents(client, dst) == (files if where else {"sec/x": b"x"}) | {"old": b"old"}


@pytest.mark.parametrize("flag", ["-r", "-R"])
def test_cp_r_reports_an_unreadable_directory_and_copies_the_rest(client, from_local, unreadable, flag):
    src, dst = from_local
    fill(client, src, {"a": b"a", "sec/x": b"x", "z/y": b"y"})
    unreadable(os.path.join(src, "sec"))
    assert_failed_naming(run("cp", flag, src + "/", dst), os.path.join(src, "sec"))
    assert contents(client, dst) == {"a": b"a", "z/y": b"y"}


def test_sync_directory_vanishing_during_the_walk_deletes_nothing(conn, client, from_local):
    """The listing is lazy: remove a directory it has not reached yet, once copies have begun."""
    src, dst = from_local
    early = {f"a/{i:04}": b"a" for i in range(8 * bulk.THREADS)}  # more than the copies in flight
    fill(client, src, early | {"z/keep": b"k"})
    fill(client, dst, {"z/keep": b"k"})

    def remove_z(_):
        shutil.rmtree(os.path.join(src, "z"), ignore_errors=True)

    with pytest.raises(Exception) as info:
        conn.sync(src, dst, progress=remove_z)
    assert os.path.join(src, "z") in str(info.value) and "vanished" in str(info.value)
    assert contents(client, dst) == early | {"z/keep": b"k"}


def test_listing_reports_a_vanished_directory_in_its_place(tmp_path):
    root = tmp_path / "r"
    for rel in ("a", "b/x", "c"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"1")
    listing = LocalStore().list(str(root) + os.sep)
    assert next(listing).url == str(root / "a")
    shutil.rmtree(root / "b")
    (root / "c").unlink()  # a vanished file is simply gone
    rest = list(listing)
    assert [(e.url, bool(e.problem)) for e in rest] == [(str(root / "b") + os.sep, True)]
    assert "vanished" in rest[0].problem


# 10. Never write through a symlinked directory in a local destination -------------------


def test_sync_refuses_to_write_through_a_symlink_leading_outside(client, to_local, tmp_path):
    src, dst = to_local
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, os.path.join(dst, "link"))
    fill(client, src, {"a": b"a", "link/x": b"x", "link/sub/y": b"y"})
    for _ in range(2):  # refused every time: no run ever writes there
        stderr = assert_failed_naming(run("sync", src, dst, as_user=False), os.path.join(dst, "link", "x"))
        assert os.path.join(dst, "link", "sub", "y") in stderr
        assert os.listdir(outside) == []
        assert contents(client, dst) == {"a": b"a"}


@pytest.mark.parametrize("flag", ["-r", "-R"])
def test_cp_r_refuses_to_write_through_a_symlink_leading_outside(client, to_local, tmp_path, flag):
    src, dst = to_local
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, os.path.join(dst, "link"))
    fill(client, src, {"a": b"a", "link/x": b"x"})
    source = src if paths.isremote(src) else src + "/"
    assert_failed_naming(run("cp", flag, source, dst, as_user=False), os.path.join(dst, "link", "x"))
    assert os.listdir(outside) == []
    assert contents(client, dst) == {"a": b"a"}


def test_sync_refuses_to_write_through_a_symlink_inside_the_destination(client, to_local):
    """dst/link -> dst/real: a write to link/x would land on real/x, which the same run deletes."""
    src, dst = to_local
    fill(client, dst, {"real/x": b"old"})
    os.symlink(os.path.join(dst, "real"), os.path.join(dst, "link"))
    fill(client, src, {"link/x": b"new"})
    assert_failed_naming(run("sync", src, dst, as_user=False), os.path.join(dst, "link", "x"),
                         "nothing deleted")
    assert contents(client, dst) == {"real/x": b"old"}


def test_sync_into_a_destination_that_is_itself_a_symlink(client, tmp_path, s3dir):
    real = tmp_path / "real"
    real.mkdir()
    dst = tmp_path / "dst"
    os.symlink(real, dst)
    fill(client, s3dir + "src/", {"a": b"a", "d/b": b"b"})
    S3Connection().sync(s3dir + "src/", str(dst))
    assert contents(client, str(real)) == {"a": b"a", "d/b": b"b"}


# 11. Another process's in-flight temp files are never listed ------------------------------

IN_FLIGHT = ".baiji-0123abcd-4242-abcd1234.tmp"  # .baiji-<pid space>-<pid>-<random>.tmp
OLD_IN_FLIGHT = ".baiji-abc_1234.tmp"  # baiji 3.0.0's names


def test_sync_never_uploads_in_flight_temp_files(client, from_local):
    src, dst = from_local
    fill(client, src, {"a": b"a", IN_FLIGHT: b"half", "d/" + OLD_IN_FLIGHT: b"half"})
    assert run("sync", src, dst, as_user=False).returncode == 0
    assert contents(client, dst) == {"a": b"a"}


def test_sync_never_deletes_in_flight_temp_files(client, to_local):
    src, dst = to_local
    fill(client, src, {"a": b"a"})
    fill(client, dst, {IN_FLIGHT: b"half", "d/" + OLD_IN_FLIGHT: b"half", "old": b"old"})
    result = run("sync", src, dst, as_user=False)
    assert result.returncode == 0, result.stderr
    assert contents(client, dst) == {"a": b"a", IN_FLIGHT: b"half", "d/" + OLD_IN_FLIGHT: b"half"}


def test_cp_r_never_copies_in_flight_temp_files(client, from_local):
    src, dst = from_local
    fill(client, src, {"a": b"a", IN_FLIGHT: b"half"})
    assert run("cp", "-r", src + "/", dst, as_user=False).returncode == 0
    assert contents(client, dst) == {"a": b"a"}


# 13. Special files are reported, never opened ----------------------------------------------


def make_special(path: str, kind: str) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(path)
    else:
        os.symlink("/dev/zero", path)


SPECIAL_KINDS = ["fifo", "socket", "devzero-link"]


@pytest.mark.parametrize("kind", SPECIAL_KINDS)
def test_sync_reports_a_special_source_file(client, from_local, kind):
    src, dst = from_local
    fill(client, src, {"a": b"a"})
    fill(client, dst, {"f": b"", "old": b"old"})
    make_special(os.path.join(src, "f"), kind)
    assert_failed_naming(run("sync", src, dst, as_user=False), os.path.join(src, "f"), "special file",
                         "nothing deleted")
    assert contents(client, dst) == {"a": b"a", "f": b"", "old": b"old"}


@pytest.mark.parametrize("kind", SPECIAL_KINDS)
def test_sync_reports_a_special_destination_file(client, to_local, kind):
    src, dst = to_local
    fill(client, src, {"a": b"a", "f": b""})
    fill(client, dst, {"old": b"old"})
    make_special(os.path.join(dst, "f"), kind)
    assert_failed_naming(run("sync", src, dst, as_user=False), os.path.join(dst, "f"), "special file",
                         "nothing deleted")
    assert contents(client, dst) == {"a": b"a", "old": b"old"}
    assert not stat.S_ISREG(os.stat(os.path.join(dst, "f")).st_mode)


@pytest.mark.parametrize("kind", SPECIAL_KINDS)
@pytest.mark.parametrize("dst_kind", ["s3", "local"])
def test_cp_of_a_special_file_refuses(client, s3dir, tmp_path, kind, dst_kind):
    special = str(tmp_path / "f")
    make_special(special, kind)
    dst = s3dir + "f" if dst_kind == "s3" else str(tmp_path / "copy")
    assert_failed_naming(run("cp", special, dst, as_user=False), special)
    assert not os.path.exists(tmp_path / "copy") and keys_under(client, s3dir) == []


@pytest.mark.parametrize("side", ["src", "dst"])
def test_sync_file_with_a_special_file_refuses(s3dir, tmp_path, side):
    fifo = str(tmp_path / "f")
    os.mkfifo(fifo)
    key = s3dir + "f"
    src, dst = (fifo, key) if side == "src" else (key, fifo)
    result = run_python(f"from baiji import s3; s3.put_string({key!r}, ''); s3.sync_file({src!r}, {dst!r})")
    assert result.returncode == 1 and f"S3Exception: {fifo}: special file (FIFO)" in result.stderr, result.stderr


@pytest.mark.parametrize("command", ["etag", "md5"])
def test_hashing_a_special_file_refuses(tmp_path, command):
    fifo = str(tmp_path / "f")
    os.mkfifo(fifo)
    assert_failed_naming(run(command, fifo, as_user=False), fifo, "special file")


# 17. Symlink loops and dangling symlinks ------------------------------------------------------


def test_sync_reports_each_symlink_loop_once(client, from_local):
    src, dst = from_local
    fill(client, src, {"a": b"a", "d/f": b"f"})
    os.symlink("..", os.path.join(src, "d", "up"))
    os.symlink("self", os.path.join(src, "self"))
    stderr = assert_failed_naming(run("sync", src, dst, as_user=False), os.path.join(src, "d", "up"),
                                  os.path.join(src, "self"), "symlink loop")
    # one cause, said once, naming each loop once (failures are grouped by cause)
    assert stderr.count("symlink loop") == 1 and len(stderr) < 400, stderr
    assert stderr.count(os.path.join(src, "self")) == stderr.count(os.path.join(src, "d", "up")) == 1, stderr
    assert contents(client, dst) == {"a": b"a", "d/f": b"f"}


def test_sync_follows_a_symlink_to_a_sibling_directory(client, from_local):
    """Not a loop: the same directory reached twice is copied twice."""
    src, dst = from_local
    fill(client, src, {"d/f": b"f"})
    os.symlink("d", os.path.join(src, "e"))
    assert run("sync", src, dst, as_user=False).returncode == 0
    assert contents(client, dst) == {"d/f": b"f", "e/f": b"f"}


def test_sync_reports_a_dangling_symlink(client, from_local):
    src, dst = from_local
    fill(client, src, {"a": b"a"})
    fill(client, dst, {"dangling": b"was here", "old": b"old"})
    os.symlink("nowhere", os.path.join(src, "dangling"))
    assert_failed_naming(run("sync", src, dst, as_user=False), os.path.join(src, "dangling"),
                         "dangling symlink", "nothing deleted")
    assert contents(client, dst) == {"a": b"a", "dangling": b"was here", "old": b"old"}


# The listing itself -------------------------------------------------------------------------


def test_local_listing_puts_problem_entries_in_their_sorted_place(tmp_path):
    root = tmp_path / "r"
    for rel in ("a", "d/f", "d0", "z"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"1")
    os.mkfifo(root / "d-fifo")
    os.symlink("nowhere", root / "dangling")
    os.symlink("..", root / "d" / "up")
    (root / IN_FLIGHT).write_bytes(b"half")
    found = [(e.url[len(str(root)) + 1:], e.problem) for e in LocalStore().list(str(root), followlinks=True)]
    assert found == [("a", None), ("d-fifo", "special file (FIFO)"), ("d/f", None),
                     ("d/up/", "symlink loop"), ("d0", None), ("dangling", "dangling symlink"), ("z", None)]
    shallow = [(e.url[len(str(root)) + 1:], e.problem) for e in LocalStore().list(str(root), shallow=True)]
    assert shallow == [("a", None), ("d-fifo", "special file (FIFO)"), ("d/", None), ("d0", None),
                       ("dangling", "dangling symlink"), ("z", None)]


@pytest.mark.parametrize("flags", [[], ["-l"]], ids=["ls", "ls-l"])
def test_ls_warns_about_what_it_cannot_list(tmp_path, flags):
    root = tmp_path / "r"
    root.mkdir()
    (root / "a").write_bytes(b"a")
    os.mkfifo(root / "fifo")
    result = run("ls", *flags, root, as_user=False)
    assert result.returncode == 0, result.stderr
    assert str(root / "a") in result.stdout and "fifo" not in result.stdout
    assert f"s3: warning: {root / 'fifo'}: special file (FIFO)" in result.stderr
