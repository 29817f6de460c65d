"""``exclude=``/``include=`` and ``--exclude``/``--include`` (issue 11, item 4).

The rule (``baiji.filters``): a path is selected when it matches no exclude
pattern and, if any include pattern is given, one of those; excludes win.
Patterns are case-sensitive ``fnmatch`` globs on the path relative to the
source (``*`` crosses ``/``); a trailing ``/`` matches a directory and all
under it, and a local directory so excluded is never entered.
"""

from __future__ import annotations

import os
import random
import warnings

import pytest

from baiji.connection import BulkCopyError
from baiji.filters import Selector
from baiji.stores import LocalStore
from support.helpers import keys_under, put, s3_tree, tree, write_tree
from test_cli import assert_usage_error, lines, run
from test_listing_safety import run as run_as_user

FILES = {"a.txt": b"a", "a.tmp": b"t", "sub/b.txt": b"b", "sub/c.tmp": b"c", "build/x.o": b"x",
         "build/deep/y.txt": b"y", "builder.txt": b"r"}


def selected(selector: Selector, rels=FILES) -> set[str]:
    return {rel for rel in rels if selector.selects(rel)}


# -- the rule, pure ---------------------------------------------------------------------

@pytest.mark.parametrize("exclude, include, expected", [
    ("*.tmp", None, {"a.txt", "sub/b.txt", "build/x.o", "build/deep/y.txt", "builder.txt"}),  # * crosses /
    (None, "*.txt", {"a.txt", "sub/b.txt", "build/deep/y.txt", "builder.txt"}),
    ("build/", "*.txt", {"a.txt", "sub/b.txt", "builder.txt"}),  # excludes win
    ("build/", None, {"a.txt", "a.tmp", "sub/b.txt", "sub/c.tmp", "builder.txt"}),
    ("build", None, set(FILES) - {"build"}),  # no slash: the path build only (a file), as aws
    ("build/*", None, {"a.txt", "a.tmp", "sub/b.txt", "sub/c.tmp", "builder.txt"}),
    ("./build/", None, {"a.txt", "a.tmp", "sub/b.txt", "sub/c.tmp", "builder.txt"}),
    ("*/", None, {"a.txt", "a.tmp", "builder.txt"}),  # everything in a directory
    (["*.tmp", "build/"], ["sub/*", "*.o"], {"sub/b.txt"}),
    ("[ab]*", None, {"sub/b.txt", "sub/c.tmp"}),
    ("**/*.txt", None, {"a.txt", "a.tmp", "sub/c.tmp", "build/x.o", "builder.txt"}),  # ** is *: needs a /
    (None, "deep/", set()),  # a directory pattern matches from the source's root
    (None, "*deep/", {"build/deep/y.txt"}),
    ("A.TXT", None, set(FILES)),  # case-sensitive
])
def test_the_rule(exclude, include, expected):
    assert selected(Selector(exclude, include)) == expected


def test_brackets_and_dots_are_literal_where_fnmatch_says_so():
    rels = ["[x", "a[b]", "ab", "a/../b", "a/./b", "..", "x/..y"]
    assert selected(Selector("[x"), rels) == set(rels) - {"[x"}  # an unclosed [ is a character
    assert selected(Selector("a[[]b]"), rels) == set(rels) - {"a[b]"}
    assert selected(Selector("a/../*"), rels) == set(rels) - {"a/../b"}  # a hostile key, matched as is
    assert selected(Selector(None, "*/../*"), rels) == {"a/../b"}
    assert selected(Selector("../"), ["../x", "x/../y", "..x"]) == {"x/../y", "..x"}


def test_a_directory_pattern_matches_directories_only():
    sel = Selector("logs/")
    assert not sel.selects("logs/a") and not sel.selects("logs/a/b") and not sel.selects("logs/")
    assert sel.selects("logs") and sel.selects("logs.txt") and sel.selects("x/logs/a")
    assert Selector("*logs/").selects("logs") and not Selector("*logs/").selects("x/logs/a")


