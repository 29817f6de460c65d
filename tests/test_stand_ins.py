"""The loopback stand-ins of ``support/stand_ins.py`` behave as specified, with boto3,
botocore and the AWS CLI as the oracles (they are what real AWS clients do)."""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET

import boto3
import botocore
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ProxyConnectionError, SSLError

from support import servers
from support.stand_ins import AwsFront, Refused

EU = "eu-west-1"
_session = boto3.session.Session()
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def s3(endpoint: str, region: str = "us-east-1", verify=None, session=None, **config):
    """A boto3 client, path-style, one attempt (a region redirect is no retry)."""
    config.setdefault("retries", {"total_max_attempts": 1, "mode": "standard"})
    s3_config = {"addressing_style": "path", **config.pop("s3", {})}
    return (session or _session).client("s3", endpoint_url=endpoint, region_name=region,
                                        verify=verify, config=Config(s3=s3_config, **config))


def sign(method: str, url: str, region: str, body: bytes = b"", headers=None,
         presign: bool = False) -> tuple[str, dict]:
    """``(url, headers)`` of a request signed with the test credentials for ``region``."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    creds = Credentials(servers.DEFAULT_ACCESS_KEY, servers.DEFAULT_SECRET_KEY)
    if presign:
        S3SigV4QueryAuth(creds, "s3", region, expires=300).add_auth(request)
    else:
        S3SigV4Auth(creds, "s3", region).add_auth(request)
    return request.url, dict(request.headers)


def raw(conn: http.client.HTTPConnection, method: str, front, path: str, region: str,
        body: bytes = b"", headers=None):
    """Send a signed request on ``conn``; return ``(status, headers, body)``."""
    url, signed = sign(method, f"{front.endpoint_url}{path}", region, body, headers)
    conn.request(method, url[len(front.endpoint_url):], body=body or None, headers=signed)
    resp = conn.getresponse()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()


def error_of(body: bytes) -> dict:
    return {child.tag: child.text for child in ET.fromstring(body)}


@pytest.fixture
def eu(aws_front, bucket, client):
    """``(front, bucket)``: a front where ``bucket`` lives in eu-west-1, holding ``k`` = b"hello"."""
    client.put_object(Bucket=bucket, Key="k", Body=b"hello")
    return aws_front(regions={bucket: EU}), bucket


# AWS-like front -----------------------------------------------------------------


def test_boto3_follows_the_region_redirect(eu):
    front, bucket = eu
    c = s3(front.endpoint_url, "us-east-1")
    c.put_object(Bucket=bucket, Key="new", Body=b"data")
    first, second = front.records()[:2]
    assert (first.method, first.region, first.signed, first.outcome, first.status) == \
        ("PUT", "us-east-1", True, "wrong-region", 400)
    assert (second.method, second.region, second.outcome, second.status) == \
        ("PUT", EU, "forwarded", 200)
    assert c.get_object(Bucket=bucket, Key="new")["Body"].read() == b"data"
    assert c.head_object(Bucket=bucket, Key="k")["ContentLength"] == 5
    assert sorted(o["Key"] for o in c.list_objects_v2(Bucket=bucket)["Contents"]) == ["k", "new"]
    head = c.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]
    assert head["x-amz-bucket-region"] == EU  # moto's own "us-east-1" is replaced
    c.delete_object(Bucket=bucket, Key="new")
    assert front.refused == {"wrong-region": 1}  # botocore remembers the region
    assert {r.region for r in front.records()[1:]} == {EU}


@pytest.mark.parametrize("operation", ["head_object", "head_bucket"])
def test_boto3_redirected_by_a_head(eu, operation):
    """A HEAD first: S3 answers 400 (HeadObject) or 301 (HeadBucket) with the header only."""
    front, bucket = eu
    c = s3(front.endpoint_url, "us-east-1")
    kwargs = {"Key": "k"} if operation == "head_object" else {}
    getattr(c, operation)(Bucket=bucket, **kwargs)
    first = front.records()[0]
    assert (first.method, first.status) == ("HEAD", 400 if operation == "head_object" else 301)
    assert front.refused == ({"wrong-region": 1} if operation == "head_object" else {"redirect": 1})


def test_large_upload_with_expect_100_continue_is_redirected(eu, client):
    """botocore sends ``Expect: 100-continue`` from 1 MiB on: refused without the body."""
    front, bucket = eu
    data = os.urandom(2 << 20)
    s3(front.endpoint_url, "us-east-1").put_object(Bucket=bucket, Key="big", Body=data)
    assert client.get_object(Bucket=bucket, Key="big")["Body"].read() == data
    assert [r.status for r in front.records()] == [400, 200]
    assert front.connections == 2  # closed after the refusal: its body was never sent


def test_wrong_region_answer_is_s3s(eu):
    front, bucket = eu
    conn = http.client.HTTPConnection(front.host, front.port, timeout=30)
    status, headers, body = raw(conn, "GET", front, f"/{bucket}/k", "us-east-1")
    assert status == 400 and headers["x-amz-bucket-region"] == EU
    assert headers["content-type"] == "application/xml"
    err = error_of(body)
    assert err["Code"] == "AuthorizationHeaderMalformed" and err["Region"] == EU
    assert err["Message"] == ("The authorization header is malformed; the region 'us-east-1' "
                              "is wrong; expecting 'eu-west-1'")
    assert err["RequestId"]
    # HEAD: the status and the header, no body
    status, headers, body = raw(conn, "HEAD", front, f"/{bucket}/k", "us-east-1")
    assert (status, body, headers["x-amz-bucket-region"]) == (400, b"", EU)
    status, headers, body = raw(conn, "HEAD", front, f"/{bucket}", "us-east-1")
    assert (status, body, headers["x-amz-bucket-region"]) == (301, b"", EU)
    # a refused body is read and dropped: the same connection serves the next request
    status, _, _ = raw(conn, "PUT", front, f"/{bucket}/x", "us-east-1", body=b"z" * 100000)
    assert status == 400
    status, headers, body = raw(conn, "GET", front, f"/{bucket}/k", EU)
    assert (status, body) == (200, b"hello")
    status, headers, _ = raw(conn, "HEAD", front, f"/{bucket}", EU)
    assert (status, headers["x-amz-bucket-region"]) == (200, EU)
    conn.close()
    assert front.connections == 1
    assert [r.region for r in front.records()] == ["us-east-1"] * 4 + [EU] * 2


def test_wrong_region_with_expect_is_answered_without_the_body(eu):
    front, bucket = eu
    url, headers = sign("PUT", f"{front.endpoint_url}/{bucket}/e", "us-east-1", b"0123456789",
                        {"Expect": "100-continue"})
    head = f"PUT /{bucket}/e HTTP/1.1\r\nHost: 127.0.0.1:{front.port}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()) + "Content-Length: 10\r\n\r\n"
    with socket.create_connection((front.host, front.port), timeout=30) as sock:
        sock.sendall(head.encode())
        answer = b""
        while chunk := sock.recv(65536):  # the front closes the connection after its answer
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 ") and b"100 Continue" not in answer
    assert b"Connection: close" in answer and b"AuthorizationHeaderMalformed" in answer


def test_presigned_urls(eu):
    front, bucket = eu
    wrong, _ = sign("GET", f"{front.endpoint_url}/{bucket}/k", "us-east-1", presign=True)
    with pytest.raises(urllib.error.HTTPError) as info:
        _NO_PROXY.open(wrong, timeout=30)
    assert info.value.code == 400 and info.value.headers["x-amz-bucket-region"] == EU
    err = error_of(info.value.read())
    assert err["Code"] == "AuthorizationQueryParametersError" and err["Region"] == EU
    assert "the region 'us-east-1' is wrong; expecting 'eu-west-1'" in err["Message"]
    right = s3(front.endpoint_url, EU).generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"})
    with _NO_PROXY.open(right, timeout=30) as resp:  # SeaweedFS checks this signature
        assert resp.read() == b"hello"
    assert [r.signed for r in front.records()] == [True, True]


def test_get_bucket_location_and_list_buckets_from_any_region(eu):
    front, bucket = eu
    c = s3(front.endpoint_url, "us-east-1")
    assert c.get_bucket_location(Bucket=bucket)["LocationConstraint"] == EU
    front.regions[bucket] = "us-east-1"
    assert c.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None
    names = [b["Name"] for b in s3(front.endpoint_url, "ap-south-2").list_buckets()["Buckets"]]
    assert bucket in names
    assert not front.refused


def test_unsigned_requests(aws_front, bucket, client):
    client.put_object(Bucket=bucket, Key="pub", Body=b"public")
    client.put_object(Bucket=bucket, Key="priv", Body=b"private")
    front = aws_front(regions={bucket: EU}, public={(bucket, "pub")})
    anon = s3(front.endpoint_url, "us-east-1", signature_version=botocore.UNSIGNED)
    # signed by the front for the server (SeaweedFS would refuse it unsigned)
    assert anon.get_object(Bucket=bucket, Key="pub")["Body"].read() == b"public"
    assert anon.head_object(Bucket=bucket, Key="pub")["ContentLength"] == 6
    for call in (lambda: anon.get_object(Bucket=bucket, Key="priv"),
                 lambda: anon.put_object(Bucket=bucket, Key="pub", Body=b"overwrite"),
                 lambda: anon.list_objects_v2(Bucket=bucket),
                 lambda: anon.list_buckets()):
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == "AccessDenied"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as info:
        anon.head_object(Bucket=bucket, Key="priv")
    assert info.value.response["Error"]["Code"] == "403"
    assert front.refused == {"unsigned": 5}
    assert [r.outcome for r in front.records()[:2]] == ["signed-for-upstream"] * 2
    assert not any(r.signed for r in front.records())
    assert client.get_object(Bucket=bucket, Key="pub")["Body"].read() == b"public"


def test_front_only_reaches_loopback():
    with pytest.raises(Refused):
        AwsFront("http://192.0.2.1:80")
    with pytest.raises(ValueError):
        AwsFront("https://127.0.0.1:443")


def test_close_ends_everything(eu):
    front, bucket = eu
    conn = http.client.HTTPConnection(front.host, front.port, timeout=30)
    assert raw(conn, "GET", front, f"/{bucket}/k", EU)[0] == 200  # a kept-alive connection
    front.close()
    assert not front._threads and not front._sockets
    with pytest.raises(OSError):
        raw(conn, "GET", front, f"/{bucket}/k", EU)  # the kept-alive connection was shut
    with pytest.raises(OSError):
        socket.create_connection((front.host, front.port), timeout=5).close()
    front.close()  # idempotent


# TLS ------------------------------------------------------------------------------


def test_tls_front(tls_front, bucket, client, test_ca, untrusted_ca, monkeypatch):
    client.put_object(Bucket=bucket, Key="k", Body=b"hello")
    front = tls_front(regions={bucket: EU})
    assert front.endpoint_url.startswith("https://127.0.0.1:")
    c = s3(front.endpoint_url, "us-east-1", verify=test_ca.ca_pem)
    c.put_object(Bucket=bucket, Key="t", Body=b"over tls")
    assert c.get_object(Bucket=bucket, Key="t")["Body"].read() == b"over tls"
    assert front.refused == {"wrong-region": 1}
    localhost = front.endpoint_url.replace("127.0.0.1", "localhost")  # both names certified
    assert s3(localhost, EU, verify=test_ca.ca_pem).head_object(Bucket=bucket, Key="k")
    with pytest.raises(SSLError):
        s3(front.endpoint_url, EU, verify=untrusted_ca.ca_pem).head_object(Bucket=bucket, Key="k")
    with pytest.raises(SSLError):  # nor does the system's trust store know it
        s3(front.endpoint_url, EU).head_object(Bucket=bucket, Key="k")
    monkeypatch.setenv("AWS_CA_BUNDLE", test_ca.ca_pem)
    c = s3(front.endpoint_url, EU, session=boto3.session.Session())
    assert c.get_object(Bucket=bucket, Key="k")["Body"].read() == b"hello"
    url = c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    def opener(ca):  # never an environment's proxy
        return urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                           urllib.request.HTTPSHandler(context=ca.client_context()))

    with opener(test_ca).open(url, timeout=30) as resp:
        assert resp.read() == b"hello"
    with pytest.raises(urllib.error.URLError) as info:
        opener(untrusted_ca).open(url, timeout=30)
    assert isinstance(info.value.reason, ssl.SSLCertVerificationError)


# Forward proxy ------------------------------------------------------------------


def test_proxy_http(forward_proxy, aws_front, bucket):
    front = aws_front(regions={bucket: EU})
    proxy = forward_proxy()
    c = s3(front.endpoint_url, "us-east-1", proxies={"http": proxy.url, "https": proxy.url})
    data = os.urandom(300000)
    c.put_object(Bucket=bucket, Key="p", Body=data)  # a 400 first: redirected through the proxy
    assert c.get_object(Bucket=bucket, Key="p")["Body"].read() == data
    assert proxy.requests == front.requests == 3 and proxy.connects == 0
    assert proxy.targets == [f"127.0.0.1:{front.port}"] * 3
    assert proxy.bytes_up > len(data) and proxy.bytes_down > len(data)
    assert front.refused == {"wrong-region": 1} and not proxy.refused
    assert proxy.connections == 1  # kept alive, though moto closes after every response


def test_proxy_connect_with_auth(forward_proxy, tls_front, bucket, client, test_ca):
    client.put_object(Bucket=bucket, Key="k", Body=b"hello")
    front = tls_front(regions={bucket: EU})
    proxy = forward_proxy(require_auth=("user", "p@ss word"))
    assert proxy.url == f"http://user:p%40ss%20word@127.0.0.1:{proxy.port}"
    c = s3(front.endpoint_url, "us-east-1", verify=test_ca.ca_pem,
           proxies={"https": proxy.url})
    assert c.get_object(Bucket=bucket, Key="k")["Body"].read() == b"hello"
    assert proxy.connects >= 1 and proxy.requests == 0
    assert set(proxy.targets) == {f"127.0.0.1:{front.port}"}
    assert proxy.bytes_up > 0 and proxy.bytes_down > 5
    assert front.requests == 2  # the 400, then the GET signed for eu-west-1
    no_auth = s3(front.endpoint_url, EU, verify=test_ca.ca_pem,
                 proxies={"https": f"http://127.0.0.1:{proxy.port}"})
    with pytest.raises(ProxyConnectionError):
        no_auth.get_object(Bucket=bucket, Key="k")
    assert proxy.refused["auth"] >= 1 and front.requests == 2


def test_proxy_refuses_other_hosts_and_bad_credentials(forward_proxy):
    """Nothing but 127.0.0.1/localhost is reached; nothing is looked up."""
    proxy = forward_proxy(require_auth=("u", "p"))
    good = "Proxy-Authorization: Basic dTpw\r\n"  # u:p
    asks = [
        (f"GET http://192.0.2.1/x HTTP/1.1\r\nHost: 192.0.2.1\r\n{good}\r\n", 403),
        (f"CONNECT 192.0.2.1:443 HTTP/1.1\r\nHost: 192.0.2.1:443\r\n{good}\r\n", 403),
        (f"CONNECT example.invalid:443 HTTP/1.1\r\n{good}\r\n", 403),
        ("GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\n"
         "Proxy-Authorization: Basic dTpx\r\n\r\n", 407),
        (f"GET /relative HTTP/1.1\r\nHost: 127.0.0.1\r\n{good}\r\n", 400),
        (f"GET http://127.0.0.1:{servers.free_port()}/ HTTP/1.1\r\n{good}\r\n", 502),
    ]
    for request, status in asks:
        with socket.create_connection((proxy.host, proxy.port), timeout=30) as sock:
            sock.sendall(request.encode())
            assert sock.recv(65536).startswith(f"HTTP/1.1 {status} ".encode()), request
    assert proxy.refused == {"non-loopback": 3, "auth": 1, "bad-request": 1, "unreachable": 1}
    assert proxy.targets[:3] == ["192.0.2.1:80", "192.0.2.1:443", "example.invalid:443"]
    assert proxy.bytes_up == proxy.bytes_down == 0


# The AWS CLI -------------------------------------------------------------------------


def test_aws_cli_through_a_front_in_another_region(aws_front, bucket, client, tmp_path):
    client.put_object(Bucket=bucket, Key="private", Body=b"secret")
    front = aws_front(regions={bucket: EU})
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    env["AWS_DEFAULT_REGION"] = "us-east-1"

    def aws(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "awscli", *args,
                               "--endpoint-url", front.endpoint_url],
                              env=env, capture_output=True, text=True, timeout=120)

    local = tmp_path / "file.txt"
    local.write_text("from the cli\n")
    done = aws("s3", "cp", str(local), f"s3://{bucket}/cli/file.txt")
    assert done.returncode == 0, done.stderr
    done = aws("s3", "ls", f"s3://{bucket}/cli/")
    assert done.returncode == 0 and "file.txt" in done.stdout, done.stderr
    done = aws("s3", "cp", f"s3://{bucket}/cli/file.txt", "-")
    assert (done.returncode, done.stdout) == (0, "from the cli\n"), done.stderr
    assert front.refused["wrong-region"] == 3  # each process is redirected once
    assert client.get_object(Bucket=bucket, Key="cli/file.txt")["Body"].read() == \
        b"from the cli\n"
    done = aws("s3api", "get-object", "--no-sign-request", "--bucket", bucket,
               "--key", "private", str(tmp_path / "out"))
    assert done.returncode != 0 and "AccessDenied" in done.stderr
    assert front.refused["unsigned"] == 1
