"""The ``s3`` command as a real process: console script, ``python -m baiji``,
pipes, terminals that are not there, SIGPIPE and SIGINT.

The session's conftest puts the test server's endpoint and credentials in
``os.environ``, which the child processes inherit.
"""

from __future__ import annotations

import os
import platform
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import baiji
from support.childproc import sigint_not_ignored
from support.helpers import put

S3_SCRIPT = shutil.which("s3", path=str(Path(sys.executable).parent)) or shutil.which("s3")
PYTHON_M = [sys.executable, "-m", "baiji"]
TIMEOUT = 120


def s3(*args, input: bytes | None = b"", **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(PYTHON_M + [str(a) for a in args], input=input, capture_output=True,
                          timeout=TIMEOUT, **kwargs)


def test_console_script():
    assert S3_SCRIPT, "the s3 console script is not installed (pip install -e .)"
    done = subprocess.run([S3_SCRIPT, "version"], capture_output=True, timeout=TIMEOUT)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{baiji.__version__}\n".encode(), b"")
    done = subprocess.run([S3_SCRIPT, "--version"], capture_output=True, timeout=TIMEOUT)
    assert done.returncode == 0 and done.stdout.strip() == f"s3 {baiji.__version__}".encode()


def test_python_m_baiji_and_statuses(tmp_path):
    assert s3("version").stdout == f"{baiji.__version__}\n".encode()
    usage = s3("cp", "only-one")
    assert usage.returncode == 2 and b"usage: s3 cp" in usage.stderr
    missing = s3("cat", tmp_path / "missing")
    assert missing.returncode == 1
    assert missing.stderr.decode().startswith("s3: error: ") and missing.stderr.count(b"\n") == 1
    assert str(tmp_path / "missing").encode() in missing.stderr
    assert s3("exists", tmp_path / "missing").returncode == 1


def test_stdin_up_and_stdout_down(s3dir):
    payload = os.urandom(3 * 1024 * 1024 + 17)
    up = s3("cp", "-", s3dir + "streamed.bin", input=payload)
    assert (up.returncode, up.stderr) == (0, b"")
    down = s3("cp", s3dir + "streamed.bin", "-")
    assert (down.returncode, down.stderr) == (0, b"")
    assert down.stdout == payload
    cat = s3("cat", s3dir + "streamed.bin")
    assert cat.returncode == 0 and cat.stdout == payload


def test_rm_recursive_refuses_when_stdin_is_not_a_terminal(s3dir):
    assert s3("cp", "-", s3dir + "precious", input=b"x").returncode == 0
    done = subprocess.run(PYTHON_M + ["rm", "-r", s3dir], stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=TIMEOUT)
    assert done.returncode == 1
    assert done.stderr.decode().startswith("s3: error: refusing") and done.stderr.count(b"\n") == 1
    assert s3("exists", s3dir + "precious").returncode == 0


def _pipe_into_head(command: list[str], head: str) -> subprocess.CompletedProcess:
    """``command | head ...`` in bash; prints the command's status last on stdout."""
    script = f'{subprocess.list2cmdline(command)} | {head}; echo "status=${{PIPESTATUS[0]}}"'
    return subprocess.run(["bash", "-c", script], capture_output=True, timeout=TIMEOUT)


def test_ls_into_head_is_quiet(tmp_path):
    d = tmp_path / "many"
    d.mkdir()
    for i in range(3000):  # ~300 KB of output: far more than a pipe holds
        (d / f"file-with-a-long-enough-name-{i:05d}.txt").touch()
    done = _pipe_into_head(PYTHON_M + ["ls", str(d)], "head -1")
    out = done.stdout.decode().splitlines()
    assert out[0].startswith(str(d) + "/")
    assert out[-1] == "status=141"
    assert done.stderr == b""


def test_cat_into_head_is_quiet(s3dir):
    assert s3("cp", "-", s3dir + "big", input=b"y" * (2 * 1024 * 1024)).returncode == 0
    done = _pipe_into_head(PYTHON_M + ["cat", s3dir + "big"], "head -c 10")
    assert done.stdout.decode().endswith("status=141\n")
    assert done.stdout.startswith(b"y" * 10)
    assert done.stderr == b""


def _wait_for_line(stream, needle: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    fd = stream.fileno()
    while needle not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"never saw {needle!r}; got {seen!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"process ended before {needle!r}; got {seen!r}")
            seen += chunk
    return seen


def _blocked_reading_stdin(pid: int) -> bool:
    """True while the process's main thread sits in read(0, ...) (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/syscall") as f:
            fields = f.read().split()
    except OSError:
        return False
    return len(fields) > 1 and fields[0] == "0" and int(fields[1], 16) == 0  # x86_64: read(fd=0)


@pytest.mark.parametrize("verbose", [True, False])
def test_sigint_exits_130_without_traceback(tmp_path, verbose):
    """Ctrl-C while ``cp - FILE`` waits for more stdin.

    The signal is sent once the command is known to be running: with -vv,
    after main() logged "running s3 cp"; without, once /proc shows the
    process blocked reading stdin (Python's start-up never reads fd 0).
    """
    if not verbose and not (os.path.exists(f"/proc/{os.getpid()}/syscall") and platform.machine() == "x86_64"):
        pytest.skip("needs Linux x86_64's /proc/PID/syscall to see when the process reads stdin")
    argv = PYTHON_M + (["-vv"] if verbose else []) + ["cp", "-", str(tmp_path / "never" / "done")]
    with sigint_not_ignored():
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(b"some bytes, and then nothing more for a while\n")
        proc.stdin.flush()
        early = b""
        if verbose:
            early = _wait_for_line(proc.stderr, b"running s3 cp", timeout=60)
        deadline = time.monotonic() + (10 if verbose else 60)
        while not _blocked_reading_stdin(proc.pid):
            if time.monotonic() > deadline:
                if verbose:
                    break  # the log line already proved main() is running the command
                raise AssertionError("the process never blocked reading stdin")
            if proc.poll() is not None:
                raise AssertionError(f"ended early: {proc.returncode} {proc.stderr.read()!r}")
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = early + rest
    assert proc.returncode == 130, err
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err
    assert not (tmp_path / "never" / "done").exists()


def test_sigint_during_parallel_copy_stops_every_process(fault_proxy, s3dir, tmp_path):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) while
    ``cp -R`` worker processes wait on uploads the proxy holds back."""
    from support.faultproxy import Fault

    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(12):
        (tree / f"f{i:02d}.txt").write_bytes(b"x" * 1000)
    uploads = threading.Event()

    def hold_uploads(info):
        if info.op == "PutObject":
            uploads.set()
            return Fault.make("delay", seconds=8)
        return None

    fault_proxy.proxy.handler = hold_uploads
    with sigint_not_ignored():
        proc = subprocess.Popen(
            PYTHON_M + ["--endpoint-url", fault_proxy.endpoint_url, "cp", "-R", f"{tree}/", s3dir],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert uploads.wait(60), "no upload reached the proxy"
        time.sleep(0.5)  # let more workers block
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err, err
    deadline = time.monotonic() + 20
    while True:  # no worker outlives the command
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "worker processes still running after the command ended"
        time.sleep(0.1)


def test_children_get_sigint_even_when_the_tests_ignore_it():
    """The SIGINT tests also pass under ``nohup`` or ``bash .ci/run &`` (SIGINT ignored)."""
    probe = [sys.executable, "-c",
             "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"]
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as such a shell starts the tests
    try:
        inherited = subprocess.run(probe, capture_output=True, timeout=TIMEOUT).stdout
        with sigint_not_ignored():
            restored = subprocess.run(probe, capture_output=True, timeout=TIMEOUT).stdout
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # left as it was
    finally:
        signal.signal(signal.SIGINT, previous)
    assert (inherited, restored) == (b"False\n", b"True\n")


# -- a closed stdout -------------------------------------------------------------------------------

def test_output_to_a_closed_stdout_is_one_line(client, s3dir):
    """``s3 cat KEY >&-`` said "internal error: AttributeError ... write"."""
    put(client, s3dir + "k", b"data")
    argv = " ".join([sys.executable, "-m", "baiji", "cat", s3dir + "k"])
    done = subprocess.run(["bash", "-c", f"{argv} >&-"], capture_output=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr.decode().splitlines() == [f"s3: error: {s3dir}k: standard output is closed"]
