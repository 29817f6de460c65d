"""sync_file and sync between every pair of stores (SPEC 2 "Syncing").

The sync *planner* (baiji.sync.plan) has its own tests; these run the whole
operation against the session's real server, set up and check both sides
without baiji (raw boto3 ``client``, plain files), and count the requests
baiji sends with botocore event hooks on ``conn.client``.
"""

from __future__ import annotations

import os
import uuid

import pytest

from baiji import integrity
from baiji import path as paths
from baiji import s3
from baiji.exceptions import KeyNotFound, S3Exception
from support.helpers import RequestCounter, get, head, put, s3_tree, split
from support.helpers import write_url as write
from support.helpers import tree as local_tree


# Helpers ------------------------------------------------------------------------


def read(client, url) -> bytes:
    if paths.isremote(url):
        return get(client, url)
    with open(url, "rb") as f:
        return f.read()


def present(client, url) -> bool:
    if paths.isremote(url):
        bucket, key = split(url)
        resp = client.list_objects_v2(Bucket=bucket, Prefix=key)
        return any(o["Key"] == key for o in resp.get("Contents", []))
    return os.path.exists(url)


def join(base, rel):
    """``rel`` (with '/') below a directory given as an s3 URL ending in '/' or a local path."""
    if paths.isremote(base):
        return base + rel
    return os.path.join(base, *rel.split("/"))


def tree(client, base) -> dict[str, bytes]:
    """Everything below ``base`` as {relative path with '/': content}; s3 keys ending in '/' included."""
    return s3_tree(client, base) if paths.isremote(base) else local_tree(base)


