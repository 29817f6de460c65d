"""Uploads and copies to S3 never lose data (issue 17, items 1, 2 for S3 destinations, and 6).

1. What is recorded is what was sent: a local file that changes while an
   upload reads it is refused (``SourceChanged``) before anything is
   stored, so the old object stays.  The file is changed by the fault
   proxy's ``handler`` when a request arrives, while the upload runs (or,
   where no request tells the moment, right after the upload reads it).
2. ``cp`` without ``-f`` never replaces an object another writer created
   during the transfer: ``If-None-Match: *`` on CompleteMultipartUpload and
   CopyObject, where the server honours it (``test_probe_conditional_writes``
   shows what each server does).
6. Retries do not multiply: each request has its attempts, the whole
   transfer is not sent again, and a failed upload leaves nothing behind,
   or names what it left.
"""

from __future__ import annotations

import collections
import hashlib
import io
import os
import threading
import uuid

import botocore.retries.standard
import pytest

from baiji import cli, config
from baiji.exceptions import KeyExists, S3Exception, SourceChanged, TransientError
from baiji.stores import s3 as s3_store
from support.helpers import get, head, key_exists, keys_under, one_line, put, split

MiB = 1024 * 1024
OTHER = b"written by another writer during the transfer"


@pytest.fixture(params=["forced", "exclusive", "forced-boto3"])
def force(request, monkeypatch) -> bool:
    """``cp``'s ``force`` for the three ways of an upload: forced (obstore), not forced (boto3,
    If-None-Match on its Complete), and forced through boto3 (as in a forked worker, or for a
    key obstore cannot name)."""
    if request.param == "forced-boto3":
        monkeypatch.setattr(s3_store, "engine_usable", lambda: False)
    return request.param != "exclusive"


@pytest.fixture
def no_backoff(monkeypatch):
    """Retries without their waits (every plane): tests that exhaust the attempts take no time."""
    monkeypatch.setattr(config, "BACKOFF", 0.001)
    monkeypatch.setattr(config, "MAX_BACKOFF", 0.002)
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.001)


def uploads_in_progress(client, url: str) -> list[dict]:
    bucket, key = split(url)
    return client.list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads", [])


def on_first(proxy, op: str, action, part: str | None = None) -> threading.Event:
    """Run ``action()`` when the first ``op`` request (of part number ``part``) reaches the proxy,
    which then forwards it after a delay (1 s); the event is set once it ran."""
    ran = threading.Event()
    lock = threading.Lock()

    def handler(info):
        with lock:
            if info.op != op or part not in (None, info.params.get("partNumber")) or ran.is_set():
                return None
            action()
            ran.set()
        return "delay"

    proxy.handler = handler
    return ran


def cli_cp(endpoint_url: str, *argv: str) -> tuple[int, str]:
    err = io.StringIO()
    status = cli.main(["--endpoint-url", endpoint_url, "cp", *argv],
                      stdin=io.StringIO(), stdout=io.StringIO(), stderr=err)
    return status, err.getvalue()


# == 1. a file that changes while it is read is not stored ===============================

@pytest.fixture
def forty_mib(tmp_path):
    """A 40 MiB file: 3 parts of baiji's 16 MiB."""
    path = tmp_path / "v1.bin"
    path.write_bytes(os.urandom(40 * MiB))
    return path


def overwrite_at_35_mib(path) -> None:
    """4 KiB overwritten in the third part (same size)."""
    with open(path, "r+b") as f:
        f.seek(35 * MiB)
        f.write(os.urandom(4096))


def overwrite_keeping_mtime(path) -> None:
    """The same, its modification time set back (as a tool that preserves times does): only the
    parts' digests tell."""
    before = os.stat(path)
    overwrite_at_35_mib(path)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def shrink_to_20_mib(path) -> None:
    os.truncate(path, 20 * MiB)


@pytest.mark.parametrize("change", [overwrite_at_35_mib, overwrite_keeping_mtime, shrink_to_20_mib],
                         ids=["overwritten", "overwritten-mtime-kept", "shrunk"])
