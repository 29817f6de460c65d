"""Creating and deleting buckets: ``create_bucket``/``delete_bucket`` and ``s3 buckets --create/--delete``.

Every test makes and deletes buckets of its own, so they run on the local
servers only (on aws the bucket fixtures are shared buckets that must stay).
The refusal of a non-empty bucket is baiji's own (a listing first): SeaweedFS
would delete a non-empty bucket if asked, so every refusal test checks that
nothing was deleted on both servers.  Races are made real with the fault
proxy's handler, which writes a key through the raw client just before it
forwards the request that must not see it.
"""

from __future__ import annotations

import concurrent.futures
import errno
import json
import re
import uuid

import pytest

from baiji import s3
from baiji.connection import BulkCopyError
from baiji.exceptions import BucketNotEmpty, BucketNotFound
from support.helpers import put
from support.servers import bucket_exists, delete_bucket
from test_cli import _Terminal, assert_failed, assert_usage_error, lines, run

pytestmark = pytest.mark.servers("moto", "seaweedfs", reason="creates and deletes buckets")

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def new_name(client):
    """A bucket name nobody uses yet; whatever has it at the end is deleted."""
    name = f"baiji-bk-{uuid.uuid4().hex[:12]}"
    yield name
    delete_bucket(client, name)


def versions_of(client, bucket: str) -> list[tuple[str, str, bool]]:
    """``(key, version id, is a delete marker)`` of everything in ``bucket``, sorted."""
    found = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        found += [(v["Key"], v["VersionId"], False) for v in page.get("Versions", [])]
        found += [(m["Key"], m["VersionId"], True) for m in page.get("DeleteMarkers", [])]
    return sorted(found)


def fill(client, bucket: str, versioned: bool) -> list:
    """Two keys (one with odd characters); in a versioned bucket also an old version and a
    delete marker.  Returns what the bucket then holds."""
    put(client, f"s3://{bucket}/a", b"1")
    put(client, f"s3://{bucket}/dir/ö ?#%+ .txt", b"2")
    if versioned:
        put(client, f"s3://{bucket}/a", b"3")
        client.delete_object(Bucket=bucket, Key="a")
    return versions_of(client, bucket)


def put_many(client, bucket: str, count: int) -> None:
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: put(client, f"s3://{bucket}/k{i:05d}", b""), range(count)))


# --------------------------------------------------------------------------
# Creating


def test_create_is_versioned_unless_no_versioning(client, new_name):
    assert run("buckets", "--create", new_name) == (0, b"", "")
    assert client.get_bucket_versioning(Bucket=new_name).get("Status") == "Enabled"
    delete_bucket(client, new_name)
    assert run("buckets", "--create", f"s3://{new_name}", "--no-versioning") == (0, b"", "")
    assert "Status" not in client.get_bucket_versioning(Bucket=new_name)
    assert "versioning_status: Not Versioned" in lines(run("buckets", "--info", new_name)[1])


def test_library_create_unversioned(conn, client, new_name):
    conn.create_bucket(new_name, versioned=False)
    assert conn.bucket_info(new_name)["versioning_status"] == "Not Versioned"


# --------------------------------------------------------------------------
# Deleting: empty buckets, missing buckets, names


def test_delete_an_empty_bucket_without_asking(client, new_name):
    client.create_bucket(Bucket=new_name)
    # no terminal, no -f: an empty bucket is deleted all the same (nothing to lose, like rmdir)
    assert run("buckets", "--delete", new_name) == (0, f"[deleted] s3://{new_name}\n".encode(), "")
    assert not bucket_exists(client, new_name)


def test_delete_an_empty_bucket_on_a_terminal_asks_nothing(client, new_name):
    client.create_bucket(Bucket=new_name)
    stdin = _Terminal(b"")  # an answer read would be "no"
    assert run("buckets", "--delete", new_name, stdin=stdin) == (0, f"[deleted] s3://{new_name}\n".encode(), "")
    assert not bucket_exists(client, new_name)


def test_delete_a_bucket_given_as_a_url(client, new_name):
    client.create_bucket(Bucket=new_name)
    assert s3.delete_bucket(f"s3://{new_name}/") == 0
    assert not bucket_exists(client, new_name)


