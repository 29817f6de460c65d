"""Tests that bite: each kills mutants that a mutation run (mutmut, README "Development")
found alive in the modules that guard data.  The rule each checks is stated; the
mutant it kills is named in a comment where the link is not obvious.
"""

from __future__ import annotations

import os

import pytest

from baiji.exceptions import KeyExists, KeyNotFound, S3Exception
from baiji.integrity import MULTIPART_THRESHOLD
from baiji.stores import LocalStore, WriteOptions
from support.helpers import RequestCounter, get, head, keys_under, missing_bucket, put, split



def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK_MODE = 0o666 & ~_umask()


# -- the local store ------------------------------------------------------------------------

def test_local_exclusive_write_creates_the_file_with_its_content_and_mode(conn, tmp_path):
    target = tmp_path / "new" / "k.txt"
    conn.put_string(str(target), "first", replace=False)
    assert target.read_bytes() == b"first"
    assert target.stat().st_mode & 0o777 == _UMASK_MODE  # os.open(..., 0o666) kept


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


def test_local_read_of_a_missing_file_names_it(conn, tmp_path):
    missing = str(tmp_path / "missing.txt")
    with pytest.raises(KeyNotFound, match="missing.txt"):
        conn.get_string(missing)


def test_local_exclusive_copy_names_the_existing_destination(tmp_path):
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    with pytest.raises(KeyExists, match=f"{tmp_path / 'b'} already exists"):
        LocalStore().copy(str(tmp_path / "a"), str(tmp_path / "b"), WriteOptions(exclusive=True))
    assert (tmp_path / "b").read_bytes() == b"b"


# -- rm_r never removes a '.' or '..' directory ----------------------------------------------

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


# -- touch on s3 -----------------------------------------------------------------------------

def test_touch_s3_writes_the_default_content_type(conn, client, s3dir):
    conn.touch(s3dir + "marker")
    assert head(client, s3dir + "marker")["ContentType"] == "application/octet-stream"


# -- messages that name what failed ----------------------------------------------------------

def test_bulk_copy_error_lists_pairs_and_lone_paths():
    from baiji.connection import BulkCopyError

    err = BulkCopyError([("a", "b", Exception("boom")), ("c", None, Exception("c: bad"))], 5)
    assert str(err) == "2 of 5 copies failed: a -> b: boom; c: bad"
    many = BulkCopyError([(f"s{i}", None, Exception(f"e{i}")) for i in range(21)], 30, "deletions", "; note")
    assert str(many).startswith("21 of 30 deletions failed: e0; e1")
    assert str(many).endswith("; e19; and 1 more; note")


def test_rm_r_without_force_and_without_a_terminal_says_why(conn, client, s3dir, monkeypatch):
    import io

    put(client, s3dir + "k", b"x")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(S3Exception, match=r"without confirmation: no terminal to ask on \(use force\)$"):
        conn.rm_r(s3dir)
    assert keys_under(client, s3dir) == ["k"]


def test_sync_file_with_a_missing_bucket_or_directory_says_which(conn, tmp_path):
    (tmp_path / "dst").write_bytes(b"keep")
    with pytest.raises(KeyNotFound, match="its directory does not exist"):
        conn.sync_file(str(tmp_path / "gone" / "f"), str(tmp_path / "dst"), delete=True)
    with pytest.raises(KeyNotFound, match="its bucket does not exist"):
        conn.sync_file(f"s3://{missing_bucket()}/f", str(tmp_path / "dst"), delete=True)
    assert (tmp_path / "dst").read_bytes() == b"keep"


def test_md5_of_a_foreign_multipart_object_says_what_to_do(conn, client, s3dir):
    bucket, key = split(s3dir + "big")
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"x" * 10)
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    with pytest.raises(ValueError, match="download it and hash the file"):
        conn.md5(s3dir + "big")


# -- options sync_file passes on ---------------------------------------------------------------

def test_sync_file_guesses_the_content_type_when_asked(conn, client, s3dir, tmp_path):
    (tmp_path / "page.html").write_bytes(b"<p>hi</p>")
    conn.sync_file(str(tmp_path / "page.html"), s3dir + "page.html", guess_content_type=True)
    assert head(client, s3dir + "page.html")["ContentType"] == "text/html"


# -- large objects: single-part downloads, multipart progress ---------------------------------

def test_large_single_part_object_downloads_whole(conn, client, s3dir, tmp_path):
    """Above the multipart threshold with a plain MD5 ETag: ranges of baiji's own part size."""
    data = os.urandom(MULTIPART_THRESHOLD + 1024)
    put(client, s3dir + "big.bin", data)
    conn.cp(s3dir + "big.bin", str(tmp_path / "big.bin"))
    assert (tmp_path / "big.bin").read_bytes() == data


def test_multipart_upload_reports_every_byte_to_a_progress_callback(conn, s3dir, tmp_path):
    data = os.urandom(MULTIPART_THRESHOLD + 1024)
    (tmp_path / "big.bin").write_bytes(data)
    seen = []
    conn.cp(str(tmp_path / "big.bin"), s3dir + "big.bin", progress=seen.append)
    assert sum(seen) == len(data) and all(isinstance(n, int) for n in seen)


