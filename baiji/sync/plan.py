"""Sync planning: two sorted listings in, a stream of actions out. Pure.

Both listings arrive sorted by key (S3 lists in UTF-8 byte order; the local
store sorts the same way), so one merge pass decides everything with memory
that does not grow with the number of keys.  An S3 listing is checked for
that order before it is used (:func:`in_order`, which spools a long one to a
temporary file: the one I/O here): some servers break it.
"""

from __future__ import annotations

import os
import posixpath
import warnings
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator

from baiji import path as paths
from baiji.exceptions import S3Warning
from baiji.spool import Spool
from baiji.stores.base import Entry, key_order

Item = tuple[str, Entry]  # (relative path with '/' separators, entry)

# A named tuple rather than a dataclass: ``dataclasses`` costs ~6 ms to import (with
# ``inspect``), and the ``s3`` command's start-up should not pay it.
class Action(namedtuple("Action", "kind rel src dst reason", defaults=(None, None, ""))):
    """``copy`` (src -> dst, ``reason`` 'new' or 'changed'), ``delete`` (dst),
    ``problem``: a path a listing could not use (``src`` or ``dst`` has ``problem`` set),
    or ``conflict``: a copy a file tree cannot hold (``reason`` says why).

    ``src`` and ``dst`` are :class:`~baiji.stores.base.Entry` or None.
    """

    __slots__ = ()


def relative_items(entries: Iterable[Entry], prefix: str, sep: str = "/") -> Iterator[Item]:
    """``(relative path, entry)`` for entries under ``prefix``; directory markers skipped.

    Entries with a ``problem`` pass through (a directory's keeps its trailing
    separator, which is where it sorts).
    """
    for entry in entries:
        if not entry.problem and (entry.is_dir or entry.url.endswith(sep) or entry.url.endswith("/")):
            continue
        rel = entry.url[len(prefix):]
        yield (rel.replace(sep, "/") if sep != "/" else rel), entry


def in_order(list_entries: Callable[[], Iterable[Entry]], what: str) -> Iterable[Entry]:
    """The entries of ``list_entries()`` in key order, listed once and checked whole before any is used.

    A long listing is spooled to a temporary file as it is checked and streams
    from there (:class:`~baiji.spool.Spool`: memory stays flat).
    Why check whole rather than stream and let the planner's own check
    (``_checked``) abort: deletions would be safe (they run after a clean run
    only), but copies run while the plan streams, so a misordered merge would
    already have copied files it paired wrongly (the same file seen as new, a
    tree conflict missed) before the abort, and a server that is merely out of
    order (SeaweedFS sorts each page, not across pages) would fail every sync
    instead of working: such a listing is sorted in memory, from the spool,
    with an ``S3Warning`` naming ``what``.
    """
    spool = Spool(pack=Entry.packed, unpack=lambda fields: Entry(*fields))
    last, ordered = None, True
    for entry in list_entries():
        order = key_order(entry.url)
        ordered = ordered and (last is None or order >= last)
        last = order
        spool.add(entry)
    if ordered:
        return spool
    entries = sorted(spool, key=lambda e: key_order(e.url))
    warnings.warn(f"{what}: the server lists keys out of byte order; sorted {len(entries)} keys in memory "
                  "(memory grows with the listing: sync a very large tree a sub-prefix at a time)",
                  S3Warning, stacklevel=2)
    return entries


def _checked(items: Iterable[Item], side: str) -> Iterator[Item]:
    last = None
    for rel, entry in items:
        if last is not None and key_order(rel) <= last:
            raise ValueError(f"{side} listing is not sorted at {rel!r}")
        last = key_order(rel)
        yield rel, entry


Merged = tuple[str, Entry | None, Entry | None]


def _merged(src_items: Iterable[Item], dst_items: Iterable[Item]) -> Iterator[Merged]:
    """``(rel, src entry or None, dst entry or None)`` for every path of either listing, in key order."""
    src_iter, dst_iter = _checked(src_items, "source"), _checked(dst_items, "destination")
    src, dst = next(src_iter, None), next(dst_iter, None)
    while src is not None or dst is not None:
        if dst is None or (src is not None and key_order(src[0]) < key_order(dst[0])):
            (rel, s), d = src, None  # type: ignore[misc]  # dst is None: src is not (the loop's test)
        elif src is None or key_order(dst[0]) < key_order(src[0]):
            s, (rel, d) = None, dst
        else:
            (rel, s), (_, d) = src, dst
        yield rel, s, d
        if s is not None:
            src = next(src_iter, None)
        if d is not None:
            dst = next(dst_iter, None)


def _decided(merged: Iterable[Merged], same_content: Callable[[Entry, Entry], bool],
             keep: tuple[str, ...]) -> Iterator[tuple[str, Entry | None, Action | None]]:
    """``(rel, dst entry, action or None)`` per merged path."""
    for rel, s, d in merged:
        action = None
        if (s and s.problem) or (d and d.problem):
            action = Action("problem", rel, s, d)
        elif d is None:
            action = Action("copy", rel, s, None, "new")
        elif s is None:
            if not rel.startswith(keep):
                action = Action("delete", rel, None, d)
        elif s.size != d.size or not same_content(s, d):
            action = Action("copy", rel, s, d, "changed")
        yield rel, d, action