def fill(client, base, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        write(client, join(base, rel), data)


def stamps(base) -> dict[str, tuple]:
    """(inode, mtime_ns) of every local file below ``base``."""
    result = {}
    for dirpath, _, files in os.walk(base):
        for name in files:
            st = os.stat(os.path.join(dirpath, name))
            result[os.path.join(dirpath, name)] = (st.st_ino, st.st_mtime_ns)
    return result


def s3_state(client, base) -> dict[str, tuple]:
    """(ETag, LastModified, VersionId) of every object below an s3 ``base``."""
    bucket, prefix = split(base)
    result = {}
    for obj in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        meta = client.head_object(Bucket=bucket, Key=obj["Key"])
        result[obj["Key"]] = (meta["ETag"], meta["LastModified"], meta.get("VersionId"))
    return result


def state(client, base):
    return s3_state(client, base) if paths.isremote(base) else stamps(base)


KINDS = [("local", "s3"), ("s3", "local"), ("s3", "s3"), ("local", "local")]
IDS = ["local-s3", "s3-local", "s3-s3", "local-local"]


@pytest.fixture(params=KINDS, ids=IDS)
def dirs(request, s3dir, tmp_path):
    """(src_dir, dst_dir) of the kinds in the parameter: s3 dirs end in '/', local ones do not."""
    def make(kind, name):
        return f"{s3dir}{name}/" if kind == "s3" else str(tmp_path / name)

    src_kind, dst_kind = request.param
    return make(src_kind, "src"), make(dst_kind, "dst")


def file_pair(kind_src, kind_dst, s3dir, tmp_path):
    def make(kind, name):
        return f"{s3dir}{name}" if kind == "s3" else str(tmp_path / name)

    return make(kind_src, "src.txt"), make(kind_dst, "dst.txt")


@pytest.fixture(params=KINDS, ids=IDS)
def files(request, s3dir, tmp_path):
    return file_pair(*request.param, s3dir, tmp_path)


# sync_file ----------------------------------------------------------------------


def test_sync_file_copies_when_dst_missing(conn, client, files):
    src, dst = files
    write(client, src, b"content")
    conn.sync_file(src, dst)
    assert read(client, dst) == b"content"


def test_sync_file_updates_changed_content(conn, client, files):
    src, dst = files
    write(client, src, b"new content")
    write(client, dst, b"old")
    conn.sync_file(src, dst)
    assert read(client, dst) == b"new content"


def test_sync_file_updates_same_size_different_content(conn, client, files):
    src, dst = files
    write(client, src, b"aaaa")
    write(client, dst, b"bbbb")
    conn.sync_file(src, dst)
    assert read(client, dst) == b"aaaa"


def test_sync_file_update_false_keeps_dst(conn, client, files):
    src, dst = files
    write(client, src, b"new content")
    write(client, dst, b"old")
    conn.sync_file(src, dst, update=False)
    assert read(client, dst) == b"old"
    os_missing = dst + "-2"
    conn.sync_file(src, os_missing, update=False)  # missing dst: still copied
    assert read(client, os_missing) == b"new content"


def test_sync_file_src_missing_raises(conn, client, files):
    src, dst = files
    write(client, dst, b"dst")
    with pytest.raises(KeyNotFound):
        conn.sync_file(src, dst)
    assert read(client, dst) == b"dst"


def test_sync_file_src_missing_with_delete_removes_dst(conn, client, files):
    src, dst = files
    write(client, dst, b"dst")
    conn.sync_file(src, dst, delete=True)
    assert not present(client, dst)
    conn.sync_file(src, dst, delete=True)  # both missing: nothing to do, no error
    assert not present(client, dst)


def test_sync_file_equal_contents_writes_nothing(fault_proxy, client, files):
    conn = fault_proxy.conn
    src, dst = files
    write(client, src, b"same")
    write(client, dst, b"same")
    before = state(client, dst if paths.isremote(dst) else os.path.dirname(dst))
    with RequestCounter(fault_proxy) as counter:
        conn.sync_file(src, dst)
    if paths.isremote(src) or paths.isremote(dst):
        assert counter.ops, "the proxy saw no request"
    assert counter.writes() == 0, counter
    assert counter["GetObject"] == 0, counter
    assert state(client, dst if paths.isremote(dst) else os.path.dirname(dst)) == before


def test_sync_file_module_function(client, s3dir, tmp_path):
    src = tmp_path / "f.txt"
    src.write_bytes(b"module")
    s3.sync_file(str(src), s3dir + "f.txt")
    assert read(client, s3dir + "f.txt") == b"module"


def test_sync_file_upload_options(conn, client, s3dir, tmp_path):
    src = tmp_path / "page"
    src.write_bytes(b"<!DOCTYPE html><html></html>")
    conn.sync_file(str(src), s3dir + "enc")
    bucket, key = split(s3dir)
    assert client.head_object(Bucket=bucket, Key=key + "enc").get("ServerSideEncryption") == "AES256"
    conn.sync_file(str(src), s3dir + "plain", encrypt=False, encoding="identity")
    meta = client.head_object(Bucket=bucket, Key=key + "plain")
    assert not meta.get("ServerSideEncryption")
    assert meta.get("ContentEncoding") == "identity"


# sync -----------------------------------------------------------------------------


SRC_FILES = {
    "a.txt": b"new content of a",
    "same.txt": b"identical",
    "same-size.txt": b"aaaa",
    "sub/b.txt": b"b",
    "sub/deep/c.txt": b"c" * 100,
}
DST_FILES = {
    "a.txt": b"old",
    "same.txt": b"identical",
    "same-size.txt": b"bbbb",
    "extra.txt": b"not in src",
    "sub/old.txt": b"old",
}


def test_sync_mirrors_src(conn, client, dirs):
    src, dst = dirs
    fill(client, src, SRC_FILES)
    fill(client, dst, DST_FILES)
    conn.sync(src, dst)
    assert tree(client, dst) == SRC_FILES
    assert tree(client, src) == SRC_FILES


def test_sync_into_missing_dst(conn, client, dirs):
    src, dst = dirs
    fill(client, src, SRC_FILES)
    conn.sync(src, dst)
    assert tree(client, dst) == SRC_FILES


def test_sync_dir_urls_with_and_without_trailing_slash(conn, client, s3dir, tmp_path):
    fill(client, s3dir + "src/", SRC_FILES)
    conn.sync(s3dir + "src", str(tmp_path / "dst") + "/")
    assert tree(client, str(tmp_path / "dst")) == SRC_FILES
    conn.sync(str(tmp_path / "dst") + "/", s3dir + "copy")
    assert tree(client, s3dir + "copy/") == SRC_FILES
    assert not present(client, s3dir + "copya.txt")


def test_sync_unchanged_files_are_not_rewritten(conn, client, dirs):
    src, dst = dirs
    fill(client, src, SRC_FILES)
    fill(client, dst, DST_FILES)
    same = join(dst, "same.txt")
    before = state(client, same if paths.isremote(dst) else dst)
    conn.sync(src, dst)
    after = state(client, same if paths.isremote(dst) else dst)
    if paths.isremote(dst):
        assert after == before
    else:
        assert after[same] == before[same]


@pytest.mark.parametrize("form", ["relative", "full"])
def test_sync_do_not_delete(conn, client, dirs, form):
    src, dst = dirs
    fill(client, src, {"a.txt": b"a"})
    fill(client, dst, {"keep/x.txt": b"x", "keep/deep/y.txt": b"y", "keeper.txt": b"k",
                       "gone.txt": b"g", "other/z.txt": b"z"})
    prefixes = ["keep/", "keeper"]
    if form == "full":
        prefixes = [join(dst, p) for p in prefixes]  # s3://b/.../dst/keep/, /tmp/.../dst/keep/
    conn.sync(src, dst, do_not_delete=prefixes)
    assert tree(client, dst) == {"a.txt": b"a", "keep/x.txt": b"x", "keep/deep/y.txt": b"y",
                                 "keeper.txt": b"k"}


def test_sync_second_run_copies_nothing_and_heads_nothing(fault_proxy, client, dirs):
    conn = fault_proxy.conn
    src, dst = dirs
    fill(client, src, SRC_FILES)
    fill(client, dst, DST_FILES)
    remote = paths.isremote(src) or paths.isremote(dst)
    with RequestCounter(fault_proxy) as first:
        conn.sync(src, dst)
    assert first["HeadObject"] == 0, first  # decided from listings only
    # the proxy does see the copies: writes to an s3 dst, downloads from an s3 src
    if paths.isremote(dst):
        assert first.writes() > 0, first
    elif paths.isremote(src):
        assert first["GetObject"] > 0, first
    before = state(client, dst)
    with RequestCounter(fault_proxy) as second:
        conn.sync(src, dst)
    assert second["ListObjectsV2"] >= 1 or not remote, second
    assert second["HeadObject"] == 0, second
    assert second.writes() == 0, second
    assert second["GetObject"] == 0, second
    assert state(client, dst) == before
    assert tree(client, dst) == SRC_FILES


def test_sync_s3_directory_markers_are_ignored(conn, client, s3dir, tmp_path, server_kind):
    src = s3dir + "src/"
    fill(client, src, {"a.txt": b"a", "marker/": b"", "sub/": b"", "sub/b.txt": b"b"})
    local = str(tmp_path / "dst")
    conn.sync(src, local)
    assert tree(client, local) == {"a.txt": b"a", "sub/b.txt": b"b"}
    assert not os.path.isfile(os.path.join(local, "marker"))
    dst = s3dir + "dst/"
    fill(client, dst, {"empty-dir/": b""})
    conn.sync(src, dst)
    got = tree(client, dst)
    assert got["a.txt"] == b"a" and got["sub/b.txt"] == b"b"
    assert "marker/" not in got  # not copied
    assert "empty-dir/" in got  # and not deleted
    conn.sync(local, dst)
    assert "empty-dir/" in tree(client, dst)


@pytest.mark.parametrize("side", ["src", "dst"])
def test_sync_local_side_that_is_a_file_raises_value_error(conn, client, s3dir, tmp_path, side):
    a_file = tmp_path / "file"
    a_file.write_bytes(b"x")
    fill(client, s3dir + "d/", {"a.txt": b"a"})
    with pytest.raises(ValueError):
        if side == "src":
            conn.sync(str(a_file), s3dir + "d/")
        else:
            conn.sync(s3dir + "d/", str(a_file))
    assert a_file.read_bytes() == b"x"
    assert tree(client, s3dir + "d/") == {"a.txt": b"a"}
    with pytest.raises(ValueError):
        conn.sync(str(a_file), str(tmp_path / "elsewhere"))


def test_sync_missing_local_src_raises_value_error(conn, s3dir, tmp_path):
    with pytest.raises(ValueError):
        conn.sync(str(tmp_path / "nope"), s3dir + "d/")


@pytest.mark.parametrize("kinds", [("local", "s3"), ("s3", "local"), ("local", "local")],
                         ids=["local-s3", "s3-local", "local-local"])
def test_sync_hashes_local_files_only_when_sizes_are_equal(conn, client, s3dir, tmp_path,
                                                          monkeypatch, kinds):
    hashed = []
    for name in ("md5_file", "digests", "file_matches_etag", "local_etag"):
        real = getattr(integrity, name)

        def spy(path, *args, _real=real, **kwargs):
            hashed.append(os.path.abspath(path))
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(integrity, name, spy)
    import filecmp

    real_cmp = filecmp.cmp

    def cmp_spy(a, b, *args, **kwargs):
        hashed.extend([os.path.abspath(a), os.path.abspath(b)])
        return real_cmp(a, b, *args, **kwargs)

    monkeypatch.setattr(filecmp, "cmp", cmp_spy)

    def make(kind, name):
        return f"{s3dir}{name}/" if kind == "s3" else str(tmp_path / name)

    src, dst = make(kinds[0], "src"), make(kinds[1], "dst")
    fill(client, src, {"equal.txt": b"same", "bigger.txt": b"longer content", "new.txt": b"n"})
    fill(client, dst, {"equal.txt": b"same", "bigger.txt": b"short", "gone.txt": b"g"})
    conn.sync(src, dst)
    assert tree(client, dst) == {"equal.txt": b"same", "bigger.txt": b"longer content",
                                 "new.txt": b"n"}
    local_sides = [d for d in (src, dst) if not paths.isremote(d)]
    final_paths = {os.path.abspath(join(d, rel)) for d in local_sides
                   for rel in ("equal.txt", "bigger.txt", "new.txt", "gone.txt")}
    # temp files of verified downloads may be hashed; of the synced files only equal.txt
    hashed_files = {p for p in hashed if p in final_paths}
    assert hashed_files  # equal.txt had to be compared: the spies see the hashing
    assert hashed_files <= {os.path.abspath(join(d, "equal.txt")) for d in local_sides}


def test_sync_uploads_are_encrypted_by_default(conn, client, s3dir, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_bytes(b"a")
    conn.sync(str(tmp_path / "src"), s3dir + "enc/")
    conn.sync(str(tmp_path / "src"), s3dir + "plain/", encrypt=False)
    bucket, key = split(s3dir)
    assert client.head_object(Bucket=bucket, Key=key + "enc/a.txt").get("ServerSideEncryption") == "AES256"
    assert not client.head_object(Bucket=bucket, Key=key + "plain/a.txt").get("ServerSideEncryption")


def test_sync_module_function(client, s3dir, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_bytes(b"a")
    s3.sync(str(tmp_path / "src"), s3dir + "m/")
    assert tree(client, s3dir + "m/") == {"a.txt": b"a"}


@pytest.mark.moto_only(reason="SeaweedFS refuses keys with '..' and rewrites '//' in keys")
def test_sync_refuses_hostile_keys_for_local_destinations(conn, client, s3dir, tmp_path):
    src = s3dir + "src/"
    abs_name = f"baiji-test-abs-{uuid.uuid4().hex[:8]}.txt"
    fill(client, src, {"ok.txt": b"ok", "../../evil.txt": b"evil", "/" + abs_name: b"abs",
                       "a/./b.txt": b"dot"})
    base = tmp_path / "inner"
    dst = base / "dst"
    try:
        with pytest.raises(S3Exception) as info:
            conn.sync(src, str(dst))
        message = str(info.value)
        assert "evil.txt" in message and abs_name in message
        assert tree(client, str(dst)) == {"ok.txt": b"ok"}
        for dirpath, _, names in os.walk(tmp_path):
            assert "evil.txt" not in names, dirpath
        assert not os.path.exists(os.path.join("/", abs_name))
    finally:
        if os.path.exists(os.path.join("/", abs_name)):
            os.remove(os.path.join("/", abs_name))
    # s3 -> s3 copies the same keys verbatim: nothing is written outside an s3 "directory"
    conn.sync(src, s3dir + "copy/")
    assert set(tree(client, s3dir + "copy/")) == set(tree(client, src))


# -- options sync_file and sync pass on ------------------------------------------------------------

def test_sync_file_guesses_the_content_type_when_asked(conn, client, s3dir, tmp_path):
    (tmp_path / "page.html").write_bytes(b"<p>hi</p>")
    conn.sync_file(str(tmp_path / "page.html"), s3dir + "page.html", guess_content_type=True)
    assert head(client, s3dir + "page.html")["ContentType"] == "text/html"


@pytest.mark.moto_only("SeaweedFS records no public-read grant")
def test_sync_file_applies_the_policy(conn, client, s3dir, tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    conn.sync_file(str(tmp_path / "f"), s3dir + "f", policy="public-read")
    bucket, key = split(s3dir + "f")
    grants = client.get_object_acl(Bucket=bucket, Key=key)["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") and g["Permission"] == "READ" for g in grants)


@pytest.mark.moto_only("SeaweedFS records no public-read grant")
def test_sync_applies_the_policy(conn, client, s3dir, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_bytes(b"x")
    conn.sync(str(tmp_path / "src"), s3dir, policy="public-read")
    bucket, key = split(s3dir + "f")
    grants = client.get_object_acl(Bucket=bucket, Key=key)["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") and g["Permission"] == "READ" for g in grants)


def test_sync_runs_its_copies_on_the_executor_given(conn, client, s3dir, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    class Counting(ThreadPoolExecutor):
        submitted = 0

        def submit(self, fn, *args, **kwargs):
            Counting.submitted += 1
            return super().submit(fn, *args, **kwargs)

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_bytes(b"x")
    with Counting(2) as executor:
        conn.sync(str(tmp_path / "src"), s3dir, executor=executor)
    assert Counting.submitted >= 1 and get(client, s3dir + "f") == b"x"


# -- s3-to-s3 sync decides from ETags, then from recorded MD5s -------------------------------------

def _foreign_multipart(client, url: str, data: bytes) -> None:
    """An object uploaded in one part by another tool: a multipart ETag, no baiji-md5."""
    bucket, key = split(url)
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=data)
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})


def test_s3_sync_copies_an_equal_sized_object_whose_content_differs(conn, client, s3dir):
    _foreign_multipart(client, s3dir + "src/k", b"new content")
    put(client, s3dir + "dst/k", b"old content")
    conn.sync(s3dir + "src/", s3dir + "dst/")
    assert get(client, s3dir + "dst/k") == b"new content"


def test_s3_sync_takes_equal_multipart_etags_as_the_same_content(fault_proxy, client, s3dir):
    _foreign_multipart(client, s3dir + "src/k", b"same content")
    _foreign_multipart(client, s3dir + "dst/k", b"same content")
    with RequestCounter(fault_proxy) as requests:
        fault_proxy.conn.sync(s3dir + "src/", s3dir + "dst/")
    assert requests["ListObjectsV2"] >= 2, requests  # the proxy did see the sync
    assert requests.writes() == 0, requests


# -- a failure message counts what was tried -------------------------------------------------------

def test_sync_failure_message_counts_what_was_tried(conn, s3dir, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a").write_bytes(b"a")
    os.mkfifo(tmp_path / "src" / "fifo")
    with pytest.raises(S3Exception) as info:
        conn.sync(str(tmp_path / "src"), s3dir)
    assert str(info.value).startswith("1 of 2 files to sync failed: ")
    assert str(info.value).endswith("fifo: special file (FIFO)")
