"""Never lose data, part 3 (issue 17), items 4, 5, 7, 8, 9 and 10, on both servers.

- 4: a key XML 1.0 cannot carry (``p/b\\x01.txt``, ``p/c\\ufffe.txt``) no longer
  blocks the DeleteObjects batch it is in: it is deleted on its own
  (``rm -r -f``, ``sync``, ``rm``, ``buckets --delete -f``).
- 5: a dry run refuses what the real run refuses: a local name that is no
  S3 key (not UTF-8), so it exits 1 and deletes nothing.
- 7: an s3 -> s3 copy of a multipart object of another tool records the
  source's ETag (``baiji-source-etag``), and the next ``sync`` copies nothing.
- 8: ``cp`` of a key or file onto itself raises ``SameFile``, both a
  ``KeyExists`` (as the original) and a ``ValueError``.
- 9: ``open(directory, 'w')`` has the system's ``strerror``.
- 10: a corrupt download is one ``s3: error:`` line; ``s3 buckets --delete -f NAME``.
"""

from __future__ import annotations

import errno
import os
import pickle
import subprocess
import uuid

import pytest

import servers
from baiji.connection import BulkCopyError
from baiji.exceptions import KeyExists
from helpers import PYTHON_M_BAIJI, RequestCounter, head, keys_under, put, split, tree
from test_cli import assert_failed, lines, run

#: Keys that XML 1.0 cannot carry: a control character, a noncharacter (obstore's own key).
NOT_XML = ["p/b\x01.txt", "p/c\ufffe.txt"]
MiB = 1 << 20


def _put_odd_tree(client, s3dir: str) -> list[str]:
    """Plain keys around the keys of NOT_XML, all under ``s3dir``; their names, sorted."""
    names = sorted(["p/a.txt", *NOT_XML, "p/d.txt"])
    for name in names:
        put(client, s3dir + name, b"x")
    return names


# == 9: open(directory, 'w') ============================================================

@pytest.mark.parametrize("mode", ["w", "wb", "x", "r"])
def test_open_a_directory_has_the_systems_strerror(conn, tmp_path, mode):
    with pytest.raises(IsADirectoryError) as info:
        conn.open(str(tmp_path), mode)
    assert (info.value.errno, info.value.strerror) == (errno.EISDIR, os.strerror(errno.EISDIR))
    assert info.value.filename == str(tmp_path)
