"""rm and rm_r on local files and s3 keys."""

from __future__ import annotations

import errno
import io
import os
import sys

import pytest

from baiji import s3
from baiji.exceptions import (BucketNotFound, InvalidSchemeException, InvalidVersionID, IsADirectory,
                              KeyNotFound, S3Exception)
from baiji.stores.local import LocalStore
from baiji.connection import S3Connection, TooManyDeletions
from support.helpers import get, key_exists, keys_under, missing_bucket, other_version_id, put, split, tree, write_tree
from test_cli import assert_failed, lines, run


class _Terminal(io.StringIO):
    """A stdin that says it is a terminal and answers from a list (then "n")."""

    def __init__(self, answers: list[str]):
        super().__init__()
        self.answers = answers

    def isatty(self) -> bool:
        return True

    def readline(self, size: int = -1) -> str:
        return (self.answers.pop(0) if self.answers else "n") + "\n"


@pytest.fixture
def tty(monkeypatch):
    """Pretend stdin is a terminal; returns a list to fill with the answers typed."""
    answers: list[str] = []
    monkeypatch.setattr(sys, "stdin", _Terminal(answers))
    return answers


def prompts(err: str) -> list[str]:
    """The questions rm_r asked on stderr."""
    return [q for q in err.split("[y/N] ") if q.strip()]


# -- rm -----------------------------------------------------------------------------------

def test_rm_local_file(conn, tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"x")
    conn.rm(str(f))
    assert not f.exists()
    assert tmp_path.exists()


TREE = {"a": b"a", "sub/b": b"b"}


@pytest.mark.parametrize("name", ["d", "d/", ".", "./", "LINK/"])
def test_rm_local_directory_is_refused_like_unix_rm(conn, tmp_path, monkeypatch, name):
    """Only rm_r removes a tree (the original's rm removed it: a deliberate change)."""
    d = tmp_path / "d"
    write_tree(d, TREE)
    (tmp_path / "LINK").symlink_to(d)
    monkeypatch.chdir(d if name.startswith(".") else tmp_path)
    with pytest.raises(IsADirectory) as raised:
        conn.rm(name)
    err = raised.value
    assert isinstance(err, IsADirectoryError) and isinstance(err, S3Exception)
    assert (err.errno, err.strerror) == (errno.EISDIR, os.strerror(errno.EISDIR))
    assert str(err) == f"{name}: is a directory; use rm_r to remove a tree"
    assert tree(d) == TREE


