"""MD5 and multipart-ETag arithmetic (SPEC 3). Pure: reads local files only.

An S3 ETag is the MD5 of the content for a single-part upload, and
``md5(concat(md5(part) for part in parts))-N`` for an ``N``-part upload, so
checking a multipart ETag needs the part size the uploader used.
"""

from __future__ import annotations

import math
import os

MiB = 1024 * 1024
#: Uploads larger than this are sent in parts (chosen by benchmark; see README).
MULTIPART_THRESHOLD = 16 * MiB
#: Part size of baiji's multipart uploads (chosen by benchmark; see README).
PART_SIZE = 16 * MiB
#: Part sizes of common uploaders tried when checking a multipart ETag: S3's
#: minimum, boto3/awscli, s3cmd, minio-go, s5cmd, and larger defaults.
COMMON_PART_SIZES = (5 * MiB, 8 * MiB, 15 * MiB, 16 * MiB, 50 * MiB, 64 * MiB, 100 * MiB)
_READ = MiB
#: ``md5(b"").hexdigest()``.
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def _md5(data: bytes = b""):
    import hashlib  # imported here: ~3 ms at start-up, and commands that only list never hash

    return hashlib.md5(data)


def md5_file(path: str) -> str:
    """Hex MD5 of a local file."""
    h = _md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_READ), b""):
            h.update(block)
    return h.hexdigest()


def digests(path: str, part_size: int) -> tuple[str, str]:
    """``(md5, multipart_etag)`` of a local file in one pass over it."""
    whole = _md5()
    part_digests = []
    with open(path, "rb") as f:
        while True:
            part = _md5()
            remaining = part_size
            while remaining:
                block = f.read(min(_READ, remaining))
                if not block:
                    break
                whole.update(block)
                part.update(block)
                remaining -= len(block)
            if remaining == part_size and part_digests:
                break
            part_digests.append(part.digest())
            if remaining:
                break
    return whole.hexdigest(), multipart_etag(part_digests)


def multipart_etag(part_digests: list[bytes]) -> str:
    """The ETag of a multipart upload whose parts have these MD5 digests."""
    return f"{_md5(b''.join(part_digests)).hexdigest()}-{len(part_digests)}"


def local_etag(path: str, threshold: int = MULTIPART_THRESHOLD, part_size: int = PART_SIZE) -> str:
    """The ETag baiji's own upload of ``path`` would get."""
    if os.path.getsize(path) <= threshold:
        return md5_file(path)
    return digests(path, part_size)[1]


def normalize(etag: str) -> str:
    """An ETag without the quotes S3 puts around it."""
    return etag.strip().strip('"')


def candidate_part_sizes(size: int, parts: int, own_part_size: int = PART_SIZE) -> list[int]:
    """Part sizes that split ``size`` bytes into exactly ``parts`` parts."""
    equal = math.ceil(size / parts) if parts else 0
    equal_mib = math.ceil(equal / MiB) * MiB
    sizes = [own_part_size, *COMMON_PART_SIZES, equal, equal_mib]
    seen, result = set(), []
    for ps in sizes:
        if ps and ps not in seen and math.ceil(size / ps) == parts:
            seen.add(ps)
            result.append(ps)
    return result


def part_count(etag: str) -> int | None:
    """The number of parts a multipart ETag (``md5-N``) names; None for any other ETag."""
    _, dash, count = normalize(etag).partition("-")
    return int(count) if dash and count.isdigit() else None


def file_matches_etag(path: str, etag: str, own_part_size: int = PART_SIZE) -> bool:
    """True when the local file's content has the given (single or multipart) ETag."""
    etag = normalize(etag)
    if "-" not in etag:
        return md5_file(path) == etag
    parts = part_count(etag)
    if parts is None:
        return False
    size = os.path.getsize(path)
    return any(digests(path, ps)[1] == etag for ps in candidate_part_sizes(size, parts, own_part_size))