def test_file_changed_during_multipart_upload_is_not_stored(fault_proxy, client, s3dir, forty_mib, change, force):
    """Changed when CreateMultipartUpload arrives, after baiji hashed it: the upload is aborted,
    the old object stays (none when not forced), nothing is left in progress."""
    url = s3dir + "k"
    if force:
        put(client, url, b"old")
    ran = on_first(fault_proxy.proxy, "CreateMultipartUpload", lambda: change(forty_mib))
    with pytest.raises(SourceChanged) as info:
        fault_proxy.conn.cp(str(forty_mib), url, force=force)
    assert ran.is_set()
    assert "changed while it was read" in str(info.value) and str(forty_mib) in str(info.value)
    assert one_line(str(info.value))
    assert get(client, url) == b"old" if force else not key_exists(client, url)
    assert uploads_in_progress(client, url) == []
    assert "CompleteMultipartUpload" not in fault_proxy.proxy.ops()


def test_file_changed_during_upload_cli(fault_proxy, client, s3dir, forty_mib, force):
    url = s3dir + "k"
    put(client, url, b"old")
    on_first(fault_proxy.proxy, "CreateMultipartUpload", lambda: overwrite_at_35_mib(forty_mib))
    status, err = cli_cp(fault_proxy.endpoint_url, *(["-f"] if force else []), str(forty_mib), url + "2")
    assert status == 1 and err.startswith("s3: error: ") and err.count("\n") == 1, err
    assert "changed while it was read" in err
    assert not key_exists(client, url + "2") and uploads_in_progress(client, url) == []


def test_file_changed_after_its_part_was_read(fault_proxy, client, s3dir, forty_mib, monkeypatch, force):
    """The first part overwritten (same size) right after the upload read the last part again:
    every part sent matches its digest, but the parts were never the file whole; the look at
    the file after the last part refuses it."""
    from baiji.stores import s3_source

    url, read = s3dir + "k", s3_source.Source.part

    def part(self, number):
        found = read(self, number)
        if number == self.count:
            with open(forty_mib, "r+b") as f:
                f.write(os.urandom(4096))
        return found
    monkeypatch.setattr(s3_source.Source, "part", part)
    with pytest.raises(SourceChanged, match="changed while it was read"):
        fault_proxy.conn.cp(str(forty_mib), url, force=force)
    assert not key_exists(client, url) and uploads_in_progress(client, url) == []


def test_changed_file_whose_abort_fails_names_the_upload_left(fault_proxy, client, s3dir, forty_mib, no_backoff,
                                                              force):
    url = s3dir + "k"
    on_first(fault_proxy.proxy, "CreateMultipartUpload", lambda: overwrite_at_35_mib(forty_mib))
    fault_proxy.proxy.fail_always("internal_error", match="AbortMultipartUpload")
    with pytest.raises(SourceChanged, match="changed while it was read") as info:
        fault_proxy.conn.cp(str(forty_mib), url, force=force)
    fault_proxy.proxy.clear()
    left = uploads_in_progress(client, url)
    assert len(left) == 1 and left[0]["UploadId"] in str(info.value) and "left unfinished" in str(info.value)
    assert one_line(str(info.value)) and not key_exists(client, url)


@pytest.fixture
def appended_while_read(monkeypatch):
    """``watch(path)``: from then on, every read of ``path`` through ``os.pread`` is followed by a
    line appended to it, as a log file grows while it is uploaded."""
    watched = []
    real = os.pread

    def pread(fd, length, offset):
        data = real(fd, length, offset)
        if watched and os.path.sameopenfile(fd, watched[0]):
            with open(watched[1], "ab") as f:
                f.write(b"appended while it was read\n")
        return data

    def watch(path):
        watched[:] = [os.open(path, os.O_RDONLY), path]

    monkeypatch.setattr(os, "pread", pread)
    yield watch
    if watched:
        os.close(watched[0])


def test_file_growing_during_single_part_upload_is_not_stored(conn, client, s3dir, tmp_path, appended_while_read,
                                                              force):
    """One PUT is held to the same rule: the file grew while it was read, so nothing is written."""
    src = tmp_path / "growing.log"
    src.write_bytes(os.urandom(8 * MiB))
    url = s3dir + "log"
    if force:
        put(client, url, b"old")
    appended_while_read(src)
    with pytest.raises(SourceChanged, match="changed while it was read"):
        conn.cp(str(src), url, force=force)
    assert get(client, url) == b"old" if force else not key_exists(client, url)


