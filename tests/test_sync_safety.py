"""sync and cp_r never lose data (issue 9, part 2), against the session's real server.

What a source is (a key is no directory; an empty s3 prefix deletes
nothing), every spelling of ``do_not_delete``, files and directories in each
other's way, servers that list out of order, unreadable or vanishing files,
multipart copies that must not be copied again, and deletions that fail.
Both sides are set up and checked without baiji (raw boto3, plain files).
"""

from __future__ import annotations

import os
import stat
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from baiji import integrity
from baiji.connection import BulkCopyError
from baiji.exceptions import S3Warning
from baiji.exceptions import KeyNotFound
from support import servers
from support.helpers import (PYTHON_M_BAIJI, RequestCounter, keys_under, missing_bucket, put, split,
                             without_root_override)
from test_cli import assert_failed, run
from test_sync import fill, tree

MiB = 1024 * 1024
DST_FILES = {"keep.txt": b"k", "uploads/photo.jpg": b"p", "uploads/deep/a.txt": b"a", "old.txt": b"o"}


def local_dirs(tmp_path, *names):
    made = [tmp_path / name for name in names]
    for path in made:
        path.mkdir(parents=True, exist_ok=True)
    return [str(path) for path in made]


def s3(*args, tmp_path=None) -> subprocess.CompletedProcess:
    """``python -m baiji ARGS`` as a user whom file permissions bind (also when the tests run as root)."""
    return subprocess.run(without_root_override([*PYTHON_M_BAIJI, *args]), capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)


# -- 7: what a source is ---------------------------------------------------------------------

@pytest.mark.parametrize("dst_kind", ["local", "s3"])
def test_sync_a_key_as_source_is_refused_and_changes_nothing(conn, client, s3dir, tmp_path, dst_kind):
    fill(client, s3dir + "src/", {"a.txt": b"a"})
    dst = str(tmp_path / "dst") if dst_kind == "local" else s3dir + "dst/"
    fill(client, dst, DST_FILES)
    with pytest.raises(ValueError, match="a.txt is a key, not a directory"):
        conn.sync(s3dir + "src/a.txt", dst)
    assert tree(client, dst) == DST_FILES
    assert_failed(run("sync", s3dir + "src/a.txt", dst), "src/a.txt is a key, not a directory")
    assert tree(client, dst) == DST_FILES
    with pytest.raises(ValueError, match="is a key, not a directory"):
        conn.cp_r(s3dir + "src/a.txt", dst)
    assert tree(client, dst) == DST_FILES


@pytest.mark.moto_only(reason="SeaweedFS keeps keys as files in directories: a key cannot also be a prefix")
def test_sync_source_that_is_a_key_and_a_prefix_means_the_prefix(conn, client, s3dir, tmp_path):
    fill(client, s3dir, {"a": b"the key", "a/x.txt": b"x"})
    dst = str(tmp_path / "dst")
    conn.sync(s3dir + "a", dst)
    assert tree(client, dst) == {"x.txt": b"x"}


@pytest.mark.parametrize("dst_kind", ["local", "s3"])
def test_sync_from_an_empty_s3_prefix_deletes_nothing(conn, client, s3dir, tmp_path, dst_kind):
    dst = str(tmp_path / "dst") if dst_kind == "local" else s3dir + "dst/"
    fill(client, dst, DST_FILES)
    for src in (s3dir + "nothing/", s3dir + "nothing"):
        with pytest.raises(ValueError, match="no keys under this prefix"):
            conn.sync(src, dst)
        assert tree(client, dst) == DST_FILES
    conn.sync(s3dir + "nothing/", dst, do_not_delete=["./"])  # nothing would be deleted: fine
    empty = str(tmp_path / "empty")
    conn.sync(s3dir + "nothing/", empty)  # an empty destination: nothing to do
    assert not os.path.exists(empty) or os.listdir(empty) == []


def test_sync_from_an_existing_empty_local_directory_mirrors_it(conn, client, s3dir, tmp_path):
    (src,) = local_dirs(tmp_path, "empty")
    fill(client, s3dir + "dst/", {"a.txt": b"a"})
    conn.sync(src, s3dir + "dst/")  # like rsync: an existing directory, known to be empty
    assert tree(client, s3dir + "dst/") == {}


# -- 8: do_not_delete, every spelling -------------------------------------------------------------

