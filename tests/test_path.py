"""baiji.path (SPEC section 1): pure URL and path logic, no server needed.

The last few tests (isdir/isfile/gettmpdir on s3) use the session server and
skip until ``baiji.s3`` exists.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import ParseResult

import pytest

from baiji import path

HOME = os.path.expanduser("~")

# Keys S3 allows and ``ls`` may print: all must round-trip literally.
LITERAL_KEYS = [
    "a/b",
    "with space/and  two",
    "q?uery",
    "frag#ment",
    "semi;colon",
    "per%20cent",
    "per%2Fcent%",
    "plus+sign",
    "double//slash",
    "//leading",
    "trailing//",
    "dots/../and/./more",
    "back\\slash",
    "unicode/名字/é/😀",
    "all ?#;%+ //é",
    "=&@$!*'(),[]{}|^`<>~\"",
]


def parts(s):
    return tuple(path.parse(s)[:3])


# parse -------------------------------------------------------------------------------


def test_sep():
    assert path.sep == "/"


def test_parse_returns_a_parse_result():
    result = path.parse("s3://bucket/a/b")
    assert isinstance(result, ParseResult)
    assert (result.scheme, result.netloc, result.path) == ("s3", "bucket", "/a/b")


@pytest.mark.parametrize("url, expected", [
    ("s3://bucket/a/b", ("s3", "bucket", "/a/b")),
    ("s3://bucket/a/b/", ("s3", "bucket", "/a/b/")),
    ("s3://b", ("s3", "b", "")),
    ("s3://b/", ("s3", "b", "/")),
    ("s3://xx", ("s3", "xx", "")),  # too short for a real bucket: the server judges
    ("s3://My.Bucket-name_1/k", ("s3", "My.Bucket-name_1", "/k")),
])
def test_parse_s3(url, expected):
    assert parts(url) == expected


@pytest.mark.parametrize("key", LITERAL_KEYS)
def test_parse_s3_keys_literally(key):
    url = f"s3://bucket/{key}"
    result = path.parse(url)
    assert (result.scheme, result.netloc, result.path) == ("s3", "bucket", "/" + key)
    assert f"s3://{result.netloc}{result.path}" == url  # round trip
    assert path.bucket(url) == "bucket"
    assert path.isremote(url) and not path.islocal(url)


@pytest.mark.parametrize("local, expected", [
    ("/abs/p", "/abs/p"),
    ("/abs/p/", "/abs/p/"),
    ("/", "/"),
    ("file:///abs/p", "/abs/p"),
    ("file:///abs/p/", "/abs/p/"),
    ("~/p", os.path.join(HOME, "p")),
    ("~", HOME),
])
def test_parse_local_absolute(local, expected):
    assert parts(local) == ("file", "", expected)


def test_parse_local_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cwd = os.getcwd()
    assert parts("rel/p") == ("file", "", os.path.join(cwd, "rel", "p"))
    assert parts("rel/p/") == ("file", "", os.path.join(cwd, "rel", "p") + os.sep)
    assert parts("") == ("file", "", cwd)
    assert parts(".") == ("file", "", cwd)
    assert parts("./x/../y") == ("file", "", os.path.join(cwd, "y"))


@pytest.mark.parametrize("name", [
    "a;b", "a?b", "a#b", "a b", "a%20b", "a+b", "名字.txt", "x:y", "semi;?#all",
])
def test_parse_local_names_literally(name):
    assert parts("/tmp/d/" + name) == ("file", "", "/tmp/d/" + name)
    assert parts("file:///tmp/d/" + name) == ("file", "", "/tmp/d/" + name)
    assert path.islocal("/tmp/d/" + name) and not path.isremote("/tmp/d/" + name)
    assert path.basename("/tmp/d/" + name) == name


@pytest.mark.parametrize("win", ["C:\\x", "c:\\x\\y", "C:/x", "file:///C:\\x", "D:\\"])
def test_windows_drive_paths_are_local(win):
    assert path.parse(win).scheme == "file"
    assert path.islocal(win) and not path.isremote(win)


@pytest.mark.parametrize("win", ["C:\\path\\of\\quux", "file:///C:\\path\\of\\quux"])
def test_windows_path_kept_as_written(win):
    """The original's test: not joined to the current directory."""
    assert parts(win) == ("file", "", "C:\\path\\of\\quux")
    assert parts("D:/dir/") == ("file", "", "D:/dir/")


@pytest.mark.parametrize("url, scheme, netloc", [
    ("http://example.com/x", "http", "example.com"),
    ("https://example.com/x?y=1", "https", "example.com"),
    ("gs://bucket/key", "gs", "bucket"),
    ("ftp://host/p", "ftp", "host"),
])
def test_other_schemes_parse(url, scheme, netloc):
    result = path.parse(url)
    assert (result.scheme, result.netloc) == (scheme, netloc)
    assert not path.islocal(url) and not path.isremote(url)


