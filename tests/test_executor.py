"""The bulk runner beyond one machine: ``executor=`` with a real Dask LocalCluster.

The cluster's workers are separate processes that receive plain data
(connection settings and chunks of pairs), build their own connection and
send results back, exactly as remote machines of a cluster would.
"""

from __future__ import annotations

import concurrent.futures

import pytest

from baiji.connection import BulkCopyError

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_executor():
    """A two-worker, process-based Dask LocalCluster's Executor (one per module)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", host="127.0.0.1") as cluster, \
            distributed.Client(cluster) as client:
        yield client.get_executor()


def _tree(root, count):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (root / f"f{i:03d}.txt").write_bytes(f"file {i}\n".encode() * 10)
    return root


def test_cp_r_over_a_dask_cluster(conn, s3dir, tmp_path, dask_executor):
    src = _tree(tmp_path / "src", 40)
    conn.cp_r(f"{src}/", s3dir + "up/", executor=dask_executor)
    assert sorted(conn.ls(s3dir + "up/", return_full_urls=True)) == [
        f"{s3dir}up/f{i:03d}.txt" for i in range(40)]
    conn.cp_r(s3dir + "up/", s3dir + "copy/", executor=dask_executor)
    conn.cp_r(s3dir + "copy/", f"{tmp_path}/down/", executor=dask_executor)
    for i in range(40):
        assert (tmp_path / "down" / f"f{i:03d}.txt").read_bytes() == (src / f"f{i:03d}.txt").read_bytes()


def test_sync_over_a_dask_cluster(conn, s3dir, tmp_path, dask_executor):
    src = _tree(tmp_path / "src", 25)
    conn.sync(str(src), s3dir + "mirror/", executor=dask_executor)
    (src / "f000.txt").write_bytes(b"changed")
    (src / "f001.txt").unlink()
    conn.sync(str(src), s3dir + "mirror/", executor=dask_executor)
    assert conn.get_string(s3dir + "mirror/f000.txt") == "changed"
    assert not conn.exists(s3dir + "mirror/f001.txt")
    assert len(list(conn.ls(s3dir + "mirror/"))) == 24


def test_failures_come_back_from_the_cluster(conn, s3dir, tmp_path, dask_executor):
    pairs = [(str(tmp_path / "missing.txt"), s3dir + "never"),
             (str(_tree(tmp_path / "ok", 1) / "f000.txt"), s3dir + "ok")]
    with pytest.raises(BulkCopyError) as err:
        conn.cp_many(pairs, executor=dask_executor)
    assert [src for src, _, _ in err.value.failures] == [str(tmp_path / "missing.txt")]
    assert conn.exists(s3dir + "ok")


def test_any_executor_works(conn, s3dir, tmp_path):
    src = _tree(tmp_path / "src", 10)
    with concurrent.futures.ProcessPoolExecutor(2) as executor:
        conn.cp_r(f"{src}/", s3dir + "pp/", executor=executor)
    assert len(list(conn.ls(s3dir + "pp/"))) == 10