LOCAL_SPELLINGS = ["uploads/", "./uploads/", "uploads", "uploads/*", "uploads/**", "{dst}/uploads/",
                   "{dst}/uploads", "file://{dst}/uploads/", "dst/uploads/", "./dst/uploads/*"]
S3_SPELLINGS = ["uploads/", "./uploads/", "uploads", "uploads/*", "{dst}uploads/", "{dst}uploads",
                "/{key}uploads/"]


def _check_kept(conn, client, src, dst, spelling):
    fill(client, src, {"keep.txt": b"k", "new.txt": b"n"})
    fill(client, dst, DST_FILES)
    conn.sync(src, dst, do_not_delete=[spelling])
    assert tree(client, dst) == {"keep.txt": b"k", "new.txt": b"n", "uploads/photo.jpg": b"p",
                                 "uploads/deep/a.txt": b"a"}


@pytest.mark.parametrize("spelling", LOCAL_SPELLINGS)
def test_sync_do_not_delete_spellings_local_destination(conn, client, s3dir, tmp_path, monkeypatch, spelling):
    monkeypatch.chdir(tmp_path)  # 'dst/uploads/' is read from here too
    dst = str(tmp_path / "dst")
    _check_kept(conn, client, s3dir + "src/", dst, spelling.format(dst=dst))


@pytest.mark.parametrize("spelling", S3_SPELLINGS)
def test_sync_do_not_delete_spellings_s3_destination(conn, client, s3dir, tmp_path, spelling):
    dst = s3dir + "dst/"
    (src,) = local_dirs(tmp_path, "src")
    _check_kept(conn, client, src, dst, spelling.format(dst=dst, key=split(dst)[1]))


@pytest.mark.parametrize("dst_kind,spelling", [
    ("local", "/elsewhere/uploads/"), ("local", "file:///elsewhere/uploads/"), ("local", "{s3dir}dst/uploads/"),
    ("local", "../uploads/"), ("local", "uploads/*.jpg"), ("local", "up?oads/"), ("local", ""),
    ("s3", "/uploads/"), ("s3", "s3://another-bucket/dst/uploads/"), ("s3", "{s3dir}other/uploads/"),
    ("s3", "file://{tmp}/dst/uploads/"), ("s3", "../uploads/"), ("s3", "uploads/[ab]*"),
])
def test_sync_do_not_delete_that_protects_nothing_is_refused_before_copying(conn, client, s3dir, tmp_path,
                                                                             dst_kind, spelling):
    (src,) = local_dirs(tmp_path, "src")
    fill(client, src, {"new.txt": b"n"})
    dst = str(tmp_path / "dst") if dst_kind == "local" else s3dir + "dst/"
    fill(client, dst, DST_FILES)
    with pytest.raises(ValueError, match="do_not_delete"):
        conn.sync(src, dst, do_not_delete=["uploads/", spelling.format(s3dir=s3dir, tmp=tmp_path)])
    assert tree(client, dst) == DST_FILES


