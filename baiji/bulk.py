"""Many copies at once: ``cp_many``, ``cp_r``, and the run of copies they and ``sync`` share.

A tree is copied from its listing: the items under a directory, planned
(:mod:`baiji.sync.plan`) into ``(src, dst, size)`` copies exactly below the
target, run by :mod:`baiji.util.parallel`, each one an event of a
:class:`~baiji.report.Report`, whose failures end as one
:class:`BulkCopyError`.  ``cp_many`` and ``cp_r`` are the bodies of the
:class:`~baiji.connection.S3Connection` methods of those names (``conn``),
whose docstrings are their contracts.
"""

from __future__ import annotations

import itertools
import os
from typing import Iterable, Iterator

from baiji import path as paths
from baiji.exceptions import KeyExists, S3Exception, SameFile
from baiji.filters import Selector
from baiji.progress import bulk_progress, counted
from baiji.report import Event, Listener, Planned, Report, Resumed, by_cause, warn_caller
from baiji.stores import Entry, Store
from baiji.stores.base import Listed
from baiji.stores.local import require_regular
from baiji.sync import plan as sync_plan
from baiji.transfer import refuse_missing_bucket, unsafe_relative_path
from baiji.util.parallel import check_workers, run_copies


def _differ(src: Entry, dst: Entry) -> bool:
    """A ``same_content`` for plans that need no comparison: every pair found differs."""
    return False


def check_bulk_args(workers=None, max_delete=None, cp_kwargs: dict | None = None, cp=None) -> None:
    """Refuse bad arguments of a bulk operation up front, dry run or not (before anything is
    listed or copied): ``workers`` and ``max_delete`` below 0, an option ``cp`` (the
    connection's method) does not take."""
    check_workers(workers)
    if max_delete is not None and (isinstance(max_delete, bool) or not isinstance(max_delete, int)
                                   or max_delete < 0):
        raise ValueError(f"max_delete must be a whole number >= 0, not {max_delete!r}")
    if not cp_kwargs:
        return
    code = cp.__code__
    unknown = sorted(set(cp_kwargs or ()) - set(code.co_varnames[3:code.co_argcount + code.co_kwonlyargcount]))
    if unknown:
        raise TypeError(f"unexpected keyword argument {', '.join(map(repr, unknown))} (not an option of cp)")


class BulkCopyError(S3Exception):
    """Some parts of a bulk operation failed; ``failures`` lists ``(src, dst, error)``.

    ``dst`` is None for a failure that concerns ``src`` alone (a deletion, a
    path a listing could not use).  ``total`` counts what was tried, ``noun``
    names it in the message ("copies", "deletions", ...); ``note`` is appended.  The
    message names each cause once (see :func:`baiji.report.by_cause`): ``302 of 302
    copies failed: Permission denied (/dst/a and 301 more)``.
    """

    def __init__(self, failures: list, total: int, noun: str = "copies", note: str = "",
                 report: Report | None = None):
        self.failures, self.total, self.report = failures, total, report
        super().__init__(f"{len(failures)} of {total} {noun} failed: {by_cause(failures)}{note}")

    def __reduce__(self):
        return S3Exception, (str(self),)


def cp_many(conn, pairs: Iterable[tuple[str, str]], parallel: bool, executor, processes: int | None,
            workers: int | None, on_event: Listener | None, **cp_kwargs) -> Report:
    check_bulk_args(workers, None, cp_kwargs, conn.cp)
    report = Report(on_event)
    copy_all(conn, ((src, dst, None) for src, dst in pairs), report, cp_kwargs, parallel=parallel,
             executor=executor, processes=processes, workers=workers)
    return finished(report, "copies")


def copy_all(conn, copies: Iterable[tuple[str, str, int | None]], report: Report, cp_kwargs: dict,
             **run) -> None:
    """Copy every ``(src, dst, size)`` (``size`` from a listing, or None), one event each in ``report``.

    With a progress bar the copies are planned whole first (on disk past a few:
    :func:`~baiji.progress.counted`), so that the bar has a total (files, and
    bytes where the sizes are known).
    """
    cp_kwargs = dict(cp_kwargs)
    progress = cp_kwargs.pop("progress", False)
    cp_kwargs.pop("skip", None)  # an existing dst is a skip event here, never a warning per key
    totals = None
    if progress is True:
        copies, totals = counted(copies)
    sizes: dict[tuple[str, str], int | None] = {}

    def pairs() -> Iterator[tuple[str, str]]:
        for src, dst, size in copies:
            sizes[src, dst] = size
            yield src, dst

    with bulk_progress(progress, report, totals):
        for src, dst, err in run_copies(conn, pairs(), cp_kwargs, recipe=conn._worker_recipe(), **run):
            size = sizes.pop((src, dst), None)
            if err is None:
                report.add(Event("copy", src, dst, size=size))
            elif isinstance(err, Resumed):
                report.add(Event("resume", src, dst, err.reason, size))
            elif isinstance(err, KeyExists) and not isinstance(err, SameFile):
                report.add(Event("skip", src, dst, "already exists", size))
            else:
                report.add(Event("fail", src, dst, str(err), size), err)