def test_unchanged_file_records_the_md5_of_what_was_sent(fault_proxy, client, s3dir, forty_mib):
    for force in (True, False):
        fault_proxy.conn.cp(str(forty_mib), s3dir + f"k{force}", force=force)
        assert get(client, s3dir + f"k{force}") == forty_mib.read_bytes()
        assert fault_proxy.conn.md5(s3dir + f"k{force}") == hashlib.md5(forty_mib.read_bytes()).hexdigest()
    assert uploads_in_progress(client, s3dir) == []


# == 2. cp without -f never replaces a racing writer's object ===========================

def probe_conditional_writes(client, bucket: str) -> dict[str, str]:
    """What the server does with ``If-None-Match: *`` onto an existing key, for
    CompleteMultipartUpload and CopyObject: ``'refused'`` (412) or ``'replaced'``."""
    from botocore.exceptions import ClientError

    key, found = f"probe-{uuid.uuid4().hex[:8]}", {}
    client.put_object(Bucket=bucket, Key=key + "-src", Body=b"source")

    def outcome(write) -> str:
        client.put_object(Bucket=bucket, Key=key, Body=b"existing")
        try:
            write()
        except ClientError as err:
            assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 412, err
            assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == b"existing"
            return "refused"
        return "replaced"

    def complete():
        upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        etag = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"new")["ETag"]
        try:
            client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, IfNoneMatch="*",
                                             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        finally:  # a refused Complete leaves the upload in progress
            try:
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
            except ClientError:
                pass

    found["complete"] = outcome(complete)
    found["copy"] = outcome(lambda: client.copy_object(Bucket=bucket, Key=key, IfNoneMatch="*",
                                                       CopySource={"Bucket": bucket, "Key": key + "-src"}))
    client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key}, {"Key": key + "-src"}]})
    return found


#: What each server was found to do (the probe below asserts it, so a server upgrade is noticed).
PROBED = {"moto": {"complete": "refused", "copy": "replaced"},
          "seaweedfs": {"complete": "refused", "copy": "refused"}}


def test_probe_conditional_writes(client, bucket, server_kind):
    """moto 5.2 honours If-None-Match on CompleteMultipartUpload but ignores it on CopyObject;
    SeaweedFS honours both (AWS documents both)."""
    found = probe_conditional_writes(client, bucket)
    print(f"{server_kind}: If-None-Match onto an existing key: {found}")
    assert found == PROBED.get(server_kind, found)


def skip_unless_refused(client, bucket: str, server_kind: str, request: str) -> None:
    found = probe_conditional_writes(client, bucket)[request]
    if found != "refused":
        pytest.skip(f"{server_kind} ignores If-None-Match on {request} (probe: it {found} an existing key), "
                    "so no copy there can be atomic; baiji's HEAD just before it is all that checks")


@pytest.mark.parametrize("moment", ["UploadPart", "CompleteMultipartUpload"])
def test_multipart_upload_without_force_never_replaces_a_racing_writer(fault_proxy, client, s3dir, tmp_path,
                                                                      server_kind, moment):
    """20 MiB (2 parts): another writer creates the key while the parts travel, or just before
    CompleteMultipartUpload reaches the server (only If-None-Match can refuse it then)."""
    skip_unless_refused(client, split(s3dir)[0], server_kind, "complete")
    src = tmp_path / "twenty.bin"
    src.write_bytes(os.urandom(20 * MiB))
    url = s3dir + "k"
    ran = on_first(fault_proxy.proxy, moment, lambda: put(client, url, OTHER))
    with pytest.raises(KeyExists, match="already exists"):
        fault_proxy.conn.cp(str(src), url)
    assert ran.is_set() and get(client, url) == OTHER
    assert uploads_in_progress(client, url) == []


def test_multipart_upload_race_cli(fault_proxy, client, s3dir, tmp_path, server_kind):
    skip_unless_refused(client, split(s3dir)[0], server_kind, "complete")
    src = tmp_path / "twenty.bin"
    src.write_bytes(os.urandom(20 * MiB))
    url = s3dir + "k"
    on_first(fault_proxy.proxy, "CompleteMultipartUpload", lambda: put(client, url, OTHER))
    status, err = cli_cp(fault_proxy.endpoint_url, str(src), url)
    assert status == 1 and one_line(err) and "already exists" in err, err
    assert get(client, url) == OTHER and uploads_in_progress(client, url) == []


