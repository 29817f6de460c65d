"""Partitioned listings: one prefix's keys listed in concurrent streams, merged back in key order.

A listing starts as one stream.  When its first page comes back full, the rest
of the prefix is split by its common prefixes (delimiter listings, recursively
while there are fewer groups than workers) and each group is listed by a
stream of its own, ``workers`` at a time.  The first page is kept: a group it
holds keys of and then leaves is complete; the group it ends in (its last key,
in the server's order) is finished by the first listing itself, through its
continuation token, up to its first key outside that group.  This rests on
each group being contiguous in the server's order, as it is in byte order
(S3) and in SeaweedFS's directory order; StartAfter is not used (SeaweedFS
skips the whole ``a/`` directory after ``StartAfter=a``, a key or not; among
files alone it is right, so a prefix of flat keys, one group here, could be
split at StartAfter boundaries that name no directory: not done).

Groups are disjoint ranges of keys: their streams are read one after another,
in byte order, while the next ``workers`` ones fill buffers of
:data:`BUFFERED_PAGES` pages each (memory does not grow with the listing).
The keys directly under a split prefix and those of the first page are merged
in (``heapq.merge`` on :func:`~baiji.stores.base.key_order`).  A group listed
out of order by its server stays out of order in the merged stream, where the
order checks of ``sync`` (``baiji.sync.plan``) see it.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from baiji.stores.base import key_order

__all__ = ["PAGE_KEYS", "WORKERS", "listed"]

#: Keys per ListObjectsV2 page (S3's most; the ``max-keys`` sent when another is set).
PAGE_KEYS = 1000
#: Streams of a partitioned listing by default (``--list-workers``, ``S3Connection(list_workers=)``).
WORKERS = 16
#: Pages each stream may hold ahead of the reader.
BUFFERED_PAGES = 2
#: How deep delimiter listings look for groups.
MAX_DEPTH = 4
#: Pages of a delimiter listing read to split a group: up to 10,000 directories (and less than a
#: page of keys).  A prefix of 2,000 directories of 100 keys was one stream of 200 pages when one
#: page had to hold them (SeaweedFS, 20 ms away: 14.9 s to list).
SPLIT_PAGES = 10

#: ``pages(prefix, delimiter)``: the raw pages (boto3's shape) of a listing; callable from any thread.
Pages = Callable[[str, "str | None"], Iterator[dict]]


def listed(pages: Pages, prefix: str, workers: int = WORKERS, page_keys: int = PAGE_KEYS) -> Iterator[dict]:
    """The objects (``Contents`` items) under ``prefix`` in key order, page by page as the server
    sends them when the first page is not full or is the last (one request for a listing of up
    to a page) or when its groups are small (see :func:`_groups`), else partitioned over
    ``workers`` streams."""
    first_listing = pages(prefix, None)
    first = next(first_listing, {})
    objects = first.get("Contents", [])
    if workers <= 1 or len(objects) < page_keys or not first.get("IsTruncated", True):
        yield from _one_stream(first, first_listing)
        return
    pool, stop = ThreadPoolExecutor(workers, thread_name_prefix="baiji-list"), threading.Event()
    try:
        split = _groups(pages, pool, prefix, objects, workers, page_keys)
        if split is None:
            yield from _one_stream(first, first_listing)
            return
        groups, direct = split
        seen, last = {obj["Key"] for obj in objects}, objects[-1]["Key"]
        streams = [_rest_of(group, first_listing) if last.startswith(group) else group for group in groups]
        yield from heapq.merge(sorted(objects, key=_order),
                               sorted((obj for obj in direct if obj["Key"] not in seen), key=_order),
                               _in_turn(pages, pool, streams, workers, stop), key=_order)
    finally:
        stop.set()
        pool.shutdown(cancel_futures=True)


def _one_stream(first: dict, listing: Iterator[dict]) -> Iterator[dict]:
    """The objects of the first page and the rest of its listing, each page sorted."""
    for page in itertools.chain([first], listing):
        yield from sorted(page.get("Contents", []), key=_order)


def _order(obj: dict) -> bytes:
    return key_order(obj["Key"])


def _groups(pages: Pages, pool: ThreadPoolExecutor, prefix: str, first: list[dict], workers: int,
            page_keys: int) -> tuple[list[str], list[dict]] | None:
    """The groups (prefixes) still to list in byte order, and the keys found directly under the
    prefixes split on the way.  A group the first page holds keys of, and not its last, is dropped.

    None when the first page spans more than ``workers`` groups: a stream per group would then
    send more requests than one stream's pages, each as slow (2,000 directories of 10 keys,
    20 ms away: 4.5 s where one stream takes 2.2 s).
    """
    keys = [obj["Key"] for obj in first]
    last = keys[-1]
    held = {key[:i + 1] for key in keys for i, char in enumerate(key) if char == "/"}  # their directories

    def unlisted(group: str) -> bool:  # a group is a common prefix: it ends in "/"
        return last.startswith(group) or group not in held

    if sum(group.count("/") == prefix.count("/") + 1 for group in held if group.startswith(prefix)) > workers:
        return None  # already the directories right below prefix: no delimiter listing is needed to tell

    leaves, groups, direct = [], [prefix], []
    covered: list[str] = []  # groups the first page holds keys of, not listed again
    for _ in range(MAX_DEPTH):
        found: list[str] = []
        for group, split in zip(groups, pool.map(lambda g: _split(pages, g, page_keys), groups)):
            if split is None:
                leaves.append(group)
            else:
                direct.extend(split[1])
                found.extend(g for g in split[0] if unlisted(g))
                covered.extend(g for g in split[0] if not unlisted(g))
        groups = found
        if not groups or len(leaves) + len(groups) >= workers:
            break
    if sum(group in held for group in (*leaves, *groups, *covered)) > workers:
        return None  # groups of fewer than page_keys / workers keys: more requests than one stream's pages
    return sorted(leaves + groups, key=key_order), direct


def _split(pages: Pages, group: str, page_keys: int) -> tuple[list[str], list[dict]] | None:
    """``(common prefixes, keys)`` directly under ``group``, or None where that is a page of keys or
    more (they are listed as a stream of their own) or more than :data:`SPLIT_PAGES` pages."""
    prefixes: list[str] = []
    keys: list[dict] = []
    for number, page in enumerate(pages(group, "/")):
        keys.extend(page.get("Contents", []))
        if number == SPLIT_PAGES or len(keys) >= page_keys:
            return None
        prefixes.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
    return prefixes, keys


def _rest_of(group: str, listing: Iterator[dict]) -> Iterator[list[dict]]:
    """The rest of ``group`` from the first listing: its pages' objects up to the first key outside it."""
    for page in listing:
        objects = page.get("Contents", [])
        inside = next((i for i, obj in enumerate(objects) if not obj["Key"].startswith(group)), None)
        yield objects[:inside]
        if inside is not None:
            return