@pytest.mark.parametrize("force", [False, True])
def test_delete_a_missing_bucket(conn, new_name, force):
    with pytest.raises(BucketNotFound, match=new_name):
        conn.delete_bucket(new_name, force=force)
    assert_failed(run("buckets", "--delete", new_name, *(["-f"] if force else [])),
                  f"s3://{new_name}: bucket {new_name} does not exist")


@pytest.mark.parametrize("name", ["s3://b-x/key", "bad name", "s3://"])
def test_delete_refuses_what_is_no_bucket_name(name):
    with pytest.raises(ValueError):
        s3.delete_bucket(name, force=True)
    assert_failed(run("buckets", "--delete", name, "-f"))


@pytest.mark.parametrize("argv, needle", [
    (("-f",), "--force"),
    (("--info", "x", "-f"), "--force"),
    (("--no-versioning",), "--no-versioning"),
    (("--delete", "x", "--no-versioning"), "--no-versioning"),
    (("--delete", "x", "--json"), "--json"),
    (("--create", "x", "--json"), "--json"),
    (("--create", "x", "--delete", "y"), "not allowed"),
    (("--delete", ""), "must not be empty"),
])
def test_buckets_usage_errors(argv, needle):
    assert_usage_error(run("buckets", *argv), needle)


# --------------------------------------------------------------------------
# Deleting: non-empty buckets


@pytest.mark.parametrize("versioned", [False, True], ids=["plain", "versioned"])
def test_non_empty_bucket_is_refused_without_force(client, conn, new_name, versioned):
    client.create_bucket(Bucket=new_name)
    if versioned:
        client.put_bucket_versioning(Bucket=new_name, VersioningConfiguration={"Status": "Enabled"})
    held = fill(client, new_name, versioned)
    count = len(held)
    assert count == (4 if versioned else 2)
    with pytest.raises(BucketNotEmpty) as refused:
        conn.delete_bucket(new_name)
    assert refused.value.errno == errno.ENOTEMPTY
    assert refused.value.held == str(count)
    assert f"s3://{new_name} is not empty: it holds {count} keys/versions" in str(refused.value)
    # no terminal: refused, one line naming the bucket, the count and -f
    assert_failed(run("buckets", "--delete", new_name), f"s3://{new_name}", f"{count} keys/versions", "-f")
    assert versions_of(client, new_name) == held


def test_refusal_counts_one_listing_page_at_most(client, conn, new_name):
    client.create_bucket(Bucket=new_name)
    put_many(client, new_name, 1001)
    assert_failed(run("buckets", "--delete", new_name), "more than 1000 keys/versions", "-f")
    assert len(versions_of(client, new_name)) == 1001


def test_refusal_sends_nothing_that_deletes(fault_proxy, client, new_name):
    from support.helpers import RequestCounter

    client.create_bucket(Bucket=new_name)
    held = fill(client, new_name, versioned=False)
    with RequestCounter(fault_proxy) as counter:
        assert_failed(run("--endpoint-url", fault_proxy.endpoint_url, "buckets", "--delete", new_name), new_name)
    assert counter.writes() == 0 and counter["DeleteBucket"] == 0, counter
    assert versions_of(client, new_name) == held


@pytest.mark.parametrize("versioned", [False, True], ids=["plain", "versioned"])
def test_force_deletes_every_version_and_marker_then_the_bucket(client, new_name, versioned):
    client.create_bucket(Bucket=new_name)
    if versioned:
        client.put_bucket_versioning(Bucket=new_name, VersioningConfiguration={"Status": "Enabled"})
    count = len(fill(client, new_name, versioned))
    status, out, err = run("buckets", "--delete", new_name, "-f")
    assert (status, err) == (0, "")
    assert lines(out) == [f"[deleted] s3://{new_name} (and the {count} keys/versions it held)"]
    assert not bucket_exists(client, new_name)


