"""Tests of the test infrastructure: servers, fixtures and the fault proxy."""

from __future__ import annotations

import http.client
import io
import os
import re
import socket
import socketserver
import threading
import time

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from support import servers
from support.faultproxy import Fault, FaultProxy

SPECIAL_KEY = "dir/sp ace ?#;%+ é 名字.txt"


def _code(err: ClientError) -> str:
    return err.response["Error"]["Code"]


def _keys(client, bucket, prefix=""):
    resp = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for o in resp.get("Contents", [])]


# The session server and the environment ------------------------------------------------


def test_server_answers(client, server_kind, endpoint_url, s3_server):
    assert isinstance(client.list_buckets()["Buckets"], list)
    if server_kind == "aws":
        assert endpoint_url is None and s3_server is None
        return
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", endpoint_url)
    assert s3_server.kind == server_kind and s3_server.alive()
    assert os.environ["AWS_ENDPOINT_URL"] == endpoint_url


@pytest.mark.servers("moto", "seaweedfs", reason="fake credentials only for local servers")
def test_environment_is_isolated():
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == "testing-secret"
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_REGION"):
        assert name not in os.environ
    assert not os.path.exists(os.environ["AWS_CONFIG_FILE"])
    assert not os.path.exists(os.environ["AWS_SHARED_CREDENTIALS_FILE"])


@pytest.mark.servers("seaweedfs", reason="only SeaweedFS checks signatures")
def test_seaweedfs_checks_signatures(endpoint_url):
    bad = servers.make_client(endpoint_url, "testing", "wrong-secret",
                              retries={"total_max_attempts": 1})
    with pytest.raises(ClientError) as info:
        bad.list_buckets()
    assert _code(info.value) == "SignatureDoesNotMatch"


# Bucket fixtures ----------------------------------------------------------------------

_seen_buckets: set[str] = set()


@pytest.mark.parametrize("run", [1, 2])
def test_bucket_is_fresh_and_empty(bucket, client, server_kind, run):
    if server_kind != "aws":
        assert re.fullmatch(r"baiji-test-[0-9a-f]{8}", bucket)
        assert bucket not in _seen_buckets
        _seen_buckets.add(bucket)
        assert _keys(client, bucket) == []
        assert client.list_object_versions(Bucket=bucket).get("Versions", []) == []
    client.put_object(Bucket=bucket, Key=f"{bucket}-probe-{run}", Body=b"x")
    assert client.get_object(Bucket=bucket, Key=f"{bucket}-probe-{run}")["Body"].read() == b"x"
    client.delete_object(Bucket=bucket, Key=f"{bucket}-probe-{run}")


@pytest.mark.servers("moto", "seaweedfs", reason="creates and deletes buckets")
def test_bucket_is_deleted_after_the_test(request, client):
    names = []

    def check():
        for name in names:
            assert not servers.bucket_exists(client, name)

    # finalizers run in reverse order: check() runs after the bucket fixture's teardown
    request.addfinalizer(check)
    names.append(request.getfixturevalue("bucket"))
    client.put_object(Bucket=names[0], Key="a/b", Body=b"x")


def test_versioned_bucket(versioned_bucket, client):
    status = client.get_bucket_versioning(Bucket=versioned_bucket).get("Status")
    assert status == "Enabled"
    client.put_object(Bucket=versioned_bucket, Key="v", Body=b"1")
    client.put_object(Bucket=versioned_bucket, Key="v", Body=b"2")
    versions = client.list_object_versions(Bucket=versioned_bucket, Prefix="v")["Versions"]
    assert len(versions) == 2


def test_s3dir(s3dir, bucket, client):
    assert s3dir.startswith(f"s3://{bucket}/") and s3dir.endswith("/")
    prefix = s3dir[len(f"s3://{bucket}/"):]
    assert prefix and "//" not in prefix
    client.put_object(Bucket=bucket, Key=prefix + "x", Body=b"x")
    assert _keys(client, bucket, prefix) == [prefix + "x"]


