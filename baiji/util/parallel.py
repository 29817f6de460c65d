"""The bulk-copy runner (SPEC 5): many copies over threads, processes or any Executor.

Work travels as plain data: the caller's recipe for a connection (a
picklable factory, such as a class, and the settings it is called with),
``(src, dst)`` pairs and the ``cp`` options; nothing here imports the API.
Each worker process builds its own connection once and keeps it for its whole life, copies pairs on several threads, and
sends back ``(src, dst, error)`` per pair, so one failure never stops the
others.  Pool workers ignore Ctrl-C; the parent stops them; a worker that
dies stops the copy (a Pool would replace it for ever).  A worker told to
stop, or copies on threads interrupted (Ctrl-C, SIGTERM), abort the
multipart uploads they have in flight (:mod:`baiji.stores.s3_uploads`).  At most a
bounded number of pairs is in flight, so copying 100,000 keys holds memory
flat.  Pool workers pull single pairs from a shared queue (no chunk
barriers: one slow request never idles the other threads); an Executor gets
chunks of pairs (or of deletions: :func:`windowed`), and runs again the
chunks of a worker that died (Dask does): each chunk's results come back
once, from the run that finished, so each file is counted once.
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import itertools
import multiprocessing
import multiprocessing.pool
import os
import queue
import signal
import sys
import threading
import time
from typing import Any, Callable, Iterable, Iterator, Optional, TypeVar

from baiji import tempfiles
from baiji.report import Resumed
from baiji.stores import s3_uploads

Pair = tuple[str, str]
T = TypeVar("T")
#: ``(src, dst, outcome)``: the error of a failed copy, a :class:`Resumed` or None for one done.
Result = tuple[str, str, Optional["BaseException | Resumed"]]
#: ``(connect, settings)``: a worker process's connection is ``connect(**settings)``; both
#: picklable (``connect`` by reference: a class or a module-level function).
Recipe = tuple[Callable[..., Any], dict]

#: Copies in flight per process (network-bound: threads wait on sockets;
#: 32 beat 16 on 1,000 x 4 KiB against SeaweedFS, see README "Performance").
THREADS = 32
#: Worker processes of ``parallel=True``: on 2 cores, 2 processes x 32 threads
#: matched or beat 4 x 16 (each process pays for its own boto3 client).
PROCESSES = 2
#: Pairs sent to a worker at a time.
CHUNK = 32

_worker_state: dict = {}


def copy_one(conn, src: str, dst: str, cp_kwargs: dict) -> Result:
    """Copy one pair; the error, if any, is returned, not raised (a :class:`~baiji.report.Resumed`
    for a copy that continued an interrupted one)."""
    try:
        done = conn.cp(src, dst, **cp_kwargs)
    except Exception as err:  # reported back per pair, never swallowed
        return src, dst, portable(err)
    return src, dst, done if isinstance(done, Resumed) else None


def portable(err: BaseException) -> BaseException:
    """``err`` itself if it survives pickling, else an S3Exception with its message."""
    import pickle

    from baiji.exceptions import S3Exception

    try:
        pickle.loads(pickle.dumps(err))
    except Exception:
        return S3Exception(str(err))
    return err


def _state() -> dict:
    """This process's worker state (a forked child starts afresh)."""
    if _worker_state.get("pid") != os.getpid():
        _worker_state.clear()
        _worker_state.update(pid=os.getpid(), connections={})
    return _worker_state


def _threads() -> concurrent.futures.ThreadPoolExecutor:
    state = _state()
    if "threads" not in state:
        state["threads"] = concurrent.futures.ThreadPoolExecutor(THREADS)
    return state["threads"]


def worker_connection(recipe: Recipe):
    """This process's connection made by ``recipe`` (``connect(**settings)``), created once and kept."""
    connect, settings = recipe
    key = connect, tuple(sorted(settings.items()))
    connections = _state()["connections"]
    if key not in connections:
        connections[key] = connect(**settings)
    return connections[key]


def copy_chunk(recipe: Recipe, pairs: list[Pair], cp_kwargs: dict) -> list[Result]:
    """Worker entry point: copy ``pairs`` with this process's connection."""
    conn = worker_connection(recipe)
    return list(_threads().map(lambda pair: copy_one(conn, *pair, cp_kwargs), pairs))  # type: ignore[call-arg]  # mypy miscounts *pair


_queues: dict = {}


