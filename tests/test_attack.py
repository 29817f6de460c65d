"""Holes a hostile tester found after issue 9 (never lose data, part 2).

Each test states the rule it checks; setup and checks go through raw boto3
and plain files, never through baiji itself.
"""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from baiji.exceptions import KeyExists, KeyNotFound, S3Exception
from support.helpers import get, keys_under, missing_bucket, put
from test_cli import run
from test_sync import fill, tree


def local_or_s3(kind, tmp_path, s3dir, rel):
    return str(tmp_path / rel) if kind == "local" else s3dir + rel


# -- sync with one side inside the other ---------------------------------------------------

@pytest.mark.parametrize("kind", ["local", "s3"])
def test_sync_into_a_directory_that_holds_the_source_never_deletes_the_source(conn, client, s3dir, tmp_path, kind):
    """``s3 sync d/sub d`` deleted ``d/sub/*`` (the source itself: it is not in the source's
    listing), exit 0; a second run of the same command then mirrored the now empty source
    and deleted everything.  A destination that holds the source is refused."""
    top = local_or_s3(kind, tmp_path, s3dir, "d")
    fill(client, top + "/", {"a.txt": b"a", "sub/x.txt": b"x"})
    with pytest.raises(ValueError, match="inside"):
        conn.sync(top + "/sub", top)
    assert tree(client, top + "/") == {"a.txt": b"a", "sub/x.txt": b"x"}
    status, _, err = run("sync", top + "/sub/", top + "/")
    assert status == 1 and "inside" in err, err
    assert tree(client, top + "/") == {"a.txt": b"a", "sub/x.txt": b"x"}


def test_sync_into_a_symlink_to_the_directory_that_holds_the_source(conn, client, tmp_path):
    """The same through a symlink: ``e -> d``, ``s3 sync d/sub e``."""
    fill(client, str(tmp_path / "d") + "/", {"a.txt": b"a", "sub/x.txt": b"x"})
    os.symlink(tmp_path / "d", tmp_path / "e")
    with pytest.raises(ValueError, match="inside"):
        conn.sync(str(tmp_path / "d" / "sub"), str(tmp_path / "e"))
    assert tree(client, str(tmp_path / "d") + "/") == {"a.txt": b"a", "sub/x.txt": b"x"}


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_sync_into_a_directory_inside_the_source_is_refused(conn, client, s3dir, tmp_path, kind):
    """``s3 sync d d/sub`` copied d into d/sub, then d/sub into d/sub/sub on the next run,
    and so on for ever (exit 0 each time): a sync that can never converge."""
    top = local_or_s3(kind, tmp_path, s3dir, "d")
    fill(client, top + "/", {"a.txt": b"a"})
    conn.sync(top, top)  # the same place: nothing to do, allowed
    with pytest.raises(ValueError, match="inside"):
        conn.sync(top, top + "/sub")
    assert tree(client, top + "/") == {"a.txt": b"a"}


def test_sync_into_the_parent_is_allowed_when_the_source_is_protected(conn, client, tmp_path):
    """With ``-D sub/`` protecting the source, ``sync d/sub d`` cannot delete it: allowed."""
    top = str(tmp_path / "d")
    fill(client, top + "/", {"old.txt": b"o", "sub/x.txt": b"x"})
    conn.sync(top + "/sub", top, do_not_delete=["sub/"])
    assert tree(client, top + "/") == {"x.txt": b"x", "sub/x.txt": b"x"}


# -- rm -r of a symlink ----------------------------------------------------------------------

def test_rm_r_of_a_symlink_to_a_directory_removes_the_link_not_the_target(conn, tmp_path):
    """``s3 rm -r -f d/link`` (link -> a directory elsewhere) deleted every file of the
    target, exit 0.  Unix ``rm -rf d/link`` removes the link only."""
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "precious.txt").write_bytes(b"p")
    (tmp_path / "d").mkdir()
    os.symlink(tmp_path / "t", tmp_path / "d" / "link")
    status, _, err = run("rm", "-r", "-f", tmp_path / "d" / "link")
    assert status == 0, err
    assert not os.path.lexists(tmp_path / "d" / "link")
    assert (tmp_path / "t" / "precious.txt").read_bytes() == b"p"


# -- special files as destinations -------------------------------------------------------------

def _special(tmp_path, kind):
    path = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(path)
    else:
        if os.geteuid() != 0:
            pytest.skip("mknod needs root")
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's numbers
    return path


