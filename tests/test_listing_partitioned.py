"""The partitioned listing (``baiji.stores.partitions``): the same keys as one stream, once each,
in key order where the server keeps it; requests counted through the fault proxy; the order
checks of ``sync`` still catching a server that lists a partition out of order."""

from __future__ import annotations

import itertools
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from baiji.exceptions import S3Warning
from baiji.stores.base import key_order
from support.helpers import RequestCounter, split, tree
from test_cli import run

#: Odd keys: equal to a group's prefix (``a/``, ``d0/``), sorting between groups (``a!b``, ``a-``,
#: ``a-b``, ``a.``, ``a.b``, ``a+b``, ``a b`` before ``a/``; ``a0`` after), ``//``, ``%`` and ``+``
#: (url-encoded in the answer), spaces, control characters, unicode, an 800-byte key, a name that
#: is also a directory (``a/n`` and ``a/n/...``), groups of several pages and of none.
ODD = (["a", "a!b", "a-", "a-b", "a.", "a.b", "a+b", "a b", "a%2Fb", "100%/x y", "a/", "a//x", "a0", "é",
        "z", "\x01", "b/x/1", "a/n", "a/n!", "\u00ff/q", "d0/", "long/" + "/".join(["L" * 199] * 4)]
       + [f"a/{i:03d}" for i in range(40)] + [f"a/n/{i}" for i in range(12)]
       + [f"d{j}/k{i}" for j in range(6) for i in range(7)] + [f"f{i:02d}" for i in range(25)])


def fill(client, base: str, keys) -> None:
    """Put ``keys``; a key that is also a directory (``a``, ``a/n``) last: SeaweedFS refuses a
    key below one that is a file (ExistingObjectIsFile), not the other way round."""
    bucket, prefix = split(base)
    dirs = {key for key in keys if any(other.startswith(key + "/") for other in keys)}
    for batch in ([key for key in keys if key not in dirs], sorted(dirs)):
        with ThreadPoolExecutor(10) as pool:
            list(pool.map(lambda key: client.put_object(Bucket=bucket, Key=prefix + key, Body=key.encode()), batch))


def listing(conn, url: str, workers: int, page_keys: int) -> list[str]:
    conn._s3.list_workers, conn._s3.list_page_keys = workers, page_keys
    return [entry.url for entry in conn._s3.list(url)]


def in_order(urls: list[str]) -> bool:
    return all(key_order(a) < key_order(b) for a, b in zip(urls, urls[1:]))


@pytest.fixture
def odd(client, s3dir) -> str:
    fill(client, s3dir, ODD)
    return s3dir


def spy_pages(monkeypatch, store, seen: Callable[[str, str | None, dict], None]) -> None:
    """Have ``seen(prefix, delimiter, page)`` called on each page the store's listings read, in their thread."""
    pages_of = store._pages_of

    def spied(bucket):
        pages = pages_of(bucket)
        return lambda prefix, delimiter: (seen(prefix, delimiter, page) or page for page in pages(prefix, delimiter))

    monkeypatch.setattr(store, "_pages_of", spied)


@pytest.mark.parametrize("page_keys", [4, 9, 60])
def test_partitioned_listing_holds_what_one_stream_holds_once(conn, client, odd, page_keys):
    single = listing(conn, odd, 1, 1000)  # one page: sorted as read
    bucket, prefix = split(odd)
    raw = client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]  # botocore's reading of the page
    assert single == sorted((f"s3://{bucket}/{o['Key']}" for o in raw), key=key_order)
    assert len(single) >= len(ODD) - 3  # SeaweedFS: no 'a/' or 'd0/' key, 'a//x' is 'a/x'
    for workers in (2, 16):
        urls = listing(conn, odd, workers, page_keys)
        assert len(urls) == len(set(urls)) and set(urls) == set(single), (workers, page_keys)
        # each group is as sorted as the server lists it; merged, the whole is in order where they are
        assert urls == single or not in_order(listing(conn, odd, 1, page_keys))


def arrivals(n: int) -> list[str]:
    """Keys written after the ``n``-th page of a listing of :data:`BEFORE`: new groups before
    (``a/``), between (``g04N/``: after ``g04/``, before ``g05/``) and after (``zzN/``) the others,
    in a group, directly under the prefix (before, between and after the keys there)."""
    return [f"a/{n}", f"g04{n}/k", f"zz{n}/k", f"g03/{n}x", f"e{n}", f"g02{n}", f"m{n}"]


#: Six groups of 30 keys, keys directly under the prefix before, between and after them.
BEFORE = [f"g{j:02d}/{i:02d}" for j in range(6) for i in range(30)] + ["f0", "f1", "g02x", "h0"]


