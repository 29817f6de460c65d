"""Resuming (issue 20): an interrupted upload or download continues where it stopped.

Proof in bytes: a proxy between client and server counts the body bytes of
each request; a rerun sends (or fetches) no byte of what the server had
acknowledged (or the record said was whole) before the kill.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from baiji import resume, tempfiles
from baiji.exceptions import S3Exception
from baiji.report import Resumed
from support.childproc import killed_on_exit, sigint_not_ignored
from support.faultproxy import Fault
from support.helpers import get, split
from test_uploads import unfinished

PYTHON_M = [sys.executable, "-m", "baiji"]
MiB = 1024 * 1024
PART = 16 * MiB
DENIED = Fault("error", status=403, code="AccessDenied", message="Access Denied")


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def part_number(info) -> int:
    return int(info.params.get("partNumber") or 0)


def range_start(info) -> int:
    found = info.headers.get("range", "")
    return int(found[len("bytes="):].split("-")[0]) if found.startswith("bytes=") else -1


def record_of(dst) -> dict | None:
    return resume.read(tempfiles.partial_paths(str(dst))[1])


def wait_for(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def run_cli(fault_proxy, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(PYTHON_M + ["--endpoint-url", fault_proxy.endpoint_url, *args],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)


def killed(fault_proxy, args: list[str], ready, sig=signal.SIGKILL) -> int:
    """Run ``s3 ARGS`` through the proxy; send ``sig`` once ``ready()``; its exit status."""
    with sigint_not_ignored():
        proc = subprocess.Popen(PYTHON_M + ["--endpoint-url", fault_proxy.endpoint_url, *args],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with killed_on_exit(proc):
        wait_for(lambda: ready() or proc.poll() is not None, "the transfer never got far enough")
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        proc.send_signal(sig)
        proc.wait(60)
    fault_proxy.proxy.clear()
    return proc.returncode


def acknowledged(client, url: str) -> list[dict]:
    """The parts the server holds of the one unfinished upload of ``url``."""
    bucket, key = split(url)
    [upload] = [u for u in unfinished(client, url) if u["Key"] == key]
    return client.list_parts(Bucket=bucket, Key=key, UploadId=upload["UploadId"]).get("Parts", [])


def _settled(measure, quiet: float = 1.0, limit: float = 20.0):
    """``measure()`` once it stopped changing for ``quiet`` seconds: a part whose body the proxy
    had passed on before the kill may still be stored a moment later (and then counts as there)."""
    value, since, start = measure(), time.monotonic(), time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() - start < limit:
        time.sleep(0.2)
        now = measure()
        if now != value:
            value, since = now, time.monotonic()
    return value


def test_killed_upload_resumes_without_resending_acknowledged_parts(fault_proxy, client, s3dir, tmp_path):
    """SIGKILL a 256 MiB upload once the server acknowledged several parts (the later ones held
    back); the rerun sends none of them again and the object is the file, MD5 and all."""
    data = os.urandom(256 * MiB)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    url = s3dir + "big.bin"
    proxy = fault_proxy.proxy
    proxy.fail_always("delay", seconds=30, match=lambda i: i.op == "UploadPart" and part_number(i) > 8)
    ok_parts = lambda: sum(r.op == "UploadPart" and r.status == 200 for r in proxy.records()) >= 6  # noqa: E731
    assert killed(fault_proxy, ["cp", str(src), url], ok_parts) == -signal.SIGKILL
    acked = _settled(lambda: sum(part["Size"] for part in acknowledged(client, url)))
    assert acked >= 6 * PART
    proxy.reset_counters()
    done = run_cli(fault_proxy, "-v", "cp", str(src), url)
    assert done.returncode == 0, done.stderr
    sent = proxy.body_bytes("UploadPart")
    assert f"[resumed] {src} -> {url} ({100 * acked // len(data)}% already there)" in done.stdout
    assert sent <= len(data) - acked + len(data) // 100
    stored = get(client, url)
    print(f"\nupload {fault_proxy.upstream}: file {len(data)}, acknowledged before the kill {acked}, "
          f"rerun sent {sent}; object MD5 {md5(stored)}, source MD5 {md5(data)}", file=sys.stderr)
    assert md5(stored) == md5(data)
    assert not unfinished(client, url)
    record = resume.upload_record_path(*split(url), str(src))
    assert not os.path.exists(record) and not os.path.exists(record[:-len(".json")] + ".lock")


def test_killed_download_resumes_without_fetching_whole_ranges(fault_proxy, conn, client, s3dir, tmp_path):
    """SIGKILL a 256 MiB download once several ranges are recorded whole (the later ones held
    back); the rerun fetches none of them again and the file is the object, verified."""
    data = os.urandom(256 * MiB)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    url = s3dir + "big.bin"
    conn.cp(str(src), url)
    dst = tmp_path / "out" / "big.bin"
    proxy = fault_proxy.proxy
    proxy.fail_always("delay", seconds=30, match=lambda i: i.op.startswith("GetObject") and range_start(i) >= 128 * MiB)
    ready = lambda: len((record_of(dst) or {}).get("done", ())) >= 6  # noqa: E731
    assert killed(fault_proxy, ["cp", url, str(dst)], ready) == -signal.SIGKILL
    record = record_of(dst)
    whole = sum(min(record["span"], len(data) - offset) for offset in record["done"])
    assert whole >= 6 * record["span"] and not dst.exists()
    proxy.reset_counters()
    done = run_cli(fault_proxy, "-v", "cp", url, str(dst))
    assert done.returncode == 0, done.stderr
    fetched = sum(r.received for r in proxy.records() if r.op.startswith("GetObject"))
    assert f"[resumed] {url} -> {dst}" in done.stdout
    assert fetched <= len(data) - whole + len(data) // 100
    got = dst.read_bytes()
    print(f"\ndownload {fault_proxy.upstream}: object {len(data)}, whole before the kill {whole}, "
          f"rerun fetched {fetched}; file MD5 {md5(got)}, object MD5 {md5(data)}", file=sys.stderr)
    assert md5(got) == md5(data)
    assert os.listdir(dst.parent) == ["big.bin"]


@pytest.fixture
def interrupted_upload(fault_proxy, client, s3dir, tmp_path):
    """A 40 MiB file (3 parts) whose upload failed at its last part (a refused request):
    ``(src, url, upload_id)``; the upload is kept with its first two parts."""
    src = tmp_path / "mid.bin"
    src.write_bytes(os.urandom(40 * MiB))
    url = s3dir + "mid.bin"
    fault_proxy.proxy.fail_always(DENIED, match=lambda i: i.op == "UploadPart" and part_number(i) == 3)
    with pytest.raises(S3Exception):
        fault_proxy.conn.cp(str(src), url, force=True)
    fault_proxy.proxy.clear()
    [upload] = unfinished(client, url)
    assert len(acknowledged(client, url)) == 2
    return src, url, upload["UploadId"]


def test_failed_upload_is_kept_and_resumed(fault_proxy, client, interrupted_upload):
    src, url, _ = interrupted_upload
    fault_proxy.proxy.reset_counters()
    result = fault_proxy.conn.cp(str(src), url, force=True)
    assert isinstance(result, Resumed) and result.reason == "80% already there"
    assert fault_proxy.proxy.ops().count("UploadPart") == 1
    assert get(client, url) == src.read_bytes() and not unfinished(client, url)


def test_changed_source_starts_over_and_aborts_the_stale_upload(fault_proxy, client, interrupted_upload):
    src, url, stale = interrupted_upload
    with open(src, "r+b") as f:
        f.write(b"changed")
    assert fault_proxy.conn.cp(str(src), url, force=True) is True
    assert get(client, url) == src.read_bytes() and not unfinished(client, url)
    assert "AbortMultipartUpload" in fault_proxy.proxy.ops()


def test_no_resume_starts_over(fault_proxy, client, interrupted_upload):
    src, url, _ = interrupted_upload
    fault_proxy.proxy.reset_counters()
    done = run_cli(fault_proxy, "-v", "cp", "-f", "--no-resume", str(src), url)
    assert done.returncode == 0, done.stderr
    assert "[resumed]" not in done.stdout and fault_proxy.proxy.ops().count("UploadPart") == 3
    assert get(client, url) == src.read_bytes() and not unfinished(client, url)


def test_concurrent_upload_of_the_same_source_leaves_the_other_alone(fault_proxy, client, interrupted_upload):
    """While another process holds the source's record (its lock), an upload is its own: it does
    not complete the other's parts, nor touch its record."""
    src, url, theirs = interrupted_upload
    record = resume.upload_record_path(*split(url), str(src))
    with resume.locked(record[:-len(".json")] + ".lock") as fd:
        assert fd is not None
        assert fault_proxy.conn.cp(str(src), url, force=True) is True
    assert [u["UploadId"] for u in unfinished(client, url)] == [theirs]
    assert resume.read(record)["upload_id"] == theirs
    assert get(client, url) == src.read_bytes()


