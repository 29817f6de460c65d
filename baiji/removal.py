"""Removing: ``rm`` (one key or file), ``rm_r`` (a tree, asking or not), and the guard
every bulk deletion passes, ``max_delete`` (:class:`TooManyDeletions`: nothing deleted).

``rm`` and ``rm_r`` are the bodies of the :class:`~baiji.connection.S3Connection`
methods of those names (``conn``), whose docstrings are their contracts.
"""

from __future__ import annotations

import functools
import itertools
import os
import sys
from typing import Iterable, Iterator, Optional

from baiji import path as paths
from baiji.bulk import check_bulk_args, finished
from baiji.exceptions import IsADirectory, S3Exception
from baiji.filters import Selector
from baiji.report import Event, Listener, Planned, Report
from baiji.stores import Store
from baiji.util.parallel import Recipe, chunks, portable, windowed, worker_connection

#: ``(url, size, error or None)``: what became of one deletion.
Deletion = tuple[str, Optional[int], Optional[BaseException]]
#: Batches of 1,000 deletions in flight at a time on an executor.
EXECUTOR_WINDOW = 8


def confirm(question: str) -> bool:
    """Ask on the terminal (the question on stderr, like ``rm -i``)."""
    sys.stderr.write(question)
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _print_deleted(event: Event) -> None:
    """``rm_r``'s line per file removed (SPEC 2: unless ``quiet``)."""
    if event.action == "delete":
        print(f"[deleted] {event.dst}")


def _refuse_tree_around_cwd(directory: str) -> None:
    """``ValueError`` for a local tree that must never be removed: ``.``, ``..``, or one holding the cwd."""
    if os.path.basename(directory.rstrip("/" + os.sep)) in (".", ".."):
        raise ValueError(f"refusing to remove {directory!r}: a '.' or '..' directory")
    target = os.path.realpath(paths.parse(directory).path)
    try:
        cwd = os.path.realpath(os.getcwd())
    except FileNotFoundError:  # the cwd itself was removed: no tree holds it
        return
    if cwd == target or cwd.startswith(target.rstrip(os.sep) + os.sep):
        raise ValueError(f"refusing to remove {directory}: it holds the current directory {cwd}")


class TooManyDeletions(S3Exception):
    """More would be deleted than ``max_delete`` allows: nothing was."""


def too_many(count: int, max_delete: int | None) -> bool:
    return max_delete is not None and count > max_delete


def refuse_too_many(count: int, max_delete: int | None, where: str, counted_all: bool = True) -> None:
    """``TooManyDeletions`` when ``count`` deletions (at least, unless ``counted_all``) exceed ``max_delete``."""
    if too_many(count, max_delete):
        shown = count if counted_all else f"more than {max_delete}"
        raise TooManyDeletions(f"{where}: {shown} files would be deleted, more than max_delete={max_delete} "
                               "allows; nothing deleted")


def rm(conn, key: str, version_id: str | None) -> None:
    store = conn._store(key)
    store.stat(key, version_id)
    local = paths.parse(key).path
    if store.is_local and os.path.isdir(local) and not os.path.islink(local):
        raise IsADirectory(f"{key}: is a directory; use rm_r to remove a tree")
    store.delete(key, version_id)


