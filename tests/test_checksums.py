"""S3's additional checksums (issue 11, item 7): what others uploaded is verified.

Objects written by the AWS CLI and by boto3 with ``ChecksumAlgorithm`` carry a
CRC64NVME, CRC32, CRC32C, SHA1 or SHA256 checksum, full-object or composite.
Uploaded here in parts of a size no guess reproduces (``ODD``), their
multipart ETag cannot be checked: only the checksum can tell a corrupted
download (the fault proxy's ``corrupt``) from a good one.  Against both
servers; where one lacks a feature the test is skipped saying which.

The few stand-ins for what no server produces (a wrong checksum stored with
the right content) say so.
"""

from __future__ import annotations

import base64
import gc
import io
import os
import subprocess
import sys
import warnings
import zlib

import pytest
from boto3.s3.transfer import TransferConfig

from support import servers
from baiji import cli, integrity, s3
from baiji.exceptions import S3Exception, TransientError
from baiji.integrity import COMPOSITE, FULL_OBJECT, Checksum
from baiji.stores import s3_control
from support.helpers import get, head, one_line, put, split
from test_faults import MiB, baiji_temps

#: A part size that neither the usual part sizes nor an equal split reproduces.
ODD = 5 * MiB + 12345
#: Two parts: one GET, checked from the file.
SMALL = 2 * ODD - 777
#: Over integrity.MULTIPART_THRESHOLD: ranged GETs, checked from their digests.
LARGE = 3 * ODD + 2 * MiB

FLAVOURS = ["boto3-crc64nvme", "boto3-crc32", "boto3-crc32c", "boto3-sha256", "crc32-full-object", "awscli"]
#: Flavours whose checksum is full-object: no part size needed.
FULL = ("boto3-crc64nvme", "crc32-full-object")


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


SHA1, SHA256 = b64(bytes(20)), b64(bytes(32))


# == the arithmetic (no server) ==========================================================

def test_known_answers():
    """The check values of the catalogued CRCs (RevEng) for b"123456789"."""
    for algorithm, value in (("CRC32", 0xCBF43926), ("CRC32C", 0xE3069283),
                             ("CRC64NVME", 0xAE8B14860A799888)):
        h = integrity.hasher(algorithm)
        h.update(b"1234")
        h.update(memoryview(b"56789"))
        assert h.digest() == value.to_bytes(len(h.digest()), "big"), algorithm


@pytest.mark.parametrize("algorithm", integrity.CHECKSUM_ALGORITHMS)
def test_combined_and_composite(algorithm):
    data = os.urandom(100_000)
    pieces = []
    for start, end in ((0, 1), (1, 40_000), (40_000, 40_000), (40_000, 100_000)):
        h = integrity.hasher(algorithm)
        h.update(data[start:end])
        pieces.append((h.digest(), end - start))
    whole = integrity.hasher(algorithm)
    whole.update(data)
    expected = None if algorithm.startswith("SHA") else whole.digest()
    assert integrity.combined(algorithm, pieces) == expected
    assert integrity.combined(algorithm, pieces[-1:]) == pieces[-1][0]
    joined = integrity.hasher(algorithm)
    joined.update(b"".join(d for d, _ in pieces))
    assert integrity.composite(algorithm, [d for d, _ in pieces]) == joined.digest()


def test_unknown_algorithm_is_refused():
    with pytest.raises(ValueError, match="MD4"):
        integrity.hasher("MD4")


