"""Never lose data, part 1: the network misbehaves (issue "Never lose data").

Every test here runs against the session's server (moto or SeaweedFS)
through the loopback fault proxy of ``tests/support/faultproxy.py`` (the
``fault_proxy`` fixture), which throttles, fails, resets, truncates and
delays requests on command.  The promises proven here:

1. Throttling (503 SlowDown) and 500s are retried with backoff: uploads,
   downloads, s3 -> s3 copies, listings and bulk copies (``cp_r`` with
   ``parallel=False`` and ``parallel=True``) finish correctly through a
   proxy failing one request in five.
2. A reset or a truncated body during a download never leaves a partial
   or corrupt file at the destination: it is retried, or the call fails and
   the destination is untouched (no ``.baiji-*`` temp files either).
3. A reset during an upload never leaves a half-written object; a failing
   multipart upload is aborted (no upload left in
   ``list_multipart_uploads``).
4. A dead endpoint (closed port; a port that accepts but never answers)
   fails within a bounded time with a one-line error naming the URL.
5. Ctrl-C / SIGTERM during ``s3 cp -R`` / ``s3 sync`` stops the workers
   promptly, leaves no partial or temp file, exits 130 / 143, and running
   the command again completes the job.

``TOTALS`` counts what the tests moved (faults injected, files, bytes
verified); it is printed at the end of the module with ``-s``.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import botocore.retries.standard
import pytest

from baiji import cli, config
from baiji.connection import BulkCopyError, S3Connection
from baiji.exceptions import KeyNotFound, S3Exception, TransientError
from support.childproc import killed_on_exit, signal_and_wait, sigint_not_ignored
from support.helpers import get, key_exists, one_line, put, split, tree, write_tree

MiB = 1024 * 1024
#: More than integrity.MULTIPART_THRESHOLD (16 MiB): downloaded with parallel ranged GETs.
LARGE = 40 * MiB
TOTALS: collections.Counter = collections.Counter()


# -- helpers -----------------------------------------------------------------------------

def uploads_in_progress(client, bucket: str) -> list:
    return client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def baiji_temps(directory) -> list[str]:
    """Every ``.baiji-*`` file below ``directory``."""
    found = []
    for dirpath, _, filenames in os.walk(directory):
        found += [os.path.join(dirpath, n) for n in filenames if n.startswith(".baiji-")]
    return found


def count(proxy, kind: str = "faults") -> None:
    TOTALS["faults injected"] += proxy.faults


def verified(nbytes: int, files: int = 1) -> None:
    TOTALS["files moved"] += files
    TOTALS["bytes verified"] += nbytes


class Flaky:
    """A proxy handler failing every ``n``-th request, cycling through ``kinds``.

    One request (same method and target) is failed at most ``per_request``
    times, so botocore's 5 attempts always suffice: with a plain 1-in-5
    schedule, 5 attempts of one request all landing on a fault has a chance
    of 1 in 3125, which a few thousand requests would hit.
    """

    def __init__(self, n: int, kinds=("slow_down", "internal_error", "reset_before"), match=None,
                 per_request: int = 2):
        self.n, self.kinds, self.match, self.per_request = n, tuple(kinds), match, per_request
        self.seen = 0
        self.injected = 0
        self.by_request: collections.Counter = collections.Counter()
        self.lock = threading.Lock()

    def __call__(self, info):
        if self.match is not None and not self.match(info):
            return None
        with self.lock:
            self.seen += 1
            if self.seen % self.n or self.by_request[info.method, info.target] >= self.per_request:
                return None
            self.by_request[info.method, info.target] += 1
            kind = self.kinds[self.injected % len(self.kinds)]
            self.injected += 1
            return kind


@pytest.fixture
def fast_backoff(monkeypatch):
    """botocore's retry delays cut to ~0: for tests that exhaust every attempt.

    The number of attempts (baiji.config.MAX_ATTEMPTS) is unchanged; only the
    waiting between them is skipped, so a test exhausting 5 attempts takes
    milliseconds instead of up to 15 s.  Worker processes forked by
    ``parallel=True`` inherit the patch.
    """
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount",
                        lambda self, context: 0.001)


@pytest.fixture(scope="module")
def large_data() -> bytes:
    return os.urandom(LARGE)


@pytest.fixture(scope="module", autouse=True)
def _report_totals():
    yield
    if TOTALS:
        print("\n[test_faults] " + ", ".join(f"{k}: {v}" for k, v in sorted(TOTALS.items())))


# == 1. throttling and 500s are retried ==================================================

def test_retry_configuration():
    """The documented defaults, as the client really gets them."""
    assert (config.CONNECT_TIMEOUT, config.READ_TIMEOUT, config.MAX_ATTEMPTS) == (5, 60, 5)
    client = S3Connection(endpoint_url="http://127.0.0.1:9").client
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 5}
    assert client.meta.config.connect_timeout == 5
    assert client.meta.config.read_timeout == 60


@pytest.mark.parametrize("kind", ["slow_down", "internal_error", "reset_before"])
def test_request_is_tried_max_attempts_times(fault_proxy, s3dir, client, fast_backoff, kind):
    """Exactly MAX_ATTEMPTS requests for a request that always fails, then a one-line error."""
    proxy = fault_proxy.proxy
    put(client, s3dir + "k", b"x")
    proxy.fail_always(kind, match="HeadObject")
    with pytest.raises((S3Exception, TransientError)) as info:
        fault_proxy.conn.size(s3dir + "k")
    assert proxy.ops().count("HeadObject") == config.MAX_ATTEMPTS
    assert s3dir + "k" in str(info.value) and one_line(str(info.value))
    count(proxy)


@pytest.mark.parametrize("kind", ["slow_down", "internal_error"])
def test_single_transfers_survive_one_fault_in_five(fault_proxy, s3dir, client, tmp_path, kind):
    proxy, conn = fault_proxy.proxy, fault_proxy.conn
    small = {f"f{i}.bin": os.urandom(1000 + 997 * i) for i in range(6)}
    big = os.urandom(17 * MiB + 5)  # multipart up (5 MiB parts), ranged GETs down
    write_tree(tmp_path / "up", {**small, "big.bin": big})
    expected = {**small, "big.bin": big}
    proxy.handler = Flaky(5, kinds=(kind,))

    for name in small:  # uploads
        conn.cp(str(tmp_path / "up" / name), s3dir + name)
    conn.cp(str(tmp_path / "up" / "big.bin"), s3dir + "big.bin", max_size=5 * MiB)
    conn.put_string(s3dir + "string.txt", "hello")
    for name in expected:  # downloads
        conn.cp(s3dir + name, str(tmp_path / "down" / name))
    for name in small:  # server-side copies
        conn.cp(s3dir + name, s3dir + "copies/" + name)
    for _ in range(4):  # listings
        assert sorted(conn.ls(s3dir + "copies/", return_full_urls=True)) == \
            sorted(s3dir + "copies/" + n for n in small)
    assert conn.get_string(s3dir + "string.txt") == "hello"

    proxy.clear()
    assert tree(tmp_path / "down") == expected
    for name, data in expected.items():
        assert get(client, s3dir + name) == data
    for name, data in small.items():
        assert get(client, s3dir + "copies/" + name) == data
    assert not baiji_temps(tmp_path)
    assert uploads_in_progress(client, split(s3dir)[0]) == []
    assert proxy.faults >= proxy.requests // 5 - 1 and proxy.faults >= 8
    assert proxy.faults_by_kind[kind] == proxy.faults
    count(proxy)
    verified(2 * sum(map(len, expected.values())) + sum(map(len, small.values())),
             files=2 * len(expected) + len(small))


@pytest.mark.parametrize("parallel", [False, True], ids=["threads", "processes"])
def test_bulk_copies_survive_one_fault_in_five(wide_proxy, s3dir, client, tmp_path, parallel):
    """cp_r in every direction through a proxy failing 1 request in 5 (503, 500, reset)."""
    proxy, conn = wide_proxy.proxy, wide_proxy.conn
    files = {f"d{i % 4}/file{i:03d}.txt": os.urandom(i * 37) for i in range(60)}
    write_tree(tmp_path / "src", files)
    flaky = Flaky(5)
    proxy.handler = flaky

    conn.cp_r(str(tmp_path / "src") + "/", s3dir + "up/", parallel=parallel)
    conn.cp_r(s3dir + "up/", s3dir + "copy/", parallel=parallel)
    conn.cp_r(s3dir + "copy/", str(tmp_path / "down") + "/", parallel=parallel)

    proxy.handler = None
    assert tree(tmp_path / "down") == files
    for prefix in ("up/", "copy/"):
        listed = client.list_objects_v2(Bucket=split(s3dir)[0], Prefix=split(s3dir)[1] + prefix)
        assert sorted(o["Key"] for o in listed["Contents"]) == \
            sorted(split(s3dir)[1] + prefix + rel for rel in files)
        assert listed["KeyCount"] == len(files)
    assert not baiji_temps(tmp_path)
    assert flaky.injected >= 3 * len(files) // 5 - 1
    assert set(proxy.faults_by_kind) == {"slow_down", "internal_error", "reset_before"}
    count(proxy)
    verified(3 * sum(map(len, files.values())), files=3 * len(files))


# == 2. broken downloads leave nothing behind ============================================

def _ranged(info) -> bool:
    return info.op == "GetObject" and "range" in info.headers


def _any_get(info) -> bool:
    return info.op == "GetObject"


DOWNLOAD_CASES = [
    # (size, fault kind, which GETs, how many times)
    ("small", "truncate", _any_get),
    ("small", "reset_after_forward", _any_get),
    ("small", "reset_before", _any_get),
    ("large", "truncate", _any_get),
    ("large", "truncate", _ranged),
    ("large", "reset_after_forward", _ranged),
]
DOWNLOAD_IDS = [f"{size}-{kind}-{'ranged' if m is _ranged else 'any'}" for size, kind, m in DOWNLOAD_CASES]


def _payload(size: str, large_data: bytes) -> bytes:
    return os.urandom(300_000) if size == "small" else large_data


@pytest.mark.parametrize("size, kind, match", DOWNLOAD_CASES, ids=DOWNLOAD_IDS)
def test_broken_download_is_retried(fault_proxy, s3dir, client, tmp_path, large_data,
                                    size, kind, match):
    data = _payload(size, large_data)
    put(client, s3dir + "obj", data)
    dst = tmp_path / "dst" / "obj"
    fault_proxy.proxy.fail_next(2, kind, match=match, nbytes=12345)
    fault_proxy.conn.cp(s3dir + "obj", str(dst))
    assert dst.read_bytes() == data
    assert fault_proxy.proxy.faults == 2
    assert not baiji_temps(tmp_path)
    count(fault_proxy.proxy)
    verified(len(data))


@pytest.mark.parametrize("size, kind, match", [c for c in DOWNLOAD_CASES if c[1] != "reset_before"]
                         + [("small", "reset_before", _any_get)],
                         ids=[i for i, c in zip(DOWNLOAD_IDS, DOWNLOAD_CASES) if c[1] != "reset_before"]
                         + ["small-reset_before-any"])
def test_failed_download_leaves_destination_untouched(fault_proxy, s3dir, client, tmp_path,
                                                      large_data, fast_backoff, size, kind, match):
    data = _payload(size, large_data)
    put(client, s3dir + "obj", data)
    dst_dir = tmp_path / "dst"
    dst_dir.mkdir()
    (dst_dir / "obj").write_bytes(b"the old content")
    fault_proxy.proxy.fail_always(kind, match=match, nbytes=4096)
    with pytest.raises((S3Exception, TransientError)) as info:
        fault_proxy.conn.cp(s3dir + "obj", str(dst_dir / "obj"), force=True, resume=False)
    assert s3dir + "obj" in str(info.value) and one_line(str(info.value))
    assert (dst_dir / "obj").read_bytes() == b"the old content"
    assert os.listdir(dst_dir) == ["obj"]
    # and a fresh destination is not created at all
    with pytest.raises((S3Exception, TransientError)):
        fault_proxy.conn.cp(s3dir + "obj", str(dst_dir / "new"), resume=False)
    assert os.listdir(dst_dir) == ["obj"]
    assert fault_proxy.proxy.faults >= 2
    count(fault_proxy.proxy)


def test_failed_download_cli_exit_status(fault_proxy, s3dir, client, tmp_path, large_data, fast_backoff):
    put(client, s3dir + "big", large_data)
    dst = tmp_path / "big"
    dst.write_bytes(b"keep me")
    fault_proxy.proxy.fail_always("truncate", match=_ranged, nbytes=1000)
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(["--endpoint-url", fault_proxy.endpoint_url, "cp", "-f", "--no-resume", s3dir + "big", str(dst)],
                      stdin=io.StringIO(), stdout=out, stderr=err)
    assert status == 1
    assert err.getvalue().startswith("s3: error: ") and err.getvalue().count("\n") == 1
    assert dst.read_bytes() == b"keep me" and os.listdir(tmp_path) == ["big"]
    count(fault_proxy.proxy)


def test_bulk_download_with_a_broken_key(fault_proxy, s3dir, client, tmp_path, fast_backoff):
    """One key whose body is always cut: it is reported, the rest arrive, nothing partial."""
    files = {f"k{i}.bin": os.urandom(50_000 + i) for i in range(12)}
    for name, data in files.items():
        put(client, s3dir + name, data)
    fault_proxy.proxy.fail_always("truncate", nbytes=100,
                                  match=lambda r: r.op == "GetObject" and r.key.endswith("k5.bin"))
    with pytest.raises(BulkCopyError) as info:
        fault_proxy.conn.cp_r(s3dir, str(tmp_path / "down") + "/")
    assert "k5.bin" in str(info.value) and len(info.value.failures) == 1
    expected = {n: d for n, d in files.items() if n != "k5.bin"}
    assert tree(tmp_path / "down") == expected
    count(fault_proxy.proxy)
    verified(sum(map(len, expected.values())), files=len(expected))


# == 3. broken uploads leave no half-written object ======================================

@pytest.fixture
def eleven_mib(tmp_path):
    path = tmp_path / "eleven.bin"
    data = os.urandom(11 * MiB + 3)
    path.write_bytes(data)
    return path, data


@pytest.mark.parametrize("kind", ["reset_before", "reset_after", "reset_after_forward", "internal_error"])
def test_failing_multipart_upload_is_aborted(fault_proxy, s3dir, client, eleven_mib, fast_backoff, kind):
    path, _ = eleven_mib
    bucket = split(s3dir)[0]
    fault_proxy.proxy.fail_always(kind, match="UploadPart")
    with pytest.raises((S3Exception, TransientError)) as info:
        fault_proxy.conn.cp(str(path), s3dir + "big", max_size=5 * MiB, resume=False)
    assert s3dir + "big" in str(info.value) and one_line(str(info.value))
    assert uploads_in_progress(client, bucket) == []
    assert not key_exists(client, s3dir + "big")
    assert "AbortMultipartUpload" in fault_proxy.proxy.ops()
    count(fault_proxy.proxy)


def test_failing_multipart_upload_keeps_the_old_object(fault_proxy, s3dir, client, eleven_mib, fast_backoff):
    path, _ = eleven_mib
    put(client, s3dir + "big", b"old content")
    fault_proxy.proxy.fail_always("internal_error", match="CompleteMultipartUpload")
    with pytest.raises(S3Exception):
        fault_proxy.conn.cp(str(path), s3dir + "big", max_size=5 * MiB, force=True, resume=False)
    assert get(client, s3dir + "big") == b"old content"
    assert uploads_in_progress(client, split(s3dir)[0]) == []
    count(fault_proxy.proxy)


def test_interrupted_multipart_upload_is_aborted(fault_proxy, s3dir, client, eleven_mib):
    """Ctrl-C in the middle of the parts (raised by the progress callback)."""
    path, _ = eleven_mib
    moved = []

    def progress(n):
        moved.append(n)
        if len(moved) == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fault_proxy.conn.cp(str(path), s3dir + "big", max_size=5 * MiB, progress=progress, resume=False)
    assert uploads_in_progress(client, split(s3dir)[0]) == []
    assert not key_exists(client, s3dir + "big")


def test_transient_part_failures_are_retried(fault_proxy, s3dir, client, eleven_mib):
    path, data = eleven_mib
    fault_proxy.proxy.fail_next(2, "reset_before", match="UploadPart")
    fault_proxy.proxy.fail_next(1, "slow_down", match="CompleteMultipartUpload")
    fault_proxy.conn.cp(str(path), s3dir + "big", max_size=5 * MiB, resume=False)
    assert get(client, s3dir + "big") == data
    assert fault_proxy.conn.md5(s3dir + "big") == hashlib.md5(data).hexdigest()
    assert uploads_in_progress(client, split(s3dir)[0]) == []
    assert fault_proxy.proxy.faults == 3
    count(fault_proxy.proxy)
    verified(len(data))


@pytest.mark.parametrize("kind", ["reset_before", "reset_after", "internal_error"])
def test_failing_single_put_leaves_nothing(fault_proxy, s3dir, client, tmp_path, fast_backoff, kind):
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(200_000))
    fault_proxy.proxy.fail_always(kind, match="PutObject")
    with pytest.raises((S3Exception, TransientError)):
        fault_proxy.conn.cp(str(src), s3dir + "f.bin")
    assert not key_exists(client, s3dir + "f.bin")
    with pytest.raises((S3Exception, TransientError)):
        with fault_proxy.conn.open(s3dir + "g.txt", "w") as f:
            f.write("never half-written")
    assert not key_exists(client, s3dir + "g.txt")
    assert fault_proxy.proxy.ops().count("PutObject") == 2 * config.MAX_ATTEMPTS
    count(fault_proxy.proxy)


def test_failing_upload_cli_exit_status(fault_proxy, s3dir, client, eleven_mib, fast_backoff):
    path, _ = eleven_mib
    fault_proxy.proxy.fail_always("reset_before", match="PutObject")
    err = io.StringIO()
    status = cli.main(["--endpoint-url", fault_proxy.endpoint_url, "cp", str(path), s3dir + "big"],
                      stdin=io.StringIO(), stdout=io.StringIO(), stderr=err)
    assert status == 1 and err.getvalue().startswith("s3: error: ")
    assert err.getvalue().count("\n") == 1 and s3dir + "big" in err.getvalue()
    assert not key_exists(client, s3dir + "big")
    count(fault_proxy.proxy)


# == 4. a dead endpoint fails fast, in one line ==========================================

@pytest.fixture
def small_timeouts(monkeypatch):
    """1 s timeouts and 2 attempts instead of 5 s / 60 s / 5 (asserted in test_retry_configuration)."""
    monkeypatch.setattr(config, "CONNECT_TIMEOUT", 1)
    monkeypatch.setattr(config, "READ_TIMEOUT", 1)
    monkeypatch.setattr(config, "MAX_ATTEMPTS", 2)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BlackHole:
    """A port that accepts connections and never answers (nor reads)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.held: list[socket.socket] = []
        self.accepted = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted += 1
            self.held.append(conn)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        for s in self.held + [self.sock]:
            s.close()


