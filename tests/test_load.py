"""Never lose data, part 3 (promise 11): many small files through a flaky network.

``cp_r(parallel=True)`` and ``sync`` of ``BAIJI_LOAD_FILES`` small files
(default 2,000; the issue's figure is 20,000, which takes minutes on a
2-core CI machine: run ``BAIJI_LOAD_FILES=20000 pytest tests/test_load.py``
for it) through the fault proxy failing one request in five (a mix of
503 SlowDown, 500 InternalError and connection resets before the request
is read) end with every file present exactly once and byte-identical, and
a second ``sync`` copies nothing (no PutObject, no GetObject through the
proxy).  With ``-s`` the figures are printed (files, bytes, requests,
faults, seconds per phase).
"""

from __future__ import annotations

import collections
import hashlib
import os
import time

from support.helpers import split, tree, write_tree
from test_faults import Flaky, baiji_temps

LOAD_FILES = int(os.environ.get("BAIJI_LOAD_FILES", "2000"))
FILES_PER_DIR = 100


def _files(n: int) -> dict[str, bytes]:
    rng = os.urandom
    return {f"dir{i // FILES_PER_DIR:04d}/file{i:06d}.bin": rng(i % 4096) for i in range(n)}


def _listing(client, url: str) -> list[dict]:
    bucket, prefix = split(url)
    found = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += page.get("Contents", [])
    return found


def _assert_uploaded(client, url: str, files: dict[str, bytes]) -> None:
    """Every file exactly once under ``url``, with its content's MD5 as ETag."""
    objects = _listing(client, url)
    prefix = split(url)[1]
    keys = [o["Key"][len(prefix):] for o in objects]
    assert len(keys) == len(set(keys)) == len(files)
    assert set(keys) == set(files)
    wrong = [o["Key"] for o in objects
             if o["ETag"].strip('"') != hashlib.md5(files[o["Key"][len(prefix):]]).hexdigest()]
    assert wrong == []
    assert all(o["Size"] == len(files[o["Key"][len(prefix):]]) for o in objects)


def test_many_files_through_a_flaky_network(wide_proxy, client, s3dir, tmp_path):
    proxy, conn = wide_proxy.proxy, wide_proxy.conn
    files = _files(LOAD_FILES)
    total_bytes = sum(map(len, files.values()))
    src, down = tmp_path / "src", tmp_path / "down"
    write_tree(src, files)
    flaky = Flaky(5, kinds=("slow_down", "internal_error", "reset_before"))
    proxy.handler = flaky
    seconds = {}

    def phase(name, fn):
        start = time.monotonic()
        fn()
        seconds[name] = round(time.monotonic() - start, 1)

    phase("cp_r parallel up", lambda: conn.cp_r(str(src) + "/", s3dir + "up/", parallel=True))
    phase("sync down", lambda: conn.sync(s3dir + "up/", str(down), parallel=True))
    injected, requests, kinds = flaky.injected, proxy.requests, dict(proxy.faults_by_kind)
    proxy.handler = None

    _assert_uploaded(client, s3dir + "up/", files)
    assert tree(down) == files  # byte-identical, nothing extra
    assert baiji_temps(tmp_path) == []
    print(f"\n[test_load] phases (s): {seconds}; {requests} requests, {injected} faults {kinds}")
    assert injected >= requests // 6
    assert set(kinds) == {"slow_down", "internal_error", "reset_before"}

    # a second sync, both ways, copies nothing
    proxy.reset_counters()
    phase("sync up again", lambda: conn.sync(str(src), s3dir + "up/", parallel=True))
    phase("sync down again", lambda: conn.sync(s3dir + "up/", str(down), parallel=True))
    ops = collections.Counter(proxy.ops())
    writes = {op: n for op, n in ops.items() if op in ("PutObject", "CopyObject", "GetObject",
                                                       "DeleteObject", "DeleteObjects",
                                                       "CreateMultipartUpload")}
    assert writes == {}, writes
    assert ops["ListObjectsV2"] >= 2 and ops["HeadObject"] == 0

    # and after changing three files, exactly those three are sent
    changed = sorted(files)[:: max(1, len(files) // 3)][:3]
    for rel in changed:
        files[rel] = b"changed " + files[rel]
    write_tree(src, {rel: files[rel] for rel in changed})
    proxy.reset_counters()
    conn.sync(str(src), s3dir + "up/", parallel=True)
    assert collections.Counter(proxy.ops())["PutObject"] == 3
    _assert_uploaded(client, s3dir + "up/", files)

    print(f"\n[test_load] {len(files)} files, {total_bytes} bytes, {requests} requests, "
          f"{injected} faults injected {kinds}; seconds: {seconds}")