@pytest.mark.servers("moto", "seaweedfs", reason="creates and deletes buckets")
def test_delete_bucket_removes_versions_and_uploads(client):
    pool = servers.BucketPool(client, prefix="baiji-del-")
    name = pool.take()
    pool.close()
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for i in range(3):
        client.put_object(Bucket=name, Key="k", Body=b"%d" % i)
    client.delete_object(Bucket=name, Key="k")
    client.create_multipart_upload(Bucket=name, Key="mp")
    servers.delete_bucket(client, name)
    assert not servers.bucket_exists(client, name)
    servers.delete_bucket(client, name)  # a missing bucket is fine


@pytest.mark.servers("moto", "seaweedfs", reason="creates buckets")
def test_bucket_pool_warm_hands_out_distinct_empty_buckets(client):
    pool = servers.BucketPool(client, prefix="baiji-pool-", warm=True, depth=2)
    try:
        names = [pool.take() for _ in range(3)]
        assert len(set(names)) == 3
        for name in names:
            assert _keys(client, name) == []
            servers.delete_bucket(client, name)
    finally:
        pool.close()
    leftovers = [b["Name"] for b in client.list_buckets()["Buckets"]
                 if b["Name"].startswith("baiji-pool-")]
    assert leftovers == []


def test_conn_fixture(request, endpoint_url):
    pytest.importorskip("baiji.connection")
    conn = request.getfixturevalue("conn")
    assert type(conn).__name__ == "S3Connection"


# Markers ------------------------------------------------------------------------------


@pytest.mark.moto_only(reason="checks the marker itself")
def test_moto_only_marker(server_kind):
    assert server_kind == "moto"


@pytest.mark.servers("seaweedfs", reason="checks the marker itself")
def test_servers_marker(server_kind):
    assert server_kind == "seaweedfs"


def test_skip_unless_moto(server_kind):
    if server_kind == "moto":
        servers.skip_unless_moto(server_kind, "never skipped on moto")
        return
    with pytest.raises(pytest.skip.Exception, match="SeaweedFS rewrites"):
        servers.skip_unless_moto(server_kind, "SeaweedFS rewrites // in keys")


# Starting and stopping servers --------------------------------------------------------


@pytest.mark.servers("moto", "seaweedfs", reason="starts a local server")
def test_start_and_stop_a_second_server(server_kind, endpoint_url):
    with servers.start_server(server_kind) as srv:
        assert srv.endpoint_url != endpoint_url
        c = srv.client()
        c.create_bucket(Bucket="second")
        c.put_object(Bucket="second", Key="k", Body=b"v")
        assert c.get_object(Bucket="second", Key="k")["Body"].read() == b"v"
        assert srv.env["AWS_ENDPOINT_URL"] == srv.endpoint_url
    assert srv.process.poll() is not None
    assert not os.path.exists(srv.workdir)
    srv.stop()  # idempotent
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", srv.port)) != 0


def test_unknown_server_kind():
    with pytest.raises(ValueError):
        servers.start_server("minio")


def test_free_ports_are_distinct_and_bindable():
    ports = servers.free_ports(10)
    assert len(set(ports)) == 10
    for port in ports:
        assert 20000 <= port < 32000
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


# The fault proxy through boto3 ---------------------------------------------------------


@pytest.fixture
def pclient(fault_proxy):
    """A boto3 client through the fault proxy, retries off."""
    return fault_proxy.client()