def test_force_streams_the_listing_in_batches(fault_proxy, client, new_name):
    """More than one listing page: each page is deleted (one DeleteObjects of at most 1,000)
    before the next is listed, so memory does not grow with the bucket; a last listing that
    finds nothing comes before the bucket is deleted."""
    from support.helpers import RequestCounter

    client.create_bucket(Bucket=new_name)
    client.put_bucket_versioning(Bucket=new_name, VersioningConfiguration={"Status": "Enabled"})
    put_many(client, new_name, 700)
    put_many(client, new_name, 700)  # 1,400 versions of 700 keys
    with RequestCounter(fault_proxy) as counter:
        assert fault_proxy.conn.delete_bucket(new_name, force=True) == 1400
    short = {"ListObjectVersions": "L", "DeleteObjects": "D", "DeleteBucket": "B"}
    work = "".join(short.get(op, "") for op in counter.ops)
    assert re.fullmatch(r"(L+D)+L+B", work) and work.count("D") >= 2, work
    assert not bucket_exists(client, new_name)


def test_force_aborts_unfinished_multipart_uploads(fault_proxy, client, new_name):
    from support.helpers import RequestCounter

    client.create_bucket(Bucket=new_name)
    upload = client.create_multipart_upload(Bucket=new_name, Key="big")["UploadId"]
    client.upload_part(Bucket=new_name, Key="big", UploadId=upload, PartNumber=1, Body=b"x" * 100)
    with RequestCounter(fault_proxy) as counter:
        assert fault_proxy.conn.delete_bucket(new_name, force=True) == 0
    assert counter["AbortMultipartUpload"] == 1, counter
    assert not bucket_exists(client, new_name)


def test_keys_that_cannot_be_deleted_keep_the_bucket(client, conn, new_name):
    client.create_bucket(Bucket=new_name, ObjectLockEnabledForBucket=True)
    held = client.put_object(Bucket=new_name, Key="held", Body=b"x")["VersionId"]
    client.put_object_legal_hold(Bucket=new_name, Key="held", VersionId=held, LegalHold={"Status": "ON"})
    put(client, f"s3://{new_name}/free", b"y")
    try:
        with pytest.raises(BulkCopyError, match=f"s3://{new_name}/held.*AccessDenied.*s3://{new_name} not deleted"):
            conn.delete_bucket(new_name, force=True)
        assert_failed(run("buckets", "--delete", new_name, "-f"), f"s3://{new_name}/held", "not deleted")
        assert [key for key, _, _ in versions_of(client, new_name)] == ["held"]
    finally:
        client.put_object_legal_hold(Bucket=new_name, Key="held", VersionId=held, LegalHold={"Status": "OFF"})


def test_a_refused_delete_objects_is_one_line(fault_proxy, client, new_name):
    """The proxy answers DeleteObjects with 403 (no server here can be told to)."""
    client.create_bucket(Bucket=new_name)
    held = fill(client, new_name, versioned=False)
    fault_proxy.proxy.fail_always("error", status=403, code="AccessDenied", message="Access Denied",
                                  match="DeleteObjects")
    assert_failed(run("--endpoint-url", fault_proxy.endpoint_url, "buckets", "--delete", new_name, "-f"),
                  f"s3://{new_name}", "Permission denied")
    assert versions_of(client, new_name) == held


# --------------------------------------------------------------------------
# Asking on a terminal


def test_terminal_yes_deletes_everything(client, new_name):
    client.create_bucket(Bucket=new_name)
    fill(client, new_name, versioned=False)
    stdin = _Terminal(b"y\n")
    status, out, err = run("buckets", "--delete", new_name, stdin=stdin)
    assert status == 0, err
    assert f"s3://{new_name} holds 2 keys/versions: delete them all, then the bucket? [y/N]" in err
    assert lines(out) == [f"[deleted] s3://{new_name} (and the 2 keys/versions it held)"]
    assert not bucket_exists(client, new_name)
    assert not stdin.closed


@pytest.mark.parametrize("answer", [b"n\n", b"\n", b"", b"yes please\n"])
def test_terminal_anything_but_yes_keeps_everything(client, new_name, answer):
    client.create_bucket(Bucket=new_name)
    held = fill(client, new_name, versioned=False)
    status, out, err = run("buckets", "--delete", new_name, stdin=_Terminal(answer))
    assert (status, out) == (0, b"")
    assert err.count("[y/N]") == 1
    assert versions_of(client, new_name) == held


