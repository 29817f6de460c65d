"""Small objects and housekeeping: put_string/get_string, touch, encrypt_at_rest,
restore/restore_r, buckets and versioning, path.gettmpdir, path.isdir/isfile
(SPEC 1 and SPEC 2 "Small objects and housekeeping").
"""

from __future__ import annotations

import os
import time
import uuid

import pytest

from support import servers
from baiji import path as paths
from baiji import s3
from baiji.exceptions import InvalidSchemeException, KeyNotFound
from support.helpers import RequestCounter, get, head, missing_bucket, missing_urls, put, split


# Helpers ------------------------------------------------------------------------


def versions_of(client, url) -> list[dict]:
    bucket, key = split(url)
    resp = client.list_object_versions(Bucket=bucket, Prefix=key)
    return [v for v in resp.get("Versions", []) + resp.get("DeleteMarkers", []) if v["Key"] == key]


# put_string / get_string ----------------------------------------------------------


def test_put_string_str_is_utf8(conn, client, s3dir):
    text = "héllo ☃ world"
    conn.put_string(s3dir + "s.txt", text)
    assert get(client, s3dir + "s.txt") == text.encode("utf-8")
    assert conn.get_string(s3dir + "s.txt") == text


def test_put_string_bytes(conn, client, s3dir):
    data = bytes(range(256))
    conn.put_string(s3dir + "b.bin", data)
    assert get(client, s3dir + "b.bin") == data
    assert conn.get_string(s3dir + "b.bin", encoding=None) == data
    assert isinstance(conn.get_string(s3dir + "b.bin", encoding=None), bytes)


def test_get_string_encodings(conn, client, s3dir):
    put(client, s3dir + "latin.txt", "café".encode("latin-1"))
    assert conn.get_string(s3dir + "latin.txt", encoding="latin-1") == "café"
    assert conn.get_string(s3dir + "latin.txt", encoding=None) == "café".encode("latin-1")
    with pytest.raises(UnicodeDecodeError):
        conn.get_string(s3dir + "latin.txt")
    put(client, s3dir + "empty", b"")
    assert conn.get_string(s3dir + "empty") == ""


def test_put_string_replaces_by_default(conn, client, s3dir):
    conn.put_string(s3dir + "k", "one")
    conn.put_string(s3dir + "k", "two")
    assert get(client, s3dir + "k") == b"two"


def test_put_string_replace_false_is_a_noop_when_key_exists(conn, client, s3dir):
    put(client, s3dir + "k", b"original")
    etag = head(client, s3dir + "k")["ETag"]
    conn.put_string(s3dir + "k", "new", replace=False)
    assert get(client, s3dir + "k") == b"original"
    assert head(client, s3dir + "k")["ETag"] == etag
    conn.put_string(s3dir + "fresh", "new", replace=False)
    assert get(client, s3dir + "fresh") == b"new"


def test_put_string_encrypts_by_default(conn, client, s3dir):
    conn.put_string(s3dir + "enc", "x")
    assert head(client, s3dir + "enc").get("ServerSideEncryption") == "AES256"
    conn.put_string(s3dir + "plain", "x", encrypt=False)
    assert not head(client, s3dir + "plain").get("ServerSideEncryption")


def test_put_get_string_local(conn, tmp_path):
    target = tmp_path / "new" / "dir" / "f.txt"
    conn.put_string(str(target), "héllo")
    assert target.read_bytes() == "héllo".encode("utf-8")
    assert conn.get_string(str(target)) == "héllo"
    conn.put_string(str(target), b"\xff\x00")
    assert conn.get_string(str(target), encoding=None) == b"\xff\x00"
    conn.put_string(str(target), "other", replace=False)
    assert target.read_bytes() == b"\xff\x00"


def test_string_module_functions(s3dir, client):
    s3.put_string(s3dir + "m.txt", "module")
    assert get(client, s3dir + "m.txt") == b"module"
    assert s3.get_string(s3dir + "m.txt") == "module"


def test_get_string_missing(conn, s3dir, tmp_path):
    for url in missing_urls(s3dir, tmp_path):
        with pytest.raises(KeyNotFound):
            conn.get_string(url)


# touch ----------------------------------------------------------------------------


def test_touch_s3_creates_empty_object(conn, client, s3dir):
    conn.touch(s3dir + "new")
    assert get(client, s3dir + "new") == b""
    assert head(client, s3dir + "new").get("ServerSideEncryption") == "AES256"


def test_touch_s3_never_truncates(conn, client, s3dir):
    put(client, s3dir + "full", b"precious")
    etag = head(client, s3dir + "full")["ETag"]
    conn.touch(s3dir + "full")
    assert get(client, s3dir + "full") == b"precious"
    assert head(client, s3dir + "full")["ETag"] == etag