def test_proxy_forwards(fault_proxy, pclient, bucket, client):
    proxy = fault_proxy.proxy
    pclient.put_object(Bucket=bucket, Key=SPECIAL_KEY, Body=b"hello")
    assert pclient.get_object(Bucket=bucket, Key=SPECIAL_KEY)["Body"].read() == b"hello"
    assert pclient.head_object(Bucket=bucket, Key=SPECIAL_KEY)["ContentLength"] == 5
    assert _keys(pclient, bucket) == [SPECIAL_KEY]
    assert client.get_object(Bucket=bucket, Key=SPECIAL_KEY)["Body"].read() == b"hello"
    with pytest.raises(ClientError) as info:
        pclient.get_object(Bucket=bucket, Key="missing")
    assert _code(info.value) == "NoSuchKey"
    pclient.delete_object(Bucket=bucket, Key=SPECIAL_KEY)
    assert proxy.ops() == ["PutObject", "GetObject", "HeadObject", "ListObjectsV2", "GetObject",
                           "DeleteObject"]
    assert proxy.requests == 6 and proxy.faults == 0
    assert proxy.connections < proxy.requests  # keep-alive
    assert [r.status for r in proxy.history] == [200, 200, 200, 200, 404, 204]
    assert proxy.history[0].path.startswith(f"/{bucket}/")


def test_proxy_forwards_multipart_and_ranges(fault_proxy, pclient, bucket):
    from boto3.s3.transfer import TransferConfig

    data = os.urandom(11 * 1024 * 1024 + 17)
    cfg = TransferConfig(multipart_threshold=5 * 2**20, multipart_chunksize=5 * 2**20,
                         max_concurrency=3)
    pclient.upload_fileobj(io.BytesIO(data), bucket, "big", Config=cfg)
    out = io.BytesIO()
    pclient.download_fileobj(bucket, "big", out, Config=cfg)
    assert out.getvalue() == data
    part = pclient.get_object(Bucket=bucket, Key="big", Range="bytes=100-199")["Body"].read()
    assert part == data[100:200]
    ops = fault_proxy.proxy.ops()
    assert ops[:1] == ["CreateMultipartUpload"] and ops.count("UploadPart") == 3
    assert "CompleteMultipartUpload" in ops


def test_proxy_forwards_aws_chunked_uploads(fault_proxy, pclient, bucket, client):
    """boto3 sends aws-chunked bodies (Transfer-Encoding: chunked) only over
    TLS; force the trailer mode to check the proxy forwards them."""
    seen = []

    def force_trailer(context, **_):
        algorithm = context.get("checksum", {}).get("request_algorithm")
        if isinstance(algorithm, dict):
            algorithm["in"] = "trailer"

    pclient.meta.events.register("before-call.s3.PutObject", force_trailer)
    fault_proxy.proxy.handler = lambda info: seen.append(dict(info.headers)) or None
    data = os.urandom(300_000)
    pclient.put_object(Bucket=bucket, Key="chunked", Body=io.BytesIO(data))
    assert seen[0].get("transfer-encoding") == "chunked"
    assert "aws-chunked" in seen[0].get("content-encoding", "")
    assert client.get_object(Bucket=bucket, Key="chunked")["Body"].read() == data


@pytest.mark.parametrize("kind, status, code", [
    ("internal_error", 500, "InternalError"),
    (500, 500, "InternalError"),
    ("slow_down", 503, "SlowDown"),
    ("503", 503, "SlowDown"),
])
def test_proxy_error_responses(fault_proxy, pclient, bucket, kind, status, code):
    proxy = fault_proxy.proxy
    proxy.fail_next(1, kind)
    with pytest.raises(ClientError) as info:
        pclient.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert _code(info.value) == code
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert proxy.faults == 1 and proxy.pending() == 0
    assert proxy.history[-1].status == status
    # not forwarded, and the connection stays usable
    with pytest.raises(ClientError):
        pclient.head_object(Bucket=bucket, Key="k")
    pclient.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert proxy.faults == 1 and proxy.connections == 1