def test_uploads_shows_which_are_resumable(fault_proxy, client, interrupted_upload):
    src, url, upload_id = interrupted_upload
    client.create_multipart_upload(Bucket=split(url)[0], Key=split(url)[1] + ".other")
    listed = run_cli(fault_proxy, "uploads", "--json", url)
    assert listed.returncode == 0, listed.stderr
    found = {u["upload_id"]: u for u in map(json.loads, listed.stdout.splitlines())}
    assert found[upload_id]["resumable"] == str(src)
    assert [u["resumable"] for i, u in found.items() if i != upload_id] == [None]
    plain = run_cli(fault_proxy, "uploads", url)
    assert any(line.endswith(f"{upload_id}\tresumable: {src}") for line in plain.stdout.splitlines())


def test_ctrl_c_leaves_a_resumable_upload(fault_proxy, client, s3dir, tmp_path):
    src = tmp_path / "mid.bin"
    src.write_bytes(os.urandom(40 * MiB))
    url = s3dir + "mid.bin"
    proxy = fault_proxy.proxy
    proxy.fail_always("delay", seconds=30, match=lambda i: i.op == "UploadPart" and part_number(i) == 3)
    ok_parts = lambda: sum(r.op == "UploadPart" and r.status == 200 for r in proxy.records()) >= 2  # noqa: E731
    assert killed(fault_proxy, ["cp", str(src), url], ok_parts, signal.SIGINT) == 130
    assert len(acknowledged(client, url)) == 2
    proxy.reset_counters()
    done = run_cli(fault_proxy, "-v", "cp", str(src), url)
    assert "[resumed]" in done.stdout and proxy.ops().count("UploadPart") == 1
    assert get(client, url) == src.read_bytes()