def test_prunes_only_what_nothing_under_can_escape():
    sel = Selector(["build/", "cache/*", "*.d*", "*.tmp"], ["*.txt"])
    assert [sel.prunes(d) for d in ("build", "build/deep", "cache", "cache/x", "a.d", "x/y.data", "sub", "a.tmp")] \
        == [True, True, True, True, True, True, False, False]  # a directory a.tmp may hold a.tmp/b.txt
    assert not Selector(None, "docs/").prunes("src")  # an include never prunes
    assert Selector("*").prunes("anything") and Selector("*/").prunes("a")
    assert Selector().prune is None and Selector(None, "*.txt").prune is None
    assert Selector("x/").prune("x")


def test_pruned_directories_hold_nothing_selected():
    """``prunes(d)`` implies that nothing under ``d/`` is selected, for random patterns and paths."""
    rng = random.Random(11)
    atoms = ["a", "b", "/", "*", "?", ".", "[ab]", "[!a]"]
    for _ in range(3000):
        patterns = ["".join(rng.choice(atoms) for _ in range(rng.randint(1, 5))) for _ in range(2)]
        try:
            sel = Selector(patterns[0], patterns[1] if rng.random() < 0.3 else None)
        except ValueError:  # a pattern refused
            continue
        rel_dir = "".join(rng.choice("ab/.") for _ in range(rng.randint(1, 4))).strip("/") or "a"
        if sel.prunes(rel_dir):
            for _ in range(20):
                below = "".join(rng.choice("ab/.") for _ in range(rng.randint(1, 5)))
                assert not sel.selects(f"{rel_dir}/{below}"), (patterns, rel_dir, below)


@pytest.mark.parametrize("everything", ["*", "**", "./*"])
def test_an_include_beside_an_exclude_of_everything_is_refused(everything):
    """aws's ``--exclude '*' --include '*.txt'`` would select nothing: excludes win."""
    with pytest.raises(ValueError, match="excludes every path"):
        Selector(["*.tmp", everything], "*.txt")
    assert selected(Selector(everything)) == set() and selected(Selector("*/", "*.txt")) == {"a.txt", "builder.txt"}


@pytest.mark.parametrize("bad", ["", "/abs", "./", "././", ".//abs", 3, b"x", None])
def test_bad_patterns_are_refused(bad):
    with pytest.raises(ValueError, match="exclude"):
        Selector([bad])
    with pytest.raises(ValueError, match="include"):
        Selector(None, ["ok", bad])


# -- the local walk ---------------------------------------------------------------------

def test_an_excluded_directory_is_never_entered(tmp_path):
    write_tree(tmp_path, {"keep/a": b"a", "skip/b": b"b", "skip/deep/c": b"c"})
    os.mkfifo(tmp_path / "skip" / "fifo")
    os.symlink(tmp_path, tmp_path / "skip" / "loop")  # a loop: reported wherever it is listed
    os.symlink(tmp_path / "nowhere", tmp_path / "skip" / "dangling")
    entered = []

    def prune(rel):
        entered.append(rel)
        return rel == "skip"

    found = [(e.url, e.problem) for e in LocalStore().list(str(tmp_path), followlinks=True, prune=prune)]
    assert found == [(str(tmp_path / "keep" / "a"), None)]
    assert entered == ["keep", "skip"]


