"""Paths the library refuses before touching anything (issue 9, "Never lose data, part 2").

- ``''``: ``path.parse('')`` is the current directory (the original's
  answer), but no operation takes it: an unset shell variable must never
  mean "here".
- ``s3:/b/k`` (one slash) and the like: a mistyped ``s3://b/k``, refused
  rather than written as a local file named ``s3:``; ``./s3:k`` is a file.
- A copy or move of a file or key onto itself: a move would remove the
  only copy.
- A local name that is not UTF-8, as an S3 key.

Every refusal is a ``ValueError`` naming the path, and nothing changes on
disk or in the bucket.
"""

from __future__ import annotations

import io
import os

import pytest

from baiji import path as paths
from baiji import s3
from baiji.connection import BulkCopyError
from support.helpers import get, key_exists, keys_under, put, split, tree, write_tree

CWD_FILES = {"keep": b"keep", "sub/inner": b"inner"}

#: Every public operation, with ``p`` in each path position in turn; ``f`` is an existing local file.
OPERATIONS = {
    "open-r": lambda c, p, f: c.open(p),
    "open-w": lambda c, p, f: c.open(p, "w"),
    "cp-src": lambda c, p, f: c.cp(p, f, force=True),
    "cp-dst": lambda c, p, f: c.cp(f, p, force=True),
    "mv-src": lambda c, p, f: c.mv(p, f, force=True),
    "mv-dst": lambda c, p, f: c.mv(f, p, force=True),
    "cp_r-src": lambda c, p, f: c.cp_r(p, f + ".d", force=True),
    "cp_r-dst": lambda c, p, f: c.cp_r(os.path.dirname(f) + "/sub", p, force=True),
    "rm": lambda c, p, f: c.rm(p),
    "rm_r": lambda c, p, f: c.rm_r(p, force=True, quiet=True),
    "sync-src": lambda c, p, f: c.sync(p, os.path.dirname(f) + "/sub"),
    "sync-dst": lambda c, p, f: c.sync(os.path.dirname(f) + "/sub", p),
    "sync_file-src": lambda c, p, f: c.sync_file(p, f, delete=True),
    "sync_file-dst": lambda c, p, f: c.sync_file(f, p),
    "upload_fileobj": lambda c, p, f: c.upload_fileobj(io.BytesIO(b"x"), p, force=True),
    "download_fileobj": lambda c, p, f: c.download_fileobj(p, io.BytesIO()),
    "ls": lambda c, p, f: list(c.ls(p)),
    "ls_info": lambda c, p, f: list(c.ls_info(p)),
    "glob": lambda c, p, f: list(c.glob(p, "*")),
    "info": lambda c, p, f: c.info(p),
    "exists": lambda c, p, f: c.exists(p),
    "isdir": lambda c, p, f: c.isdir(p),
    "isfile": lambda c, p, f: c.isfile(p),
    "size": lambda c, p, f: c.size(p),
    "etag": lambda c, p, f: c.etag(p),
    "etag_matches": lambda c, p, f: c.etag_matches(p, "0" * 32),
    "md5": lambda c, p, f: c.md5(p),
    "get_url": lambda c, p, f: c.get_url(p, 60),
    "put_string": lambda c, p, f: c.put_string(p, "x"),
    "get_string": lambda c, p, f: c.get_string(p),
    "touch": lambda c, p, f: c.touch(p),
    "encrypt_at_rest": lambda c, p, f: c.encrypt_at_rest(p),
    "fix_etag": lambda c, p, f: c.fix_etag(p),
    "restore": lambda c, p, f: c.restore(p),
    "restore_r": lambda c, p, f: c.restore_r(p),
    "path.isdir": lambda c, p, f: paths.isdir(p),
    "path.isfile": lambda c, p, f: paths.isfile(p),
}


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    """A current directory holding CWD_FILES; returns its path."""
    here = tmp_path / "cwd"
    write_tree(here, CWD_FILES)
    monkeypatch.chdir(here)
    return here


@pytest.mark.parametrize("bad", ["", "s3:/b/key", "s3:b/key", "S3:/b/key"],
                         ids=["empty", "s3-one-slash", "s3-no-slash", "S3-upper"])
@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_refuses_empty_and_mistyped_s3_paths(conn, cwd, bad, operation):
    """Also proves that no store ever sees these paths: local ones only, no server needed."""
    with pytest.raises(ValueError) as raised:
        OPERATIONS[operation](conn, bad, str(cwd / "keep"))
    message = str(raised.value)
    assert ("empty path" in message) if bad == "" else ("s3://b/key" in message and bad in message)
    assert tree(cwd, empty_dirs=True) == CWD_FILES


def test_module_functions_refuse_empty_paths(cwd):
    with pytest.raises(ValueError, match="empty path"):
        s3.rm_r("", force=True)
    with pytest.raises(ValueError, match="empty path"):
        s3.sync(str(cwd / "sub"), "")
    assert tree(cwd) == CWD_FILES


def test_cp_many_refuses_a_pair_with_an_empty_path(conn, cwd):
    with pytest.raises(BulkCopyError) as raised:
        conn.cp_many([("", str(cwd / "x")), (str(cwd / "keep"), ""), (str(cwd / "keep"), str(cwd / "copy"))])
    assert [type(err) for _, _, err in raised.value.failures] == [ValueError, ValueError]
    assert tree(cwd) == {**CWD_FILES, "copy": b"keep"}