def finished(report: Report, noun: str, note: str = "", total: int | None = None,
             warn_skips: bool = True) -> Report:
    """``report``, done: ``BulkCopyError`` if anything failed or was refused (of
    ``total`` tried, by default every file but the deleted), else (``warn_skips``)
    one warning, pointing at the caller's line, for the files skipped as existing."""
    report.done()
    if report.failures:
        tried = total if total is not None else sum(report.files.values()) - report.deleted
        raise BulkCopyError(report.failures, tried, noun, note, report=report)
    if report.skipped and warn_skips:
        first, more = report.first["skip"], report.skipped - 1
        try:
            warn_caller(f"Skipping {report.skipped} {'file' if report.skipped == 1 else 'files'} whose "
                        f"destination exists ({first.src} -> {first.dst}: {first.reason}"
                        + (f"; and {more} more)" if more else ")"))
        except Warning as err:  # an error filter (-W error): raised after the copies; keep what they did
            err.report = report  # type: ignore[attr-defined]  # the warning carries the report
            raise
    return report


def refusals(report: Report, refused: list) -> None:
    """Count the ``(url, None, error)`` a plan refused, as refuse events."""
    for url, _, err in refused:
        report.add(Event("refuse", url, None, str(err)), err)


def cp_r(conn, src_dir: str, dst_dir: str, parallel: bool, executor, processes: int | None,
         workers: int | None, dry_run: bool, on_event: Listener | None, exclude, include,
         **cp_kwargs) -> Report | list[Planned]:
    check_bulk_args(workers, None, cp_kwargs, conn.cp)
    selector = Selector(exclude, include)
    src_store, dst_store = conn._store(src_dir), conn._store(dst_dir)
    if src_store.is_local and not os.path.isdir(paths.parse(src_dir).path):
        src_store.stat(src_dir)  # KeyNotFound naming it when missing
        raise ValueError(f"{src_dir} is not a directory (use cp to copy a file)")
    contents = src_dir.endswith(("/", os.sep)) or paths.basename(src_dir) in (".", "..")  # never a key 'p/./a'
    target = dst_dir if contents else paths.join(dst_dir, paths.basename(src_dir))
    refuse_nested(src_store, src_dir, dst_store, target, ("",))  # a copy into itself copies its copies
    items, _ = dir_items(conn, src_store, src_dir, selector, followlinks=True)  # like sync: loops are reported
    skipped: list = []
    report = Report(on_event)
    if not cp_kwargs.get("force") and (src_store is dst_store and not dst_store.is_local or executor is not None):
        # one listing decides: no HEAD per key; and a chunk an executor runs again (its worker
        # died) overwrites its own first copies instead of reporting them as skipped
        items = _absent(conn, items, dst_store, target, skipped.append if dry_run else report.add)
        cp_kwargs = {**cp_kwargs, "force": True}
    actions = sync_plan.plan(items, [], same_content=_differ, tree=dst_store.is_local)
    refused: list = []
    copies = copies_of(conn, actions, dst_store, target, refused, [])
    if dry_run:
        refuse_missing_bucket(conn, target)
        planned = []
        for src, dst, size in placeable(copies, dst_store, refused):
            exists = not cp_kwargs.get("force") and dst_store.exists(dst)
            planned.append(Planned("skip", src, dst, "already exists", size) if exists else
                           Planned("copy", src, dst, size=size))
        return planned + skipped + [Planned("refuse", url, None, str(err)) for url, _, err in refused]
    copy_all(conn, copies, report, {**cp_kwargs, "exact": True}, parallel=parallel, executor=executor,
             processes=processes, workers=workers)
    refusals(report, refused)
    return finished(report, "copies")


def ordered_listing(conn, store: Store, prefix: str, followlinks: bool = False, prune=None) -> Iterable[Entry]:
    """The entries under ``prefix`` in key order: a local listing sorts itself, and AWS
    lists in key order (the planner still checks each listing as it goes); another
    server's listing is checked whole first, listed once (``sync_plan.in_order``).
    ``prune``: see ``Store.list``."""
    if store.is_local or conn._s3.lists_in_order:
        return store.list(prefix, followlinks=followlinks, prune=prune)
    return sync_plan.in_order(lambda: store.list(prefix), prefix)


