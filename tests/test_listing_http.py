"""baiji.stores.listing: the stdlib ListObjectsV2 client, against real servers.

Every listing is checked key for key against boto3's ``list_objects_v2`` of
the same bucket (Key, Size, ETag, LastModified, CommonPrefixes, page by
page).  Faults come from the ``fault_proxy`` fixture; the SigV4 signer is
checked against the examples of the AWS documentation.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from support import servers
from baiji import config
from baiji.stores import listing, listing_pages
from baiji.stores.listing import Credentials, ListError, Lister

pytestmark = pytest.mark.servers("moto", "seaweedfs", reason="seeds fresh buckets")

_SEAWEED_PUT = "SeaweedFS rewrites or refuses this key when it is PUT"
#: Keys that must come back exactly as stored; the value: why SeaweedFS cannot store it.
EXOTIC = {
    "dir/": None, "/lead": _SEAWEED_PUT + " (drops the leading /)",
    "a//b": _SEAWEED_PUT + " (collapses //)", "a/../b": _SEAWEED_PUT + " (InvalidRequest)",
    "a/./b": _SEAWEED_PUT + " (InvalidRequest)", "sp ace": None, "plus+": None,
    "pct%41": None, "é": None, "ctl\x01": None, "trail  ": None, "tab\there": None,
    "amp&lt<>": None, "q?x#y": None, "*star~": None,
}


def _creds(srv) -> Credentials:
    return Credentials(srv.access_key, srv.secret_key)


@pytest.fixture
def make_lister(s3_server):
    """``make_lister(endpoint=server, **kwargs)``: a Lister with the server's credentials."""
    made = []

    def make(endpoint: str | None = None, creds: Credentials | None = None, **kwargs) -> Lister:
        creds = creds or _creds(s3_server)
        target = config.Target(s3_server.region, endpoint or s3_server.endpoint_url, lambda: creds,
                               addressing_style="path", max_attempts=kwargs.pop("max_attempts", None))
        lister = Lister(target, **kwargs)
        made.append(lister)
        return lister

    yield make
    for lister in made:
        lister.close()


def _entries(page: dict) -> list[tuple]:
    return [(o["Key"], o["Size"], o["ETag"], o["LastModified"]) for o in page.get("Contents", [])]


def _prefixes(page: dict) -> list[str]:
    return [p["Prefix"] for p in page.get("CommonPrefixes", [])]


def listed(lister: Lister, bucket: str, prefix: str = "", delimiter: str | None = None):
    """The pages of ``lister`` as (entries, common prefixes) pairs."""
    return [(_entries(p), _prefixes(p)) for p in lister.pages(bucket, prefix, delimiter)]


def boto_listed(client, bucket: str, prefix: str = "", delimiter: str | None = None):
    """The same as :func:`listed`, from boto3."""
    kwargs = {"Bucket": bucket, "Prefix": prefix, **({"Delimiter": delimiter} if delimiter else {})}
    return [(_entries(p), _prefixes(p))
            for p in client.get_paginator("list_objects_v2").paginate(**kwargs)]


def keys(pages) -> list[str]:
    return [entry[0] for entries, _ in pages for entry in entries]


def put_all(client, bucket: str, names, body: bytes = b"data") -> None:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: client.put_object(Bucket=bucket, Key=k, Body=body), names))


# -- exact keys ------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(EXOTIC), ids=[ascii(k) for k in EXOTIC])
def test_key_comes_back_exactly(make_lister, client, bucket, server_kind, key):
    if server_kind == "seaweedfs" and EXOTIC[key]:
        pytest.skip(EXOTIC[key])
    client.put_object(Bucket=bucket, Key=key, Body=b"data")
    lister = make_lister()
    for prefix in ("", key):
        pages = listed(lister, bucket, prefix)
        assert keys(pages) == [key]
        assert pages == boto_listed(client, bucket, prefix)
    entries = listed(lister, bucket, key)[0][0]
    assert entries[0][2].startswith('"') and entries[0][3].tzinfo is not None


def test_all_exotic_keys_in_one_listing(make_lister, client, bucket, server_kind):
    names = [k for k, why in EXOTIC.items() if not (why and server_kind == "seaweedfs")]
    put_all(client, bucket, names)
    pages = listed(make_lister(), bucket)
    assert sorted(keys(pages)) == sorted(names)
    assert pages == boto_listed(client, bucket)
    assert listed(make_lister(), bucket, "", "/") == boto_listed(client, bucket, "", "/")