def _init_worker(tasks, results) -> None:
    """Pool initializer: ignore Ctrl-C (the parent stops us) and keep the queues.

    When the parent stops the pool (SIGTERM), the worker removes its temp
    files, aborts its multipart uploads in flight and exits: copies in flight
    leave nothing behind.  SIGTERM
    is blocked in every thread and taken by one thread with ``sigwait``: a
    Python-level handler could be left pending for good if the signal came
    just as the main thread went to sleep on a semaphore.  A worker that is
    not copying (see :func:`_await_sigterm`) leaves the pool's way instead.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # threads started later inherit it
        threading.Thread(target=_await_sigterm, name="baiji-sigterm", daemon=True).start()
    else:
        signal.signal(signal.SIGTERM, _die_clean)
    _queues.update(tasks=tasks, results=results)


#: Set while this worker runs :func:`_serve`; when it is not, it waits for the pool's next task.
_serving = threading.Event()
#: Seconds a worker that is not copying waits, on SIGTERM, for the pool to end it.
IDLE_GRACE = 5.0


def _await_sigterm() -> None:
    """Die clean on SIGTERM.  A worker that is not copying may be waiting for the pool's next
    task, holding the lock of the pool's task queue: dying there would keep that lock for
    good, and the parent's ``Pool.terminate()`` would wait on it for ever (as it did when the
    whole process group got SIGTERM).  Such a worker gets the pool's end-of-work sentinel
    from that ``terminate()`` and leaves on its own; it dies only if that does not come
    within :data:`IDLE_GRACE` seconds (the parent is gone)."""
    signum = signal.sigwait({signal.SIGTERM})
    if not _serving.is_set():
        time.sleep(IDLE_GRACE)
    _die_clean(signum, None)


def _die_clean(signum, frame) -> None:
    tempfiles.remove_all()
    s3_uploads.abort_in_flight(stop=True)  # os._exit would leave them in progress (stored and billed)
    tempfiles.remove_all()  # again: what other threads created meanwhile (they go on until os._exit)
    os._exit(128 + signum)


def _serve(recipe: Recipe, cp_kwargs: dict, threads: int) -> None:
    """Pool worker: ``threads`` threads copy pairs from the task queue until it yields None."""
    _serving.set()
    try:
        _serve_threads(recipe, cp_kwargs, threads)
    finally:
        _serving.clear()


def _serve_threads(recipe: Recipe, cp_kwargs: dict, threads: int) -> None:
    tasks, results = _queues["tasks"], _queues["results"]
    conn = worker_connection(recipe)

    def loop():
        while (pair := tasks.get()) is not None:
            results.put(copy_one(conn, *pair, cp_kwargs))
        tasks.put(None)  # pass the end on to the next thread or process

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def _context(preload: str):
    """How Pool workers start: never as a fork of a process that runs other threads.

    A single-threaded process forks (fast, and scripts need no ``__main__``
    guard).  Forking a threaded one can copy a lock another thread holds and
    hang the child, so there the workers come from a forkserver (which has
    already imported baiji and boto3) or, without one, are spawned; the
    calling script then needs ``if __name__ == "__main__":``, as usual for
    multiprocessing (each worker re-runs the main script; without the guard
    the copy fails at once, see :func:`_run_pool`).  obstore's runtime does
    not count: a fork of a process that started it moves its bytes through
    boto3 (``s3_engine.usable``), as every worker did before the engine, so
    scripts without the guard keep working.  ``preload``: the module the forkserver imports
    besides this one (that of the recipe's factory).
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["baiji.util.parallel", preload])
        return context
    return multiprocessing.get_context("spawn")


class _Pool(multiprocessing.pool.Pool):
    """A Pool that counts the worker processes it starts.

    More than it was asked for means some died and were replaced: a Pool
    replaces dead workers for ever, so a worker that dies while starting
    would make the copy run until killed.
    """

    def __init__(self, *args, **kwargs):
        self.started = 0
        super().__init__(*args, **kwargs)

    def Process(self, ctx, *args, **kwds):  # noqa: N802 (the Pool's name for it)
        self.started += 1
        return ctx.Process(*args, **kwds)


def _rerunning_main() -> bool:
    """True in a spawned (or forkserver) child that is re-running the main script,
    before it becomes a worker: the script reached a parallel copy unguarded."""
    rerun = sys.modules.get("__mp_main__")  # elsewhere an alias of __main__ (multiprocessing sets it)
    return multiprocessing.parent_process() is None and rerun is not None and rerun is not sys.modules["__main__"]


def _workers_died(context, starting: bool) -> RuntimeError:
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if not starting or context.get_start_method() == "fork" or not main:
        return RuntimeError("parallel copy: a worker process died (killed?); the copy was stopped")
    return RuntimeError(
        f"parallel copy: the worker processes died while starting. This process runs other threads, "
        f"so they start fresh ({context.get_start_method()}) and each re-runs the main script {main}; "
        'put its top-level code under `if __name__ == "__main__":` (or copy without parallel=True)')


