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
import signal


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
