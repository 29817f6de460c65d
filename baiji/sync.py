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
    """``copy`` (src -> dst, ``reason`` 'new' or 'changed') or ``delete`` (dst)."""

    kind: str
    rel: str
    src: Optional[Entry] = None
    dst: Optional[Entry] = None
    reason: str = ""


def relative_items(entries: Iterable[Entry], prefix: str, sep: str = "/") -> Iterator[Item]:
    """``(relative path, entry)`` for entries under ``prefix``; directory markers skipped."""
    for entry in entries:
        if entry.is_dir or entry.url.endswith(sep) or entry.url.endswith("/"):
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
            yield Action("copy", src[0], src[1], None, "new")
            src = next(src_iter, None)
        elif src is None or key_order(dst[0]) < key_order(src[0]):
            if not dst[0].startswith(keep):
                yield Action("delete", dst[0], None, dst[1])
            dst = next(dst_iter, None)
        else:
            (rel, s), (_, d) = src, dst
            if s.size != d.size or not same_content(s, d):
                yield Action("copy", rel, s, d, "changed")
            src, dst = next(src_iter, None), next(dst_iter, None)
