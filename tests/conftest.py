"""Test fixtures: every test session runs against a real S3 server.

``BAIJI_TEST_SERVER`` picks it:

- ``moto`` (default): ``moto_server`` on a free 127.0.0.1 port.
- ``seaweedfs``: ``weed mini`` on free 127.0.0.1 ports; it checks signatures.
- ``aws``: real S3 with the credentials of the environment; needs
  ``BAIJI_TEST_BUCKET`` (an existing bucket: tests write under a unique
  prefix in it and remove what they wrote), and optionally
  ``BAIJI_TEST_VERSIONED_BUCKET`` for the tests that need versioning.

For the local servers, fake credentials (``testing`` / ``testing-secret``,
region ``us-east-1``) are put in the environment when this file is imported,
before any baiji connection exists, and every other ``AWS_*`` variable and
``~/.aws`` file is hidden.  The session-wide server is started before the
first test (one per xdist worker) and ``AWS_ENDPOINT_URL`` points at it, so
the module-level ``baiji.s3`` functions, the ``s3`` command run in a
subprocess and plain boto3 all talk to it.

Fixtures (documented one by one below): ``server_kind``, ``s3_server``,
``endpoint_url``, ``client``, ``conn``, ``bucket``, ``versioned_bucket``,
``s3dir``, ``versions``, ``tmpdir_env``, ``fault_proxy``.  Markers:
``moto_only(reason)`` and ``servers(*kinds, reason=...)`` skip a test on
the other servers; the functions ``skip_unless_moto(server_kind, reason)``
and ``skip_unless_server(server_kind, *kinds, reason=...)`` (from
``support.servers``) do the same inside a test.  Shared helper functions (raw
boto3 reads and writes, local file trees) are in ``support/helpers.py``.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from support import servers  # noqa: E402  (tests/support/servers.py)
from support.servers import skip_unless_moto, skip_unless_server  # noqa: E402,F401  re-exported

# Fixtures shared by several test modules: the loopback stand-ins (aws_front, tls_front,
# forward_proxy, test_ca, untrusted_ca), support/fixtures.py (offline, proxied,
# local_only, wide_proxy, unreadable) and the virtual buckets (virtual_s3).
pytest_plugins = ["support.stand_ins", "support.fixtures", "support.virtual_bucket"]

SERVER_KIND = os.environ.get("BAIJI_TEST_SERVER", "moto").strip().lower() or "moto"
_VALID_KINDS = servers.KINDS + ("aws",)
RUN_ID = uuid.uuid4().hex[:8]


def _isolate_environment() -> None:
    """Fake credentials for a local server; hide the user's AWS configuration."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name in ("BAIJI_TMP_BUCKET",):
            del os.environ[name]
    nowhere = os.path.join(tempfile.gettempdir(), f"baiji-tests-no-aws-config-{os.getpid()}")
    os.environ.update({
        "AWS_ACCESS_KEY_ID": servers.DEFAULT_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": servers.DEFAULT_SECRET_KEY,
        "AWS_DEFAULT_REGION": servers.DEFAULT_REGION,
        # missing files: botocore reads them as empty, so ~/.aws cannot interfere
        "AWS_CONFIG_FILE": os.path.join(nowhere, "config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(nowhere, "credentials"),
        # never wait for an instance-metadata service that is not there
        "AWS_EC2_METADATA_DISABLED": "true",
        # records of resumable uploads (README "Resuming"): the tests', not the user's
        "XDG_CACHE_HOME": os.path.join(nowhere, "cache"),
    })
    # an HTTP(S)_PROXY of the environment must not capture loopback traffic
    no_proxy = os.environ.get("NO_PROXY", os.environ.get("no_proxy", ""))
    extra = ",".join(h for h in ("127.0.0.1", "localhost") if h not in no_proxy)
    if extra:
        os.environ["NO_PROXY"] = os.environ["no_proxy"] = ",".join(
            p for p in (no_proxy, extra) if p)


if SERVER_KIND in servers.KINDS:
    _isolate_environment()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "moto_only(reason): run only against moto (skipped on seaweedfs and aws)")
    config.addinivalue_line(
        "markers", "servers(*kinds, reason): run only against the listed servers "
                   "('moto', 'seaweedfs', 'aws')")
    if SERVER_KIND not in _VALID_KINDS:
        raise pytest.UsageError(
            f"BAIJI_TEST_SERVER={SERVER_KIND!r}: expected one of {', '.join(_VALID_KINDS)}")
    if SERVER_KIND == "aws" and not os.environ.get("BAIJI_TEST_BUCKET"):
        raise pytest.UsageError(
            "BAIJI_TEST_SERVER=aws needs BAIJI_TEST_BUCKET: an existing bucket the tests "
            "may write to (each test works under its own prefix and cleans up)")


