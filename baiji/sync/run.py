"""Sync, carried out: list both sides, plan (:mod:`baiji.sync.plan`), copy, and only after a
clean run delete; a dry run returns the plan instead.

``sync`` and ``sync_file`` are the bodies of the :class:`~baiji.connection.S3Connection`
methods of those names (``conn``), whose docstrings are their contracts.
"""

from __future__ import annotations

import os
from typing import Iterable

from baiji import path as paths
from baiji.bulk import (check_bulk_args, copies_of, copy_all, dir_items, finished, ordered_listing, placeable,
                        refusals, refuse_nested)
from baiji.exceptions import KeyNotFound, S3Exception
from baiji.filters import Selector
from baiji.inspect import same_entries
from baiji.removal import delete_all, refuse_too_many, too_many
from baiji.report import Listener, Planned, Report
from baiji.stores import Entry
from baiji.sync import plan as sync_plan


#: The options of what is written that ``sync`` passes on to ``cp`` besides its own.
WRITE_OPTIONS = frozenset(("content_type", "metadata", "cache_control", "content_disposition", "expires",
                           "storage_class", "sse", "sse_kms_key_id"))


def sync_file(conn, src: str, dst: str, update: bool, delete: bool, progress, policy: str | None,
              encoding: str | None, encrypt: bool, guess_content_type: bool) -> None:
    src_store, dst_store = conn._store(src), conn._store(dst)
    try:
        src_entry = src_store.stat(src)
    except KeyNotFound as err:
        if not delete:
            raise
        # a missing bucket or directory (a typo, an unmounted disk) says nothing about the file
        container = (os.path.isdir(os.path.dirname(paths.parse(src).path)) if src_store.is_local
                     else conn._s3.bucket_exists(paths.bucket(src)))
        if not container:
            raise KeyNotFound(f"{src}: its {'directory' if src_store.is_local else 'bucket'} does not "
                              f"exist; {dst} not deleted") from err
        if dst_store.exists(dst):
            conn.rm(dst)
        return
    try:
        dst_entry = dst_store.stat(dst)
    except KeyNotFound:
        dst_entry = None
    if dst_entry is not None and (not update or (src_entry.size == dst_entry.size
                                                 and same_entries(conn, src_entry, dst_entry))):
        return
    conn.cp(src, dst, force=True, progress=progress, policy=policy, encoding=encoding,
            encrypt=encrypt, guess_content_type=guess_content_type)


def sync(conn, src_dir: str, dst_dir: str, followlinks: bool, do_not_delete, progress, policy: str | None,
         encoding: str | None, encrypt: bool, guess_content_type: bool, parallel: bool, executor,
         processes: int | None, max_delete: int | None, workers: int | None, dry_run: bool,
         on_event: Listener | None, exclude, include, delete: bool, write_options: dict,
         resume: bool) -> Report | list[Planned]:
    check_bulk_args(workers, max_delete)
    unknown = sorted(set(write_options) - WRITE_OPTIONS)
    if unknown:
        raise TypeError(f"unexpected keyword argument {', '.join(map(repr, unknown))} (not a write option of cp)")
    if not delete and (do_not_delete or max_delete is not None):
        raise ValueError("delete=False deletes nothing: do_not_delete and max_delete have nothing to guard")
    selector = Selector(exclude, include)
    src_store, dst_store = conn._store(src_dir), conn._store(dst_dir)
    for url, store in ((src_dir, src_store), (dst_dir, dst_store)):
        local = paths.parse(url).path if store.is_local else None
        if local and os.path.exists(local) and not os.path.isdir(local):
            raise ValueError(f"{url} is not a directory")
    if src_store.is_local and not os.path.isdir(paths.parse(src_dir).path):
        raise ValueError(f"{src_dir} is not a directory")
    keep = sync_plan.keep_prefixes(do_not_delete, dst_dir)
    refuse_nested(src_store, src_dir, dst_store, dst_dir, keep)
    src_items, src_found = dir_items(conn, src_store, src_dir, selector, followlinks)
    dst_prefix = dst_store.dir_prefix(dst_dir)
    unreadable = []
    report = Report(on_event)

    def same_content(src: Entry, dst: Entry) -> bool:
        try:
            same = same_entries(conn, src, dst)
        except S3Exception as err:  # unreadable, vanished...: that path fails, the rest goes on
            unreadable.append((src.url, None, err))
            return True
        report.unchanged += same
        return same

    actions = sync_plan.plan(
        src_items, selector.items(sync_plan.relative_items(
            ordered_listing(conn, dst_store, dst_prefix, prune=selector.prune), dst_prefix, dst_store.sep)),
        same_content, keep, tree=dst_store.is_local)
    if not delete:  # the plan's deletions are dropped before anything runs (copies_of is lazy)
        actions = (action for action in actions if action.kind != "delete")
    doomed: list = []
    refused: list = []
    copies = copies_of(conn, actions, dst_store, dst_prefix, refused, doomed)
    if dry_run:
        return _planned_sync(placeable(copies, dst_store, refused), refused, unreadable, doomed,
                             src_found or src_store.is_local, max_delete)
    copy_all(conn, copies, report, dict(exact=True, force=True, progress=progress, policy=policy,
                                        encoding=encoding, encrypt=encrypt,
                                        guess_content_type=guess_content_type, resume=resume, **write_options),
             parallel=parallel, executor=executor, processes=processes, workers=workers)
    refusals(report, refused + unreadable)
    if report.failures:  # deletes only after a clean run: this raises BulkCopyError
        finished(report, "files to sync",
                 f"; nothing deleted ({len(doomed)} deletions held back)" if doomed else "")
    if doomed and not src_found and not src_store.is_local:
        raise ValueError(f"{src_dir}: no keys under this prefix (missing or empty); nothing deleted "
                         f"of the {len(doomed)} files under {dst_dir} (rm -r empties a destination)")
    refuse_too_many(len(doomed), max_delete, dst_dir)
    delete_all(report, dst_store, doomed)
    return finished(report, "deletions", total=len(doomed))


def _planned_sync(copies: Iterable[tuple[str, str, int | None]], refused: list, unreadable: list,
                  doomed: list[tuple[str, int | None]], src_found: bool,
                  max_delete: int | None) -> list[Planned]:
    """A sync's dry run: the copies, then the refusals, then the deletions the real run would make."""
    planned = [Planned("copy", src, dst, size=size) for src, dst, size in copies]
    planned += [Planned("refuse", url, None, str(err)) for url, _, err in refused + unreadable]
    held = ("a copy would fail or be refused" if refused or unreadable else
            "the source has no keys (missing or empty)" if not src_found else
            f"more than max_delete={max_delete}" if too_many(len(doomed), max_delete) else "")
    return planned + [Planned("refuse", None, url, f"not deleted: {held}", size) if held else
                      Planned("delete", None, url, size=size) for url, size in doomed]
