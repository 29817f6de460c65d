"""The virtual buckets of ``support/virtual_bucket.py``: boto3 (the oracle), s5cmd, rclone
and baiji's own lister see the keys the formula says, and a no-op sync stays one.

These use the ``virtual_s3`` server only, never the session's S3 server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request

import pytest
from botocore.exceptions import ClientError

from support import servers
from support.virtual_bucket import LAST_MODIFIED, body, etag, key, keys, size

TIMEOUT = 120
N = 2500
ALL = keys(N)


@pytest.fixture(scope="module")
def vs3(virtual_s3):
    """A boto3 client of the virtual buckets."""
    return servers.make_client(virtual_s3.endpoint_url, "test", "test")


@pytest.fixture
def env(tmp_path):
    """The environment of a peer command: fake credentials, no user configuration."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    return {**clean, "HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "RCLONE_CONFIG": str(tmp_path / "rclone.conf")}


def reference(prefix: str = "", delimiter: str = "", after: str = "") -> tuple[list[str], list[str]]:
    """``(keys, common prefixes)`` of a listing of ``ALL``, computed the plain way."""
    found, prefixes = [], {}
    for k in ALL:
        if k.startswith(prefix) and k > after:
            cut = k.find(delimiter, len(prefix)) if delimiter else -1
            if cut < 0:
                found.append(k)
            else:
                prefixes[k[:cut + len(delimiter)]] = None
    return found, list(prefixes)


def listing(vs3, version: int = 2, **kwargs) -> tuple[list[str], list[str], list[dict]]:
    """``(keys, common prefixes, pages)`` of a paginated listing of ``v2500``."""
    pages = list(vs3.get_paginator("list_objects_v2" if version == 2 else "list_objects").paginate(
        Bucket=f"v{N}", **kwargs))
    return ([o["Key"] for p in pages for o in p.get("Contents", [])],
            [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])], pages)


def test_the_formula():
    assert key(0) == "000/00/00000000.dat" and key(123_456_78) == "123/45/12345678.dat"
    assert ALL == sorted(ALL, key=str.encode) and len(set(ALL)) == N
    assert len(body(1999)) == size(1999) == 999 and body(1000) == b""


def test_full_listing_is_the_formula(vs3):
    pages = list(vs3.get_paginator("list_objects_v2").paginate(Bucket=f"v{N}-a"))
    objects = [o for p in pages for o in p["Contents"]]
    assert [(o["Key"], o["Size"], o["ETag"]) for o in objects] == [(key(i), size(i), etag(i)) for i in range(N)]
    assert {o["LastModified"].isoformat() for o in objects} == {"2026-01-01T00:00:00+00:00"}
    assert LAST_MODIFIED.startswith("2026-01-01T00:00:00")
    assert [p["KeyCount"] for p in pages] == [1000, 1000, 500]


@pytest.mark.parametrize("prefix", ["", "000/", "000/01/", "000/01/000012", "000/9", "nothing/"])
def test_delimiter_and_prefix(vs3, prefix):
    found, prefixes, _ = listing(vs3, Prefix=prefix, Delimiter="/")
    assert (found, prefixes) == reference(prefix, "/")
    assert listing(vs3, Prefix=prefix)[0] == reference(prefix)[0]


def test_other_delimiter_and_small_pages(vs3):
    found, prefixes, pages = listing(vs3, Delimiter="1", PaginationConfig={"PageSize": 7})
    assert (found, prefixes) == reference(delimiter="1")
    assert {p["KeyCount"] for p in pages[:-1]} == {7}


@pytest.mark.parametrize("after", ["000/01/00001499.dat", "000/01/", "000/01/0000149", "zzz"])
def test_start_after(vs3, after):
    assert listing(vs3, StartAfter=after)[0] == reference(after=after)[0]


def test_small_pages(vs3):
    found, _, pages = listing(vs3, Prefix="000/00/", PaginationConfig={"PageSize": 9})
    assert found == reference("000/00/")[0] and len(pages) == 112
    assert all(p["MaxKeys"] == 9 and p["IsTruncated"] for p in pages[:-1]) and not pages[-1]["IsTruncated"]


def test_v1_listing(vs3):
    assert listing(vs3, 1)[0] == ALL
    assert listing(vs3, 1, Marker="000/01/00001499.dat")[0] == reference(after="000/01/00001499.dat")[0]
    # a delimiter: NextMarker is the last common prefix, whose keys the next page skips
    found, prefixes, pages = listing(vs3, 1, Prefix="000/", Delimiter="/", PaginationConfig={"PageSize": 1})
    assert (found, prefixes) == reference("000/", "/")
    assert [p.get("NextMarker") for p in pages] == ["000/00/", "000/01/", None]