@pytest.mark.parametrize("values, kind, etag, expected", [
    ({}, None, "abc", None),
    ({"CRC32": "AAAAAA=="}, None, "abc", Checksum("CRC32", "AAAAAA==", FULL_OBJECT, None)),
    ({"CRC32": "AAAAAAAAAAA="}, None, "abc", None),   # a digest of another size
    ({"CRC32": "not base64!"}, None, "abc", None),
    ({"CRC32": ""}, None, "abc", None),
    ({"CRC32": "-3"}, None, "abc-3", None),
    ({"CRC32": "AAAAAA==-3"}, None, "abc-3", Checksum("CRC32", "AAAAAA==", COMPOSITE, 3)),
    ({"CRC32": "AAAAAA=="}, "COMPOSITE", "abc-3", Checksum("CRC32", "AAAAAA==", COMPOSITE, 3)),
    ({"CRC32": "AAAAAA=="}, "FULL_OBJECT", "abc-3", Checksum("CRC32", "AAAAAA==", FULL_OBJECT, 3)),
    # moto's answer for the AWS CLI v1's composite CRC32: no suffix, no type
    ({"CRC32": "AAAAAA=="}, None, "abc-3", Checksum("CRC32", "AAAAAA==", None, 3)),
    ({"CRC64NVME": "AAAAAAAAAAA="}, None, "abc-3", Checksum("CRC64NVME", "AAAAAAAAAAA=", FULL_OBJECT, 3)),
    ({"SHA256": SHA256}, None, "abc-2", Checksum("SHA256", SHA256, COMPOSITE, 2)),
    ({"SHA1": SHA1}, None, "abc", Checksum("SHA1", SHA1, FULL_OBJECT, None)),
    ({"SHA256": "x-2", "CRC32": "AAAAAA=="}, None, "abc-2", Checksum("CRC32", "AAAAAA==", None, 2)),
])
def test_checksum_of(values, kind, etag, expected):
    """What a HEAD says: suffixes, types, the ETag's part count; garbage is no checksum."""
    assert integrity.checksum_of(values, kind, etag) == expected


def _pieces(data: bytes, algorithm: str, span: int) -> list[tuple[bytes, int]]:
    out = []
    for start in range(0, len(data), span):
        h = integrity.hasher(algorithm)
        h.update(data[start:start + span])
        out.append((h.digest(), len(data[start:start + span])))
    return out


def test_checksum_verdict_is_certain_only_where_the_layout_is():
    data = os.urandom(10_000)
    parts = _pieces(data, "CRC32", 4_000)
    full = Checksum("CRC32", b64(integrity.combined("CRC32", parts)), FULL_OBJECT, 3)
    comp = Checksum("CRC32", b64(integrity.composite("CRC32", [d for d, _ in parts])), COMPOSITE, 3)
    other = _pieces(b"x" + data[1:], "CRC32", 4_000)
    verdict = integrity.checksum_verdict
    assert verdict(full, parts, None) is True and verdict(full, _pieces(data, "CRC32", 999), False) is True
    assert verdict(full, other, None) is False
    assert verdict(comp, parts, True) is True and verdict(comp, parts, None) is True
    assert verdict(comp, other, True) is False      # the server told the layout
    assert verdict(comp, other, None) is None       # a guessed layout proves nothing
    assert verdict(comp, _pieces(data, "CRC32", 5_000), None) is None
    assert verdict(comp, parts, False) is None
    undecided = comp._replace(kind=None)           # moto's bare composite
    assert verdict(undecided, parts, None) is True
    assert verdict(full._replace(kind=None), parts, None) is True
    assert verdict(undecided, other, True) is False and verdict(undecided, other, None) is None
    sha = _pieces(data, "SHA256", 4_000)
    whole = integrity.hasher("SHA256")
    whole.update(data)
    sha_full = Checksum("SHA256", b64(whole.digest()), FULL_OBJECT, None)
    assert verdict(sha_full, sha, None) is None     # SHA cannot be combined: the file is read
    assert verdict(sha_full, _pieces(data, "SHA256", len(data)), None) is True


def test_file_checksum_verdict(tmp_path):
    data = os.urandom(3 * MiB + 5)
    path = tmp_path / "f"
    path.write_bytes(data)
    parts = _pieces(data, "CRC32C", 1 * MiB)
    comp = Checksum("CRC32C", b64(integrity.composite("CRC32C", [d for d, _ in parts])), COMPOSITE, 4)
    assert integrity.file_checksum_verdict(str(path), comp, 1 * MiB) is True
    assert integrity.file_checksum_verdict(str(path), comp) is True  # the equal-MiB split guesses it
    assert integrity.file_checksum_verdict(str(path), comp, 1 * MiB + 1) is False
    full = Checksum("CRC32", b64(zlib.crc32(data).to_bytes(4, "big")), FULL_OBJECT, 4)
    assert integrity.file_checksum_verdict(str(path), full) is True
    path.write_bytes(data[:-1] + b"!")
    assert integrity.file_checksum_verdict(str(path), full) is False
    assert integrity.file_checksum_verdict(str(path), comp) is None
    (tmp_path / "empty").write_bytes(b"")
    empty = Checksum("CRC64NVME", "AAAAAAAAAAA=", FULL_OBJECT)
    assert integrity.file_checksum_verdict(str(tmp_path / "empty"), empty) is True