@pytest.mark.parametrize("bad", [None, 3, 1.5, b"s3://b/k", ["s3://b/k"], object()])
def test_parse_rejects_non_strings(bad):
    with pytest.raises(ValueError):
        path.parse(bad)


@pytest.mark.parametrize("bad", [
    "s3://", "s3:///x", "s3:///",
    "s3://bu cket/x", "s3://b@c/x", "s3://user:pw@b/x", "s3://b:9000/x", "s3://b*/x",
    "s3://b?x", "s3://b#x", "s3://b;x/k", "s3://b%41/k", "s3://bü/k",
])
def test_parse_rejects_bad_buckets(bad):
    with pytest.raises(ValueError):
        path.parse(bad)


@pytest.mark.parametrize("func", [path.islocal, path.isremote, path.bucket, path.basename,
                                  path.dirname, path.isdirlike])
@pytest.mark.parametrize("bad", [None, 42, b"/tmp"])
def test_every_function_rejects_non_strings_with_value_error(func, bad):
    with pytest.raises(ValueError):
        func(bad)


@pytest.mark.parametrize("func", [path.islocal, path.isremote, path.bucket, path.basename,
                                  path.dirname, path.isdirlike])
def test_every_function_rejects_bucketless_s3_urls(func):
    with pytest.raises(ValueError):
        func("s3:///key")


# islocal / isremote ------------------------------------------------------------------


@pytest.mark.parametrize("s, local, remote", [
    ("s3://b/k", False, True),
    ("s3://b", False, True),
    ("/abs", True, False),
    ("rel", True, False),
    ("", True, False),
    ("~/x", True, False),
    ("file:///x", True, False),
    ("http://h/x", False, False),
])
def test_islocal_isremote(s, local, remote):
    assert path.islocal(s) is local
    assert path.isremote(s) is remote


# join ----------------------------------------------------------------------------------


@pytest.mark.parametrize("args, expected", [
    (("s3://b/dir", "x"), "s3://b/dir/x"),
    (("s3://b/dir/", "x"), "s3://b/dir/x"),
    (("s3://b", "x"), "s3://b/x"),
    (("s3://b/", "x"), "s3://b/x"),
    (("s3://b/d", "sub/", "f.txt"), "s3://b/d/sub/f.txt"),
    (("s3://b/d", "sub", "f.txt"), "s3://b/d/sub/f.txt"),
    (("s3://b/d", "a?b#c;d%20+e"), "s3://b/d/a?b#c;d%20+e"),
    (("s3://b/d", "x//y"), "s3://b/d/x//y"),
    (("s3://b/d", "名字"), "s3://b/d/名字"),
    (("s3://b/d",), "s3://b/d"),
])
def test_join_s3(args, expected):
    assert path.join(*args) == expected
    assert path.isremote(path.join(*args))


@pytest.mark.parametrize("args", [
    ("/a", "b"), ("/a/", "b", "c"), ("rel", "x"), ("/a", "b;c?d#e"), ("/a", "/abs"), ("~", "x"),
])
def test_join_local_is_os_path_join(args):
    assert path.join(*args) == os.path.join(*args)


@pytest.mark.parametrize("args", [
    ("s3://b/d", "s3://c/x"),
    ("s3://b/d", "file:///x"),
    ("/local", "s3://b/x"),
    ("/local", "http://h/x"),
    ("s3://b/d", "x", "gs://b/y"),
    ("s3://b/d", None),
    ("/local", 3),
])
def test_join_rejects_url_parts(args):
    with pytest.raises(ValueError):
        path.join(*args)


# basename / dirname / bucket ---------------------------------------------------------------


@pytest.mark.parametrize("p, expected", [
    ("s3://b/a/b.txt", "b.txt"),
    ("s3://b/a/", ""),
    ("s3://b/k", "k"),
    ("s3://b", ""),
    ("s3://b/", ""),
    ("s3://b/d/a?b#c;d", "a?b#c;d"),
    ("s3://b/d/é 名", "é 名"),
    ("/x/y", "y"),
    ("/x/y/", ""),
    ("rel/x", "x"),
    ("file:///x/y.z", "y.z"),
])
def test_basename(p, expected):
    assert path.basename(p) == expected


@pytest.mark.parametrize("p, expected", [
    ("s3://b/dir/x", "s3://b/dir"),
    ("s3://b/d1/d2/x.txt", "s3://b/d1/d2"),
    ("s3://b/dir/", "s3://b/dir"),
    ("s3://b/d?x/k#y", "s3://b/d?x"),
    ("/x/y", "/x"),
    ("/x/y/", "/x/y"),
])
def test_dirname(p, expected):
    assert path.dirname(p) == expected


@pytest.mark.parametrize("p", ["s3://b/dir/x", "s3://b/d1/d2/x.txt", "s3://b/d/a?b#c;d"])
def test_join_dirname_basename_round_trip(p):
    assert path.join(path.dirname(p), path.basename(p)) == p