def test_page_shape(make_lister, client, bucket):
    client.put_object(Bucket=bucket, Key="d/k", Body=b"12345")
    (page,) = make_lister().pages(bucket, "", "/")
    assert page["CommonPrefixes"] == [{"Prefix": "d/"}] and "Contents" not in page
    (page,) = make_lister().pages(bucket, "d/")
    (item,) = page["Contents"]
    head = client.head_object(Bucket=bucket, Key="d/k")
    assert item["Key"] == "d/k" and item["Size"] == 5 and item["ETag"] == head["ETag"]
    assert item["LastModified"] == head["LastModified"]
    assert item["LastModified"].utcoffset().total_seconds() == 0
    assert item["StorageClass"] == "STANDARD"


# -- prefixes, delimiters, pages --------------------------------------------------------


def test_pagination_over_1000_keys(make_lister, client, bucket, fault_proxy):
    names = [f"many/{i:05d}" for i in range(1005)]
    put_all(client, bucket, names)
    calls = []
    creds = make_lister().target.credentials()
    lister = make_lister(fault_proxy.endpoint_url)
    lister.target = lister.target._replace(credentials=lambda: calls.append(1) or creds)
    pages = listed(lister, bucket, "many/")
    assert [len(entries) for entries, _ in pages] == [1000, 5]
    assert keys(pages) == names
    assert pages == boto_listed(client, bucket, "many/")
    assert len(calls) == 2, "credentials() is asked before every request"
    assert fault_proxy.proxy.connections == 1, "one keep-alive connection across pages"
    assert fault_proxy.proxy.ops() == ["ListObjectsV2"] * 2


def test_delimiter_lists_common_prefixes(make_lister, client, bucket):
    put_all(client, bucket, ["p/a", "p/dir/x", "p/dir/y", "p/e/f", "p/e/g/h", "q/z"])
    pages = listed(make_lister(), bucket, "p/", "/")
    assert keys(pages) == ["p/a"] and [p for _, p in pages] == [["p/dir/", "p/e/"]]
    assert pages == boto_listed(client, bucket, "p/", "/")
    assert listed(make_lister(), bucket, "", "/")[0][1] == ["p/", "q/"]


def test_prefix_may_end_inside_a_segment(make_lister, client, bucket):
    put_all(client, bucket, ["p/dir/x", "p/dir/y", "p/dirt", "p/do"])
    lister = make_lister()
    assert keys(listed(lister, bucket, "p/di")) == ["p/dir/x", "p/dir/y", "p/dirt"]
    assert listed(lister, bucket, "p/di", "/") == [([_entries_of(client, bucket, "p/dirt")],
                                                    ["p/dir/"])]
    assert listed(lister, bucket, "p/di", "/") == boto_listed(client, bucket, "p/di", "/")


def _entries_of(client, bucket: str, key: str) -> tuple:
    head = client.head_object(Bucket=bucket, Key=key)
    return (key, head["ContentLength"], head["ETag"], head["LastModified"])


def test_empty_result(make_lister, client, bucket):
    lister = make_lister()
    assert list(lister.pages(bucket, "")) == [{"IsTruncated": False}]
    client.put_object(Bucket=bucket, Key="a", Body=b"x")
    assert list(lister.pages(bucket, "nothing-here/", "/")) == [{"IsTruncated": False}]
    assert boto_listed(client, bucket, "nothing-here/", "/") == [([], [])]


# -- errors -----------------------------------------------------------------------------


def test_missing_bucket_is_no_such_bucket(make_lister, fault_proxy):
    lister = make_lister(fault_proxy.endpoint_url)
    with pytest.raises(ListError) as info:
        list(lister.pages("baiji-no-such-bucket", "p/"))
    err = info.value
    assert (err.code, err.status, err.transport) == ("NoSuchBucket", 404, False)
    assert "s3://baiji-no-such-bucket/p/" in str(err)
    assert fault_proxy.proxy.requests == 1, "a 4xx is not retried"


def test_wrong_secret_is_403_without_secrets(make_lister, bucket, s3_server, server_kind):
    servers.skip_unless_server(server_kind, "seaweedfs",
                               reason="moto accepts any credentials and signatures")
    bad = Credentials(s3_server.access_key, "not-the-secret-key")
    with pytest.raises(ListError) as info:
        list(make_lister(creds=bad).pages(bucket, ""))
    err = info.value
    assert (err.code, err.status, err.transport) == ("SignatureDoesNotMatch", 403, False)
    for secret in ("not-the-secret-key", "Signature=", "Authorization"):
        assert secret not in str(err) and secret not in repr(err)


