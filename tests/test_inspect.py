"""Listing and inspecting: ls, glob, info, exists, isdir/isfile, size, etag,
etag_matches, md5, get_url (SPEC 2 "Listing and inspecting", SPEC 3).

Every test runs against the session's real server (moto or SeaweedFS, see
conftest.py); the raw boto3 ``client`` sets objects up and checks results
independently of baiji.
"""

from __future__ import annotations

import collections
import datetime
import hashlib
import os
import urllib.parse
import urllib.request
import warnings

import pytest

from baiji import path as paths
from baiji import s3
from baiji.exceptions import (BucketNotFound, EventualConsistencyWarning, InvalidSchemeException,
                              KeyNotFound)
from support.helpers import missing_bucket, missing_urls, put, split
from test_cli import run

MiB = 1024 * 1024


# Helpers ------------------------------------------------------------------------


def foreign_multipart(client, url, part_sizes=(5 * MiB, 1000)) -> bytes:
    """Upload ``url`` with the raw client's multipart API (as another tool would); returns the content."""
    bucket, key = split(url)
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts, content = [], b""
    for number, size in enumerate(part_sizes, 1):
        data = os.urandom(size)
        content += data
        etag = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number,
                                  Body=data)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                     MultipartUpload={"Parts": parts})
    return content


@pytest.fixture
def tree(client, s3dir):
    """``s3dir`` holding a.txt, b.txt, c.csv, dir/filename.ext, dir/sub/deep.txt."""
    keys = ["a.txt", "b.txt", "c.csv", "dir/filename.ext", "dir/sub/deep.txt"]
    for k in keys:
        put(client, s3dir + k, k.encode())
    return s3dir, keys


@pytest.fixture
def local_tree(tmp_path):
    root = tmp_path / "root"
    for rel in ["a.txt", "b.txt", "c.csv", "dir/filename.ext", "dir/sub/deep.txt"]:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rel.encode())
    return root


# ls -----------------------------------------------------------------------------


def test_ls_s3_lists_keys_as_slash_paths(conn, tree):
    s3dir, keys = tree
    prefix_key = paths.key(s3dir)
    assert list(conn.ls(s3dir)) == ["/" + prefix_key + k for k in keys]


def test_ls_s3_return_full_urls(conn, tree):
    s3dir, keys = tree
    assert list(conn.ls(s3dir, return_full_urls=True)) == [s3dir + k for k in keys]


def test_ls_s3_is_a_lazy_iterator(fault_proxy, tree):
    """ls returns an iterator that sends no request until it is consumed.

    Counted at the proxy in front of the server, which sees every request
    (boto3's, obstore's and baiji's own lister's).
    """
    s3dir, keys = tree
    conn, proxy = fault_proxy.conn, fault_proxy.proxy
    proxy.reset_counters()
    result = conn.ls(s3dir)
    assert not isinstance(result, (list, tuple))
    assert iter(result) is result
    assert proxy.requests == 0 and proxy.ops() == []
    first = next(result)
    assert proxy.ops().count("ListObjectsV2") == 1
    assert first == "/" + paths.key(s3dir) + keys[0]


def test_ls_s3_fetches_pages_as_they_are_consumed(fault_proxy, tree, monkeypatch):
    """With 2 keys per page, pages are fetched one by one, each only when consumed.

    ``max-keys=2`` is added to the lister's query before it is signed and sent
    (as a botocore parameter hook did for boto3's ListObjectsV2); the requests
    are counted at the proxy, which sees every request.
    """
    from baiji.stores import listing

    s3dir, keys = tree
    real_query = listing.canonical_query
    monkeypatch.setattr(listing, "canonical_query",
                        lambda params: real_query({**params, "max-keys": "2"}))
    conn, proxy = fault_proxy.conn, fault_proxy.proxy
    proxy.reset_counters()

    def lists() -> list:
        return [r for r in proxy.history if r.op == "ListObjectsV2"]

    it = conn.ls(s3dir, return_full_urls=True)
    assert lists() == []
    got = [next(it), next(it)]
    assert len(lists()) == 1
    got.append(next(it))
    assert len(lists()) == 2
    got.extend(it)
    assert len(lists()) == 3
    assert all("max-keys=2" in r.query.split("&") for r in lists())
    assert [r.status for r in lists()] == [200, 200, 200]
    assert got == [s3dir + k for k in keys]