def test_proxy_custom_error_and_head(fault_proxy, pclient, bucket):
    proxy = fault_proxy.proxy
    pclient.put_object(Bucket=bucket, Key="k", Body=b"x")
    proxy.fail_next(1, "error", status=403, code="AccessDenied", message="nope")
    with pytest.raises(ClientError) as info:
        pclient.get_object(Bucket=bucket, Key="k")
    assert _code(info.value) == "AccessDenied"
    assert "nope" in str(info.value)
    proxy.fail_next(1, "slow_down", match="HeadObject")
    with pytest.raises(ClientError) as info:
        pclient.head_object(Bucket=bucket, Key="k")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert pclient.head_object(Bucket=bucket, Key="k")["ContentLength"] == 1


@pytest.mark.parametrize("kind, created", [
    ("reset_before", False),
    ("reset", False),
    ("reset_after", False),
    ("reset_after_forward", True),
])
def test_proxy_resets(fault_proxy, pclient, bucket, client, kind, created):
    proxy = fault_proxy.proxy
    proxy.fail_next(1, kind, match="PutObject")
    with pytest.raises(BotoCoreError):
        pclient.put_object(Bucket=bucket, Key="k", Body=b"x" * 100_000)
    assert _keys(client, bucket) == (["k"] if created else [])
    assert proxy.faults_by_kind[Fault.make(kind).kind] == 1
    pclient.put_object(Bucket=bucket, Key="k2", Body=b"y")  # a new connection works
    assert proxy.connections == 2


@pytest.mark.parametrize("nbytes", [0, 1000])
def test_proxy_truncates_response_body(fault_proxy, pclient, bucket, nbytes):
    data = os.urandom(200_000)
    pclient.put_object(Bucket=bucket, Key="k", Body=data)
    fault_proxy.proxy.fail_next(1, "truncate", nbytes=nbytes, match="GetObject")
    resp = pclient.get_object(Bucket=bucket, Key="k")
    assert resp["ContentLength"] == len(data)
    with pytest.raises(BotoCoreError):
        resp["Body"].read()
    assert pclient.get_object(Bucket=bucket, Key="k")["Body"].read() == data


def test_proxy_truncated_listing_fails(fault_proxy, pclient, bucket):
    pclient.put_object(Bucket=bucket, Key="k", Body=b"x")
    fault_proxy.proxy.fail_next(1, "cut", nbytes=20, match="ListObjectsV2")
    with pytest.raises((BotoCoreError, ClientError)):
        pclient.list_objects_v2(Bucket=bucket)


def test_proxy_delay(fault_proxy, bucket):
    proxy = fault_proxy.proxy
    pclient = fault_proxy.client(read_timeout=0.5)
    proxy.fail_next(1, "delay", seconds=0.3)
    start = time.monotonic()
    pclient.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert time.monotonic() - start >= 0.3
    proxy.fail_next(1, "delay", seconds=2)
    with pytest.raises(BotoCoreError):  # ReadTimeoutError
        pclient.get_object(Bucket=bucket, Key="k")


def test_proxy_fail_every_and_matchers(fault_proxy, pclient, bucket):
    proxy = fault_proxy.proxy
    proxy.fail_every(3, "slow_down", match=lambda r: r.method == "PUT")
    outcomes = []
    for i in range(9):
        try:
            pclient.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
            outcomes.append("ok")
        except ClientError as err:
            outcomes.append(_code(err))
    assert outcomes == ["ok", "ok", "SlowDown"] * 3
    pclient.list_objects_v2(Bucket=bucket)  # not a PUT: never counted
    assert proxy.faults == 3 and proxy.requests == 10
    proxy.clear()
    proxy.fail_every(2, 500, limit=1)
    results = []
    for _ in range(4):
        try:
            pclient.head_object(Bucket=bucket, Key="k0")
            results.append("ok")
        except ClientError:
            results.append("err")
    assert results == ["ok", "err", "ok", "ok"]
    proxy.clear()
    proxy.handler = lambda info: "slow_down" if info.key == "k1" else None
    with pytest.raises(ClientError):
        pclient.head_object(Bucket=bucket, Key="k1")
    pclient.head_object(Bucket=bucket, Key="k3")
    proxy.reset_counters()
    assert (proxy.requests, proxy.faults, list(proxy.history)) == (0, 0, [])