# -- s3-to-s3 sync decides from ETags, then from recorded MD5s ---------------------------------

def _foreign_multipart(client, url: str, data: bytes) -> None:
    """An object uploaded in one part by another tool: a multipart ETag, no baiji-md5."""
    bucket, key = split(url)
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=data)
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})


def test_s3_sync_copies_an_equal_sized_object_whose_content_differs(conn, client, s3dir):
    _foreign_multipart(client, s3dir + "src/k", b"new content")
    put(client, s3dir + "dst/k", b"old content")
    conn.sync(s3dir + "src/", s3dir + "dst/")
    assert get(client, s3dir + "dst/k") == b"new content"


def test_s3_sync_takes_equal_multipart_etags_as_the_same_content(fault_proxy, client, s3dir):
    _foreign_multipart(client, s3dir + "src/k", b"same content")
    _foreign_multipart(client, s3dir + "dst/k", b"same content")
    with RequestCounter(fault_proxy) as requests:
        fault_proxy.conn.sync(s3dir + "src/", s3dir + "dst/")
    assert requests["ListObjectsV2"] >= 2, requests  # the proxy did see the sync
    assert requests.writes() == 0, requests


# -- messages name the key (and version) -------------------------------------------------------

def test_s3_copy_onto_an_existing_key_names_it(conn, client, s3dir):
    put(client, s3dir + "a", b"a")
    put(client, s3dir + "b", b"b")
    with pytest.raises(KeyExists, match=f"{s3dir}b already exists"):
        conn.cp(s3dir + "a", s3dir + "b")


def test_missing_version_is_named_in_the_error(conn, versioned_bucket, client):
    url = f"s3://{versioned_bucket}/k"
    version = put(client, url, b"x")["VersionId"]
    client.delete_object(Bucket=versioned_bucket, Key="k", VersionId=version)
    with pytest.raises(KeyNotFound, match=f"version {version}"):
        conn.size(url, version_id=version)


# -- more messages --------------------------------------------------------------------------

def test_sync_failure_message_counts_what_was_tried(conn, s3dir, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a").write_bytes(b"a")
    os.mkfifo(tmp_path / "src" / "fifo")
    with pytest.raises(S3Exception) as info:
        conn.sync(str(tmp_path / "src"), s3dir)
    assert str(info.value).startswith("1 of 2 files to sync failed: ")
    assert str(info.value).endswith("fifo: special file (FIFO)")


def test_do_not_delete_outside_the_destination_says_how_to_write_it(conn, s3dir, tmp_path):
    with pytest.raises(ValueError, match="give a prefix relative to it"):
        conn.sync(str(tmp_path), str(tmp_path / "dst"), do_not_delete=["/elsewhere/"])


def test_missing_bucket_is_named(conn):
    bucket = missing_bucket()
    with pytest.raises(KeyNotFound, match=f"bucket {bucket} does not exist"):
        conn.get_string(f"s3://{bucket}/k")  # a GET: a HEAD's 404 carries no error code


def test_unfamiliar_error_keeps_the_servers_message():
    import botocore.exceptions

    from baiji.stores.s3 import translate

    err = botocore.exceptions.ClientError(
        {"Error": {"Code": "Odd", "Message": "the server says why"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
        "PutObject")
    assert str(translate(err, "s3://b/k")) == "s3://b/k: Odd: the server says why"


def test_local_delete_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(KeyNotFound, match="gone.txt"):
        LocalStore().delete(str(tmp_path / "gone.txt"))


@pytest.mark.moto_only("SeaweedFS records no public-read grant")
def test_sync_file_applies_the_policy(conn, client, s3dir, tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    conn.sync_file(str(tmp_path / "f"), s3dir + "f", policy="public-read")
    bucket, key = split(s3dir + "f")
    grants = client.get_object_acl(Bucket=bucket, Key=key)["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") and g["Permission"] == "READ" for g in grants)


# -- options sync passes on ----------------------------------------------------------------------

@pytest.mark.moto_only("SeaweedFS records no public-read grant")
def test_sync_applies_the_policy(conn, client, s3dir, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_bytes(b"x")
    conn.sync(str(tmp_path / "src"), s3dir, policy="public-read")
    bucket, key = split(s3dir + "f")
    grants = client.get_object_acl(Bucket=bucket, Key=key)["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") and g["Permission"] == "READ" for g in grants)


def test_sync_runs_its_copies_on_the_executor_given(conn, client, s3dir, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    class Counting(ThreadPoolExecutor):
        submitted = 0

        def submit(self, fn, *args, **kwargs):
            Counting.submitted += 1
            return super().submit(fn, *args, **kwargs)

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_bytes(b"x")
    with Counting(2) as executor:
        conn.sync(str(tmp_path / "src"), s3dir, executor=executor)
    assert Counting.submitted >= 1 and get(client, s3dir + "f") == b"x"