# == objects uploaded by others ==========================================================

def _parts_upload(client, url: str, data: bytes, sizes: list[int], algorithm: str, kind: str) -> None:
    """A multipart upload with boto3's low-level calls: parts of ``sizes`` (the last takes the rest)."""
    bucket, key = split(url)
    upload = client.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm=algorithm,
                                            ChecksumType=kind)["UploadId"]
    parts, offset = [], 0
    for number, size in enumerate([*sizes, len(data) - sum(sizes)], 1):
        resp = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number,
                                  Body=data[offset:offset + size], ChecksumAlgorithm=algorithm)
        parts.append({"PartNumber": number, "ETag": resp["ETag"],
                      f"Checksum{algorithm}": resp[f"Checksum{algorithm}"]})
        offset += size
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})


def _awscli(tmp_path, part_size: int, *args: str) -> None:
    """``aws s3 ...`` (the AWS CLI v1, from PyPI) with this multipart part size."""
    config = tmp_path / "aws-config"
    config.write_text(f"[default]\ns3 =\n    multipart_chunksize = {part_size}\n"
                      f"    multipart_threshold = {part_size}\n")
    done = subprocess.run([sys.executable, "-m", "awscli", "s3", *args],
                          env={**os.environ, "AWS_CONFIG_FILE": str(config)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def upload(flavour: str, client, url: str, data: bytes, tmp_path, server_kind: str, part_size: int = ODD) -> None:
    """Put ``data`` at ``url`` in parts of ``part_size`` bytes, the way ``flavour`` says."""
    if flavour == "boto3-crc32c" and server_kind == "moto":
        pytest.skip("moto stores the composite CRC32 under the CRC32C name")
    if flavour == "awscli":
        (tmp_path / "upload").write_bytes(data)
        _awscli(tmp_path, part_size, "cp", str(tmp_path / "upload"), url)
        os.remove(tmp_path / "upload")
    elif flavour == "crc32-full-object":
        _parts_upload(client, url, data, [part_size] * (len(data) // part_size), "CRC32", FULL_OBJECT)
    else:
        algorithm = flavour.partition("-")[2].upper()
        bucket, key = split(url)
        client.upload_fileobj(io.BytesIO(data), bucket, key, ExtraArgs={"ChecksumAlgorithm": algorithm},
                              Config=TransferConfig(multipart_threshold=part_size, multipart_chunksize=part_size))
    found = head(client, url, ChecksumMode="ENABLED")
    assert integrity.part_count(found["ETag"]) == -(-len(data) // part_size)
    if server_kind == "moto" and found.get("ChecksumCRC64NVME", b64(_crc64(data))) != b64(_crc64(data)):
        pytest.skip("moto returns a wrong CRC64NVME for this multipart object")


def _crc64(data: bytes) -> bytes:
    """CRC64NVME (whose check value test_known_answers verifies)."""
    h = integrity.hasher("CRC64NVME")
    h.update(data)
    return h.digest()


def skip_without_part_numbers(client, url: str, server_kind: str) -> None:
    """A composite checksum is certain only with the part size the server tells (HEAD ?partNumber=1)."""
    bucket, key = split(url)
    if client.head_object(Bucket=bucket, Key=key, PartNumber=1)["ContentLength"] != ODD:
        pytest.skip(f"{server_kind} ignores partNumber on HEAD: a composite checksum cannot fail for sure")


@pytest.fixture(scope="module")
def payload() -> dict[int, bytes]:
    return {SMALL: os.urandom(SMALL), LARGE: os.urandom(LARGE)}


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["one-get", "ranged"])
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_corrupt_download_of_foreign_multipart_object_is_downloaded_again(
        fault_proxy, client, s3dir, tmp_path, payload, server_kind, flavour, size):
    """Was: the corrupted bytes were kept (an ETag of an unknown part size counted as a match)."""
    data = payload[size]
    upload(flavour, client, s3dir + "obj", data, tmp_path, server_kind)
    if flavour not in FULL:
        skip_without_part_numbers(client, s3dir + "obj", server_kind)
    fault_proxy.proxy.fail_next(1, "corrupt", match="GetObject", offset=5000)
    fault_proxy.conn.cp(s3dir + "obj", str(tmp_path / "got"))
    assert (tmp_path / "got").read_bytes() == data
    assert fault_proxy.proxy.faults == 1 and fault_proxy.proxy.ops().count("GetObject") > 1


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_corrupt_twice_fails_naming_the_checksum(fault_proxy, client, s3dir, tmp_path, payload,
                                                 server_kind, flavour):
    data = payload[LARGE]
    upload(flavour, client, s3dir + "obj", data, tmp_path, server_kind)
    if flavour not in FULL:
        skip_without_part_numbers(client, s3dir + "obj", server_kind)
    dst = tmp_path / "obj"
    dst.write_bytes(b"the old content")
    fault_proxy.proxy.fail_always("corrupt", match="GetObject", offset=1000)
    with pytest.raises(TransientError) as info:
        fault_proxy.conn.cp(s3dir + "obj", str(dst), force=True)
    algorithm = "CRC32" if flavour in ("awscli", "crc32-full-object") else flavour.partition("-")[2].upper()
    assert f"does not match its {algorithm} checksum" in str(info.value) and one_line(str(info.value))
    assert dst.read_bytes() == b"the old content" and baiji_temps(tmp_path) == []


def test_cli_error_line(fault_proxy, client, s3dir, tmp_path, payload, server_kind):
    upload("boto3-crc64nvme", client, s3dir + "crc-object", payload[SMALL], tmp_path, server_kind)
    fault_proxy.proxy.fail_always("corrupt", match="GetObject", offset=123)
    err = io.StringIO()
    status = cli.main(["--endpoint-url", fault_proxy.endpoint_url, "cp", s3dir + "crc-object", str(tmp_path / "x")],
                      stdin=io.StringIO(), stdout=io.StringIO(), stderr=err)
    assert status == 1
    assert err.getvalue().splitlines()[-1] == (f"s3: error: {s3dir}crc-object: downloaded content does not match "
                                               "its CRC64NVME checksum (tried 2 times)")
    assert not (tmp_path / "x").exists()


def test_non_uniform_parts_are_not_rejected(client, conn, s3dir, tmp_path, payload):
    """Parts of different sizes: the composite checksum cannot be checked, the download is kept."""
    data = payload[LARGE]
    _parts_upload(client, s3dir + "obj", data, [ODD, ODD + MiB], "CRC32", COMPOSITE)
    conn.cp(s3dir + "obj", str(tmp_path / "got"))
    assert (tmp_path / "got").read_bytes() == data


def test_multipart_object_without_checksum_is_still_downloaded(endpoint_url, client, conn, s3dir, tmp_path,
                                                               payload):
    data = payload[SMALL]
    bucket, key = split(s3dir + "obj")
    plain = servers.make_client(endpoint_url, request_checksum_calculation="when_required")
    plain.upload_fileobj(io.BytesIO(data), bucket, key,
                         Config=TransferConfig(multipart_threshold=ODD, multipart_chunksize=ODD))
    assert not [k for k in head(client, s3dir + "obj", ChecksumMode="ENABLED") if k.startswith("Checksum")]
    conn.cp(s3dir + "obj", str(tmp_path / "got"))
    assert (tmp_path / "got").read_bytes() == data


# == what is asked of the server, and when =================================================

class Recorder:
    """A proxy handler that keeps every request (method, operation, query, headers) and lets it through."""

    def __init__(self, refuse_checksum_mode: bool = False):
        self.seen, self.refuse = [], refuse_checksum_mode

    def __call__(self, info):
        self.seen.append(info)
        if self.refuse and "x-amz-checksum-mode" in info.headers:
            from support.faultproxy import Fault

            return Fault("error", status=400, code="InvalidArgument", message="unknown header")
        return None

    def heads(self) -> list:
        return [info for info in self.seen if info.method == "HEAD"]


def test_a_plain_md5_decides_without_a_head(fault_proxy, client, conn, s3dir, tmp_path, payload):
    """Objects with a plain ETag, or baiji's own multipart uploads, cost no extra request."""
    put(client, s3dir + "plain", payload[SMALL], ChecksumAlgorithm="SHA256")
    (tmp_path / "up").write_bytes(payload[LARGE])
    conn.cp(str(tmp_path / "up"), s3dir + "baiji", max_size=5 * MiB)
    fault_proxy.proxy.handler = recorder = Recorder()
    for name in ("plain", "baiji"):
        fault_proxy.conn.cp(s3dir + name, str(tmp_path / name))
    assert recorder.heads() == []


def test_server_refusing_checksum_mode_is_asked_once(fault_proxy, client, s3dir, tmp_path, payload, server_kind):
    """A server that answers 400 to ``x-amz-checksum-mode``: the HEAD is sent again without it,
    the download goes on (its ETag checked where it can be), and it is never sent again."""
    upload("boto3-crc32", client, s3dir + "a", payload[SMALL], tmp_path, server_kind)
    upload("boto3-crc32", client, s3dir + "b", payload[SMALL], tmp_path, server_kind)
    fault_proxy.proxy.handler = recorder = Recorder(refuse_checksum_mode=True)
    for name in ("a", "b"):
        fault_proxy.conn.cp(s3dir + name, str(tmp_path / name))
        assert (tmp_path / name).read_bytes() == payload[SMALL]
    asked = [info for info in recorder.heads() if "x-amz-checksum-mode" in info.headers]
    assert len(asked) == 1 and len(recorder.heads()) > 1


def test_uploads_send_no_checksum_headers(fault_proxy, s3dir, tmp_path, payload):
    """S3-compatible stores broke on botocore 1.36's default checksums: baiji sends none, on any path."""
    (tmp_path / "small").write_bytes(payload[SMALL][:1000])
    (tmp_path / "large").write_bytes(payload[LARGE])
    fault_proxy.proxy.handler = recorder = Recorder()
    conn = fault_proxy.conn
    conn.cp(str(tmp_path / "small"), s3dir + "small")
    conn.cp(str(tmp_path / "large"), s3dir + "large", max_size=5 * MiB)
    conn.cp(str(tmp_path / "small"), s3dir + "acl", policy="public-read")        # boto3's PutObject
    conn.cp(str(tmp_path / "large"), s3dir + "acl-large", policy="public-read")  # boto3's multipart
    conn.cp(s3dir + "small", s3dir + "copy", metadata={"a": "b"})                # boto3's CopyObject
    writes = [info for info in recorder.seen if info.method in ("PUT", "POST")]
    assert len(writes) > 5
    for info in writes:
        sent = [name for name in info.headers if name.startswith(("x-amz-checksum", "x-amz-sdk-checksum",
                                                                  "x-amz-trailer"))]
        assert sent == [] and "aws-chunked" not in info.headers.get("content-encoding", ""), (info.op, sent)


def test_versioned_download_checks_that_version(fault_proxy, client, versioned_bucket, tmp_path, payload,
                                                server_kind):
    url = f"s3://{versioned_bucket}/obj"
    upload("boto3-crc64nvme", client, url, payload[SMALL], tmp_path, server_kind)
    first = head(client, url)["VersionId"]
    put(client, url, b"the second version")
    fault_proxy.proxy.handler = recorder = Recorder()
    fault_proxy.proxy.fail_always("corrupt", match="GetObject", offset=77)
    with pytest.raises(TransientError, match="CRC64NVME checksum"):
        fault_proxy.conn.cp(url, str(tmp_path / "got"), version_id=first)
    assert all(info.params.get("versionId") == first for info in recorder.heads())
    fault_proxy.proxy.clear()
    fault_proxy.conn.cp(url, str(tmp_path / "got"), version_id=first)
    assert (tmp_path / "got").read_bytes() == payload[SMALL]


def test_a_wrong_checksum_never_overrules_an_md5(monkeypatch, client, conn, s3dir, tmp_path, payload):
    """Stand-in: a server that stored a wrong checksum with the right content (both servers
    compute their own).  Where an MD5 proves the content, the download is kept."""
    put(client, s3dir + "obj", payload[SMALL])
    wrong = Checksum("CRC64NVME", "AAAAAAAAAAA=", FULL_OBJECT)
    real = s3_control.head_entry

    def lying(*args, **kwargs):
        entry = real(*args, **kwargs)
        entry.checksum = wrong
        return entry
    monkeypatch.setattr("baiji.stores.s3_reads.head_entry", lying)
    conn.cp(s3dir + "obj", str(tmp_path / "got"))
    assert (tmp_path / "got").read_bytes() == payload[SMALL]


# == comparing contents: s3 is, sync ======================================================

@pytest.mark.parametrize("flavour", ["boto3-crc64nvme", "awscli"])
def test_is_and_same_content_use_checksums(client, conn, s3dir, tmp_path, payload, server_kind, flavour):
    """Was: "files DO NOT match" for a foreign multipart object of an unknown part size.

    A CRC64NVME tells; the AWS CLI's composite CRC32 is too short to, but its ETag with
    the part size the server tells does."""
    data = payload[SMALL]
    upload(flavour, client, s3dir + "obj", data, tmp_path, server_kind)
    if flavour == "awscli":
        skip_without_part_numbers(client, s3dir + "obj", server_kind)
    (tmp_path / "same").write_bytes(data)
    (tmp_path / "other").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    out = io.StringIO()
    assert cli.main(["is", str(tmp_path / "same"), s3dir + "obj"], stdin=io.StringIO(), stdout=out,
                    stderr=io.StringIO()) == 0
    assert out.getvalue() == "files match\n"
    assert conn.same_content(s3dir + "obj", str(tmp_path / "same"))
    assert s3.same_content(str(tmp_path / "same"), s3dir + "obj")  # the module function too
    assert not conn.same_content(str(tmp_path / "other"), s3dir + "obj")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(S3Exception, match="fifo"):  # never opened: it would block for good
        conn.same_content(str(tmp_path / "fifo"), s3dir + "obj")


@pytest.mark.parametrize("direction", ["up", "s3-to-s3"])
def test_sync_keeps_an_equal_foreign_object(fault_proxy, client, s3dir, tmp_path, payload, server_kind,
                                            direction):
    """Was: copied again on every run (its ETag cannot be checked, and it has no baiji-md5).

    From a local file: a strong checksum decides, or the multipart ETag with the part size
    the server tells.  From S3, the source is uploaded in other parts (other ETags): only
    the same full-object checksum of 64 bits or more proves the same content (a CRC32 is
    too short to call two files the same; composite checksums of other parts differ)."""
    data = payload[SMALL]
    changed = data[:-1] + bytes([data[-1] ^ 1])
    for name, flavour in (("crc64", "boto3-crc64nvme"), ("sha256", "boto3-sha256"), ("changed", "boto3-crc64nvme"),
                          ("crc32", "crc32-full-object")):
        upload(flavour, client, s3dir + "dst/" + name, data, tmp_path, server_kind)
        content = changed if name == "changed" else data
        if direction == "up":
            (tmp_path / "src").mkdir(exist_ok=True)
            (tmp_path / "src" / name).write_bytes(content)
        else:
            upload(flavour, client, s3dir + "src/" + name, content, tmp_path, server_kind, part_size=ODD + 1)
    src = str(tmp_path / "src") if direction == "up" else s3dir + "src/"
    fault_proxy.proxy.handler = recorder = Recorder()
    fault_proxy.conn.sync(src, s3dir + "dst/")
    written = {info.key.rpartition("/")[2] for info in recorder.seen if info.method in ("PUT", "POST")}
    assert written == ({"changed"} if direction == "up" else {"changed", "crc32", "sha256"})
    assert get(client, s3dir + "dst/changed") == changed


# == attacks ===============================================================================

class ReplaceBeforeHead(Recorder):
    """Before the first HEAD with If-Match reaches the server, the object is replaced there."""

    def __init__(self, replace):
        super().__init__()
        self.replace = replace

    def __call__(self, info):
        if info.method == "HEAD" and "if-match" in info.headers and self.replace:
            self.replace()
            self.replace = None
        return super().__call__(info)


def test_object_replaced_before_its_head_starts_over(fault_proxy, client, s3dir, tmp_path, payload, server_kind):
    """The checksum asked for is the downloaded object's (If-Match): a replaced object's is refused
    (412) and the download starts over, never "already exists"."""
    upload("boto3-crc64nvme", client, s3dir + "obj", payload[SMALL], tmp_path, server_kind)
    new = payload[SMALL][::-1]
    fault_proxy.proxy.handler = recorder = ReplaceBeforeHead(
        lambda: upload("boto3-crc64nvme", client, s3dir + "obj", new, tmp_path, server_kind))
    fault_proxy.conn.cp(s3dir + "obj", str(tmp_path / "got"))
    assert (tmp_path / "got").read_bytes() == new
    assert [r.status for r in fault_proxy.proxy.history if r.op == "HeadObject"][0] == 412
    assert len([info for info in recorder.heads() if "if-match" in info.headers]) == 2


@pytest.mark.parametrize("key", ["sp ace/ü?#%+;=&.bin", pytest.param("a//b", marks=pytest.mark.moto_only(
    "SeaweedFS rewrites // in keys"))])
def test_odd_keys_are_headed_by_their_exact_name(fault_proxy, client, s3dir, tmp_path, payload, server_kind, key):
    """The HEAD is signed and sent for the key as it is (``a//b`` is downloaded by boto3)."""
    upload("boto3-crc32", client, s3dir + key, payload[SMALL], tmp_path, server_kind)
    fault_proxy.proxy.fail_next(1, "corrupt", match="GetObject", offset=5000)
    fault_proxy.conn.cp(s3dir + key, str(tmp_path / "got"))
    assert (tmp_path / "got").read_bytes() == payload[SMALL] and fault_proxy.proxy.faults == 1


def test_validate_false_asks_nothing(fault_proxy, client, s3dir, tmp_path, payload, server_kind):
    upload("boto3-crc64nvme", client, s3dir + "obj", payload[SMALL], tmp_path, server_kind)
    fault_proxy.proxy.handler = recorder = Recorder()
    fault_proxy.conn.cp(s3dir + "obj", str(tmp_path / "got"), validate=False)
    assert recorder.heads() == [] and (tmp_path / "got").read_bytes() == payload[SMALL]


def test_bulk_downloads_are_verified(fault_proxy, client, s3dir, tmp_path, payload, server_kind):
    """``cp -r`` on 32 threads: each thread's own HEADs, each object checked by its checksum."""
    names = [f"d/{n}" for n in range(4)]
    for name, flavour in zip(names, ("boto3-crc64nvme", "boto3-crc32", "crc32-full-object", "boto3-sha256")):
        upload(flavour, client, s3dir + name, payload[SMALL], tmp_path, server_kind)
    fault_proxy.proxy.fail_next(2, "corrupt", match="GetObject", offset=4321)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        fault_proxy.conn.cp_r(s3dir + "d/", str(tmp_path / "d"))
        gc.collect()
    assert [str(w.message) for w in caught if "socket" in str(w.message)] == []  # each thread's HEADs' socket
    assert {p.name: p.read_bytes() == payload[SMALL] for p in (tmp_path / "d").iterdir()} == {
        str(n): True for n in range(4)}
    assert fault_proxy.proxy.faults == 2


@pytest.mark.parametrize("fault, expected", [
    (dict(kind="internal_error"), ": 500: Internal Server Error"),
    (dict(kind="error", status=403, code="AccessDenied"), "Permission denied on "),
])
def test_a_failing_head_fails_the_download_in_one_line(fault_proxy, client, s3dir, tmp_path, payload,
                                                       server_kind, monkeypatch, fault, expected):
    """The HEAD is retried like a listing; then one line naming the key, and no file."""
    monkeypatch.setattr("baiji.stores.listing._backoff", lambda attempt: 0)
    upload("boto3-crc64nvme", client, s3dir + "obj", payload[SMALL], tmp_path, server_kind)
    kind, params = fault["kind"], {k: v for k, v in fault.items() if k != "kind"}
    fault_proxy.proxy.fail_always(kind, match=lambda info: info.method == "HEAD", **params)
    with pytest.raises(S3Exception) as info:
        fault_proxy.conn.cp(s3dir + "obj", str(tmp_path / "got"))
    assert expected in str(info.value) and s3dir + "obj" in str(info.value) and one_line(str(info.value))
    assert not (tmp_path / "got").exists() and baiji_temps(tmp_path) == []


@pytest.mark.parametrize("sse, is_md5", [(None, True), ("AES256", True), ("aws:kms", False), ("aws:kms:dsse", False)])
def test_which_etags_are_md5s(sse, is_md5):
    """Stand-in (no test server does KMS): a DSSE-KMS ETag is no MD5 either; its downloads were
    refused as corrupt, now they are checked against the object's checksum."""
    fields = {"etag": '"abc"', "content-length": "3", **({"x-amz-server-side-encryption": sse} if sse else {})}
    assert s3_control.head_entry("s3://b/k", fields).etag_is_md5 is is_md5
    assert s3_control.etag_is_md5({"ServerSideEncryption": sse}) is is_md5