def test_cli_sync_do_not_delete_spellings(client, s3dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (src,) = local_dirs(tmp_path, "src")
    fill(client, src, {"a.txt": b"a"})
    fill(client, s3dir + "dst/", {"uploads/x": b"x", "logs/y": b"y", "tmp/z": b"z"})
    assert run("sync", "src", s3dir + "dst", "-D", "./uploads/", "-D", s3dir + "dst/logs/*")[0] == 0
    assert tree(client, s3dir + "dst/") == {"a.txt": b"a", "uploads/x": b"x", "logs/y": b"y"}
    assert_failed(run("sync", "src", s3dir + "dst", "-D", s3dir + "elsewhere/"), "do_not_delete", "not under")


# -- 9: a file where a directory must go, and the reverse -------------------------------------------------

@pytest.mark.moto_only(reason="SeaweedFS keeps keys as files in directories: a key cannot also be a prefix")
def test_sync_key_whose_local_place_is_a_directory_is_a_conflict(conn, client, s3dir, tmp_path):
    src = s3dir + "src/"
    fill(client, src, {"a": b"key a", "a/b": b"b", "c.txt": b"c"})
    dst = str(tmp_path / "dst")
    fill(client, dst, {"a/b": b"b", "old.txt": b"o"})
    for _ in range(2):  # the same answer every run: no flip-flop
        with pytest.raises(BulkCopyError) as info:
            conn.sync(src, dst)
        message = str(info.value)
        assert "a must be a directory for a/b" in message and "nothing deleted" in message
        assert tree(client, dst) == {"a/b": b"b", "c.txt": b"c", "old.txt": b"o"}
    assert_failed(run("sync", src, dst), "a must be a directory for a/b")


@pytest.mark.moto_only(reason="SeaweedFS keeps keys as files in directories: a key cannot also be a prefix")
@pytest.mark.parametrize("parallel", [False, True])
def test_cp_r_key_whose_local_place_is_a_directory_is_a_conflict(conn, client, s3dir, tmp_path, parallel):
    src = s3dir + "src/"
    fill(client, src, {"a": b"key a", "a/b": b"b", "c.txt": b"c"})
    dst = str(tmp_path / "dst")
    with pytest.raises(BulkCopyError, match="a must be a directory for a/b"):
        conn.cp_r(src, dst, parallel=parallel)
    assert tree(client, dst) == {"a/b": b"b", "c.txt": b"c"}
    assert_failed(run("cp", "-r", "-f", src, dst), "a must be a directory for a/b")
    assert tree(client, dst) == {"a/b": b"b", "c.txt": b"c"}


@pytest.mark.parametrize("src_kind", ["local", "s3"])
def test_sync_file_and_directory_in_each_others_way(conn, client, s3dir, tmp_path, src_kind):
    src = str(tmp_path / "src") if src_kind == "local" else s3dir + "src/"
    fill(client, src, {"a": b"file a", "d/e.txt": b"e", "z.txt": b"z"})
    dst = str(tmp_path / "dst")
    fill(client, dst, {"a/x.txt": b"x", "d": b"file d"})
    os.makedirs(os.path.join(dst, "z.txt"))  # an empty directory: no listing shows it
    with pytest.raises(BulkCopyError) as info:
        conn.sync(src, dst)
    message = str(info.value)
    assert "a must be a directory for a/x.txt" in message
    assert "d is a file, not a directory" in message
    assert os.path.join(dst, "z.txt") in message and "directory is in the way" in message
    assert tree(client, dst) == {"a/x.txt": b"x", "d": b"file d"}  # nothing written at dst/basename
    assert os.listdir(os.path.join(dst, "z.txt")) == []


@pytest.mark.parametrize("force", [False, True])
def test_cp_r_never_writes_into_a_directory_in_the_way(conn, client, tmp_path, force):
    src, dst = local_dirs(tmp_path, "src", "dst/a")
    fill(client, src, {"a": b"file a", "b": b"b"})
    with pytest.raises(BulkCopyError, match="directory is in the way"):
        conn.cp_r(src + "/", os.path.dirname(dst), force=force)
    assert tree(client, os.path.dirname(dst)) == {"b": b"b"}
    assert os.listdir(dst) == []


# -- 14: servers that list out of byte order --------------------------------------------------------------

#: 1,008 keys: 'a/...' (1,006 of them) and 'a-b', 'a.b', which sort before 'a/' but SeaweedFS
#: lists after the whole 'a/' "directory" once the listing spans pages.
MANY = {**{f"a/{i:04d}.txt": b"%d" % i for i in range(1006)}, "a-b": b"dash", "a.b": b"dot"}


@pytest.fixture
def many_keys(client, s3dir):
    src = s3dir + "many/"
    bucket, key = split(src)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda item: client.put_object(Bucket=bucket, Key=key + item[0], Body=item[1]),
                      MANY.items()))
    listed = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
              for o in page.get("Contents", [])]
    return src, listed != sorted(listed, key=lambda k: k.encode())


def test_sync_works_on_servers_that_list_out_of_order(conn, fault_proxy, client, s3dir, tmp_path, many_keys,
                                                      recwarn):
    src, unsorted = many_keys
    local = str(tmp_path / "dst")
    fill(client, local, {"a-b": b"stale", "gone.txt": b"g"})
    conn.sync(src, local)  # straight to the server: 3 x 1,008 copies through the proxy took a minute
    assert tree(client, local) == MANY
    conn.sync(src, s3dir + "copy/")
    conn.sync(local, s3dir + "back/")
    for dst in (local, s3dir + "copy/", s3dir + "back/"):
        with RequestCounter(fault_proxy) as counter:  # the repeat syncs, counted where every request passes
            fault_proxy.conn.sync(src, dst)
        assert counter["ListObjectsV2"] >= 1, (dst, counter)  # the proxy did see the sync
        assert counter.writes() == 0 and counter["GetObject"] == 0, (dst, counter)
    assert tree(client, s3dir + "back/") == MANY
    assert len(keys_under(client, s3dir + "copy/")) == len(MANY)
    warned = [str(w.message) for w in recwarn if issubclass(w.category, S3Warning)]
    assert bool(warned) == unsorted, warned
    assert all("out of byte order" in w and "1008 keys" in w for w in warned)


