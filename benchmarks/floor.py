#!/usr/bin/env python3
"""Engine floor: each benchmark workload done with obstore directly.

``floor.py OP SRC [DST]`` with OP one of ``cp_tree``, ``cp_file``, ``sync``,
``rm_tree``, ``ls``, ``ls_tree``, ``cat`` (the keys of bench.py's OPS) and SRC/DST local
paths or ``s3://bucket/key`` URLs, as bench.py passes them to every tool.
It is the simplest fast use of the engine -- no options, no checks, no
progress, no retries beyond obstore's own -- so that the benchmark can show
how much a real client adds on top of the engine it is built on.

Many objects: FLOOR_INFLIGHT (64) threads calling obstore's blocking
functions, which release the GIL (measured as fast here as asyncio with
as many tasks, whose import alone costs ~20 ms).  One big object: a
multipart ``put`` from the file, or parallel ranged gets written with
``os.pwrite``.  Credentials and endpoint come from the environment
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL).
"""

import os
import sys
import threading
from pathlib import Path

import obstore
from obstore.store import S3Store

INFLIGHT = int(os.environ.get("FLOOR_INFLIGHT", "64"))
PART = 8 << 20          # multipart part / ranged-get size for one big object
PART_CONCURRENCY = 16
_stores: dict[str, S3Store] = {}


def store(bucket: str) -> S3Store:
    """One S3Store per bucket, path-style, plain HTTP allowed."""
    if bucket not in _stores:
        _stores[bucket] = S3Store(
            bucket, endpoint=os.environ["AWS_ENDPOINT_URL"],
            region=os.environ.get("AWS_REGION", "us-east-1"),
            access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
            secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
            virtual_hosted_style_request=False, client_options={"allow_http": True})
    return _stores[bucket]


