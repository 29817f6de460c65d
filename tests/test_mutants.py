"""Tests that bite: each kills mutants that a mutation run (mutmut, README "Development")
found alive in the modules that guard data.  The rule each checks is stated; the
mutant it kills is named in a comment where the link is not obvious.
"""

from __future__ import annotations

import os

import pytest

from baiji.exceptions import KeyExists, KeyNotFound
from baiji.stores import LocalStore, WriteOptions
from helpers import head



def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK_MODE = 0o666 & ~_umask()


# -- the local store ------------------------------------------------------------------------

def test_local_exclusive_write_creates_the_file_with_its_content_and_mode(conn, tmp_path):
    target = tmp_path / "new" / "k.txt"
    conn.put_string(str(target), "first", replace=False)
    assert target.read_bytes() == b"first"
    assert target.stat().st_mode & 0o777 == _UMASK_MODE  # os.open(..., 0o666) kept


def test_local_exclusive_write_keeps_an_existing_file(conn, tmp_path):
    target = tmp_path / "k.txt"
    target.write_bytes(b"theirs")
    assert LocalStore().write_bytes(str(target), b"mine", WriteOptions(exclusive=True)) is False
    assert target.read_bytes() == b"theirs"


@pytest.mark.parametrize("exclusive", [False, True])
def test_local_write_bytes_says_it_wrote(tmp_path, exclusive):
    target = tmp_path / "k.txt"
    assert LocalStore().write_bytes(str(target), b"x", WriteOptions(exclusive=exclusive)) is True
    assert target.read_bytes() == b"x"


def test_local_exclusive_write_errors_name_the_path(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    target = tmp_path / "file" / "k.txt"  # a file where a directory must go
    with pytest.raises(Exception) as info:
        LocalStore().write_bytes(str(target), b"x", WriteOptions(exclusive=True))
    assert str(tmp_path / "file") in str(info.value)


def test_local_read_of_a_missing_file_names_it(conn, tmp_path):
    missing = str(tmp_path / "missing.txt")
    with pytest.raises(KeyNotFound, match="missing.txt"):
        conn.get_string(missing)


def test_local_exclusive_copy_names_the_existing_destination(tmp_path):
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    with pytest.raises(KeyExists, match=f"{tmp_path / 'b'} already exists"):
        LocalStore().copy(str(tmp_path / "a"), str(tmp_path / "b"), WriteOptions(exclusive=True))
    assert (tmp_path / "b").read_bytes() == b"b"


# -- rm_r never removes a '.' or '..' directory ----------------------------------------------

@pytest.mark.parametrize("spelling", ["a/b/..", "a/b/../", "a/.", "a/./"])
def test_rm_r_refuses_dot_and_dotdot_spellings_away_from_the_cwd(conn, tmp_path, monkeypatch, spelling):
    """``a/b/..`` is ``a``, which does not hold the cwd: only the '.'/'..' rule stops it."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "keep.txt").write_bytes(b"k")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    with pytest.raises(ValueError, match="'.' or '..'"):
        conn.rm_r(str(tmp_path) + "/" + spelling, force=True, quiet=True)
    assert (tmp_path / "a" / "keep.txt").read_bytes() == b"k"


# -- touch on s3 -----------------------------------------------------------------------------

def test_touch_s3_writes_the_default_content_type(conn, client, s3dir):
    conn.touch(s3dir + "marker")
    assert head(client, s3dir + "marker")["ContentType"] == "application/octet-stream"