@pytest.fixture
def black_hole():
    hole = BlackHole()
    try:
        yield hole
    finally:
        hole.close()


DEAD_OPERATIONS = {
    "ls": lambda c, url, tmp: list(c.ls(url)),
    "exists": lambda c, url, tmp: c.exists(url),
    "download": lambda c, url, tmp: c.cp(url, str(tmp / "downloaded")),
    "upload": lambda c, url, tmp: c.cp(str(tmp / "local.txt"), url),
    "open": lambda c, url, tmp: c.open(url).read(),
    "put_string": lambda c, url, tmp: c.put_string(url, "x"),
}


def _dead_call(conn, op, tmp_path, url="s3://some-bucket/dir/key.txt"):
    (tmp_path / "local.txt").write_text("local")
    start = time.monotonic()
    with pytest.raises((S3Exception, TransientError)) as info:
        DEAD_OPERATIONS[op](conn, url, tmp_path)
    elapsed = time.monotonic() - start
    message = str(info.value)
    assert url in message and one_line(message), message
    assert not isinstance(info.value, KeyNotFound)  # a dead endpoint is not "not found"
    assert sorted(os.listdir(tmp_path)) == ["local.txt"]  # nothing downloaded, no temp file
    return info.value, elapsed


@pytest.mark.parametrize("op", sorted(DEAD_OPERATIONS))
def test_closed_port_fails_fast_with_default_settings(tmp_path, op):
    """Connection refused: retried MAX_ATTEMPTS times with short (50 ms-based) backoff."""
    endpoint = f"http://127.0.0.1:{closed_port()}"
    error, elapsed = _dead_call(S3Connection(endpoint_url=endpoint), op, tmp_path)
    assert isinstance(error, S3Exception)
    assert "cannot reach" in str(error) and endpoint in str(error)
    assert elapsed < 10