def test_ls_s3_prefix_is_a_plain_string_prefix(conn, tree):
    s3dir, _ = tree
    assert list(conn.ls(s3dir + "dir/fil", return_full_urls=True)) == [s3dir + "dir/filename.ext"]
    assert list(conn.ls(s3dir + "dir/fil")) == ["/" + paths.key(s3dir) + "dir/filename.ext"]
    assert list(conn.ls(s3dir + "nothing-here")) == []


def test_ls_s3_shallow_lists_immediate_children(conn, tree):
    s3dir, _ = tree
    base = "/" + paths.key(s3dir)
    assert list(conn.ls(s3dir, shallow=True)) == [base + "a.txt", base + "b.txt", base + "c.csv",
                                                  base + "dir/"]
    assert list(conn.ls(s3dir + "dir/", shallow=True, return_full_urls=True)) == [
        s3dir + "dir/filename.ext", s3dir + "dir/sub/"]


def test_ls_s3_list_versions_yields_every_version_and_delete_marker(conn, client, versioned_bucket):
    url = f"s3://{versioned_bucket}/v/key.txt"
    put(client, url, b"one")
    put(client, url, b"two")
    client.delete_object(Bucket=versioned_bucket, Key="v/key.txt")
    put(client, f"s3://{versioned_bucket}/v/other.txt", b"three")
    assert list(conn.ls(f"s3://{versioned_bucket}/v/")) == ["/v/other.txt"]
    versions = list(conn.ls(f"s3://{versioned_bucket}/v/", list_versions=True, return_full_urls=True))
    assert collections.Counter(versions) == {url: 3, f"s3://{versioned_bucket}/v/other.txt": 1}


def test_ls_s3_missing_bucket_raises_bucket_not_found(conn):
    with pytest.raises(BucketNotFound) as info:
        list(conn.ls(f"s3://{missing_bucket()}/some/prefix"))
    assert isinstance(info.value, KeyNotFound)


def test_ls_require_s3_scheme(conn, tree, local_tree):
    s3dir, keys = tree
    assert len(list(conn.ls(s3dir, require_s3_scheme=True))) == len(keys)
    with pytest.raises(InvalidSchemeException):
        conn.ls(str(local_tree), require_s3_scheme=True)
    with pytest.raises(InvalidSchemeException):
        conn.ls("file://" + str(local_tree), require_s3_scheme=True)


def test_ls_local_lists_files_recursively_relative(conn, local_tree):
    expected = ["a.txt", "b.txt", "c.csv", "dir/filename.ext", "dir/sub/deep.txt"]
    result = conn.ls(str(local_tree))
    assert isinstance(result, list)
    assert sorted(result) == expected
    assert sorted(conn.ls(str(local_tree) + "/")) == expected
    assert sorted(conn.ls("file://" + str(local_tree))) == expected


def test_ls_local_return_full_urls(conn, local_tree):
    result = conn.ls(str(local_tree), return_full_urls=True)
    assert sorted(result) == sorted(str(local_tree / rel) for rel in
                                    ["a.txt", "b.txt", "c.csv", "dir/filename.ext", "dir/sub/deep.txt"])


def test_ls_local_shallow(conn, local_tree):
    assert sorted(conn.ls(str(local_tree), shallow=True)) == ["a.txt", "b.txt", "c.csv", "dir/"]


def test_ls_module_function_uses_the_default_connection(tree):
    s3dir, keys = tree
    assert list(s3.ls(s3dir, return_full_urls=True)) == [s3dir + k for k in keys]


# glob ---------------------------------------------------------------------------


def test_glob_s3(conn, tree):
    s3dir, _ = tree
    assert sorted(conn.glob(s3dir, "?.txt")) == [s3dir + "a.txt", s3dir + "b.txt"]
    assert sorted(conn.glob(s3dir, "*.csv")) == [s3dir + "c.csv"]
    # fnmatch's * matches '/' as well
    assert sorted(conn.glob(s3dir, "*.txt")) == [s3dir + "a.txt", s3dir + "b.txt",
                                                 s3dir + "dir/sub/deep.txt"]
    assert sorted(conn.glob(s3dir + "dir/", "*.ext")) == [s3dir + "dir/filename.ext"]
    assert list(conn.glob(s3dir, "*.nothing")) == []


