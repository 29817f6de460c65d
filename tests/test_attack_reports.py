"""Hostile tests of the reports, --json and progress of the bulk commands (issue 11, items 2, 3, 6),
and of a few small leftovers: each one failed on the code it was written against."""

from __future__ import annotations

import json
import os
import warnings

import pytest

from baiji.exceptions import KeyExists, KeyNotFound
from support.helpers import keys_under, put, write_tree
from test_cli import lines, run

TREE = {"a.txt": b"a" * 10, "sub/b.txt": b"b" * 20, "sub/c.txt": b"c" * 30}


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / "tree"
    write_tree(src, TREE)
    return src


# -- the report must say what happened on the server ------------------------------------------

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


# -- bad arguments: refused before anything is planned or copied -------------------------------

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


# -- --json on cp - -----------------------------------------------------------------------------

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


# -- leftovers ------------------------------------------------------------------------------------

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


def test_rm_r_dry_run_of_a_link_with_a_slash_matches_the_real_run(tmp_path):
    """``s3 rm -r -f -n lnk/`` (lnk -> a directory) exited 0 planning one deletion; the
    real run deleted that file, then failed ("lnk/: Not a directory").  Now both empty
    the directory the link leads to (as GNU ``rm -rf lnk/``) and keep the link, exit 0."""
    target = tmp_path / "target"
    write_tree(target, {"a": b"1", "sub/b": b"2"})
    (tmp_path / "lnk").symlink_to(target)
    status, out, _ = run("rm", "-r", "-f", "-n", f"{tmp_path}/lnk/")
    assert status == 0
    planned = sorted(lines(out))
    status, out, err = run("rm", "-r", "-f", f"{tmp_path}/lnk/")
    assert status == 0, err
    assert sorted(line.replace("[deleted]", "(dry run) delete") for line in lines(out)) == planned
    assert os.path.islink(tmp_path / "lnk") and os.path.isdir(target)
    assert [name for _, _, files in os.walk(target) for name in files] == []
