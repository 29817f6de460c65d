"""baiji.integrity: MD5 and multipart-ETag arithmetic on local temp files (pure, no server)."""

from __future__ import annotations

import hashlib
import os

import pytest

from baiji import integrity
from baiji.integrity import MiB


def _write(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _multipart_etag(data: bytes, part_size: int) -> str:
    """The ETag S3 gives ``data`` uploaded in parts of ``part_size`` (reference implementation)."""
    parts = [data[i:i + part_size] for i in range(0, len(data), part_size)] or [b""]
    combined = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f"{combined}-{len(parts)}"


def _pattern(size: int) -> bytes:
    """Deterministic, non-repeating-per-part content (parts must hash differently)."""
    block = hashlib.sha256(str(size).encode()).digest() * (MiB // 32)
    out = bytearray()
    i = 0
    while len(out) < size:
        out += bytes([i % 251]) + block[: min(len(block), size - len(out) - 1)]
        i += 1
    return bytes(out[:size])


@pytest.fixture(scope="module")
def eleven_mib(tmp_path_factory):
    """An 11 MiB file: 3 parts of 5 MiB, 2 of 8 MiB, 1 of 16 MiB."""
    data = _pattern(11 * MiB)
    path = tmp_path_factory.mktemp("integrity") / "eleven.bin"
    path.write_bytes(data)
    return str(path), data


# -- md5_file ------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"hello", b"x" * (integrity.MiB + 17)])
def test_md5_file_matches_hashlib(tmp_path, data):
    path = _write(tmp_path, "f", data)
    assert integrity.md5_file(path) == hashlib.md5(data).hexdigest()


def test_md5_file_missing_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        integrity.md5_file(str(tmp_path / "missing"))


def test_empty_md5_constant():
    assert integrity.EMPTY_MD5 == "d41d8cd98f00b204e9800998ecf8427e"


# -- digests ---------------------------------------------------------------------

@pytest.mark.parametrize("size,part_size", [
    (1, 4), (10, 4), (12, 4), (13, 4), (4, 4), (3, 4),
    (MiB + 1, MiB // 2), (2 * MiB, MiB), (3 * MiB - 1, MiB),
    # blocks hashed two ways at once (8 MiB), ends around them and around the parts
    (8 * MiB - 1, 16 * MiB), (8 * MiB, 16 * MiB), (8 * MiB + 1, 5 * MiB), (33 * MiB + 7, 16 * MiB),
    (24 * MiB, 12 * MiB),
])
def test_digests_whole_md5_and_multipart_etag(tmp_path, size, part_size):
    data = os.urandom(size)
    path = _write(tmp_path, "f", data)
    md5, etag = integrity.digests(path, part_size)
    assert md5 == hashlib.md5(data).hexdigest()
    assert etag == _multipart_etag(data, part_size)


def test_digests_exact_multiple_has_no_empty_trailing_part(tmp_path):
    path = _write(tmp_path, "f", b"a" * 8)
    _, etag = integrity.digests(path, 4)
    assert etag.endswith("-2")


def test_digests_of_empty_file_is_one_empty_part(tmp_path):
    path = _write(tmp_path, "f", b"")
    md5, etag = integrity.digests(path, 4)
    assert md5 == integrity.EMPTY_MD5
    assert etag == _multipart_etag(b"", 4) == hashlib.md5(hashlib.md5(b"").digest()).hexdigest() + "-1"


def test_digests_eleven_mib_in_5_mib_parts(eleven_mib):
    path, data = eleven_mib
    md5, etag = integrity.digests(path, 5 * MiB)
    assert md5 == hashlib.md5(data).hexdigest()
    assert etag == _multipart_etag(data, 5 * MiB)
    assert etag.endswith("-3")


# -- local_etag ------------------------------------------------------------------

def test_local_etag_below_threshold_is_plain_md5(tmp_path):
    data = b"small content"
    path = _write(tmp_path, "f", data)
    assert integrity.local_etag(path) == hashlib.md5(data).hexdigest()


def test_local_etag_at_threshold_is_plain_md5(tmp_path):
    data = os.urandom(100)
    path = _write(tmp_path, "f", data)
    assert integrity.local_etag(path, threshold=100, part_size=40) == hashlib.md5(data).hexdigest()


def test_local_etag_above_threshold_is_multipart(tmp_path):
    data = os.urandom(101)
    path = _write(tmp_path, "f", data)
    assert integrity.local_etag(path, threshold=100, part_size=40) == _multipart_etag(data, 40)


def test_local_etag_default_threshold_and_part_size(eleven_mib):
    path, data = eleven_mib
    # 11 MiB is below the default multipart threshold: plain MD5
    assert integrity.MULTIPART_THRESHOLD >= 11 * MiB
    assert integrity.local_etag(path) == hashlib.md5(data).hexdigest()
    assert integrity.local_etag(path, threshold=5 * MiB, part_size=5 * MiB) == _multipart_etag(data, 5 * MiB)


def test_default_constants_are_sane():
    assert integrity.PART_SIZE >= 5 * MiB  # S3's minimum part size
    assert integrity.MULTIPART_THRESHOLD >= integrity.PART_SIZE
    assert set(integrity.COMMON_PART_SIZES) >= {5 * MiB, 8 * MiB, 16 * MiB, 64 * MiB}


# -- normalize -------------------------------------------------------------------

@pytest.mark.parametrize("raw", ['"abc"', "abc", ' "abc" ', "abc\n", '"abc"\n'])
def test_normalize_strips_quotes_and_space(raw):
    assert integrity.normalize(raw) == "abc"


def test_normalize_keeps_multipart_suffix():
    assert integrity.normalize('"0123abcd-3"') == "0123abcd-3"


# -- candidate_part_sizes ----------------------------------------------------------

def test_candidate_part_sizes_eleven_mib_three_parts():
    sizes = integrity.candidate_part_sizes(11 * MiB, 3)
    assert 5 * MiB in sizes
    assert 8 * MiB not in sizes  # 2 parts
    assert 16 * MiB not in sizes  # 1 part
    # the equal split (ceil(size / parts)) and its MiB-rounded variant
    assert -(-11 * MiB // 3) in sizes
    assert 4 * MiB in sizes
    for ps in sizes:
        assert -(-11 * MiB // ps) == 3
    assert len(sizes) == len(set(sizes))


def test_candidate_part_sizes_own_part_size_first():
    sizes = integrity.candidate_part_sizes(100, 3, own_part_size=40)
    assert sizes[0] == 40


def test_candidate_part_sizes_common_sizes():
    assert 8 * MiB in integrity.candidate_part_sizes(20 * MiB, 3)
    assert 16 * MiB in integrity.candidate_part_sizes(40 * MiB, 3)
    assert 64 * MiB in integrity.candidate_part_sizes(130 * MiB, 3)


def test_candidate_part_sizes_none_fit():
    # 10 parts for 10 bytes: only the equal split of 1 byte
    assert integrity.candidate_part_sizes(10, 10) == [1]
    # 6 parts for 10 bytes: no part size gives exactly 6 parts
    assert integrity.candidate_part_sizes(10, 6) == []


# -- file_matches_etag ---------------------------------------------------------------

def test_file_matches_plain_md5(tmp_path):
    data = b"some content"
    path = _write(tmp_path, "f", data)
    md5 = hashlib.md5(data).hexdigest()
    assert integrity.file_matches_etag(path, md5)
    assert integrity.file_matches_etag(path, f'"{md5}"')
    assert not integrity.file_matches_etag(path, hashlib.md5(b"other").hexdigest())


def test_file_matches_multipart_own_part_size(tmp_path):
    data = os.urandom(1000)
    path = _write(tmp_path, "f", data)
    etag = _multipart_etag(data, 300)
    assert etag.endswith("-4")
    assert integrity.file_matches_etag(path, etag, own_part_size=300)
    assert integrity.file_matches_etag(path, f'"{etag}"', own_part_size=300)


def test_file_matches_multipart_equal_split(tmp_path):
    data = os.urandom(1000)
    path = _write(tmp_path, "f", data)
    etag = _multipart_etag(data, 250)  # the equal split into 4 parts
    assert integrity.file_matches_etag(path, etag, own_part_size=300)


@pytest.mark.parametrize("part_size", [5 * MiB, -(-11 * MiB // 3), 4 * MiB])
def test_file_matches_third_party_multipart_3_parts(eleven_mib, part_size):
    path, data = eleven_mib
    assert integrity.file_matches_etag(path, _multipart_etag(data, part_size))


@pytest.mark.parametrize("part_size", [8 * MiB, 16 * MiB])
def test_file_matches_third_party_multipart_common_sizes(eleven_mib, part_size):
    path, data = eleven_mib
    assert integrity.file_matches_etag(path, _multipart_etag(data, part_size))


def test_file_does_not_match_other_content_multipart(eleven_mib, tmp_path):
    path, data = eleven_mib
    other = bytearray(data)
    other[6 * MiB] ^= 0xFF
    assert not integrity.file_matches_etag(path, _multipart_etag(bytes(other), 5 * MiB))


def test_file_does_not_match_unknown_part_size(tmp_path):
    data = os.urandom(1000)
    path = _write(tmp_path, "f", data)
    # 7 parts of 150 bytes: neither the own part size, the common sizes nor the equal split (143)
    etag = _multipart_etag(data, 150)
    assert etag.endswith("-7")
    assert not integrity.file_matches_etag(path, etag, own_part_size=300)


@pytest.mark.parametrize("etag", ["abc-x", "abc-", "0123-3a"])
def test_file_does_not_match_malformed_multipart_etag(tmp_path, etag):
    path = _write(tmp_path, "f", b"data")
    assert not integrity.file_matches_etag(path, etag)


def test_file_matches_wrong_part_count(tmp_path):
    data = os.urandom(1000)
    path = _write(tmp_path, "f", data)
    head = _multipart_etag(data, 300).rpartition("-")[0]
    assert not integrity.file_matches_etag(path, head + "-5", own_part_size=300)