def dir_items(conn, store: Store, url: str, selector: Selector,
              followlinks: bool = False) -> tuple[Iterable[sync_plan.Item], bool]:
    """The items under the directory ``url`` that ``selector`` selects, in key order, and
    whether there are any items at all (selected or not).

    An s3 ``url`` is the prefix ``url/`` (also when ``url`` is a key too);
    one without a trailing slash that has nothing under it but is a key ->
    ``ValueError``: a key is no directory (one HEAD, only then).
    """
    prefix = store.dir_prefix(url)
    listing = ordered_listing(conn, store, prefix, followlinks, selector.prune)
    items = sync_plan.relative_items(listing, prefix, store.sep)
    first = next(items, None)
    if first is not None:
        return selector.items(itertools.chain([first], items)), True
    if not store.is_local and not url.endswith("/") and store.isfile(url):
        raise ValueError(f"{url} is a key, not a directory (use cp or sync_file for one key)")
    return iter(()), False


def copies_of(conn, actions: Iterable[sync_plan.Action], dst_store: Store, target: str,
              refused: list, doomed: list) -> Iterator[tuple[str, str, int | None]]:
    """The ``(src, dst, size)`` of the copy actions, ``dst`` exactly below ``target``.

    Problems, conflicts, keys that would leave a local ``target`` and names the destination
    cannot take go to ``refused`` as ``(url, None, error)``; deletions to ``doomed`` as ``(url, size)``.
    """
    for action in actions:
        if action.kind == "delete":
            doomed.append((action.dst.url, action.dst.size))
            continue
        if action.kind == "problem":
            entry = action.src if action.src and action.src.problem else action.dst
            refused.append((entry.url, None, S3Exception(f"{entry.url}: {entry.problem}")))
            continue
        src, reason = action.src.url, dst_store.is_local and unsafe_relative_path(action.rel)
        if reason:
            refused.append((src, None, S3Exception(f"refusing to copy {src}: {reason} in key")))
            continue
        try:
            dst = dst_store.child(target, action.rel)  # S3Exception: a symlinked local directory on the way
            conn._store(dst)  # ValueError: a name no store takes (a key that is not UTF-8), as cp finds
        except (S3Exception, ValueError) as err:
            refused.append((src, None, err))
            continue
        if action.kind == "conflict":
            refused.append((src, None, S3Exception(f"{src}: not copied to {dst}: {action.reason}")))
        else:
            yield Listed(src, action.src.etag), dst, action.src.size


def placeable(copies: Iterable[tuple[str, str, int | None]], dst_store: Store,
              refused: list) -> Iterator[tuple[str, str, int | None]]:
    """A dry run's copies, without those the copy itself would refuse in a local tree (a
    directory where the file goes, empty or not; a file on the way; a special file),
    which go to ``refused``: the listings alone do not show an empty directory."""
    for src, dst, size in copies:
        local = paths.parse(dst).path if dst_store.is_local else None
        try:
            if local and os.path.isdir(local):
                raise S3Exception(f"{dst}: a directory is in the way")
            if local:
                require_regular(local, writing=True)
        except S3Exception as err:
            refused.append((src, None, err))
            continue
        yield src, dst, size


def _absent(conn, items: Iterable[sync_plan.Item], store: Store, target: str,
            skip: Listener) -> Iterator[sync_plan.Item]:
    """The items with nothing at their place under ``target``; ``skip`` gets a skip event for each other.

    One merge with the destination's listing decides, so a key created
    there after the listing passed its name would be overwritten (a
    HEAD before each copy narrows that window but does not close it).
    """
    prefix = store.dir_prefix(target)
    there = sync_plan.relative_items(ordered_listing(conn, store, prefix), prefix, store.sep)
    for action in sync_plan.plan(items, there, same_content=_differ, do_not_delete=("",)):
        if action.dst is None:
            yield action.rel, action.src
        else:
            skip(Event("skip", action.src.url, action.dst.url, "already exists", action.src.size))


def refuse_nested(src_store: Store, src_dir: str, dst_store: Store, dst_dir: str,
                  keep: tuple[str, ...]) -> None:
    """``ValueError`` when one side of a sync lies inside the other (the same place is fine).

    A destination inside the source would be copied into itself on every
    run; a destination holding the source would delete the source (it is
    not in its own listing), unless ``keep`` protects it.
    """
    if src_store is not dst_store:
        return

    def tree(store, url):
        if store.is_local:
            return os.path.join(os.path.realpath(paths.parse(url).path), "")
        return store.dir_prefix(url)

    src, dst = tree(src_store, src_dir), tree(dst_store, dst_dir)
    if src == dst:
        return
    if dst.startswith(src):
        raise ValueError(f"{dst_dir} is inside the source {src_dir}: it would be copied into itself")
    if src.startswith(dst):
        rel = src[len(dst):].replace(os.sep, "/") if dst_store.is_local else src[len(dst):]
        if not any(rel.startswith(prefix) for prefix in keep):
            raise ValueError(f"the source {src_dir} is inside {dst_dir}: the sync would delete it "
                             "(protect it with do_not_delete / -D, or sync to another place)")
