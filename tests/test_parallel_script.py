"""``parallel=True`` from a real script that runs another thread (so workers are not forked).

Such workers start fresh (forkserver or spawn) and re-run the main script.
Without ``if __name__ == "__main__":`` the script's copy would start again in
each of them; the copy must then fail at once with one error saying what to
add, not run until killed printing a traceback per worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from support.helpers import get

TIMEOUT = 60

SCRIPT = """\
import sys
import threading
import time

from baiji import s3

threading.Thread(target=time.sleep, args=(600,), daemon=True).start()  # say, a monitoring thread
"""
COPY = """\
s3.cp_many([(sys.argv[1], sys.argv[2])], parallel=True)
print("copied")
"""


def run_script(tmp_path, guarded: bool) -> tuple[subprocess.CompletedProcess, float]:
    body = 'if __name__ == "__main__":\n' + textwrap.indent(COPY, "    ") if guarded else COPY
    script = tmp_path / "copier.py"
    script.write_text(SCRIPT + body)
    (tmp_path / "src.txt").write_bytes(b"payload")
    argv = [sys.executable, str(script), str(tmp_path / "src.txt"), str(tmp_path / "dst.txt")]
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=tmp_path, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:  # the old behaviour: stop it and every worker it keeps starting
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return subprocess.CompletedProcess(argv, proc.returncode, out, err), time.monotonic() - started


def test_unguarded_script_fails_at_once_saying_what_to_add(tmp_path):
    done, took = run_script(tmp_path, guarded=False)
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert took < TIMEOUT / 2
    assert err.count("Traceback") == 1, err  # the script's own, none per worker
    last = err.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: parallel copy:") and 'if __name__ == "__main__":' in last, last
    assert "copier.py" in last
    assert "bootstrapping" not in err
    assert not (tmp_path / "dst.txt").exists()


def test_guarded_script_copies(tmp_path):
    done, _ = run_script(tmp_path, guarded=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"copied\n", b"")
    assert (tmp_path / "dst.txt").read_bytes() == b"payload"


# -- scripts that used the engine before a parallel copy -------------------------------------------

UNGUARDED = """\
import sys
from baiji import s3

s3.put_string(sys.argv[2] + "first.txt", "before the bulk copy")  # the engine is started here
s3.cp_r(sys.argv[1], sys.argv[2], parallel=True)
print("copied")
"""

FORK_EXECUTOR = """\
import concurrent.futures, multiprocessing, sys
from baiji import s3

if __name__ == "__main__":
    s3.put_string(sys.argv[2] + "first.txt", "before the bulk copy")  # the engine is started here
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as ex:
        s3.cp_r(sys.argv[1], sys.argv[2], executor=ex)
    print(s3.get_string(sys.argv[2] + "f3.txt"))
"""


def _script(tmp_path, text, s3dir, timeout=120):
    import signal
    import subprocess
    import sys

    src = tmp_path / "src"
    src.mkdir()
    for i in range(8):
        (src / f"f{i}.txt").write_text(f"file {i}")
    script = tmp_path / "script.py"
    script.write_text(text)
    proc = subprocess.Popen([sys.executable, str(script), str(src) + "/", s3dir], cwd=tmp_path,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"hung: {err.decode()[-2000:]}")
    return proc.returncode, out.decode(), err.decode()


def test_parallel_copy_from_an_unguarded_single_threaded_script_after_using_the_engine(tmp_path, client, s3dir):
    """SPEC 5 / README: only a script that *runs other threads* needs
    ``if __name__ == "__main__":`` for ``parallel=True`` (a single-threaded one forks).
    A plain script calling ``put_string`` (which starts obstore's runtime) then
    ``cp_r(parallel=True)`` still forks and works: its workers move bytes through boto3."""
    status, out, err = _script(tmp_path, UNGUARDED, s3dir)
    assert status == 0 and "copied" in out, err[-1500:]
    assert get(client, s3dir + "f7.txt") == b"file 7"


def test_fork_process_pool_executor_after_the_parent_used_the_engine(tmp_path, client, s3dir):
    """A user's fork-based ProcessPoolExecutor as ``executor=`` after the parent started
    obstore: the children must fall back to boto3, not hang."""
    status, out, err = _script(tmp_path, FORK_EXECUTOR, s3dir)
    assert status == 0 and out.strip() == "file 3", err[-1500:]
    assert sorted(k["Key"].rsplit("/", 1)[1] for k in client.list_objects_v2(
        Bucket=s3dir[5:].split("/")[0])["Contents"]) == ["f0.txt", "f1.txt", "f2.txt", "f3.txt", "f4.txt",
                                                         "f5.txt", "f6.txt", "f7.txt", "first.txt"]
