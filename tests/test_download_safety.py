"""Never lose data, part 2: a download never replaces a good file with a bad one (issue 9).

Against the session's server, through the fault proxy where the network must
misbehave:

- a body of the right length but wrong content (the proxy's ``corrupt``
  fault) is retried once; if it is wrong again the call fails and the
  destination keeps its old content (items 6, 23);
- an object replaced between the GET and its ranged GETs starts the
  download over with the new version, or fails saying so, never "already
  exists" (item 12);
- a disk that fills up fails the download, the old file kept (item 5);
- a file written gets mode ``0o666 & ~umask``, a replaced one keeps its mode;
- temp files of killed processes beside a destination are removed, live
  ones are not (item 11);
- errors name the destination, never baiji's temp file (item 20).

A few tests call the code directly with a stand-in for what no server can
produce; each says why.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from baiji import cli, tempfiles
from baiji.exceptions import KeyExists, KeyNotFound, S3Exception, TransientError
from baiji.integrity import MULTIPART_THRESHOLD
from baiji.stores import s3_errors, s3_reads
from baiji.stores import s3_bodies
from baiji.tempfiles import STALE_AGE, is_temp_name, new_temp, remove_stale
from support.helpers import PYTHON_M_BAIJI, get, one_line, put, without_root_override
from test_faults import MiB, _ranged, baiji_temps

#: Above integrity.MULTIPART_THRESHOLD (16 MiB): one GET, then a ranged GET for the rest.
LARGE = 17 * MiB + 5


@pytest.fixture(scope="module")
def large_data() -> bytes:
    return os.urandom(LARGE)


# == a corrupted body (same length, wrong bytes) =========================================

def _store(case: str, conn, client, url: str, large_data: bytes, tmp_path) -> bytes:
    """Put the object of ``case``; its content.

    ``small``: one GET, checked by its digest (``_verdict``); ``large``: a
    plain-MD5 ETag over two ranges, checked by reading the file
    (``content_matches``); ``multipart``: baiji's upload in 5 MiB parts
    (a multipart ETag, the MD5 recorded).
    """
    if case == "small":
        data = os.urandom(300_000)
        put(client, url, data)
        return data
    if case == "large":
        put(client, url, large_data)
        return large_data
    (tmp_path / "upload").write_bytes(large_data)
    conn.cp(str(tmp_path / "upload"), url, max_size=5 * MiB)
    os.remove(tmp_path / "upload")
    return large_data


CASES = ["small", "large", "multipart"]


@pytest.mark.parametrize("case", CASES)
def test_corrupt_body_is_downloaded_again(fault_proxy, conn, s3dir, client, tmp_path, large_data,
                                          case):
    data = _store(case, conn, client, s3dir + "obj", large_data, tmp_path)
    dst = tmp_path / "obj"
    dst.write_bytes(b"the old content")
    fault_proxy.proxy.fail_next(1, "corrupt", match="GetObject", offset=1000)
    fault_proxy.conn.cp(s3dir + "obj", str(dst), force=True)
    assert dst.read_bytes() == data
    assert fault_proxy.proxy.faults == 1 and fault_proxy.proxy.pending() == 0
    assert baiji_temps(tmp_path) == []


@pytest.mark.parametrize("case", CASES)
def test_corrupt_body_twice_leaves_destination_untouched(fault_proxy, conn, s3dir, client,
                                                         tmp_path, large_data, case):
    _store(case, conn, client, s3dir + "obj", large_data, tmp_path)
    dst = tmp_path / "obj"
    dst.write_bytes(b"the old content")
    fault_proxy.proxy.fail_always("corrupt", match="GetObject", offset=1000)
    with pytest.raises(TransientError) as info:
        fault_proxy.conn.cp(s3dir + "obj", str(dst), force=True)
    message = str(info.value)
    assert s3dir + "obj" in message and "does not match its ETag" in message and one_line(message)
    assert dst.read_bytes() == b"the old content"
    with pytest.raises(TransientError):  # and a new destination is not created
        fault_proxy.conn.cp(s3dir + "obj", str(tmp_path / "new"))
    assert os.listdir(tmp_path) == ["obj"]
    assert fault_proxy.proxy.ops().count("GetObject") >= 2 * s3_reads.DOWNLOAD_ATTEMPTS


def test_corrupt_fault_keeps_the_length(fault_proxy, s3dir, client):
    put(client, s3dir + "k", b"abcdef")
    fault_proxy.proxy.fail_next(1, "corrupt", match="GetObject", offset=2)
    body = get(fault_proxy.client(response_checksum_validation="when_required"), s3dir + "k")
    assert body == b"ab" + bytes([ord("c") ^ 0xFF]) + b"def"


# == the object is replaced while its ranges are read ====================================

class ReplaceOnRangedGet:
    """A proxy handler: before each of the first ``times`` ranged GETs reach the server,
    the object is replaced (straight on the server) by new content, a new ETag each time."""

    def __init__(self, client, url: str, data: bytes, times: int):
        self.client, self.url, self.data, self.times = client, url, data, times
        self.replaced = 0
        self.lock = threading.Lock()

    def content(self, n: int) -> bytes:
        return self.data + bytes([n])

    def __call__(self, info):
        with self.lock:
            if _ranged(info) and self.replaced < self.times:
                self.replaced += 1
                put(self.client, self.url, self.content(self.replaced))
        return None


def test_object_replaced_during_download_starts_over(fault_proxy, s3dir, client, tmp_path, large_data):
    put(client, s3dir + "obj", large_data)
    replacer = ReplaceOnRangedGet(client, s3dir + "obj", large_data, times=1)
    fault_proxy.proxy.handler = replacer
    dst = tmp_path / "obj"
    fault_proxy.conn.cp(s3dir + "obj", str(dst))
    assert dst.read_bytes() == replacer.content(1)
    assert [r.status for r in fault_proxy.proxy.history if r.op == "GetObject"] == [200, 412, 200, 206]
    assert baiji_temps(tmp_path) == []


def test_object_replaced_at_every_attempt_fails_saying_so(fault_proxy, s3dir, client, tmp_path,
                                                          large_data):
    put(client, s3dir + "obj", large_data)
    fault_proxy.proxy.handler = ReplaceOnRangedGet(client, s3dir + "obj", large_data, times=99)
    dst = tmp_path / "obj"
    dst.write_bytes(b"the old content")
    with pytest.raises(TransientError) as info:
        fault_proxy.conn.cp(s3dir + "obj", str(dst), force=True)
    assert not isinstance(info.value, KeyExists)
    assert str(info.value) == (f"{s3dir}obj changed while downloading "
                               f"(tried {s3_reads.DOWNLOAD_ATTEMPTS} times)")
    assert dst.read_bytes() == b"the old content" and os.listdir(tmp_path) == ["obj"]


@pytest.mark.parametrize("command", ["cp", "sync"])
def test_object_replaced_cli_fails_with_a_true_message(fault_proxy, s3dir, client, tmp_path,
                                                       large_data, command):
    """Was: ``sync`` said "Skipping ...: already exists" and exited 0; ``cp`` "already exists"."""
    put(client, s3dir + "src/obj", large_data)
    fault_proxy.proxy.handler = ReplaceOnRangedGet(client, s3dir + "src/obj", large_data, times=99)
    (tmp_path / "dst").mkdir()
    src = s3dir + "src/obj" if command == "cp" else s3dir + "src/"
    err = io.StringIO()
    status = cli.main(["--endpoint-url", fault_proxy.endpoint_url, command, src, str(tmp_path / "dst") + "/"],
                      stdin=io.StringIO(), stdout=io.StringIO(), stderr=err)
    assert status == 1, err.getvalue()
    assert "changed while downloading" in err.getvalue()
    assert "already exists" not in err.getvalue() and "Skipping" not in err.getvalue()
    assert os.listdir(tmp_path / "dst") == []


# == a full disk =========================================================================

@pytest.fixture
def tiny_fs(tmp_path):
    """A 64 KiB tmpfs (a disk that fills up for real); skipped where mounting is not allowed."""
    mount_point = tmp_path / "fs"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
                          capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs (needs root): {done.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def test_full_disk_fails_the_download_and_keeps_the_old_file(tiny_fs, s3dir, client):
    """Was: ``s3 cp -f`` exited 0, the old file replaced by the 20,480 bytes that fitted."""
    put(client, s3dir + "50KB.bin", os.urandom(50_000))
    old = os.urandom(8192)
    (tiny_fs / "x").write_bytes(old)
    (tiny_fs / "filler").write_bytes(b"f" * (36 * 1024))  # 20 KiB left: a short write, then ENOSPC
    err = io.StringIO()
    status = cli.main(["cp", "-f", s3dir + "50KB.bin", str(tiny_fs / "x")],
                      stdin=io.StringIO(), stdout=io.StringIO(), stderr=err)
    assert status == 1
    assert err.getvalue() == f"s3: error: {tiny_fs / 'x'}: No space left on device\n"
    assert (tiny_fs / "x").read_bytes() == old
    assert sorted(os.listdir(tiny_fs)) == ["filler", "x"]


# Without root no disk fills up on demand: these stand in a fake os.pwrite for one.

def test_short_writes_are_continued(tmp_path, monkeypatch):
    real_pwrite, calls = os.pwrite, []

    def short_pwrite(fd, data, offset):
        calls.append(len(data))
        return real_pwrite(fd, bytes(data[:3]), offset)  # at most 3 bytes per call

    path = tmp_path / "f"
    path.write_bytes(b"")
    with open(path, "r+b") as f:
        monkeypatch.setattr(os, "pwrite", short_pwrite)
        s3_bodies.pwrite_all(f.fileno(), b"0123456789", 5)
        monkeypatch.undo()
    assert path.read_bytes() == b"\0" * 5 + b"0123456789"
    assert calls == [10, 7, 4, 1]


def test_a_write_that_makes_no_progress_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "pwrite", lambda fd, data, offset: 0)
    with pytest.raises(OSError, match="no progress"):
        s3_bodies.pwrite_all(3, b"data", 0)


def test_short_body_is_not_taken_for_a_whole_one(tmp_path):
    """A body that ends early raises (and takes back its progress).

    botocore checks a response's length itself, so no server's short body
    reaches ``_drain``: a stub body is the only way to reach this check.
    """
    moved = []
    with open(tmp_path / "f", "w+b") as f:
        with pytest.raises(s3_bodies.Truncated, match="after 10 of 20 bytes"):
            s3_bodies.drain(io.BytesIO(b"x" * 10), f.fileno(), 0, 20, moved.append)
    assert moved == [10, -10]


# == translate: rows the servers do not produce ==========================================

def _client_error(code: str, status: int, operation: str):
    import botocore.exceptions

    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": "msg"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation)


@pytest.mark.parametrize("code, status, operation, expected, words", [
    ("SomethingNew", 404, "HeadObject", KeyNotFound, "not found"),  # the status decides
    ("PreconditionFailed", 412, "GetObject", TransientError, "changed while downloading"),
    ("PreconditionFailed", 412, "PutObject", KeyExists, "already exists"),
    ("", 412, "PutObject", KeyExists, "already exists"),
])
def test_translate_rows(code, status, operation, expected, words):
    err = s3_errors.translate(_client_error(code, status, operation), "s3://b/k")
    assert isinstance(err, expected)
    assert str(err).startswith("s3://b/k") and words in str(err)


# == modes ===============================================================================

def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_downloaded_file_gets_the_umask_mode(conn, s3dir, client, tmp_path):
    put(client, s3dir + "k", b"data")
    conn.cp(s3dir + "k", str(tmp_path / "new"))
    assert (tmp_path / "new").stat().st_mode & 0o7777 == 0o666 & ~_umask()


def test_replaced_file_keeps_its_mode(conn, s3dir, client, tmp_path):
    put(client, s3dir + "k", b"new data")
    dst = tmp_path / "old"
    dst.write_bytes(b"old data")
    dst.chmod(0o640)
    conn.cp(s3dir + "k", str(dst), force=True)
    assert dst.read_bytes() == b"new data" and dst.stat().st_mode & 0o7777 == 0o640


# == temp files of killed processes ======================================================

_WRITER = """
import sys, time
from baiji.tempfiles import new_temp
print(new_temp(suffix=".tmp", dir=sys.argv[1]), flush=True)
time.sleep(120)
"""


@contextlib.contextmanager
def writer(directory):
    """Another process holding an in-flight temp file in ``directory``: ``(process, path)``."""
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(directory)], stdout=subprocess.PIPE,
                            text=True)
    try:
        yield proc, proc.stdout.readline().strip()
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def killed_writer_temp(directory) -> str:
    """A temp file left in ``directory`` by a process killed with SIGKILL."""
    with writer(directory) as (proc, path):
        proc.send_signal(signal.SIGKILL)
    return path


def age(path: str, seconds: float) -> None:
    os.utime(path, (time.time() - seconds, time.time() - seconds))


def test_temp_names_carry_the_writer_and_stay_temp_names(tmp_path):
    path = new_temp(suffix=".tmp", dir=str(tmp_path))
    try:
        name = os.path.basename(path)
        assert is_temp_name(name) and f"-{os.getpid()}-" in name
    finally:
        tempfiles.remove_quietly(path)


def test_a_killed_writers_temp_file_is_removed(tmp_path):
    path = killed_writer_temp(tmp_path)
    assert os.path.exists(path)  # SIGKILL: nothing cleans up
    remove_stale(str(tmp_path))
    assert not os.path.exists(path)


def test_a_live_writers_temp_file_is_kept_for_a_day(tmp_path):
    with writer(tmp_path) as (_, path):
        age(path, STALE_AGE - 60)
        remove_stale(str(tmp_path))
        assert os.path.exists(path)
        age(path, STALE_AGE + 60)  # its pid was reused, say
        remove_stale(str(tmp_path))
        assert not os.path.exists(path)


def test_this_processs_temp_files_are_kept(tmp_path):
    path = new_temp(suffix=".tmp", dir=str(tmp_path))
    try:
        age(path, 2 * STALE_AGE)
        remove_stale(str(tmp_path))
        assert os.path.exists(path)
    finally:
        tempfiles.remove_quietly(path)


def test_a_temp_file_of_another_pid_space_is_judged_by_age_only(tmp_path):
    """Pids of another machine or container (a shared directory) cannot be checked here."""
    dead = os.path.basename(killed_writer_temp(tmp_path))  # .baiji-<space>-<pid>-<random>.tmp
    prefix, _, pid, rest = dead.split("-", 3)
    foreign = tmp_path / "-".join([prefix, "00000000", pid, rest])
    os.rename(tmp_path / dead, foreign)
    remove_stale(str(tmp_path))
    assert foreign.exists()
    age(str(foreign), STALE_AGE + 60)
    remove_stale(str(tmp_path))
    assert not foreign.exists()


@pytest.mark.parametrize("name, removed", [
    (".baiji-abcd_123.tmp", True),          # baiji 3.0.0's names: by age
    (".baiji-notes.tmp", False),            # not a name baiji makes
    (".baiji-abcd1234.txt", False),
    ("abcd1234.tmp", False),
    (".baiji-00000000-1-abcd1234.tmp.keep", False),
])
def test_only_baiji_names_older_than_a_day_are_removed(tmp_path, name, removed):
    path = tmp_path / name
    path.write_bytes(b"x")
    remove_stale(str(tmp_path))
    assert path.exists()
    age(str(path), STALE_AGE + 60)
    remove_stale(str(tmp_path))
    assert path.exists() is not removed


def test_writing_into_a_directory_cleans_it_once(conn, s3dir, client, tmp_path):
    put(client, s3dir + "k", b"data")
    first = killed_writer_temp(tmp_path)
    conn.cp(s3dir + "k", str(tmp_path / "a"))
    assert not os.path.exists(first)
    second = killed_writer_temp(tmp_path)
    conn.cp(s3dir + "k", str(tmp_path / "b"))  # not scanned again by this process
    assert os.path.exists(second)
    assert sorted(os.listdir(tmp_path)) == sorted(["a", "b", os.path.basename(second)])


def test_download_killed_with_sigkill_is_cleaned_by_the_next_one(fault_proxy, s3dir, client, tmp_path):
    """The tester's case: ``s3 cp`` killed mid-download left its temp file forever."""
    put(client, s3dir + "k", b"data")
    fault_proxy.proxy.fail_always("delay", match="GetObject", seconds=60)
    dst = tmp_path / "dst"
    proc = subprocess.Popen([*PYTHON_M_BAIJI, "--endpoint-url", fault_proxy.endpoint_url, "cp",
                             "--no-resume", s3dir + "k", str(dst / "k")], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not baiji_temps(dst) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    left = baiji_temps(dst)
    assert len(left) == 1 and os.path.exists(left[0])
    fault_proxy.proxy.clear()
    fault_proxy.conn.cp(s3dir + "k", str(dst / "again"))
    assert os.listdir(dst) == ["again"]


# == errors name the destination =========================================================

def _assert_names_destination(message: str, dst) -> None:
    assert str(dst) in message and ".baiji-" not in message and one_line(message), message


@pytest.mark.parametrize("source", ["s3", "local"])
def test_is_a_directory_names_the_destination(conn, s3dir, client, tmp_path, source):
    put(client, s3dir + "k", b"data")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "k").write_bytes(b"data")
    (tmp_path / "dst" / "k").mkdir(parents=True)
    src = s3dir + "k" if source == "s3" else str(tmp_path / "src" / "k")
    with pytest.raises(S3Exception) as info:
        conn.cp(src, str(tmp_path / "dst") + "/", force=True)
    _assert_names_destination(str(info.value), tmp_path / "dst" / "k")
    assert "Is a directory" in str(info.value)
    assert baiji_temps(tmp_path) == []