# -- 15: a file that cannot be compared fails alone ------------------------------------------------------

@pytest.mark.parametrize("dst_kind", ["local", "s3"])
def test_sync_unreadable_file_of_equal_size_fails_alone(client, s3dir, tmp_path, dst_kind):
    (src,) = local_dirs(tmp_path, "src")
    fill(client, src, {"a.txt": b"a", "b-secret.txt": b"SAME", "c.txt": b"new c", "d.txt": b"d"})
    dst = str(tmp_path / "dst") if dst_kind == "local" else s3dir + "dst/"
    fill(client, dst, {"b-secret.txt": b"same", "c.txt": b"old", "gone.txt": b"g"})
    os.chmod(os.path.join(src, "b-secret.txt"), 0)
    done = s3("sync", src, dst)
    assert done.returncode == 1, done
    assert "b-secret.txt" in done.stderr and "Permission denied" in done.stderr
    assert "nothing deleted" in done.stderr
    assert tree(client, dst) == {"a.txt": b"a", "b-secret.txt": b"same", "c.txt": b"new c", "d.txt": b"d",
                                 "gone.txt": b"g"}


def test_sync_file_vanishing_before_it_is_hashed_fails_alone(conn, client, s3dir, tmp_path, monkeypatch):
    (src,) = local_dirs(tmp_path, "src")
    fill(client, src, {"a.txt": b"same", "b.txt": b"new b"})
    dst = s3dir + "dst/"
    fill(client, dst, {"a.txt": b"same", "b.txt": b"old", "gone.txt": b"g"})
    real = integrity.file_matches_etag

    def vanishing(path, *args, **kwargs):
        os.remove(path)  # removed between the listing and the hashing
        return real(path, *args, **kwargs)

    monkeypatch.setattr(integrity, "file_matches_etag", vanishing)
    with pytest.raises(BulkCopyError, match="a.txt") as info:
        conn.sync(src, dst)
    assert "nothing deleted" in str(info.value)
    assert tree(client, dst) == {"a.txt": b"same", "b.txt": b"new b", "gone.txt": b"g"}


# -- 16: multipart objects are not copied again --------------------------------------------------------

def test_sync_s3_to_s3_multipart_objects_are_copied_once(fault_proxy, client, s3dir, tmp_path):
    conn = fault_proxy.conn
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(6 * MiB))
    conn.cp(str(big), s3dir + "src/big.bin", max_size=5 * MiB)  # two parts: a multipart ETag
    fill(client, s3dir + "src/", {"small.txt": b"s"})
    conn.sync(s3dir + "src/", s3dir + "dst/")
    with RequestCounter(fault_proxy) as counter:
        conn.sync(s3dir + "src/", s3dir + "dst/")
    assert counter["ListObjectsV2"] >= 2, counter  # the proxy did see the sync
    assert counter.writes() == 0 and counter["GetObject"] == 0, counter
    assert counter["HeadObject"] <= 2, counter  # one per side of the multipart object, at most
    assert tree(client, s3dir + "dst/")["big.bin"] == big.read_bytes()


def test_sync_round_trip_of_an_odd_part_size_copies_once(fault_proxy, client, s3dir, tmp_path):
    conn = fault_proxy.conn
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(13 * MiB))
    conn.cp(str(big), s3dir + "a/big.bin", max_size=6 * MiB)  # 6+6+1 MiB: no part size the ETag check tries
    local = str(tmp_path / "down")
    legs = [(s3dir + "a/", local), (local, s3dir + "b/"), (s3dir + "a/", s3dir + "b/"), (s3dir + "b/", local)]
    for src, dst in legs:
        conn.sync(src, dst)
    for src, dst in legs:
        with RequestCounter(fault_proxy) as counter:
            conn.sync(src, dst)
        assert counter["ListObjectsV2"] >= 1, (src, dst, counter)  # the proxy did see the sync
        assert counter.writes() == 0 and counter["GetObject"] == 0, (src, dst, counter)
    assert tree(client, local) == {"big.bin": big.read_bytes()}


# -- 23: a deletion that fails is reported ---------------------------------------------------------------

