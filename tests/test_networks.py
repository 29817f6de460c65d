"""Networks and configuration (issue 16): one resolver decides every request's endpoint,
credentials and transport, and nothing else configures one.

Each test runs the command in-process (``main``) against the session's server,
with the environment as a user's shell might hold it.  A "trap" is a loopback
listener that only the hostile setting names: it must see no connection.
Where botocore itself would choose an AWS host (FIPS, ignored endpoint
settings), the resolved values are compared; nothing is sent.
"""

from __future__ import annotations

import socket
import threading

import pytest

from support import servers
from baiji import config
from baiji.connection import S3Connection
from support.helpers import head, one_line, put
from test_cli import run
from test_config import signed_with


class Trap:
    """A loopback listener that counts the connections it gets (and answers none)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def trap():
    found = Trap()
    yield found
    found.close()


def every_path(key: str, tmp_path, *global_args) -> None:
    """Upload, list, read, inspect, download and remove ``key`` through the command: every client
    (obstore, the lister, boto3) sends requests; each must succeed."""
    src = tmp_path / "src.txt"
    src.write_bytes(b"payload")
    pre = [str(a) for a in global_args]
    status, _, err = run(*pre, "cp", "-f", src, key)
    assert status == 0, err
    status, out, err = run(*pre, "ls", key)
    assert (status, out.decode().strip()) == (0, key), err
    assert run(*pre, "cat", key)[:2] == (0, b"payload")
    status, out, err = run(*pre, "info", key)
    assert status == 0 and b"size: 7" in out, err
    assert run(*pre, "cp", "-f", key, tmp_path / "back.txt")[0] == 0
    assert (tmp_path / "back.txt").read_bytes() == b"payload"
    assert run(*pre, "rm", key)[0] == 0


#: object_store's own variables, set to hostile values (botocore reads none of them).
HOSTILE = {
    "AWS_SKIP_SIGNATURE": "true", "AWS_ALLOW_HTTP": "false", "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "true",
    "AWS_UNSIGNED_PAYLOAD": "true", "AWS_S3_EXPRESS": "true", "AWS_CONDITIONAL_PUT": "disabled",
    "AWS_REQUEST_PAYER": "true", "AWS_DISABLE_TAGGING": "true", "AWS_BUCKET": "someone-elses",
    "AWS_REGION": "ap-southeast-2", "AWS_TOKEN": "stolen-token", "AWS_IMDSV1_FALLBACK": "true",
    "AWS_USER_AGENT": "hostile", "AWS_DEFAULT_CONTENT_TYPE": "hostile/type", "AWS_HTTP2_ONLY": "true",
    "AWS_ALLOW_INVALID_CERTIFICATES": "true", "AWS_RANDOMIZE_ADDRESSES": "true",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/creds", "AWS_SSE_BUCKET_KEY_ENABLED": "true",
    "AWS_COPY_IF_NOT_EXISTS": "multipart",
}
#: The ones that name a host: the trap's URL.
HOSTILE_HOSTS = ("AWS_ENDPOINT", "AWS_METADATA_ENDPOINT", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_PROXY_URL",
                 "AWS_STS_ENDPOINT")


def test_object_store_variables_change_nothing(monkeypatch, endpoint_url, s3dir, tmp_path, trap, proxied, client):
    for name, value in HOSTILE.items():
        monkeypatch.setenv(name, value)
    for name in HOSTILE_HOSTS:
        monkeypatch.setenv(name, trap.url)
    key = s3dir + "secret.txt"
    every_path(key, tmp_path, "--endpoint-url", proxied.endpoint_url)
    assert trap.connections == 0
    # every request signed with the session's key, none unsigned
    assert set(signed_with(proxied, lambda: run("--endpoint-url", proxied.endpoint_url, "cp", "-f",
                                                tmp_path / "back.txt", key))) == {servers.DEFAULT_ACCESS_KEY}
    put(client, s3dir + "typed", b"")  # the content type is ours, not the environment's
    assert run("--endpoint-url", endpoint_url, "cp", "-f", tmp_path / "back.txt", s3dir + "typed")[0] == 0
    assert head(client, s3dir + "typed")["ContentType"] != "hostile/type"


@pytest.mark.parametrize("name, value", [
    ("AWS_SERVER_SIDE_ENCRYPTION", "aws:kms"), ("AWS_CHECKSUM_ALGORITHM", "sha256"),
    ("AWS_SSE_CUSTOMER_KEY_BASE64", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
])
def test_variables_the_engine_cannot_undo_move_bytes_through_boto3(monkeypatch, name, value, endpoint_url, s3dir,
                                                                 tmp_path, client):
    """obstore has no "off" for these: while one is set, boto3 (which ignores it) moves the bytes."""
    monkeypatch.setenv(name, value)
    every_path(s3dir + "k.txt", tmp_path, "--endpoint-url", endpoint_url)
    assert run("--endpoint-url", endpoint_url, "cp", tmp_path / "back.txt", s3dir + "p")[0] == 0
    meta = head(client, s3dir + "p")
    assert meta.get("ServerSideEncryption") != "aws:kms" and "SSECustomerAlgorithm" not in meta


def write_config(tmp_path, monkeypatch, text: str) -> None:
    path = tmp_path / "aws-config"
    path.write_text(text)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))


def test_profile_endpoint_url_reaches_every_path(monkeypatch, endpoint_url, s3dir, tmp_path):
    write_config(tmp_path, monkeypatch, f"[default]\nendpoint_url = {endpoint_url}\n")
    every_path(s3dir + "k.txt", tmp_path)


def test_services_section_endpoint_reaches_every_path(monkeypatch, endpoint_url, s3dir, tmp_path, trap):
    write_config(tmp_path, monkeypatch, f"[profile p]\nendpoint_url = {trap.url}\nservices = local\n"
                                        f"[services local]\ns3 =\n  endpoint_url = {endpoint_url}\n")
    monkeypatch.setenv("AWS_PROFILE", "p")
    every_path(s3dir + "k.txt", tmp_path)
    assert trap.connections == 0


def test_endpoint_flag_beats_the_environment_on_every_path(monkeypatch, endpoint_url, s3dir, tmp_path, trap):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", trap.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", trap.url)
    every_path(s3dir + "k.txt", tmp_path, "--endpoint-url", endpoint_url)
    assert trap.connections == 0


def test_empty_service_endpoint_falls_back_to_the_global_one(monkeypatch, endpoint_url, s3dir, tmp_path):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint_url)
    every_path(s3dir + "k.txt", tmp_path)


@pytest.mark.parametrize("value", ["not a url", "ftp://127.0.0.1/", "http://", "http://127.0.0.1:99999",
                                   "http://127.0.0.1:9000/base"])
def test_malformed_endpoint_is_one_line(monkeypatch, value, s3dir):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", value)
    for args in (["ls", s3dir], ["cat", s3dir + "k"], ["info", s3dir + "k"]):
        status, _, err = run(*args)
        assert status == 1 and one_line(err) and "endpoint" in err and "Traceback" not in err, err


def test_ignore_configured_endpoint_urls(monkeypatch, tmp_path, trap):
    monkeypatch.setenv("AWS_ENDPOINT_URL", trap.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", trap.url)
    write_config(tmp_path, monkeypatch, f"[default]\nendpoint_url = {trap.url}\n")
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    target = config.resolve(region="eu-west-1")
    assert target.endpoint_url is None
    assert target.bucket_endpoint("my-bucket", "eu-west-1") == ("https://my-bucket.s3.eu-west-1.amazonaws.com", True)
    # an explicit endpoint still counts
    assert config.resolve(endpoint_url="http://127.0.0.1:1").endpoint_url == "http://127.0.0.1:1"


@pytest.mark.parametrize("variables, host", [
    ({"AWS_USE_FIPS_ENDPOINT": "true"}, "s3-fips.us-west-2.amazonaws.com"),
    ({"AWS_USE_DUALSTACK_ENDPOINT": "true"}, "s3.dualstack.us-west-2.amazonaws.com"),
    ({"AWS_USE_FIPS_ENDPOINT": "true", "AWS_USE_DUALSTACK_ENDPOINT": "true"},
     "s3-fips.dualstack.us-west-2.amazonaws.com"),
])
def test_fips_and_dualstack_endpoints(monkeypatch, variables, host):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # the session's server
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    target = config.resolve(region="us-west-2")
    assert target.bucket_endpoint("bkt", "us-west-2") == (f"https://bkt.{host}", True)
    assert target.bucket_endpoint("b.c", "us-west-2") == (f"https://{host}", False)


def test_profile_key_beats_the_legacy_variables(monkeypatch, tmp_path, s3dir, proxied, local_only):
    """AWS_PROFILE=prod with the original's AWS_ACCESS_KEY/AWS_SECRET: boto3 signs with prod's key,
    and so does every other path."""
    creds = tmp_path / "credentials"
    creds.write_text(f"[prod]\naws_access_key_id = {servers.DEFAULT_ACCESS_KEY}\n"
                     f"aws_secret_access_key = {servers.DEFAULT_SECRET_KEY}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_PROFILE", "prod")
    monkeypatch.setenv("AWS_ACCESS_KEY", "LEGACYKEYLEGACYKEY")
    monkeypatch.setenv("AWS_SECRET", "legacy-secret")
    conn = S3Connection(endpoint_url=proxied.endpoint_url)
    key = s3dir + "k"
    for action in (lambda: conn.put_string(key, "x"), lambda: list(conn.ls(s3dir)), lambda: conn.info(key),
                   lambda: conn.get_string(key)):
        assert set(signed_with(proxied, action)) == {servers.DEFAULT_ACCESS_KEY}


def test_missing_profile_fails_every_path_alike(monkeypatch, endpoint_url, s3dir):
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")  # environment credentials are set too
    for args in (["ls", s3dir], ["cat", s3dir + "k"], ["info", s3dir + "k"]):
        status, _, err = run("--endpoint-url", endpoint_url, *args)
        assert status == 1 and one_line(err) and "no-such-profile" in err, err


class LoopingLister:
    """A server whose every ListObjectsV2 page is truncated with the same continuation token
    (answers at most ``limit`` requests, then closes)."""

    PAGE = (b'<?xml version="1.0"?><ListBucketResult><Name>b</Name><Prefix></Prefix><KeyCount>1</KeyCount>'
            b'<IsTruncated>true</IsTruncated><NextContinuationToken>same</NextContinuationToken>'
            b'<Contents><Key>k</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>"x"</ETag>'
            b'<Size>1</Size></Contents></ListBucketResult>')

    def __init__(self, limit: int = 50):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(10)
        self.requests, self.limit = 0, limit
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn, conn.makefile("rb") as rfile:
            while self.requests < self.limit:
                line = rfile.readline()
                if not line:
                    return
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                self.requests += 1
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: "
                             + str(len(self.PAGE)).encode() + b"\r\n\r\n" + self.PAGE)

    def close(self):
        self.sock.close()
        self._thread.join(2)


def test_repeated_continuation_token_ends_the_listing():
    server = LoopingLister()
    try:
        status, out, err = run("--endpoint-url", server.url, "ls", "s3://bkt/")
    finally:
        server.close()
    assert status == 1 and one_line(err) and "continuation token" in err, err
    assert server.requests == 2


def test_no_sign_request_sends_unsigned_requests(monkeypatch, s3dir, proxied, tmp_path):
    """No credentials anywhere, and none needed: every path sends its requests unsigned (what the
    server answers to them is its business; the AWS-like front's tests read public objects)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    assert config.resolve(sign=False).credentials is None
    for args in (["ls", s3dir], ["cat", s3dir + "k"], ["info", s3dir + "k"]):
        start = len(proxied.seen)
        status, _, err = run("--endpoint-url", proxied.endpoint_url, "--no-sign-request", *args)
        assert "credentials" not in err and one_line(err or "x"), err
        sent = proxied.seen[start:]
        assert sent and all("authorization" not in info.headers for info in sent)