def test_file_name_too_long_names_the_destination(conn, s3dir, client, tmp_path):
    put(client, s3dir + "k", b"data")
    dst = tmp_path / ("n" * 300)
    with pytest.raises(S3Exception) as info:
        conn.cp(s3dir + "k", str(dst))
    _assert_names_destination(str(info.value), dst)
    assert "File name too long" in str(info.value)
    assert os.listdir(tmp_path) == []


def test_permission_denied_names_the_destination(s3dir, client, tmp_path):
    put(client, s3dir + "k", b"data")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    done = subprocess.run(without_root_override([*PYTHON_M_BAIJI, "cp", s3dir + "k", locked / "x"]),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    _assert_names_destination(done.stderr, locked / "x")
    assert "Permission denied" in done.stderr and os.listdir(locked) == []


# -- downloads broken every time keep the old file -------------------------------------------------

def test_503_storm_on_download_keeps_the_old_file(fault_proxy, client, s3dir, tmp_path):
    put(client, s3dir + "k", b"new content")
    dst = tmp_path / "dst"
    dst.write_bytes(b"old")
    fault_proxy.proxy.fail_next(100, "slow_down", match="GetObject")
    with pytest.raises(S3Exception) as info:
        fault_proxy.conn.cp(s3dir + "k", str(dst), force=True)
    assert dst.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["dst"]
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("kind,extra", [("truncate", {"nbytes": 1000}), ("reset_after_forward", {})])
@pytest.mark.parametrize("size", [300_000, 20 * 1024 * 1024], ids=["small", "ranged"])
def test_download_broken_every_time_keeps_the_old_file(fault_proxy, client, s3dir, tmp_path, kind, extra, size):
    body = os.urandom(size)
    put(client, s3dir + "k", body)
    dst = tmp_path / "dst"
    dst.write_bytes(b"old")
    fault_proxy.proxy.fail_next(1000, kind, match="GetObject", **extra)
    with pytest.raises((S3Exception, TransientError)) as info:
        fault_proxy.conn.cp(s3dir + "k", str(dst), force=True, resume=False)
    assert dst.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["dst"]
    assert "\n" not in str(info.value)
    fault_proxy.proxy.clear()
    fault_proxy.proxy.fail_next(3, kind, match="GetObject", **extra)
    fault_proxy.conn.cp(s3dir + "k", str(dst), force=True)
    assert dst.read_bytes() == body


# -- a large single-part object --------------------------------------------------------------------

def test_large_single_part_object_downloads_whole(conn, client, s3dir, tmp_path):
    """Above the multipart threshold with a plain MD5 ETag: ranges of baiji's own part size."""
    data = os.urandom(MULTIPART_THRESHOLD + 1024)
    put(client, s3dir + "big.bin", data)
    conn.cp(s3dir + "big.bin", str(tmp_path / "big.bin"))
    assert (tmp_path / "big.bin").read_bytes() == data


# -- a file written gets 0o666 & ~umask: exclusive local writes too --------------------------------

_UMASK_MODE = 0o666 & ~_umask()


def test_local_exclusive_write_creates_the_file_with_its_content_and_mode(conn, tmp_path):
    target = tmp_path / "new" / "k.txt"
    conn.put_string(str(target), "first", replace=False)
    assert target.read_bytes() == b"first"
    assert target.stat().st_mode & 0o777 == _UMASK_MODE  # os.open(..., 0o666) kept


def test_a_temp_file_created_after_a_stop_began_is_removed_by_the_last_clean_up(tmp_path, monkeypatch):
    """A worker's stop (util.parallel._die_clean) cleans up twice: a copy thread that tracked
    its partial file before the stop and creates it only after the first clean-up (the
    thread goes on until the process exits) must not leave it behind."""
    monkeypatch.setattr(tempfiles, "_live", set())
    monkeypatch.setattr(tempfiles, "_closed", False)
    late = str(tmp_path / ".baiji-resume-0123456789abcdef.tmp")
    tempfiles.track(late)
    tempfiles.remove_all()  # the stop begins: nothing there yet
    open(late, "wb").close()  # the copy thread creates it now
    with pytest.raises(InterruptedError):
        tempfiles.track(str(tmp_path / "another"))  # and nothing new is tracked any more
    tempfiles.remove_all()
    assert os.listdir(tmp_path) == []