@pytest.mark.parametrize("op", ["ls", "download", "upload"])
def test_silent_endpoint_fails_within_the_read_timeout(tmp_path, black_hole, small_timeouts, op):
    """A port that accepts and never answers: READ_TIMEOUT per attempt, MAX_ATTEMPTS attempts."""
    conn = S3Connection(endpoint_url=black_hole.endpoint_url)
    _, elapsed = _dead_call(conn, op, tmp_path)
    assert black_hole.accepted == config.MAX_ATTEMPTS
    bound = config.MAX_ATTEMPTS * (config.READ_TIMEOUT + 1) + 2
    assert config.READ_TIMEOUT * config.MAX_ATTEMPTS - 0.5 <= elapsed < bound


def test_dead_endpoint_bulk_copy_fails_in_bounded_time(tmp_path, black_hole, small_timeouts):
    src = tmp_path / "src"
    write_tree(src, {f"f{i}": b"x" for i in range(16)})
    conn = S3Connection(endpoint_url=black_hole.endpoint_url)
    start = time.monotonic()
    with pytest.raises(BulkCopyError) as info:
        conn.cp_r(str(src) + "/", "s3://some-bucket/dst/")
    assert time.monotonic() - start < 15
    assert len(info.value.failures) == 16 and one_line(str(info.value))


