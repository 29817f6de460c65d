"""MD5 and multipart-ETag arithmetic (SPEC 3). Pure: reads local files only.

An S3 ETag is the MD5 of the content for a single-part upload, and
``md5(concat(md5(part) for part in parts))-N`` for an ``N``-part upload, so
checking a multipart ETag needs the part size the uploader used.
"""

from __future__ import annotations

import math
import os
from collections import namedtuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms at start-up)
if TYPE_CHECKING:
    from typing import Any, TypeGuard

MiB = 1024 * 1024
#: Uploads larger than this are sent in parts (chosen by benchmark; see README).
MULTIPART_THRESHOLD = 16 * MiB
#: Part size of baiji's multipart uploads (chosen by benchmark; see README).
PART_SIZE = 16 * MiB
#: Part sizes of common uploaders tried when checking a multipart ETag: S3's
#: minimum, boto3/awscli, s3cmd, minio-go, s5cmd, and larger defaults.
COMMON_PART_SIZES = (5 * MiB, 8 * MiB, 15 * MiB, 16 * MiB, 50 * MiB, 64 * MiB, 100 * MiB)
_READ = MiB
#: Blocks read to hash two ways at once (see :func:`file_hashes`).
_HASH_READ = 8 * MiB
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
    with open(path, "rb") as f:
        whole, parts = file_hashes(f, part_size)
    return whole, multipart_etag(parts)


def file_hashes(f, part_size: int) -> tuple[str, list[bytes]]:
    """The hex MD5 of what the binary file ``f`` holds from where it stands, and the MD5 digest
    of each of its ``part_size`` parts (at least one), in one pass.

    The two hashes of a block run at once, the parts' in a second thread
    (hashlib lets go of the GIL): 0.43 s instead of 0.85 s for 256 MiB here.
    """
    whole = _md5()
    part_digests: list[bytes] = []
    with _Beside() as beside:
        while True:
            part = _md5()
            remaining = part_size
            while remaining:
                block = f.read(min(_HASH_READ, remaining))
                if not block:
                    break
                beside.run(part.update, block)
                whole.update(block)
                beside.wait()
                remaining -= len(block)
            if remaining == part_size and part_digests:
                break
            part_digests.append(part.digest())
            if remaining:
                break
    return whole.hexdigest(), part_digests


class _Beside:
    """One call at a time in a second thread, started on first use (a small file never needs it)."""

    def __init__(self):
        self._pool: Any = None
        self._job: Any = None

    def __enter__(self) -> _Beside:
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def run(self, fn, block: bytes) -> None:
        """``fn(block)`` beside this thread; at once for a short block (no thread for a small file)."""
        if len(block) < _HASH_READ:
            self._job = None
            fn(block)
            return
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1)
        self._job = self._pool.submit(fn, block)

    def wait(self) -> None:
        if self._job is not None:
            self._job.result()


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


# -- S3's additional checksums ------------------------------------------------
#
# Current AWS SDKs and the AWS CLI attach a checksum to what they upload, and S3
# itself gives every new object without one a CRC64NVME.  A single-part object's
# checksum covers the whole content; a multipart object's is either "full object"
# (CRC64NVME always; CRC32/CRC32C on request) or "composite": the hash of the
# concatenated part checksums, ``VALUE-N`` for N parts, which needs the part size.

#: The algorithms of S3's ``x-amz-checksum-<name>`` headers, and their digests' sizes.
CHECKSUM_SIZES = {"CRC64NVME": 8, "CRC32": 4, "CRC32C": 4, "SHA1": 20, "SHA256": 32}
CHECKSUM_ALGORITHMS = tuple(CHECKSUM_SIZES)
FULL_OBJECT, COMPOSITE = "FULL_OBJECT", "COMPOSITE"
#: Checksums long enough to tell two contents apart: a 32-bit CRC matches a different
#: content once in 4 billion, so it may prove a download right or wrong (a corruption
#: is rare already), never two files of equal size the same (edits are common).
STRONG = ("CRC64NVME", "SHA1", "SHA256")
#: The only kind of checksum S3 gives a multipart object with these algorithms.
_UNSAID = {"CRC64NVME": FULL_OBJECT, "SHA1": COMPOSITE, "SHA256": COMPOSITE}


class Checksum(namedtuple("Checksum", "algorithm value kind parts", defaults=(None, None))):
    """An object's additional checksum.

    ``value``: the base64 digest without the ``-N`` suffix; ``kind``:
    FULL_OBJECT, COMPOSITE, or None for a
    multipart object whose server did not say which (moto returns the AWS CLI
    v1's composite CRC32 bare); ``parts``: the part count of a multipart object.
    """

    __slots__ = ()


def checksum_of(values: dict[str, str], kind: str | None, etag: str | None) -> Checksum | None:
    """The checksum among ``values`` (algorithm -> header value), read with the object's ETag.

    A value ending in ``-N`` is composite; without a suffix or a ``kind`` it is
    full-object on a single-part object and for CRC64NVME (S3 has no composite
    CRC64NVME), composite for a SHA of a multipart object (S3 has no
    full-object one), and undecided for a CRC32 or CRC32C of a multipart object.
    A value that is no digest of its algorithm is no checksum.
    """
    for algorithm in CHECKSUM_ALGORITHMS:
        value, dash, count = values.get(algorithm, "").partition("-")
        if _digest_size(value) == CHECKSUM_SIZES[algorithm]:
            parts = int(count) if dash and count.isdigit() else part_count(etag or "")
            if dash:
                kind = COMPOSITE
            elif kind not in (FULL_OBJECT, COMPOSITE):
                kind = _UNSAID.get(algorithm) if parts else FULL_OBJECT
            return Checksum(algorithm, value, kind, parts)
    return None