def rm_r(conn, prefix: str, force: bool, quiet: bool, max_delete: int | None, dry_run: bool,
         on_event: Listener | None, exclude, include, executor) -> Report | list[Planned]:
    check_bulk_args(max_delete=max_delete)
    selector = Selector(exclude, include)
    store = conn._store(prefix)
    if store.is_local:
        _refuse_tree_around_cwd(prefix)
    if not force and not dry_run and not sys.stdin.isatty():
        raise S3Exception(f"refusing to remove {prefix} without confirmation: "
                          "no terminal to ask on (use force)")
    path = paths.parse(prefix).path
    one = not prefix.endswith(("/", os.sep))
    report = Report(on_event, None if quiet else _print_deleted)
    if one and store.is_local and (os.path.islink(path) or os.path.isfile(path)):
        if not selector.selects(paths.basename(prefix)):
            return [] if dry_run else report.done()
        refuse_too_many(1, max_delete, prefix)
        # like rm -r: a link (not its target), a file
        return [Planned("delete", None, prefix)] if dry_run else _rm_one(store, prefix, force, report)
    listing_prefix = store.dir_prefix(prefix)

    def under() -> Iterator[tuple[str, int | None]]:
        entries = store.list(listing_prefix, prune=selector.prune)
        return ((e.url, e.size) for e in selector.entries(entries, listing_prefix, store.sep) if not e.is_dir)

    def itself() -> bool:
        """Whether ``prefix`` is one key to remove: selected by its name, nothing at all under it."""
        return (one and not store.is_local and selector.selects(paths.basename(prefix))
                and not (selector and next(iter(store.list(listing_prefix)), None)) and store.isfile(prefix))
    if dry_run:
        planned = [Planned("delete", None, url, size=size) for url, size in under()]
        if not planned and itself():
            planned = [Planned("delete", None, prefix)]
        refuse_too_many(len(planned), max_delete, prefix)
        return planned
    doomed: Iterable[tuple[str, int | None]] = under()
    if max_delete is not None:
        doomed = list(itertools.islice(doomed, max_delete + 1))
        refuse_too_many(len(doomed), max_delete, prefix, counted_all=False)
        # exactly what was counted: a key written since (an uploader still running) is not removed
    listed = 0

    def confirmed() -> Iterator[list[tuple[str, int | None]]]:
        nonlocal listed
        for batch in chunks(doomed, 1000 if force else 1):
            listed += len(batch)
            if force or confirm(f"Delete {batch[0][0]}? [y/N] "):
                yield batch
            else:
                report.add(Event("skip", None, batch[0][0], "not confirmed", batch[0][1]))
    if executor is not None and force:
        record(report, windowed(executor, functools.partial(delete_batch, conn._worker_recipe()), confirmed(),
                                window=EXECUTOR_WINDOW))
    else:
        for batch in confirmed():
            delete_all(report, store, batch)
    if not listed and itself():
        refuse_too_many(1, max_delete, prefix)
        return _rm_one(store, prefix, force, report)  # nothing under it: the key itself
    if (store.is_local and os.path.isdir(path) and force and not selector
            and not os.path.islink(path.rstrip("/" + os.sep))):
        store.delete(prefix)  # not through a link given as lnk/: as GNU rm -rf lnk/, only its contents go
    return finished(report, "deletions", total=report.deleted + report.failed, warn_skips=False)


def _rm_one(store: Store, url: str, force: bool, report: Report) -> Report:
    """``rm_r`` of one key or file (or a symlink: the link), asking first unless ``force``."""
    if force or confirm(f"Delete {url}? [y/N] "):
        store.delete(url)
        report.add(Event("delete", None, url))
    else:
        report.add(Event("skip", None, url, "not confirmed"))
    return report.done()


def delete_all(report: Report, store: Store, doomed: list[tuple[str, int | None]]) -> None:
    """Delete the ``(url, size)`` in ``doomed`` (batched), one delete or fail event each."""
    record(report, deletions(store, doomed))


def deletions(store: Store, doomed: list[tuple[str, int | None]]) -> list[Deletion]:
    """Delete the ``(url, size)`` in ``doomed`` (batched): ``(url, size, error or None)`` each."""
    failed = dict(store.delete_many([url for url, _ in doomed]))
    return [(url, size, failed.get(url)) for url, size in doomed]


def delete_batch(recipe: Recipe, doomed: list[tuple[str, int | None]]) -> list[Deletion]:
    """An executor's task: :func:`deletions` with the worker's own connection, made from ``recipe``."""
    conn = worker_connection(recipe)
    return [(url, size, None if err is None else portable(err))
            for url, size, err in deletions(conn._store(doomed[0][0]), doomed)]


def record(report: Report, results: Iterable[Deletion]) -> None:
    """One delete or fail event per ``(url, size, error or None)``."""
    for url, size, err in results:
        report.add(Event("delete", None, url, size=size) if err is None else
                   Event("fail", None, url, str(err), size), err)
