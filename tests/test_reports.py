"""Reports instead of floods (issue 11, items 2, 3 and 6 for transfers).

``cp_many``, ``cp_r``, ``sync`` and ``rm_r`` return a :class:`~baiji.report.Report`
and call ``on_event`` per file; a rerun of ``cp -r`` warns once, at the caller's
line; the CLI prints per-file lines with ``-v``, JSON objects with ``--json``,
and one summary line when stderr is a terminal or with ``-v``; progress bars
have a total and end at it.
"""

from __future__ import annotations

import io
import json
import os
import warnings

import pytest

from baiji.connection import BulkCopyError
from baiji.exceptions import KeyExists
from baiji.report import Event, Report
from support.helpers import keys_under, put, write_tree
from test_cli import lines, run
from baiji.cli import main

TREE = {"a.txt": b"a" * 10, "sub/b.txt": b"b" * 20, "sub/c.txt": b"c" * 30}


class Terminal(io.StringIO):
    """A stderr that says it is a terminal (what ``s3`` shows people, not pipes)."""

    def isatty(self) -> bool:
        return True


def run_on_terminal(*args):
    out, err = io.BytesIO(), Terminal()
    status = main([str(a) for a in args], stdin=io.BytesIO(), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / "tree"
    write_tree(src, TREE)
    return src


def test_cp_r_reports_counts_and_bytes(conn, tree, s3dir):
    seen = []
    report = conn.cp_r(str(tree) + "/", s3dir + "out/", on_event=seen.append)
    assert isinstance(report, Report)
    assert (report.copied, report.skipped, report.failed, report.refused) == (3, 0, 0, 0)
    assert report.bytes["copy"] == 60
    assert sorted((e.action, e.dst, e.size) for e in seen) == [
        ("copy", s3dir + "out/a.txt", 10), ("copy", s3dir + "out/sub/b.txt", 20), ("copy", s3dir + "out/sub/c.txt", 30)]
    assert report.summary().startswith("3 copied (60 B) in ")


@pytest.mark.parametrize("same_store", [False, True], ids=["upload", "s3-copy"])
def test_cp_r_rerun_warns_once_at_the_callers_line(conn, tree, s3dir, same_store):
    src = str(tree) + "/"
    if same_store:
        conn.cp_r(src, s3dir + "src/")
        src = s3dir + "src/"
    for rel in TREE:  # other content: the existing copies are not what this run would write
        conn.put_string(s3dir + "out/" + rel, "old")
    seen = []
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        report = conn.cp_r(src, s3dir + "out/", on_event=seen.append)
    assert (report.copied, report.skipped) == (0, 3)
    assert [e.action for e in seen] == ["skip"] * 3
    assert len(record) == 1, [str(w.message) for w in record]
    assert str(record[0].message).startswith("Skipping 3 files whose destination exists (")
    assert "already exists; and 2 more)" in str(record[0].message)
    assert record[0].filename == __file__  # the caller's line, not a library line


def test_cp_many_skips_once_and_reports(conn, tmp_path, s3dir):
    pairs = []
    for i in range(4):
        path = tmp_path / f"s{i}"
        path.write_bytes(b"new")
        pairs.append((str(path), s3dir + f"d{i}"))
    conn.put_string(s3dir + "d1", "old")
    conn.put_string(s3dir + "d2", "old")
    with pytest.warns(UserWarning) as record:
        report = conn.cp_many(pairs)
    # only UserWarnings: pytest.warns also records a ResourceWarning for a keep-alive socket
    # (SeaweedFS) of an earlier test's connection that the garbage collector closes meanwhile
    record = [w for w in record if issubclass(w.category, UserWarning)]
    assert len(record) == 1 and str(record[0].message).startswith("Skipping 2 files")
    assert (report.copied, report.skipped) == (2, 2)


def test_sync_reports_copies_deletions_and_unchanged(conn, tree, s3dir):
    dst = s3dir + "dst/"
    conn.sync(str(tree), dst)
    (tree / "a.txt").write_bytes(b"changed!")
    (tree / "sub" / "c.txt").unlink()
    seen = []
    report = conn.sync(str(tree), dst, on_event=seen.append)
    assert (report.copied, report.deleted, report.unchanged) == (1, 1, 1)
    assert sorted((e.action, e.dst, e.size) for e in seen) == [
        ("copy", dst + "a.txt", 8), ("delete", dst + "sub/c.txt", 30)]
    assert report.summary().startswith("1 copied (8 B), 1 deleted (30 B), 1 unchanged in ")
    assert conn.sync(str(tree), dst).summary().startswith("2 unchanged in ")


def test_rm_r_reports_deletions(conn, tree, s3dir, capsys):
    conn.cp_r(str(tree) + "/", s3dir + "t/")
    seen = []
    report = conn.rm_r(s3dir + "t/", force=True, on_event=seen.append)
    assert report.deleted == 3 and report.bytes["delete"] == 60
    assert sorted(e.dst for e in seen) == [s3dir + "t/a.txt", s3dir + "t/sub/b.txt", s3dir + "t/sub/c.txt"]
    assert sorted(capsys.readouterr().out.splitlines()) == [f"[deleted] {e.dst}" for e in sorted(seen)]
    quiet = conn.rm_r(s3dir + "t/", force=True, quiet=True)
    assert quiet.deleted == 0 and capsys.readouterr().out == ""


def test_a_failed_bulk_copy_carries_its_report(conn, tree, tmp_path, s3dir):
    put_blocker = tmp_path / "out"
    put_blocker.mkdir()
    (put_blocker / "sub").write_bytes(b"a file where a directory must go")
    conn.cp_r(str(tree) + "/", s3dir + "src/")
    with pytest.raises(BulkCopyError) as info:
        conn.cp_r(s3dir + "src/", str(put_blocker) + "/")
    report = info.value.report
    assert report.copied == 1 and report.failed + report.refused == 2
    assert len(report.failures) == 2


def test_progress_callable_gets_each_files_size(conn, tree, s3dir):
    sizes = []
    conn.sync(str(tree), s3dir + "p/", progress=sizes.append)
    assert sorted(sizes) == [10, 20, 30]


def test_progress_bar_has_a_total_and_ends_at_it(conn, tree, s3dir, capsys):
    conn.put_string(s3dir + "bar/a.txt", "exists")  # a skip: still counted, the bar ends at its total
    conn.sync(str(tree), s3dir + "bar/", progress=True)
    err = capsys.readouterr().err
    assert "3/3 files: 100%" in err and "60.0/60.0" in err, err


# -- the command ------------------------------------------------------------------------

def test_cli_cp_r_rerun_one_warning_per_key_lines_with_v(tree, s3dir, client):
    run("cp", "-r", f"{tree}/", s3dir + "o/")
    for rel in TREE:
        put(client, s3dir + "o/" + rel, b"old")
    status, out, err = run("cp", "-r", f"{tree}/", s3dir + "o/")
    assert status == 0 and out == b""
    assert err.count("\n") == 1 and err.startswith("s3: warning: Skipping 3 files"), err
    status, out, err = run("cp", "-r", f"{tree}/", s3dir + "o/", "-v")
    assert status == 0
    assert sorted(lines(out)) == [f"[skipped] {tree}/{rel} -> {s3dir}o/{rel}: already exists" for rel in sorted(TREE)]
    assert [line for line in err.splitlines() if line.startswith("s3: 3 skipped")], err


def test_cli_summary_only_on_a_terminal_or_with_v(tree, s3dir):
    status, out, err = run("sync", tree, s3dir + "s/")
    assert (status, out, err) == (0, b"", "")
    status, out, err = run_on_terminal("sync", tree, s3dir + "s2/")
    assert status == 0 and out == b""
    assert err.rstrip("\n").splitlines()[-1].startswith("s3: 3 copied (60 B) in "), err


def test_cli_json_on_cp_r_sync_and_rm(tree, s3dir, client):
    status, out, _ = run("sync", "--json", tree, s3dir + "j/")
    objects = [json.loads(line) for line in lines(out)]
    assert status == 0 and sorted((o["action"], o["dst"], o["size"]) for o in objects) == [
        ("copy", s3dir + "j/" + rel, len(data)) for rel, data in sorted(TREE.items())]
    assert all(o["reason"] is None and o["src"].startswith(str(tree)) for o in objects)
    put(client, s3dir + "j/a.txt", b"old")
    status, out, _ = run("cp", "-r", "--json", f"{tree}/", s3dir + "j/")
    assert {json.loads(line)["action"] for line in lines(out)} == {"skip"}
    status, out, _ = run("rm", "-r", "-f", "--json", "-n", s3dir + "j/")
    planned = [json.loads(line) for line in lines(out)]
    assert status == 0 and len(planned) == 3 and all(o["dry_run"] and o["action"] == "delete" for o in planned)
    status, out, _ = run("rm", "-r", "-f", "--json", s3dir + "j/")
    assert status == 0 and sorted(json.loads(line)["dst"] for line in lines(out)) == [
        s3dir + "j/" + rel for rel in sorted(TREE)]
    assert keys_under(client, s3dir + "j/") == []


def test_cli_json_single_cp_and_rm(tree, s3dir):
    status, out, _ = run("cp", "--json", tree / "a.txt", s3dir + "one.txt")
    assert status == 0 and json.loads(out) == {"action": "copy", "src": str(tree / "a.txt"),
                                               "dst": s3dir + "one.txt", "size": 10, "reason": None}
    (tree / "a.txt").write_bytes(b"other")
    status, out, _ = run("cp", "--json", "-s", tree / "a.txt", s3dir + "one.txt")
    assert status == 0 and json.loads(out)["action"] == "skip"
    status, out, _ = run("rm", "--json", s3dir + "one.txt")
    assert status == 0 and json.loads(out) == {"action": "delete", "src": None, "dst": s3dir + "one.txt",
                                               "size": None, "reason": None}


def test_cli_rm_r_still_prints_deleted_lines(tree, s3dir, client):
    put(client, s3dir + "r/x", b"1")
    status, out, err = run("rm", "-r", "-f", s3dir + "r/")
    assert (status, lines(out), err) == (0, [f"[deleted] {s3dir}r/x"], "")


def test_event_line_and_json_keep_odd_names_on_one_line(tmp_path):
    src, dst = tmp_path / "odd", tmp_path / "out"
    write_tree(src, {"line\nbreak.txt": b"x"})  # refused: no control characters in local names made
    status, out, _ = run("cp", "-r", "--json", f"{src}/", f"{dst}/")
    assert status == 1 and len(lines(out)) == 1
    assert json.loads(out)["src"] == f"{src}/line\nbreak.txt" and json.loads(out)["action"] == "refuse"
    status, out, _ = run("cp", "-r", "-v", f"{src}/", f"{dst}/")
    assert status == 1 and lines(out) == [
        f"[refused] {src}/line\\nbreak.txt: refusing to copy {src}/line\\nbreak.txt: control character in key"]


def test_event_is_a_planned_step():
    from baiji.s3 import Planned

    assert Planned is Event and Event("copy", "a", "b").past == "copied"


# -- the report must say what happened on the server -----------------------------------------------

def test_cp_r_rerun_with_identical_content_reports_skips_not_copies(conn, tree, s3dir, client):
    """``s3 cp -r tree/ s3://b/out/`` twice: the second run copied nothing, and said
    ``3 copied (60 B)``; ``-n`` said ``skip`` for each."""
    conn.cp_r(f"{tree}/", s3dir + "out/")
    planned = conn.cp_r(f"{tree}/", s3dir + "out/", dry_run=True)
    assert [step.action for step in planned] == ["skip"] * 3
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        report = conn.cp_r(f"{tree}/", s3dir + "out/")
    assert (report.copied, report.skipped) == (0, 3), report
    assert len(record) == 1 and str(record[0].message).startswith("Skipping 3 files")


def test_cp_onto_identical_content_without_force_is_key_exists(conn, tree, s3dir):
    """SPEC: an existing dst without force is ``KeyExists``; the same content there was
    taken for this write's own retried first attempt, and the copy said it was done."""
    conn.cp(str(tree / "a.txt"), s3dir + "same.txt")
    with pytest.raises(KeyExists):
        conn.cp(str(tree / "a.txt"), s3dir + "same.txt")
    with pytest.warns(UserWarning, match="^Skipping"):
        assert conn.cp(str(tree / "a.txt"), s3dir + "same.txt", skip=True) is False


def test_an_error_filter_on_the_skipping_warning_keeps_the_report(conn, tree, s3dir, client):
    """``warnings.simplefilter('error')`` (or ``python -W error``): the one Skipping
    warning, raised after the copies, was the only trace of the run: the report of
    what was copied was lost.  It now travels on the warning."""
    for rel in ("a.txt", "sub/b.txt"):
        conn.put_string(s3dir + "w/" + rel, "other")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning) as raised:
            conn.cp_r(f"{tree}/", s3dir + "w/")
    report = raised.value.report
    assert (report.copied, report.skipped, report.bytes["copy"]) == (1, 2, 30)
    assert keys_under(client, s3dir + "w/") == sorted(TREE)