def test_glob_local(conn, local_tree):
    base = str(local_tree) + "/"
    assert sorted(conn.glob(base, "?.txt")) == [base + "a.txt", base + "b.txt"]
    assert sorted(conn.glob(base, "dir/*.ext")) == [base + "dir/filename.ext"]


# info ---------------------------------------------------------------------------


def test_info_s3_fields(conn, client, s3dir):
    url = s3dir + "info.bin"
    put(client, url, b"12345", ContentType="text/csv", ContentEncoding="gzip")
    info = conn.info(url)
    assert info["uri"] == url
    assert info["size"] == 5
    assert isinstance(info["last_modified"], datetime.datetime)
    assert info["content_type"] == "text/csv"
    assert info["content_encoding"] == "gzip"
    assert info["encrypted"] is False
    assert isinstance(info["acl"], list) and info["acl"]
    assert all("Grantee" in g and "Permission" in g for g in info["acl"])
    assert info["owner"] is not None
    assert "version_id" in info


def test_info_s3_encrypted(conn, client, s3dir):
    url = s3dir + "enc.bin"
    put(client, url, b"secret", ServerSideEncryption="AES256")
    assert conn.info(url)["encrypted"] is True


def test_info_s3_version_id(conn, client, versioned_bucket):
    url = f"s3://{versioned_bucket}/versioned.txt"
    version = put(client, url, b"v1")["VersionId"]
    assert conn.info(url)["version_id"] == version


def test_info_local(conn, tmp_path):
    f = tmp_path / "f.txt"
    f.write_bytes(b"hello")
    info = conn.info(str(f))
    assert info["uri"] == str(f)
    assert info["size"] == 5
    assert isinstance(info["last_modified"], datetime.datetime)
    assert abs(info["last_modified"].timestamp() - f.stat().st_mtime) < 1


def test_info_missing_raises_key_not_found(conn, s3dir, tmp_path):
    for url in missing_urls(s3dir, tmp_path):
        with pytest.raises(KeyNotFound):
            conn.info(url)


# exists -------------------------------------------------------------------------


def test_exists_s3(conn, client, s3dir):
    put(client, s3dir + "here")
    assert conn.exists(s3dir + "here") is True
    assert conn.exists(s3dir + "absent") is False
    assert conn.exists(s3dir + "her") is False  # a prefix of a key is no key
    assert s3.exists(s3dir + "here") is True


def test_exists_missing_bucket_is_false(conn):
    assert conn.exists(f"s3://{missing_bucket()}/key") is False
    assert conn.exists(f"s3://{missing_bucket()}") is False
    assert conn.exists(f"s3://{missing_bucket()}/") is False


def test_exists_bare_bucket_url(conn, bucket):
    assert conn.exists(f"s3://{bucket}") is True
    assert conn.exists(f"s3://{bucket}/") is True


def test_exists_local(conn, tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"")
    assert conn.exists(str(f)) is True
    assert conn.exists(str(tmp_path)) is True
    assert conn.exists(str(tmp_path / "nope")) is False


def test_exists_version_id(conn, client, versioned_bucket):
    url = f"s3://{versioned_bucket}/k"
    v1 = put(client, url, b"1")["VersionId"]
    client.delete_object(Bucket=versioned_bucket, Key="k")
    assert conn.exists(url) is False
    assert conn.exists(url, version_id=v1) is True


class FlakyStat:
    """Stub: wraps the connection's S3 store ``stat`` so its first ``misses`` calls raise KeyNotFound
    (simulating the eventual consistency of old S3), then delegates to the real stat."""

    def __init__(self, conn, monkeypatch, misses):
        self.calls = 0
        self.misses = misses
        real = conn._s3.stat

        def stat(url, version_id=None):
            self.calls += 1
            if self.calls <= self.misses:
                raise KeyNotFound(f"{url}: not found (stubbed miss)")
            return real(url, version_id)

        monkeypatch.setattr(conn._s3, "stat", stat)


def test_exists_retries_once_by_default_and_warns(conn, client, s3dir, monkeypatch):
    put(client, s3dir + "late")
    flaky = FlakyStat(conn, monkeypatch, misses=1)
    with pytest.warns(EventualConsistencyWarning, match="2 attempts"):
        assert conn.exists(s3dir + "late") is True
    assert flaky.calls == 2


