"""s3.open(): local files and s3 keys, read/write/exclusive, temp files, versions."""

from __future__ import annotations

import os
import stat
import subprocess
import uuid

import pytest

from baiji import s3
from baiji.exceptions import InvalidVersionID, KeyExists, KeyNotFound
from baiji.exceptions import S3Exception
from support.helpers import get, key_exists, keys_under, missing_bucket, put


def _leftovers(tmp) -> list:
    return sorted(os.listdir(tmp))


# -- mode validation -------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["rw", "q", "rbt", "", "rr", "wx", "bt", "b", "+", "rB", "r ", 7])
def test_invalid_mode_s3(conn, s3dir, mode):
    with pytest.raises(ValueError):
        conn.open(s3dir + "k", mode)


@pytest.mark.parametrize("mode", ["rw", "q", "rbt", ""])
def test_invalid_mode_local(conn, tmp_path, mode):
    path = tmp_path / "f"
    path.write_text("x")
    with pytest.raises(ValueError):
        conn.open(str(path), mode)


@pytest.mark.parametrize("mode", ["a", "ab", "at", "r+", "rb+", "w+", "x+", "a+"])
def test_unsupported_s3_modes(conn, s3dir, client, mode, tmpdir_env):
    put(client, s3dir + "k", b"content")
    with pytest.raises(NotImplementedError):
        conn.open(s3dir + "k", mode)
    assert get(client, s3dir + "k") == b"content"
    assert _leftovers(tmpdir_env) == []


@pytest.mark.parametrize("url", ["http://example.com/x", "gs://bucket/x"])
def test_open_bad_scheme(conn, url):
    with pytest.raises(s3.InvalidSchemeException):
        conn.open(url)
    with pytest.raises(s3.InvalidSchemeException):
        conn.open(url, "w")


# -- local files --------------------------------------------------------------------------

def test_local_write_then_read_text(conn, tmp_path):
    path = str(tmp_path / "sub" / "dir" / "f.txt")  # parents created for output modes
    with conn.open(path, "w") as f:
        f.write("héllo\nworld\n")
    with conn.open(path) as f:
        assert f.read() == b"h\xc3\xa9llo\nworld\n"  # default mode rb
    with conn.open(path, "r", ) as f:
        assert f.readlines() == ["héllo\n", "world\n"]
    assert f.name == path


def test_local_binary_and_append(conn, tmp_path):
    path = str(tmp_path / "f.bin")
    with conn.open(path, "wb") as f:
        f.write(b"\x00\x01")
    with conn.open(path, "ab") as f:
        f.write(b"\x02")
    with conn.open(path, "r+b") as f:
        f.seek(1)
        f.write(b"\xff")
    with open(path, "rb") as f:
        assert f.read() == b"\x00\xff\x02"


def test_local_read_missing(conn, tmp_path):
    with pytest.raises(KeyNotFound):
        conn.open(str(tmp_path / "missing"))
    with pytest.raises(KeyNotFound):
        conn.open(str(tmp_path / "missing"), "rt")


def test_local_exclusive(conn, tmp_path):
    path = tmp_path / "f"
    with conn.open(str(path), "x") as f:
        f.write("one")
    assert path.read_text() == "one"
    with pytest.raises(KeyExists):
        conn.open(str(path), "x")
    with pytest.raises(KeyExists):
        conn.open(str(path), "xb")
    assert path.read_text() == "one"


@pytest.mark.parametrize("mode", ["r", "rb", "w", "x", "a"])
def test_local_directory(conn, tmp_path, mode):
    with pytest.raises(IsADirectoryError):
        conn.open(str(tmp_path), mode)
    with pytest.raises(IsADirectoryError):
        conn.open(str(tmp_path) + os.sep, mode)


