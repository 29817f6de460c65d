"""Memory that does not grow with the number of keys (issue 21): the ``s3`` command's peak
RSS, summed over its process tree, on listings of virtual buckets (``support.virtual_bucket``)
of 2,000 and 200,000 keys, with progress bars on.

The virtual buckets need no test server, so these run once, in the moto run (``.ci/run``
runs the suite once per server). The bound here is what CI can afford to check; ``benchmarks/bench.py --virtual-keys``
measures 1M and 10M keys (under 200 MiB is the goal there).
"""

from __future__ import annotations

import io
import os
import subprocess
import time
import tracemalloc

import psutil
import pytest

from baiji.progress import counted
from support.helpers import PYTHON_M_BAIJI

pytestmark = pytest.mark.skipif(os.environ.get("BAIJI_TEST_SERVER", "moto") != "moto",
                                reason="no test server involved: run in the moto run only")

#: The most a command may hold more for 200,000 keys than for 2,000: the listings' page
#: buffers, never the keys (holding them would take 30 MiB and more).
GROWTH_MIB = 20
#: The issue's bound for the whole tree, at any size.
BOUND_MIB = 200


def peak_rss_mib(argv: list[str], timeout: float = 300) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``argv``; the highest sum of RSS over it and its descendants, sampled every 20 ms."""
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        root, peak, started = psutil.Process(proc.pid), 0, time.monotonic()
        while proc.poll() is None and time.monotonic() - started < timeout:
            try:
                peak = max(peak, sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]))
            except psutil.Error:
                pass
            time.sleep(0.02)
        out, err = proc.communicate(timeout=max(1.0, timeout - (time.monotonic() - started)))
        return peak / 2**20, subprocess.CompletedProcess(argv, proc.returncode, out, err)


def s3(virtual_s3, *args: str) -> list[str]:
    return [*PYTHON_M_BAIJI, "--endpoint-url", virtual_s3.endpoint_url, *args]


@pytest.mark.parametrize("command", [
    pytest.param(("sync", "-P", "s3://v{n}-a/", "s3://v{n}-b/"), id="no-op s3->s3 sync"),
    pytest.param(("cp", "-r", "-P", "s3://v{n}-a/", "s3://v{n}-b/"), id="cp -r, every key there"),
])
def test_memory_stays_flat_from_2000_to_200000_keys(virtual_s3, command):
    peaks = {}
    for n in (2_000, 200_000):
        peaks[n], done = peak_rss_mib(s3(virtual_s3, *(arg.format(n=n) for arg in command)))
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        if command[0] == "cp":  # every key planned and found there: one warning names them all
            assert f"Skipping {n} files whose destination exists".encode() in done.stderr
    assert peaks[200_000] < BOUND_MIB and peaks[200_000] - peaks[2_000] < GROWTH_MIB, peaks


def test_a_plan_counted_for_a_progress_bar_is_not_held_in_memory(capsys):
    copies = ((f"s3://b/{i:08d}", f"/tmp/dst/{i:08d}", i % 1000) for i in range(200_000))
    tracemalloc.start()
    try:
        spool, totals = counted(copies)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert totals == (200_000, sum(i % 1000 for i in range(200_000)))
    assert peak < 2 * 2**20, f"{peak / 2**20:.1f} MiB held while counting 200,000 copies"
    assert sum(1 for _ in spool) == 200_000 and next(iter(spool), None) is None  # read back once
    assert "planning" in capsys.readouterr().err  # the bar counted them meanwhile


def test_a_full_disk_under_a_long_listing_is_one_clear_error_and_nothing_is_written(virtual_s3, monkeypatch):
    # No server fills a disk: the spool's temporary file is /dev/full (writes fail with ENOSPC).
    import tempfile

    from baiji.cli import main

    monkeypatch.setattr(tempfile, "TemporaryFile", lambda *a, **k: open("/dev/full", "r+b"))
    err = io.StringIO()
    status = main(["--endpoint-url", virtual_s3.endpoint_url, "sync", "s3://v5000-a/", "s3://v5000-b/"],
                  stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=err)
    message = err.getvalue()
    assert status == 1 and message.count("\n") == 1 and "Traceback" not in message, message
    assert "No space left on device: a temporary file in" in message and "(TMPDIR)" in message, message
    assert set(virtual_s3.requests) <= {"ListObjectsV2", "HeadBucket"}, virtual_s3.requests