def test_exists_retries_allowed_counts_extra_lookups(conn, client, s3dir, monkeypatch):
    put(client, s3dir + "late")
    flaky = FlakyStat(conn, monkeypatch, misses=3)
    with pytest.warns(EventualConsistencyWarning, match="4 attempts"):
        assert conn.exists(s3dir + "late", retries_allowed=3) is True
    assert flaky.calls == 4


def test_exists_gives_up_after_retries(conn, client, s3dir, monkeypatch):
    put(client, s3dir + "late")
    flaky = FlakyStat(conn, monkeypatch, misses=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert conn.exists(s3dir + "late", retries_allowed=1) is False
    assert flaky.calls == 2


def test_exists_retries_zero_looks_once(conn, s3dir, monkeypatch):
    flaky = FlakyStat(conn, monkeypatch, misses=0)
    assert conn.exists(s3dir + "absent", retries_allowed=0) is False
    assert flaky.calls == 1
    assert conn.exists(s3dir + "absent") is False
    assert flaky.calls == 3  # default: one extra lookup after the miss


def test_exists_found_first_time_does_not_warn(conn, client, s3dir):
    put(client, s3dir + "now")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert conn.exists(s3dir + "now", retries_allowed=3) is True


# isdir / isfile -----------------------------------------------------------------


def test_isdir_isfile_s3(conn, client, s3dir, bucket, server_kind):
    put(client, s3dir + "dir/x")
    assert conn.isdir(s3dir + "dir") is True
    assert conn.isdir(s3dir + "dir/") is True
    assert conn.isdir(s3dir + "di") is False  # not a string prefix: a directory
    assert conn.isdir(s3dir + "dir/x") is False
    assert conn.isdir(s3dir + "nothing") is False
    assert conn.isfile(s3dir + "dir/x") is True
    assert conn.isfile(s3dir + "dir") is False
    if server_kind != "seaweedfs":
        # SeaweedFS keeps real directories: HEAD on the implicit "dir/" answers 200 there
        assert conn.isfile(s3dir + "dir/") is False
    assert conn.isfile(s3dir + "missing") is False
    assert conn.isfile(f"s3://{bucket}") is False
    assert conn.isdir(f"s3://{bucket}") is True


def test_isdir_isfile_local(conn, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"")
    assert conn.isdir(str(tmp_path / "d")) is True
    assert conn.isdir(str(tmp_path / "d" / "f")) is False
    assert conn.isfile(str(tmp_path / "d" / "f")) is True
    assert conn.isfile(str(tmp_path / "d")) is False
    assert conn.isdir(str(tmp_path / "nope")) is False
    assert conn.isfile(str(tmp_path / "nope")) is False


# size ---------------------------------------------------------------------------


def test_size(conn, client, s3dir, tmp_path):
    put(client, s3dir + "seven", b"1234567")
    put(client, s3dir + "empty", b"")
    assert conn.size(s3dir + "seven") == 7
    assert conn.size(s3dir + "empty") == 0
    (tmp_path / "f").write_bytes(b"123")
    assert conn.size(str(tmp_path / "f")) == 3
    with pytest.raises(KeyNotFound):
        conn.size(s3dir + "missing")
    with pytest.raises(KeyNotFound):
        conn.size(str(tmp_path / "missing"))


def test_size_version_id(conn, client, versioned_bucket):
    url = f"s3://{versioned_bucket}/grow"
    v1 = put(client, url, b"1")["VersionId"]
    put(client, url, b"1234")
    assert conn.size(url) == 4
    assert conn.size(url, version_id=v1) == 1


# etag / etag_matches / md5 --------------------------------------------------------


def test_etag_s3_is_unquoted_md5(conn, client, s3dir):
    put(client, s3dir + "e", b"hello")
    assert conn.etag(s3dir + "e") == hashlib.md5(b"hello").hexdigest()
    assert client.head_object(Bucket=split(s3dir)[0], Key=split(s3dir)[1] + "e")["ETag"].startswith('"')


def test_etag_local_small_is_md5(conn, tmp_path):
    (tmp_path / "f").write_bytes(b"hello")
    assert conn.etag(str(tmp_path / "f")) == hashlib.md5(b"hello").hexdigest()
    with pytest.raises(KeyNotFound):
        conn.etag(str(tmp_path / "missing"))


def test_etag_missing_s3_key(conn, s3dir):
    with pytest.raises(KeyNotFound):
        conn.etag(s3dir + "missing")


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    """A local file just over baiji's multipart threshold (17 MiB), and its content."""
    from baiji import integrity

    size = integrity.MULTIPART_THRESHOLD + MiB
    data = os.urandom(size)
    path = tmp_path_factory.mktemp("big") / "big.bin"
    path.write_bytes(data)
    return str(path), data


def test_etag_local_large_is_baiji_multipart_etag(conn, big_file, s3dir):
    from baiji import integrity

    path, data = big_file
    part = integrity.PART_SIZE
    digests = [hashlib.md5(data[i:i + part]).digest() for i in range(0, len(data), part)]
    expected = hashlib.md5(b"".join(digests)).hexdigest() + f"-{len(digests)}"
    assert conn.etag(path) == expected
    # ... and that is what baiji's own upload of the file gets
    conn.cp(path, s3dir + "big.bin")
    assert conn.etag(s3dir + "big.bin") == expected


def test_md5_of_baiji_multipart_upload(conn, big_file, s3dir):
    path, data = big_file
    conn.cp(path, s3dir + "big.bin")
    assert "-" in conn.etag(s3dir + "big.bin")
    assert conn.md5(s3dir + "big.bin") == hashlib.md5(data).hexdigest()


def test_md5_s3_and_local(conn, client, s3dir, tmp_path):
    put(client, s3dir + "m", b"content")
    assert conn.md5(s3dir + "m") == hashlib.md5(b"content").hexdigest()
    (tmp_path / "m").write_bytes(b"content")
    assert conn.md5(str(tmp_path / "m")) == hashlib.md5(b"content").hexdigest()
    with pytest.raises(KeyNotFound):
        conn.md5(s3dir + "missing")
    with pytest.raises(KeyNotFound):
        conn.md5(str(tmp_path / "missing"))


def test_md5_foreign_multipart_raises_value_error(conn, client, s3dir):
    url = s3dir + "foreign.bin"
    foreign_multipart(client, url)
    assert conn.etag(url).endswith("-2")
    with pytest.raises(ValueError, match="(?i)part"):
        conn.md5(url)


def test_etag_matches_s3(conn, client, s3dir):
    url = s3dir + "e"
    put(client, url, b"hello")
    md5 = hashlib.md5(b"hello").hexdigest()
    assert conn.etag_matches(url, md5) is True
    assert conn.etag_matches(url, f'"{md5}"') is True
    assert conn.etag_matches(url, hashlib.md5(b"other").hexdigest()) is False
    with pytest.raises(KeyNotFound):
        conn.etag_matches(s3dir + "missing", md5)


def test_etag_matches_foreign_multipart_s3(conn, client, s3dir):
    url = s3dir + "foreign.bin"
    foreign_multipart(client, url)
    etag = client.head_object(Bucket=split(url)[0], Key=split(url)[1])["ETag"]
    assert conn.etag_matches(url, etag) is True
    assert conn.etag_matches(url, etag.strip('"')) is True
    assert conn.etag_matches(url, hashlib.md5(b"x").hexdigest() + "-2") is False


def test_etag_matches_local(conn, client, s3dir, tmp_path):
    """A local file matches the multipart ETag another tool's 5 MiB-part upload gave it."""
    url = s3dir + "foreign.bin"
    content = foreign_multipart(client, url)
    etag = client.head_object(Bucket=split(url)[0], Key=split(url)[1])["ETag"]
    local = tmp_path / "copy.bin"
    local.write_bytes(content)
    assert conn.etag_matches(str(local), etag) is True
    assert conn.etag_matches(str(local), hashlib.md5(content).hexdigest()) is True
    assert conn.etag_matches(str(local), hashlib.md5(b"x").hexdigest()) is False
    local.write_bytes(content[:-1] + b"\0" if content[-1:] != b"\0" else content[:-1] + b"\1")
    assert conn.etag_matches(str(local), etag) is False
    with pytest.raises(KeyNotFound):
        conn.etag_matches(str(tmp_path / "missing"), etag)


# get_url ------------------------------------------------------------------------


def test_get_url_presigned_fetch(conn, client, s3dir, endpoint_url, server_kind):
    data = os.urandom(1000)
    put(client, s3dir + "dl.bin", data)
    url = conn.get_url(s3dir + "dl.bin", 60)
    parsed = urllib.parse.urlparse(url)
    if server_kind == "aws":
        assert parsed.scheme == "https"
    else:
        assert parsed.scheme == urllib.parse.urlparse(endpoint_url).scheme
    query = urllib.parse.parse_qs(parsed.query)
    assert query.get("X-Amz-Expires") == ["60"] or query.get("Expires")
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.read() == data


def test_get_url_module_function(client, s3dir):
    put(client, s3dir + "dl.txt", b"via module")
    with urllib.request.urlopen(s3.get_url(s3dir + "dl.txt", 300), timeout=30) as resp:
        assert resp.read() == b"via module"


def test_get_url_missing_key(conn, s3dir):
    with pytest.raises(KeyNotFound):
        conn.get_url(s3dir + "missing", 60)


def test_get_url_local_is_invalid_scheme(conn, tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(InvalidSchemeException):
        conn.get_url(str(tmp_path / "f"), 60)


# -- ls: pages, partial segments, shallow; empty prefixes, missing buckets and directories ---------

def test_listing_pages_partial_segments_and_shallow(conn, client, s3dir):
    from concurrent.futures import ThreadPoolExecutor

    keys = [f"dir/file{i:04d} +%.txt" for i in range(1005)] + ["dir/sub/x", "dir/sub/y", "dirt", "di"]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: put(client, s3dir + k, b"x"), keys))
    found = list(conn.ls(s3dir + "dir/"))
    assert len(found) == 1007 and found == sorted(found)
    base = s3dir.split("/", 3)[3]
    assert list(conn.ls(s3dir + "dir")) == ["/" + base + k for k in sorted(keys) if k.startswith("dir")]
    assert list(conn.ls(s3dir + "dir/file100")) == ["/" + base + f"dir/file{i:04d} +%.txt" for i in range(1000, 1005)]
    shallow = list(conn.ls(s3dir + "dir/", shallow=True))
    assert len(shallow) == 1006 and shallow[-1] == "/" + base + "dir/sub/"
    assert list(conn.ls(s3dir, shallow=True)) == ["/" + base + k for k in ("di", "dir/", "dirt")]