@pytest.mark.parametrize("plane", ["engine", "boto3"])
def test_copy_without_force_never_replaces_a_racing_writer(fault_proxy, client, s3dir, server_kind, plane):
    """s3-to-s3 within a bucket (obstore's CopyObject) and with new metadata (boto3's): the
    destination created while the CopyObject is on its way stays."""
    skip_unless_refused(client, split(s3dir)[0], server_kind, "copy")
    put(client, s3dir + "src", b"source")
    url = s3dir + "dst"
    ran = on_first(fault_proxy.proxy, "CopyObject", lambda: put(client, url, OTHER))
    with pytest.raises(KeyExists, match="already exists"):
        fault_proxy.conn.cp(s3dir + "src", url, **({"metadata": {"a": "b"}} if plane == "boto3" else {}))
    assert ran.is_set() and get(client, url) == OTHER
    status, err = cli_cp(fault_proxy.endpoint_url, s3dir + "src", url)
    assert status == 1 and "already exists" in err and get(client, url) == OTHER


def test_retried_complete_meets_its_own_upload(fault_proxy, client, s3dir, tmp_path, force):
    """A CompleteMultipartUpload whose answer was lost is sent again: the retry meets the
    upload's own object (SeaweedFS answers 412 to it), which is no 'already exists'."""
    src = tmp_path / "twenty.bin"
    src.write_bytes(os.urandom(20 * MiB))
    fault_proxy.proxy.fail_next(1, "reset_after_forward", match="CompleteMultipartUpload")
    fault_proxy.conn.cp(str(src), s3dir + "k", force=force)
    assert get(client, s3dir + "k") == src.read_bytes()
    assert fault_proxy.proxy.ops().count("CompleteMultipartUpload") == 2
    assert uploads_in_progress(client, s3dir) == []


def test_complete_answered_200_with_an_error_is_no_success(fault_proxy, client, s3dir, tmp_path, no_backoff, force):
    src = tmp_path / "twenty.bin"
    src.write_bytes(os.urandom(20 * MiB))
    fault_proxy.proxy.fail_always("error", match="CompleteMultipartUpload", status=200)
    with pytest.raises(S3Exception, match="InternalError"):
        fault_proxy.conn.cp(str(src), s3dir + "k", force=force, resume=False)
    fault_proxy.proxy.clear()
    assert not key_exists(client, s3dir + "k") and uploads_in_progress(client, s3dir) == []


def test_complete_never_answered_leaves_no_upload(fault_proxy, client, s3dir, tmp_path, no_backoff, force):
    """Every answer to CompleteMultipartUpload lost (the server acted): the upload either meets its
    own object (an exclusive one, where the retry is refused) or fails; the Abort then finds the
    upload gone, which is no upload 'left unfinished'."""
    src = tmp_path / "twenty.bin"
    src.write_bytes(os.urandom(20 * MiB))
    fault_proxy.proxy.fail_always("reset_after_forward", match="CompleteMultipartUpload")
    try:
        fault_proxy.conn.cp(str(src), s3dir + "k", force=force)
    except (S3Exception, TransientError) as err:
        assert "left unfinished" not in str(err) and one_line(str(err))
    fault_proxy.proxy.clear()
    assert get(client, s3dir + "k") == src.read_bytes() and uploads_in_progress(client, s3dir) == []


# == 6. retries do not multiply ==========================================================

@pytest.fixture
def eleven_mib(tmp_path):
    """11 MiB: 3 parts of 5 MiB (``max_size``)."""
    path = tmp_path / "eleven.bin"
    path.write_bytes(os.urandom(11 * MiB))
    return path


@pytest.mark.parametrize("kind", ["slow_down", "reset_before"])
def test_failing_parts_are_tried_max_attempts_times_in_one_upload(fault_proxy, client, s3dir, eleven_mib,
                                                                  no_backoff, kind, force):
    """Every UploadPart fails: one upload, each part tried at most MAX_ATTEMPTS times, one Abort."""
    fault_proxy.proxy.fail_always(kind, match="UploadPart")
    with pytest.raises((S3Exception, TransientError)) as info:
        fault_proxy.conn.cp(str(eleven_mib), s3dir + "k", max_size=5 * MiB, force=force, resume=False)
    ops = collections.Counter(fault_proxy.proxy.ops())
    print(f"{os.environ.get('PYTEST_CURRENT_TEST', '').split('::')[-1]}: {dict(ops)}")
    assert ops["CreateMultipartUpload"] == 1 and ops["AbortMultipartUpload"] == 1
    assert config.MAX_ATTEMPTS <= ops["UploadPart"] <= 3 * config.MAX_ATTEMPTS
    assert s3dir + "k" in str(info.value) and one_line(str(info.value))
    assert uploads_in_progress(client, s3dir) == [] and not key_exists(client, s3dir + "k")