def test_rm_local_symlink_removes_link_only(conn, tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep").write_bytes(b"k")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(IsADirectory):
        conn.rm(str(link) + "/")  # the directory it leads to, as for Unix rm
    conn.rm(str(link))
    assert not os.path.lexists(link)
    assert (target / "keep").exists()


def test_rm_local_missing(conn, tmp_path):
    with pytest.raises(KeyNotFound) as raised:
        conn.rm(str(tmp_path / "missing"))
    assert (raised.value.errno, raised.value.strerror) == (errno.ENOENT, os.strerror(errno.ENOENT))


def test_rm_s3_key(conn, s3dir, client):
    put(client, s3dir + "a")
    put(client, s3dir + "ab")
    conn.rm(s3dir + "a")
    assert not key_exists(client, s3dir + "a")
    assert key_exists(client, s3dir + "ab")


def test_rm_s3_missing(conn, s3dir):
    with pytest.raises(KeyNotFound):
        conn.rm(s3dir + "missing")


def test_rm_s3_prefix_is_not_a_key(conn, s3dir, client):
    put(client, s3dir + "dir/x")
    with pytest.raises(KeyNotFound):
        conn.rm(s3dir + "dir")
    assert key_exists(client, s3dir + "dir/x")


def test_rm_s3_missing_bucket(conn):
    with pytest.raises(KeyNotFound):
        conn.rm(f"s3://{missing_bucket()}/k")


@pytest.mark.parametrize("url", ["http://example.com/x", "gs://b/x"])
def test_rm_bad_scheme(conn, url):
    with pytest.raises(InvalidSchemeException):
        conn.rm(url)


def test_module_rm(s3dir, client):
    put(client, s3dir + "m")
    s3.rm(s3dir + "m")
    assert not key_exists(client, s3dir + "m")


def test_rm_version(conn, versions, client):
    url, v1, v2 = versions
    bucket, key = split(url)
    conn.rm(url, version_id=v1)
    assert not key_exists(client, url, VersionId=v1)
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == b"second"
    conn.rm(url, version_id=v2)
    assert not key_exists(client, url)
    listed = client.list_object_versions(Bucket=bucket, Prefix=key)
    assert listed.get("Versions", []) == [] and listed.get("DeleteMarkers", []) == []


def test_rm_latest_in_versioned_bucket_leaves_delete_marker(conn, versions, client):
    url, v1, v2 = versions
    conn.rm(url)
    assert not key_exists(client, url)
    assert key_exists(client, url, VersionId=v1) and key_exists(client, url, VersionId=v2)
    with pytest.raises(KeyNotFound):
        conn.rm(url)


def test_rm_unknown_version(conn, versions, client):
    url, v1, _ = versions
    with pytest.raises(KeyNotFound):
        conn.rm(url, version_id=other_version_id(v1))
    assert key_exists(client, url, VersionId=v1)


def test_rm_malformed_version(conn, versions, server_kind):
    if server_kind != "aws":
        pytest.skip(f"{server_kind} answers 404 for a malformed version id (AWS: 400)")
    url, _, _ = versions
    with pytest.raises(InvalidVersionID):
        conn.rm(url, version_id="not a version!")


def test_rm_malformed_version_is_an_error(conn, versions, client):
    url, v1, v2 = versions
    with pytest.raises((InvalidVersionID, KeyNotFound)):
        conn.rm(url, version_id="not-a-version")
    assert key_exists(client, url, VersionId=v1) and key_exists(client, url, VersionId=v2)


# -- rm_r ---------------------------------------------------------------------------------------

def test_rm_r_s3_force(conn, s3dir, client, capsys):
    for name in ("dir/a", "dir/b", "dir/sub/c", "dir/sub/", "dirt/keep", "dir2"):
        put(client, s3dir + name)
    conn.rm_r(s3dir + "dir", force=True)
    assert keys_under(client, s3dir) == ["dir2", "dirt/keep"]
    out = capsys.readouterr().out.splitlines()
    assert sorted(out) == sorted(f"[deleted] {s3dir}{name}"
                                 for name in ("dir/a", "dir/b", "dir/sub/c", "dir/sub/"))


def test_rm_r_s3_trailing_slash(conn, s3dir, client):
    for name in ("dir/a", "dir/b", "dirt/keep"):
        put(client, s3dir + name)
    conn.rm_r(s3dir + "dir/", force=True, quiet=True)
    assert keys_under(client, s3dir) == ["dirt/keep"]


def test_rm_r_quiet(conn, s3dir, client, capsys):
    put(client, s3dir + "d/a")
    conn.rm_r(s3dir + "d", force=True, quiet=True)
    assert capsys.readouterr().out == ""
    assert keys_under(client, s3dir) == []


def test_rm_r_many_keys(conn, s3dir, client):
    for i in range(30):
        put(client, f"{s3dir}many/{i:03d}")
    conn.rm_r(s3dir + "many", force=True, quiet=True)
    assert keys_under(client, s3dir) == []


def test_rm_r_sends_a_batch_as_requests_at_once(fault_proxy, s3dir, client, monkeypatch):
    """A page of keys goes as several DeleteObjects sent at once (SeaweedFS removes 1,000 keys
    in 0.73 s in one request, 0.19 s in 16), and every key is removed; requests refused
    (the proxy answers 403: no server here can be told to) remove nothing and say so."""
    from concurrent.futures import ThreadPoolExecutor

    from baiji.stores import s3 as s3_store
    from support.helpers import RequestCounter

    monkeypatch.setattr(s3_store, "DELETE_MIN", 10)
    urls = [f"{s3dir}many/{i:03d}" for i in range(100)]
    with ThreadPoolExecutor(8) as pool:  # the test client keeps 10 connections
        list(pool.map(lambda url: put(client, url), urls))
        with RequestCounter(fault_proxy) as counter:
            fault_proxy.conn.rm_r(s3dir + "many", force=True, quiet=True)
        assert counter["DeleteObjects"] == 10, counter.ops
        assert keys_under(client, s3dir) == []
        list(pool.map(lambda url: put(client, url), urls))
    fault_proxy.proxy.fail_always("error", status=403, code="AccessDenied", message="Access Denied",
                                  match="DeleteObjects")
    with pytest.raises(S3Exception, match="Permission denied on .*many/"):
        fault_proxy.conn.rm_r(s3dir + "many", force=True, quiet=True)
    assert len(keys_under(client, s3dir)) == 100


def test_rm_r_whole_bucket(conn, bucket, client):
    for name in ("a", "b/c"):
        put(client, f"s3://{bucket}/{name}")
    conn.rm_r(f"s3://{bucket}/", force=True, quiet=True)
    assert keys_under(client, f"s3://{bucket}/") == []


def test_rm_r_nothing_to_remove(conn, s3dir, capsys):
    conn.rm_r(s3dir + "empty", force=True)
    assert capsys.readouterr().out == ""


def test_rm_r_missing_bucket(conn):
    with pytest.raises(BucketNotFound):
        conn.rm_r(f"s3://{missing_bucket()}/p", force=True)


def test_rm_r_without_force_and_terminal_refuses(conn, s3dir, client, monkeypatch):
    put(client, s3dir + "d/a")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    with pytest.raises(S3Exception):
        conn.rm_r(s3dir + "d")
    assert keys_under(client, s3dir) == ["d/a"]


def test_rm_r_asks_for_each_key(conn, s3dir, client, tty, capsys):
    for name in ("d/a", "d/b", "d/c"):
        put(client, s3dir + name)
    tty.extend(["y", "n", "yes"])
    conn.rm_r(s3dir + "d")
    out, err = capsys.readouterr()
    asked = prompts(err)
    assert len(asked) == 3
    assert all(s3dir + "d/" in prompt for prompt in asked)
    assert keys_under(client, s3dir) == ["d/b"]
    assert f"[deleted] {s3dir}d/a" in out and f"[deleted] {s3dir}d/c" in out
    assert f"[deleted] {s3dir}d/b" not in out


def test_rm_r_local_force(conn, tmp_path, capsys):
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "a").write_bytes(b"a")
    (d / "sub" / "b").write_bytes(b"b")
    (tmp_path / "d2").write_bytes(b"keep")
    conn.rm_r(str(d), force=True)
    assert not d.exists()
    assert (tmp_path / "d2").exists()
    out = capsys.readouterr().out
    assert f"[deleted] {d / 'a'}" in out and f"[deleted] {d / 'sub' / 'b'}" in out


