"""The ``s3`` command, run in-process through ``baiji.cli.main``.

``run(*args, stdin=b'')`` returns ``(status, stdout_bytes, stderr_text)``.
Tests without a server fixture work on local files only; the others use the
test server of ``conftest.py`` (the session points ``AWS_ENDPOINT_URL`` and
fake credentials at it, so ``s3`` with no flags talks to it).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import os
import re
import urllib.request
import uuid

import pytest

import baiji
from baiji.cli import core, definition, redact
from baiji.cli import main
from baiji.connection import S3Connection
from baiji.stores.local import LocalStore
from support.helpers import get, keys_under, put, split, tree, write_tree


def run(*args, stdin: bytes = b"", stdout=None):
    """``main(args)`` with in-memory streams; ``stdin`` is bytes or a binary file object."""
    out = io.BytesIO() if stdout is None else stdout
    err = io.StringIO()
    stdin = io.BytesIO(stdin) if isinstance(stdin, bytes) else stdin
    status = main([str(a) for a in args], stdin=stdin, stdout=out, stderr=err)
    return status, (out.getvalue() if stdout is None else b""), err.getvalue()


def lines(stdout: bytes) -> list[str]:
    return stdout.decode("utf-8").splitlines()


def assert_failed(result, *needles, internal=False):
    """Status 1, exactly one ``s3: error: ...`` line naming ``needles``, no traceback."""
    status, _, err = result
    assert status == 1, result
    assert err.startswith("s3: error: "), err
    assert internal == err.startswith("s3: error: internal error: "), err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)


def assert_usage_error(result, *needles):
    status, _, err = result
    assert status == 2, result
    assert "usage: s3" in err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)


def write(path, data: bytes = b"hello\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------
# Parsing, help, version: no server


def test_version_command():
    assert run("version") == (0, f"{baiji.__version__}\n".encode(), "")


def test_global_version_option():
    status, out, err = run("--version")
    assert status == 0
    assert out.decode().strip() == f"s3 {baiji.__version__}"


def test_commands_are_the_sixteen_of_the_spec_and_uploads():
    """The spec's sixteen, uploads and du; mb and rb only say what baiji calls them."""
    assert [c.name for c in definition.COMMANDS] == [
        "ls", "du", "info", "cat", "cp", "mv", "rm", "sync", "touch", "exists", "url", "md5", "etag",
        "is", "buckets", "restore", "uploads", "version", "mb", "rb"]


@pytest.mark.parametrize("name", [c.name for c in definition.COMMANDS])
def test_help_everywhere(name):
    status, out, err = run(name, "-h")
    assert status == 0, err
    assert out.decode().startswith(f"usage: s3 {name}")
    assert err == ""


def test_main_help_lists_commands():
    status, out, _ = run("-h")
    assert status == 0
    text = out.decode()
    for option in ("--endpoint-url", "--profile", "--region", "--verbose", "--version"):
        assert option in text
    for command in definition.COMMANDS:
        assert (f"    {command.name} " in text) == bool(command.help), command.name  # mb, rb: not listed


@pytest.mark.parametrize("argv, needle", [
    ((), "required"),
    (("frobnicate",), "invalid choice"),
    (("cp", "onlyone"), "DST"),
    (("cat",), "KEY"),
    (("cp", "-r", "-R", "a", "b"), "not allowed"),
    (("cp", "-f", "-s", "a", "b"), "not allowed"),
    (("buckets", "--create", "x", "--info", "y"), "not allowed"),
    (("url", "k", "--expire", "0"), "--expire"),
    (("url", "k", "--expire", "604801"), "604,800"),  # S3 refuses more than seven days
    (("url", "k", "--expire", "soon"), "--expire"),
    (("exists", "k", "--retries", "-1"), "--retries"),
    (("exists", "k", "--retries", "999999999"), "from 0 to 10"),
    (("ls", "--bogus", "x"), "--bogus"),
    (("cp", "-", "-"), "both be -"),
    (("cp", "-z", "a", "-"), "--gzip"),
    (("cp", "--policy", "public-read", "a", "-"), "--policy"),
    (("cp", "-r", "-", "dst"), "--recursive"),
    (("cp", "--version-id", "v", "-", "dst"), "--version-id"),
    (("cp", "-r", "--version-id", "v", "a", "b"), "--version-id"),
    (("rm", "-r", "--version-id", "v", "a"), "--version-id"),
    (("ls", "-v", "--region"), "--region"),  # global options after the command take their values too
])
def test_usage_errors_exit_2(argv, needle, offline):
    assert_usage_error(run(*argv), needle)


# --------------------------------------------------------------------------
# Local files only: work without credentials or network


def test_local_commands_work_offline(offline, tmp_path):
    src = write(tmp_path / "a" / "one.txt", b"one\n")
    write(tmp_path / "a" / "sub" / "two.txt", b"two\n")
    assert run("ls", tmp_path / "a")[0] == 0
    status, out, err = run("ls", tmp_path / "a")
    assert (status, err) == (0, "")
    assert sorted(lines(out)) == sorted([str(src), str(tmp_path / "a" / "sub" / "two.txt")])
    assert run("cat", src) == (0, b"one\n", "")
    assert run("md5", src) == (0, (hashlib.md5(b"one\n").hexdigest() + "\n").encode(), "")
    assert run("etag", src) == (0, (hashlib.md5(b"one\n").hexdigest() + "\n").encode(), "")
    assert run("exists", src) == (0, b"", "")
    assert run("exists", tmp_path / "nope") == (1, b"", "")
    assert run("cp", src, tmp_path / "b" / "copy.txt") == (0, b"", "")
    assert run("is", src, tmp_path / "b" / "copy.txt") == (0, b"files match\n", "")
    assert run("touch", tmp_path / "t") == (0, b"", "")
    assert (tmp_path / "t").exists()
    assert run("mv", tmp_path / "t", tmp_path / "t2") == (0, b"", "")
    assert not (tmp_path / "t").exists() and (tmp_path / "t2").exists()
    assert run("sync", tmp_path / "a", tmp_path / "mirror")[0] == 0
    assert (tmp_path / "mirror" / "sub" / "two.txt").read_bytes() == b"two\n"
    assert run("rm", tmp_path / "t2") == (0, b"", "")
    assert not (tmp_path / "t2").exists()
    status, out, _ = run("info", src)
    assert status == 0
    assert f"uri: {src}" in lines(out) or any(line.startswith("uri: ") for line in lines(out))
    assert "size: 4" in lines(out)