def test_excluded_directories_are_never_read(conn, tmp_path, s3dir, monkeypatch, capsys):
    src, dst = tmp_path / "src", tmp_path / "dst"
    write_tree(src, {"a": b"a", "node_modules/x/y": b"y"})
    write_tree(dst, {"node_modules/z": b"z"})
    os.symlink(src, src / "node_modules" / "x" / "loop")
    read, scandir = [], os.scandir
    monkeypatch.setattr(os, "scandir", lambda path: read.append(os.fspath(path)) or scandir(path))
    conn.sync(str(src), str(dst), exclude="node_modules/")
    conn.cp_r(str(src), str(tmp_path / "copy"), exclude="node_modules/")
    assert conn.ls(str(src), exclude="node_modules/") == ["a"]
    conn.rm_r(str(src), force=True, exclude="node_modules/")
    assert read and not [path for path in read if "node_modules" in path]
    assert tree(dst) == {"a": b"a", "node_modules/z": b"z"} and tree(tmp_path / "copy") == {"src/a": b"a"}


def test_excluded_special_files_are_ignored(conn, client, tmp_path, s3dir):
    src = tmp_path / "src"
    write_tree(src, {"a": b"a"})
    os.mkfifo(src / "pipe.tmp")
    put(client, s3dir + "old", b"o")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert conn.ls(str(src), exclude="*.tmp") == ["a"]
    conn.sync(str(src), s3dir, exclude="*.tmp")
    assert keys_under(client, s3dir) == ["a"]


# -- sync -------------------------------------------------------------------------------

@pytest.fixture(params=["local-s3", "s3-local", "s3-s3", "local-local"])
def sides(request, s3dir, tmp_path):
    """``(src, dst, write_src, write_dst, read_dst)`` for each kind of sync."""
    kinds = request.param.split("-")

    def place(kind, name):
        return f"{s3dir}{name}/" if kind == "s3" else str(tmp_path / name) + os.sep

    return place(kinds[0], "src"), place(kinds[1], "dst")


def write(client, base: str, files: dict[str, bytes]) -> None:
    if base.startswith("s3://"):
        for rel, data in files.items():
            put(client, base + rel, data)
    else:
        write_tree(base, files)


def read(client, base: str) -> dict[str, bytes]:
    return s3_tree(client, base) if base.startswith("s3://") else tree(base)


def test_sync_ignores_excluded_paths_on_both_sides(conn, client, sides):
    src, dst = sides
    write(client, src, {"a.txt": b"new", "skip.tmp": b"src", "build/x": b"src", "keep/k": b"k"})
    write(client, dst, {"a.txt": b"old", "skip.tmp": b"dst", "build/x": b"dst", "build/only": b"o",
                        "old.tmp": b"o", "gone": b"g"})
    conn.sync(src, dst, exclude=["*.tmp", "build/"])
    assert read(client, dst) == {"a.txt": b"new", "keep/k": b"k", "skip.tmp": b"dst", "build/x": b"dst",
                                 "build/only": b"o", "old.tmp": b"o"}


def test_sync_include_never_deletes_unselected_destination_files(conn, client, sides):
    src, dst = sides
    write(client, src, {"a.txt": b"a", "b.csv": b"src", "d/c.txt": b"c"})
    write(client, dst, {"b.csv": b"dst", "extra.csv": b"e", "old.txt": b"o", "d/e.bin": b"e"})
    conn.sync(src, dst, include="*.txt")
    assert read(client, dst) == {"a.txt": b"a", "d/c.txt": b"c", "b.csv": b"dst", "extra.csv": b"e",
                                 "d/e.bin": b"e"}


def test_sync_max_delete_counts_selected_deletions_only(conn, client, tmp_path, s3dir):
    src, dst = str(tmp_path / "src"), s3dir + "dst/"
    write_tree(src, {"a.txt": b"a"})
    write(client, dst, {f"keep{i}.log": b"k" for i in range(5)} | {"old.txt": b"o"})
    conn.sync(src, dst, include="*.txt", max_delete=1)
    assert keys_under(client, dst) == ["a.txt", "keep0.log", "keep1.log", "keep2.log", "keep3.log", "keep4.log"]