def test_local_file_url(conn, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    with conn.open("file://" + str(path)) as f:
        assert f.read() == b"abc"


def test_local_has_no_remotename(conn, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    with conn.open(str(path)) as f:
        assert not hasattr(f, "remotename")


# -- s3 read and write ---------------------------------------------------------------------

def test_s3_write_then_read_text(conn, s3dir, client, tmpdir_env):
    key = s3dir + "notes.txt"
    with conn.open(key, "w") as f:
        f.write("héllo\n")
        f.write("wörld\n")
        assert f.remotename == key
        assert os.path.dirname(f.name) == str(tmpdir_env)
        assert f.name.endswith(".txt")  # the key's extension is kept
        assert os.path.exists(f.name)
    assert get(client, key) == "héllo\nwörld\n".encode("utf-8")
    with conn.open(key, "r") as f:
        assert f.read() == "héllo\nwörld\n"
        assert f.remotename == key
        assert f.name.endswith(".txt")
    assert _leftovers(tmpdir_env) == []


def test_s3_write_then_read_binary(conn, s3dir, client, tmpdir_env):
    key = s3dir + "data.bin"
    payload = bytes(range(256)) * 10
    with conn.open(key, "wb") as f:
        f.write(payload)
    assert get(client, key) == payload
    with conn.open(key, "rb") as f:
        assert f.read() == payload
    with conn.open(key) as f:  # default mode is rb
        assert f.read(3) == b"\x00\x01\x02"
    assert _leftovers(tmpdir_env) == []


def test_s3_read_file_api(conn, s3dir, client, tmpdir_env):
    key = s3dir + "lines.txt"
    put(client, key, b"one\ntwo\nthree\n")
    with conn.open(key, "r") as f:
        assert list(f) == ["one\n", "two\n", "three\n"]
        f.seek(0)
        assert f.readline() == "one\n"
        assert f.readlines() == ["two\n", "three\n"]
        f.seek(4)
        assert f.read(3) == "two"
        assert f.tell() == 7
    with conn.open(key, "rb") as f:
        assert f.readlines() == [b"one\n", b"two\n", b"three\n"]
    assert f.closed
    assert _leftovers(tmpdir_env) == []


def test_s3_read_next(conn, s3dir, client):
    key = s3dir + "lines.txt"
    put(client, key, b"one\ntwo\n")
    with conn.open(key, "r") as f:
        assert next(f) == "one\n"
        assert next(f) == "two\n"
        with pytest.raises(StopIteration):
            next(f)


def test_s3_explicit_close(conn, s3dir, client, tmpdir_env):
    key = s3dir + "k"
    f = conn.open(key, "wb")
    f.write(b"abc")
    assert not f.closed
    f.close()
    assert f.closed
    f.close()  # idempotent
    assert get(client, key) == b"abc"
    r = conn.open(key)
    assert r.read() == b"abc"
    r.close()
    assert r.closed
    assert _leftovers(tmpdir_env) == []


def test_s3_temp_files_owner_only(conn, s3dir, client, tmpdir_env):
    key = s3dir + "secret.txt"
    with conn.open(key, "w") as f:
        assert stat.S_IMODE(os.stat(f.name).st_mode) == 0o600
        f.write("s")
    with conn.open(key, "r") as f:
        assert stat.S_IMODE(os.stat(f.name).st_mode) == 0o600
    with conn.open(s3dir + "new", "x") as f:
        assert stat.S_IMODE(os.stat(f.name).st_mode) == 0o600


def test_s3_temp_in_system_tmp_without_baiji_tmp(conn, s3dir, client, monkeypatch):
    import tempfile

    monkeypatch.delenv("BAIJI_TMP", raising=False)
    with conn.open(s3dir + "k.json", "w") as f:
        assert os.path.dirname(f.name) == tempfile.gettempdir()
        name = f.name
        f.write("{}")
    assert not os.path.exists(name)


def test_s3_baiji_tmp_created_if_missing(conn, s3dir, tmp_path, monkeypatch):
    target = tmp_path / "not" / "yet"
    monkeypatch.setenv("BAIJI_TMP", str(target))
    with conn.open(s3dir + "k", "w") as f:
        assert os.path.dirname(f.name) == str(target)
        f.write("x")
    assert os.listdir(target) == []


def test_s3_read_missing_key(conn, s3dir, tmpdir_env):
    with pytest.raises(KeyNotFound):
        conn.open(s3dir + "missing.txt")
    with pytest.raises(KeyNotFound):
        conn.open(s3dir + "missing.txt", "r")
    assert _leftovers(tmpdir_env) == []


def test_s3_read_missing_bucket(conn, tmpdir_env):
    with pytest.raises(KeyNotFound):
        conn.open(f"s3://{missing_bucket()}/k")
    assert _leftovers(tmpdir_env) == []


def test_s3_write_block_raises_uploads_nothing(conn, s3dir, client, tmpdir_env):
    key = s3dir + "never.txt"
    with pytest.raises(RuntimeError, match="boom"):
        with conn.open(key, "w") as f:
            f.write("partial")
            raise RuntimeError("boom")
    assert not key_exists(client, key)
    assert f.closed
    assert _leftovers(tmpdir_env) == []


def test_s3_write_block_raises_keeps_old_content(conn, s3dir, client, tmpdir_env):
    key = s3dir + "old.txt"
    put(client, key, b"old")
    with pytest.raises(KeyboardInterrupt):
        with conn.open(key, "wb") as f:
            f.write(b"new")
            raise KeyboardInterrupt
    assert get(client, key) == b"old"
    assert _leftovers(tmpdir_env) == []


def test_s3_read_block_raises_removes_temp(conn, s3dir, client, tmpdir_env):
    key = s3dir + "r.txt"
    put(client, key, b"abc")
    with pytest.raises(ZeroDivisionError):
        with conn.open(key) as f:
            assert os.path.exists(f.name)
            1 / 0
    assert _leftovers(tmpdir_env) == []
    assert get(client, key) == b"abc"


def test_s3_write_replaces(conn, s3dir, client):
    key = s3dir + "k"
    put(client, key, b"old")
    with conn.open(key, "wb") as f:
        f.write(b"new")
    assert get(client, key) == b"new"


def test_s3_write_empty(conn, s3dir, client):
    key = s3dir + "empty"
    with conn.open(key, "wb"):
        pass
    assert get(client, key) == b""


def test_s3_write_upload_fails_missing_bucket(conn, server_kind, tmpdir_env):
    if server_kind == "seaweedfs":
        pytest.skip("SeaweedFS creates a missing bucket on PUT")
    key = f"s3://{missing_bucket()}/k"
    f = conn.open(key, "w")
    f.write("x")
    with pytest.raises(KeyNotFound):
        f.close()
    assert f.closed
    assert _leftovers(tmpdir_env) == []


def test_s3_write_is_encrypted_octet_stream(conn, s3dir, client):
    key = s3dir + "blob"
    with conn.open(key, "wb") as f:
        f.write(b"x")
    bucket, name = key[5:].split("/", 1)
    head = client.head_object(Bucket=bucket, Key=name)
    assert head.get("ServerSideEncryption") == "AES256"
    assert head["ContentType"] == "application/octet-stream"


def test_s3_read_large_multipart_object(conn, s3dir, tmp_path, client):
    """An object uploaded in parts (md5 in metadata) reads back verified."""
    data = os.urandom(11 * 1024 * 1024)
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    key = s3dir + "big.bin"
    conn.cp(str(local), key, max_size=5 * 1024 * 1024)
    with conn.open(key) as f:
        assert f.read() == data


# -- exclusive create ('x') ----------------------------------------------------------------

def test_s3_exclusive_placeholder_then_content(conn, s3dir, client, tmpdir_env):
    key = s3dir + "claimed.txt"
    with conn.open(key, "x") as f:
        assert conn.exists(key)
        assert get(client, key) == b""  # the empty placeholder
        assert f.remotename == key
        f.write("mine")
    assert get(client, key) == b"mine"
    assert _leftovers(tmpdir_env) == []


def test_s3_exclusive_binary(conn, s3dir, client):
    key = s3dir + "claimed.bin"
    with conn.open(key, "xb") as f:
        f.write(b"\x00\x01")
    assert get(client, key) == b"\x00\x01"


def test_s3_exclusive_existing_key(conn, s3dir, client, tmpdir_env):
    key = s3dir + "taken"
    put(client, key, b"someone else's")
    with pytest.raises(KeyExists):
        conn.open(key, "x")
    with pytest.raises(KeyExists):
        conn.open(key, "xt")
    assert get(client, key) == b"someone else's"
    assert _leftovers(tmpdir_env) == []


def test_s3_exclusive_existing_empty_key(conn, s3dir, client):
    key = s3dir + "empty"
    put(client, key, b"")
    with pytest.raises(KeyExists):
        conn.open(key, "x")
    assert conn.exists(key)


def test_s3_exclusive_second_writer_refused(conn, s3dir, client):
    key = s3dir + "race"
    with conn.open(key, "x") as f:
        with pytest.raises(KeyExists):
            conn.open(key, "x")
        f.write("first")
    assert get(client, key) == b"first"


def test_s3_exclusive_block_raises_removes_placeholder(conn, s3dir, client, tmpdir_env):
    key = s3dir + "abandoned"
    with pytest.raises(ValueError, match="nope"):
        with conn.open(key, "x") as f:
            f.write("half")
            assert key_exists(client, key)
            raise ValueError("nope")
    assert not key_exists(client, key)
    assert _leftovers(tmpdir_env) == []


def test_s3_exclusive_block_raises_keeps_foreign_content(conn, s3dir, client):
    """The placeholder is removed only while it is still the empty one baiji wrote."""
    key = s3dir + "overwritten"
    with pytest.raises(ValueError):
        with conn.open(key, "x"):
            put(client, key, b"written by another process")
            raise ValueError
    assert get(client, key) == b"written by another process"


def test_s3_exclusive_missing_bucket(conn, server_kind, tmpdir_env):
    if server_kind == "seaweedfs":
        pytest.skip("SeaweedFS creates a missing bucket on PUT")
    with pytest.raises(KeyNotFound):
        conn.open(f"s3://{missing_bucket()}/k", "x")
    assert _leftovers(tmpdir_env) == []


def test_module_open_uses_default_connection(s3dir, client, tmpdir_env):
    key = s3dir + "module.txt"
    with s3.open(key, "w") as f:
        f.write("via module")
    with s3.open(key, "r") as f:
        assert f.read() == "via module"
    assert get(client, key) == b"via module"
    assert _leftovers(tmpdir_env) == []


# -- versions ---------------------------------------------------------------------------------

@pytest.fixture
def two_versions(versioned_bucket, client):
    key = f"v-{uuid.uuid4().hex[:8]}.txt"
    v1 = client.put_object(Bucket=versioned_bucket, Key=key, Body=b"first")["VersionId"]
    v2 = client.put_object(Bucket=versioned_bucket, Key=key, Body=b"second")["VersionId"]
    assert v1 != v2
    return f"s3://{versioned_bucket}/{key}", v1, v2


def test_s3_read_versions(conn, two_versions, tmpdir_env):
    url, v1, v2 = two_versions
    with conn.open(url, version_id=v1) as f:
        assert f.read() == b"first"
    with conn.open(url, "r", version_id=v2) as f:
        assert f.read() == "second"
    with conn.open(url) as f:
        assert f.read() == b"second"
    assert _leftovers(tmpdir_env) == []


def test_s3_read_version_of_deleted_key(conn, two_versions, client):
    url, v1, _ = two_versions
    bucket, key = url[5:].split("/", 1)
    client.delete_object(Bucket=bucket, Key=key)  # a delete marker
    with pytest.raises(KeyNotFound):
        conn.open(url)
    with conn.open(url, version_id=v1) as f:
        assert f.read() == b"first"


def _other_version(version_id: str) -> str:
    """A well-formed version id that does not exist: the last character changed."""
    last = version_id[-1]
    repl = "A" if last != "A" else "B"
    if last.isdigit():
        repl = "0" if last != "0" else "1"
    elif last.lower() in "abcdef" and all(c in "0123456789abcdef-" for c in version_id.lower()):
        repl = "a" if last.lower() != "a" else "b"
    return version_id[:-1] + repl


def test_s3_read_unknown_version(conn, two_versions, tmpdir_env):
    url, v1, _ = two_versions
    with pytest.raises(KeyNotFound):
        conn.open(url, version_id=_other_version(v1))
    assert _leftovers(tmpdir_env) == []


def test_s3_read_malformed_version(conn, two_versions, server_kind, tmpdir_env):
    if server_kind != "aws":
        pytest.skip(f"{server_kind} answers 404 NoSuchVersion for a malformed version id "
                    "(AWS answers 400 InvalidArgument)")
    url, _, _ = two_versions
    with pytest.raises(InvalidVersionID):
        conn.open(url, version_id="not a version!")
    assert _leftovers(tmpdir_env) == []


def test_s3_read_malformed_version_is_an_error(conn, two_versions, tmpdir_env):
    """Whatever the server calls it, a malformed id is refused with a baiji error."""
    url, _, _ = two_versions
    with pytest.raises((InvalidVersionID, KeyNotFound)):
        conn.open(url, version_id="not-a-version")
    assert _leftovers(tmpdir_env) == []


# -- writing what is no key: a key ending in /, a bucket's root ------------------------------------

@pytest.mark.parametrize("mode", ["w", "wb", "x"])
def test_open_for_writing_a_key_ending_in_slash_is_refused(conn, client, s3dir, mode):
    """``s3.open('s3://b/dir/', 'w')`` uploaded the content to ``dir/.baiji-<pid>-<random>``
    (the temp file's name), no error.  A key ending in / is no file name: refused,
    nothing written."""
    with pytest.raises((ValueError, IsADirectoryError, S3Exception)):
        with conn.open(s3dir + "dir/", mode) as f:
            f.write(b"data" if "b" in mode else "data")
    assert keys_under(client, s3dir) == []


def test_writing_a_bucket_url_with_open_or_put_string_is_refused(conn, client, bucket):
    """``s3.open('s3://b', 'w')`` and ``put_string('s3://b', ...)`` sent PutObject with the
    key '' (CreateBucket on the wire): the content went nowhere, no error."""
    with pytest.raises((ValueError, IsADirectoryError)):
        with conn.open(f"s3://{bucket}", "w") as f:
            f.write("data")
    with pytest.raises(IsADirectoryError):
        conn.put_string(f"s3://{bucket}", "data")
    assert keys_under(client, f"s3://{bucket}/") == []


# -- a write failing at close ----------------------------------------------------------------------

def test_open_write_failing_at_close_leaves_no_temp_file(conn, client, s3dir, tmp_path, monkeypatch):
    """A write to an s3 key whose temp file's last flush fails (a full BAIJI_TMP) raised,
    but left the temp file behind for good, keeping the disk full."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    full = tmp_path / "full"
    full.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(full)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        monkeypatch.setenv("BAIJI_TMP", str(full))
        f = conn.open(s3dir + "k.bin", "wb")
        f.write(b"x" * 60000)  # bigger than the buffer: written at once, fits
        f.write(b"y" * 6000)  # buffered: the flush at close fails
        with pytest.raises(OSError):
            f.close()
        assert os.listdir(full) == []
        assert keys_under(client, s3dir) == []
    finally:
        subprocess.run(["umount", "-l", str(full)])