# -- bad arguments: refused before anything is planned or copied -----------------------------------

@pytest.mark.parametrize("call", ["sync", "cp_r", "sync-dry", "cp_r-dry"])
def test_negative_workers_refused_also_in_a_dry_run(conn, tree, tmp_path, call):
    """``sync(..., workers=-1, dry_run=True)`` printed a plan; only the real run failed."""
    name, _, dry = call.partition("-")
    with pytest.raises(ValueError, match="workers"):
        getattr(conn, name)(f"{tree}/", str(tmp_path / "out") + "/", workers=-1, dry_run=bool(dry))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("dry", [False, True])
def test_negative_max_delete_refused_before_copying(conn, tree, tmp_path, dry):
    """``sync(..., max_delete=-1)`` copied every file, then failed with "0 files would be
    deleted, more than max_delete=-1 allows"; its dry run printed a plan, exit 0."""
    with pytest.raises(ValueError, match="max_delete"):
        conn.sync(f"{tree}/", str(tmp_path / "out") + "/", max_delete=-1, dry_run=dry)
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="max_delete"):
        conn.rm_r(f"{tree}/", force=True, max_delete=-1, dry_run=dry)
    assert sorted(os.listdir(tree)) == ["a.txt", "sub"]


@pytest.mark.parametrize("dry", [False, True])
def test_a_misspelt_copy_option_is_a_type_error_not_one_failure_per_file(conn, tree, tmp_path, dry):
    """``cp_r(src, dst, forse=True)``: every file "failed" (``cp() got an unexpected keyword
    argument 'forse'``), one BulkCopyError for N files; the dry run accepted it."""
    with pytest.raises(TypeError, match="forse"):
        conn.cp_r(f"{tree}/", str(tmp_path / "out") + "/", forse=True, dry_run=dry)
    with pytest.raises(TypeError, match="max_delete"):
        conn.cp_many([(str(tree / "a.txt"), str(tmp_path / "out" / "a.txt"))], max_delete=3)
    assert not (tmp_path / "out").exists()


# -- --json on cp - --------------------------------------------------------------------------------

def test_cli_json_cp_from_stdin_prints_its_object(s3dir):
    """``echo hi | s3 cp --json - s3://b/k`` printed nothing at all."""
    status, out, err = run("cp", "--json", "-", s3dir + "in.txt", stdin=b"hello")
    assert status == 0, err
    assert [json.loads(line) for line in lines(out)] == [
        {"action": "copy", "src": "-", "dst": s3dir + "in.txt", "size": 5, "reason": None}]


def test_cli_json_cp_to_stdout_is_a_usage_error(s3dir, client):
    """``s3 cp --json s3://b/k -``: the JSON promised on stdout cannot share it with the data
    (the flag was silently ignored)."""
    put(client, s3dir + "k", b"data")
    status, out, err = run("cp", "--json", s3dir + "k", "-")
    assert (status, out) == (2, b"") and "--json" in err, err
