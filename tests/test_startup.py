"""Start-up cost of the ``s3`` command, guarded without timing anything.

``s3`` is a one-shot command, so every module its import path loads is paid
on every run.  Each test starts a fresh interpreter (``-I -S``: no
site-packages, whose ``.pth`` files, an editable install's finder among
them, would import modules such as ``urllib.parse`` before baiji does and
hide ours), does what a command does first, and lists the modules that
came with it.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import pytest

import baiji

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(baiji.__file__)))

#: Third-party modules (and what a command reaching S3 loads) that neither
#: ``import baiji.cli`` nor the commands that never reach S3 may load.
REMOTE = ("boto3", "botocore", "s3transfer", "urllib3", "obstore", "tqdm", "dask", "distributed",
          "baiji.connection", "baiji.stores", "baiji.config")

#: Standard modules the CLI and baiji's pure modules import only where they are used,
#: with what each costs alone at start-up (milliseconds, measured on Python 3.11).
DEFERRED = {
    "logging": 5,  # only -v
    "json": 1,
    "datetime": 1,
    "traceback": 2,  # only -v
    "dataclasses": 5,  # with inspect
    "inspect": 4,
    "typing": 2,
    "uuid": 3,  # it imports platform
    "socket": 3,
    "tempfile": 2,
    "hashlib": 3,
}


@functools.lru_cache(maxsize=None)
def _loaded(code: str, site: bool = False) -> frozenset[str]:
    """The modules a fresh interpreter loads running ``code`` (baiji found at ROOT);
    ``site``: with site-packages, for code that needs the dependencies."""
    script = (f"import sys; sys.path.insert(0, {ROOT!r}); before = set(sys.modules)\n"
              f"{code}\n"
              "print(' '.join(set(sys.modules) - before))")
    flags = ["-I"] if site else ["-I", "-S"]
    done = subprocess.run([sys.executable, *flags, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return frozenset(done.stdout.split())


def _heavy(loaded: frozenset[str], names) -> list[str]:
    return sorted(m for m in loaded if m.split(".")[0] in names or m in names)


QUIET = "import contextlib, io\nwith contextlib.redirect_stdout(io.StringIO()):\n    main({argv!r})"


@pytest.mark.parametrize("code", [
    "import baiji.cli",
    "from baiji.cli import main\n" + QUIET.format(argv=["--version"]),
    "from baiji.cli import main\n" + QUIET.format(argv=["version"]),
    "from baiji.cli import main\n" + QUIET.format(argv=["ls", "-h"]),
], ids=["import", "--version", "version", "ls -h"])
def test_cli_start_up_imports_nothing_heavy(code):
    loaded = _loaded(code)
    assert "baiji.cli" in loaded  # the check ran
    assert _heavy(loaded, REMOTE) == []
    assert _heavy(loaded, DEFERRED) == []


def test_pure_modules_import_nothing_heavy():
    loaded = _loaded("import baiji.path, baiji.exceptions, baiji.progress, baiji.integrity, baiji.tempfiles")
    assert "baiji.tempfiles" in loaded
    assert _heavy(loaded, REMOTE) == []
    assert _heavy(loaded, DEFERRED) == []


def test_bulk_commands_load_no_dask_unless_a_cluster_is_named(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_bytes(b"a")
    loaded = _loaded("from baiji.cli import main\n" + QUIET.format(
        argv=["cp", "-r", str(tmp_path / "src"), str(tmp_path / "dst")]), site=True)
    assert "baiji.cli.cluster" in loaded and (tmp_path / "dst" / "src" / "a.txt").exists()
    assert _heavy(loaded, {"dask", "distributed"}) == []


def test_s3_module_functions_keep_their_signatures_without_inspect_at_import():
    import inspect

    from baiji import s3
    from baiji.connection import S3Connection

    for name in s3.OPERATIONS:
        method = inspect.signature(getattr(S3Connection, name))
        expected = method.replace(parameters=list(method.parameters.values())[1:])
        assert inspect.signature(getattr(s3, name)) == expected, name
        assert getattr(s3, name).__doc__ == getattr(S3Connection, name).__doc__


#: What ``import baiji.connection`` must not load: the control plane (boto3 and what comes
#: with it) and the data plane (obstore) are imported only by the first request that needs
#: them, so ``s3 ls`` (baiji's own lister) never pays for them.
CONNECTION_NEVER_LOADS = ("boto3", "botocore", "s3transfer", "urllib3", "obstore",
                          "dataclasses", "inspect", "uuid", "dask", "distributed")

#: What a command that reaches S3 still loads when it imports the connection, and which
#: file imports it at module level (strict xfails: each one that passes is done; move it
#: to CONNECTION_NEVER_LOADS).
STILL_LOADED = {
    "logging": "baiji/stores/s3.py (and concurrent.futures)",
    "hashlib": "baiji/stores/s3.py, baiji/stores/listing.py",
    "socket": "baiji/stores/listing.py, and baiji/util/parallel.py through multiprocessing",
    "tempfile": "baiji/util/parallel.py, through multiprocessing",
    "multiprocessing": "baiji/util/parallel.py",
    "concurrent": "baiji/stores/s3.py, baiji/util/parallel.py",
    "typing": "baiji/connection.py, baiji/stores/*, baiji/util/parallel.py",
}


@pytest.mark.parametrize("module", [
    *CONNECTION_NEVER_LOADS,
    *(pytest.param(module, marks=pytest.mark.xfail(reason=f"imported by {where}"))
      for module, where in STILL_LOADED.items())])
def test_connection_import_does_not_load(module):
    loaded = _loaded("import baiji.connection", site=True)
    assert "baiji.connection" in loaded
    assert _heavy(loaded, {module}) == []
