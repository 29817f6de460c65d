"""What users of ``aws s3`` type by habit (issue 19): write options on cp/mv/sync, checked on
the server with a HEAD; ``sync --no-delete``; ``du``; ``ls --summarize``; ``mb``/``rb``; unknown
options named alone; ``ls -l``'s HEADs in flight together, in order."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from baiji import s3
from support.helpers import head, keys_under, put, write_tree
from support.servers import skip_unless_moto
from test_cli import assert_failed, assert_usage_error, lines, run

WRITE_FLAGS = ["--cache-control", "max-age=60", "--content-disposition", "attachment; filename=\"r.txt\"",
               "--expires", "2031-01-31T00:00:00Z", "--storage-class", "STANDARD_IA",
               "--metadata", "team=data", "--metadata", "run=7"]


def _assert_written(client, url: str) -> None:
    """The object at ``url`` carries what WRITE_FLAGS asked for."""
    found = head(client, url)
    assert found["CacheControl"] == "max-age=60"
    assert found["ContentDisposition"] == 'attachment; filename="r.txt"'
    assert found["Expires"] == datetime(2031, 1, 31, tzinfo=timezone.utc)
    assert found.get("StorageClass") == "STANDARD_IA"
    assert {"team": "data", "run": "7"}.items() <= found["Metadata"].items()


@pytest.mark.parametrize("how", ["upload", "s3-to-s3", "sync", "mv"])
def test_write_options_reach_the_server(client, s3dir, tmp_path, how):
    src = tmp_path / "report.txt"
    src.write_bytes(b"numbers\n")
    if how == "upload":
        status, _, err = run("cp", src, s3dir + "report.txt", *WRITE_FLAGS)
    elif how == "s3-to-s3":
        put(client, s3dir + "plain.txt", b"numbers\n")
        status, _, err = run("cp", s3dir + "plain.txt", s3dir + "report.txt", *WRITE_FLAGS)
    elif how == "mv":
        status, _, err = run("mv", src, s3dir + "report.txt", *WRITE_FLAGS)
        assert not src.exists()
    else:
        status, _, err = run("sync", tmp_path, s3dir, *WRITE_FLAGS)
    assert (status, err) == (0, "")
    _assert_written(client, s3dir + "report.txt")


def test_acl_is_another_name_for_policy(client, s3dir, tmp_path, server_kind):
    skip_unless_moto(server_kind, "SeaweedFS records no public-read grant")
    (tmp_path / "f").write_bytes(b"x")
    assert run("cp", tmp_path / "f", s3dir + "f", "--acl", "public-read")[0] == 0
    grants = client.get_object_acl(Bucket=s3dir.split("/")[2], Key=s3dir.split("/", 3)[3] + "f")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") and g["Permission"] == "READ" for g in grants)


def test_sse_kms(client, s3dir, tmp_path, server_kind):
    skip_unless_moto(server_kind, "SeaweedFS has no KMS")
    (tmp_path / "f").write_bytes(b"secret numbers")
    status, _, err = run("cp", tmp_path / "f", s3dir + "f", "--sse", "aws:kms", "--sse-kms-key-id", "alias/data")
    assert (status, err) == (0, "")
    found = head(client, s3dir + "f")
    assert found["ServerSideEncryption"] == "aws:kms" and found["SSEKMSKeyId"].endswith("alias/data")


@pytest.mark.parametrize("flags, needle", [
    (["--no-encrypt", "--sse", "AES256"], "--no-encrypt and --sse contradict each other"),
    (["--sse-kms-key-id", "k"], "--sse-kms-key-id: needs --sse aws:kms"),
    (["--content-type", "text/plain", "-g"], "--content-type and -g/--guess-content-type contradict"),
    (["--metadata", "novalue"], "expected KEY=VALUE"),
    (["--sse", "rot13"], "invalid choice"),
])
def test_write_option_contradictions_are_usage_errors(tmp_path, flags, needle):
    (tmp_path / "f").write_bytes(b"x")
    assert_usage_error(run("cp", tmp_path / "f", "s3://bucket/f", *flags), needle)


def test_write_options_refused_for_a_local_destination(tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    assert_failed(run("cp", tmp_path / "f", tmp_path / "g", "--storage-class", "GLACIER"),
                  "storage_class: only for s3 destinations")
    assert not (tmp_path / "g").exists()


def test_a_bad_expires_is_one_line_and_writes_nothing(client, s3dir, tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    assert_failed(run("cp", tmp_path / "f", s3dir + "f", "--expires", "next tuesday"),
                  "expires: not an ISO 8601 date and time: 'next tuesday'")
    assert keys_under(client, s3dir) == []


def test_guess_content_type_on_cp(client, s3dir, tmp_path, server_kind):
    (tmp_path / "page.html").write_bytes(b"<p>hi</p>")
    assert run("cp", "-g", tmp_path / "page.html", s3dir + "guessed.html")[0] == 0
    assert head(client, s3dir + "guessed.html")["ContentType"] == "text/html"
    assert run("cp", "--content-type", "text/x-custom", tmp_path / "page.html", s3dir + "told.html")[0] == 0
    if server_kind == "moto":  # SeaweedFS guesses a content type over an explicit one
        assert head(client, s3dir + "told.html")["ContentType"] == "text/x-custom"


def test_library_write_options(client, s3dir, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"a")
    s3.cp(str(tmp_path / "a.txt"), s3dir + "a.txt", storage_class="STANDARD_IA", cache_control="no-cache",
          expires=datetime(2030, 5, 1, tzinfo=timezone.utc))
    found = head(client, s3dir + "a.txt")
    assert (found.get("StorageClass"), found["CacheControl"]) == ("STANDARD_IA", "no-cache")
    s3.sync(str(tmp_path), s3dir + "synced/", metadata={"k": "v"}, content_disposition="inline")
    assert head(client, s3dir + "synced/a.txt")["ContentDisposition"] == "inline"
    with pytest.raises(TypeError, match="'force'"):
        s3.sync(str(tmp_path), s3dir + "synced/", force=True)
    with pytest.raises(ValueError, match="sse must be one of"):
        s3.cp(str(tmp_path / "a.txt"), s3dir + "b.txt", sse="rot13")


# -- sync --no-delete ------------------------------------------------------------------------

def test_sync_no_delete_copies_and_deletes_nothing(client, s3dir, tmp_path):
    write_tree(tmp_path / "src", {"new.txt": b"new", "same.txt": b"same"})
    put(client, s3dir + "same.txt", b"same")
    put(client, s3dir + "only-there.txt", b"keep me")
    status, out, _ = run("sync", "--no-delete", "-v", f"{tmp_path / 'src'}/", s3dir)
    assert status == 0 and lines(out) == [f"[copied] {tmp_path / 'src' / 'new.txt'} -> {s3dir}new.txt"]
    assert keys_under(client, s3dir) == ["new.txt", "only-there.txt", "same.txt"]
    status, out, _ = run("sync", "--delete", f"{tmp_path / 'src'}/", s3dir)  # aws's flag: sync deletes anyway
    assert status == 0 and keys_under(client, s3dir) == ["new.txt", "same.txt"]
    assert_usage_error(run("sync", "--no-delete", "--max-delete", "3", tmp_path / "src", s3dir),
                       "nothing is deleted with --no-delete")


# -- du and ls --summarize ---------------------------------------------------------------------

def test_du(client, s3dir):
    for key, size in (("a/1", 10), ("a/b/2", 20), ("c/3", 5), ("top", 1)):
        put(client, s3dir + key, b"x" * size)
    status, out, _ = run("du", "--bytes", s3dir)
    assert (status, lines(out)) == (0, [f"30\t2\t{s3dir}a/", f"5\t1\t{s3dir}c/", f"36\t4\t{s3dir}"])
    status, out, _ = run("du", "-s", s3dir)
    assert (status, lines(out)) == (0, [f"36 B\t4\t{s3dir}"])
    status, out, _ = run("du", "-s", "--json", s3dir + "a/", "--exclude", "b/")
    assert json.loads(out) == {"uri": s3dir + "a/", "files": 1, "size": 10}
    assert s3.du(s3dir + "c")[-1] == (s3dir + "c", 1, 5)


def test_ls_summarize(client, s3dir):
    put(client, s3dir + "x", b"12345")
    put(client, s3dir + "d/y", b"123")
    status, out, _ = run("ls", "--summarize", s3dir)
    assert (status, lines(out)) == (0, [s3dir + "d/y", s3dir + "x", "", "Total Objects: 2", "   Total Size: 8 B"])
    status, out, _ = run("ls", "-s", "--summarize", "--bytes", s3dir)  # a sub-prefix is no object
    assert lines(out)[-2:] == ["Total Objects: 1", "   Total Size: 5"]
    status, out, _ = run("ls", "--json", "--summarize", s3dir)
    assert json.loads(lines(out)[-1]) == {"total_objects": 2, "total_size": 8}


# -- what aws has and baiji calls otherwise --------------------------------------------------

@pytest.mark.parametrize("command, names", [("mb", "s3 buckets --create NAME"), ("rb", "s3 buckets --delete NAME")])
def test_mb_and_rb_name_baijis_commands(command, names):
    status, out, err = run(command, "s3://some-bucket")
    assert (status, out) == (2, b"")
    assert err.count("\n") == 1 and names in err and err.startswith("s3: error: ")


@pytest.mark.parametrize("argv", [
    ["cp", "--storage-klass", "STANDARD_IA", "f", "s3://b/k"],
    ["cp", "f", "s3://b/k", "--storage-klass"],
])
def test_an_unknown_option_is_named_alone(argv):
    status, _, err = run(*argv)
    assert status == 2 and "unknown option --storage-klass (s3 cp -h lists them)" in err
    assert "s3://b/k" not in err.splitlines()[-1]


def test_ls_l_heads_keep_the_listing_order(client, s3dir):
    """``ls -l`` sends its HEADs (the ``enc`` column) many at a time; the lines keep the listing's order."""
    names = [f"k{i:03d}" for i in range(70)]
    for name in names:
        put(client, s3dir + name, b"x", ServerSideEncryption="AES256")
    status, out, _ = run("ls", "-l", s3dir)
    rows = [line.split("\t") for line in lines(out)]
    assert status == 0 and [row[3] for row in rows] == [s3dir + name for name in names]
    assert all(row[2] == "enc" for row in rows)


def test_metadata_that_is_not_ascii_is_refused_up_front(client, s3dir, tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    assert_failed(run("cp", tmp_path / "f", s3dir + "f", "--metadata", "owner=Zoë"),
                  "metadata 'owner': 'Zoë': S3 metadata takes ASCII only")
    assert keys_under(client, s3dir) == []