def test_credentials_repr_hides_secrets():
    creds = Credentials("AKID", "the-secret", "the-token")
    assert "AKID" in repr(creds) and "the-secret" not in repr(creds)
    assert "the-token" not in repr(creds)


def test_session_token_is_sent_and_signed(make_lister, client, bucket, fault_proxy,
                                          s3_server, server_kind):
    seen = []
    fault_proxy.proxy.handler = lambda info: seen.append(info.headers) and None
    creds = Credentials(s3_server.access_key, s3_server.secret_key, token="tok/en+==")
    lister = make_lister(fault_proxy.endpoint_url, creds=creds)
    if server_kind == "seaweedfs":
        # SeaweedFS takes a request with a token for temporary (STS) credentials and
        # refuses a made-up one
        with pytest.raises(ListError) as info:
            list(lister.pages(bucket, ""))
        err = info.value
        assert (err.code, err.status, err.transport) == ("InvalidAccessKeyId", 403, False)
        assert "tok/en" not in str(err) and s3_server.secret_key not in str(err)
    else:
        client.put_object(Bucket=bucket, Key="k", Body=b"x")
        assert keys(listed(lister, bucket)) == ["k"]
    headers = seen[0]
    assert headers["x-amz-security-token"] == "tok/en+=="
    assert "x-amz-security-token" in headers["authorization"].split("SignedHeaders=")[1]
    assert headers["x-amz-content-sha256"] == listing.EMPTY_SHA256


# -- faults -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind, params", [
    ("slow_down", {}), ("internal_error", {}), ("reset_before", {}),
    ("reset_after_forward", {}), ("truncate", {"nbytes": 60}), ("truncate", {"nbytes": 0}),
    ("error", {"status": 429, "code": "TooManyRequests"}),
    ("error", {"status": 400, "code": "SlowDown"}),
], ids=["503", "500", "reset", "reset-after-forward", "truncate-60", "truncate-0", "429",
        "SlowDown-code"])
def test_one_fault_then_success(make_lister, client, bucket, fault_proxy, kind, params):
    put_all(client, bucket, [f"k{i}" for i in range(20)])
    proxy = fault_proxy.proxy
    proxy.fail_next(1, kind, match="ListObjectsV2", **params)
    pages = listed(make_lister(fault_proxy.endpoint_url), bucket)
    assert pages == boto_listed(client, bucket)
    assert proxy.faults == 1 and proxy.ops() == ["ListObjectsV2"] * 2


def test_fault_on_the_second_page_resumes_there(make_lister, client, bucket, fault_proxy):
    put_all(client, bucket, [f"k{i:04d}" for i in range(1002)])
    proxy = fault_proxy.proxy
    proxy.fail_every(2, "reset_before", match="ListObjectsV2", limit=1)
    pages = listed(make_lister(fault_proxy.endpoint_url), bucket)
    assert [len(e) for e, _ in pages] == [1000, 2]
    assert [r.fault for r in proxy.history] == [None, "reset_before", None]
    assert "continuation-token" in proxy.history[2].query


def test_persistent_throttling_gives_up_after_max_attempts(make_lister, bucket, fault_proxy):
    proxy = fault_proxy.proxy
    proxy.fail_always("slow_down", match="ListObjectsV2")
    with pytest.raises(ListError) as info:
        list(make_lister(fault_proxy.endpoint_url, max_attempts=3).pages(bucket, ""))
    err = info.value
    assert (err.code, err.status, err.transport) == ("SlowDown", 503, False)
    assert proxy.requests == 3


def test_client_errors_are_not_retried(make_lister, bucket, fault_proxy):
    proxy = fault_proxy.proxy
    proxy.fail_next(1, "error", match="ListObjectsV2", status=403, code="AccessDenied",
                    message="Access Denied")
    with pytest.raises(ListError) as info:
        list(make_lister(fault_proxy.endpoint_url).pages(bucket, ""))
    assert (info.value.code, info.value.status) == ("AccessDenied", 403)
    assert "Access Denied" in str(info.value) and proxy.requests == 1


def test_closed_port_fails_fast_as_transport(make_lister):
    port = servers.free_port()  # nothing listens there
    start = time.monotonic()
    with pytest.raises(ListError) as info:
        list(make_lister(f"http://127.0.0.1:{port}").pages("b", ""))
    assert info.value.transport and info.value.status is None and info.value.code == ""
    assert f"127.0.0.1:{port}" in str(info.value)
    assert time.monotonic() - start < 3  # 5 attempts, backoff at most 0.1+0.2+0.4+0.8 s


