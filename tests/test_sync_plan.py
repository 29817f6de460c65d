"""baiji.sync.plan and relative_items on hand-made Entry lists (pure, no server)."""

from __future__ import annotations

import pytest

from baiji.stores.base import Entry
from baiji.sync import Action, plan, relative_items


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