def test_local_cp_recursive(offline, tmp_path):
    write(tmp_path / "tree" / "x.txt", b"x")
    write(tmp_path / "tree" / "deep" / "y.txt", b"y")
    assert run("cp", "-r", f"{tmp_path / 'tree'}/", tmp_path / "out")[0] == 0
    assert (tmp_path / "out" / "deep" / "y.txt").read_bytes() == b"y"


def test_local_ls_detail(offline, tmp_path):
    write(tmp_path / "d" / "f.bin", b"x" * 2048)
    status, out, err = run("ls", "-l", tmp_path / "d")
    assert (status, err) == (0, "")
    [line] = lines(out)
    size, modified, enc, url = line.split("\t")  # no version column without --list-versions
    assert size == "2.0 KiB"
    assert modified.endswith("Z") and len(modified) == 20
    assert enc == ""
    assert url == str(tmp_path / "d" / "f.bin")


def test_ls_uri_flag_is_a_deprecated_no_op(offline, tmp_path):
    write(tmp_path / "d" / "f", b"x")
    status, out, err = run("ls", "-B", tmp_path / "d")
    assert status == 0
    assert lines(out) == [str(tmp_path / "d" / "f")]
    assert err.startswith("s3: warning: -B/--uri is deprecated")


def test_local_cp_missing_source(offline, tmp_path):
    assert_failed(run("cp", tmp_path / "missing", tmp_path / "dst"), str(tmp_path / "missing"))


def test_local_cp_existing_destination_needs_force(offline, tmp_path):
    src, dst = write(tmp_path / "src", b"new"), write(tmp_path / "dst", b"old")
    assert_failed(run("cp", src, dst), str(dst), "-f/--force")
    assert dst.read_bytes() == b"old"
    status, _, err = run("cp", "-s", src, dst)
    assert status == 0 and err.startswith("s3: warning: Skipping")
    assert dst.read_bytes() == b"old"
    assert run("cp", "-f", src, dst)[0] == 0
    assert dst.read_bytes() == b"new"


def test_local_cat_missing(offline, tmp_path):
    assert_failed(run("cat", tmp_path / "missing"), str(tmp_path / "missing"))


def test_local_rm_missing(offline, tmp_path):
    assert_failed(run("rm", tmp_path / "missing"), str(tmp_path / "missing"))


def test_is_reports_different_files(offline, tmp_path):
    a, b = write(tmp_path / "a", b"a"), write(tmp_path / "b", b"b")
    assert run("is", a, b) == (1, b"files DO NOT match\n", "")


def test_cp_stdin_to_local_and_local_to_stdout(offline, tmp_path):
    payload = bytes(range(256)) * 64
    assert run("cp", "-", tmp_path / "from-stdin", stdin=payload) == (0, b"", "")
    assert (tmp_path / "from-stdin").read_bytes() == payload
    assert run("cp", tmp_path / "from-stdin", "-") == (0, payload, "")


def test_bad_scheme(offline):
    for argv in (("ls", "gs://bucket/x"), ("cat", "http://example.com/k"), ("exists", "gs://b/k")):
        assert_failed(run(*argv), argv[-1])


def test_bad_bucket_name(offline):
    assert_failed(run("cat", "s3://bad bucket/k"), "bad bucket")


def test_rm_recursive_without_terminal_refuses(offline, tmp_path):
    write(tmp_path / "d" / "keep", b"x")
    assert_failed(run("rm", "-r", tmp_path / "d"), str(tmp_path / "d"), "-f")
    assert (tmp_path / "d" / "keep").exists()


def test_rm_recursive_force_local(offline, tmp_path):
    write(tmp_path / "d" / "gone", b"x")
    status, out, err = run("rm", "-r", "-f", tmp_path / "d")
    assert (status, err) == (0, "")
    assert lines(out) == [f"[deleted] {tmp_path / 'd' / 'gone'}"]
    assert not (tmp_path / "d" / "gone").exists()


def test_missing_credentials_is_one_line(offline):
    assert_failed(run("cat", "s3://some-bucket/some-key"))


def test_unicode_and_odd_names_round_trip(offline, tmp_path):
    path = write(tmp_path / "d" / "naïve ?#;%+ résumé.txt", b"x")
    status, out, _ = run("ls", tmp_path / "d")
    assert status == 0
    assert lines(out) == [str(path)]
    assert run("cat", lines(out)[0]) == (0, b"x", "")


# --------------------------------------------------------------------------
# main(): exit statuses, streams, interrupts, broken pipes


class _BrokenStdout(io.RawIOBase):
    def writable(self):
        return True

    def write(self, data):
        raise BrokenPipeError(32, "Broken pipe")


def test_broken_pipe_is_quiet(offline, tmp_path):
    write(tmp_path / "d" / "f", b"x")
    err = io.StringIO()
    status = main(["ls", str(tmp_path / "d")], stdin=io.BytesIO(), stdout=_BrokenStdout(), stderr=err)
    assert status == core.EXIT_BROKEN_PIPE == 141
    assert err.getvalue() == ""


def test_broken_pipe_during_cat_is_quiet(offline, tmp_path):
    src = write(tmp_path / "big", b"x" * 300_000)
    err = io.StringIO()
    status = main(["cat", str(src)], stdin=io.BytesIO(), stdout=_BrokenStdout(), stderr=err)
    assert (status, err.getvalue()) == (141, "")