def test_sync_dry_run_with_filters_is_what_the_sync_then_does(conn, client, tmp_path, s3dir):
    src, dst = str(tmp_path / "src"), s3dir + "dst/"
    write_tree(src, {"a.txt": b"a", "b.tmp": b"b", "cache/c.txt": b"c"})
    write(client, dst, {"old.txt": b"o", "old.tmp": b"o", "cache/d.txt": b"d"})
    planned = conn.sync(src, dst, exclude=["*.tmp", "cache/"], dry_run=True)
    assert {(p.action, p.dst) for p in planned} == {("copy", dst + "a.txt"), ("delete", dst + "old.txt")}
    conn.sync(src, dst, exclude=["*.tmp", "cache/"])
    assert keys_under(client, dst) == ["a.txt", "cache/d.txt", "old.tmp"]


def test_sync_unreadable_excluded_directories_are_no_error(client, tmp_path, s3dir, unreadable):
    src, dst = tmp_path / "src", tmp_path / "dst"
    write_tree(src, {"a": b"a", "private/x": b"x"})
    write_tree(dst, {"old": b"o", "private/y": b"y"})
    os.symlink(dst, src / "private" / "loop")
    unreadable(src / "private")
    unreadable(dst / "private")
    for target in (str(dst), s3dir + "dst/"):
        result = run_as_user("sync", src, target, "--exclude", "private/")
        assert result.returncode == 0, result.stderr
    os.chmod(dst / "private", 0o755)
    assert tree(dst) == {"a": b"a", "private/y": b"y"}
    assert keys_under(client, s3dir + "dst/") == ["a"]
    assert run_as_user("sync", src, dst).returncode == 1  # without the filter: the listing error


def test_sync_a_filter_hiding_one_side_of_a_tree_conflict_loses_nothing(conn, client, s3dir, tmp_path):
    """``build/`` excludes the directory build, not the key build: its copy meets the directory."""
    dst = tmp_path / "dst"
    write_tree(dst, {"build/kept": b"k", "old": b"o"})
    put(client, s3dir + "src/build", b"a key")
    with pytest.raises(BulkCopyError, match="build"):
        conn.sync(s3dir + "src/", str(dst), exclude="build/")
    assert tree(dst) == {"build/kept": b"k", "old": b"o"}


def test_sync_an_s3_source_with_keys_but_none_selected_still_mirrors(conn, client, s3dir):
    """The missing-or-empty refusal is about the prefix having keys, not about the filter's choice."""
    write(client, s3dir + "src/", {"a.csv": b"a"})
    write(client, s3dir + "dst/", {"old.txt": b"o", "b.csv": b"b"})
    conn.sync(s3dir + "src/", s3dir + "dst/", include="*.txt")
    assert keys_under(client, s3dir + "dst/") == ["b.csv"]


def test_hostile_keys_are_refused_when_selected_and_ignored_when_excluded(conn, client, s3dir, tmp_path,
                                                                          server_kind):
    if server_kind == "seaweedfs":
        pytest.skip("SeaweedFS refuses '..' segments in keys")
    write(client, s3dir, {"ok.txt": b"ok", "../escape.txt": b"hostile"})
    dst = tmp_path / "outer" / "dst"
    write_tree(dst, {"old.txt": b"o"})
    with pytest.raises(BulkCopyError, match="refusing to copy"):
        conn.sync(s3dir, str(dst), include="*.txt")
    assert tree(tmp_path) == {"outer/dst/ok.txt": b"ok", "outer/dst/old.txt": b"o"}
    conn.sync(s3dir, str(dst), include="*.txt", exclude="../")
    assert tree(tmp_path) == {"outer/dst/ok.txt": b"ok"}


# -- cp -r ------------------------------------------------------------------------------

def test_cp_r_copies_the_selected_files(conn, client, s3dir, tmp_path):
    src = tmp_path / "tree"
    write_tree(src, FILES)
    conn.cp_r(str(src), s3dir, exclude=["build/", "*.tmp"])
    assert keys_under(client, s3dir) == ["tree/a.txt", "tree/builder.txt", "tree/sub/b.txt"]
    conn.cp_r(s3dir + "tree/", str(tmp_path / "down"), include="sub/*")
    assert tree(tmp_path / "down") == {"sub/b.txt": b"b"}