def test_failed_abort_leaves_one_upload_and_names_it(fault_proxy, client, s3dir, eleven_mib, no_backoff, force):
    fault_proxy.proxy.fail_always("slow_down", match="UploadPart")
    fault_proxy.proxy.fail_always("internal_error", match="AbortMultipartUpload")
    with pytest.raises(S3Exception) as info:
        fault_proxy.conn.cp(str(eleven_mib), s3dir + "k", max_size=5 * MiB, force=force, resume=False)
    ops = collections.Counter(fault_proxy.proxy.ops())
    print(f"{os.environ.get('PYTEST_CURRENT_TEST', '').split('::')[-1]}: {dict(ops)}\n{info.value}")
    fault_proxy.proxy.clear()
    left = uploads_in_progress(client, s3dir)
    assert ops["CreateMultipartUpload"] == 1 and ops["AbortMultipartUpload"] == config.MAX_ATTEMPTS
    assert len(left) == 1 and left[0]["UploadId"] in str(info.value)
    assert "left unfinished" in str(info.value) and one_line(str(info.value))


@pytest.mark.parametrize("plane", ["engine", "boto3"])
def test_retried_exclusive_copy_meets_its_own_copy(fault_proxy, client, s3dir, plane):
    """A CopyObject whose answer was lost is sent again; where If-None-Match is honoured the
    retry meets the first attempt's copy, which is no 'already exists'."""
    put(client, s3dir + "src", b"source")
    fault_proxy.proxy.fail_next(1, "reset_after_forward", match="CopyObject")
    fault_proxy.conn.cp(s3dir + "src", s3dir + "dst", **({"metadata": {"a": "b"}} if plane == "boto3" else {}))
    assert get(client, s3dir + "dst") == b"source"
    assert fault_proxy.proxy.ops().count("CopyObject") == 2


# -- exclusive writes through a connection reset after the server acted ----------------------------

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


def test_exclusive_put_string_whose_answer_is_lost(fault_proxy, client, s3dir):
    """``put_string(replace=False)`` whose conditional PUT reached the server and whose
    answer was lost: the engine's retry meets its own write (412) and must count it."""
    fault_proxy.proxy.fail_next(1, "reset_after_forward", match="PutObject")
    fault_proxy.conn.put_string(s3dir + "k", "mine", replace=False)
    assert get(client, s3dir + "k") == b"mine"
    assert fault_proxy.proxy.faults == 1


def test_exclusive_upload_onto_other_content_still_refused(conn, client, s3dir, tmp_path):
    put(client, s3dir + "k", b"theirs")
    (tmp_path / "f").write_bytes(b"mine!!")
    with pytest.raises(KeyExists):
        conn.cp(str(tmp_path / "f"), s3dir + "k")
    assert get(client, s3dir + "k") == b"theirs"


@pytest.mark.parametrize("size", [5, 6 * 1024 * 1024], ids=["small", "multipart"])
def test_cp_without_force_onto_an_existing_key_overwrites_nothing(conn, client, s3dir, tmp_path, size):
    put(client, s3dir + "k", b"old")
    src = tmp_path / "src"
    src.write_bytes(b"n" * size)
    with pytest.raises(KeyExists):
        conn.cp(str(src), s3dir + "k", max_size=5 * 1024 * 1024)
    with pytest.raises(KeyExists):
        conn.cp(s3dir + "k", s3dir + "k2") if put(client, s3dir + "k2", b"old2") else None
    assert get(client, s3dir + "k") == b"old" and get(client, s3dir + "k2") == b"old2"