def test_force_on_a_terminal_asks_nothing(client, new_name):
    client.create_bucket(Bucket=new_name)
    fill(client, new_name, versioned=False)
    status, out, err = run("buckets", "--delete", new_name, "-f", stdin=_Terminal(b"n\n"))
    assert (status, err) == (0, "")
    assert not bucket_exists(client, new_name)


# --------------------------------------------------------------------------
# Races


def _writes_before(fault_proxy, client, op: str, url: str) -> None:
    """Before the first ``op`` request is forwarded, write ``url`` straight to the server."""
    done = []

    def handler(info):
        if info.op == op and not done:
            done.append(put(client, url, b"late"))
        return None

    fault_proxy.proxy.handler = handler


def test_a_key_written_while_emptying_is_deleted_too(fault_proxy, client, new_name):
    """-f deletes the bucket with whatever it holds, also what was written since the first listing."""
    client.create_bucket(Bucket=new_name)
    fill(client, new_name, versioned=False)
    _writes_before(fault_proxy, client, "DeleteObjects", f"s3://{new_name}/late")
    assert run("--endpoint-url", fault_proxy.endpoint_url, "buckets", "--delete", new_name, "-f") == (
        0, f"[deleted] s3://{new_name} (and the 3 keys/versions it held)\n".encode(), "")
    assert not bucket_exists(client, new_name)


def test_a_bucket_written_to_without_end_is_kept(fault_proxy, client, conn, new_name):
    """Each pass deletes what the one before missed; a writer that never stops ends the passes
    with a clean error, and the bucket is kept."""
    client.create_bucket(Bucket=new_name)
    fill(client, new_name, versioned=False)
    written = []

    def handler(info):
        if info.op == "DeleteObjects":
            written.append(put(client, f"s3://{new_name}/late{len(written)}", b"late"))

    fault_proxy.proxy.handler = handler
    assert_failed(run("--endpoint-url", fault_proxy.endpoint_url, "buckets", "--delete", new_name, "-f"),
                  f"s3://{new_name} is not empty after {conn.EMPTYING_PASSES} passes", "writing to it")
    assert bucket_exists(client, new_name)


@pytest.mark.servers("moto", reason="SeaweedFS deletes a non-empty bucket: a key written between baiji's "
                                    "last listing and the DeleteBucket request is lost with it there")
@pytest.mark.parametrize("force", [True, False], ids=["force", "empty"])
def test_a_key_written_just_before_the_delete_is_a_clean_error(fault_proxy, client, new_name, force):
    client.create_bucket(Bucket=new_name)
    if force:
        fill(client, new_name, versioned=False)
    _writes_before(fault_proxy, client, "DeleteBucket", f"s3://{new_name}/late")
    assert_failed(run("--endpoint-url", fault_proxy.endpoint_url, "buckets", "--delete", new_name,
                      *(["-f"] if force else [])),
                  f"s3://{new_name} is not empty", "written to while it was deleted")
    assert [key for key, _, _ in versions_of(client, new_name)] == ["late"]


# --------------------------------------------------------------------------
# Listing


def test_buckets_json(bucket):
    status, out, err = run("buckets", "--json")
    assert (status, err) == (0, "")
    rows = [json.loads(line) for line in lines(out)]
    [mine] = [row for row in rows if row["name"] == bucket]
    assert list(mine) == ["name", "uri", "creation_date"]
    assert mine["uri"] == f"s3://{bucket}"
    assert TIME.match(mine["creation_date"]), mine
    # s3 ls without a prefix lists the same objects (other buckets may come and go meanwhile)
    status, out, err = run("ls", "--json")
    assert (status, err) == (0, "")
    assert mine in [json.loads(line) for line in lines(out)]


def test_list_buckets_detail(conn, bucket):
    [mine] = [b for b in conn.list_buckets(detail=True) if b["name"] == bucket]
    assert mine["creation_date"].tzinfo is not None
    assert bucket in conn.list_buckets()


def test_bucket_info_of_a_missing_bucket(conn, new_name):
    with pytest.raises(BucketNotFound, match=new_name):
        conn.bucket_info(new_name)