@pytest.fixture
def interrupted_download(fault_proxy, conn, s3dir, tmp_path):
    """A 40 MiB object whose download failed at its last range: ``(url, dst)``; the partial file
    and its record are kept beside ``dst``."""
    url = s3dir + "obj.bin"
    data = os.urandom(40 * MiB)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    conn.cp(str(src), url)
    dst = tmp_path / "down" / "obj.bin"
    fault_proxy.proxy.fail_always(DENIED, match=lambda i: i.op.startswith("GetObject") and range_start(i) >= 32 * MiB)
    with pytest.raises(S3Exception):
        fault_proxy.conn.cp(url, str(dst))
    fault_proxy.proxy.clear()
    assert not dst.exists() and record_of(dst)["done"]
    return url, dst, data


def test_failed_download_is_resumed(fault_proxy, interrupted_download):
    url, dst, data = interrupted_download
    fault_proxy.proxy.reset_counters()
    result = fault_proxy.conn.cp(url, str(dst))
    assert isinstance(result, Resumed) and result.there >= 16 * MiB
    assert sum(r.received for r in fault_proxy.proxy.records()) <= len(data) - result.there + MiB
    assert dst.read_bytes() == data and os.listdir(dst.parent) == ["obj.bin"]


def test_changed_object_starts_the_download_over(fault_proxy, client, interrupted_download):
    url, dst, _ = interrupted_download
    other = os.urandom(40 * MiB)
    client.put_object(Bucket=split(url)[0], Key=split(url)[1], Body=other)
    assert fault_proxy.conn.cp(url, str(dst)) is True
    assert dst.read_bytes() == other and os.listdir(dst.parent) == ["obj.bin"]