@pytest.mark.parametrize("kind", ["fifo", "chardev"])
@pytest.mark.parametrize("src_kind", ["s3", "local"])
def test_cp_force_onto_a_special_file_never_replaces_it(conn, client, s3dir, tmp_path, kind, src_kind):
    """``s3 cp -f s3://b/k /dev/null`` (run as root) replaced /dev/null with a regular file,
    exit 0: the download's temp file is renamed over the device node.  Same for a FIFO,
    and for ``mv -f`` (which then removes the source).  A special file is never written."""
    special = _special(tmp_path, kind)
    if src_kind == "s3":
        src = s3dir + "k.txt"
        put(client, src, b"data")
    else:
        src = str(tmp_path / "k.txt")
        (tmp_path / "k.txt").write_bytes(b"data")
    with pytest.raises(S3Exception, match="special file"):
        conn.cp(src, str(special), force=True)
    assert not stat.S_ISREG(os.lstat(special).st_mode)
    status, _, err = run("mv", "-f", src, special)
    assert status == 1 and "special file" in err, err
    assert not stat.S_ISREG(os.lstat(special).st_mode)
    assert (keys_under(client, s3dir) == ["k.txt"]) if src_kind == "s3" else (tmp_path / "k.txt").exists()


# -- s3.open ---------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["w", "wb", "x"])
def test_open_for_writing_a_key_ending_in_slash_is_refused(conn, client, s3dir, mode):
    """``s3.open('s3://b/dir/', 'w')`` uploaded the content to ``dir/.baiji-<pid>-<random>``
    (the temp file's name), no error.  A key ending in / is no file name: refused,
    nothing written."""
    with pytest.raises((ValueError, IsADirectoryError, S3Exception)):
        with conn.open(s3dir + "dir/", mode) as f:
            f.write(b"data" if "b" in mode else "data")
    assert keys_under(client, s3dir) == []