def test_proxy_with_botocore_retries(fault_proxy, bucket):
    proxy = fault_proxy.proxy
    retrying = fault_proxy.client(retries={"total_max_attempts": 4, "mode": "standard"})
    proxy.fail_next(1, "slow_down")
    proxy.fail_next(1, "reset_before")
    proxy.fail_next(1, "internal_error")
    retrying.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert proxy.requests == 4 and proxy.faults == 3
    assert [r.fault for r in proxy.history] == ["slow_down", "reset_before", "internal_error",
                                                None]


def test_proxy_request_info(fault_proxy, pclient, bucket):
    infos = []
    fault_proxy.proxy.handler = lambda info: infos.append(info) or None
    pclient.put_object(Bucket=bucket, Key="a b/c+d", Body=b"x")
    pclient.list_objects_v2(Bucket=bucket, Prefix="a b/")
    pclient.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "a b/c+d"})
    up = pclient.create_multipart_upload(Bucket=bucket, Key="mp")
    pclient.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"])
    pclient.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "copy"}]})
    ops = [i.op for i in infos]
    assert ops == ["PutObject", "ListObjectsV2", "CopyObject", "CreateMultipartUpload",
                   "AbortMultipartUpload", "DeleteObjects"]
    assert (infos[0].bucket, infos[0].key, infos[0].method) == (bucket, "a b/c+d", "PUT")
    assert infos[1].params["prefix"] == "a b/" and infos[1].params["list-type"] == "2"
    assert [i.n for i in infos] == list(range(1, 7))


def test_proxy_validates_arguments(endpoint_url):
    with pytest.raises(ValueError):
        FaultProxy("https://example.com")
    with FaultProxy(endpoint_url) as proxy:
        with pytest.raises(ValueError):
            proxy.fail_next(1, "explode")
        with pytest.raises(ValueError):
            proxy.fail_every(0)


# The fault proxy's HTTP handling, against a tiny local upstream ------------------------


class _EchoHandler(socketserver.StreamRequestHandler):
    """Reads one request (Content-Length or chunked) and answers the raw
    body back, chunked when the request was chunked, else unframed to EOF
    for ``/eof`` and with Content-Length otherwise."""

    def handle(self):
        while True:
            line = self.rfile.readline()
            if not line:
                return
            method, target, _ = line.decode().split(" ", 2)
            headers = {}
            while (h := self.rfile.readline()) not in (b"\r\n", b""):
                k, _, v = h.decode().partition(":")
                headers[k.strip().lower()] = v.strip()
            body = b""
            if headers.get("transfer-encoding") == "chunked":
                while (size := int(self.rfile.readline().split(b";")[0], 16)):
                    body += self.rfile.read(size)
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b""):
                    pass
            elif "content-length" in headers:
                body = self.rfile.read(int(headers["content-length"]))
            host = headers.get("host", "").encode()
            payload = b"host=" + host + b";" + body
            if target == "/eof":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + payload)
                return
            if headers.get("transfer-encoding") == "chunked":
                out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                for i in range(0, len(payload), 7):
                    piece = payload[i:i + 7]
                    out += b"%x\r\n%s\r\n" % (len(piece), piece)
                self.wfile.write(out + b"0\r\nX-Trailer: 1\r\n\r\n")
            else:
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                                 % (len(payload), payload))
            if method == "HEAD":
                return