def test_cp_r_between_prefixes_with_filters(conn, client, s3dir):
    write(client, s3dir + "src/", {"a.txt": b"a", "b.tmp": b"b", "c.txt": b"c"})
    put(client, s3dir + "dst/a.txt", b"there")
    with pytest.warns(UserWarning, match="Skipping"):
        planned = conn.cp_r(s3dir + "src/", s3dir + "dst/", exclude="*.tmp", dry_run=True)
        assert {(p.action, p.dst) for p in planned} == {("skip", s3dir + "dst/a.txt"),
                                                        ("copy", s3dir + "dst/c.txt")}
        conn.cp_r(s3dir + "src/", s3dir + "dst/", exclude="*.tmp")
    assert s3_tree(client, s3dir + "dst/") == {"a.txt": b"there", "c.txt": b"c"}


def test_cp_r_unreadable_excluded_directory_is_no_error(client, s3dir, tmp_path, unreadable):
    src = tmp_path / "tree"
    write_tree(src, {"a": b"a", "secret/x": b"x"})
    unreadable(src / "secret")
    result = run_as_user("cp", "-r", f"{src}/", s3dir, "--exclude", "secret/")
    assert result.returncode == 0, result.stderr
    assert keys_under(client, s3dir) == ["a"]


# -- rm -r ------------------------------------------------------------------------------

def test_rm_r_local_removes_selected_files_only(conn, tmp_path, capsys):
    root = tmp_path / "d"
    write_tree(root, FILES)
    planned = conn.rm_r(str(root), force=True, exclude="build/", include="*.txt", dry_run=True)
    conn.rm_r(str(root), force=True, exclude="build/", include="*.txt")
    gone = {p.dst for p in planned}
    assert gone == {str(root / "a.txt"), str(root / "sub" / "b.txt"), str(root / "builder.txt")}
    assert tree(root, empty_dirs=True) == {"a.tmp": b"t", "sub/c.tmp": b"c", "build/x.o": b"x",
                                           "build/deep/y.txt": b"y"}
    assert sorted(lines(capsys.readouterr().out.encode())) == sorted(f"[deleted] {url}" for url in gone)


def test_rm_r_local_with_filters_leaves_directories(conn, tmp_path):
    root = tmp_path / "d"
    write_tree(root, {"sub/a.txt": b"a"})
    conn.rm_r(str(root), force=True, exclude="*.tmp")
    assert tree(root, empty_dirs=True) == {"sub/": b""}


def test_rm_r_one_local_file_is_matched_by_its_name(conn, tmp_path):
    for name in ("a.txt", "b.tmp"):
        (tmp_path / name).write_bytes(b"x")
        conn.rm_r(str(tmp_path / name), force=True, exclude="*.tmp")
    assert sorted(os.listdir(tmp_path)) == ["b.tmp"]


def test_rm_r_s3_with_filters(conn, client, s3dir):
    write(client, s3dir, {"a.txt": b"a", "b.tmp": b"b", "sub/c.txt": b"c", "sub/": b""})
    assert [p.dst for p in conn.rm_r(s3dir, force=True, include="*.txt", dry_run=True)] == \
        [s3dir + "a.txt", s3dir + "sub/c.txt"]
    conn.rm_r(s3dir, force=True, include="*.txt")
    assert keys_under(client, s3dir) == ["b.tmp", "sub/"]  # a directory marker is a path like any other