def test_rm_r_local_asks(conn, tmp_path, tty, capsys):
    d = tmp_path / "d"
    d.mkdir()
    (d / "a").write_bytes(b"a")
    (d / "b").write_bytes(b"b")
    tty.extend(["n", "y"])
    conn.rm_r(str(d), quiet=True)
    assert len(prompts(capsys.readouterr().err)) == 2
    assert sorted(os.listdir(d)) == ["a"]


def test_rm_r_local_missing_directory(conn, tmp_path):
    conn.rm_r(str(tmp_path / "missing"), force=True)


@pytest.mark.parametrize("name", [".", "./", "..", "sub/..", "CWD", "CWD/", "PARENT", "LINK-TO-CWD", "/"])
@pytest.mark.parametrize("force", [True, False])
def test_rm_r_refuses_a_tree_holding_the_current_directory(conn, tmp_path, monkeypatch, tty, name, force):
    """``.``, ``..``, ``/``, the cwd by any name, its parents: refused before anything is listed
    or asked, with or without force.  No store method that deletes may be reached (a safety
    net for "/", checked too: the tree is intact)."""
    work = tmp_path / "work"
    write_tree(work, {"keep": b"k", "sub/x": b"x"})
    (tmp_path / "LINK-TO-CWD").symlink_to(work)
    monkeypatch.chdir(work)

    def never(*args, **kwargs):
        raise AssertionError("rm_r reached a deletion")

    monkeypatch.setattr(LocalStore, "delete", never)
    monkeypatch.setattr(LocalStore, "delete_many", never)
    monkeypatch.setattr(LocalStore, "list", never)
    given = {"CWD": str(work), "CWD/": f"{work}/", "PARENT": str(tmp_path),
             "LINK-TO-CWD": str(tmp_path / "LINK-TO-CWD")}.get(name, name)
    tty.extend(["y"] * 10)
    with pytest.raises(ValueError, match="refusing to remove"):
        conn.rm_r(given, force=force, quiet=True)
    assert tree(work) == {"keep": b"k", "sub/x": b"x"}