@pytest.mark.parametrize("workers, page_keys", [(4, 25), (16, 25), (2, 40)])
def test_keys_written_while_listing(conn, client, s3dir, monkeypatch, workers, page_keys):
    """Keys put between pages (in the stream that read the page: before the split, during it and
    while the groups are listed), under the listed prefix and beside it: each key there from start
    to end is listed once, all in byte order; a new one is listed or not; none from beside it."""
    fill(client, s3dir, BEFORE)
    bucket, prefix = split(s3dir)
    lock, pages, streams, written = threading.Lock(), itertools.count(1), set(), set()

    def write(listed, delimiter, page) -> None:
        with lock:
            n = next(pages)
            streams.add((listed, delimiter))
        if n <= 8:
            new = arrivals(n)
            written.update(new)
            beside = [prefix[:-1] + f"!{n}", prefix[:-1] + f"0/{n}"]  # sort just before and after the prefix
            for key in [prefix + k for k in new] + beside:
                client.put_object(Bucket=bucket, Key=key, Body=b"new")

    spy_pages(monkeypatch, conn._s3, write)
    urls = listing(conn, s3dir, workers, page_keys)
    assert (prefix, "/") in streams and len([s for s in streams if s[1] is None]) > 3, streams  # partitioned
    assert len(written) == 8 * len(arrivals(0))
    assert all(url.startswith(s3dir) for url in urls)
    assert in_order(urls), [(a, b) for a, b in zip(urls, urls[1:]) if key_order(a) >= key_order(b)]
    found = {url[len(s3dir):] for url in urls}
    assert set(BEFORE) <= found <= set(BEFORE) | written, (set(BEFORE) - found, found - set(BEFORE) - written)


def test_small_listing_is_one_request(fault_proxy, client, s3dir):
    fill(client, s3dir, ["a", "b/c", "d"])
    with RequestCounter(fault_proxy) as counter:
        urls = [entry.url for entry in fault_proxy.conn._s3.list(s3dir)]
    assert urls == [s3dir + "a", s3dir + "b/c", s3dir + "d"]
    assert counter.ops == ["ListObjectsV2"]


def test_partitioned_listing_requests(fault_proxy, client, s3dir, monkeypatch):
    """15 groups of 10 keys, pages of 10: the first page, a delimiter listing (two pages), a listing
    per group left; what the server sends is used once but for the tail of one page at most."""
    keys = [f"g{j:02d}/{i}" for j in range(15) for i in range(10)]
    fill(client, s3dir, keys)
    received: list[str] = []
    spy_pages(monkeypatch, fault_proxy.conn._s3,
              lambda prefix, delimiter, page: received.extend(o["Key"] for o in page.get("Contents", [])))
    with RequestCounter(fault_proxy) as counter:
        urls = listing(fault_proxy.conn, s3dir, 4, 10)
    assert urls == sorted((s3dir + key for key in keys), key=key_order)
    assert counter.ops == ["ListObjectsV2"] * counter["ListObjectsV2"]
    assert counter["ListObjectsV2"] <= 1 + 2 + 15 + 1, counter.ops
    assert len(received) - len(keys) <= 10, len(received)


@pytest.mark.parametrize("split_pages", [1, 10])
def test_more_directories_than_a_page_are_split(conn, client, s3dir, monkeypatch, split_pages):
    """30 directories, pages of 10: the delimiter listing takes 3 pages; they are read and each
    directory gets a stream of its own (SPLIT_PAGES 10), where a split that must fit one page
    (SPLIT_PAGES 1, as before) leaves one stream of the whole prefix."""
    from baiji.stores import partitions

    keys = [f"d{j:02d}/{i}" for j in range(30) for i in range(3)]
    fill(client, s3dir, keys)
    monkeypatch.setattr(partitions, "SPLIT_PAGES", split_pages)
    streams: set[str] = set()
    spy_pages(monkeypatch, conn._s3, lambda prefix, delimiter, page: None if delimiter else streams.add(prefix))
    urls = listing(conn, s3dir, 4, 10)
    assert urls == sorted((s3dir + key for key in keys), key=key_order)
    base = split(s3dir)[1]
    assert streams == ({base} if split_pages == 1 else {base} | {f"{base}d{j:02d}/" for j in range(4, 30)})