def test_silent_server_times_out_as_transport(make_lister):
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        start = time.monotonic()
        with pytest.raises(ListError) as info:
            list(make_lister(f"http://127.0.0.1:{silent.getsockname()[1]}", read_timeout=0.3,
                             max_attempts=2).pages("b", ""))
    assert info.value.transport and "timed out" in str(info.value)
    assert time.monotonic() - start < 2


# -- pure parts -------------------------------------------------------------------------

AWS_DOC = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
AWS_DOC_NOW = datetime(2013, 5, 24, tzinfo=timezone.utc)


@pytest.mark.parametrize("params, signature", [
    ({"max-keys": "2", "prefix": "J"},  # "Example: GET Bucket (List Objects)"
     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
    ({"lifecycle": ""},  # "Example: GET Bucket Lifecycle"
     "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
])
def test_signature_matches_the_aws_documentation(params, signature):
    headers = listing.sign("GET", "examplebucket.s3.amazonaws.com", "/",
                           listing.canonical_query(params), AWS_DOC, "us-east-1", AWS_DOC_NOW)
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        f"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}")
    assert headers["x-amz-date"] == "20130524T000000Z"
    assert headers["x-amz-content-sha256"] == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def test_backoff_is_full_jitter_capped():
    for attempt in range(1, 12):
        delays = [listing._backoff(attempt) for _ in range(50)]
        assert all(0 <= d < min(5.0, 0.1 * 2 ** (attempt - 1)) for d in delays)
        assert len(set(delays)) > 1


def test_a_200_that_is_not_a_listing_is_retried(make_lister, client, bucket, fault_proxy):
    client.put_object(Bucket=bucket, Key="k", Body=b"x")
    fault_proxy.proxy.fail_next(1, "error", match="ListObjectsV2", status=200, code="Whatever")
    assert keys(listed(make_lister(fault_proxy.endpoint_url), bucket)) == ["k"]
    assert fault_proxy.proxy.ops() == ["ListObjectsV2"] * 2


def test_canonical_query_is_sorted_and_rfc3986():
    assert listing.canonical_query({"prefix": "a b+c/é~*!", "list-type": "2", "delimiter": "/"}) \
        == "delimiter=%2F&list-type=2&prefix=a%20b%2Bc%2F%C3%A9~%2A%21"


@pytest.mark.parametrize("text, expected", [
    ("2026-11-29T13:03:17Z", datetime(2026, 11, 29, 13, 3, 17, tzinfo=timezone.utc)),
    ("2026-11-29T13:03:17.042Z", datetime(2026, 11, 29, 13, 3, 17, 42000, tzinfo=timezone.utc)),
    ("2026-01-02T03:04:05.123456789Z", datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)),
])
def test_last_modified_parsing(text, expected):
    assert listing_pages.time_of(text) == expected


@pytest.mark.parametrize("endpoint, path_style, bucket, address", [
    (None, False, "my-bucket", ("my-bucket.s3.eu-west-1.amazonaws.com", "/")),
    (None, False, "my.bucket", ("s3.eu-west-1.amazonaws.com", "/my.bucket")),
    (None, False, "My_Bucket", ("s3.eu-west-1.amazonaws.com", "/My_Bucket")),
    (None, True, "my-bucket", ("s3.eu-west-1.amazonaws.com", "/my-bucket")),
    ("http://127.0.0.1:9000", True, "b.c", ("127.0.0.1", "/b.c")),
    ("http://127.0.0.1:9000", False, "bkt", ("127.0.0.1", "/bkt")),  # an IP: path-style, as botocore
    ("http://minio.local:9000", False, "bkt", ("bkt.minio.local", "/")),
])
def test_addressing(endpoint, path_style, bucket, address):
    target = config.Target("eu-west-1", endpoint, lambda: AWS_DOC, addressing_style="path" if path_style else "virtual")
    scheme, host, port, path = Lister(target)._address(bucket, "eu-west-1")
    assert (host, path) == address


def test_endpoint_with_a_path_is_refused():
    with pytest.raises(ValueError):
        Lister(config.Target("us-east-1", "http://127.0.0.1:9000/base", lambda: AWS_DOC, addressing_style="path"))


def test_module_imports_no_heavy_dependency():
    """Loaded on its own (not through baiji.stores, which imports boto3 today)."""
    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('listing', {listing.__file__!r})\n"
            "sys.modules['listing'] = module = importlib.util.module_from_spec(spec)\n"
            "spec.loader.exec_module(module)\n"
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('boto3', 'botocore', 'urllib3', 'requests', 'http', 'ssl', 'email'))))")
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stderr, done.stdout.strip()) == (0, "", "")
