"""The bulk-copy runner (SPEC 5): many copies over threads, processes or any Executor.

Work travels as plain data: the connection's settings, a chunk of
``(src, dst)`` pairs and the ``cp`` options.  Each worker process builds
its own connection once and keeps it for its whole life, copies the pairs of
a chunk on a few threads, and sends back ``(src, dst, error)`` per pair, so
one failure never stops the others.  Pool workers ignore Ctrl-C; the parent
stops them.  At most a bounded number of chunks is in flight, so copying
100,000 keys holds memory flat.
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import itertools
import multiprocessing
import os
import signal
from typing import Iterable, Iterator, Optional

Pair = tuple[str, str]
Result = tuple[str, str, Optional[BaseException]]

#: Copies in flight per process (network-bound: threads wait on sockets).
THREADS = 16
#: Worker processes of ``parallel=True`` (chosen by benchmark; see README).
PROCESSES = 4
#: Pairs sent to a worker at a time.
CHUNK = 32

_worker_state: dict = {}


def copy_one(conn, src: str, dst: str, cp_kwargs: dict) -> Result:
    """Copy one pair; the error, if any, is returned, not raised."""
    try:
        conn.cp(src, dst, **cp_kwargs)
    except Exception as err:  # reported back per pair, never swallowed
        return src, dst, _portable(err)
    return src, dst, None


def _portable(err: BaseException) -> BaseException:
    """``err`` itself if it survives pickling, else an S3Exception with its message."""
    import pickle

    from baiji.exceptions import S3Exception

    try:
        pickle.loads(pickle.dumps(err))
    except Exception:
        return S3Exception(str(err))
    return err


def _threads() -> concurrent.futures.ThreadPoolExecutor:
    if _worker_state.get("pid") != os.getpid():
        _worker_state.clear()
        _worker_state.update(pid=os.getpid(), connections={},
                             threads=concurrent.futures.ThreadPoolExecutor(THREADS))
    return _worker_state["threads"]


def worker_connection(settings: dict):
    """This process's connection for ``settings``, created once and kept."""
    _threads()
    key = tuple(sorted(settings.items()))
    connections = _worker_state["connections"]
    if key not in connections:
        from baiji.connection import S3Connection

        connections[key] = S3Connection(**settings)
    return connections[key]


def copy_chunk(settings: dict, pairs: list[Pair], cp_kwargs: dict) -> list[Result]:
    """Worker entry point: copy ``pairs`` with this process's connection."""
    conn = worker_connection(settings)
    return list(_threads().map(lambda pair: copy_one(conn, *pair, cp_kwargs), pairs))


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _PoolExecutor(concurrent.futures.Executor):
    """A ``multiprocessing.Pool`` behind the Executor interface; terminated on exit."""

    def __init__(self, processes: int):
        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        self._pool = context.Pool(processes, initializer=_ignore_sigint)

    def submit(self, fn, /, *args, **kwargs):
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._pool.apply_async(fn, args, kwargs, callback=future.set_result,
                               error_callback=future.set_exception)
        return future

    def shutdown(self, wait=True, *, cancel_futures=False):
        self._pool.terminate()
        self._pool.join()


def _chunks(pairs: Iterable[Pair], size: int) -> Iterator[list[Pair]]:
    it = iter(pairs)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _windowed(executor: concurrent.futures.Executor, fn, chunks: Iterable[list[Pair]],
              window: int) -> Iterator[Result]:
    pending: collections.deque = collections.deque()
    try:
        for chunk in chunks:
            pending.append(executor.submit(fn, chunk))
            while len(pending) >= window:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


def run_copies(conn, pairs: Iterable[Pair], cp_kwargs: dict, parallel: bool = False,
               executor: concurrent.futures.Executor | None = None,
               processes: int | None = None) -> Iterator[Result]:
    """Copy every pair; yield ``(src, dst, error_or_None)`` as copies finish.

    ``executor``: any ``concurrent.futures.Executor`` (a Dask cluster's, say)
    gets chunks of plain data.  ``parallel``: a ``multiprocessing.Pool`` of
    ``processes`` workers on this machine.  Otherwise copies run on threads
    of this process, sharing ``conn``.
    """
    if executor is not None:
        fn = functools.partial(copy_chunk, conn.settings(), cp_kwargs=cp_kwargs)
        yield from _windowed(executor, fn, _chunks(pairs, CHUNK), window=64)
    elif parallel:
        pool = _PoolExecutor(processes or PROCESSES)
        try:
            fn = functools.partial(copy_chunk, conn.settings(), cp_kwargs=cp_kwargs)
            yield from _windowed(pool, fn, _chunks(pairs, CHUNK), window=4 * (processes or PROCESSES))
        finally:
            pool.shutdown()
    else:
        with concurrent.futures.ThreadPoolExecutor(THREADS) as threads:
            def fn(chunk):
                return [copy_one(conn, src, dst, cp_kwargs) for src, dst in chunk]

            yield from _windowed(threads, fn, _chunks(pairs, 1), window=4 * THREADS)
