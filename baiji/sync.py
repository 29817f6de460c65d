"""Sync planning: two sorted listings in, a stream of actions out. Pure.

Both listings arrive sorted by key (S3 lists in UTF-8 byte order; the local
store sorts the same way), so one merge pass decides everything with memory
that does not grow with the number of keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional

from baiji.stores.base import Entry, key_order

Item = tuple[str, Entry]  # (relative path with '/' separators, entry)


@dataclass(frozen=True)
class Action:
    """``copy`` (src -> dst, ``reason`` 'new' or 'changed'), ``delete`` (dst), or
    ``problem``: a path a listing could not use (``src`` or ``dst`` has ``problem`` set)."""

    kind: str
    rel: str
    src: Optional[Entry] = None
    dst: Optional[Entry] = None
    reason: str = ""


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


def _checked(items: Iterable[Item], side: str) -> Iterator[Item]:
    last = None
    for rel, entry in items:
        if last is not None and key_order(rel) <= last:
            raise ValueError(f"{side} listing is not sorted at {rel!r}")
        last = key_order(rel)
        yield rel, entry


def plan(src_items: Iterable[Item], dst_items: Iterable[Item],
         same_content: Callable[[Entry, Entry], bool],
         do_not_delete: Iterable[str] = ()) -> Iterator[Action]:
    """Yield the actions that make the destination mirror the source.

    ``same_content(src, dst)`` is called only for paths present on both sides
    with equal sizes; destination paths starting with one of the
    ``do_not_delete`` prefixes are never deleted.
    """
    keep = tuple(do_not_delete)
    src_iter, dst_iter = _checked(src_items, "source"), _checked(dst_items, "destination")
    src, dst = next(src_iter, None), next(dst_iter, None)
    while src is not None or dst is not None:
        if dst is None or (src is not None and key_order(src[0]) < key_order(dst[0])):
            (rel, s), d = src, None
        elif src is None or key_order(dst[0]) < key_order(src[0]):
            s, (rel, d) = None, dst
        else:
            (rel, s), (_, d) = src, dst
        if (s and s.problem) or (d and d.problem):
            yield Action("problem", rel, s, d)
        elif d is None:
            yield Action("copy", rel, s, None, "new")
        elif s is None:
            if not rel.startswith(keep):
                yield Action("delete", rel, None, d)
        elif s.size != d.size or not same_content(s, d):
            yield Action("copy", rel, s, d, "changed")
        if s is not None:
            src = next(src_iter, None)
        if d is not None:
            dst = next(dst_iter, None)