def pytest_report_header(config):
    return f"baiji test server: {SERVER_KIND}"


def pytest_runtest_setup(item):
    for mark in item.iter_markers("moto_only"):
        reason = mark.kwargs.get("reason") or (mark.args[0] if mark.args else "moto only")
        skip_unless_moto(SERVER_KIND, reason)
    for mark in item.iter_markers("servers"):
        skip_unless_server(SERVER_KIND, *mark.args,
                           reason=mark.kwargs.get("reason", "not supported on this server"))


# Session ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def server_kind() -> str:
    """The S3 server of this session: ``'moto'``, ``'seaweedfs'`` or ``'aws'``."""
    return SERVER_KIND


@pytest.fixture(scope="session", autouse=True)
def s3_server(server_kind):
    """The running :class:`servers.S3Server` (None on aws); started once per session.

    Autouse, so that ``AWS_ENDPOINT_URL`` points at the server before any
    test can create baiji's default connection.  Stopped (and its data
    deleted) at the end of the session.
    """
    if server_kind == "aws":
        yield None
        return
    srv = servers.start_server(server_kind)
    saved = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = srv.endpoint_url
    from baiji import s3

    s3._default.clear()  # a second session in one process (mutmut) must not reuse the last endpoint
    try:
        yield srv
    finally:
        if saved is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = saved
        srv.stop()


@pytest.fixture(scope="session")
def endpoint_url(s3_server) -> str | None:
    """The server's endpoint URL (``http://127.0.0.1:PORT``); None on aws."""
    return s3_server.endpoint_url if s3_server is not None else None


@pytest.fixture(scope="session")
def client(endpoint_url):
    """A raw boto3 S3 client for the server, for setting up and checking tests.

    Path-style addressing, standard retries (3 attempts), credentials from
    the environment.  Independent of baiji: use it for assertions.
    """
    return servers.make_client(endpoint_url, region=os.environ.get("AWS_DEFAULT_REGION")
                               or servers.DEFAULT_REGION)


@pytest.fixture(scope="session")
def _bucket_pool(client, server_kind):
    if server_kind == "aws":
        yield None
        return
    pool = servers.BucketPool(client, prefix="baiji-test-", warm=server_kind == "seaweedfs")
    try:
        yield pool
    finally:
        pool.close()


def _fresh_bucket(pool, client, versioned: bool = False):
    name = pool.take()
    try:
        if versioned:
            client.put_bucket_versioning(Bucket=name,
                                         VersioningConfiguration={"Status": "Enabled"})
        yield name
    finally:
        try:
            servers.delete_bucket(client, name)
        except Exception:  # best effort: the server is thrown away at the end anyway
            pass


# Per test -----------------------------------------------------------------------


@pytest.fixture
def conn(endpoint_url):
    """A new ``baiji.connection.S3Connection(endpoint_url=endpoint_url)``."""
    from baiji.connection import S3Connection

    return S3Connection(endpoint_url=endpoint_url)


@pytest.fixture
def bucket(_bucket_pool, client, server_kind):
    """The name of a fresh, empty bucket (``baiji-test-<8 hex>``) for this test.

    Deleted afterwards with everything in it, all versions included (best
    effort).  On aws: ``$BAIJI_TEST_BUCKET``, shared and not emptied; use
    ``s3dir`` there for a private prefix.
    """
    if server_kind == "aws":
        yield os.environ["BAIJI_TEST_BUCKET"]
        return
    yield from _fresh_bucket(_bucket_pool, client)