RACER = """\
import os, sys, time
from baiji import s3
from baiji.exceptions import KeyExists
s3.exists(sys.argv[1] + "warm")  # connection made before the start signal
while not os.path.exists(sys.argv[2]):
    time.sleep(0.001)
try:
    with s3.open(sys.argv[1] + "claimed", "x") as f:
        f.write(sys.argv[3])
    print("won")
except KeyExists:
    print("lost")
"""


def test_exclusive_open_race_between_processes(client, s3dir, tmp_path):
    """Of several processes racing ``open(key, 'x')`` through the engine, exactly one wins
    and the key holds its content."""
    import subprocess
    import sys

    script = tmp_path / "racer.py"
    script.write_text(RACER)
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, str(script), s3dir, str(go), f"writer {i}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(4)]
    import time

    time.sleep(1.5)
    go.write_text("")
    results = [p.communicate(timeout=60) for p in procs]
    outs = [o.decode().strip() for o, _ in results]
    assert sorted(outs) == ["lost", "lost", "lost", "won"], [e.decode()[-500:] for _, e in results]
    assert get(client, s3dir + "claimed") == f"writer {outs.index('won')}".encode()


# -- a 503 storm on upload -------------------------------------------------------------------------

def test_503_storm_on_upload_writes_nothing(fault_proxy, client, s3dir, tmp_path):
    src = tmp_path / "src"
    src.write_bytes(b"payload")
    fault_proxy.proxy.fail_next(100, "slow_down", match="PutObject")
    with pytest.raises(S3Exception):
        fault_proxy.conn.cp(str(src), s3dir + "k")
    assert keys_under(client, s3dir) == []


# -- user metadata: names obstore takes for a header, non-ASCII ------------------------------------

@pytest.mark.parametrize("name", ["contenttype", "ContentType", "cachecontrol", "CacheControl",
                                  "contentlanguage", "contentencoding", "contentdisposition",
                                  "storageclass"])
@pytest.mark.parametrize("how", ["upload", "put_string", "multipart"])
def test_metadata_named_like_a_header_without_dash_stays_metadata(conn, client, s3dir, tmp_path, name, how):
    """obstore also reads ``contenttype``, ``cachecontrol``, ``storageclass``... (no dash, any
    case) as its header attributes.  HEADER_ATTRIBUTES only knew the dashed names, so
    ``metadata={'cachecontrol': 'x'}`` became a Cache-Control header, ``contenttype`` and
    ``contentlanguage`` were silently dropped (the Content-Type baiji sets won), and
    ``storageclass`` failed with InvalidStorageClass.  boto3 stored them as x-amz-meta-*."""
    url = s3dir + "k.bin"
    if how == "put_string":
        conn.put_string(url, "x")  # put_string takes no metadata: copy with it instead
        conn.cp(url, s3dir + "k2.bin", metadata={name: "v1"})
        url = s3dir + "k2.bin"
    else:
        src = tmp_path / "src.bin"
        src.write_bytes(os.urandom(6 * 1024 * 1024) if how == "multipart" else b"hello")
        conn.cp(str(src), url, metadata={name: "v1"},
                **({"max_size": 5 * 1024 * 1024} if how == "multipart" else {}))
    h = head(client, url)
    assert h["Metadata"].get(name.lower()) == "v1", h["Metadata"]
    assert h["ContentType"] == "application/octet-stream"
    assert not h.get("CacheControl") and not h.get("ContentLanguage")


@pytest.mark.parametrize("metadata", [{"n": "caf\u00e9"}, {"caf\u00e9": "v"}], ids=["value", "name"])
def test_non_ascii_metadata_is_refused_not_mangled(conn, client, s3dir, tmp_path, metadata):
    """boto3 refuses non-ASCII metadata ("S3 metadata can only contain ASCII characters"):
    baiji raised S3Exception and wrote nothing.  The engine sent the raw UTF-8 bytes:
    moto stored ``cafÃ©`` (mojibake, read back that way by baiji's own ``info``), and on
    AWS such a header breaks the signature.  It must be refused as before, nothing written:
    now up front, as the other bad arguments of cp are (ValueError)."""
    src = tmp_path / "src.txt"
    src.write_bytes(b"hello")
    with pytest.raises(ValueError, match="S3 metadata takes ASCII only"):
        conn.cp(str(src), s3dir + "k", metadata=metadata)
    assert "Contents" not in client.list_objects_v2(Bucket=s3dir[5:].split("/")[0])
