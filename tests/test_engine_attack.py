"""Holes found by attacking the obstore data plane (``baiji/stores/s3_engine.py``).

Each test states what the boto3-based baiji (and SPEC) did and what the
engine did instead; checks go through raw boto3 (``client``) and plain files.
"""

from __future__ import annotations

import os

import pytest

from baiji.exceptions import S3Exception
from helpers import get, head, put


# -- user metadata whose name obstore takes for a header ------------------------------------

@pytest.mark.parametrize("name", ["contenttype", "ContentType", "cachecontrol", "CacheControl",
                                  "contentlanguage", "contentencoding", "contentdisposition",
                                  "storageclass"])
@pytest.mark.parametrize("how", ["upload", "put_string", "multipart"])
def test_metadata_named_like_a_header_without_dash_stays_metadata(conn, client, s3dir, tmp_path, name, how):
    """obstore also reads ``contenttype``, ``cachecontrol``, ``storageclass``... (no dash, any
    case) as its header attributes.  HEADER_ATTRIBUTES only knew the dashed names, so
    ``metadata={'cachecontrol': 'x'}`` became a Cache-Control header, ``contenttype`` and
    ``contentlanguage`` were silently dropped (the Content-Type baiji sets won), and
    ``storageclass`` failed with InvalidStorageClass.  boto3 stored them as x-amz-meta-*."""
    url = s3dir + "k.bin"
    if how == "put_string":
        conn.put_string(url, "x")  # put_string takes no metadata: copy with it instead
        conn.cp(url, s3dir + "k2.bin", metadata={name: "v1"})
        url = s3dir + "k2.bin"
    else:
        src = tmp_path / "src.bin"
        src.write_bytes(os.urandom(6 * 1024 * 1024) if how == "multipart" else b"hello")
        conn.cp(str(src), url, metadata={name: "v1"},
                **({"max_size": 5 * 1024 * 1024} if how == "multipart" else {}))
    h = head(client, url)
    assert h["Metadata"].get(name.lower()) == "v1", h["Metadata"]
    assert h["ContentType"] == "application/octet-stream"
    assert not h.get("CacheControl") and not h.get("ContentLanguage")


@pytest.mark.parametrize("metadata", [{"n": "caf\u00e9"}, {"caf\u00e9": "v"}], ids=["value", "name"])
def test_non_ascii_metadata_is_refused_not_mangled(conn, client, s3dir, tmp_path, metadata):
    """boto3 refuses non-ASCII metadata ("S3 metadata can only contain ASCII characters"):
    baiji raised S3Exception and wrote nothing.  The engine sent the raw UTF-8 bytes:
    moto stored ``cafÃ©`` (mojibake, read back that way by baiji's own ``info``), and on
    AWS such a header breaks the signature.  It must be refused as before, nothing written."""
    src = tmp_path / "src.txt"
    src.write_bytes(b"hello")
    with pytest.raises(S3Exception):
        conn.cp(str(src), s3dir + "k", metadata=metadata)
    assert "Contents" not in client.list_objects_v2(Bucket=s3dir[5:].split("/")[0])
