"""Networks between a user and S3 (issue 16), on loopback stand-ins (``tests/support/stand_ins.py``):
a bucket in another region than the configured one, TLS from a test CA, a forward proxy,
and public objects read without credentials.  boto3 and the AWS CLI were run on each case
first (``tests/test_stand_ins.py``): they follow the region S3 names, trust the bundle they
are given, and go through the proxy; so must every path of baiji.
"""

from __future__ import annotations

import urllib.request
import uuid

import pytest

from baiji.connection import S3Connection
from support.helpers import key_exists, one_line, put
from test_cli import run
from test_networks import every_path


@pytest.fixture
def far_bucket(bucket, aws_front):
    """``(front, s3dir)``: the session's bucket behind a front that places it in eu-west-1,
    while the connection is configured for us-east-1."""
    front = aws_front(regions={bucket: "eu-west-1"})
    return front, f"s3://{bucket}/{uuid.uuid4().hex[:8]}/"


def test_every_command_follows_the_bucket_to_its_region(far_bucket, tmp_path, monkeypatch):
    front, s3dir = far_bucket
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    pre = ("--endpoint-url", front.endpoint_url)
    every_path(s3dir + "k.txt", tmp_path, *pre)
    site = tmp_path / "site"
    (site / "d").mkdir(parents=True)
    (site / "a.txt").write_bytes(b"a")
    (site / "d" / "b.txt").write_bytes(b"b" * 10)
    assert run(*pre, "cp", "-r", f"{site}/", s3dir + "copy/")[0] == 0
    assert run(*pre, "sync", site, s3dir + "sync/")[0] == 0
    assert run(*pre, "sync", s3dir + "sync/", tmp_path / "down")[0] == 0
    assert (tmp_path / "down" / "d" / "b.txt").read_bytes() == b"b" * 10
    assert run(*pre, "cp", "-f", s3dir + "copy/a.txt", s3dir + "moved.txt")[0] == 0  # a same-bucket copy
    assert run(*pre, "rm", "-r", "-f", s3dir + "copy/")[0] == 0
    status, out, err = run(*pre, "ls", s3dir)
    assert status == 0 and b"copy/" not in out, err


def test_a_connection_learns_a_buckets_region_once(far_bucket, tmp_path):
    front, s3dir = far_bucket
    conn = S3Connection(endpoint_url=front.endpoint_url, region="us-east-1")
    src = tmp_path / "f.txt"
    src.write_bytes(b"x" * 100)
    for n in range(5):
        conn.cp(str(src), f"{s3dir}f{n}", force=True)
        assert conn.exists(f"{s3dir}f{n}") and conn.get_string(f"{s3dir}f{n}") == "x" * 100
    assert len(list(conn.ls(s3dir))) == 5
    conn.rm_r(s3dir, force=True)
    # the lister and the engine learn it once (shared); boto3 follows it on its own
    assert 1 <= front.refused["wrong-region"] + front.refused["redirect"] <= 3, front.refused


def test_copies_between_buckets_of_two_regions(bucket, client, aws_front, tmp_path, server_kind):
    other = f"baiji-far-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=other)
    front = aws_front(regions={bucket: "eu-west-1", other: "ap-southeast-2"})
    src, dst = f"s3://{bucket}/x/src.bin", f"s3://{other}/y/dst.bin"
    put(client, src, b"crossing")
    status, _, err = run("--endpoint-url", front.endpoint_url, "cp", src, dst)
    assert status == 0, err
    assert run("--endpoint-url", front.endpoint_url, "cat", dst)[:2] == (0, b"crossing")


def test_presigned_url_is_signed_for_the_buckets_region(far_bucket, client):
    front, s3dir = far_bucket
    put(client, s3dir + "shared.txt", b"shared")
    status, out, err = run("--endpoint-url", front.endpoint_url, "url", s3dir + "shared.txt")
    assert status == 0, err
    url = out.decode().strip()
    assert "eu-west-1" in url
    with urllib.request.urlopen(url, timeout=30) as answer:  # the front checks the region signed for
        assert answer.read() == b"shared"


# TLS -------------------------------------------------------------------------------


def test_ca_bundle_applies_to_every_path(tls_front, bucket, test_ca, monkeypatch, tmp_path):
    front = tls_front(regions={bucket: "eu-west-1"})
    monkeypatch.setenv("AWS_CA_BUNDLE", test_ca.ca_pem)
    every_path(f"s3://{bucket}/tls/k.txt", tmp_path, "--endpoint-url", front.endpoint_url)


