"""baiji.sync.plan and relative_items on hand-made Entry lists (pure, no server)."""

from __future__ import annotations

import os
import warnings

import pytest

from baiji import spool
from baiji.exceptions import S3Warning
from baiji.stores.base import Entry
from baiji.sync.plan import Action, in_order, keep_prefixes, plan, relative_items


def E(rel: str, size: int = 1, etag: str | None = None, base: str = "s3://b/p/") -> Entry:
    return Entry(url=base + rel, size=size, etag=etag)


def items(*entries: Entry, base: str = "s3://b/p/"):
    return [(e.url[len(base):], e) for e in entries]


def never(src, dst):  # a same_content that must not be called
    raise AssertionError(f"same_content called for {src.url} / {dst.url}")


def always_same(src, dst):
    return True


def by_etag(src, dst):
    return src.etag == dst.etag


def summary(actions):
    return [(a.kind, a.rel, a.reason) for a in actions]


# -- relative_items ------------------------------------------------------------------

def test_relative_items_strips_prefix():
    entries = [E("a"), E("d/b"), E("d/e/c")]
    assert [rel for rel, _ in relative_items(entries, "s3://b/p/")] == ["a", "d/b", "d/e/c"]


def test_relative_items_keeps_entries():
    entries = [E("a"), E("b")]
    assert [e for _, e in relative_items(entries, "s3://b/p/")] == entries


def test_relative_items_skips_directory_markers_and_dirs():
    entries = [E("a"), E("d/"), Entry(url="s3://b/p/shallow/", is_dir=True), E("d/x"),
               Entry(url="s3://b/p/flagged", is_dir=True)]
    assert [rel for rel, _ in relative_items(entries, "s3://b/p/")] == ["a", "d/x"]


def test_relative_items_local_separator():
    entries = [Entry(url="C:\\data\\a", size=1), Entry(url="C:\\data\\d\\b", size=1),
               Entry(url="C:\\data\\d\\", size=0)]
    got = [rel for rel, _ in relative_items(entries, "C:\\data\\", sep="\\")]
    assert got == ["a", "d/b"]


def test_relative_items_posix_local():
    entries = [Entry(url="/tmp/x/a", size=1), Entry(url="/tmp/x/d/b", size=1)]
    assert [rel for rel, _ in relative_items(entries, "/tmp/x/", sep="/")] == ["a", "d/b"]


def test_relative_items_is_lazy():
    def gen():
        yield E("a")
        raise RuntimeError("consumed too far")

    it = relative_items(gen(), "s3://b/p/")
    assert next(it)[0] == "a"
    with pytest.raises(RuntimeError):
        next(it)


# -- plan: basic cases -----------------------------------------------------------------

def test_plan_both_empty():
    assert list(plan([], [], never)) == []


def test_plan_all_new():
    src = items(E("a"), E("b"), E("c/d"))
    actions = list(plan(src, [], never))
    assert summary(actions) == [("copy", "a", "new"), ("copy", "b", "new"), ("copy", "c/d", "new")]
    assert all(a.dst is None for a in actions)
    assert [a.src for a in actions] == [e for _, e in src]


def test_plan_all_deleted():
    dst = items(E("a"), E("b"))
    actions = list(plan([], dst, never))
    assert summary(actions) == [("delete", "a", ""), ("delete", "b", "")]
    assert all(a.src is None for a in actions)
    assert [a.dst for a in actions] == [e for _, e in dst]


def test_plan_identical_is_empty():
    src = items(E("a", 3, "x"), E("b", 4, "y"))
    dst = items(E("a", 3, "x"), E("b", 4, "y"))
    assert list(plan(src, dst, by_etag)) == []


def test_plan_size_differs_is_changed_without_comparing():
    src = items(E("a", 3))
    dst = items(E("a", 4))
    actions = list(plan(src, dst, never))
    assert summary(actions) == [("copy", "a", "changed")]
    assert actions[0].src is src[0][1] and actions[0].dst is dst[0][1]


def test_plan_same_size_different_content_is_changed():
    src = items(E("a", 3, "x"))
    dst = items(E("a", 3, "y"))
    assert summary(plan(src, dst, by_etag)) == [("copy", "a", "changed")]


def test_plan_same_content_called_only_for_equal_sizes():
    calls = []

    def same(s, d):
        calls.append((s.url, d.url))
        return True

    src = items(E("a", 1), E("b", 2), E("c", 3))
    dst = items(E("a", 1), E("b", 5), E("c", 3), E("d", 1))
    actions = list(plan(src, dst, same))
    assert calls == [("s3://b/p/a", "s3://b/p/a"), ("s3://b/p/c", "s3://b/p/c")]
    assert summary(actions) == [("copy", "b", "changed"), ("delete", "d", "")]


