"""Holes a second hostile tester found after issue 9 and tests/test_attack.py.

Each test states the rule it checks; setup and checks go through raw boto3
and plain files, never through baiji itself.
"""

from __future__ import annotations

import os
import uuid

import pytest

import servers
from helpers import get, keys_under, put
from test_cli import run
from test_sync import fill, tree


@pytest.fixture
def other_bucket(client):
    name = f"baiji-attack2-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=name)
    yield name
    try:
        servers.delete_bucket(client, name)
    except Exception:
        pass


# -- a bucket's root as one side of a sync ---------------------------------------------------

def test_sync_to_a_bucket_root_without_slash_keeps_the_files(conn, client, bucket, tmp_path):
    """``s3 sync dir s3://b`` (no trailing slash): the destination's listing was taken with
    the prefix ``s3://b``, so every key came out as ``/a``: nothing matched the source's
    ``a``, every file was copied again and then "the extra" ``/a`` (the very key just
    written) deleted.  The second run of the same command emptied the bucket, exit 0."""
    fill(client, str(tmp_path / "src") + "/", {"a.txt": b"a", "sub/b.txt": b"b"})
    for _ in range(2):
        status, _, err = run("sync", tmp_path / "src", f"s3://{bucket}")
        assert status == 0, err
        assert tree(client, f"s3://{bucket}/") == {"a.txt": b"a", "sub/b.txt": b"b"}


def test_sync_from_a_bucket_root_without_slash(conn, client, bucket, other_bucket, tmp_path):
    """``s3 sync s3://b DIR`` refused every key as an "absolute path in key" (exit 1, nothing
    copied); ``s3 sync s3://b s3://c/`` wrote ``c//a`` (exit 0); ``s3 sync s3://b/ s3://c``
    then deleted everything in ``c``, exit 0.  ``s3://b`` and ``s3://b/`` are the same
    place: the whole bucket."""
    put(client, f"s3://{bucket}/a.txt", b"a")
    put(client, f"s3://{bucket}/sub/b.txt", b"b")
    want = {"a.txt": b"a", "sub/b.txt": b"b"}
    status, _, err = run("sync", f"s3://{bucket}", tmp_path / "out")
    assert status == 0, err
    assert tree(client, str(tmp_path / "out")) == want
    for src, dst in [(f"s3://{bucket}", f"s3://{other_bucket}/"), (f"s3://{bucket}/", f"s3://{other_bucket}"),
                     (f"s3://{bucket}", f"s3://{other_bucket}")]:
        status, _, err = run("sync", src, dst)
        assert status == 0, err
        assert tree(client, f"s3://{other_bucket}/") == want, (src, dst)