@pytest.mark.parametrize("src_kind", ["local", "s3"])
def test_sync_failed_deletion_is_reported(client, s3dir, tmp_path, src_kind):
    src = str(tmp_path / "src") if src_kind == "local" else s3dir + "src/"
    fill(client, src, {"a.txt": b"a", "locked/kept.txt": b"k"})
    dst = str(tmp_path / "dst")
    fill(client, dst, {"locked/kept.txt": b"k", "locked/stuck.txt": b"s", "free.txt": b"f"})
    locked = os.path.join(dst, "locked")
    os.chmod(locked, stat.S_IRUSR | stat.S_IXUSR)
    try:
        done = s3("sync", src, dst)
    finally:
        os.chmod(locked, stat.S_IRWXU)
    assert done.returncode == 1, done
    assert "1 of 2 deletions failed" in done.stderr
    assert "stuck.txt" in done.stderr and "Permission denied" in done.stderr
    assert tree(client, dst) == {"a.txt": b"a", "locked/kept.txt": b"k", "locked/stuck.txt": b"s"}


# -- max_delete / --max-delete: a limit on what one run may delete -----------------------------

def _tree_of(root, names):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode())


@pytest.mark.parametrize("direction", ["local-s3", "s3-local"])
def test_sync_max_delete_refuses_every_deletion_beyond_the_limit(tmp_path, s3dir, conn, direction):
    """More deletions than ``max_delete``: none happens (the copies do), TooManyDeletions names
    the destination and the count; at the limit, the deletions go."""
    from baiji.connection import TooManyDeletions

    src_local, dst_local = tmp_path / "src", tmp_path / "dst"
    src_local.mkdir()
    _tree_of(src_local, ["keep.txt", "new.txt"])
    if direction == "local-s3":
        src, dst = str(src_local), s3dir + "dst/"
        for name in ("keep.txt", "old1.txt", "old2.txt", "old3.txt"):
            conn.put_string(dst + name, name)
        listed = lambda: sorted(paths_only(conn.ls(dst)))  # noqa: E731
    else:
        conn.cp_r(str(src_local) + "/", s3dir + "src/", force=True)
        src, dst = s3dir + "src/", str(dst_local)
        _tree_of(dst_local, ["keep.txt", "old1.txt", "old2.txt", "old3.txt"])
        listed = lambda: sorted(p.name for p in dst_local.iterdir())  # noqa: E731
    with pytest.raises(TooManyDeletions, match=r"3 files would be deleted, more than max_delete=2 allows; "
                                                r"nothing deleted"):
        conn.sync(src, dst, max_delete=2)
    assert listed() == ["keep.txt", "new.txt", "old1.txt", "old2.txt", "old3.txt"]
    conn.sync(src, dst, max_delete=3)
    assert listed() == ["keep.txt", "new.txt"]


def paths_only(urls):
    return [url.rsplit("/", 1)[1] for url in urls]


def test_rm_r_max_delete_removes_nothing_beyond_the_limit(tmp_path, s3dir, conn):
    from baiji.connection import TooManyDeletions

    for i in range(5):
        conn.put_string(f"{s3dir}tree/k{i}", "x")
    local = tmp_path / "tree"
    _tree_of(local, [f"d/f{i}" for i in range(5)])
    for where in (s3dir + "tree/", str(local)):
        with pytest.raises(TooManyDeletions, match="more than 4 files would be deleted"):
            conn.rm_r(where, force=True, quiet=True, max_delete=4)
    assert len(list(conn.ls(s3dir + "tree/"))) == 5 and len(list(local.rglob("f*"))) == 5
    conn.rm_r(s3dir + "tree/", force=True, quiet=True, max_delete=5)
    conn.rm_r(str(local), force=True, quiet=True, max_delete=5)
    assert list(conn.ls(s3dir + "tree/")) == [] and not local.exists()


