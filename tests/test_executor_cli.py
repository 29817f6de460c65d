"""A cluster from the command line: ``--executor dask://HOST:PORT`` and ``BAIJI_EXECUTOR``.

Each cluster is a real Dask ``LocalCluster`` of worker processes started
here; the ``s3`` command runs in-process (``baiji.cli.main``) and reaches it
through its scheduler's address, as a cron line would reach a remote one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time

import pytest

from baiji.cli import cluster
from support.helpers import keys_under, s3_tree, tree, write_tree
from test_cli import assert_failed, assert_usage_error, lines, run

distributed = pytest.importorskip("distributed")


def _local_cluster(workers: int):
    return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                    dashboard_address=":0", host="127.0.0.1")


def _url(local_cluster) -> str:
    return local_cluster.scheduler_address.replace("tcp://", "dask://")


@pytest.fixture(scope="module")
def dask_url():
    """The ``dask://`` address of a two-worker LocalCluster (one per module)."""
    with _local_cluster(2) as local_cluster:
        yield _url(local_cluster)


@pytest.fixture
def ran_on_cluster(dask_url):
    """The names of the tasks the cluster ran while the test did (its scheduler's task stream)."""
    with distributed.Client(dask_url.replace("dask://", "tcp://"), set_as_default=False) as client:
        start = time.time()
        client.get_task_stream(start=start)  # starts recording
        yield lambda: {task["key"].split("-")[0] for task in client.get_task_stream(start=start)}


def _files(count: int) -> dict[str, bytes]:
    return {f"d{i % 3}/f{i:04d}.txt": f"file {i}\n".encode() * 5 for i in range(count)}


def _events(stdout: bytes) -> list[dict]:
    return [json.loads(line) for line in lines(stdout)]


def test_cp_r_and_cp_R_with_the_flag_and_the_variable(client, s3dir, tmp_path, monkeypatch, dask_url,
                                                      ran_on_cluster):
    files = _files(40)
    write_tree(tmp_path / "src", files)
    status, out, err = run("cp", "-r", "--json", f"{tmp_path}/src/", s3dir + "up/", "--executor", dask_url)
    assert status == 0, err
    assert sorted(event["dst"] for event in _events(out) if event["action"] == "copy") == [
        s3dir + "up/" + rel for rel in sorted(files)]
    assert s3_tree(client, s3dir + "up/") == files
    monkeypatch.setenv(cluster.VARIABLE, dask_url)
    assert run("cp", "-R", s3dir + "up/", s3dir + "copy/")[0] == 0
    assert run("cp", "-r", s3dir + "copy/", str(tmp_path / "down"))[0] == 0
    assert tree(tmp_path / "down") == files
    assert ran_on_cluster() == {"copy_chunk"}


def test_the_flag_wins_over_the_variable(client, s3dir, tmp_path, monkeypatch, dask_url):
    write_tree(tmp_path / "src", {"a.txt": b"a"})
    monkeypatch.setenv(cluster.VARIABLE, "dask://nowhere")  # malformed: would fail if read
    assert run("cp", "-r", f"{tmp_path}/src/", s3dir + "up/", "--executor", dask_url)[0] == 0
    assert keys_under(client, s3dir + "up/") == ["a.txt"]


def test_sync_over_the_cluster_deletes_only_after_a_clean_run(client, s3dir, tmp_path, monkeypatch, dask_url,
                                                              ran_on_cluster):
    monkeypatch.setenv(cluster.VARIABLE, dask_url)
    files = _files(30)
    write_tree(tmp_path / "src", files)
    assert run("sync", str(tmp_path / "src"), s3dir + "mirror/")[0] == 0
    assert s3_tree(client, s3dir + "mirror/") == files
    os.remove(tmp_path / "src" / "d0" / "f0000.txt")
    (tmp_path / "src" / "d1" / "f0001.txt").write_bytes(b"changed")
    status, out, err = run("sync", "--json", str(tmp_path / "src"), s3dir + "mirror/")
    assert status == 0, err
    assert sorted((event["action"], event["dst"]) for event in _events(out)) == [
        ("copy", s3dir + "mirror/d1/f0001.txt"), ("delete", s3dir + "mirror/d0/f0000.txt")]
    # a copy that fails on a worker (an empty directory is where a file goes: no listing shows it)
    write_tree(tmp_path / "dst", {"gone.txt": b"g"})
    (tmp_path / "dst" / "d2").mkdir()
    (tmp_path / "dst" / "d2" / "f0002.txt").mkdir()
    status, _, err = run("sync", s3dir + "mirror/", str(tmp_path / "dst"))
    assert status == 1 and "f0002.txt" in err and "nothing deleted" in err, err
    assert "gone.txt" in tree(tmp_path / "dst")
    assert ran_on_cluster() == {"copy_chunk"}