def test_rm_r_of_another_directory_still_removes_it(conn, tmp_path, monkeypatch):
    write_tree(tmp_path / "work", {"keep": b"k"})
    write_tree(tmp_path / "other", {"a": b"a", "sub/b": b"b"})
    monkeypatch.chdir(tmp_path / "work")
    conn.rm_r("../other", force=True, quiet=True)
    assert sorted(os.listdir(tmp_path)) == ["work"]


def test_rm_r_versioned_bucket(conn, versioned_bucket, client):
    base = f"s3://{versioned_bucket}/p/"
    put(client, base + "a")
    put(client, base + "b")
    conn.rm_r(base, force=True, quiet=True)
    assert keys_under(client, base) == []
    markers = client.list_object_versions(Bucket=versioned_bucket, Prefix="p/").get("DeleteMarkers", [])
    assert sorted(m["Key"] for m in markers) == ["p/a", "p/b"]


@pytest.mark.parametrize("url", ["http://example.com/x/", "gs://b/x/"])
def test_rm_r_bad_scheme(conn, url):
    with pytest.raises(InvalidSchemeException):
        conn.rm_r(url, force=True)


def test_module_rm_r(s3dir, client):
    put(client, s3dir + "m/a")
    s3.rm_r(s3dir + "m", force=True, quiet=True)
    assert keys_under(client, s3dir) == []


# -- rm of a bucket's root; rm -r of one key or file, of a symlink ---------------------------------

@pytest.mark.parametrize("slash", ["", "/"])
def test_rm_of_a_bucket_url_never_removes_the_bucket(conn, client, bucket, slash):
    """``s3 rm s3://b`` (no -r, no -f) sent DeleteObject with the key ``''``, which botocore
    addresses to the bucket itself: DeleteBucket.  SeaweedFS removed the bucket with every
    key in it, exit 0; moto removed an empty bucket, exit 0.  A bucket is no key: like
    ``rm`` of a directory, refused."""
    put(client, f"s3://{bucket}/keep.txt", b"precious")
    status, _, err = run("rm", f"s3://{bucket}{slash}")
    assert status == 1 and "bucket" in err, err
    assert get(client, f"s3://{bucket}/keep.txt") == b"precious"
    with pytest.raises(IsADirectoryError):
        conn.rm(f"s3://{bucket}{slash}")
    assert get(client, f"s3://{bucket}/keep.txt") == b"precious"


@pytest.mark.parametrize("kind", ["s3", "local"])
def test_rm_r_of_one_key_or_file_removes_it(client, s3dir, tmp_path, kind):
    """``s3 rm -r -f s3://b/file.txt`` (nothing under it) exited 0, printed nothing and kept
    the key; the local one failed "cannot list (Not a directory)".  Like Unix ``rm -rf FILE``."""
    if kind == "s3":
        put(client, s3dir + "file.txt", b"x")
        put(client, s3dir + "file.txt.bak", b"keep")
        target = s3dir + "file.txt"
    else:
        (tmp_path / "file.txt").write_bytes(b"x")
        target = str(tmp_path / "file.txt")
    status, out, err = run("rm", "-r", "-f", target)
    assert status == 0, err
    assert out.decode() == f"[deleted] {target}\n"
    if kind == "s3":
        assert keys_under(client, s3dir) == ["file.txt.bak"]
    else:
        assert not (tmp_path / "file.txt").exists()


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