def test_ls_of_an_empty_prefix_and_a_missing_bucket(conn, s3dir):
    assert list(conn.ls(s3dir + "nothing-here/")) == []
    status, out, err = run("ls", s3dir + "nothing-here/")
    assert (status, out, err) == (0, b"", "")
    with pytest.raises(BucketNotFound):
        list(conn.ls("s3://baiji-no-such-bucket-here/x"))
    status, out, err = run("ls", "s3://baiji-no-such-bucket-here/x")
    assert status == 1 and err.count("\n") == 1 and "baiji-no-such-bucket-here" in err, err


def test_ls_of_a_missing_local_directory_fails(tmp_path):
    """``s3 ls nonexistent-local-dir`` exited 0 printing nothing (``ls`` says "No such file")."""
    status, out, err = run("ls", tmp_path / "nonexistent")
    assert (status, out) == (1, b"") and "no such file or directory" in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    (tmp_path / "empty").mkdir()
    assert run("ls", tmp_path / "empty") == (0, b"", "")


def test_ls_library_missing_local_directory(conn, tmp_path):
    with pytest.raises(KeyNotFound):
        conn.ls(str(tmp_path / "nonexistent"))


def test_exists_below_a_regular_file_is_false_quietly(tmp_path):
    """``s3 exists a/file/below``: "s3: error: ...: Not a directory"; it does not exist: exit 1, quietly."""
    (tmp_path / "file").write_bytes(b"x")
    assert run("exists", tmp_path / "file" / "below") == (1, b"", "")


# -- md5 of another tool's multipart object --------------------------------------------------------

def test_md5_of_a_foreign_multipart_object_says_what_to_do(conn, client, s3dir):
    bucket, key = split(s3dir + "big")
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"x" * 10)
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    with pytest.raises(ValueError, match="download it and hash the file"):
        conn.md5(s3dir + "big")