def test_objects(vs3):
    got = vs3.get_object(Bucket="v5000-x", Key=key(4321))
    assert got["Body"].read() == body(4321) and got["ETag"] == etag(4321) and got["ContentLength"] == 321
    head = vs3.head_object(Bucket="v5000", Key=key(999))
    assert (head["ContentLength"], head["ETag"]) == (999, etag(999))
    assert vs3.head_object(Bucket="v5000", Key=key(0))["ContentLength"] == 0


def test_missing_and_refused(vs3, virtual_s3):
    def code(call, **kwargs):
        with pytest.raises(ClientError) as err:
            call(**kwargs)
        return err.value.response["Error"]["Code"]

    assert vs3.get_bucket_location(Bucket="v5")["LocationConstraint"] is None
    vs3.head_bucket(Bucket="v5")
    assert code(vs3.head_bucket, Bucket="data") == "404"
    assert code(vs3.list_objects_v2, Bucket="data") == "NoSuchBucket"
    assert code(vs3.get_object, Bucket="v5", Key=key(5)) == "NoSuchKey"
    assert code(vs3.put_object, Bucket="v5", Key="k", Body=b"x") == "NotImplemented"
    assert code(vs3.delete_object, Bucket="v5", Key=key(1)) == "NotImplemented"
    assert code(vs3.list_object_versions, Bucket="v5") == "NotImplemented"
    assert code(vs3.get_bucket_acl, Bucket="v5") == "NotImplemented"
    assert code(vs3.get_object_tagging, Bucket="v5", Key=key(1)) == "NotImplemented"
    assert virtual_s3.requests["Refused"] >= 5


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def peer(name: str) -> str:
    try:
        return servers.find_executable(name)
    except FileNotFoundError:
        pytest.skip(f"{name} is not installed")


@pytest.mark.parametrize("flags, op", [([], "ListObjectsV2"), (["--use-list-objects-v1"], "ListObjects")])
def test_s5cmd_lists(virtual_s3, env, flags, op):
    before = virtual_s3.requests.copy()
    out = run([peer("s5cmd"), "--endpoint-url", virtual_s3.endpoint_url, *flags, "ls", "s3://v5000/*"], env).stdout
    assert [line.split()[-1] for line in out.splitlines()] == keys(5000)
    assert [int(line.split()[-2]) for line in out.splitlines()] == [size(i) for i in range(5000)]
    assert virtual_s3.requests - before == {op: 5}


@pytest.mark.parametrize("version, op", [("1", "ListObjects"), ("2", "ListObjectsV2")])
def test_rclone_lists(virtual_s3, env, version, op):
    before = virtual_s3.requests.copy()
    out = run([peer("rclone"), "--s3-provider", "Other", "--s3-endpoint", virtual_s3.endpoint_url,
               "--s3-env-auth", "--s3-region", "us-east-1", "--s3-list-version", version,
               "lsf", "-R", "--files-only", "--format", "ps", ":s3:v5000/"], env).stdout
    assert out.splitlines() == [f"{key(i)};{size(i)}" for i in range(5000)]
    assert set(virtual_s3.requests - before) == {op}


def baiji(virtual_s3, env, *args: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "baiji", "--endpoint-url", virtual_s3.endpoint_url, *args], env)


def test_baiji_lists(virtual_s3, env):
    assert baiji(virtual_s3, env, "ls", "s3://v5000/").stdout.splitlines() == [f"s3://v5000/{k}" for k in keys(5000)]
    shallow = baiji(virtual_s3, env, "ls", "--shallow", "s3://v5000/000/").stdout.splitlines()
    assert shallow == ["s3://v5000/000/00/", "s3://v5000/000/01/", "s3://v5000/000/02/", "s3://v5000/000/03/",
                       "s3://v5000/000/04/"]


def test_baiji_no_op_sync(virtual_s3, env, tmp_path):
    before = virtual_s3.requests.copy()
    done = baiji(virtual_s3, env, "sync", "s3://v20000-a/", "s3://v20000-b/")
    assert done.stdout == ""
    made = virtual_s3.requests - before
    assert set(made) <= {"ListObjectsV2", "HeadBucket", "GetBucketLocation"}, made
    listed = baiji(virtual_s3, env, "ls", "s3://v20000-b/").stdout.splitlines()
    assert listed == [f"s3://v20000-b/{k}" for k in keys(20_000)]
    baiji(virtual_s3, env, "cp", f"s3://v20000-a/{key(777)}", str(tmp_path / "one"))
    assert (tmp_path / "one").read_bytes() == body(777)


def test_standalone():
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.virtual_bucket", "--port", "0"],
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        client = servers.make_client(url, "test", "test")
        assert client.list_objects_v2(Bucket="v3")["KeyCount"] == 3
        for _ in range(2):  # the counts so far, not counting themselves
            with urllib.request.urlopen(f"{url}/?stats", timeout=TIMEOUT) as answer:
                assert json.load(answer) == {"ListObjectsV2": 1}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(TIMEOUT) == 0
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