def test_plan_mixed_merge_order():
    src = items(E("a"), E("c", 2), E("e"), E("g"))
    dst = items(E("b"), E("c", 1), E("d"), E("g"), E("h"))
    assert summary(plan(src, dst, always_same)) == [
        ("copy", "a", "new"), ("delete", "b", ""), ("copy", "c", "changed"),
        ("delete", "d", ""), ("copy", "e", "new"), ("delete", "h", ""),
    ]


def test_plan_action_is_frozen():
    action = next(plan(items(E("a")), [], never))
    assert isinstance(action, Action)
    with pytest.raises(Exception):
        action.kind = "delete"


# -- do_not_delete ------------------------------------------------------------------------

def test_plan_do_not_delete_prefixes():
    dst = items(E("keep/a"), E("keep/b/c"), E("keeper"), E("logs/x"), E("other"))
    actions = list(plan([], dst, never, do_not_delete=["keep/", "logs/"]))
    assert summary(actions) == [("delete", "keeper", ""), ("delete", "other", "")]


def test_plan_do_not_delete_is_a_plain_string_prefix():
    dst = items(E("kee"), E("keep"), E("keeper"))
    assert summary(plan([], dst, never, do_not_delete=("keep",))) == [("delete", "kee", "")]


def test_plan_do_not_delete_does_not_stop_copies():
    src = items(E("keep/a", 2))
    dst = items(E("keep/a", 1))
    assert summary(plan(src, dst, never, do_not_delete=["keep/"])) == [("copy", "keep/a", "changed")]


def test_plan_do_not_delete_accepts_generator():
    dst = items(E("keep/a"), E("z"))
    keep = (p for p in ["keep/"])
    assert summary(plan([], dst, never, do_not_delete=keep)) == [("delete", "z", "")]


# -- ordering ----------------------------------------------------------------------------

def test_plan_uses_utf8_byte_order():
    # UTF-8 byte order: '-' (0x2d) < '/' (0x2f) < 'Z' < 'a' < 'é' (0xc3 0xa9) < '中'
    names = ["a-b", "a/b", "aZ", "ab", "a\u00e9", "a\u4e2d"]
    src = items(*(E(n) for n in names))
    dst = items(*(E(n) for n in names))
    assert list(plan(src, dst, always_same)) == []
    assert [a.rel for a in plan(src, [], never)] == names


def test_plan_merges_unicode_names_correctly():
    src = items(E("a\u00e9"), E("b"))
    dst = items(E("aZ"), E("a\u00e9"))
    assert summary(plan(src, dst, always_same)) == [("delete", "aZ", ""), ("copy", "b", "new")]


def test_plan_surrogate_escaped_names():
    # undecodable local file names come as surrogate escapes; they sort by their raw bytes
    odd = b"a\xff".decode("utf-8", "surrogateescape")
    src = items(E("a"), E(odd))
    assert [a.rel for a in plan(src, [], never)] == ["a", odd]


def test_plan_unsorted_source_raises():
    src = items(E("b"), E("a"))
    with pytest.raises(ValueError, match="source"):
        list(plan(src, [], never))


def test_plan_unsorted_destination_raises():
    dst = items(E("b"), E("a"))
    with pytest.raises(ValueError, match="destination"):
        list(plan([], dst, never))


def test_plan_duplicate_rel_raises():
    src = items(E("a"), E("a"))
    with pytest.raises(ValueError):
        list(plan(src, [], never))


def test_plan_str_sorted_but_not_byte_sorted_raises():
    # a surrogate escape (raw byte 0x80) sorts after 'é' as str, before it as bytes
    raw80 = b"a\x80".decode("utf-8", "surrogateescape")
    assert "a\u00e9" < raw80
    with pytest.raises(ValueError):
        list(plan(items(E("a\u00e9"), E(raw80)), [], never))
    assert [a.rel for a in plan(items(E(raw80), E("a\u00e9")), [], never)] == [raw80, "a\u00e9"]


# -- laziness -----------------------------------------------------------------------------

def test_plan_is_lazy_and_streams():
    consumed = []

    def src_gen():
        for name in ("a", "b", "c"):
            consumed.append(name)
            yield name, E(name)

    actions = plan(src_gen(), iter([]), never)
    first = next(actions)
    assert first.rel == "a"
    assert consumed == ["a", "b"] or consumed == ["a"]
    assert [a.rel for a in actions] == ["b", "c"]
    assert consumed == ["a", "b", "c"]


