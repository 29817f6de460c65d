"""Starting the processes that tests interrupt with SIGINT.

A shell without job control starts a background job (``bash .ci/run &``,
``nohup``) with SIGINT ignored, and an ignored signal stays ignored across
``fork`` and ``exec``: a Ctrl-C test would send its child a signal the child
never sees.  A handled signal, on the contrary, is reset to its default by
``exec``.  So while :func:`sigint_not_ignored` lasts, this process handles
SIGINT (Python's default handler) and the processes it starts get SIGINT as
a terminal's foreground job has it.  (``preexec_fn`` would do it in the
child, but is unsafe in a process running threads, as the fault proxy's.)
"""

from __future__ import annotations

import contextlib
import os
import signal
import time


@contextlib.contextmanager
def sigint_not_ignored():
    """Processes started inside get SIGINT at its default disposition (main thread only)."""
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def killed_on_exit(proc):
    """No process of ``proc``'s session (``start_new_session=True``) outlives the block."""
    try:
        yield
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def signal_and_wait(proc, send, timeout: float) -> tuple[bytes, bytes, float]:
    """``send()`` (a signal to ``proc``), then ``proc``'s output and the seconds it took to end."""
    sent = time.monotonic()
    send()
    out, err = proc.communicate(timeout=timeout)
    return out, err, time.monotonic() - sent