def _in_turn(pages: Pages, pool: ThreadPoolExecutor, streams: list, workers: int,
             stop: threading.Event) -> Iterator[dict]:
    """The objects of each stream in turn (a group's name, listed by the pool, ``workers`` ahead
    with bounded buffers; or an iterator of object lists, read here), each page sorted."""
    buffers: list[queue.Queue | None] = []

    def start(stream) -> None:
        if isinstance(stream, str):
            buffer: queue.Queue = queue.Queue(BUFFERED_PAGES)
            pool.submit(_fill, buffer, lambda: (p.get("Contents", []) for p in pages(stream, None)), stop)
            buffers.append(buffer)
        else:
            buffers.append(None)

    for stream in streams[:workers]:
        start(stream)
    for i, stream in enumerate(streams):
        buffer = buffers[i]
        for objects in _drained(buffer) if buffer is not None else stream:
            yield from sorted(objects, key=_order)
        buffers[i] = None
        if i + workers < len(streams):
            start(streams[i + workers])


_END = object()


def _fill(buffer: queue.Queue, listing: Callable[[], Iterator[list[dict]]], stop: threading.Event) -> None:
    """Put the object lists of ``listing()`` into ``buffer`` (then an end mark, or the error),
    waiting while it is full until the reader takes some or ``stop`` is set."""
    item: object
    try:
        for item in listing():
            if not _put(buffer, item, stop):
                return
        item = _END
    except BaseException as err:  # the reader raises it
        item = err
    _put(buffer, item, stop)


def _put(buffer: queue.Queue, item, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            buffer.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _drained(buffer: queue.Queue) -> Iterator[list[dict]]:
    while (item := buffer.get()) is not _END:
        if isinstance(item, BaseException):
            raise item
        yield item