def test_open_write_failing_at_close_leaves_no_temp_file(conn, client, s3dir, tmp_path, monkeypatch):
    """A write to an s3 key whose temp file's last flush fails (a full BAIJI_TMP) raised,
    but left the temp file behind for good, keeping the disk full."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    full = tmp_path / "full"
    full.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(full)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        monkeypatch.setenv("BAIJI_TMP", str(full))
        f = conn.open(s3dir + "k.bin", "wb")
        f.write(b"x" * 60000)  # bigger than the buffer: written at once, fits
        f.write(b"y" * 6000)  # buffered: the flush at close fails
        with pytest.raises(OSError):
            f.close()
        assert os.listdir(full) == []
        assert keys_under(client, s3dir) == []
    finally:
        subprocess.run(["umount", "-l", str(full)])


# -- sync_file(delete=True) with a source whose bucket or directory is missing -------------------

@pytest.mark.parametrize("src_kind", ["bucket", "directory"])
def test_sync_file_delete_with_a_missing_source_bucket_keeps_dst(conn, tmp_path, src_kind):
    """``sync_file('s3://typo-bucket/k', dst, delete=True)`` removed dst, no error: a
    missing bucket (an unmounted directory) is no evidence that the file was deleted.
    Like ``sync`` with an empty s3 source, nothing is deleted and the call raises."""
    dst = tmp_path / "keep.txt"
    dst.write_bytes(b"precious")
    src = (f"s3://{missing_bucket()}/k.txt" if src_kind == "bucket"
           else str(tmp_path / "not-mounted" / "k.txt"))
    with pytest.raises(KeyNotFound):
        conn.sync_file(src, str(dst), delete=True)
    assert dst.read_bytes() == b"precious"


# -- exclusive writes through a connection reset after the server acted --------------------------

def test_exclusive_open_whose_first_put_lost_its_answer(fault_proxy, client, s3dir):
    """``open(key, 'x')``: the placeholder PUT reaches the server, the answer is lost
    (connection reset), botocore retries, the retry gets 412 (the key is there: our own
    placeholder).  baiji raised KeyExists, so nobody writes the key and an empty placeholder
    stays for good.  The writer that created the key must win (or at least the ghost
    placeholder must be removed)."""
    fault_proxy.proxy.fail_next(1, "reset_after_forward", match="PutObject")
    url = s3dir + "claimed.txt"
    try:
        with fault_proxy.conn.open(url, "x") as f:
            f.write("mine")
    except KeyExists:
        assert keys_under(client, s3dir) == [], "KeyExists, and an empty placeholder left behind"
    else:
        assert get(client, url) == b"mine"


def test_exclusive_upload_whose_first_put_lost_its_answer(fault_proxy, client, s3dir, tmp_path):
    """``s3 cp f s3://b/k`` (no -f: a conditional PUT) whose answer is lost: the retry meets
    its own write (412).  It said "already exists" although it had uploaded."""
    fault_proxy.proxy.fail_next(1, "reset_after_forward", match="PutObject")
    (tmp_path / "f").write_bytes(b"payload")
    assert fault_proxy.conn.cp(str(tmp_path / "f"), s3dir + "k") is True
    assert get(client, s3dir + "k") == b"payload"


def test_exclusive_upload_onto_other_content_still_refused(conn, client, s3dir, tmp_path):
    put(client, s3dir + "k", b"theirs")
    (tmp_path / "f").write_bytes(b"mine!!")
    with pytest.raises(KeyExists):
        conn.cp(str(tmp_path / "f"), s3dir + "k")
    assert get(client, s3dir + "k") == b"theirs"


# -- cp -r and symlinked source directories -------------------------------------------------------

@pytest.mark.parametrize("dst_kind", ["local", "s3"])
def test_cp_r_copies_a_symlinked_source_directory(conn, client, s3dir, tmp_path, dst_kind):
    """``s3 cp -r d s3://b/p/`` with ``d/photos -> /elsewhere/photos`` skipped photos
    silently, exit 0 (``sync`` of the same tree copies them).  cp -r follows it like sync
    (and ``aws s3 cp --recursive``), reporting loops."""
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "p.jpg").write_bytes(b"p")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_bytes(b"a")
    os.symlink(tmp_path / "photos", tmp_path / "d" / "photos")
    dst = local_or_s3(dst_kind, tmp_path, s3dir, "out/")
    status, _, err = run("cp", "-r", str(tmp_path / "d") + "/", dst)
    assert status == 0, err
    assert tree(client, dst) == {"a.txt": b"a", "photos/p.jpg": b"p"}


def test_cp_r_reports_a_symlink_loop(conn, client, s3dir, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_bytes(b"a")
    os.symlink(tmp_path / "d", tmp_path / "d" / "loop")
    status, _, err = run("cp", "-r", str(tmp_path / "d") + "/", s3dir)
    assert status == 1 and "symlink loop" in err, err
    assert keys_under(client, s3dir) == ["a.txt"]


# -- cp -r . / cp -r .. -------------------------------------------------------------------------------

@pytest.mark.parametrize("src", [".", "..", "./", "sub/.."])
def test_cp_r_of_dot_never_makes_dot_segments_in_keys(conn, client, s3dir, tmp_path, monkeypatch, src):
    """``s3 cp -r . s3://b/p/`` wrote ``p/./a`` and ``s3 cp -r .. s3://b/p/`` wrote
    ``p/../in/a``, exit 0: keys baiji itself refuses as hostile on the way back, and that other
    tools normalise to another place (``in/a`` at the bucket's root).  ``.`` and ``..`` copy
    their contents, like ``cp -r d/``."""
    top = tmp_path / "top"
    (top / "in" / "sub").mkdir(parents=True)
    (top / "in" / "a.txt").write_bytes(b"a")
    monkeypatch.chdir(top / "in" / "sub" if src == ".." else top / "in")  # src names top/in each time
    status, _, err = run("cp", "-r", src, s3dir + "p/")
    assert status == 0, err
    assert all("./" not in key and "/." not in key for key in keys_under(client, s3dir)), keys_under(client, s3dir)
    assert tree(client, s3dir + "p/") == {"a.txt": b"a"}


# -- a user's file that merely looks like a baiji temp file ---------------------------------------

def test_sync_mirrors_a_user_file_named_like_a_temp_file(conn, client, s3dir, tmp_path):
    """Listings leave out ``.baiji-*.tmp`` (another process's download in flight).  A user's
    own ``.baiji-notes.tmp`` was never uploaded, and sync then deleted the copy that
    ``cp`` had put there, exit 0.  Only the names baiji makes (``tempfiles._NAME``) are
    someone's download."""
    src = tmp_path / "src"
    src.mkdir()
    (src / ".baiji-notes.tmp").write_bytes(b"mine")
    put(client, s3dir + ".baiji-notes.tmp", b"mine")
    conn.sync(str(src), s3dir)
    assert keys_under(client, s3dir) == [".baiji-notes.tmp"]