@pytest.mark.parametrize("where", ["closed", "silent"])
@pytest.mark.parametrize("argv", [["ls", "s3://some-bucket/dir/"], ["cat", "s3://some-bucket/dir/k"],
                                  ["cp", "s3://some-bucket/dir/k", "{tmp}/k"]],
                         ids=["ls", "cat", "cp"])
def test_dead_endpoint_cli(tmp_path, black_hole, small_timeouts, where, argv):
    endpoint = f"http://127.0.0.1:{closed_port()}" if where == "closed" else black_hole.endpoint_url
    argv = [a.format(tmp=tmp_path) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    start = time.monotonic()
    status = cli.main(["--endpoint-url", endpoint] + argv, stdin=io.StringIO(), stdout=out, stderr=err)
    assert time.monotonic() - start < 10
    assert status == 1 and out.getvalue() == ""
    assert err.getvalue().startswith("s3: error: ") and err.getvalue().count("\n") == 1
    assert argv[1] in err.getvalue()
    assert os.listdir(tmp_path) == []


# == 5. Ctrl-C / SIGTERM during s3 cp -R / s3 sync =======================================

SIGNAL_FILES = 200
#: Every GET waits this long in the proxy: the job takes several seconds, so it is
#: interrupted with copies in flight.
GET_DELAY = 1.0



def _proc_stat(pid: int):
    """``(state, ppid, session)`` of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return fields[0], int(fields[1]), int(fields[3])


def _live_in_session(session: int) -> list[int]:
    """Processes (not zombies) of a session: what survives of a CLI run."""
    alive = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = _proc_stat(int(name))
            if stat and stat[2] == session and stat[0] != "Z":
                alive.append(int(name))
    return alive


def _populate(client, s3dir: str, n: int) -> dict[str, bytes]:
    from concurrent.futures import ThreadPoolExecutor

    files = {f"d{i % 7}/file{i:04d}.bin": os.urandom(2000 + i) for i in range(n)}
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda item: put(client, s3dir + item[0], item[1]), files.items()))
    return files


def _landed(directory) -> int:
    return sum(1 for _, _, names in os.walk(directory) for n in names if not n.startswith(".baiji-"))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("command", ["cp-R", "sync"])
def test_interrupted_bulk_copy_stops_cleanly_and_resumes(wide_proxy, s3dir, client, tmp_path, command, sig):
    files = _populate(client, s3dir, SIGNAL_FILES)
    dst = tmp_path / "dst"
    argv = [sys.executable, "-m", "baiji", "--endpoint-url", wide_proxy.endpoint_url]
    argv += ["cp", "-R", s3dir, str(dst) + "/"] if command == "cp-R" else ["sync", s3dir, str(dst)]
    wide_proxy.proxy.fail_always("delay", seconds=GET_DELAY, match="GetObject")

    with sigint_not_ignored():  # also when the tests run with SIGINT ignored (nohup, `bash .ci/run &`)
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    with killed_on_exit(proc):
        deadline = time.monotonic() + 60
        while _landed(dst) < 5 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        if command == "cp-R":  # the CLI and the Pool's two workers
            assert len(_live_in_session(proc.pid)) >= 3
        # Ctrl-C: the terminal signals the whole foreground group; kill PID: the parent alone
        send = (lambda: os.killpg(proc.pid, sig)) if sig == signal.SIGINT else (lambda: os.kill(proc.pid, sig))
        out, err, stopped_after = signal_and_wait(proc, send, timeout=30)
    survivors = _live_in_session(proc.pid)
    deadline = time.monotonic() + 5
    while survivors and time.monotonic() < deadline:
        time.sleep(0.1)
        survivors = _live_in_session(proc.pid)
    for pid in survivors:  # clean up before failing
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    assert proc.returncode == 128 + sig, (proc.returncode, err)
    assert survivors == [], f"worker processes left running: {survivors}"
    assert stopped_after < 2 * GET_DELAY + 5
    assert b"Traceback" not in err
    landed = tree(dst)
    assert baiji_temps(dst) == []
    assert 0 < len(landed) < len(files), "interrupted too late: make the job slower"
    for rel, data in landed.items():  # whatever arrived is complete
        assert files[rel] == data, f"{rel}: partial or corrupt"

    wide_proxy.proxy.clear()
    again = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert tree(dst) == files
    assert baiji_temps(dst) == []
    TOTALS["signals sent"] += 1
    verified(sum(map(len, files.values())), files=len(files))


# -- a silent endpoint while sending a body --------------------------------------------------------

@pytest.mark.parametrize("size,max_size", [(8 * 1024 * 1024, None), (11 * 1024 * 1024, 5 * 1024 * 1024)],
                         ids=["single-put", "multipart"])
def test_upload_to_a_silent_endpoint_fails_in_bounded_time(tmp_path, black_hole, small_timeouts, size, max_size):
    """README: "a silent [endpoint fails] within 5 attempts x (60 s read timeout + backoff)".
    A port that accepts and never reads: a body bigger than the socket buffers never
    gets sent, and obstore's read_timeout only counts while waiting for an answer; the
    only other bound is its 12-hour request timeout."""
    import concurrent.futures
    import time

    from baiji import config
    from baiji.connection import S3Connection

    src = tmp_path / "big.bin"
    src.write_bytes(b"\0" * size)
    conn = S3Connection(endpoint_url=black_hole.endpoint_url)
    bound = config.MAX_ATTEMPTS * (config.READ_TIMEOUT + 1) + 10
    start = time.monotonic()
    ex = concurrent.futures.ThreadPoolExecutor(1)
    future = ex.submit(conn.cp, str(src), "s3://some-bucket/k", max_size=max_size, force=True)
    try:
        with pytest.raises((S3Exception, TransientError)):
            future.result(timeout=bound)
    except concurrent.futures.TimeoutError:
        black_hole.close()  # frees the stuck request (RST), so the thread ends
        pytest.fail(f"upload still running after {time.monotonic() - start:.0f} s")
    finally:
        ex.shutdown(wait=False)