@pytest.mark.parametrize("p, expected", [
    ("s3://b/k", "b"),
    ("s3://b", "b"),
    ("s3://b/", "b"),
    ("s3://my.bucket/a/b/c", "my.bucket"),
    ("/local/path", None),
    ("file:///x", None),
])
def test_bucket(p, expected):
    assert path.bucket(p) == expected


# isdirlike -----------------------------------------------------------------------------


@pytest.mark.parametrize("p, expected", [
    ("s3://b/d/", True),
    ("s3://b/", True),
    ("s3://b/d", False),
    ("s3://b/d/file.txt", False),
    ("/definitely/not/here/", True),
    ("/definitely/not/here", False),
    ("rel/dir/", True),
])
def test_isdirlike_by_trailing_separator(p, expected):
    assert path.isdirlike(p) is expected


def test_isdirlike_local_directories(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "file.txt").write_text("x")
    assert path.isdirlike(str(tmp_path))
    assert path.isdirlike(str(tmp_path / "sub"))
    assert path.isdirlike("file://" + str(tmp_path / "sub"))
    assert not path.isdirlike(str(tmp_path / "file.txt"))
    assert not path.isdirlike(str(tmp_path / "missing"))
    assert path.isdirlike("~")


def test_isdirlike_relative_directory(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    assert path.isdirlike("sub")
    assert path.isdirlike(".")
    assert not path.isdirlike("nothing")


# Purity --------------------------------------------------------------------------------


def test_pure_functions_do_no_network_io(monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise AssertionError("baiji.path touched the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    url = "s3://no-such-bucket-anywhere/d/k?x#y"
    assert path.isremote(url) and not path.islocal(url)
    assert path.parse(url).path == "/d/k?x#y"
    assert path.join(url, "z") == url + "/z"
    assert path.basename(url) == "k?x#y"
    assert path.dirname(url) == "s3://no-such-bucket-anywhere/d"
    assert path.bucket(url) == "no-such-bucket-anywhere"
    assert path.isdirlike(url + "/") and not path.isdirlike(url)
    assert path.isdirlike(str(tmp_path))


def test_reachable_as_baiji_s3_path():
    s3 = pytest.importorskip("baiji.s3")
    assert s3.path is path
    assert s3.sep == path.sep == "/"  # the original's baiji.s3.sep


def test_gettmpdir_needs_a_bucket(monkeypatch):
    monkeypatch.delenv("BAIJI_TMP_BUCKET", raising=False)
    with pytest.raises(ValueError):
        path.gettmpdir()


# isdir / isfile / gettmpdir (these need baiji.s3) ------------------------------------------


@pytest.fixture
def s3mod():
    return pytest.importorskip("baiji.s3")


def test_isdir_isfile_local(s3mod, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x")
    assert path.isdir(str(tmp_path / "d")) and not path.isfile(str(tmp_path / "d"))
    assert path.isfile(str(tmp_path / "f")) and not path.isdir(str(tmp_path / "f"))
    assert not path.isdir(str(tmp_path / "missing"))
    assert not path.isfile(str(tmp_path / "missing"))


def test_isdir_isfile_s3(s3mod, s3dir, client):
    bucket = path.bucket(s3dir)
    prefix = path.parse(s3dir).path[1:]
    client.put_object(Bucket=bucket, Key=prefix + "d/f?#.txt", Body=b"x")
    assert path.isdir(s3dir + "d") and path.isdir(s3dir + "d/")
    assert not path.isfile(s3dir + "d")
    assert path.isfile(s3dir + "d/f?#.txt") and not path.isdir(s3dir + "d/f?#.txt")
    assert not path.isdir(s3dir + "missing") and not path.isfile(s3dir + "missing")
    assert not path.isdir(s3dir + "d/f")  # "d/f?#.txt" is not under "d/f/"


def test_gettmpdir(s3mod, bucket, client, monkeypatch):
    url = path.gettmpdir(bucket=bucket)
    assert url.startswith(f"s3://{bucket}/tmp/") and url.endswith("/")
    key = path.parse(url).path[1:] + ".tempdir"
    client.head_object(Bucket=bucket, Key=key)
    assert path.isdir(url)

    monkeypatch.setenv("BAIJI_TMP_BUCKET", bucket)
    other = path.gettmpdir(prefix="p/", suffix="-s")
    assert other.startswith(f"s3://{bucket}/p/") and other.endswith("-s/") and other != url


def test_gettmpdir_retries_a_taken_prefix(s3mod, bucket, client):
    uuids = iter(["taken", "taken", "free"])
    client.put_object(Bucket=bucket, Key="tmp/taken/something", Body=b"x")
    url = path.gettmpdir(bucket=bucket, uuid_generator=lambda: next(uuids))
    assert url == f"s3://{bucket}/tmp/free/"