def _run_pool(recipe: Recipe, pairs: Iterable[Pair], cp_kwargs: dict, processes: int,
              threads: int) -> Iterator[Result]:
    """Stream pairs through a Pool whose workers each copy on ``threads`` threads.

    Workers that die are not replaced: the copy stops with RuntimeError.  A
    worker that meets the parallel copy while re-running an unguarded main
    script leaves at once and quietly, so the error is said once, here.
    """
    if _rerunning_main():
        os._exit(1)  # no traceback per worker; the parent reports it (and SystemExit would wait for threads)
    context = _context(recipe[0].__module__)
    tasks, results = context.Queue(maxsize=processes * threads * 4), context.Queue()
    pool = _Pool(processes, initializer=_init_worker, initargs=(tasks, results), context=context)
    sent, feeder_error, done = [0], [], threading.Event()

    def feed():
        try:
            for pair in pairs:
                tasks.put(tuple(pair))
                sent[0] += 1
        except BaseException as err:  # e.g. the source listing failed: reported below
            feeder_error.append(err)
        finally:
            tasks.put(None)
            done.set()

    finished = False
    try:
        serving = [pool.apply_async(_serve, (recipe, cp_kwargs, threads)) for _ in range(processes)]
        threading.Thread(target=feed, daemon=True).start()
        received = 0
        while not (done.is_set() and received == sent[0]):
            try:
                result = results.get(timeout=0.2)
            except queue.Empty:
                if pool.started > processes:
                    raise _workers_died(context, starting=received == 0) from None
                for job in serving:
                    if job.ready():
                        job.get()  # a worker that failed raises here
                continue
            received += 1
            yield result
        for job in serving:
            job.get()
        finished = True
        if feeder_error:
            raise feeder_error[0]
    finally:
        # Done: the workers leave on the pool's own sentinel.  Interrupted or failed: SIGTERM
        # (they remove their temp files).  Terminating idle workers could kill one holding
        # the pool's result-queue lock, and the pool's shutdown would wait on it forever.
        if finished:
            pool.close()
        else:
            tasks.cancel_join_thread()  # what no worker will read must not hold up this process's exit
            pool.terminate()
        pool.join()


def chunks(pairs: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(pairs)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def windowed(executor: concurrent.futures.Executor, fn: Callable[[list], list], batches: Iterable[list],
             window: int) -> Iterator:
    """``fn(batch)`` on ``executor`` for each batch, at most ``window`` at a time; each batch's
    results in order.  A batch whose worker dies is the executor's to run again (Dask does): its
    results come back once, from the run that finished."""
    pending: collections.deque = collections.deque()
    try:
        for chunk in batches:
            pending.append(executor.submit(fn, chunk))
            while len(pending) >= window:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


def check_workers(workers) -> None:
    """``ValueError`` unless ``workers`` is None or a whole number >= 0 (0: :data:`THREADS`)."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise ValueError(f"workers must be a whole number >= 0 (0: the default, {THREADS}), not {workers!r}")


def run_copies(conn, pairs: Iterable[Pair], cp_kwargs: dict, parallel: bool = False,
               executor: concurrent.futures.Executor | None = None,
               processes: int | None = None, workers: int | None = None,
               recipe: Recipe | None = None) -> Iterator[Result]:
    """Copy every pair; yield ``(src, dst, outcome)`` (see :data:`Result`) as copies finish.

    ``executor``: any ``concurrent.futures.Executor`` (a Dask cluster's, say)
    gets chunks of plain data.  ``parallel``: a ``multiprocessing.Pool`` of
    ``processes`` workers on this machine.  Either way each worker process
    builds its own connection from ``recipe`` (see :data:`Recipe`), which
    those two need.  Otherwise copies run on threads of this process, sharing
    ``conn``.  ``workers``: copies in flight per process (None or 0: THREADS).
    """
    check_workers(workers)
    threads = workers or THREADS
    if executor is not None:
        # ignore[arg-type]: executor and parallel runs come with a recipe (see above)
        fn: Callable[[Any], Any] = functools.partial(copy_chunk, recipe, cp_kwargs=cp_kwargs)  # type: ignore[arg-type]
        yield from windowed(executor, fn, chunks(pairs, CHUNK), window=64)
    elif parallel:
        yield from _run_pool(recipe, pairs, cp_kwargs, processes or PROCESSES, threads)  # type: ignore[arg-type]
    else:
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            def fn(chunk):
                return [copy_one(conn, src, dst, cp_kwargs) for src, dst in chunk]

            try:
                yield from windowed(pool, fn, chunks(pairs, 1), window=4 * threads)
            except KeyboardInterrupt:  # (SIGTERM too, in the s3 command): no wait for every part to be sent
                s3_uploads.abort_in_flight()
                raise