@pytest.fixture
def versioned_bucket(_bucket_pool, client, server_kind):
    """The name of a fresh bucket with versioning enabled, deleted afterwards.

    On aws: ``$BAIJI_TEST_VERSIONED_BUCKET``, or the test is skipped.
    """
    if server_kind == "aws":
        name = os.environ.get("BAIJI_TEST_VERSIONED_BUCKET")
        if not name:
            pytest.skip("set BAIJI_TEST_VERSIONED_BUCKET to run versioning tests on aws")
        yield name
        return
    yield from _fresh_bucket(_bucket_pool, client, versioned=True)


def _slug(request) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-.")
    return f"{name[:60]}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def s3dir(request, bucket, client, server_kind) -> str:
    """An ``s3://BUCKET/PREFIX/`` URL (ending in ``/``) unique to this test.

    On moto/seaweedfs it lies in the test's fresh ``bucket``; on aws it is
    ``s3://$BAIJI_TEST_BUCKET/baiji-tests/<run>/<test>-<hex>/`` and
    everything under it is deleted after the test.
    """
    if server_kind == "aws":
        prefix = f"baiji-tests/{RUN_ID}/{_slug(request)}/"
        yield f"s3://{bucket}/{prefix}"
        try:
            servers.empty_bucket(client, bucket, prefix=prefix)
        except Exception:
            pass
        return
    yield f"s3://{bucket}/{_slug(request)}/"


@pytest.fixture
def versions(versioned_bucket, client):
    """``(url, v1, v2)``: a key in ``versioned_bucket`` with two versions.

    ``v1`` holds ``b"first"`` (ContentType ``text/plain``), ``v2`` (the latest) ``b"second"``.
    """
    key = f"v-{uuid.uuid4().hex[:8]}"
    v1 = client.put_object(Bucket=versioned_bucket, Key=key, Body=b"first",
                           ContentType="text/plain")["VersionId"]
    v2 = client.put_object(Bucket=versioned_bucket, Key=key, Body=b"second")["VersionId"]
    return f"s3://{versioned_bucket}/{key}", v1, v2


@pytest.fixture
def tmpdir_env(tmp_path, monkeypatch):
    """``BAIJI_TMP`` pointed at an empty directory; returns its path."""
    tmp = tmp_path / "baiji-tmp"
    tmp.mkdir()
    monkeypatch.setenv("BAIJI_TMP", str(tmp))
    return tmp


class FaultProxyHandle:
    """What the ``fault_proxy`` fixture returns.

    ``endpoint_url``: the proxy's URL; ``proxy``: the
    :class:`faultproxy.FaultProxy`; ``upstream``: the real server's URL;
    ``conn``: a baiji ``S3Connection`` pointed at the proxy (created on
    first use); ``client(**config)``: a raw boto3 client through the proxy,
    retries off unless ``retries=`` is given.
    """

    def __init__(self, proxy, upstream: str):
        self.proxy = proxy
        self.upstream = upstream
        self.endpoint_url = proxy.endpoint_url
        self._conn = None

    @property
    def conn(self):
        if self._conn is None:
            from baiji.connection import S3Connection

            self._conn = S3Connection(endpoint_url=self.endpoint_url)
        return self._conn

    def client(self, **config_kwargs):
        config_kwargs.setdefault("retries", {"total_max_attempts": 1, "mode": "standard"})
        return servers.make_client(self.endpoint_url, **config_kwargs)

    def __repr__(self) -> str:
        return f"<FaultProxyHandle {self.proxy!r}>"


@pytest.fixture
def fault_proxy(endpoint_url, server_kind):
    """A running ``FaultProxy`` in front of the server, as a ``FaultProxyHandle``
    (``.endpoint_url``, ``.proxy``, ``.conn``, ``.client()``).  Skipped on aws."""
    if server_kind == "aws":
        pytest.skip("the fault proxy speaks plain HTTP to a local server only")
    from support.faultproxy import FaultProxy

    proxy = FaultProxy(endpoint_url)
    try:
        yield FaultProxyHandle(proxy, endpoint_url)
    finally:
        proxy.close()