def test_rm_r_of_a_key_with_everything_under_it_excluded_keeps_the_key(conn, client, s3dir):
    """Without filters, ``rm -r s3://b/logs`` removes the key logs only when nothing is under logs/."""
    write(client, s3dir, {"logs": b"a key", "logs/a.tmp": b"t"})
    assert conn.rm_r(s3dir + "logs", force=True, exclude="*.tmp", dry_run=True) == []
    conn.rm_r(s3dir + "logs", force=True, exclude="*.tmp")
    assert keys_under(client, s3dir) == ["logs", "logs/a.tmp"]
    write(client, s3dir, {"lone": b"x", "lone.tmp": b"t"})  # one key: matched by its name
    assert conn.rm_r(s3dir + "lone.tmp", force=True, exclude="*.tmp", dry_run=True) == []
    conn.rm_r(s3dir + "lone.tmp", force=True, exclude="*.tmp")
    conn.rm_r(s3dir + "lone", force=True, exclude="*.tmp")
    assert keys_under(client, s3dir) == ["logs", "logs/a.tmp", "lone.tmp"]


def test_rm_r_max_delete_counts_selected_files_only(conn, client, s3dir):
    write(client, s3dir, {f"{i}.log": b"l" for i in range(5)} | {"a.txt": b"a"})
    conn.rm_r(s3dir, force=True, include="*.txt", max_delete=1)
    assert len(keys_under(client, s3dir)) == 5


def test_rm_r_unreadable_excluded_directory_is_no_error(tmp_path, unreadable):
    root = tmp_path / "d"
    write_tree(root, {"a": b"a", "locked/x": b"x"})
    unreadable(root / "locked")
    result = run_as_user("rm", "-r", "-f", root, "--exclude", "locked/")
    assert result.returncode == 0, result.stderr
    os.chmod(root / "locked", 0o755)
    assert tree(root) == {"locked/x": b"x"}


def test_rm_r_with_filters_never_removes_an_unreadable_directory(tmp_path, unreadable):
    root = tmp_path / "d"
    write_tree(root, {"a.txt": b"a", "locked/b.txt": b"b", "locked/c.bin": b"c"})
    unreadable(root / "locked")
    result = run_as_user("rm", "-r", "-f", root, "--include", "*.txt")
    assert result.returncode == 1 and str(root / "locked") in result.stderr, result.stderr
    os.chmod(root / "locked", 0o755)
    assert tree(root) == {"locked/b.txt": b"b", "locked/c.bin": b"c"}


# -- ls ---------------------------------------------------------------------------------

def test_ls_local_paths_are_relative_to_the_directory(conn, tmp_path):
    write_tree(tmp_path / "d", FILES)
    assert conn.ls(str(tmp_path / "d"), exclude=["build/", "*.tmp"]) == ["a.txt", "builder.txt", "sub/b.txt"]
    assert conn.ls(str(tmp_path / "d"), shallow=True, exclude="build/", include="*.txt") == \
        ["a.txt", "builder.txt", "sub/"]
    assert conn.ls(str(tmp_path / "d" / "a.txt"), exclude="a.*") == []


def test_ls_s3_paths_are_relative_to_the_prefix_up_to_its_last_slash(conn, client, s3dir):
    write(client, s3dir, {"dir/file1": b"1", "dir/file2.tmp": b"2", "dir/sub/x": b"x", "dirx/y": b"y"})
    assert list(conn.ls(s3dir + "dir/fil", exclude="*.tmp")) == ["/" + (s3dir + "dir/file1").split("/", 3)[3]]
    assert list(conn.ls(s3dir + "dir/", return_full_urls=True, exclude="sub/")) == \
        [s3dir + "dir/file1", s3dir + "dir/file2.tmp"]
    assert list(conn.ls(s3dir + "di", return_full_urls=True, include="dir/*", exclude="dir/sub/")) == \
        [s3dir + "dir/file1", s3dir + "dir/file2.tmp"]
    assert list(conn.ls(s3dir + "dir/", return_full_urls=True, shallow=True, exclude="sub/")) == \
        [s3dir + "dir/file1", s3dir + "dir/file2.tmp"]
    assert [e["uri"] for e in conn.ls_info(s3dir + "dir/", include="*.tmp")] == [s3dir + "dir/file2.tmp"]