def _tree_conflicts(decided: Iterable[tuple[str, Entry | None, Action | None]]) -> Iterator[Action]:
    """The actions, with the copies a file tree cannot hold turned into ``conflict`` actions.

    A path is a file or a directory, never both: a copy to ``a`` conflicts
    when anything lies below ``a/`` (on either side), and a copy to ``a/b``
    when the destination holds a file ``a``.  Paths starting with the same
    string are contiguous in key order, so a path is held back only while the
    paths it is a string prefix of go by (a stack as deep as such a chain);
    a path is therefore yielded after the paths below it.
    """
    stack: list[list] = []  # [rel, dst entry, action]; each rel a string prefix of the next

    def conflict(action, why):
        return action and (Action("conflict", action.rel, action.src, action.dst, why)
                           if action.kind == "copy" else action)

    for rel, d, action in decided:
        while stack and not rel.startswith(stack[-1][0]):
            yield from _some(stack.pop()[2])
        for held in stack:
            if rel.startswith(held[0] + "/"):
                held[2] = conflict(held[2], f"{held[0]} must be a directory for {rel}")
                if held[1] is not None and not held[1].problem:
                    action = conflict(action, f"{held[0]} is a file, not a directory")
        stack.append([rel, d, action])
    while stack:
        yield from _some(stack.pop()[2])


def _some(action: Action | None) -> list[Action]:
    return [action] if action else []


def plan(src_items: Iterable[Item], dst_items: Iterable[Item],
         same_content: Callable[[Entry, Entry], bool],
         do_not_delete: Iterable[str] = (), tree: bool = False) -> Iterator[Action]:
    """Yield the actions that make the destination mirror the source.

    ``same_content(src, dst)`` is called only for paths present on both sides
    with equal sizes; destination paths starting with one of the
    ``do_not_delete`` prefixes are never deleted.  With ``tree`` (a local
    destination, where a path cannot be a file and a directory at once) the
    copies that cannot be made are ``conflict`` actions (:func:`_tree_conflicts`).
    """
    decided = _decided(_merged(src_items, dst_items), same_content, tuple(do_not_delete))
    if tree:
        yield from _tree_conflicts(decided)
    else:
        yield from (action for _, _, action in decided if action)


# -- do_not_delete -----------------------------------------------------------------------

def keep_prefixes(specs: Iterable[str] | str | None, dst_dir: str) -> tuple[str, ...]:
    """The ``do_not_delete`` prefixes as paths relative to ``dst_dir`` (``/``-separated).

    A prefix is relative to ``dst_dir`` (``uploads/``, ``./uploads/``), or a
    full URL or absolute path under it (``s3://b/site/uploads/``,
    ``/srv/site/uploads/``, ``file:///srv/site/uploads/``; for an s3
    ``dst_dir``, ``/site/uploads/`` counts from the bucket's root, as ``ls``
    prints keys).  For a local ``dst_dir``, a relative prefix that read from
    the current directory lies under ``dst_dir`` protects that place too.
    Trailing ``*`` are dropped (``uploads/*`` is ``uploads/``).  Without a
    trailing slash a prefix is a plain string prefix (``keep`` keeps
    ``keeper.txt``).  Anything else raises ``ValueError``: a pattern, an empty
    prefix, a place outside ``dst_dir``.
    """
    if isinstance(specs, str):
        specs = [specs]
    return tuple(rel for spec in specs or () for rel in _keep_prefix(spec, dst_dir))


def _keep_prefix(spec: str, dst_dir: str) -> list[str]:
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"do_not_delete: expected a non-empty prefix, got {spec!r}")
    body = spec.rstrip("*")
    if set(body) & set("*?["):
        raise ValueError(f"do_not_delete {spec!r}: a prefix is needed, not a pattern (only a trailing * is allowed)")
    remote, target = paths.isremote(dst_dir), paths.parse(dst_dir)
    scheme = paths.parse(body).scheme if "://" in body else None
    if scheme not in (None, "s3" if remote else "file") or (remote and body.startswith("~")):
        raise ValueError(f"do_not_delete {spec!r} is not under {dst_dir}")
    if remote:
        base = target.path.rstrip("/")
        if scheme:  # s3://bucket/key
            places = [paths.parse(body).path.rstrip("/")] if paths.bucket(body) == target.netloc else []
        elif body.startswith("/"):  # a key from the bucket's root
            places = [body.rstrip("/")]
        else:
            places = [posixpath.normpath(posixpath.join(base or "/", body))]
        rels = [_under(place, base, "/") for place in places]
    else:
        base = target.path.rstrip(os.sep) or os.sep
        places = [paths.parse(body).path]  # absolute, or read from the current directory
        if not scheme and not os.path.isabs(body) and not body.startswith("~"):
            places.append(os.path.join(base, body))
        rels = [_under(os.path.normpath(place), base, os.sep) for place in places]
    slash = "/" if body.endswith(("/", os.sep)) else ""
    found = list(dict.fromkeys(rel + slash if rel else rel for rel in rels if rel is not None))
    if not found:
        raise ValueError(f"do_not_delete {spec!r} is not under {dst_dir}: "
                         "give a prefix relative to it (like uploads/) or a full path under it")
    return found


def _under(place: str, base: str, sep: str) -> str | None:
    """``place`` relative to ``base`` ('/'-separated, '' for ``base`` itself), or None outside it."""
    if place == base:
        return ""
    head = base if base.endswith(sep) else base + sep
    return place[len(head):].replace(sep, "/") if place.startswith(head) else None
