"""Helpers shared by the test modules (``from support.helpers import ...``; pytest.ini puts tests/ on the path).

The s3 helpers talk to the server through a raw boto3 ``client`` (the
``client`` fixture), so they set up and check objects independently of baiji.
"""

from __future__ import annotations

import collections
import os
import sys
import uuid

#: The S3 operations that write (``RequestCounter.writes()``), as ``faultproxy`` names them.
WRITES = ("PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "UploadPartCopy",
          "CompleteMultipartUpload", "AbortMultipartUpload", "DeleteObject", "DeleteObjects",
          "PutObjectAcl", "PutObjectTagging")


# -- s3, through the raw client ----------------------------------------------------------

def split(url: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> ``("bucket", "a/b")``."""
    bucket, _, key = url[len("s3://"):].partition("/")
    return bucket, key


def put(client, url: str, body: bytes = b"x", **kwargs) -> dict:
    """Write ``body`` at ``url``; ``kwargs`` go to ``put_object``, whose response is returned."""
    bucket, key = split(url)
    return client.put_object(Bucket=bucket, Key=key, Body=body, **kwargs)


def get(client, url: str, **kwargs) -> bytes:
    """The content of ``url`` (``kwargs`` such as ``VersionId`` go to ``get_object``)."""
    bucket, key = split(url)
    return client.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()


def head(client, url: str, **kwargs) -> dict:
    """``head_object`` of ``url``."""
    bucket, key = split(url)
    return client.head_object(Bucket=bucket, Key=key, **kwargs)


def key_exists(client, url: str, **kwargs) -> bool:
    """Whether ``head_object`` finds ``url`` (404: False; any other error is raised)."""
    try:
        head(client, url, **kwargs)
    except client.exceptions.ClientError as err:
        if err.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return False
        raise
    return True


def keys_under(client, url: str) -> list[str]:
    """The keys below the prefix ``url``, relative to it, sorted."""
    bucket, prefix = split(url)
    out = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out += [o["Key"][len(prefix):] for o in page.get("Contents", [])]
    return sorted(out)


def s3_tree(client, url: str) -> dict[str, bytes]:
    """``{relative key: content}`` of every object below the prefix ``url``."""
    return {rel: get(client, url + rel) for rel in keys_under(client, url)}


def missing_bucket() -> str:
    """The name of a bucket that does not exist."""
    return "baiji-nosuch-" + uuid.uuid4().hex[:12]


def missing_urls(s3dir: str, tmp_path) -> list[str]:
    """A missing key, a missing local file and a key in a missing bucket."""
    return [s3dir + "missing", str(tmp_path / "missing"), f"s3://{missing_bucket()}/key"]


def other_version_id(version_id: str) -> str:
    """A well-formed version id differing from ``version_id`` in its last character."""
    last = version_id[-1]
    if last.isdigit():
        return version_id[:-1] + ("0" if last != "0" else "1")
    return version_id[:-1] + ("a" if last != "a" else "b")


class RequestCounter:
    """Counts the requests that reach a fault proxy during a ``with`` block.

    ``proxy`` is a ``faultproxy.FaultProxy`` or the ``fault_proxy`` fixture
    (its ``.proxy`` is used); point the code under test at it (``fault_proxy.conn``,
    or ``endpoint_url=fault_proxy.endpoint_url``).  Every request is seen,
    whichever HTTP client sends it (boto3, obstore, baiji's lister)::

        with RequestCounter(fault_proxy) as counter:
            conn.sync(src, dst)
        assert counter.writes() == 0 and counter["GetObject"] == 0

    ``counter[op]`` / ``counts[op]`` is how many requests of the S3 operation
    ``op`` (as the proxy guesses it: ``PutObject``, ``HeadObject``, ...) were
    sent, ``ops`` their operations in order, ``records`` the proxy's
    :class:`faultproxy.Record` s.  Read them after the block.
    """

    def __init__(self, proxy):
        self.proxy = getattr(proxy, "proxy", proxy)
        self.records: list = []
        self._after: int | None = None

    def __enter__(self):
        self._after = max((r.n for r in self.proxy.records()), default=0)
        self.records = []
        return self

    def __exit__(self, *exc):
        self.records = self.proxy.records(self._after)

    @property
    def ops(self) -> list[str]:
        return [r.op for r in self.records]

    @property
    def counts(self) -> collections.Counter:
        return collections.Counter(self.ops)

    def __getitem__(self, op: str) -> int:
        return self.counts[op]

    def writes(self) -> int:
        """How many writing requests (``WRITES``) were sent."""
        return sum(self.counts[op] for op in WRITES)

    def __repr__(self) -> str:
        return f"<RequestCounter {dict(self.counts)}>"


# -- local files -------------------------------------------------------------------------

def tree(directory, empty_dirs: bool = False) -> dict[str, bytes]:
    """``{relative path with '/': content}`` of every file below ``directory``.

    With ``empty_dirs``, every empty directory below it is there too, as ``"rel/": b""``.
    """
    result = {}
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in filenames:
            full = os.path.join(dirpath, name)
            with open(full, "rb") as f:
                result[os.path.relpath(full, directory).replace(os.sep, "/")] = f.read()
        for name in dirnames if empty_dirs else ():
            full = os.path.join(dirpath, name)
            if not os.listdir(full):
                result[os.path.relpath(full, directory).replace(os.sep, "/") + "/"] = b""
    return result


def write_tree(directory, files: dict[str, bytes]) -> None:
    """Write ``{relative path with '/': content}`` below ``directory``, making directories."""
    for rel, data in files.items():
        path = os.path.join(directory, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


# -- messages ----------------------------------------------------------------------------

def one_line(text: str) -> bool:
    """Whether ``text`` is one non-empty line (surrounding white space aside, no CR anywhere)."""
    stripped = text.strip()
    return bool(stripped) and stripped.splitlines() == [stripped] and "\r" not in text


# -- either place ------------------------------------------------------------------------

def write_url(client, url: str, data: bytes) -> None:
    """Write ``data`` at an s3 URL (through ``client``) or a local path (parents created)."""
    if url.startswith("s3://"):
        put(client, url, data)
    else:
        os.makedirs(os.path.dirname(url), exist_ok=True)
        with open(url, "wb") as f:
            f.write(data)


# -- permissions --------------------------------------------------------------------------

#: ``python -m baiji`` of the interpreter running the tests.
PYTHON_M_BAIJI = (sys.executable, "-m", "baiji")


def without_root_override(argv) -> list[str]:
    """``argv`` run so that file permissions apply even when the tests run as root.

    Root reads and writes through any mode bits (CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH); ``setpriv`` drops both from the bounding set, so the
    program started sees ``chmod 000`` the way a normal user does.
    """
    argv = [str(a) for a in argv]
    if os.geteuid() != 0:
        return argv
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *argv]