def test_rm_r_over_the_cluster(client, s3dir, tmp_path, monkeypatch, dask_url, ran_on_cluster):
    files = _files(25)
    write_tree(tmp_path / "src", files)
    assert run("cp", "-r", f"{tmp_path}/src/", s3dir + "a/")[0] == 0
    assert run("cp", "-r", f"{tmp_path}/src/", s3dir + "b/")[0] == 0
    status, out, err = run("-q", "rm", "-r", "-f", "--json", s3dir + "a/", "--executor", dask_url)
    assert status == 0, err
    assert sorted(event["dst"] for event in _events(out) if event["action"] == "delete") == [
        s3dir + "a/" + rel for rel in sorted(files)]
    monkeypatch.setenv(cluster.VARIABLE, dask_url)
    assert run("-q", "rm", "-r", "-f", s3dir + "b/")[0] == 0
    assert keys_under(client, s3dir + "a/") == keys_under(client, s3dir + "b/") == []
    assert ran_on_cluster() == {"delete_batch"}
    # asked key by key, keys are deleted here: the flag is refused, the variable unused
    assert_usage_error(run("rm", "-r", s3dir + "c/", "--executor", dask_url), "--executor", "needs -f")


@pytest.mark.parametrize("value", ["nowhere:8786", "tcp://127.0.0.1:8786", "dask://127.0.0.1",
                                   "dask://127.0.0.1:99999", "dask://:8786", "dask://127.0.0.1:8786/x"])
def test_a_malformed_address_is_one_line_and_nothing_runs(s3dir, tmp_path, monkeypatch, value):
    write_tree(tmp_path / "src", {"a.txt": b"a"})
    assert_failed(run("cp", "-r", str(tmp_path / "src"), s3dir + "up/", "--executor", value),
                  f"s3: error: --executor {value}: not a Dask scheduler's address like dask://HOST:PORT")
    monkeypatch.setenv(cluster.VARIABLE, value)
    assert_failed(run("sync", str(tmp_path / "src"), s3dir + "up/"), f"s3: error: {cluster.VARIABLE}={value}: ")
    assert_failed(run("rm", "-r", "-f", s3dir), f"{cluster.VARIABLE}={value}")
    assert_failed(run("sync", "-n", str(tmp_path / "src"), s3dir + "up/"), "dask://HOST:PORT")  # checked, too


def test_an_unreachable_scheduler_is_one_line_after_the_timeout(client, s3dir, tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1.0)
    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    write_tree(tmp_path / "src", {"a.txt": b"a"})
    started = time.monotonic()
    assert_failed(run("cp", "-r", str(tmp_path / "src"), s3dir + "up/", "--executor", f"dask://127.0.0.1:{port}"),
                  f"s3: error: --executor dask://127.0.0.1:{port}: cannot reach the scheduler")
    assert time.monotonic() - started < 10
    assert keys_under(client, s3dir + "up/") == []


def test_the_flag_needs_a_tree(s3dir, tmp_path, dask_url):
    write_tree(tmp_path, {"a.txt": b"a"})
    assert_usage_error(run("cp", str(tmp_path / "a.txt"), s3dir + "a", "--executor", dask_url), "--executor")
    assert_usage_error(run("rm", s3dir + "a", "--executor", dask_url), "--executor")


def test_a_worker_killed_mid_copy_loses_nothing_and_each_file_counts_once(client, s3dir, tmp_path):
    files = _files(600)
    write_tree(tmp_path / "src", files)
    dst = s3dir + "dst/"
    killed: list[int] = []
    with _local_cluster(2) as local_cluster, distributed.Client(local_cluster, set_as_default=False) as watcher:
        pids = watcher.run(os.getpid)

        def kill_a_busy_worker():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not killed:
                copied = len(keys_under(client, dst))
                busy = [address for address, keys in watcher.processing().items() if keys]
                if copied >= 32 and busy:
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed.append(copied)
                time.sleep(0.02)

        killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
        killer.start()
        status, out, err = run("cp", "-r", "--json", f"{tmp_path}/src/", dst, "--executor", _url(local_cluster))
        killer.join()
    assert killed and killed[0] < len(files), killed  # killed while copies were left to do
    assert status == 0, err
    events = _events(out)
    assert [event["action"] for event in events] == ["copy"] * len(files)
    assert sorted(event["dst"] for event in events) == [dst + rel for rel in sorted(files)]
    assert s3_tree(client, dst) == files
