"""Scriptable output of the read commands: ``--json`` on ls, info and buckets; ``ls -l`` columns.

Every ``--json`` line is one JSON object: sizes are exact ints, times are
``format_time``'s UTC form (the one of ``ls -l`` and ``info``), null stands
for what is not known.  The lines stay valid UTF-8 JSON whatever a key or a
local file name holds.  ``ls --json`` costs no request per key (counted
through the fault proxy); ``-l`` adds the HEAD per key that ``encrypted`` needs.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import re
import uuid

import pytest

from baiji.cli import context, core, output, redact
from baiji.cli import main
from support.helpers import RequestCounter, keys_under, put, write_tree
from test_cli import _BrokenStdout, assert_usage_error, lines, run
from test_startup import QUIET, _loaded

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def json_lines(stdout: bytes) -> list[dict]:
    """The objects of ``--json`` output: strict UTF-8, split at ``\\n`` only, one object a line."""
    text = stdout.decode("utf-8")
    assert text.endswith("\n") or text == ""
    rows = [json.loads(line) for line in text.split("\n")[:-1]]
    assert all(isinstance(row, dict) for row in rows)
    return rows


def via(proxy, *args):
    """``run`` through the fault proxy, to count the requests sent."""
    return run("--endpoint-url", proxy.endpoint_url, *args)


# --------------------------------------------------------------------------
# The helper: no server


def test_json_line_conventions():
    when = datetime.datetime(2026, 11, 29, 15, 0, 0, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    line = output.json_line({"size": 2 ** 63, "t": when, "none": None, "nested": [{"t": when}], "ok": True})
    assert line == ('{"size": 9223372036854775808, "t": "2026-11-29T14:00:00Z", "none": null, '
                    '"nested": [{"t": "2026-11-29T14:00:00Z"}], "ok": true}')
    assert json.loads(line)["t"] == output.format_time(when)


@pytest.mark.parametrize("text, shown", [
    ("a\nb", r"a\nb"),
    ("\x1b[31m", r"\u001b[31m"),
    ("\x7f\x85\x9b", r"\u007f\u0085\u009b"),      # DEL and C1 controls (NEL, CSI)
    ("\u2028\u2029", r"\u2028\u2029"),             # str.splitlines() breaks there
    ("caf\udce9", r"caf\udce9"),                   # os.fsdecode(b"caf\xe9")
    ("ö 日本 \"q\" \\", 'ö 日本 \\"q\\" \\\\'),     # unicode as is, JSON's own escapes
])
def test_json_line_is_one_valid_utf8_line(text, shown):
    line = output.json_line(text)
    assert line == f'"{shown}"'
    assert line.encode("utf-8").decode("utf-8").splitlines() == [line]
    assert json.loads(line) == text


def test_print_json_writes_one_line():
    out = io.BytesIO()
    ctx = context.Context(args=None, out=output.Output(out), stdin=None, stderr=io.StringIO(),
                          redactor=redact.Redactor())
    ctx.print_json({"uri": "s3://b/k", "size": 1})
    ctx.print_json({"uri": "s3://b/l", "size": None})
    assert out.getvalue() == b'{"uri": "s3://b/k", "size": 1}\n{"uri": "s3://b/l", "size": null}\n'


def test_json_stays_off_the_import_path_of_plain_commands(s3dir, client, tmp_path):
    put(client, s3dir + "k")
    for argv in (["ls", s3dir], ["ls", str(tmp_path)], ["cp", s3dir + "k", str(tmp_path / "k")]):
        loaded = _loaded("from baiji.cli import main\n" + QUIET.format(argv=argv), site=True)
        assert "baiji.cli" in loaded and "json" not in loaded, argv
    assert "json" in _loaded("from baiji.cli import main\n" + QUIET.format(argv=["ls", "--json", s3dir]), site=True)


# --------------------------------------------------------------------------
# ls --json


def test_ls_json_is_the_listing_alone(fault_proxy, s3dir, client):
    put(client, s3dir + "empty", b"")
    put(client, s3dir + "five", b"12345")
    put(client, s3dir + "sub/big", b"x" * 1536)
    with RequestCounter(fault_proxy) as counter:
        status, out, err = via(fault_proxy, "ls", "--json", s3dir)
    assert (status, err) == (0, "")
    rows = json_lines(out)
    assert [list(row) for row in rows] == [["uri", "size", "last_modified"]] * 3
    assert [(row["uri"], row["size"]) for row in rows] == [
        (s3dir + "empty", 0), (s3dir + "five", 5), (s3dir + "sub/big", 1536)]
    assert all(TIME.match(row["last_modified"]) for row in rows)
    assert counter["HeadObject"] == 0 and counter["GetObject"] == 0, counter


def test_ls_l_json_adds_encrypted_for_a_head_per_key(fault_proxy, s3dir, tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    assert run("cp", tmp_path / "f", s3dir + "enc")[0] == 0
    assert run("cp", "--no-encrypt", tmp_path / "f", s3dir + "plain")[0] == 0
    with RequestCounter(fault_proxy) as counter:
        status, out, err = via(fault_proxy, "ls", "-l", "--json", s3dir)
    assert (status, err) == (0, "")
    rows = json_lines(out)
    assert [list(row) for row in rows] == [["uri", "size", "last_modified", "encrypted"]] * 2
    assert rows[0]["encrypted"] in (True, False)  # where the server reports it (moto and AWS do)
    assert rows[1]["encrypted"] is False
    assert counter["HeadObject"] == 2, counter


def test_ls_shallow_json(s3dir, client):
    put(client, s3dir + "a", b"a")
    put(client, s3dir + "sub/b", b"b")
    status, out, err = run("ls", "-s", "--json", s3dir)
    assert (status, err) == (0, "")
    rows = json_lines(out)
    assert rows[0]["uri"] == s3dir + "a" and rows[0]["size"] == 1
    assert rows[1] == {"uri": s3dir + "sub/", "size": None, "last_modified": None}
    status, out, _ = run("ls", "-s", "-l", "--json", s3dir)
    assert json_lines(out)[1] == {"uri": s3dir + "sub/", "size": None, "last_modified": None, "encrypted": None}


@pytest.fixture
def vdir(versioned_bucket) -> str:
    return f"s3://{versioned_bucket}/json-{uuid.uuid4().hex[:12]}/"


def test_ls_versions_json(fault_proxy, vdir, client):
    url = vdir + "v.txt"
    first = put(client, url, b"one")["VersionId"]
    second = put(client, url, b"second")["VersionId"]
    bucket, key = url[len("s3://"):].split("/", 1)
    marker = client.delete_object(Bucket=bucket, Key=key)["VersionId"]
    with RequestCounter(fault_proxy) as counter:
        status, out, err = via(fault_proxy, "ls", "--list-versions", "--json", vdir)
    assert (status, err) == (0, "")
    assert counter["HeadObject"] == 0, counter
    rows = {row["version_id"]: row for row in json_lines(out)}
    assert set(rows) == {first, second, marker}
    assert all(list(row) == ["uri", "size", "last_modified", "version_id", "is_latest", "delete_marker"]
               for row in rows.values())
    assert rows[marker] | {"last_modified": None} == {
        "uri": url, "size": None, "last_modified": None, "version_id": marker, "is_latest": True,
        "delete_marker": True}
    assert (rows[first]["size"], rows[first]["delete_marker"], rows[first]["is_latest"]) == (3, False, False)
    assert rows[second]["size"] == 6
    assert all(TIME.match(row["last_modified"]) for row in rows.values())
    status, out, _ = run("ls", "--list-versions", "-l", "--json", vdir)
    assert {row["version_id"]: row["encrypted"] for row in json_lines(out)}[marker] is None


def test_ls_json_follows_the_filters(s3dir, client):
    for name in ("a.txt", "b.log", "sub/c.txt"):
        put(client, s3dir + name)
    for flags in ([], ["-l"], ["--list-versions"]):
        status, out, err = run("ls", "--json", *flags, "--include", "*.txt", "--exclude", "sub/", s3dir)
        assert (status, err) == (0, "")
        assert [row["uri"] for row in json_lines(out)] == [s3dir + "a.txt"], flags


def test_ls_json_keeps_odd_keys_valid(s3dir, client):
    names = ["tab\there", "esc\x1b[31m", 'quote"back\\slash', "uni ö 日本 \u2028x", "del\x7f", "nl\nx",
             "cr\rx", "ctl\x01x"]
    for name in names:
        try:
            put(client, s3dir + name)
        except client.exceptions.ClientError:  # moto refuses a key with a line break
            pass
    stored = keys_under(client, s3dir)  # as the server keeps them (SeaweedFS turns \ into /)
    assert len(stored) >= len(names) - 1
    status, out, err = run("ls", "--json", s3dir)
    assert (status, err) == (0, "")
    assert len(out.split(b"\n")) == len(stored) + 1  # no line break inside a line
    assert sorted(row["uri"] for row in json_lines(out)) == sorted(s3dir + key for key in stored)
    for row in json_lines(out):  # each is a key that works as input again
        assert run("exists", row["uri"])[0] == 0


def test_ls_json_of_undecodable_local_names(offline, tmp_path):
    """A local name that is not UTF-8 stays valid UTF-8 JSON; Python reads back its bytes."""
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9 \x1b.txt")
    with open(raw, "wb") as f:
        f.write(b"12")
    for argv in (("ls", "--json", tmp_path), ("ls", "-l", "--json", tmp_path), ("info", "--json", os.fsdecode(raw))):
        status, out, err = run(*argv)
        assert (status, err) == (0, ""), argv
        [row] = json_lines(out)
        assert rb"caf\udce9 \u001b.txt" in out
        assert os.fsencode(row["uri"]) == raw
        assert row["size"] == 2 and TIME.match(row["last_modified"])
        assert row.get("encrypted") is None  # local files: not known (ls -l) or not told (ls, info)


def test_ls_json_of_a_local_tree(offline, tmp_path):
    write_tree(tmp_path, {"a": b"a", "d/b": b"bb"})
    status, out, err = run("ls", "-s", "--json", tmp_path)
    assert (status, err) == (0, "")
    rows = json_lines(out)
    assert [(row["uri"], row["size"]) for row in rows] == [(str(tmp_path / "a"), 1), (str(tmp_path / "d") + "/", None)]


def test_ls_json_broken_pipe_is_quiet(offline, tmp_path):
    write_tree(tmp_path, {f"f{i}": b"x" for i in range(3)})
    err = io.StringIO()
    status = main(["ls", "--json", str(tmp_path)], stdin=io.BytesIO(), stdout=_BrokenStdout(), stderr=err)
    assert (status, err.getvalue()) == (core.EXIT_BROKEN_PIPE, "")


# --------------------------------------------------------------------------
# ls -l columns


def test_ls_l_has_no_empty_trailing_column(s3dir, client):
    put(client, s3dir + "k", b"x" * 1536)
    status, out, err = run("ls", "-l", s3dir)
    assert (status, err) == (0, "")
    [line] = lines(out)
    assert not line.endswith("\t")
    size, modified, enc, url = line.split("\t")
    assert (size, url) == ("1.5 KiB", s3dir + "k")
    status, out, _ = run("ls", "-l", "--bytes", s3dir)
    assert lines(out)[0].split("\t")[0] == "1536"


def test_ls_list_versions_columns(vdir, client):
    url = vdir + "k"
    version = put(client, url, b"x" * 2048)["VersionId"]
    for argv, size in ((("ls", "--list-versions"), "2.0 KiB"), (("ls", "--list-versions", "--bytes"), "2048")):
        status, out, err = run(*argv, vdir)
        assert (status, err) == (0, "")
        [line] = lines(out)
        assert line.split("\t")[0] == size
        assert line.split("\t")[3:] == [url, version, "latest"]


def test_ls_bytes_needs_a_layout_with_sizes(offline, tmp_path):
    assert_usage_error(run("ls", "--bytes", tmp_path), "--bytes", "-l")
    assert run("ls", "--bytes", "--json", tmp_path) == (0, b"", "")  # sizes in JSON are bytes anyway


def test_times_are_one_format_everywhere(s3dir, client):
    put(client, s3dir + "k", b"x")
    ls_l = lines(run("ls", "-l", s3dir)[1])[0].split("\t")[1]
    ls_json = json_lines(run("ls", "--json", s3dir)[1])[0]["last_modified"]
    info = [row for row in lines(run("info", s3dir + "k")[1]) if row.startswith("last_modified: ")]
    info_json = json_lines(run("info", "--json", s3dir + "k")[1])[0]["last_modified"]
    assert TIME.match(ls_l)
    assert ls_l == ls_json == info_json and info == [f"last_modified: {ls_l}"]


# --------------------------------------------------------------------------
# info --json, buckets --info --json


def test_info_json(s3dir, client, conn):
    put(client, s3dir + "k", b"12345", ContentType="text/plain")
    status, out, err = run("info", "--json", s3dir + "k")
    assert (status, err) == (0, "")
    [row] = json_lines(out)
    expected = conn.info(s3dir + "k")
    assert list(row) == list(expected)
    assert row | {"last_modified": None} == json.loads(output.json_line(expected | {"last_modified": None}))
    assert row["size"] == 5 and row["content_type"] == "text/plain"
    assert row["last_modified"] == output.format_time(expected["last_modified"])
    assert row["content_encoding"] is None


def test_buckets_info_json(bucket, conn):
    status, out, err = run("buckets", "--info", bucket, "--json")
    assert (status, err) == (0, "")
    [row] = json_lines(out)
    assert row == conn.bucket_info(bucket)
    assert row["name"] == bucket and row["versioning_status"] in ("Enabled", "Suspended", "Not Versioned")


# -- ls -l past keys it cannot HEAD ----------------------------------------------------------------

@pytest.mark.parametrize("argv", [["-l"], ["-l", "--json"]], ids=["l", "l-json"])
def test_ls_l_goes_on_past_a_key_deleted_while_listing(fault_proxy, client, s3dir, argv):
    """``s3 ls -l s3://b/dir/`` on a prefix someone else is cleaning up: ``-l`` HEADs each listed
    key for its encryption; a key deleted between the listing and its HEAD (404) aborted the
    whole listing with "not found", exit 1, half the keys never shown.  A vanished key is
    gone: the listing must go on (the vanished key left out or shown with encryption unknown)."""
    from support.faultproxy import Fault

    for name in ("a", "b", "c"):
        put(client, f"{s3dir}{name}", b"x")
    fault_proxy.proxy.fail_next(1, Fault("error", status=404, code="NoSuchKey", message="gone"),
                                match=lambda r: r.op == "HeadObject" and r.key.endswith("/b"))
    status, out, err = run("--endpoint-url", fault_proxy.endpoint_url, "ls", *argv, s3dir)
    assert status == 0, (status, out, err)
    text = out.decode()
    assert f"{s3dir}a" in text and f"{s3dir}c" in text


@pytest.mark.xfail(strict=True, reason="not fixed: ls -l/ls_info HEADs each key for its encryption and any HEAD "
                   "error ends the listing; telling a per-key refusal (SSE-C 400, a policy's 403) from an outage "
                   "(where HEADing on would retry every key) needs the HTTP status kept on S3Exception")
@pytest.mark.parametrize("status, code", [(400, "BadRequest"), (403, "AccessDenied")], ids=["sse-c", "denied"])
def test_ls_l_goes_on_past_a_key_it_may_list_but_not_head(fault_proxy, client, s3dir, status, code):
    """``s3 ls -l s3://b/dir/`` where one key is SSE-C encrypted (HEAD without its key: 400 on
    AWS) or denied by a bucket policy (403) while listing is allowed: the encryption column
    costs a HEAD per key, and that one HEAD ended the whole listing, exit 1.  The listing is
    what was asked for: that key should be shown with its encryption unknown."""
    from support.faultproxy import Fault

    for name in ("a", "b", "c"):
        put(client, f"{s3dir}{name}", b"x")
    fault_proxy.proxy.fail_always(Fault("error", status=status, code=code, message="no"),
                                  match=lambda r: r.op == "HeadObject" and r.key.endswith("/b"))
    status, out, err = run("--endpoint-url", fault_proxy.endpoint_url, "ls", "-l", "--json", s3dir)
    assert status == 0, (status, out, err)
    assert [line.split('"')[3].rsplit("/", 1)[1] for line in out.decode().splitlines()] == ["a", "b", "c"]