# -- the command ------------------------------------------------------------------------

def test_cli_filters(client, s3dir, tmp_path):
    src = tmp_path / "site"
    write_tree(src, {"index.html": b"i", "draft.tmp": b"d", "cache/c": b"c"})
    put(client, s3dir + "www/old.tmp", b"kept")
    put(client, s3dir + "www/gone.html", b"gone")
    status, out, err = run("sync", "-n", f"{src}/", s3dir + "www/", "--exclude", "*.tmp", "--exclude", "cache/")
    assert (status, err) == (0, ""), err
    assert lines(out) == [f"(dry run) copy {src}/index.html -> {s3dir}www/index.html",
                          f"(dry run) delete {s3dir}www/gone.html"]
    assert run("sync", f"{src}/", s3dir + "www/", "--exclude", "*.tmp", "--exclude", "cache/")[0] == 0
    assert keys_under(client, s3dir + "www/") == ["index.html", "old.tmp"]
    assert run("cp", "-r", f"{src}/", s3dir + "cp/", "--include", "*.html")[0] == 0
    assert keys_under(client, s3dir + "cp/") == ["index.html"]
    status, out, _ = run("ls", s3dir + "www/", "--include", "*.tmp")
    assert (status, lines(out)) == (0, [s3dir + "www/old.tmp"])
    status, out, _ = run("rm", "-r", "-f", s3dir + "www/", "--exclude", "*.html")
    assert (status, lines(out)) == (0, [f"[deleted] {s3dir}www/old.tmp"])
    assert keys_under(client, s3dir + "www/") == ["index.html"]


@pytest.mark.parametrize("argv, needle", [
    (["rm", "KEY", "--exclude", "x"], "--exclude: for a recursive removal: needs -r"),
    (["cp", "A", "B", "--include", "x"], "--include: filters select files of a tree: needs -r or -R"),
    (["ls", "--exclude", "x"], "--exclude: filters select keys under a prefix: needs KEY"),
    (["sync", "A", "B", "--exclude", ""], "error: exclude pattern '': expected a non-empty pattern"),
    (["cp", "-r", "A", "B", "--include", "/x"], "include pattern '/x': patterns match paths relative"),
    (["rm", "-r", "-f", "A", "--exclude", "./"], "exclude pattern './': matches no path below the source"),
    (["ls", "A", "--exclude", "*", "--include", "*.txt"], "exclude '*' excludes every path"),
    (["mv", "A", "B", "--exclude", "x"], "unknown option --exclude (s3 mv -h lists them)"),
])
def test_cli_filters_usage_errors(argv, needle):
    assert_usage_error(run(*argv), needle)


# -- rm -h says what patterns are relative to ------------------------------------------------------

def test_rm_r_help_says_what_patterns_are_relative_to(s3dir, client):
    """``s3 rm -h`` said patterns are relative to "KEY's directory" for rm -r, as for ls.  A user
    who believed it and typed ``s3 rm -r s3://b/d --exclude 'd/keep/' -f`` (relative to ``s3://b/``)
    lost ``d/keep/``: rm -r matches relative to KEY itself (README: "to the prefix or directory
    given").  The help must say so, and the behaviour it describes is pinned here."""
    put(client, f"{s3dir}d/keep/k", b"k")
    put(client, f"{s3dir}d/x", b"x")
    status, out, err = run("rm", "-h")
    help_text = " ".join((out.decode() + err).split())
    assert "--exclude" in help_text
    assert "rm -r: to KEY's directory" not in help_text
    assert "rm -r: to KEY itself" in help_text
    status, out, err = run("rm", "-r", "-n", f"{s3dir}d", "--exclude", "keep/")
    assert status == 0, err
    assert f"{s3dir}d/keep/k" not in out.decode() and f"{s3dir}d/x" in out.decode()