def test_plan_large_listing_runs():
    n = 20000
    src = ((f"k{i:06d}", E(f"k{i:06d}")) for i in range(n))
    dst = ((f"k{i:06d}", E(f"k{i:06d}")) for i in range(0, n, 2))
    actions = list(plan(src, dst, always_same))
    assert len(actions) == n // 2
    assert all(a.kind == "copy" and a.reason == "new" for a in actions)


# -- problem entries (paths a listing could not use) ---------------------------------

def P(rel: str, why: str = "Permission denied", base: str = "s3://b/p/") -> Entry:
    return Entry(url=base + rel, problem=why, is_dir=rel.endswith("/"))


def test_relative_items_keeps_problem_directories_with_their_separator():
    entries = [E("a"), P("sec/"), E("sec-b"), P("fifo")]
    got = [(rel, e.problem) for rel, e in relative_items(entries, "s3://b/p/")]
    assert got == [("a", None), ("sec/", "Permission denied"), ("sec-b", None), ("fifo", "Permission denied")]


def test_relative_items_problem_directory_local_separator():
    entries = [Entry(url="C:\\data\\d\\", problem="Permission denied", is_dir=True)]
    assert [rel for rel, _ in relative_items(entries, "C:\\data\\", sep="\\")] == ["d/"]


def test_plan_problem_on_source_side():
    src, dst = items(E("a"), P("sec/")), items(E("a"), E("sec/x"))
    actions = list(plan(src, dst, always_same))
    assert [(a.kind, a.rel) for a in actions] == [("problem", "sec/"), ("delete", "sec/x")]
    assert actions[0].src.problem == "Permission denied" and actions[0].dst is None


def test_plan_problem_on_destination_side():
    src, dst = items(E("a"), E("fifo")), items(P("fifo", "not a regular file"))
    actions = list(plan(src, dst, never))
    assert [(a.kind, a.rel) for a in actions] == [("copy", "a"), ("problem", "fifo")]
    assert actions[1].src.url == "s3://b/p/fifo" and actions[1].dst.problem == "not a regular file"


def test_plan_problem_on_both_sides_is_one_action():
    src, dst = items(P("x", "loop")), items(P("x", "fifo"))
    assert [(a.kind, a.src.problem, a.dst.problem) for a in plan(src, dst, never)] == [("problem", "loop", "fifo")]


def test_plan_problem_never_compares_or_copies_its_path():
    src, dst = items(P("a"), E("b")), items(E("a"), E("b"))
    assert summary(plan(src, dst, lambda s, d: s.url.endswith("b"))) == [("problem", "a", "")]


def test_plan_unsorted_messages_name_the_side():
    with pytest.raises(ValueError, match="^source listing is not sorted"):
        list(plan(items(E("b"), E("a")), [], never))
    with pytest.raises(ValueError, match="^destination listing is not sorted"):
        list(plan([], items(E("b"), E("a")), never))


# -- tree conflicts (a local destination) ---------------------------------------------------

def kinds(actions):
    return sorted((a.kind, a.rel, a.reason) for a in actions)


def test_plan_tree_key_and_prefix_in_the_source_the_directory_wins():
    src = items(E("a"), E("a-b"), E("a.b"), E("a/b"), E("c"))
    assert kinds(plan(src, [], never, tree=True)) == [
        ("conflict", "a", "a must be a directory for a/b"), ("copy", "a-b", "new"), ("copy", "a.b", "new"),
        ("copy", "a/b", "new"), ("copy", "c", "new")]


def test_plan_tree_source_file_where_the_destination_has_a_directory():
    src = items(E("a"), E("a/b"))
    dst = items(E("a/b"), E("a/c"))
    assert kinds(plan(src, dst, always_same, tree=True)) == [
        ("conflict", "a", "a must be a directory for a/b"), ("delete", "a/c", "")]
    assert kinds(plan(items(E("a")), dst, never, tree=True)) == [
        ("conflict", "a", "a must be a directory for a/b"), ("delete", "a/b", ""), ("delete", "a/c", "")]


def test_plan_tree_destination_file_where_a_directory_must_go():
    src = items(E("d/e"), E("d/f/g"))
    dst = items(E("d"))
    assert kinds(plan(src, dst, never, tree=True)) == [
        ("conflict", "d/e", "d is a file, not a directory"), ("conflict", "d/f/g", "d is a file, not a directory"),
        ("delete", "d", "")]


def test_plan_tree_same_file_on_both_sides_still_blocks_a_path_below_it():
    src = items(E("a"), E("a/b"))
    dst = items(E("a"))
    assert kinds(plan(src, dst, always_same, tree=True)) == [("conflict", "a/b", "a is a file, not a directory")]