def test_rm_r_dry_run_of_a_link_with_a_slash_matches_the_real_run(tmp_path):
    """``s3 rm -r -f -n lnk/`` (lnk -> a directory) exited 0 planning one deletion; the
    real run deleted that file, then failed ("lnk/: Not a directory").  Now both empty
    the directory the link leads to (as GNU ``rm -rf lnk/``) and keep the link, exit 0."""
    target = tmp_path / "target"
    write_tree(target, {"a": b"1", "sub/b": b"2"})
    (tmp_path / "lnk").symlink_to(target)
    status, out, _ = run("rm", "-r", "-f", "-n", f"{tmp_path}/lnk/")
    assert status == 0
    planned = sorted(lines(out))
    status, out, err = run("rm", "-r", "-f", f"{tmp_path}/lnk/")
    assert status == 0, err
    assert sorted(line.replace("[deleted]", "(dry run) delete") for line in lines(out)) == planned
    assert os.path.islink(tmp_path / "lnk") and os.path.isdir(target)
    assert [name for _, _, files in os.walk(target) for name in files] == []


# -- rm_r never removes a '.' or '..' directory; no terminal to ask on -----------------------------

@pytest.mark.parametrize("spelling", ["a/b/..", "a/b/../", "a/.", "a/./"])
def test_rm_r_refuses_dot_and_dotdot_spellings_away_from_the_cwd(conn, tmp_path, monkeypatch, spelling):
    """``a/b/..`` is ``a``, which does not hold the cwd: only the '.'/'..' rule stops it."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "keep.txt").write_bytes(b"k")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    with pytest.raises(ValueError, match="'.' or '..'"):
        conn.rm_r(str(tmp_path) + "/" + spelling, force=True, quiet=True)
    assert (tmp_path / "a" / "keep.txt").read_bytes() == b"k"


def test_rm_r_without_force_and_without_a_terminal_says_why(conn, client, s3dir, monkeypatch):
    import io

    put(client, s3dir + "k", b"x")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(S3Exception, match=r"without confirmation: no terminal to ask on \(use force\)$"):
        conn.rm_r(s3dir)
    assert keys_under(client, s3dir) == ["k"]


# -- --max-delete ----------------------------------------------------------------------------------

def test_max_delete_0_keeps_one_key(s3dir, client):
    """``s3 rm -r -f --max-delete 0 s3://b/file.txt`` removed the key (exit 0), while its dry
    run said "1 files would be deleted, more than max_delete=0"."""
    put(client, s3dir + "file.txt", b"x")
    assert_failed(run("rm", "-r", "-n", "--max-delete", "0", s3dir + "file.txt"), "max_delete=0")
    assert_failed(run("rm", "-r", "-f", "--max-delete", "0", s3dir + "file.txt"), "max_delete=0")
    assert keys_under(client, s3dir) == ["file.txt"]


def test_max_delete_0_keeps_one_local_file(tmp_path):
    (tmp_path / "file.txt").write_bytes(b"x")
    assert_failed(run("rm", "-r", "-n", "--max-delete", "0", tmp_path / "file.txt"), "max_delete=0")
    assert_failed(run("rm", "-r", "-f", "--max-delete", "0", tmp_path / "file.txt"), "max_delete=0")
    assert (tmp_path / "file.txt").read_bytes() == b"x"


def test_max_delete_holds_when_keys_arrive_between_the_count_and_the_deletions(s3dir, client, endpoint_url,
                                                                               monkeypatch):
    """``rm_r(max_delete=3)`` counted 3 keys with one listing, then deleted whatever a second
    listing found: keys written in between (an uploader still running) went too, 8 in all."""
    for name in "abc":
        put(client, s3dir + name, b"x")
    conn = S3Connection(endpoint_url=endpoint_url)
    store = conn._store(s3dir)
    real_list, calls = store.list, []

    def list_then_upload(*args, **kwargs):
        calls.append(1)
        yield from real_list(*args, **kwargs)
        if len(calls) == 1:  # the count is done: an uploader adds keys
            for i in range(5):
                put(client, s3dir + f"late{i}", b"late")

    monkeypatch.setattr(store, "list", list_then_upload)
    try:
        conn.rm_r(s3dir, force=True, quiet=True, max_delete=3)
    except TooManyDeletions:
        pass
    left = keys_under(client, s3dir)
    assert len(left) >= 5, left  # at most 3 deleted