def test_keyboard_interrupt_exits_130_without_traceback(offline, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(S3Connection, "ls", interrupted)
    for argv in (("ls", tmp_path), ("-v", "ls", tmp_path)):
        status, out, err = run(*argv)
        assert status == 130
        assert "Traceback" not in err and "KeyboardInterrupt" not in err


def test_internal_error_is_one_line_and_traceback_with_verbose(offline, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(S3Connection, "md5", broken)
    assert_failed(run("md5", tmp_path / "x"), "TypeError", "a bug", "-v", internal=True)
    status, _, err = run("-v", "md5", tmp_path / "x")
    assert status == 1
    assert "s3: error: internal error: TypeError" in err
    assert "Traceback (most recent call last)" in err


def test_verbose_failure_shows_traceback(offline, tmp_path):
    status, _, err = run("-v", "cat", tmp_path / "missing")
    assert status == 1
    assert "s3: error: " in err and str(tmp_path / "missing") in err
    assert "Traceback (most recent call last)" in err


def test_progress_only_when_asked_or_terminal(offline, tmp_path, monkeypatch):
    src = write(tmp_path / "src", b"x" * 100_000)
    seen = []
    real_cp = S3Connection.cp

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("progress", False))
        return real_cp(self, *args, **kwargs)

    monkeypatch.setattr(S3Connection, "cp", spy)
    assert run("cp", src, tmp_path / "quiet") == (0, b"", "")
    status, _, err = run("cp", "-P", src, tmp_path / "bar")
    assert status == 0
    assert seen == [False, True]
    assert "100%" in err or "B/s" in err or "98" in err, err  # tqdm drew on the stderr main() was given


def test_verbose_logs_on_stderr_and_leaves_logging_as_it_was(offline, tmp_path):
    before = [(logging.getLogger(n).level, list(logging.getLogger(n).handlers)) for n in core.VERBOSE_LOGGERS]
    status, out, err = run("-vv", "exists", tmp_path / "x")
    assert status == 1 and out == b""
    assert "running s3 exists" in err
    after = [(logging.getLogger(n).level, list(logging.getLogger(n).handlers)) for n in core.VERBOSE_LOGGERS]
    assert before == after


# --------------------------------------------------------------------------
# Redaction


SECRET = "SeCrEtDiStInCtIvE0123456789abcdefXYZ/+="
TOKEN = "ToKeNdIsTiNcTiVe/abc+def=="


@pytest.mark.parametrize("text", [
    f"aws_secret_access_key = {SECRET}",
    f"{{'aws_secret_access_key': '{SECRET}'}}",
    f"x-amz-security-token:{TOKEN}",
    f"headers={{'X-Amz-Security-Token': b'{TOKEN}', 'Authorization': b'AWS4-HMAC-SHA256 "
    f"Credential=AKIDEXAMPLE/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature={SECRET}'}}",
    f"Authorization: AWS AKIDEXAMPLE:{SECRET}",
    f"Signature:\n{SECRET}\n",
    f"https://b.s3.amazonaws.com/k?X-Amz-Credential=AKID%2F2024&X-Amz-Signature={SECRET}&X-Amz-Security-Token=x",
    f"SessionToken={TOKEN}",
])
def test_redactor_patterns(text):
    redactor = redact.Redactor()
    redactor._sources = []  # patterns alone
    redacted = redactor(text)
    assert SECRET not in redacted and TOKEN not in redacted
    assert redact.REDACTED in redacted
    assert redactor(redacted) == redacted  # the filter and the formatter both redact


def test_redactor_known_values(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    text = f"some {SECRET} and {TOKEN} and url-encoded {urllib.request.quote(TOKEN, safe='')}"
    redacted = redact.Redactor()(text)
    assert SECRET not in redacted and TOKEN not in redacted and "abc%2Bdef" not in redacted


def test_redactor_reads_the_connection_credentials_without_creating_a_client():
    import botocore.credentials

    conn = S3Connection(region="us-east-1", endpoint_url="http://127.0.0.1:9")
    source = redact._connection_secrets(conn)
    assert source() == []
    assert conn.loaded_client() is None  # asking did not create a client
    import boto3

    client = boto3.session.Session().client(
        "s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="AKID", aws_secret_access_key=SECRET, aws_session_token=TOKEN)
    conn = S3Connection(client=client)
    assert set(redact._connection_secrets(conn)()) >= {SECRET, TOKEN}
    assert isinstance(client._request_signer._credentials, botocore.credentials.Credentials)


# --------------------------------------------------------------------------
# Against the test server


@pytest.fixture
def key(s3dir):
    return s3dir + "key.txt"


def test_cp_up_down_and_across(s3dir, tmp_path):
    src = write(tmp_path / "up.txt", b"up\n")
    assert run("cp", src, s3dir + "up.txt") == (0, b"", "")
    assert run("cat", s3dir + "up.txt") == (0, b"up\n", "")
    assert run("cp", s3dir + "up.txt", s3dir + "across.txt") == (0, b"", "")
    assert run("cp", s3dir + "across.txt", tmp_path / "down.txt") == (0, b"", "")
    assert (tmp_path / "down.txt").read_bytes() == b"up\n"
    # a destination ending in / gets the source's basename
    assert run("cp", src, s3dir + "dir/") == (0, b"", "")
    assert run("exists", s3dir + "dir/up.txt")[0] == 0


def test_ls(s3dir, client):
    for name in ("a.txt", "b.txt", "sub/c.txt"):
        put(client, s3dir + name)
    status, out, err = run("ls", s3dir)
    assert (status, err) == (0, "")
    assert lines(out) == [s3dir + "a.txt", s3dir + "b.txt", s3dir + "sub/c.txt"]
    # the prefix is a plain string prefix
    assert lines(run("ls", s3dir + "a")[1]) == [s3dir + "a.txt"]
    status, out, _ = run("ls", "-s", s3dir)
    assert status == 0
    assert lines(out) == [s3dir + "a.txt", s3dir + "b.txt", s3dir + "sub/"]


def test_ls_detail(s3dir, tmp_path):
    write(tmp_path / "f.txt", b"x" * 1536)
    assert run("cp", tmp_path / "f.txt", s3dir + "enc.txt")[0] == 0
    assert run("cp", "--no-encrypt", tmp_path / "f.txt", s3dir + "plain.txt")[0] == 0
    status, out, err = run("ls", "-l", s3dir)
    assert (status, err) == (0, "")
    rows = [line.split("\t") for line in lines(out)]
    assert [r[3] for r in rows] == [s3dir + "enc.txt", s3dir + "plain.txt"]
    for size, modified, enc, url in rows:
        assert size == "1.5 KiB"
        assert modified.endswith("Z")
    assert rows[1][2] == ""  # not encrypted
    # the 'enc' marker shows where the server reports encryption (moto and AWS do)
    assert rows[0][2] in ("enc", "")


def test_ls_missing_bucket(endpoint_url):
    name = f"no-such-bucket-{uuid.uuid4().hex[:12]}"
    assert_failed(run("ls", f"s3://{name}/x"), name)


@pytest.fixture
def vdir(versioned_bucket) -> str:
    """A unique prefix in the versioned bucket (shared on aws)."""
    return f"s3://{versioned_bucket}/cli-{uuid.uuid4().hex[:12]}/"


def delete(client, url: str) -> None:
    bucket, k = split(url)
    client.delete_object(Bucket=bucket, Key=k)


def test_ls_versions(vdir, client):
    url = vdir + "v.txt"
    first = put(client, url, b"one")["VersionId"]
    second = put(client, url, b"two")["VersionId"]
    delete(client, url)
    status, out, err = run("ls", "--list-versions", vdir)
    assert (status, err) == (0, "")
    rows = [line.split("\t") for line in lines(out)]
    assert all(len(r) == 6 for r in rows)
    assert {r[4] for r in rows} >= {first, second}
    markers = [r for r in rows if "delete-marker" in r[5]]
    assert len(markers) == 1 and "latest" in markers[0][5]
    assert run("cp", "--version-id", first, url, "-") == (0, b"one", "")


def test_info(key, client):
    put(client, key, b"12345", ContentType="text/plain")
    status, out, err = run("info", key)
    assert (status, err) == (0, "")
    rows = lines(out)
    assert rows == sorted(rows)
    assert f"uri: {key}" in rows
    assert "size: 5" in rows
    assert "content_type: text/plain" in rows
    modified = next(row for row in rows if row.startswith("last_modified: ")).split(": ", 1)[1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", modified)  # the format of ls -l
    status, out, _ = run("ls", "-l", key)
    assert lines(out)[0].split("\t")[1] == modified


def test_info_missing(s3dir):
    assert_failed(run("info", s3dir + "missing"), s3dir + "missing")


def test_cat_is_binary_safe(key, client):
    payload = bytes(range(256)) * 1000 + b"\r\n\x00\xff"
    put(client, key, payload)
    assert run("cat", key) == (0, payload, "")


def test_cat_missing(s3dir):
    assert_failed(run("cat", s3dir + "missing"), s3dir + "missing")


def test_cp_stdin_to_s3_and_s3_to_stdout(key):
    payload = bytes(range(256)) * 500
    assert run("cp", "-", key, stdin=payload) == (0, b"", "")
    assert run("cat", key) == (0, payload, "")
    assert run("cp", key, "-") == (0, payload, "")


def test_cp_stdin_refuses_existing_key(key, client):
    put(client, key, b"old")
    assert_failed(run("cp", "-", key, stdin=b"new"), key)
    assert run("cat", key)[1] == b"old"
    assert run("cp", "-f", "-", key, stdin=b"new")[0] == 0
    assert run("cat", key)[1] == b"new"


def test_cp_gzip(key, tmp_path):
    src = write(tmp_path / "plain.txt", b"text " * 1000)
    assert run("cp", "-z", src, key) == (0, b"", "")
    status, out, _ = run("info", key)
    assert "content_encoding: gzip" in lines(out)
    raw = io.BytesIO()
    S3Connection().download_fileobj(key, raw)
    assert gzip.decompress(raw.getvalue()) == b"text " * 1000


def test_cp_policy_and_encoding(key, tmp_path):
    src = write(tmp_path / "f.txt")
    assert run("cp", "--policy", "public-read", "--encoding", "identity", src, key) == (0, b"", "")
    assert "content_encoding: identity" in lines(run("info", key)[1])


def test_cp_exists_without_force(key, client, tmp_path):
    put(client, key, b"old")
    src = write(tmp_path / "new.txt", b"new")
    assert_failed(run("cp", src, key), key, "-f/--force")
    status, _, err = run("cp", "--skip", src, key)
    assert status == 0 and err.startswith("s3: warning: Skipping")
    assert run("cat", key)[1] == b"old"
    assert run("cp", "--force", src, key)[0] == 0
    assert run("cat", key)[1] == b"new"


def test_cp_missing_source(s3dir, tmp_path):
    assert_failed(run("cp", s3dir + "missing", tmp_path / "x"), s3dir + "missing")
    assert not (tmp_path / "x").exists()


def test_cp_recursive(s3dir, tmp_path):
    write(tmp_path / "tree" / "a.txt", b"a")
    write(tmp_path / "tree" / "deep" / "b.txt", b"b")
    assert run("cp", "-r", f"{tmp_path / 'tree'}/", s3dir + "serial/") == (0, b"", "")
    assert lines(run("ls", s3dir + "serial/")[1]) == [s3dir + "serial/a.txt", s3dir + "serial/deep/b.txt"]
    assert run("cp", "-R", f"{tmp_path / 'tree'}/", s3dir + "parallel/")[0] == 0
    assert lines(run("ls", s3dir + "parallel/")[1]) == [s3dir + "parallel/a.txt", s3dir + "parallel/deep/b.txt"]
    assert run("cp", "-r", s3dir + "parallel/", tmp_path / "back")[0] == 0
    assert (tmp_path / "back" / "deep" / "b.txt").read_bytes() == b"b"


def test_cp_preserve_acl(s3dir, client):
    put(client, s3dir + "src")
    assert run("cp", "--preserve-acl", s3dir + "src", s3dir + "dst") == (0, b"", "")
    assert run("exists", s3dir + "dst")[0] == 0


def test_mv(s3dir, client, tmp_path):
    put(client, s3dir + "from", b"moving")
    assert run("mv", s3dir + "from", s3dir + "to") == (0, b"", "")
    assert run("exists", s3dir + "from")[0] == 1
    assert run("cat", s3dir + "to")[1] == b"moving"
    put(client, s3dir + "other", b"x")
    assert_failed(run("mv", s3dir + "other", s3dir + "to"), s3dir + "to", "-f")
    assert run("mv", "-f", s3dir + "other", s3dir + "to")[0] == 0
    assert run("mv", "--no-encrypt", "-z", write(tmp_path / "up", b"zz"), s3dir + "up")[0] == 0
    assert not (tmp_path / "up").exists()


@pytest.mark.parametrize("command", ["cp", "mv"])
def test_cp_and_mv_of_a_key_onto_itself_are_refused(s3dir, key, client, command):
    put(client, key, b"only copy")
    for dst in (key, s3dir):
        assert_failed(run(command, "-f", key, dst), "same file")
    assert run("cat", key)[1] == b"only copy" and lines(run("ls", s3dir)[1]) == [key]


def test_rm(key, client):
    put(client, key)
    assert run("rm", key) == (0, b"", "")
    assert run("exists", key)[0] == 1
    assert_failed(run("rm", key), key)


def test_rm_version(vdir, client):
    url = vdir + "k"
    first = put(client, url, b"one")["VersionId"]
    put(client, url, b"two")
    assert run("rm", "--version-id", first, url) == (0, b"", "")
    assert run("exists", "--version-id", first, url)[0] == 1
    assert run("cat", url)[1] == b"two"


def test_rm_recursive_refuses_without_terminal(s3dir, client):
    put(client, s3dir + "a")
    put(client, s3dir + "b/c")
    assert_failed(run("rm", "-r", s3dir), s3dir, "-f/--force")
    assert len(lines(run("ls", s3dir)[1])) == 2


class _Terminal(io.BytesIO):
    """A stdin that says it is a terminal, with the user's answers in it."""

    def isatty(self):
        return True


def test_rm_recursive_asks_on_a_terminal(s3dir, client):
    for name in ("a", "b"):
        put(client, s3dir + name)
    stdin = _Terminal(b"y\nn\n")
    status, out, err = run("rm", "-r", s3dir, stdin=stdin)
    assert status == 0
    assert f"Delete {s3dir}a?" in out.decode() + err  # input()'s prompt
    assert out.decode().endswith(f"[deleted] {s3dir}a\n")
    assert f"[deleted] {s3dir}b" not in out.decode()
    assert lines(run("ls", s3dir)[1]) == [s3dir + "b"]
    assert not stdin.closed


def test_rm_recursive_force(s3dir, client):
    for name in ("a", "b/c", "b/d"):
        put(client, s3dir + name)
    status, out, err = run("rm", "-r", "-f", s3dir)
    assert (status, err) == (0, "")
    assert sorted(lines(out)) == [f"[deleted] {s3dir}{n}" for n in ("a", "b/c", "b/d")]
    assert run("ls", s3dir)[1] == b""


def test_sync(s3dir, client, tmp_path):
    write(tmp_path / "src" / "a.txt", b"a")
    write(tmp_path / "src" / "sub" / "b.html", b"<html></html>")
    put(client, s3dir + "stale.txt")
    put(client, s3dir + "keep/me.txt")
    status, out, err = run("sync", "-g", "-D", s3dir + "keep/", "--no-encrypt",
                           f"{tmp_path / 'src'}/", s3dir)
    assert (status, err) == (0, "")
    assert lines(run("ls", s3dir)[1]) == [s3dir + "a.txt", s3dir + "keep/me.txt", s3dir + "sub/b.html"]
    assert "content_type: text/html" in lines(run("info", s3dir + "sub/b.html")[1])
    assert run("sync", "-D", "x", "-D", "y", f"{tmp_path / 'src'}/", s3dir)[0] == 0


def test_sync_local_side_not_a_directory(s3dir, tmp_path):
    f = write(tmp_path / "file")
    assert_failed(run("sync", f, s3dir))


def test_touch_and_exists(key):
    assert run("exists", key) == (1, b"", "")
    assert run("touch", key) == (0, b"", "")
    assert run("exists", key) == (0, b"", "")
    assert run("exists", "--retries", "0", key) == (0, b"", "")
    assert run("cat", key) == (0, b"", "")


def test_exists_missing_bucket_and_bucket_url(bucket):
    assert run("exists", f"s3://{bucket}")[0] == 0
    assert run("exists", f"s3://no-such-{uuid.uuid4().hex[:12]}/k")[0] == 1


def test_exists_version(vdir, client):
    url = vdir + "k"
    version = put(client, url)["VersionId"]
    assert run("exists", "--version-id", version, url)[0] == 0


def test_url(key, client):
    put(client, key, b"presigned")
    status, out, err = run("url", "--expire", "60", key)
    assert (status, err) == (0, "")
    url = out.decode().strip()
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"presigned"
    assert run("url", key)[0] == 0
    assert run("url", "--expire", str(definition.MAX_URL_TTL), key)[0] == 0  # S3's longest: accepted


def test_url_missing(s3dir):
    assert_failed(run("url", s3dir + "missing"), s3dir + "missing")


def test_md5_and_etag(key, client):
    put(client, key, b"hash me")
    digest = hashlib.md5(b"hash me").hexdigest()
    assert run("md5", key) == (0, f"{digest}\n".encode(), "")
    assert run("etag", key) == (0, f"{digest}\n".encode(), "")
    assert_failed(run("md5", key + "-missing"), key + "-missing")


def test_etag_fix(key, client):
    bucket, k = split(key)
    part = 5 * 1024 * 1024
    upload = client.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"]
    parts = []
    for number, data in ((1, b"a" * part), (2, b"b" * 10)):
        etag = client.upload_part(Bucket=bucket, Key=k, UploadId=upload, PartNumber=number, Body=data)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    client.complete_multipart_upload(Bucket=bucket, Key=k, UploadId=upload, MultipartUpload={"Parts": parts})
    old = run("etag", key)[1].decode().strip()
    assert old.endswith("-2")
    status, out, err = run("etag", "--fix", key)
    assert (status, err) == (0, "")
    new = hashlib.md5(b"a" * part + b"b" * 10).hexdigest()
    assert out.decode() == f"etag updated from {old} to {new}\n"
    assert run("etag", key)[1].decode().strip() == new
    assert run("etag", "--fix", key) == (0, f"etag unchanged: {new}\n".encode(), "")


def test_is(s3dir, client, tmp_path):
    put(client, s3dir + "a", b"same")
    put(client, s3dir + "b", b"same")
    put(client, s3dir + "c", b"different")
    local = write(tmp_path / "same", b"same")
    assert run("is", s3dir + "a", s3dir + "b") == (0, b"files match\n", "")
    assert run("is", s3dir + "a", local) == (0, b"files match\n", "")
    assert run("is", local, s3dir + "a") == (0, b"files match\n", "")
    assert run("is", s3dir + "a", s3dir + "c") == (1, b"files DO NOT match\n", "")
    assert_failed(run("is", s3dir + "a", s3dir + "missing"), s3dir + "missing")


def test_buckets(bucket):
    status, out, err = run("buckets")
    assert (status, err) == (0, "")
    assert bucket in lines(out)
    status, out, err = run("buckets", "--info", bucket)
    assert (status, err) == (0, "")
    rows = lines(out)
    assert rows == sorted(rows)
    assert f"name: {bucket}" in rows
    assert any(row.startswith("versioning_status:") for row in rows)


@pytest.mark.servers("moto", "seaweedfs", reason="creates and deletes a bucket")
def test_buckets_create(client):
    name = f"baiji-cli-{uuid.uuid4().hex[:12]}"
    try:
        assert run("buckets", "--create", name) == (0, b"", "")
        assert name in lines(run("buckets")[1])
    finally:
        client.delete_bucket(Bucket=name)


def test_buckets_info_missing(endpoint_url):
    name = f"no-such-{uuid.uuid4().hex[:12]}"
    assert_failed(run("buckets", "--info", name), name)


def test_restore(vdir, client):
    prefix = vdir
    put(client, prefix + "a", b"a")
    put(client, prefix + "b", b"b")
    put(client, prefix + "alive", b"c")
    delete(client, prefix + "a")
    delete(client, prefix + "b")
    status, out, err = run("restore", prefix)
    assert (status, err) == (0, "")
    assert sorted(lines(out)) == [f"[restored] {prefix}a", f"[restored] {prefix}b"]
    assert run("cat", prefix + "a")[1] == b"a"


def test_restore_needs_s3(offline, tmp_path):
    assert_failed(run("restore", tmp_path))


def test_global_options_reach_the_connection(endpoint_url, key, client, monkeypatch):
    if endpoint_url is None:
        pytest.skip("needs a local server's endpoint")
    put(client, key, b"via flag")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert run("--endpoint-url", endpoint_url, "--region", "us-east-1", "cat", key) == (0, b"via flag", "")
    made = []
    real_init = S3Connection.__init__

    def spy(self, *args, **kwargs):
        made.append(kwargs)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(S3Connection, "__init__", spy)
    run("--endpoint-url", endpoint_url, "--profile", "nobody", "--region", "eu-west-1", "cat", key)
    assert made[-1] == {"profile": "nobody", "region": "eu-west-1", "endpoint_url": endpoint_url,
                        "sign": True, "verify": None}
    run("--endpoint-url", endpoint_url, "--no-sign-request", "--no-verify-ssl", "cat", key)
    assert made[-1]["sign"] is False and made[-1]["verify"] is False
    run("--endpoint-url", endpoint_url, "--ca-bundle", "/x.pem", "cat", key)
    assert made[-1]["verify"] == "/x.pem"


def _verbose_commands(key):
    """``(argv, control)`` pairs for the -v secret tests: data-plane commands (objects move
    through obstore, listings through baiji's lister: neither logs HTTP through ``logging``) and
    control-plane ones (``control``: boto3 sends their requests, and botocore's debug logs,
    headers and all, must show up, redacted)."""
    return [(("-vv", "cat", key), False), (("-vv", "cat", key + "-missing"), False),
            (("-vv", "ls", "-l", key), False),
            (("-vv", "url", key), True), (("--debug", "info", key), True),
            (("-vv", "info", key + "-missing"), True)]


def test_verbose_never_prints_the_secret(key, client):
    """With -v, botocore logs every request it sends; the secret key used to sign must not
    show, whether the command's requests go through boto3, obstore or baiji's lister."""
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    put(client, key, b"data")
    for argv, control in _verbose_commands(key):
        status, out, err = run(*argv)
        assert "baiji.cli DEBUG: running s3" in err  # debug logs were on
        if control:
            assert "botocore" in err and redact.REDACTED in err  # HTTP-level logs were there, redacted
        assert secret not in err and secret not in out.decode("utf-8", "replace")


def test_verbose_redacts_distinctive_fake_secret_and_token(key, client, monkeypatch):
    put(client, key, b"data")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    commands = _verbose_commands(key) + [(("-vv", "exists", key), True),
                                         (("-vv", "cp", "-", key + "2"), False)]
    for argv, control in commands:
        status, out, err = run(*argv, stdin=b"x")
        # (servers that check signatures refuse the fake secret: the failure path counts too)
        assert status in (0, 1), err
        text = err + out.decode("utf-8", "replace")
        assert SECRET not in text
        assert TOKEN not in err
        assert urllib.request.quote(TOKEN, safe="") not in err
        assert "baiji.cli DEBUG: running s3" in err  # debug logs were on
        if control:
            assert "botocore" in err and redact.REDACTED in err  # HTTP-level logs were there, redacted
        assert f"{redact.REDACTED}]" not in err


# --------------------------------------------------------------------------
# Never lose data (issue 9, part 2): refusals, offline


def _argv_with_empty(command, name: str) -> list[str]:
    """``command``'s arguments with ``''`` as the path argument ``name`` and ``x`` for the others."""
    positional = [a.flags[0] for a in command.args if not a.flags[0].startswith("-")]
    if name not in positional:
        return [command.name, f"--{name}", ""]
    return [command.name] + ["" if arg == name else "x" for arg in positional]


EMPTY_CASES = [(c, name) for c in definition.COMMANDS for name in c.paths]


@pytest.mark.parametrize("command, name", EMPTY_CASES, ids=[f"{c.name}-{n}" for c, n in EMPTY_CASES])
def test_empty_path_argument_is_a_usage_error_everywhere(offline, tmp_path, monkeypatch, command, name):
    """``s3 sync s3://b/p/ "$UNSET"`` must not mirror into the current directory."""
    write_tree(tmp_path, {"keep": b"k", "sub/x": b"x"})
    monkeypatch.chdir(tmp_path)
    argv = _argv_with_empty(command, name)
    for extra in ([], ["-r", "-f"] if command.name == "rm" else []):
        status, out, err = run(*argv[:1], *extra, *argv[1:])
        assert_usage_error((status, out, err), "must not be empty", "unset variable")
        assert (f"argument {name.upper()}" in err) or (f"argument --{name}" in err)
    assert tree(tmp_path) == {"keep": b"k", "sub/x": b"x"}


def test_cp_of_an_empty_source_names_the_source(offline):
    status, _, err = run("cp", "", "s3://b/p/")
    assert status == 2 and "argument SRC: must not be empty" in err and "DST" not in err.splitlines()[-1]


@pytest.mark.parametrize("dst", ["s3:/b/x", "s3:b/x", "S3:/b/x"])
def test_mistyped_s3_url_is_refused(offline, tmp_path, monkeypatch, dst):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "f")
    assert_failed(run("cp", "f", dst), dst, "did you mean s3://b/x")
    assert_failed(run("mv", "f", dst), dst, "s3://b/x")
    assert sorted(os.listdir(tmp_path)) == ["f"]
    assert run("cp", "f", "./s3:x") == (0, b"", "")
    assert (tmp_path / "s3:x").read_bytes() == b"hello\n"


@pytest.fixture
def no_local_deletions(monkeypatch):
    """A safety net for the tests that ask for a tree to be removed: they must be refused
    before a file is listed or deleted (for "/", the test must not rely on the code it checks)."""

    def never(*args, **kwargs):
        raise AssertionError("reached a listing or deletion")

    for name in ("delete", "delete_many", "list"):
        monkeypatch.setattr(LocalStore, name, never)


@pytest.mark.parametrize("argv", [("rm", "d"), ("rm", "d/"), ("rm", "."), ("rm", "-f", "d")])
def test_rm_of_a_directory_needs_r(offline, tmp_path, monkeypatch, no_local_deletions, argv):
    write_tree(tmp_path / "d", {"a": b"a", "sub/b": b"b"})
    monkeypatch.chdir(tmp_path / "d" if argv[-1] == "." else tmp_path)
    assert_failed(run(*argv), f"{argv[-1]}: is a directory; use -r to remove a tree")
    assert tree(tmp_path / "d") == {"a": b"a", "sub/b": b"b"}


@pytest.mark.parametrize("target", [".", "./", "..", "/", "CWD"])
def test_rm_r_of_a_tree_holding_the_current_directory_is_refused(offline, tmp_path, monkeypatch,
                                                                  no_local_deletions, target):
    write_tree(tmp_path / "d", {"a": b"a"})
    monkeypatch.chdir(tmp_path / "d")
    given = str(tmp_path / "d") if target == "CWD" else target
    assert_failed(run("rm", "-r", "-f", given), "refusing to remove")
    assert tree(tmp_path / "d") == {"a": b"a"}


def test_cp_and_mv_of_a_directory_speak_of_dash_r(offline, tmp_path):
    write_tree(tmp_path / "d", {"a": b"a"})
    status, _, err = run("cp", tmp_path / "d", tmp_path / "e")
    assert_failed((status, b"", err), "is a directory; use -r to copy directories")
    assert "cp_r" not in err
    status, _, err = run("mv", tmp_path / "d", tmp_path / "e")
    assert_failed((status, b"", err), "is a directory", "cp -r")
    assert "cp_r" not in err and tree(tmp_path) == {"d/a": b"a"}


@pytest.mark.parametrize("command", ["cp", "mv"])
@pytest.mark.parametrize("dst", ["f", "./f", "CWD/", "."])
def test_cp_and_mv_onto_itself_are_refused(offline, tmp_path, monkeypatch, command, dst):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "f", b"only copy")
    given = f"{tmp_path}/" if dst == "CWD/" else dst
    assert_failed(run(command, "-f", "f", given), "same file")
    assert tree(tmp_path) == {"f": b"only copy"}


def test_messages_show_line_breaks_escaped(offline, tmp_path):
    name = "a\nb\rc\x1b[31md"
    assert_failed(run("cat", tmp_path / name), "a\\nb\\rc\\x1b[31md")
    status, _, err = run("cat", tmp_path / name)
    assert "; " not in err and "\x1b" not in err


def test_undecodable_name_as_a_key_is_one_clear_line(offline, tmp_path):
    name = os.fsdecode(b"bad\xff.txt")
    write(tmp_path / name)
    status, out, err = run("cp", tmp_path / name, "s3://b/p/")
    assert_failed((status, out, err), "s3://b/p/bad\\xff.txt: not valid UTF-8")
    assert "codec" not in err and "\udcff" not in err


def test_exists_retries_up_to_the_bound(offline, tmp_path):
    assert run("exists", "--retries", str(definition.MAX_EXISTS_RETRIES), tmp_path / "nope") == (1, b"", "")


PASSWORD = "PaSsWoRdInTheUrl-42"


@pytest.mark.parametrize("how", ["environment", "option"])
def test_endpoint_password_never_printed(offline, monkeypatch, how):
    """An endpoint URL's password is never shown; the error names the endpoint.

    Through each client: baiji's lister (``ls``), obstore (``cat``) and boto3 (``info``).
    """
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    endpoint = f"http://user:{PASSWORD}@127.0.0.1:9"
    options = ["--endpoint-url", endpoint] if how == "option" else []
    if how == "environment":
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    redacted = f"http://user:{redact.REDACTED}@127.0.0.1:9"
    for verbose in ([], ["-v"], ["-vv"]):
        for command in (["ls", "s3://some-bucket/"], ["cat", "s3://some-bucket/key"],
                        ["info", "s3://some-bucket/key"]):
            status, out, err = run(*verbose, *options, *command)
            assert status == 1
            assert PASSWORD not in err and PASSWORD not in out.decode()
            assert "cannot reach the S3 endpoint" in err
            assert redacted in err, err  # the lister, obstore and boto3 alike


@pytest.mark.parametrize("text, expected", [
    ("http://u:pw@h:1/x", f"http://u:{redact.REDACTED}@h:1/x"),
    ('URL: "https://user:p%40ss@host/a?b=1"', f'URL: "https://user:{redact.REDACTED}@host/a?b=1"'),
    (f"http://u:{redact.REDACTED}@h", f"http://u:{redact.REDACTED}@h"),
    ("http://host/a:b@c", "http://host/a:b@c"),  # no user info: left alone
    ("s3://bucket/k:ey@x", "s3://bucket/k:ey@x"),
])
def test_redactor_url_passwords(text, expected):
    redactor = redact.Redactor()
    redactor._sources = []  # patterns alone
    assert redactor(text) == expected


def test_global_options_also_after_the_command(tmp_path):
    """``s3 cp a b -v`` as ``s3 -v cp a b`` (what users of aws and git type); one not given
    after the command keeps the value given before it."""
    parser = definition.build_parser()
    after = parser.parse_args(["ls", str(tmp_path), "-v", "--endpoint-url", "http://e:1",
                               "--profile", "p", "--region", "r"])
    before = parser.parse_args(["-v", "--region", "r", "ls", str(tmp_path)])
    neither = parser.parse_args(["ls", str(tmp_path)])
    assert (after.verbose_after, after.endpoint_url, after.profile, after.region) == (1, "http://e:1", "p", "r")
    assert (before.verbose, before.endpoint_url, before.region) == (1, None, "r")
    assert (neither.verbose, neither.endpoint_url, neither.profile, neither.region) == (0, None, None, None)
    status, _, err = run("ls", str(tmp_path), "-vv")
    assert status == 0 and "DEBUG: running s3 ls" in err
    status, _, err = run("-v", "ls", str(tmp_path), "-v")  # counted before and after: -vv
    assert status == 0 and "DEBUG: running s3 ls" in err


def test_ls_without_a_prefix_lists_the_buckets(bucket):
    """``s3 ls`` and ``s3 ls s3://`` list the buckets as s3://NAME lines, as ``aws s3 ls`` does."""
    for argv in (["ls"], ["ls", "s3://"]):
        status, out, err = run(*argv)
        assert status == 0, err
        assert f"s3://{bucket}" in lines(out)


def test_gzip_header_names_the_source_not_a_temp_file(tmp_path, s3dir, client):
    """``cp -z``: the gzip header's file name is the source's base name (gzip -d restores it)."""
    src = tmp_path / "report.csv"
    src.write_bytes(b"a,b\n1,2\n" * 100)
    status, _, err = run("cp", "-z", src, s3dir + "report.csv")
    assert status == 0, err
    packed = get(client, s3dir + "report.csv")
    assert gzip.decompress(packed) == src.read_bytes()
    assert packed[3] & 0x08  # FNAME present
    assert packed[10:packed.index(b"\0", 10)] == b"report.csv"


def test_workers(tmp_path, s3dir, client, monkeypatch):
    """``--workers N``: copies in flight (0: the default); negative or without -r: usage errors."""
    from baiji.util import parallel

    write_tree(tmp_path / "src", {f"f{i}.txt": b"x" * i for i in range(6)})
    widths = []
    real = parallel.concurrent.futures.ThreadPoolExecutor
    monkeypatch.setattr(parallel.concurrent.futures, "ThreadPoolExecutor",
                        lambda n, *a, **k: widths.append(n) or real(n, *a, **k))
    assert run("cp", "-r", "--workers", "3", f"{tmp_path}/src/", s3dir + "a/")[0] == 0
    assert run("sync", "--workers", "0", f"{tmp_path}/src/", s3dir + "b/")[0] == 0
    assert widths == [3, parallel.THREADS]
    bucket, prefix = split(s3dir + "a/")
    listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    assert sorted(o["Key"].rsplit("/", 1)[1] for o in listed) == [f"f{i}.txt" for i in range(6)]
    assert_usage_error(run("cp", "-r", "--workers", "-1", f"{tmp_path}/src/", s3dir + "c/"), "--workers")
    assert_usage_error(run("cp", "--workers", "2", f"{tmp_path}/src/f1.txt", s3dir + "c/"), "--workers")
    with pytest.raises(ValueError, match="workers"):
        list(parallel.run_copies(None, [], {}, workers=-2))


# -- object commands on a bucket's URL -------------------------------------------------------------

@pytest.mark.parametrize("argv", [["cat"], ["info"], ["touch"], ["md5"], ["url"]])
def test_object_commands_on_a_bucket_url_fail_in_one_line(client, bucket, argv):
    """``s3 cat s3://b`` died with "internal error: KeyError: 'ETag'"; ``s3 info s3://b``
    printed the bucket as a 0-byte object (HeadObject with key '' is HeadBucket), exit 0;
    ``s3 touch s3://b`` sent a PutObject to the bucket itself.  Each is one error line."""
    put(client, f"s3://{bucket}/keep.txt", b"precious")
    status, out, err = run(*argv, f"s3://{bucket}")
    assert status == 1 and err.startswith("s3: error: ") and "internal error" not in err, (status, out, err)
    assert err.count("\n") == 1 and "bucket" in err, err
    assert keys_under(client, f"s3://{bucket}/") == ["keep.txt"]