def test_delete_bucket_is_a_module_function(client, new_name):
    client.create_bucket(Bucket=new_name)
    put(client, f"s3://{new_name}/k")
    with pytest.raises(s3.BucketNotEmpty):
        s3.delete_bucket(new_name)
    assert s3.delete_bucket(new_name, force=True) == 1
    assert not bucket_exists(client, new_name)


def _versioning(client, name):
    return client.get_bucket_versioning(Bucket=name).get("Status")


# -- --create of an existing bucket; --delete of a bucket that only looks empty --------------------

@pytest.mark.servers("moto", "seaweedfs", reason="creates and deletes buckets")
@pytest.mark.parametrize("first, again", [(["--no-versioning"], []), ([], ["--no-versioning"])])
def test_create_of_an_existing_bucket_is_refused_and_changes_nothing(client, new_name, first, again):
    """``s3 buckets --create NAME`` on a bucket the user already owns: AWS in us-east-1 (the
    default region) and moto answer 200 to CreateBucket, so baiji said nothing and went on to
    turn versioning on, changing an existing bucket's settings behind the user's back."""
    assert run("buckets", "--create", new_name, *first)[0] == 0
    put(client, f"s3://{new_name}/k", b"data")
    before = _versioning(client, new_name)
    assert_failed(run("buckets", "--create", new_name, *again), new_name, "exists")
    assert _versioning(client, new_name) == before
    assert bucket_exists(client, new_name)
    assert client.get_object(Bucket=new_name, Key="k")["Body"].read() == b"data"


@pytest.mark.servers("moto", "seaweedfs", reason="creates and deletes buckets")
@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_delete_does_not_trust_an_empty_versions_listing_alone(monkeypatch, client, new_name, force):
    """``s3 buckets --delete NAME [-f]`` counted what a bucket holds with ListObjectVersions only.
    A server whose versions listing comes back 200 but empty (one that does not implement
    ``?versions`` and ignores it, a broken gateway; simulated here in the store) made baiji call
    DeleteBucket on a bucket full of keys, and SeaweedFS then deletes it, keys and all.  An
    empty versions listing must be confirmed by a plain listing before the bucket is deleted."""
    from baiji.stores.s3 import S3Store

    client.create_bucket(Bucket=new_name)
    put(client, f"s3://{new_name}/precious", b"data")
    real_list = S3Store.list

    def no_versions(self, url, shallow=False, versions=False, **kwargs):
        return iter(()) if versions else real_list(self, url, shallow=shallow, versions=False, **kwargs)
    monkeypatch.setattr(S3Store, "list", no_versions)
    result = run("buckets", "--delete", new_name, *(["-f"] if force else []))
    assert bucket_exists(client, new_name), result
    assert client.get_object(Bucket=new_name, Key="precious")["Body"].read() == b"data"
    assert_failed(result, f"s3://{new_name}", "not empty")


@pytest.mark.servers("moto", "seaweedfs", reason="creates and deletes buckets")
def test_delete_without_force_keeps_a_bucket_with_an_upload_in_progress(client, new_name):
    """``s3 buckets --delete NAME`` (no -f) while someone is uploading a large file into NAME:
    the bucket holds no key yet, only an unfinished multipart upload, so baiji found it "empty"
    and deleted it, and the uploader's parts with it (both servers, and AWS, accept that
    DeleteBucket).  -f is documented as the one that aborts unfinished uploads; without it the
    bucket must be refused, naming the uploads."""
    client.create_bucket(Bucket=new_name)
    upload = client.create_multipart_upload(Bucket=new_name, Key="big")["UploadId"]
    etag = client.upload_part(Bucket=new_name, Key="big", UploadId=upload, PartNumber=1,
                              Body=b"x" * (5 * 1024 * 1024))["ETag"]
    result = run("buckets", "--delete", new_name)
    assert bucket_exists(client, new_name), result
    assert_failed(result, f"s3://{new_name}", "unfinished", "-f")
    client.complete_multipart_upload(Bucket=new_name, Key="big", UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert client.head_object(Bucket=new_name, Key="big")["ContentLength"] == 5 * 1024 * 1024