def test_cli_max_delete(tmp_path, s3dir, conn):
    from test_cli import run

    for i in range(3):
        conn.put_string(f"{s3dir}t/k{i}", "x")
    status, _, err = run("rm", "-r", "-f", "--max-delete", "2", s3dir + "t/")
    assert status == 1 and "more than 2 files would be deleted" in err and "nothing deleted" in err
    assert len(list(conn.ls(s3dir + "t/"))) == 3
    status, _, err = run("sync", str(tmp_path), s3dir + "t/", "--max-delete", "0")
    assert status == 1 and "3 files would be deleted, more than max_delete=0" in err
    assert len(list(conn.ls(s3dir + "t/"))) == 3
    status, _, err = run("rm", "--max-delete", "0", s3dir + "t/k0")
    assert status == 2 and "--max-delete" in err
    status, _, err = run("sync", str(tmp_path), s3dir + "t/", "--max-delete", "-1")
    assert status == 2 and "--max-delete" in err
    status, _, err = run("rm", "-r", "-f", "--max-delete", "3", s3dir + "t/")
    assert status == 0, err
    assert list(conn.ls(s3dir + "t/")) == []


def local_or_s3(kind, tmp_path, s3dir, rel):
    return str(tmp_path / rel) if kind == "local" else s3dir + rel


@pytest.fixture
def other_bucket(client):
    name = f"baiji-attack2-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=name)
    yield name
    try:
        servers.delete_bucket(client, name)
    except Exception:
        pass


# -- sync with one side inside the other -----------------------------------------------------------

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


# -- a bucket's root as one side of a sync ---------------------------------------------------------

def test_sync_to_a_bucket_root_without_slash_keeps_the_files(conn, client, bucket, tmp_path):
    """``s3 sync dir s3://b`` (no trailing slash): the destination's listing was taken with
    the prefix ``s3://b``, so every key came out as ``/a``: nothing matched the source's
    ``a``, every file was copied again and then "the extra" ``/a`` (the very key just
    written) deleted.  The second run of the same command emptied the bucket, exit 0."""
    fill(client, str(tmp_path / "src") + "/", {"a.txt": b"a", "sub/b.txt": b"b"})
    for _ in range(2):
        status, _, err = run("sync", tmp_path / "src", f"s3://{bucket}")
        assert status == 0, err
        assert tree(client, f"s3://{bucket}/") == {"a.txt": b"a", "sub/b.txt": b"b"}


def test_sync_from_a_bucket_root_without_slash(conn, client, bucket, other_bucket, tmp_path):
    """``s3 sync s3://b DIR`` refused every key as an "absolute path in key" (exit 1, nothing
    copied); ``s3 sync s3://b s3://c/`` wrote ``c//a`` (exit 0); ``s3 sync s3://b/ s3://c``
    then deleted everything in ``c``, exit 0.  ``s3://b`` and ``s3://b/`` are the same
    place: the whole bucket."""
    put(client, f"s3://{bucket}/a.txt", b"a")
    put(client, f"s3://{bucket}/sub/b.txt", b"b")
    want = {"a.txt": b"a", "sub/b.txt": b"b"}
    status, _, err = run("sync", f"s3://{bucket}", tmp_path / "out")
    assert status == 0, err
    assert tree(client, str(tmp_path / "out")) == want
    for src, dst in [(f"s3://{bucket}", f"s3://{other_bucket}/"), (f"s3://{bucket}/", f"s3://{other_bucket}"),
                     (f"s3://{bucket}", f"s3://{other_bucket}")]:
        status, _, err = run("sync", src, dst)
        assert status == 0, err
        assert tree(client, f"s3://{other_bucket}/") == want, (src, dst)


# -- sync_file(delete=True) with a source whose bucket or directory is missing ---------------------

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


def test_sync_file_with_a_missing_bucket_or_directory_says_which(conn, tmp_path):
    (tmp_path / "dst").write_bytes(b"keep")
    with pytest.raises(KeyNotFound, match="its directory does not exist"):
        conn.sync_file(str(tmp_path / "gone" / "f"), str(tmp_path / "dst"), delete=True)
    with pytest.raises(KeyNotFound, match="its bucket does not exist"):
        conn.sync_file(f"s3://{missing_bucket()}/f", str(tmp_path / "dst"), delete=True)
    assert (tmp_path / "dst").read_bytes() == b"keep"


# -- do_not_delete outside the destination ---------------------------------------------------------

def test_do_not_delete_outside_the_destination_says_how_to_write_it(conn, s3dir, tmp_path):
    with pytest.raises(ValueError, match="give a prefix relative to it"):
        conn.sync(str(tmp_path), str(tmp_path / "dst"), do_not_delete=["/elsewhere/"])


# -- a user's file that merely looks like a baiji temp file ----------------------------------------

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


# -- cp -r and symlinked source directories --------------------------------------------------------

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


# -- cp -r . / cp -r .. ----------------------------------------------------------------------------

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