@pytest.fixture
def echo_proxy():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _EchoHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    proxy = FaultProxy(f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield proxy
    finally:
        proxy.close()
        server.shutdown()
        server.server_close()


def _http(proxy):
    return http.client.HTTPConnection(proxy.host, proxy.port, timeout=10)


def test_proxy_chunked_both_ways_and_host_header(echo_proxy):
    conn = _http(echo_proxy)
    conn.request("PUT", "/x", body=iter([b"hello ", b"chunked ", b"world"]),
                 encode_chunked=True, headers={"Transfer-Encoding": "chunked"})
    resp = conn.getresponse()
    assert resp.getheader("transfer-encoding") == "chunked"
    host = f"{echo_proxy.host}:{echo_proxy.port}".encode()
    assert resp.read() == b"host=" + host + b";hello chunked world"
    # same connection, Content-Length body
    conn.request("PUT", "/y", body=b"plain")
    assert conn.getresponse().read() == b"host=" + host + b";plain"
    assert echo_proxy.connections == 1 and echo_proxy.requests == 2
    conn.close()


def test_proxy_response_until_eof(echo_proxy):
    conn = _http(echo_proxy)
    conn.request("POST", "/eof", body=b"abc")
    assert conn.getresponse().read().endswith(b";abc")
    conn.close()


def test_proxy_expect_100_continue(echo_proxy):
    with socket.create_connection((echo_proxy.host, echo_proxy.port), timeout=5) as s:
        s.sendall(b"PUT /z HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(b"body")
        data = b""
        while not data.endswith(b"host=h;body"):
            chunk = s.recv(1000)
            assert chunk
            data += chunk
        assert data.startswith(b"HTTP/1.1 200 OK")


def test_proxy_reset_is_a_tcp_reset(echo_proxy):
    echo_proxy.fail_next(1, "reset_before")
    with socket.create_connection((echo_proxy.host, echo_proxy.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            while s.recv(100):
                pass


def test_proxy_bounded_connections_and_close(endpoint_url):
    proxy = FaultProxy(endpoint_url, max_connections=1)
    first = socket.create_connection((proxy.host, proxy.port), timeout=5)
    second = socket.create_connection((proxy.host, proxy.port), timeout=1)
    second.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    with pytest.raises(socket.timeout):  # waits in the backlog while `first` holds the slot
        second.recv(100)
    first.close()
    second.settimeout(5)
    assert second.recv(100).startswith(b"HTTP/1.1 ")
    second.close()
    idle = socket.create_connection((proxy.host, proxy.port), timeout=5)
    deadline = time.monotonic() + 5
    while proxy.connections < 3 and time.monotonic() < deadline:  # accepted, being served
        time.sleep(0.01)
    assert proxy.connections == 3
    start = time.monotonic()
    proxy.close()
    assert time.monotonic() - start < 3
    assert idle.recv(100) == b""  # closed by the proxy
    idle.close()
    with socket.socket() as s:
        assert s.connect_ex((proxy.host, proxy.port)) != 0
    proxy.close()  # idempotent


def test_proxy_concurrent_clients(fault_proxy, bucket):
    """Many threads through one proxy with faults sprinkled in; boto3's
    retries absorb them and every object arrives intact."""
    from concurrent.futures import ThreadPoolExecutor

    proxy = fault_proxy.proxy
    retrying = fault_proxy.client(retries={"total_max_attempts": 5, "mode": "standard"},
                                  max_pool_connections=16)
    proxy.fail_every(7, "slow_down", limit=10)
    proxy.fail_every(11, "reset_before", limit=5)
    proxy.fail_every(13, "truncate", nbytes=10, match="GetObject", limit=5)

    def work(i):
        body = os.urandom(1000 + i)
        retrying.put_object(Bucket=bucket, Key=f"c/{i}", Body=body)
        for _attempt in range(3):  # botocore does not retry a body cut mid-read
            try:
                got = retrying.get_object(Bucket=bucket, Key=f"c/{i}")["Body"].read()
                break
            except BotoCoreError:
                continue
        assert got == body

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(work, range(64)))
    assert proxy.faults > 0
    assert proxy.requests >= 128 + proxy.faults_by_kind["slow_down"]
    assert proxy.connections <= 32