def test_plan_tree_string_prefixes_that_are_not_directories_do_not_conflict():
    names = ["a", "a-b", "a.b", "ab", "abc/d", "b"]
    assert kinds(plan(items(*map(E, names)), [], never, tree=True)) == [("copy", n, "new") for n in names]


def test_plan_without_tree_nothing_conflicts():
    src = items(E("a"), E("a/b"))
    assert summary(plan(src, items(E("d")), never)) == [("copy", "a", "new"), ("copy", "a/b", "new"),
                                                        ("delete", "d", "")]


def test_plan_tree_problem_entries_stay_problems():
    bad = Entry(url="s3://b/p/a", size=1, problem="unreadable")
    actions = list(plan([("a", bad), ("a/b", E("a/b"))], [], never, tree=True))
    assert kinds(actions) == [("copy", "a/b", "new", ), ("problem", "a", "")]


def test_plan_tree_holds_back_only_string_prefix_chains():
    consumed = []

    def src_gen():
        for name in ("a", "a/b", "b", "c"):
            consumed.append(name)
            yield name, E(name)

    actions = plan(src_gen(), [], never, tree=True)
    assert next(actions).rel == "a/b"  # 'a' is held back until the paths starting with it are past
    assert consumed == ["a", "a/b", "b"]
    assert next(actions).reason == "a must be a directory for a/b"


# -- in_order: S3 listings checked before planning --------------------------------------------

class Listing:
    """A listing factory that counts its calls and how far each was read."""

    def __init__(self, names):
        self.names, self.calls, self.read = names, 0, 0

    def __call__(self):
        self.calls += 1
        for name in self.names:
            self.read += 1
            yield E(name)