def test_profile_ca_bundle_applies_to_every_path(tls_front, bucket, test_ca, monkeypatch, tmp_path):
    front = tls_front()
    config_file = tmp_path / "aws-config"
    config_file.write_text(f"[default]\nca_bundle = {test_ca.ca_pem}\nendpoint_url = {front.endpoint_url}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    every_path(f"s3://{bucket}/tls-profile/k.txt", tmp_path)


def test_untrusted_certificate_is_one_line_and_writes_nothing(tls_front, bucket, untrusted_ca, client,
                                                             monkeypatch, tmp_path):
    front = tls_front()
    monkeypatch.setenv("AWS_CA_BUNDLE", untrusted_ca.ca_pem)
    src = tmp_path / "f.txt"
    src.write_bytes(b"never sent")
    key = f"s3://{bucket}/untrusted/k.txt"
    for args in (["cp", src, key], ["ls", key], ["info", key], ["cat", key], ["cp", key, tmp_path / "down"]):
        status, _, err = run("--endpoint-url", front.endpoint_url, "--region", "us-east-1", *args)
        assert status == 1 and one_line(err) and "certificate" in err.lower(), (args, err)
    assert not key_exists(client, key) and not (tmp_path / "down").exists()
    assert list(tmp_path.iterdir()) == [src]


def test_no_verify_ssl_works_and_warns(tls_front, bucket, untrusted_ca, monkeypatch, tmp_path):
    front = tls_front()
    monkeypatch.setenv("AWS_CA_BUNDLE", untrusted_ca.ca_pem)
    src = tmp_path / "f.txt"
    src.write_bytes(b"sent anyway")
    key = f"s3://{bucket}/noverify/k.txt"
    for args in (["cp", src, key], ["cat", key], ["info", key], ["ls", key]):
        status, _, err = run("--endpoint-url", front.endpoint_url, "--no-verify-ssl", *args)
        assert status == 0 and err.count("\n") == 1 and "not verified" in err, (args, err)


# Proxies ----------------------------------------------------------------------------


def clear_no_proxy(monkeypatch):
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_http_proxy_carries_every_request(aws_front, forward_proxy, bucket, monkeypatch, tmp_path):
    front, proxy = aws_front(), forward_proxy(require_auth=("user", "p@ss word"))
    clear_no_proxy(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    every_path(f"s3://{bucket}/proxied/k.txt", tmp_path, "--endpoint-url", front.endpoint_url)
    assert proxy.requests > 0 and proxy.requests == front.requests, (proxy.requests, front.requests)
    assert not proxy.refused


def test_https_proxy_tunnels_every_request(tls_front, forward_proxy, bucket, test_ca, monkeypatch, tmp_path):
    front, proxy = tls_front(), forward_proxy()
    clear_no_proxy(monkeypatch)
    monkeypatch.setenv("https_proxy", proxy.url)
    monkeypatch.setenv("AWS_CA_BUNDLE", test_ca.ca_pem)
    every_path(f"s3://{bucket}/tunnel/k.txt", tmp_path, "--endpoint-url", front.endpoint_url)
    assert proxy.connects > 0 and proxy.requests == 0
    assert {target.rpartition(":")[2] for target in proxy.targets} == {str(front.port)}


def test_no_proxy_bypasses_the_proxy(aws_front, forward_proxy, bucket, monkeypatch, tmp_path):
    front, proxy = aws_front(), forward_proxy()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    every_path(f"s3://{bucket}/direct/k.txt", tmp_path, "--endpoint-url", front.endpoint_url)
    assert proxy.requests == proxy.connects == 0


def test_proxy_password_is_redacted(aws_front, forward_proxy, bucket, monkeypatch, tmp_path):
    front, proxy = aws_front(), forward_proxy(require_auth=("user", "SecretProxyPassword42"))
    clear_no_proxy(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", front.endpoint_url)
    status, out, err = run("-vv", "ls", f"s3://{bucket}/")
    assert status == 0 and "SecretProxyPassword42" not in err
    assert proxy.requests > 0


# Public objects, no credentials ---------------------------------------------------------


def test_no_sign_request_reads_public_objects(aws_front, bucket, client, monkeypatch, tmp_path):
    put(client, f"s3://{bucket}/pub/open.txt", b"for everyone")
    put(client, f"s3://{bucket}/pub/closed.txt", b"not for you")
    front = aws_front(public={(bucket, "pub/open.txt")})
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    pre = ("--endpoint-url", front.endpoint_url, "--no-sign-request")
    assert run(*pre, "cat", f"s3://{bucket}/pub/open.txt")[:2] == (0, b"for everyone")
    assert run(*pre, "cp", f"s3://{bucket}/pub/open.txt", tmp_path / "open.txt")[0] == 0
    assert (tmp_path / "open.txt").read_bytes() == b"for everyone"
    status, _, err = run(*pre, "cat", f"s3://{bucket}/pub/closed.txt")
    assert status == 1 and one_line(err) and "Permission denied" in err, err
    conn = S3Connection(endpoint_url=front.endpoint_url, sign=False)
    assert conn.get_string(f"s3://{bucket}/pub/open.txt") == "for everyone"
    assert all(not record.signed for record in front.records())