def split(url: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> ``("bucket", "a/b")``; None for a local path."""
    if not url.startswith("s3://"):
        return None
    bucket, _, key = url[5:].partition("/")
    return bucket, key


def parallel(fn, items, workers: int = INFLIGHT) -> None:
    """Call ``fn(item)`` for every item from ``workers`` threads; re-raise the first error."""
    items, errors, lock, done = iter(items), [], threading.Lock(), object()

    def work():
        try:
            while not errors:
                with lock:  # items may be a generator: not safe to advance from two threads
                    item = next(items, done)
                if item is done:
                    return
                fn(item)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def listing(bucket: str, prefix: str):
    """Every ObjectMeta below ``prefix/`` (recursive; "": the whole bucket)."""
    for chunk in obstore.list(store(bucket), below(prefix, ""), chunk_size=1000):
        yield from chunk


def local_files(root: str):
    """(relative posix path, os.stat_result) of every file below ``root``."""
    stack = [(root, "")]
    while stack:
        top, rel = stack.pop()
        with os.scandir(top) as entries:
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    stack.append((e.path, rel + e.name + "/"))
                elif e.is_file():
                    yield rel + e.name, e.stat()


def write_file(path: str, data) -> None:
    with open(path, "wb") as f:
        f.write(data)


# Operations ---------------------------------------------------------------

def cp_tree(src: str, dst: str) -> None:
    rels = list(entries(src))
    make_parents(dst, rels)
    parallel(lambda rel: copy(src, dst, rel), rels)


def cp_file(src: str, dst: str) -> None:
    s, d = split(src), split(dst)
    if s is None:
        obstore.put(store(d[0]), d[1], Path(src), chunk_size=PART, max_concurrency=PART_CONCURRENCY)
    elif d is None:
        download(store(s[0]), s[1], dst)
    elif s[0] == d[0]:
        obstore.copy(store(s[0]), s[1], d[1])
    else:
        obstore.put(store(d[0]), d[1], obstore.get(store(s[0]), s[1]).bytes())


def download(st: S3Store, key: str, path: str) -> None:
    """One object to a file: the first PART in one get, the rest in parallel ranged gets + pwrite."""
    first = obstore.get(st, key, options={"range": (0, PART)})
    size = first.meta["size"]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        os.pwrite(fd, first.bytes(), 0)

        def part(start):
            os.pwrite(fd, obstore.get_range(st, key, start=start, end=min(start + PART, size)), start)
        parallel(part, range(PART, size, PART), PART_CONCURRENCY)
    finally:
        os.close(fd)


def sync(src: str, dst: str) -> None:
    """Mirror a directory or prefix to another: copy new, larger/smaller or newer files; delete extras."""
    source, target = entries(src), entries(dst)
    todo = [rel for rel, (size, mtime) in source.items()
            if rel not in target or target[rel][0] != size or mtime > target[rel][1]]
    extra = [rel for rel in target if rel not in source]
    make_parents(dst, todo)
    parallel(lambda rel: copy(src, dst, rel), todo)
    d = split(dst)
    if d is None:
        for rel in extra:
            os.remove(os.path.join(dst, rel))
    elif extra:
        obstore.delete(store(d[0]), [below(d[1], rel) for rel in extra])


def entries(url: str) -> dict[str, tuple[int, float]]:
    """{relative path: (size, mtime)} of every file below a directory or prefix."""
    if split(url) is None:
        return {rel: (stat.st_size, stat.st_mtime) for rel, stat in local_files(url)} \
            if os.path.isdir(url) else {}
    bucket, prefix = split(url)
    cut = len(below(prefix, ""))
    return {m["path"][cut:]: (m["size"], m["last_modified"].timestamp()) for m in listing(bucket, prefix)}


def below(prefix: str, rel: str) -> str:
    """The key of ``rel`` below ``prefix`` ("" or "/": the bucket's top)."""
    prefix = prefix.strip("/")
    return f"{prefix}/{rel}" if prefix else rel


def make_parents(dst: str, rels: list[str]) -> None:
    """The local directories the files ``rels`` below ``dst`` go to; nothing for a prefix."""
    if split(dst) is None:
        for parent in {os.path.dirname(rel) for rel in rels}:
            os.makedirs(os.path.join(dst, parent), exist_ok=True)


def copy(src: str, dst: str, rel: str) -> None:
    """``rel`` below ``src`` to the same place below ``dst``: put, get, server-side copy
    within a bucket, get + put across buckets."""
    s, d = split(src), split(dst)
    if s is None:
        obstore.put(store(d[0]), below(d[1], rel), Path(src, rel))
    elif d is None:
        write_file(os.path.join(dst, rel), obstore.get(store(s[0]), below(s[1], rel)).bytes())
    elif s[0] == d[0]:
        obstore.copy(store(s[0]), below(s[1], rel), below(d[1], rel))
    else:
        obstore.put(store(d[0]), below(d[1], rel), obstore.get(store(s[0]), below(s[1], rel)).bytes())


def rm_tree(src: str, dst: str = "") -> None:
    bucket, prefix = split(src)
    paths = [m["path"] for m in listing(bucket, prefix)]
    if paths:
        obstore.delete(store(bucket), paths)


def ls(src: str, dst: str = "") -> None:
    """One level below the prefix, like ``s3 ls -s``: sub-prefixes end in /."""
    bucket, prefix = split(src)
    result = obstore.list_with_delimiter(store(bucket), prefix.rstrip("/") + "/")
    urls = [f"s3://{bucket}/{p}/" for p in result["common_prefixes"]]
    urls += [f"s3://{bucket}/{m['path']}" for m in result["objects"]]
    sys.stdout.write("".join(u + "\n" for u in urls))


def ls_tree(src: str, dst: str = "") -> None:
    """Every key below the prefix, as URLs."""
    bucket, prefix = split(src)
    sys.stdout.writelines(f"s3://{bucket}/{m['path']}\n" for m in listing(bucket, prefix))


def cat(src: str, dst: str = "") -> None:
    bucket, key = split(src)
    out = sys.stdout.buffer
    for chunk in obstore.get(store(bucket), key).stream(min_chunk_size=PART):
        out.write(chunk)
    out.flush()


OPS = {f.__name__: f for f in (cp_tree, cp_file, sync, rm_tree, ls, ls_tree, cat)}

if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in OPS:
        sys.exit(f"usage: floor.py {{{','.join(OPS)}}} SRC [DST]")
    OPS[sys.argv[1]](*sys.argv[2:])
