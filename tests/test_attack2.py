"""Holes a second hostile tester found after issue 9 and tests/test_attack.py.

Each test states the rule it checks; setup and checks go through raw boto3
and plain files, never through baiji itself.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest

from support import servers
from support.helpers import get, keys_under, put
from test_cli import run
from test_sync import fill, tree


@pytest.fixture
def other_bucket(client):
    name = f"baiji-attack2-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=name)
    yield name
    try:
        servers.delete_bucket(client, name)
    except Exception:
        pass


# -- a bucket's root as one side of a sync ---------------------------------------------------

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


# -- a bucket's root is no key ---------------------------------------------------------------

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


@pytest.mark.parametrize("argv", [["cat"], ["info"], ["touch"], ["md5"], ["url"]])
def test_object_commands_on_a_bucket_url_fail_in_one_line(client, bucket, argv):
    """``s3 cat s3://b`` died with "internal error: KeyError: 'ETag'"; ``s3 info s3://b``
    printed the bucket as a 0-byte object (HeadObject with key '' is HeadBucket), exit 0;
    ``s3 touch s3://b`` sent a PutObject to the bucket itself.  Each is one error line."""
    put(client, f"s3://{bucket}/keep.txt", b"precious")
    status, out, err = run(*argv, f"s3://{bucket}")
    assert status == 1 and err.startswith("s3: error: ") and "internal error" not in err, (status, out, err)
    assert err.count("\n") == 1 and "bucket" in err, err
    assert keys_under(client, f"s3://{bucket}/") == ["keep.txt"]


def test_writing_a_bucket_url_with_open_or_put_string_is_refused(conn, client, bucket):
    """``s3.open('s3://b', 'w')`` and ``put_string('s3://b', ...)`` sent PutObject with the
    key '' (CreateBucket on the wire): the content went nowhere, no error."""
    with pytest.raises((ValueError, IsADirectoryError)):
        with conn.open(f"s3://{bucket}", "w") as f:
            f.write("data")
    with pytest.raises(IsADirectoryError):
        conn.put_string(f"s3://{bucket}", "data")
    assert keys_under(client, f"s3://{bucket}/") == []


# -- a server that collapses // in keys (SeaweedFS) ----------------------------------------------

def test_mv_onto_a_key_that_the_server_collapses_to_the_source_keeps_the_data(client, s3dir, server_kind):
    """``s3 mv -f s3://b/d/k s3://b/d//k`` on SeaweedFS (which collapses ``//``): the copy
    lands on ``d/k`` itself, then ``rm d/k`` removes the only copy, exit 0.  On moto the two
    keys differ and the move is a plain move.  The data must survive under one of them."""
    assert run("cp", "-", s3dir + "d/k", stdin=b"precious")[0] == 0  # as baiji uploads it
    time.sleep(1.1)  # SeaweedFS refuses a copy onto itself within the second of the upload
    status, _, err = run("mv", "-f", s3dir + "d/k", s3dir + "d//k")
    left = {key: get(client, s3dir + key) for key in keys_under(client, s3dir)}
    assert b"precious" in left.values(), (status, err, left)


# -- a closed stdout; rm -r of one key or file ------------------------------------------------

def test_output_to_a_closed_stdout_is_one_line(client, s3dir):
    """``s3 cat KEY >&-`` said "internal error: AttributeError ... write"."""
    put(client, s3dir + "k", b"data")
    argv = " ".join([sys.executable, "-m", "baiji", "cat", s3dir + "k"])
    done = subprocess.run(["bash", "-c", f"{argv} >&-"], capture_output=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr.decode().splitlines() == [f"s3: error: {s3dir}k: standard output is closed"]


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