def test_small_directories_stay_one_stream(conn, client, s3dir, monkeypatch):
    """40 directories of 2 keys, pages of 10, 4 workers: the first page already spans 5
    directories, so a stream per directory would send 40 requests for 8 pages' worth of keys
    (measured 20 ms away: 2,000 directories of 10 keys, 4.5 s against 2.2 s for one stream).
    One stream lists them, with no delimiter listing."""
    keys = [f"d{j:02d}/{i}" for j in range(40) for i in range(2)]
    fill(client, s3dir, keys)
    listed: list[tuple[str, str | None]] = []
    spy_pages(monkeypatch, conn._s3, lambda prefix, delimiter, page: listed.append((prefix, delimiter)))
    urls = listing(conn, s3dir, 4, 10)
    assert urls == sorted((s3dir + key for key in keys), key=key_order)
    assert set(listed) == {(split(s3dir)[1], None)} and len(listed) == 8


def test_a_listing_of_exactly_one_full_page_is_one_request(fault_proxy, client, s3dir):
    """The first page full and the last (not truncated): nothing left to partition."""
    keys = [f"g{j}/{i}" for j in range(4) for i in range(5)]
    fill(client, s3dir, keys)
    conn = fault_proxy.conn
    conn._s3.list_workers, conn._s3.list_page_keys = 4, len(keys)
    with RequestCounter(fault_proxy) as counter:
        urls = [e.url for e in conn._s3.list(s3dir)]
    assert urls == sorted((s3dir + key for key in keys), key=key_order)
    assert counter.ops == ["ListObjectsV2"], counter.ops


def test_no_op_sync_lists_each_side_once(fault_proxy, client, s3dir):
    keys = [f"g{j}/{i}" for j in range(5) for i in range(8)]
    fill(client, s3dir + "src/", keys)
    fill(client, s3dir + "dst/", keys)
    conn = fault_proxy.conn
    for page_keys in (1000, 6):
        conn._s3.list_page_keys = page_keys
        with RequestCounter(fault_proxy) as one:
            assert len(list(conn._s3.list(s3dir + "src/"))) == len(keys)
        with RequestCounter(fault_proxy) as counter:
            conn.sync(s3dir + "src/", s3dir + "dst/")
        assert counter.writes() == 0 and counter["ListObjectsV2"] == 2 * one["ListObjectsV2"], (page_keys, counter.ops)
        assert (one["ListObjectsV2"] == 1) == (page_keys == 1000)


def test_out_of_order_partitions_are_still_sorted_before_planning(conn, client, s3dir, tmp_path, recwarn):
    """Pages of 5: the group ``a/`` spans pages, which SeaweedFS lists in its directory order
    ('a/n/...' before 'a/n!'); the merged stream shows it, and sync sorts it with a warning."""
    keys = [f"a/{i}" for i in range(4)] + [f"a/n/{i}" for i in range(7)] + ["a/n!", "a-b", "b/1", "b/2"]
    fill(client, s3dir + "src/", keys)
    bucket, prefix = split(s3dir + "src/")
    raw = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": 5}) for o in page.get("Contents", [])]
    conn._s3.list_workers, conn._s3.list_page_keys = 4, 5
    dst = str(tmp_path / "dst")
    conn.sync(s3dir + "src/", dst)
    conn.sync(s3dir + "src/", s3dir + "copy/")
    assert tree(dst) == {key: key.encode() for key in keys}
    assert sorted(o.url for o in conn._s3.list(s3dir + "copy/")) == sorted(s3dir + "copy/" + k for k in keys)
    warned = [str(w.message) for w in recwarn if issubclass(w.category, S3Warning)]
    assert bool(warned) == (raw != sorted(raw, key=key_order)), (raw, warned)
    assert all("out of byte order" in w for w in warned)


def test_a_listing_left_early_stops_its_streams(conn, client, s3dir):
    fill(client, s3dir, [f"g{j:02d}/{i}" for j in range(12) for i in range(6)])
    conn._s3.list_workers, conn._s3.list_page_keys = 4, 5
    started = time.monotonic()
    entries = conn._s3.list(s3dir)
    assert [next(entries).url for _ in range(3)] == [s3dir + f"g00/{i}" for i in range(3)]
    entries.close()
    assert time.monotonic() - started < 5


def test_list_workers_option(client, s3dir, endpoint_url):
    if endpoint_url is None:
        pytest.skip("needs a local server's endpoint")
    fill(client, s3dir, ["a", "b/c"])
    for args in (["--list-workers", "1", "ls", s3dir], ["ls", s3dir, "--list-workers", "64"]):
        status, out, err = run("--endpoint-url", endpoint_url, *args)
        assert status == 0 and out.decode().split() == [s3dir + "a", s3dir + "b/c"], err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status, _, err = run("--list-workers", "0", "ls", s3dir)
    assert status == 2 and "must be from 1" in err
