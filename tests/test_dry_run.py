"""``dry_run`` / ``--dry-run``: nothing changes, and the plan is what the real run then does.

Each test takes a listing of both sides, runs the dry run (nothing may change),
then the real run, and compares what changed with what the dry run said.
"""

from __future__ import annotations

import warnings

import pytest

from baiji.connection import S3Connection
from support.helpers import missing_bucket, put, split, tree, write_tree
from test_cli import assert_failed, lines, run


def _keys(client, prefix: str) -> dict[str, bytes]:
    bucket, key = split(prefix)
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
        for obj in page.get("Contents", ()):
            found[f"s3://{bucket}/{obj['Key']}"] = obj["ETag"]
    return found


def _files(root) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_sync_dry_run_is_what_the_sync_then_does(tmp_path, s3dir, conn, client):
    src = tmp_path / "src"
    write_tree(src, {"same.txt": b"same", "changed.txt": b"new content", "new/a.txt": b"a"})
    dst = s3dir + "dst/"
    for name, data in (("same.txt", "same"), ("changed.txt", "old"), ("gone.txt", "x"), ("gone/b.txt", "y")):
        conn.put_string(dst + name, data)
    before = _keys(client, dst)
    planned = conn.sync(str(src), dst, dry_run=True)
    assert _keys(client, dst) == before  # nothing changed
    copies = {(p.src, p.dst) for p in planned if p.action == "copy"}
    deletes = {p.dst for p in planned if p.action == "delete"}
    assert copies == {(str(src / "changed.txt"), dst + "changed.txt"), (str(src / "new" / "a.txt"), dst + "new/a.txt")}
    assert deletes == {dst + "gone.txt", dst + "gone/b.txt"}
    assert not [p for p in planned if p.action not in ("copy", "delete")]
    conn.sync(str(src), dst)
    after = _keys(client, dst)
    assert set(before) - set(after) == deletes
    assert {url for url in after if before.get(url) != after[url]} == {d for _, d in copies}


def test_sync_dry_run_holds_back_what_the_real_run_would_not_delete(tmp_path, s3dir, conn):
    src = tmp_path / "src"
    write_tree(src, {"a.txt": b"a"})
    for name in ("x", "y", "z"):
        conn.put_string(s3dir + "d/" + name, name)
    planned = conn.sync(str(src), s3dir + "d/", dry_run=True, max_delete=2)
    assert {p.action for p in planned if p.dst and p.dst.endswith(("/x", "/y", "/z"))} == {"refuse"}
    assert all("max_delete=2" in p.reason for p in planned if p.action == "refuse")


def test_cp_r_dry_run_is_what_cp_r_then_does(tmp_path, s3dir, conn, client):
    src = tmp_path / "tree"
    write_tree(src, {"a.txt": b"a", "sub/b.txt": b"b", "sub/c.txt": b"c"})
    conn.put_string(s3dir + "out/tree/a.txt", "already there")
    before = _keys(client, s3dir + "out/")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a dry run says "skip" in its plan, not in a warning
        planned = conn.cp_r(str(src), s3dir + "out/", dry_run=True)
    assert _keys(client, s3dir + "out/") == before
    assert {(p.action, p.dst) for p in planned} == {
        ("skip", s3dir + "out/tree/a.txt"), ("copy", s3dir + "out/tree/sub/b.txt"),
        ("copy", s3dir + "out/tree/sub/c.txt")}
    with pytest.warns(UserWarning, match="Skipping"):
        conn.cp_r(str(src), s3dir + "out/")
    after = _keys(client, s3dir + "out/")
    assert set(after) - set(before) == {p.dst for p in planned if p.action == "copy"}
    assert after[s3dir + "out/tree/a.txt"] == before[s3dir + "out/tree/a.txt"]


def test_cp_r_dry_run_between_prefixes_skips_like_the_listing_merge(s3dir, conn, client):
    for name in ("a", "b"):
        conn.put_string(s3dir + "src/" + name, name)
    conn.put_string(s3dir + "dst/a", "other")
    planned = conn.cp_r(s3dir + "src/", s3dir + "dst/", dry_run=True)
    assert sorted((p.action, p.dst) for p in planned) == [("copy", s3dir + "dst/b"), ("skip", s3dir + "dst/a")]
    assert sorted(_keys(client, s3dir + "dst/")) == [s3dir + "dst/a"]


def test_rm_r_and_mv_dry_runs(tmp_path, s3dir, conn, client):
    for name in ("a", "b/c"):
        conn.put_string(s3dir + "t/" + name, name)
    planned = conn.rm_r(s3dir + "t/", dry_run=True)
    assert sorted(p.dst for p in planned) == [s3dir + "t/a", s3dir + "t/b/c"]
    assert {p.action for p in planned} == {"delete"}
    assert sorted(_keys(client, s3dir + "t/")) == [s3dir + "t/a", s3dir + "t/b/c"]
    planned = conn.mv(s3dir + "t/a", s3dir + "m/a", dry_run=True)
    assert [(p.action, p.src, p.dst) for p in planned] == [("copy", s3dir + "t/a", s3dir + "m/a"),
                                                           ("delete", None, s3dir + "t/a")]
    assert conn.mv(s3dir + "t/a", s3dir + "t/b/c", dry_run=True)[0].action == "refuse"
    assert sorted(_keys(client, s3dir)) == [s3dir + "t/a", s3dir + "t/b/c"]