def test_touch_s3_encrypt_false(conn, client, s3dir):
    conn.touch(s3dir + "plain", encrypt=False)
    assert not head(client, s3dir + "plain").get("ServerSideEncryption")


def test_touch_local_creates_file_and_parents(conn, tmp_path):
    target = tmp_path / "a" / "b" / "new"
    conn.touch(str(target))
    assert target.read_bytes() == b""


def test_touch_local_never_truncates_and_updates_mtime(conn, tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"precious")
    old = time.time() - 3600
    os.utime(target, (old, old))
    conn.touch(str(target))
    assert target.read_bytes() == b"precious"
    assert target.stat().st_mtime > old + 1800


def test_touch_module_function(s3dir, client):
    s3.touch(s3dir + "t")
    assert get(client, s3dir + "t") == b""


# encrypt_at_rest ------------------------------------------------------------------


def test_encrypt_at_rest_encrypts_in_place(conn, client, s3dir):
    url = s3dir + "data.csv"
    put(client, url, b"a,b\n1,2\n", ContentType="text/csv", Metadata={"color": "blue"})
    assert not head(client, url).get("ServerSideEncryption")
    conn.encrypt_at_rest(url)
    meta = head(client, url)
    assert meta.get("ServerSideEncryption") == "AES256"
    assert get(client, url) == b"a,b\n1,2\n"
    assert meta["ContentType"] == "text/csv"
    assert meta["Metadata"] == {"color": "blue"}
    assert conn.info(url)["encrypted"] is True


def test_encrypt_at_rest_object_written_without_encryption(conn, client, s3dir):
    conn.put_string(s3dir + "k", "plain", encrypt=False)
    assert conn.info(s3dir + "k")["encrypted"] is False
    conn.encrypt_at_rest(s3dir + "k")
    assert conn.info(s3dir + "k")["encrypted"] is True
    assert conn.get_string(s3dir + "k") == "plain"


def test_encrypt_at_rest_already_encrypted_is_a_noop(fault_proxy, client, s3dir):
    conn = fault_proxy.conn
    conn.put_string(s3dir + "k", "enc")
    with RequestCounter(fault_proxy) as counter:
        conn.encrypt_at_rest(s3dir + "k")
    assert counter["HeadObject"] >= 1, counter  # the proxy did see the check
    assert counter.writes() == 0, counter
    assert head(client, s3dir + "k").get("ServerSideEncryption") == "AES256"


