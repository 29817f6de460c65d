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