def test_in_order_one_page_is_listed_once():
    listing = Listing(["a", "b"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        entries = in_order(listing, "s3://b/p/")
    assert [e.url for e in entries] == ["s3://b/p/a", "s3://b/p/b"] and listing.calls == 1


def test_in_order_longer_sorted_listing_is_checked_whole_then_streamed_from_a_spool(monkeypatch):
    monkeypatch.setattr(spool, "CHUNK", 3)
    listing = Listing(["a", "b", "c", "d", "e", "f", "g"])
    entries = in_order(listing, "s3://b/p/")
    assert listing.calls == 1 and listing.read == 7  # all checked before any is used
    assert [e.url[-1] for e in entries] == list("abcdefg") and listing.calls == 1  # listed once


def test_an_entry_packed_for_the_spool_comes_back_whole():
    from datetime import datetime, timezone

    from baiji.integrity import Checksum

    given = dict(url="s3://b/k", size=3, last_modified=datetime(2026, 1, 1, tzinfo=timezone.utc), etag="e",
                 version_id="v", is_latest=True, delete_marker=True, is_dir=True, content_type="text/plain",
                 content_encoding="gzip", encrypted=True, metadata={"a": "b"}, etag_is_md5=False,
                 problem="odd", checksum=Checksum("CRC32", "AAAAAA==", "FULL_OBJECT"), part_size=5)
    entry = Entry(**given)
    entry.is_latest = False  # set again after __init__, as a versions listing does
    assert set(vars(entry)) == set(given)  # every field given (a new one must be added above)
    assert Entry(*entry.packed()) == entry


def test_in_order_spooled_unsorted_listing_is_sorted_without_listing_again(monkeypatch):
    monkeypatch.setattr(spool, "CHUNK", 2)
    listing = Listing(["a/1", "a/2", "a-b", "a.b", "b"])
    with pytest.warns(S3Warning, match="sorted 5 keys"):
        entries = in_order(listing, "s3://b/p/")
    assert [e.url[len("s3://b/p/"):] for e in entries] == ["a-b", "a.b", "a/1", "a/2", "b"] and listing.calls == 1


def test_in_order_unsorted_listing_is_sorted_in_memory_with_a_warning():
    # SeaweedFS across pages: the 'a/' "directory" first, then 'a-b' and 'a.b'
    listing = Listing(["a/1", "a/2", "a-b", "a.b", "b"])
    with pytest.warns(S3Warning, match=r"s3://b/p/: the server lists keys out of byte order; sorted 5 keys"):
        entries = in_order(listing, "s3://b/p/")
    assert [e.url[len("s3://b/p/"):] for e in entries] == ["a-b", "a.b", "a/1", "a/2", "b"]
    rels = list(relative_items(entries, "s3://b/p/"))
    assert [a.rel for a in plan(rels, items(E("a.b"), E("z")), always_same)] == ["a-b", "a/1", "a/2", "b", "z"]


def test_in_order_unsorted_listing_gives_the_planner_nothing_before_the_check():
    listing = Listing(["b", "a"])
    with pytest.warns(S3Warning):
        entries = in_order(listing, "s3://b/p/")
    assert listing.calls == 1 and listing.read == 2  # read whole and sorted before anything was planned
    assert [e.url[-1] for e in entries] == ["a", "b"]


def test_in_order_duplicates_are_left_to_the_planner():
    entries = in_order(Listing(["a", "a"]), "s3://b/p/")
    with pytest.raises(ValueError, match="not sorted"):
        list(plan(relative_items(entries, "s3://b/p/"), [], never))


# -- keep_prefixes: do_not_delete spellings ----------------------------------------------------

@pytest.mark.parametrize("spec,expected", [
    ("uploads/", ("uploads/",)), ("./uploads/", ("uploads/",)), ("uploads", ("uploads",)),
    ("uploads/*", ("uploads/",)), ("uploads/**", ("uploads/",)), ("keep", ("keep",)),
    ("s3://b/site/uploads/", ("uploads/",)), ("s3://b/site/uploads", ("uploads",)),
    ("/site/uploads/", ("uploads/",)), ("s3://b/site/", ("",)), ("s3://b/site", ("",)), ("./", ("",)),
    ("*", ("",)), ("a/./b/../c/", ("a/c/",)),
])
def test_keep_prefixes_s3_destination(spec, expected):
    assert keep_prefixes([spec], "s3://b/site/") == expected
    assert keep_prefixes([spec], "s3://b/site") == expected


def test_keep_prefixes_bucket_root():
    assert keep_prefixes(["/uploads/", "s3://b/logs", "tmp/"], "s3://b") == ("uploads/", "logs", "tmp/")


@pytest.mark.parametrize("spec", ["/uploads/", "s3://other/site/uploads/", "s3://b/sitex/", "../uploads/",
                                  "file:///site/uploads/", "~/uploads/", "uploads/*.jpg", "up?oads",
                                  "uploads/[ab]", "", "gs://b/site/uploads/"])
def test_keep_prefixes_s3_destination_refused(spec):
    with pytest.raises(ValueError, match="do_not_delete"):
        keep_prefixes([spec], "s3://b/site/")


def test_keep_prefixes_local_destination(tmp_path, monkeypatch):
    dst = tmp_path / "site"
    monkeypatch.chdir(tmp_path)
    assert keep_prefixes(["uploads/", "./uploads/", "uploads/*", f"{dst}/uploads/", f"file://{dst}/logs",
                          f"{dst}{os.sep}"], str(dst)) == (
        "uploads/", "uploads/", "uploads/", "uploads/", "logs", "")
    # read from the current directory, 'site/uploads/' is under the destination: both places are kept
    assert keep_prefixes(["site/uploads/"], "site") == ("uploads/", "site/uploads/")
    monkeypatch.chdir(dst.parent.parent)
    assert keep_prefixes(["site/uploads/"], str(dst)) == ("site/uploads/",)


@pytest.mark.parametrize("spec", ["/elsewhere/uploads/", "file:///elsewhere/", "s3://b/site/uploads/",
                                  "../uploads/", "uploads/*.jpg", ""])
def test_keep_prefixes_local_destination_refused(tmp_path, spec):
    with pytest.raises(ValueError, match="do_not_delete"):
        keep_prefixes([spec], str(tmp_path / "site"))


def test_keep_prefixes_takes_one_string_or_none():
    assert keep_prefixes("uploads/", "s3://b/site/") == ("uploads/",)
    assert keep_prefixes(None, "s3://b/site/") == ()


def test_aws_listings_are_not_listed_twice_to_check_their_order(monkeypatch):
    """AWS lists in key order (documented): its listings stream at once (the planner still
    checks them as it goes); another server's are checked whole first (``in_order``)."""
    from baiji.bulk import ordered_listing
    from baiji.connection import S3Connection
    from baiji.sync import plan as sync_module

    checked = []
    monkeypatch.setattr(sync_module, "in_order", lambda listing, what: checked.append(what) or listing())
    for endpoint, expected in ((None, []), ("http://127.0.0.1:9", ["s3://b/p/"])):
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
        conn = S3Connection(region="us-east-1", endpoint_url=endpoint)
        monkeypatch.setattr(conn._s3, "list", lambda prefix, **kw: iter(()))
        checked.clear()
        assert list(ordered_listing(conn, conn._s3, "s3://b/p/")) == []
        assert checked == expected
