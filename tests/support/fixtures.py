"""Fixtures shared by several test modules (a pytest plugin: conftest.py lists it in
``pytest_plugins``, with ``support.stand_ins``), so that no test module imports a
fixture from another one.

``offline`` (S3 unreachable), ``proxied`` (the ``fault_proxy`` recording every
request), ``local_only`` (skip on aws), ``wide_proxy`` (a fault proxy taking
1024 connections) and ``unreadable`` (chmod a path for one test).
"""

from __future__ import annotations

import os
import stat

import pytest

from baiji.connection import S3Connection


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No credentials, no usable endpoint, no metadata service: S3 unreachable."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                 "AWS_ACCESS_KEY", "AWS_SECRET", "AWS_CREDENTIAL_FILE", "AWS_PROFILE", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "")
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "")


@pytest.fixture
def proxied(fault_proxy):
    """The ``fault_proxy`` (see conftest) in front of the server, recording the headers
    of every request that passes through it in ``proxied.seen`` (:class:`faultproxy.RequestInfo` s).

    Build the connection under test with ``endpoint_url=proxied.endpoint_url``:
    the proxy then sees every request it sends, whichever client sends it
    (boto3 for the control plane, obstore for objects, baiji's own lister).
    """
    seen = []

    def record(info):
        seen.append(info)
        return None  # no fault: forward as is

    fault_proxy.proxy.handler = record
    fault_proxy.seen = seen
    return fault_proxy


@pytest.fixture
def local_only(server_kind):
    if server_kind == "aws":
        pytest.skip("needs the fake credentials of a local test server")


class WideProxy:
    """Like the ``fault_proxy`` fixture's handle, for a proxy taking more connections.

    ``fault_proxy`` caps the proxy at 64 client connections; ``parallel=True``
    runs 4 worker processes x 16 threads (64 connections) while the parent
    still holds its own idle keep-alive connections, so the 65th connection
    would wait in the listen backlog until an idle one times out (60 s).
    """

    def __init__(self, upstream: str):
        from support.faultproxy import FaultProxy

        self.proxy = FaultProxy(upstream, max_connections=1024)
        self.endpoint_url = self.proxy.endpoint_url
        self.conn = S3Connection(endpoint_url=self.endpoint_url)


@pytest.fixture
def wide_proxy(endpoint_url, server_kind):
    if server_kind == "aws":
        pytest.skip("the fault proxy speaks plain HTTP to a local server only")
    handle = WideProxy(endpoint_url)
    try:
        yield handle
    finally:
        handle.proxy.close()


@pytest.fixture
def unreadable():
    """``unreadable(path, mode=0)``: chmod ``path`` for the test, its mode restored afterwards."""
    changed = []

    def make(path, mode=0):
        changed.append((path, stat.S_IMODE(os.stat(path).st_mode)))
        os.chmod(path, mode)

    yield make
    for path, mode in reversed(changed):
        os.chmod(path, mode)