def _digest_size(value: str) -> int | None:
    """The size of the digest that ``value`` is the base64 of; None if it is no base64."""
    import base64
    import binascii

    try:
        return len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return None


def _crc(algorithm: str):
    """``(function(data, previous), width in bytes, combine(crc1, crc2, len2))`` of a CRC algorithm."""
    from awscrt import checksums  # ~40 ms to load: only when an object needs it

    if algorithm == "CRC32":
        import zlib  # faster than awscrt's CRC32 (4 GiB/s against 2.8 here)

        return zlib.crc32, 4, checksums.combine_crc32
    if algorithm == "CRC32C":
        return checksums.crc32c, 4, checksums.combine_crc32c
    return checksums.crc64nvme, 8, checksums.combine_crc64nvme


class _Crc:
    """A running CRC with hashlib's ``update``/``digest``."""

    def __init__(self, algorithm: str):
        self._function, self._width, _ = _crc(algorithm)
        self._value = 0

    def update(self, data) -> None:
        self._value = self._function(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._width, "big")


def hasher(algorithm: str):
    """A new running hash of a checksum algorithm (``update``, ``digest``)."""
    if algorithm.startswith("SHA"):
        import hashlib

        return hashlib.new(algorithm.lower())
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise ValueError(f"unknown checksum algorithm {algorithm!r}")
    return _Crc(algorithm)


def combined(algorithm: str, pieces: list[tuple[bytes, int]]) -> bytes | None:
    """The digest of consecutive pieces joined, from their ``(digest, length)``; None where the
    algorithm cannot combine (SHA over several pieces)."""
    if len(pieces) == 1:
        return pieces[0][0]
    if algorithm.startswith("SHA"):
        return None
    _, width, combine = _crc(algorithm)
    value = int.from_bytes(pieces[0][0], "big")
    for digest, length in pieces[1:]:
        value = combine(value, int.from_bytes(digest, "big"), length)
    return value.to_bytes(width, "big")


def composite(algorithm: str, part_digests: list[bytes]) -> bytes:
    """The composite digest of a multipart object whose parts have these digests."""
    h = hasher(algorithm)
    h.update(b"".join(part_digests))
    return h.digest()


def checksum_verdict(checksum: Checksum, pieces: list[tuple[bytes, int]],
                     are_parts: bool | None) -> bool | None:
    """Whether content hashed in consecutive pieces (``(digest, length)``) has ``checksum``.

    ``are_parts``: True when the pieces are for sure the object's parts, None
    when that is a guess, False when they are not.  True and False are certain;
    None when the pieces cannot tell (a SHA over several pieces, a composite
    checksum and pieces that are not, or may not be, its parts).
    """
    import base64

    expected = base64.b64decode(checksum.value)
    undecided = False
    if checksum.kind != COMPOSITE:
        whole = combined(checksum.algorithm, pieces)
        if whole == expected:
            return True
        undecided = whole is None
    if checksum.kind != FULL_OBJECT:
        if are_parts is False or len(pieces) != checksum.parts:
            return None
        if composite(checksum.algorithm, [digest for digest, _ in pieces]) == expected:
            return True
        undecided = undecided or are_parts is None
    return None if undecided else False


def file_pieces(path: str, algorithm: str, span: int) -> list[tuple[bytes, int]]:
    """``(digest, length)`` of each ``span`` bytes of a local file (one piece for an empty file)."""
    pieces: list[tuple[bytes, int]] = []
    with open(path, "rb") as f:
        while True:
            h, length = hasher(algorithm), 0
            while length < span and (block := f.read(min(_READ, span - length))):
                h.update(block)
                length += len(block)
            if length or not pieces:
                pieces.append((h.digest(), length))
            if length < span:
                return pieces


def file_checksum_verdict(path: str, checksum: Checksum, part_size: int | None = None) -> bool | None:
    """Whether a local file has ``checksum`` (True/False certain, None: cannot tell).

    ``part_size``: the object's part size as its server gave it; without it a
    composite checksum is tried with the usual part sizes (a match proves the
    content, no match proves nothing).
    """
    size = os.path.getsize(path)
    if part_size:
        return checksum_verdict(checksum, file_pieces(path, checksum.algorithm, part_size), True)
    found = checksum_verdict(checksum, file_pieces(path, checksum.algorithm, max(size, 1)), False)
    if found is not None or not checksum.parts:
        return found
    for span in candidate_part_sizes(size, checksum.parts):
        if checksum_verdict(checksum, file_pieces(path, checksum.algorithm, span), None):
            return True
    return None


def strong(checksum: Checksum | None) -> TypeGuard[Checksum]:
    """Whether ``checksum`` is known and long enough to prove two contents the same."""
    return checksum is not None and checksum.algorithm in STRONG


def same_checksum(a: Checksum | None, b: Checksum | None) -> bool:
    """Whether two objects' checksums prove their contents the same: one strong algorithm and
    value, and (unless both are full-object) one part count."""
    return strong(a) and b is not None and (a.algorithm, a.value) == (b.algorithm, b.value) and (
        a.kind == b.kind == FULL_OBJECT or a.parts == b.parts)