def test_encrypt_at_rest_local_is_invalid_scheme(conn, tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(InvalidSchemeException):
        conn.encrypt_at_rest(str(tmp_path / "f"))


def test_encrypt_at_rest_missing(conn, s3dir):
    with pytest.raises(KeyNotFound):
        conn.encrypt_at_rest(s3dir + "missing")


# restore / restore_r --------------------------------------------------------------


def test_restore_undeletes_the_latest_version(conn, client, versioned_bucket):
    url = f"s3://{versioned_bucket}/doc.txt"
    put(client, url, b"one")
    put(client, url, b"two")
    conn.rm(url)
    assert conn.exists(url) is False
    conn.restore(url)
    assert conn.exists(url) is True
    assert get(client, url) == b"two"
    assert not any(v.get("DeleteMarker") or "Size" not in v for v in versions_of(client, url))


def test_restore_removes_only_the_latest_delete_marker(conn, client, versioned_bucket):
    url = f"s3://{versioned_bucket}/twice.txt"
    bucket, key = split(url)
    put(client, url, b"one")
    client.delete_object(Bucket=bucket, Key=key)
    client.delete_object(Bucket=bucket, Key=key)  # a second delete marker on top
    conn.restore(url)
    assert len(versions_of(client, url)) == 2  # the version and the older marker
    assert conn.exists(url) is False
    conn.restore(url)
    assert get(client, url) == b"one"


def test_restore_of_a_live_key_is_a_noop(conn, client, versioned_bucket):
    url = f"s3://{versioned_bucket}/alive.txt"
    put(client, url, b"one")
    put(client, url, b"two")
    # a key sharing the prefix must not be confused with it
    put(client, url + ".bak", b"bak")
    client.delete_object(Bucket=versioned_bucket, Key="alive.txt.bak")
    conn.restore(url)
    assert get(client, url) == b"two"
    assert len(versions_of(client, url)) == 2
    assert conn.exists(url + ".bak") is False


def test_restore_never_existing_key(conn, versioned_bucket):
    with pytest.raises(KeyNotFound):
        conn.restore(f"s3://{versioned_bucket}/never-was")


def test_restore_local_is_invalid_scheme(conn, tmp_path):
    with pytest.raises(InvalidSchemeException):
        conn.restore(str(tmp_path / "x"))
    with pytest.raises(InvalidSchemeException):
        conn.restore_r(str(tmp_path))


def test_restore_r_undeletes_everything_under_a_prefix(conn, client, versioned_bucket):
    base = f"s3://{versioned_bucket}/"
    for key in ["dir/a", "dir/b", "dir/sub/c", "dir/kept", "other/d"]:
        put(client, base + key, key.encode())
    for key in ["dir/a", "dir/sub/c", "other/d"]:
        client.delete_object(Bucket=versioned_bucket, Key=key)
    restored = conn.restore_r(base + "dir/")
    assert sorted(restored) == [base + "dir/a", base + "dir/sub/c"]
    assert get(client, base + "dir/a") == b"dir/a"
    assert get(client, base + "dir/sub/c") == b"dir/sub/c"
    assert conn.exists(base + "other/d") is False
    assert conn.restore_r(base + "dir/") == []


# buckets --------------------------------------------------------------------------


@pytest.fixture
def new_bucket_name(client, server_kind):
    """A bucket name that does not exist yet; whatever bucket it names is deleted afterwards."""
    if server_kind == "aws":
        pytest.skip("does not create buckets on real AWS (global names, slow, costs)")
    name = "baiji-test-new-" + uuid.uuid4().hex[:8]
    yield name
    try:
        servers.delete_bucket(client, name)
    except Exception:
        pass


def test_list_buckets(conn, bucket):
    names = conn.list_buckets()
    assert isinstance(names, list)
    assert all(isinstance(n, str) for n in names)
    assert bucket in names
    assert bucket in s3.list_buckets()


def test_bucket_info_fields(conn, bucket, server_kind):
    info = conn.bucket_info(bucket)
    assert set(info) >= {"name", "location", "versioning_status", "policy", "cors", "lifecycle",
                         "logging_status", "website_configuration", "website_endpoint"}
    assert info["name"] == bucket
    if server_kind != "aws":
        assert info["location"] == "us-east-1"
        assert info["versioning_status"] == "Not Versioned"
        for field in ("policy", "cors", "lifecycle", "logging_status", "website_configuration",
                      "website_endpoint"):
            assert info[field] is None, field


def test_bucket_info_versioning_status(conn, client, versioned_bucket):
    assert conn.bucket_info(versioned_bucket)["versioning_status"] == "Enabled"
    client.put_bucket_versioning(Bucket=versioned_bucket,
                                 VersioningConfiguration={"Status": "Suspended"})
    assert conn.bucket_info(versioned_bucket)["versioning_status"] == "Suspended"


def test_bucket_info_missing_bucket(conn):
    with pytest.raises(KeyNotFound):
        conn.bucket_info(missing_bucket())


def test_create_bucket_versioned_by_default(conn, client, new_bucket_name):
    conn.create_bucket(new_bucket_name)
    assert servers.bucket_exists(client, new_bucket_name)
    assert client.get_bucket_versioning(Bucket=new_bucket_name).get("Status") == "Enabled"
    assert conn.bucket_info(new_bucket_name)["versioning_status"] == "Enabled"
    assert new_bucket_name in conn.list_buckets()


def test_create_bucket_unversioned(conn, client, new_bucket_name):
    conn.create_bucket(new_bucket_name, versioned=False)
    assert servers.bucket_exists(client, new_bucket_name)
    assert client.get_bucket_versioning(Bucket=new_bucket_name).get("Status") is None
    assert conn.bucket_info(new_bucket_name)["versioning_status"] == "Not Versioned"


def test_create_bucket_invalid_name(conn):
    with pytest.raises(ValueError):
        conn.create_bucket("not a bucket")


def test_enable_disable_versioning(conn, client, bucket, server_kind):
    if server_kind == "aws":
        pytest.skip("does not change the versioning of the shared test bucket on AWS")
    conn.enable_versioning(bucket)
    assert client.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled"
    conn.disable_versioning(bucket)
    assert client.get_bucket_versioning(Bucket=bucket).get("Status") == "Suspended"
    assert conn.bucket_info(bucket)["versioning_status"] == "Suspended"
    s3.enable_versioning(bucket)
    assert client.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled"


def test_versioning_missing_bucket(conn):
    with pytest.raises(KeyNotFound):
        conn.enable_versioning(missing_bucket())
    with pytest.raises(KeyNotFound):
        conn.disable_versioning(missing_bucket())


# gettmpdir ------------------------------------------------------------------------


def _prefix(s3dir):
    """A gettmpdir prefix inside the test's own s3dir (cleaned up on aws too)."""
    return paths.key(s3dir) + "tmp/"


def test_gettmpdir_with_bucket(bucket, s3dir, client):
    url = paths.gettmpdir(prefix=_prefix(s3dir), bucket=bucket)
    base = f"s3://{bucket}/{_prefix(s3dir)}"
    assert url.startswith(base) and url.endswith("/")
    uuid.UUID(url[len(base):-1])  # the unique part is a uuid
    assert head(client, url + ".tempdir")["ContentLength"] == 0
    assert paths.isdir(url)
    other = paths.gettmpdir(prefix=_prefix(s3dir), bucket=bucket)
    assert other != url


def test_gettmpdir_suffix(bucket, s3dir, client):
    url = paths.gettmpdir(prefix=_prefix(s3dir), suffix="-scratch", bucket=bucket,
                          uuid_generator=lambda: "fixed")
    assert url == f"s3://{bucket}/{_prefix(s3dir)}fixed-scratch/"
    head(client, url + ".tempdir")


def test_gettmpdir_default_prefix(bucket, client, server_kind):
    if server_kind == "aws":
        pytest.skip("would write outside the test prefix of the shared bucket")
    url = paths.gettmpdir(bucket=bucket)
    assert url.startswith(f"s3://{bucket}/tmp/") and url.endswith("/")
    head(client, url + ".tempdir")


def test_gettmpdir_uses_baiji_tmp_bucket(bucket, s3dir, client, monkeypatch):
    monkeypatch.setenv("BAIJI_TMP_BUCKET", bucket)
    url = paths.gettmpdir(prefix=_prefix(s3dir))
    assert url.startswith(f"s3://{bucket}/{_prefix(s3dir)}")
    head(client, url + ".tempdir")


def test_gettmpdir_explicit_bucket_beats_env(bucket, s3dir, client, monkeypatch):
    monkeypatch.setenv("BAIJI_TMP_BUCKET", missing_bucket())
    url = paths.gettmpdir(prefix=_prefix(s3dir), bucket=bucket)
    assert url.startswith(f"s3://{bucket}/")


@pytest.mark.parametrize("occupant", [".tempdir", "someone-elses-file"])
def test_gettmpdir_retries_when_prefix_is_taken(bucket, s3dir, client, occupant):
    taken = f"s3://{bucket}/{_prefix(s3dir)}taken/"
    put(client, taken + occupant, b"in use")
    handed_out = []

    def uuids():
        value = "taken" if not handed_out else f"fresh{len(handed_out)}"
        handed_out.append(value)
        return value

    url = paths.gettmpdir(prefix=_prefix(s3dir), bucket=bucket, uuid_generator=uuids)
    assert url == f"s3://{bucket}/{_prefix(s3dir)}fresh1/"
    assert handed_out == ["taken", "fresh1"]
    assert get(client, taken + occupant) == b"in use"
    head(client, url + ".tempdir")


def test_gettmpdir_without_bucket_raises_value_error(monkeypatch):
    monkeypatch.delenv("BAIJI_TMP_BUCKET", raising=False)
    with pytest.raises(ValueError):
        paths.gettmpdir()


# path.isdir / path.isfile ---------------------------------------------------------


def test_path_isdir_isfile_s3(client, s3dir):
    put(client, s3dir + "d/f.txt")
    assert paths.isdir(s3dir + "d") is True
    assert paths.isdir(s3dir + "d/") is True
    assert paths.isdir(s3dir + "d/f.txt") is False
    assert paths.isdir(s3dir + "nope") is False
    assert paths.isfile(s3dir + "d/f.txt") is True
    assert paths.isfile(s3dir + "d") is False
    assert paths.isfile(s3dir + "nope") is False
    assert s3.path is paths


def test_path_isdir_isfile_local(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"")
    assert paths.isdir(str(tmp_path / "d")) is True
    assert paths.isdir(str(tmp_path / "d" / "f")) is False
    assert paths.isfile(str(tmp_path / "d" / "f")) is True
    assert paths.isfile(str(tmp_path / "d")) is False
    assert paths.isdir(str(tmp_path / "nope")) is False
    assert paths.isfile(str(tmp_path / "nope")) is False


def test_path_isdir_isfile_missing_bucket():
    """isfile is False in a missing bucket (like exists); isdir is False or BucketNotFound
    (SPEC leaves it open), never True and never a botocore error."""
    assert paths.isfile(f"s3://{missing_bucket()}/dir") is False
    try:
        result = paths.isdir(f"s3://{missing_bucket()}/dir")
    except KeyNotFound:
        return
    assert result is False


# -- touch on s3: the content type -----------------------------------------------------------------

def test_touch_s3_writes_the_default_content_type(conn, client, s3dir):
    conn.touch(s3dir + "marker")
    assert head(client, s3dir + "marker")["ContentType"] == "application/octet-stream"