def test_empty_path_parses_as_the_current_directory_as_in_the_original(cwd):
    assert paths.parse("")[:3] == ("file", "", str(cwd))


def test_s3_lookalikes_that_are_local_files(conn, cwd):
    """``./s3:x`` is a local name; so are names with ``s3:`` further on."""
    conn.cp("keep", "./s3:x")
    conn.cp("keep", "sub/s3:y")
    assert (cwd / "s3:x").read_bytes() == b"keep" and (cwd / "sub" / "s3:y").read_bytes() == b"keep"


def test_mistyped_s3_url_writes_nothing(conn, cwd, s3dir, client):
    bucket, key = split(s3dir + "x")
    with pytest.raises(ValueError, match=f"did you mean s3://{bucket}/{key}"):
        conn.cp("keep", f"s3:/{bucket}/{key}")
    assert not (cwd / "s3:").exists() and not key_exists(client, s3dir + "x")


# -- cp and mv onto themselves ------------------------------------------------------------

def _local_same(cwd, kind: str) -> tuple[str, str]:
    """Two names of one local file ``f``."""
    f = cwd / "f"
    f.write_bytes(b"only copy")
    if kind == "hardlink":
        os.link(f, cwd / "hard")
        return str(f), str(cwd / "hard")
    if kind == "symlink":
        (cwd / "link").symlink_to(f)
        return str(cwd / "link"), str(f)
    return {"same": ("f", "f"), "dot-slash": ("f", "./f"), "cwd-dir": ("f", str(cwd) + "/"),
            "dot-dir": ("f", "."), "dotdot": ("f", "sub/../f")}[kind]


LOCAL_SAME = ["same", "dot-slash", "cwd-dir", "dot-dir", "dotdot", "hardlink", "symlink"]


@pytest.mark.parametrize("op", ["cp", "mv"])
@pytest.mark.parametrize("kind", LOCAL_SAME)
def test_local_file_onto_itself_is_refused(conn, cwd, op, kind):
    src, dst = _local_same(cwd, kind)
    before = tree(cwd)
    with pytest.raises(ValueError, match="same file"):
        getattr(conn, op)(src, dst, force=True)
    assert tree(cwd) == before and (cwd / "f").read_bytes() == b"only copy"


@pytest.mark.parametrize("op", ["cp", "mv"])
@pytest.mark.parametrize("dst", ["{s3dir}k", "{s3dir}"], ids=["key", "prefix"])
def test_key_onto_itself_is_refused(conn, s3dir, client, op, dst):
    put(client, s3dir + "k", b"only copy")
    with pytest.raises(ValueError, match="same file"):
        getattr(conn, op)(s3dir + "k", dst.format(s3dir=s3dir), force=True)
    assert keys_under(client, s3dir) == ["k"] and get(client, s3dir + "k") == b"only copy"


def test_mv_onto_itself_refused_in_a_versioned_bucket(conn, versioned_bucket, client):
    url = f"s3://{versioned_bucket}/k"
    put(client, url, b"only copy")
    with pytest.raises(ValueError, match="same file"):
        conn.mv(url, url, force=True)
    listed = client.list_object_versions(Bucket=versioned_bucket, Prefix="k")
    assert len(listed.get("Versions", [])) == 1 and not listed.get("DeleteMarkers")


def test_mv_of_an_old_version_onto_its_key_restores_it(conn, versions, client):
    """Another version is not the same object: it becomes the latest, and the version moved goes."""
    url, v1, v2 = versions
    bucket, key = split(url)
    conn.mv(url, url, force=True, version_id=v1)
    assert get(client, url) == b"first"
    ids = [v["VersionId"] for v in client.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]]
    assert v1 not in ids and v2 in ids and len(ids) == 2


def test_mv_of_a_version_removes_that_version(conn, versions, client, s3dir):
    url, v1, v2 = versions
    bucket, key = split(url)
    conn.mv(url, s3dir + "moved", version_id=v1)
    assert get(client, s3dir + "moved") == b"first" and get(client, url) == b"second"
    ids = [v["VersionId"] for v in client.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]]
    assert ids == [v2]


def test_same_names_of_different_files_still_copy(conn, cwd, s3dir, client):
    """Not the same: a local file and a key of that name; the same key in another bucket's place."""
    conn.cp("keep", s3dir + "keep")
    conn.mv(s3dir + "keep", "sub/keep")
    assert (cwd / "sub" / "keep").read_bytes() == b"keep" and not key_exists(client, s3dir + "keep")


# -- local names that are no S3 key -------------------------------------------------------

def test_undecodable_local_name_as_key_is_a_clear_value_error(conn, tmp_path, s3dir, client):
    name = os.fsdecode(b"bad\xff.txt")
    (tmp_path / name).write_bytes(b"x")
    for dst in (s3dir, s3dir + name):
        with pytest.raises(ValueError) as raised:
            conn.cp(str(tmp_path / name), dst)
        assert "not valid UTF-8" in str(raised.value) and "bad\\xff.txt" in str(raised.value)
        assert "codec" not in str(raised.value)
    assert keys_under(client, s3dir) == []