def test_cli_dry_run_prints_the_plan_and_changes_nothing(tmp_path, s3dir, conn, client):
    write_tree(tmp_path / "src", {"a.txt": b"a"})
    conn.put_string(s3dir + "d/old.txt", "old")
    status, out, err = run("sync", "--dry-run", f"{tmp_path}/src", s3dir + "d/")
    assert (status, err) == (0, "")
    assert lines(out) == [f"(dry run) copy {tmp_path}/src/a.txt -> {s3dir}d/a.txt",
                          f"(dry run) delete {s3dir}d/old.txt"]
    status, out, err = run("rm", "-r", "-n", s3dir + "d/")  # no -f, no terminal: a dry run asks nothing
    assert (status, lines(out)) == (0, [f"(dry run) delete {s3dir}d/old.txt"]), err
    assert sorted(_keys(client, s3dir)) == [s3dir + "d/old.txt"]
    status, _, err = run("cp", "--dry-run", f"{tmp_path}/src/a.txt", s3dir + "d/")
    assert status == 2 and "--dry-run" in err


# -- dry runs that disagree with the real run ------------------------------------------------------

def test_cp_r_dry_run_into_a_local_tree_in_the_way_says_what_the_real_run_refuses(tmp_path):
    """A local destination with a directory where a file goes and a file where a directory
    goes: ``cp -r -f -n`` said "copy" for all three, the real run failed all three;
    without ``-f`` the dry run stopped at the first one with "Not a directory"."""
    src, out = tmp_path / "src", tmp_path / "out"
    write_tree(src, {"a": b"a", "c": b"c", "sub/b": b"b"})
    (out / "src" / "a").mkdir(parents=True)
    (out / "src" / "sub").write_bytes(b"a file")
    for force in (["-f"], []):
        status, out_bytes, err = run("cp", "-r", "-n", *force, src, out)
        plan = lines(out_bytes)
        assert [line.split()[3] for line in plan if line.startswith("(dry run) copy")] == [str(src / "c")], plan
        assert sum(line.startswith("(dry run) refuse") for line in plan) == 2, (plan, err)
    assert run("cp", "-r", "-f", src, out)[0] == 1
    assert tree(out) == {"src/c": b"c", "src/sub": b"a file"}


@pytest.mark.parametrize("command", ["cp-r", "mv"])
def test_dry_run_into_a_missing_bucket_fails_like_the_real_run(tmp_path, command, server_kind):
    """``s3 cp -r -n ./site s3://typo-bucket/www/`` planned every copy (exit 0); the real run
    fails every one of them (no such bucket).  ``sync -n`` already says so; so must these."""
    write_tree(tmp_path / "site", {"a": b"a"})
    target = f"s3://{missing_bucket()}/www/"
    argv = (["cp", "-r", "-n", tmp_path / "site", target] if command == "cp-r"
            else ["mv", "-n", tmp_path / "site" / "a", target])
    assert_failed(run(*argv), "does not exist")
    assert (tmp_path / "site" / "a").exists()


def test_mv_dry_run_of_a_directory_is_refused_like_the_real_move(tmp_path):
    """``s3 mv -n dir other`` printed "copy dir -> other" and "delete dir" (exit 0); the
    real ``s3 mv dir other`` refuses (mv moves files)."""
    write_tree(tmp_path / "dir", {"a": b"a"})
    real = run("mv", tmp_path / "dir", tmp_path / "other")
    dry = run("mv", "-n", tmp_path / "dir", tmp_path / "other")
    assert_failed(real, "mv moves files")
    assert_failed(dry, "mv moves files")
    assert tree(tmp_path) == {"dir/a": b"a"}


def test_sync_dry_run_sees_an_empty_directory_where_a_file_goes(tmp_path):
    """``s3 sync -n src dst`` with an empty directory ``dst/a`` where ``src/a`` is a file
    planned "copy a" and "delete old"; the real run fails on ``a`` and deletes nothing (the
    listings show no empty directory; the copy finds it)."""
    write_tree(tmp_path / "src", {"a": b"a"})
    (tmp_path / "dst" / "a").mkdir(parents=True)
    (tmp_path / "dst" / "old").write_bytes(b"old")
    planned = S3Connection().sync(str(tmp_path / "src"), str(tmp_path / "dst"), dry_run=True)
    assert [p.action for p in planned] == ["refuse", "refuse"], planned
    assert "directory is in the way" in planned[0].reason and "not deleted" in planned[1].reason
    assert run("sync", tmp_path / "src", tmp_path / "dst")[0] == 1
    assert tree(tmp_path / "dst", empty_dirs=True) == {"a/": b"", "old": b"old"}


def test_a_dry_run_that_plans_refusals_exits_1_like_the_real_run(tmp_path, s3dir, client):
    """``s3 mv -n k k`` / ``s3 sync -n`` with a refused file printed "refuse" and exited 0,
    where the real run exits 1: ``s3 sync -n SRC DST && s3 sync SRC DST`` goes on to a run
    that fails.  The plan is still printed on stdout."""
    put(client, s3dir + "k", b"k")
    status, out, err = run("mv", "-n", s3dir + "k", s3dir + "k")
    assert status == 1 and lines(out)[0].startswith("(dry run) refuse"), (status, out, err)
    assert err.startswith("s3: error: ") and err.count("\n") == 1, err
    assert run("mv", s3dir + "k", s3dir + "k")[0] == 1
    write_tree(tmp_path / "src", {"a": b"a"})
    (tmp_path / "dst" / "a").mkdir(parents=True)
    (tmp_path / "dst" / "old").write_bytes(b"old")
    status, out, err = run("sync", "-n", tmp_path / "src", tmp_path / "dst")
    assert status == 1, (status, out, err)
    assert any(line.startswith("(dry run) refuse") for line in lines(out)), out
    assert run("sync", tmp_path / "src", tmp_path / "dst")[0] == 1
    # a clean plan still exits 0
    assert run("sync", "-n", tmp_path / "src", tmp_path / "elsewhere")[0] == 0