def test_download_without_resume_leaves_nothing(fault_proxy, interrupted_download):
    url, dst, data = interrupted_download
    fault_proxy.proxy.fail_always(DENIED, match=lambda i: i.op.startswith("GetObject") and range_start(i) >= 32 * MiB)
    with pytest.raises(S3Exception):
        fault_proxy.conn.cp(url, str(dst), resume=False)
    fault_proxy.proxy.clear()
    assert fault_proxy.conn.cp(url, str(dst), resume=False) is True
    assert dst.read_bytes() == data


def test_bulk_copies_resume_the_file_in_flight(fault_proxy, client, interrupted_upload, tmp_path):
    src, url, _ = interrupted_upload
    events = []
    report = fault_proxy.conn.cp_r(str(src.parent) + "/", url.rsplit("/", 1)[0] + "/", force=True,
                                   on_event=events.append)
    assert report.resumed == 1 and [e.action for e in events if e.src == str(src)] == ["resume"]
    assert get(client, url) == src.read_bytes()


def test_stale_partial_files_are_cleaned(tmp_path):
    old, fresh = tmp_path / "old", tmp_path / "fresh"
    kept = []
    for dst in (old, fresh):
        for path in tempfiles.partial_paths(str(dst)):
            with open(path, "w") as f:
                f.write("x")
            kept.append(path)
    for path in tempfiles.partial_paths(str(old)):
        stamp = time.time() - tempfiles.PARTIAL_AGE - 60
        os.utime(path, (stamp, stamp))
    tempfiles.remove_stale(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in tempfiles.partial_paths(str(fresh)))


def test_a_download_record_is_written_at_most_every_interval(tmp_path, monkeypatch):
    """Unit test, no server: the marks of a fast download are not written one by one (each
    write cost a journal commit: 0.45 s of a 256 MiB download); those of a slower one are
    written by a timer once the interval is up, and a failed one writes what is left."""
    monkeypatch.setattr(resume, "RECORD_EVERY", 0.3)
    writes = []
    real_write = resume.write
    monkeypatch.setattr(resume, "write", lambda path, record: (writes.append(list(record["done"])),
                                                               real_write(path, record)))
    path, record_path = tempfiles.partial_paths(str(tmp_path / "dst"))
    open(path, "wb").close()
    partial = resume.Partial(path, record_path)
    partial.start("etag", None, 64 * MiB, 16 * MiB)
    for offset in (0, 16 * MiB, 32 * MiB):
        partial.mark(offset)
    assert writes == [] and not partial.written
    wait_for(lambda: writes, "the timer never wrote the record", timeout=10)
    assert writes == [[0, 16 * MiB, 32 * MiB]] and resume.read(record_path)["done"] == writes[0]
    partial.mark(48 * MiB)
    partial.close(failed=True)
    assert writes[-1] == [0, 16 * MiB, 32 * MiB, 48 * MiB]
    time.sleep(0.5)
    assert len(writes) == 2  # closed: the timer started by the last mark never writes


def test_a_fast_download_writes_no_record(tmp_path, monkeypatch):
    """A download done within the interval never writes a record, and leaves only its file."""
    monkeypatch.setattr(resume, "RECORD_EVERY", 60)
    path, record_path = tempfiles.partial_paths(str(tmp_path / "dst"))
    with resume.resumable_download(str(tmp_path / "dst"), exclusive=False) as partial:
        partial.start("etag", None, 32 * MiB, 16 * MiB)
        with open(partial.path, "r+b") as f:
            f.write(b"x")
        partial.mark(0)
        partial.mark(16 * MiB)
        assert not os.path.exists(record_path)
    assert os.listdir(tmp_path) == ["dst"]
