"""S3Connection: every public operation, written once against the store interface.

``store_for`` (in :mod:`baiji.stores`) picks the local or the S3 store for
a URL; the operations here never look at schemes themselves.  A copy is one
of three cases: within one store (server-side for S3), to the local disk
(a download), or from it (an upload).
"""

from __future__ import annotations

import filecmp
import fnmatch
import gzip as gzip_module
import itertools
import mimetypes
import os
import re
import shutil
import sys
import warnings
from datetime import datetime, timedelta, timezone
from typing import Iterable, Iterator

from baiji import config, fileobj, integrity, resume, sync as sync_plan
from baiji import path as paths
from baiji.exceptions import (BucketNotEmpty, BucketNotFound, EventualConsistencyWarning, InvalidSchemeException,
                              IsADirectory, KeyExists, KeyNotFound, S3Exception, S3Warning, SameFile)
from baiji.filters import Selector
from baiji.progress import bulk_progress, reporter
from baiji.report import Event, Listener, Report, Resumed, warn_caller
from baiji.stores import Entry, S3Store, Store, WriteOptions, store_for
from baiji.stores.base import DEFAULT_CONTENT_TYPE, SOURCE_ETAG_METADATA, Listed
from baiji.stores.local import require_regular
from baiji.stores.local import translated as local_errors
from baiji.stores.s3 import translated as s3_errors
from baiji.stores.s3_control import in_xml
from baiji.stores.s3_uploads import Upload
from baiji.tempfiles import temp_path
from baiji.util import parallel as bulk

_HTML_SNIFF = b"<!doctype html"
_UNSAFE_CHARS = {chr(c) for c in range(32)} | {"\x7f"}


def _guess_content_type(path: str) -> str:
    guessed, _ = mimetypes.guess_type(path)
    if guessed:
        return guessed
    if not os.path.splitext(path)[1]:
        with local_errors(path), open(path, "rb") as f:
            if _HTML_SNIFF in f.read(100).lower():
                return "text/html"
    return DEFAULT_CONTENT_TYPE


def _confirm(question: str) -> bool:
    """Ask on the terminal (the question on stderr, like ``rm -i``)."""
    sys.stderr.write(question)
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def unsafe_relative_path(rel: str) -> str | None:
    """Why ``rel`` must not be written below a local directory, or None if it is safe."""
    if not rel or rel.startswith(("/", "\\")) or (len(rel) > 1 and rel[1] == ":"):
        return "absolute path"
    parts = rel.replace("\\", "/").split("/")
    if any(part in ("..", ".") for part in parts):
        return "'..' or '.' segment"
    if any(part == "" for part in parts):
        return "empty path segment"
    if _UNSAFE_CHARS & set(rel):
        return "control character"
    return None


def _differ(src: Entry, dst: Entry) -> bool:
    """A ``same_content`` for plans that need no comparison: every pair found differs."""
    return False


def _usable(entries: Iterable[Entry]) -> Iterator[Entry]:
    """The entries of a listing without its problem entries, each reported as an ``S3Warning``."""
    for entry in entries:
        if entry.problem:
            warnings.warn(f"{entry.url}: {entry.problem}", S3Warning, stacklevel=3)
        else:
            yield entry


def _require_local_path(store: Store, url: str) -> None:
    """``KeyNotFound`` for a local path that is not there (an s3 prefix is a string prefix: it may match nothing)."""
    if store.is_local and not os.path.lexists(paths.parse(url).path):
        raise KeyNotFound(f"{url}: no such file or directory")


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


def _placed(src: str, dst: str) -> str:
    """Where ``cp`` puts ``src`` given ``dst``: ``dst/basename(src)`` for a directory-like ``dst``."""
    return paths.join(dst, paths.basename(src)) if paths.isdirlike(dst) else dst


#: One step of a dry run: what would happen to one file (see :class:`baiji.report.Event`).
Planned = Event


class TooManyDeletions(S3Exception):
    """More would be deleted than ``max_delete`` allows: nothing was."""


def _too_many(count: int, max_delete: int | None) -> bool:
    return max_delete is not None and count > max_delete


def _refuse_too_many(count: int, max_delete: int | None, where: str, counted_all: bool = True) -> None:
    """``TooManyDeletions`` when ``count`` deletions (at least, unless ``counted_all``) exceed ``max_delete``."""
    if _too_many(count, max_delete):
        shown = count if counted_all else f"more than {max_delete}"
        raise TooManyDeletions(f"{where}: {shown} files would be deleted, more than max_delete={max_delete} "
                               "allows; nothing deleted")


def _check_bulk_args(workers=None, max_delete=None, cp_kwargs: dict | None = None) -> None:
    """Refuse bad arguments of a bulk operation up front, dry run or not (before anything is
    listed or copied): ``workers`` and ``max_delete`` below 0, an option ``cp`` does not take."""
    bulk.check_workers(workers)
    if max_delete is not None and (isinstance(max_delete, bool) or not isinstance(max_delete, int)
                                   or max_delete < 0):
        raise ValueError(f"max_delete must be a whole number >= 0, not {max_delete!r}")
    code = S3Connection.cp.__code__
    unknown = sorted(set(cp_kwargs or ()) - set(code.co_varnames[3:code.co_argcount + code.co_kwonlyargcount]))
    if unknown:
        raise TypeError(f"unexpected keyword argument {', '.join(map(repr, unknown))} (not an option of cp)")


class BulkCopyError(S3Exception):
    """Some parts of a bulk operation failed; ``failures`` lists ``(src, dst, error)``.

    ``dst`` is None for a failure that concerns ``src`` alone (a deletion, a
    path a listing could not use).  ``total`` counts what was tried, ``noun``
    names it in the message ("copies", "deletions", ...); ``note`` is appended.
    """

    def __init__(self, failures: list, total: int, noun: str = "copies", note: str = "",
                 report: Report | None = None):
        self.failures, self.total, self.report = failures, total, report
        detail = "; ".join(f"{src} -> {dst}: {err}" if dst else str(err) for src, dst, err in failures[:20])
        more = f"; and {len(failures) - 20} more" if len(failures) > 20 else ""
        super().__init__(f"{len(failures)} of {total} {noun} failed: {detail}{more}{note}")

    def __reduce__(self):
        return S3Exception, (str(self),)


class S3Connection:
    """The public API of baiji; ``baiji.s3``'s functions call a per-process instance.

    ``profile``, ``region`` and ``endpoint_url`` override botocore's chain;
    ``client`` injects a ready boto3 client.  Creating a connection does no I/O.
    """

    def __init__(self, profile: str | None = None, region: str | None = None,
                 endpoint_url: str | None = None, client=None, sign: bool = True,
                 verify: bool | str | None = None):
        self.profile, self.region, self.endpoint_url = profile, region, endpoint_url
        self.sign, self.verify = sign, verify
        self._given_client = client
        self._session = None
        self._s3 = S3Store(self._make_client, self._make_target)

    def _boto_session(self):
        """The boto3 session of the client and of the target off the fast path, made once
        (both are made under the store's lock), so the credential chain runs once."""
        if self._session is None:
            self._session = config.make_session(self.profile)
        return self._session

    def _make_client(self, region: str | None = None):
        if self._given_client is not None:
            return self._given_client
        target = self._s3.target
        return config.make_client(target._replace(region=region) if region else target, session=self._boto_session())

    def _make_target(self) -> config.Target:
        if self._given_client is not None:
            return config.target_of_client(self._given_client)
        return config.resolve(self.profile, self.region, self.endpoint_url, new_session=self._boto_session,
                              sign=self.sign, verify=self.verify)

    @property
    def client(self):
        """The boto3 S3 client (created on first use)."""
        return self._s3.client

    def loaded_client(self):
        """The boto3 client if one was created or injected, else None (never creates one)."""
        return self._given_client or self._s3.loaded_client

    def loaded_target(self) -> config.Target | None:
        """The resolved configuration if it was resolved already, else None (never resolves it)."""
        return self._s3.loaded_target

    def settings(self) -> dict:
        """Plain data from which another process builds an equivalent connection."""
        return {"profile": self.profile, "region": self.region, "endpoint_url": self.endpoint_url,
                "sign": self.sign, "verify": self.verify}

    def _store(self, url: str) -> Store:
        return store_for(url, self._s3)

    def _remote(self, url: str) -> S3Store:
        if self._store(url).is_local:
            raise InvalidSchemeException(f"{url}: an s3:// URL is needed here")
        return self._s3

    # -- open ------------------------------------------------------------
    def open(self, key: str, mode: str = "rb", version_id: str | None = None):
        """Open a local file or an s3 key like ``open()`` (see :mod:`baiji.fileobj`)."""
        return fileobj.open_key(self, self._store(key), key, mode, version_id)

    # -- copying ---------------------------------------------------------
    def cp(self, src: str, dst: str, force: bool = False, progress=False, policy: str | None = None,
           preserve_acl: bool = False, encoding: str | None = None, encrypt: bool = True,
           gzip: bool = False, content_type: str | None = None, guess_content_type: bool = False,
           metadata: dict | None = None, skip: bool = False, validate: bool = True,
           max_size: int | None = None, version_id: str | None = None, exact: bool = False,
           resume: bool = True) -> bool | Resumed:
        """Copy ``src`` to ``dst``, each a local path or an s3 URL (SPEC 2, "Copying").

        Returns True, or False when ``skip`` skipped an existing ``dst``, or a (true)
        :class:`~baiji.report.Resumed` when ``resume`` continued an interrupted upload or
        download of this very source and destination (README "Resuming").
        ``exact`` (the bulk copies of ``cp_r`` and ``sync``, whose destinations
        are computed): write ``dst`` itself, never ``dst/basename(src)``; a
        directory there is an error.
        ``SameFile`` (a ``KeyExists`` and a ``ValueError``) when ``dst`` is ``src`` itself, even with
        ``force`` (see :meth:`_same_file`).
        """
        src_store, dst_store = self._store(src), self._store(dst)
        if paths.isdirlike(src):
            raise ValueError(f"{src} is a directory; use cp_r to copy directories")
        dst_is_dir = paths.isdirlike(dst)  # a stat for a local dst: asked once
        if exact and dst_is_dir:
            raise S3Exception(f"{dst}: a directory is in the way")
        if dst_is_dir:
            reason = dst_store.is_local and not src_store.is_local and unsafe_relative_path(paths.basename(src))
            if reason:  # e.g. s3://b/dir/.. into dst/ would target dst/..
                raise ValueError(f"refusing to copy {src} into {dst}: {reason} in key")
            dst = paths.join(dst, paths.basename(src))
            dst_store = self._store(dst)  # the name made must be one a store takes (UTF-8 for a key)
        if self._same_file(src_store, src, dst_store, dst, version_id):
            raise SameFile(f"{src} and {dst} are the same file")
        if dst_store.is_local:  # a download would be renamed over a device node or FIFO (/dev/null!)
            require_regular(paths.parse(dst).path, writing=True)
        s3_only = {"policy": policy, "encoding": encoding, "content_type": content_type,
                   "metadata": metadata, "gzip": gzip}
        if dst_store.is_local:
            given = [name for name, value in s3_only.items() if value]
            if given:
                raise ValueError(f"{', '.join(given)}: only for s3 destinations, not {dst}")
        if gzip and not src_store.is_local:
            raise ValueError(f"gzip: only for uploads of local files, not {src}")
        if gzip and encoding not in (None, "gzip"):
            raise ValueError(f"gzip and encoding={encoding!r} cannot be combined")
        if preserve_acl and (src_store.is_local or dst_store.is_local):
            raise ValueError("preserve_acl: only for s3 -> s3 copies")
        if preserve_acl and policy:
            raise ValueError("policy and preserve_acl cannot be combined")
        options = WriteOptions(policy=policy, encrypt=encrypt, content_encoding=encoding,
                               content_type=content_type, metadata=metadata,
                               exclusive=not force, part_size=max_size, resume=resume)
        try:
            if dst_store.is_local and not force and os.path.exists(paths.parse(dst).path):
                raise KeyExists(f"{dst} already exists")
            if preserve_acl:
                options.grants = self._s3.grants_of(src, version_id)
            there = self._transfer(src_store, src, dst_store, dst, options, progress, validate,
                                   version_id, gzip, guess_content_type)
        except KeyExists:
            if skip:
                warnings.warn(f"Skipping {src}: {dst} already exists", UserWarning, stacklevel=2)
                return False
            raise
        except KeyNotFound as err:
            raise type(err)(f"Error copying {src} to {dst}: {err}") from err
        return Resumed(there, self.size(src, version_id)) if there else True

    @staticmethod
    def _same_file(src_store: Store, src: str, dst_store: Store, dst: str, version_id: str | None) -> bool:
        """Whether ``dst`` is ``src`` itself, so that a copy would at best change nothing and
        a move would remove the only copy: the same key (and no other version of it), or
        the same local file (``os.path.samefile``: through symlinks and hard links too).
        """
        if src_store is not dst_store:
            return False
        src_parsed, dst_parsed = paths.parse(src), paths.parse(dst)
        if not src_store.is_local:
            return version_id is None and src_parsed[:3] == dst_parsed[:3]
        try:
            return os.path.samefile(src_parsed.path, dst_parsed.path)
        except OSError:  # one of them is missing: not the same
            return False

    def _transfer(self, src_store: Store, src: str, dst_store: Store, dst: str,
                  options: WriteOptions, progress, validate: bool, version_id: str | None,
                  gzip: bool, guess_content_type: bool) -> int | None:
        """Copy ``src`` to ``dst``: the bytes an interrupted copy had moved already (None: not resumed)."""
        total = None if progress is not True else src_store.stat(src, version_id).size
        with reporter(progress, total, desc=paths.basename(src)) as callback:
            if src_store is dst_store:
                dst_store.copy(src, dst, options, version_id, callback)
            elif dst_store.is_local:
                return src_store.download(src, paths.parse(dst).path, version_id, callback, validate,
                                          exclusive=options.exclusive, resume=options.resume)
            else:
                local = paths.parse(src).path
                if not os.path.isfile(local):
                    src_store.stat(src)  # KeyNotFound / permission error, naming src
                    raise S3Exception(f"{src}: not a regular file")
                if not options.content_type:
                    options.content_type = (_guess_content_type(local) if guess_content_type
                                            else DEFAULT_CONTENT_TYPE)
                if not gzip:
                    return dst_store.upload(local, dst, options, callback)
                options.content_encoding = "gzip"
                with temp_path(suffix=".gz") as packed:
                    # the gzip header names the source file, not baiji's temp file
                    with local_errors(local), open(local, "rb") as fin, open(packed, "wb") as raw, \
                            gzip_module.GzipFile(os.path.basename(local), "wb", fileobj=raw) as fout:
                        shutil.copyfileobj(fin, fout)
                    dst_store.upload(packed, dst, options, callback)
        return None

    def upload_fileobj(self, fileobj, dst: str, **cp_kwargs) -> bool:
        """Store what a binary file object (stdin, say) holds at ``dst``, with ``cp``'s options."""
        self._store(dst)  # refuses a path no store takes before it is looked at as a directory
        if paths.isdirlike(dst):
            raise ValueError(f"{dst}: a stream needs a destination name, not a directory")
        if not cp_kwargs.get("force") and not cp_kwargs.get("skip") and self.exists(dst, retries_allowed=0):
            raise KeyExists(f"{dst} already exists")
        with temp_path(suffix=os.path.splitext(paths.basename(dst))[1]) as tmp:
            with open(tmp, "wb") as f:
                shutil.copyfileobj(fileobj, f)
            return self.cp(tmp, dst, **cp_kwargs)

    def download_fileobj(self, src: str, fileobj, version_id: str | None = None) -> None:
        """Write the (verified) content of ``src`` to a binary file object (stdout, say)."""
        with self.open(src, "rb", version_id=version_id) as f:
            shutil.copyfileobj(f, fileobj)

    def cp_many(self, pairs: Iterable[tuple[str, str]], parallel: bool = False,
                executor=None, processes: int | None = None, workers: int | None = None,
                on_event: Listener | None = None, **cp_kwargs) -> Report:
        """Copy every ``(src, dst)`` pair; failures are collected and raised together.

        Returns the :class:`~baiji.report.Report` (copied, skipped, failed).
        A pair whose ``dst`` exists (``KeyExists``) is skipped and the rest go
        on: one warning at the end counts them (the ``on_event`` callback,
        called per file, names each).  ``parallel`` uses a ``multiprocessing.Pool``;
        ``executor`` any ``concurrent.futures.Executor`` (for instance a Dask
        cluster's).  ``workers``: copies in flight in each process (None or 0:
        32, see ``baiji.util.parallel.THREADS``).  ``progress``: True, a bar
        of files; a callable gets each copied file's size (None when unknown).
        """
        _check_bulk_args(workers, None, cp_kwargs)
        report = Report(on_event)
        self._copy_all(((src, dst, None) for src, dst in pairs), report, cp_kwargs, parallel=parallel,
                       executor=executor, processes=processes, workers=workers)
        return self._finished(report, "copies")

    def _copy_all(self, copies: Iterable[tuple[str, str, int | None]], report: Report, cp_kwargs: dict,
                  **run) -> None:
        """Copy every ``(src, dst, size)`` (``size`` from a listing, or None), one event each in ``report``.

        With a progress bar the copies are planned whole first, so that the bar
        has a total (files, and bytes where the sizes are known).
        """
        cp_kwargs = dict(cp_kwargs)
        progress = cp_kwargs.pop("progress", False)
        cp_kwargs.pop("skip", None)  # an existing dst is a skip event here, never a warning per key
        if progress is True:
            copies = list(copies)
        sizes: dict[tuple[str, str], int | None] = {}

        def pairs() -> Iterator[tuple[str, str]]:
            for src, dst, size in copies:
                sizes[src, dst] = size
                yield src, dst

        with bulk_progress(progress, report, copies if progress is True else None):
            for src, dst, err in bulk.run_copies(self, pairs(), cp_kwargs, **run):
                size = sizes.pop((src, dst), None)
                if err is None:
                    report.add(Event("copy", src, dst, size=size))
                elif isinstance(err, Resumed):
                    report.add(Event("resume", src, dst, err.reason, size))
                elif isinstance(err, KeyExists) and not isinstance(err, SameFile):
                    report.add(Event("skip", src, dst, "already exists", size))
                else:
                    report.add(Event("fail", src, dst, str(err), size), err)

    @staticmethod
    def _finished(report: Report, noun: str, note: str = "", total: int | None = None,
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
                err.report = report
                raise
        return report

    @staticmethod
    def _refusals(report: Report, refused: list) -> None:
        """Count the ``(url, None, error)`` a plan refused, as refuse events."""
        for url, _, err in refused:
            report.add(Event("refuse", url, None, str(err)), err)

    def cp_r(self, src_dir: str, dst_dir: str, parallel: bool = False, executor=None,
             processes: int | None = None, workers: int | None = None, dry_run: bool = False,
             on_event: Listener | None = None, exclude=None, include=None, **cp_kwargs) -> Report | list[Planned]:
        """Copy a directory tree like ``cp -r`` (``src_dir/``, ``.`` and ``..`` copy their contents).

        Returns the :class:`~baiji.report.Report`; files whose destination exists
        are skipped (one warning counts them) unless ``force``.  ``on_event``,
        ``workers``, ``progress``: as for :meth:`cp_many`.
        ``dry_run``: copy nothing; return the :class:`Planned` copies, skips and refusals.
        ``exclude``/``include``: glob patterns (a str or a list) of the paths under ``src_dir``
        to copy, see :mod:`baiji.filters`.
        """
        _check_bulk_args(workers, None, cp_kwargs)
        selector = Selector(exclude, include)
        src_store, dst_store = self._store(src_dir), self._store(dst_dir)
        if src_store.is_local and not os.path.isdir(paths.parse(src_dir).path):
            src_store.stat(src_dir)  # KeyNotFound naming it when missing
            raise ValueError(f"{src_dir} is not a directory (use cp to copy a file)")
        contents = src_dir.endswith(("/", os.sep)) or paths.basename(src_dir) in (".", "..")  # never a key 'p/./a'
        target = dst_dir if contents else paths.join(dst_dir, paths.basename(src_dir))
        self._refuse_nested(src_store, src_dir, dst_store, target, ("",))  # a copy into itself copies its copies
        items, _ = self._dir_items(src_store, src_dir, selector, followlinks=True)  # like sync: loops are reported
        report, skipped = Report(on_event), []
        if not cp_kwargs.get("force") and src_store is dst_store and not dst_store.is_local:
            items = self._absent(items, dst_store, target, skipped.append if dry_run else report.add)
            cp_kwargs = {**cp_kwargs, "force": True}  # one listing decided: no HEAD per key
        actions = sync_plan.plan(items, [], same_content=_differ, tree=dst_store.is_local)
        refused: list = []
        copies = self._copies(actions, dst_store, target, refused, [])
        if dry_run:
            self._refuse_missing_bucket(target)
            planned = []
            for src, dst, size in self._placeable(copies, dst_store, refused):
                exists = not cp_kwargs.get("force") and dst_store.exists(dst)
                planned.append(Planned("skip", src, dst, "already exists", size) if exists else
                               Planned("copy", src, dst, size=size))
            return planned + skipped + [Planned("refuse", url, None, str(err)) for url, _, err in refused]
        self._copy_all(copies, report, {**cp_kwargs, "exact": True}, parallel=parallel, executor=executor,
                       processes=processes, workers=workers)
        self._refusals(report, refused)
        return self._finished(report, "copies")

    def _listing(self, store: Store, prefix: str, followlinks: bool = False, prune=None) -> Iterable[Entry]:
        """The entries under ``prefix`` in key order: a local listing sorts itself, and AWS
        lists in key order (the planner still checks each listing as it goes); another
        server's listing is checked first (``sync_plan.in_order``), listing it twice.
        ``prune``: see ``Store.list``."""
        if store.is_local or self._s3.lists_in_order:
            return store.list(prefix, followlinks=followlinks, prune=prune)
        return sync_plan.in_order(lambda: store.list(prefix), prefix)

    def _dir_items(self, store: Store, url: str, selector: Selector,
                   followlinks: bool = False) -> tuple[Iterable[sync_plan.Item], bool]:
        """The items under the directory ``url`` that ``selector`` selects, in key order, and
        whether there are any items at all (selected or not).

        An s3 ``url`` is the prefix ``url/`` (also when ``url`` is a key too);
        one without a trailing slash that has nothing under it but is a key ->
        ``ValueError``: a key is no directory (one HEAD, only then).
        """
        prefix = store.dir_prefix(url)
        listing = self._listing(store, prefix, followlinks, selector.prune)
        items = sync_plan.relative_items(listing, prefix, store.sep)
        first = next(items, None)
        if first is not None:
            return selector.items(itertools.chain([first], items)), True
        if not store.is_local and not url.endswith("/") and store.isfile(url):
            raise ValueError(f"{url} is a key, not a directory (use cp or sync_file for one key)")
        return iter(()), False

    def _copies(self, actions: Iterable[sync_plan.Action], dst_store: Store, target: str,
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
                self._store(dst)  # ValueError: a name no store takes (a key that is not UTF-8), as cp finds
            except (S3Exception, ValueError) as err:
                refused.append((src, None, err))
                continue
            if action.kind == "conflict":
                refused.append((src, None, S3Exception(f"{src}: not copied to {dst}: {action.reason}")))
            else:
                yield Listed(src, action.src.etag), dst, action.src.size

    @staticmethod
    def _placeable(copies: Iterable[tuple[str, str, int | None]], dst_store: Store,
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

    def _absent(self, items: Iterable[sync_plan.Item], store: Store, target: str,
                skip: Listener) -> Iterator[sync_plan.Item]:
        """The items with nothing at their place under ``target``; ``skip`` gets a skip event for each other.

        One merge with the destination's listing decides, so a key created
        there after the listing passed its name would be overwritten (a
        HEAD before each copy narrows that window but does not close it).
        """
        prefix = store.dir_prefix(target)
        there = sync_plan.relative_items(self._listing(store, prefix), prefix, store.sep)
        for action in sync_plan.plan(items, there, same_content=_differ, do_not_delete=("",)):
            if action.dst is None:
                yield action.rel, action.src
            else:
                skip(Event("skip", action.src.url, action.dst.url, "already exists", action.src.size))

    def mv(self, src: str, dst: str, dry_run: bool = False, **cp_kwargs) -> list[Planned] | None:
        """Copy (as :meth:`cp`), then remove the source (that version of it, with ``version_id``).

        A copy that is refused (``dst`` is ``src`` itself), fails or is skipped keeps the source.
        ``dry_run``: move nothing; return the :class:`Planned` copy and delete (or the refusal).
        """
        if dry_run:
            return self._planned_move(src, dst, cp_kwargs)
        if self.cp(src, dst, **cp_kwargs):
            self._refuse_collapsed_key(src, dst)
            self.rm(src, version_id=cp_kwargs.get("version_id"))

    def _planned_move(self, src: str, dst: str, cp_kwargs: dict) -> list[Planned]:
        if paths.isdirlike(src):  # as cp refuses it
            raise ValueError(f"{src} is a directory; use cp_r to copy directories")
        dst = _placed(src, dst)
        self._refuse_missing_bucket(dst)
        src_store, dst_store = self._store(src), self._store(dst)
        if self._same_file(src_store, src, dst_store, dst, cp_kwargs.get("version_id")):
            return [Planned("refuse", src, dst, f"{src} and {dst} are the same file")]
        src_store.stat(src, cp_kwargs.get("version_id"))  # KeyNotFound naming it
        if not cp_kwargs.get("force") and dst_store.exists(dst):
            return [Planned("refuse", src, dst, f"{dst} already exists (use force)")]
        return [Planned("copy", src, dst), Planned("delete", None, src)]

    def _refuse_missing_bucket(self, url: str) -> None:
        """A dry run's ``BucketNotFound`` for a destination in a missing bucket, where every
        real copy would fail (as ``sync``'s dry run finds when it lists the destination)."""
        if not self._store(url).is_local and not self._s3.bucket_exists(paths.bucket(url)):
            raise BucketNotFound(f"{url}: bucket {paths.bucket(url)} does not exist")

    def _refuse_collapsed_key(self, src: str, dst: str) -> None:
        """``S3Exception`` when the copy of ``src`` to ``dst`` (keys that differ only in
        repeated ``/``) is not listed under its own name: a server that collapses ``//``
        (SeaweedFS) wrote ``src`` itself, and removing ``src`` would remove the only copy."""
        if self._store(src).is_local or self._store(dst).is_local or paths.bucket(src) != paths.bucket(dst):
            return
        dst = _placed(src, dst)
        src_key, dst_key = paths.key(src), paths.key(dst)
        if src_key == dst_key or re.sub("/+", "/", src_key) != re.sub("/+", "/", dst_key):
            return
        listed = {entry.url for entry in itertools.islice(self._s3.list(dst), 10)}
        if dst not in listed:
            raise S3Exception(f"{dst}: the server stored it as {src} (it collapses '//' in keys): "
                              f"{src} not removed")

    # -- removing --------------------------------------------------------
    def rm(self, key: str, version_id: str | None = None) -> None:
        """Remove a key or local file (a symlink: the link); ``KeyNotFound`` if missing.

        A local directory raises ``IsADirectory``, like Unix ``rm``: only
        :meth:`rm_r` removes a tree.
        """
        store = self._store(key)
        store.stat(key, version_id)
        local = paths.parse(key).path
        if store.is_local and os.path.isdir(local) and not os.path.islink(local):
            raise IsADirectory(f"{key}: is a directory; use rm_r to remove a tree")
        store.delete(key, version_id)

    def rm_r(self, prefix: str, force: bool = False, quiet: bool = False,
             max_delete: int | None = None, dry_run: bool = False,
             on_event: Listener | None = None, exclude=None, include=None) -> Report | list[Planned]:
        """Remove everything under ``prefix``; asks per key on the terminal unless ``force``.

        Prints ``[deleted] URL`` per file unless ``quiet``; ``on_event`` gets an
        event per file (deleted, failed, or skipped: not confirmed).  Returns the
        :class:`~baiji.report.Report`.
        A local directory named ``.`` or ``..``, or holding the current directory
        (the cwd itself, ``/``, ...), is refused with ``ValueError``.
        ``max_delete``: with more keys or files than that under ``prefix``, none
        is removed (``TooManyDeletions``; counted by one listing first).
        ``dry_run``: remove nothing, ask nothing; return the :class:`Planned` deletions.
        ``exclude``/``include``: glob patterns (see :mod:`baiji.filters`) of the paths under
        ``prefix`` to remove (one file or key: its name); with any, only files are removed,
        never a directory as a tree.
        """
        _check_bulk_args(max_delete=max_delete)
        selector = Selector(exclude, include)
        store = self._store(prefix)
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
            _refuse_too_many(1, max_delete, prefix)
            # like rm -r: a link (not its target), a file
            return [Planned("delete", None, prefix)] if dry_run else self._rm_one(store, prefix, force, report)
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
            _refuse_too_many(len(planned), max_delete, prefix)
            return planned
        doomed: Iterable[tuple[str, int | None]] = under()
        if max_delete is not None:
            doomed = list(itertools.islice(doomed, max_delete + 1))
            _refuse_too_many(len(doomed), max_delete, prefix, counted_all=False)
            # exactly what was counted: a key written since (an uploader still running) is not removed
        listed = 0
        for batch in bulk.chunks(doomed, 1000 if force else 1):
            listed += len(batch)
            if force or _confirm(f"Delete {batch[0][0]}? [y/N] "):
                self._deleted(report, store, batch)
            else:
                report.add(Event("skip", None, batch[0][0], "not confirmed", batch[0][1]))
        if not listed and itself():
            _refuse_too_many(1, max_delete, prefix)
            return self._rm_one(store, prefix, force, report)  # nothing under it: the key itself
        if (store.is_local and os.path.isdir(path) and force and not selector
                and not os.path.islink(path.rstrip("/" + os.sep))):
            store.delete(prefix)  # not through a link given as lnk/: as GNU rm -rf lnk/, only its contents go
        return self._finished(report, "deletions", total=report.deleted + report.failed, warn_skips=False)

    @staticmethod
    def _rm_one(store: Store, url: str, force: bool, report: Report) -> Report:
        """``rm_r`` of one key or file (or a symlink: the link), asking first unless ``force``."""
        if force or _confirm(f"Delete {url}? [y/N] "):
            store.delete(url)
            report.add(Event("delete", None, url))
        else:
            report.add(Event("skip", None, url, "not confirmed"))
        return report.done()

    # -- listing and inspecting -------------------------------------------
    def ls(self, prefix: str, return_full_urls: bool = False, require_s3_scheme: bool = False,
           shallow: bool = False, followlinks: bool = False, list_versions: bool = False,
           exclude=None, include=None):
        """List keys under a prefix: a lazy iterator for s3, a list for local directories.

        ``exclude``/``include``: glob patterns (see :mod:`baiji.filters`) of the paths listed,
        relative to the local directory, or to an s3 prefix up to its last ``/``.
        """
        store = self._store(prefix)
        if require_s3_scheme and store.is_local:
            raise InvalidSchemeException(f"{prefix}: an s3:// URL is needed here")
        _require_local_path(store, prefix)
        entries = _usable(self._selected(store, prefix, Selector(exclude, include), shallow=shallow,
                                         versions=list_versions, followlinks=followlinks))
        if not store.is_local:
            return (e.url if return_full_urls else "/" + paths.key(e.url) for e in entries)
        root = paths.parse(prefix).path
        if return_full_urls:
            return [e.url for e in entries]
        result = []
        for e in entries:
            rel = os.path.relpath(e.url, root) if e.url.rstrip(os.sep) != root.rstrip(os.sep) else os.path.basename(root)
            result.append(rel.replace(os.sep, "/") + ("/" if e.is_dir else ""))
        return result

    def ls_info(self, prefix: str, shallow: bool = False, list_versions: bool = False,
                exclude=None, include=None, encryption: bool = True) -> Iterator[dict]:
        """Like ``ls`` (``exclude``/``include`` as there) with details, lazily: ``uri``, ``size``
        (bytes; None for a sub-prefix), ``last_modified``, ``encrypted``, ``version_id``,
        ``is_latest``, ``delete_marker``.

        Everything comes from the listing but ``encrypted``, which costs a HEAD per
        s3 key; ``encryption=False`` skips it (``encrypted`` is then None, as for
        local files, sub-prefixes and delete markers).
        """
        store = self._store(prefix)
        _require_local_path(store, prefix)
        selector = Selector(exclude, include)
        for e in _usable(self._selected(store, prefix, selector, shallow=shallow, versions=list_versions)):
            encrypted = None
            if encryption and not store.is_local and not e.is_dir and not e.delete_marker:
                try:
                    encrypted = store.stat(e.url, e.version_id if list_versions else None).encrypted
                except BucketNotFound:
                    raise
                except KeyNotFound:  # deleted since it was listed: gone, as in a later listing
                    continue
            yield {"uri": e.url, "size": e.size, "last_modified": e.last_modified,
                   "encrypted": encrypted, "version_id": e.version_id, "is_latest": e.is_latest,
                   "delete_marker": e.delete_marker}

    @staticmethod
    def _selected(store: Store, prefix: str, selector: Selector, **list_options) -> Iterable[Entry]:
        """``ls``'s entries that ``selector`` selects: paths relative to the local directory
        ``prefix``, or to the s3 ``prefix`` up to its last ``/`` (``s3://b/dir/fil``: after ``dir/``)."""
        base = (prefix[:prefix.rindex("/") + 1] if not store.is_local and paths.key(prefix)
                else store.dir_prefix(prefix))
        return selector.entries(store.list(prefix, prune=selector.prune, **list_options), base, store.sep)

    def glob(self, prefix: str, pattern: str) -> Iterator[str]:
        """Full URLs under ``prefix`` matching ``fnmatch(prefix + pattern)``."""
        base = paths.parse(prefix).path if self._store(prefix).is_local else prefix
        wanted = base + pattern
        return (url for url in self.ls(prefix, return_full_urls=True) if fnmatch.fnmatchcase(url, wanted))

    def info(self, key: str) -> dict:
        """``uri``, ``size``, ``last_modified``; for s3 also content type, encoding, encryption, ACL."""
        store = self._store(key)
        entry = store.stat(key)
        result = {"uri": key, "size": entry.size, "last_modified": entry.last_modified}
        if not store.is_local:
            try:
                acl = self._s3.acl(key)
            except S3Exception:  # e.g. moto keeps no ACL for multipart uploads
                acl = {}
            result.update(content_type=entry.content_type, content_encoding=entry.content_encoding,
                          encrypted=entry.encrypted, acl=acl.get("Grants", []),
                          owner=acl.get("Owner"), version_id=entry.version_id)
        return result

    def exists(self, key: str, retries_allowed: int = 1, version_id: str | None = None) -> bool:
        """Whether the key (or, for ``s3://bucket``, the bucket) exists."""
        store = self._store(key)
        if not store.is_local and not paths.key(key):
            return self._s3.bucket_exists(paths.bucket(key))
        for attempt in range(retries_allowed + 1):
            if not store.exists(key, version_id):
                continue
            if attempt:
                warnings.warn(f"{key} was found only after {attempt + 1} attempts",
                              EventualConsistencyWarning, stacklevel=2)
            return True
        return False

    def isdir(self, key: str) -> bool:
        """Local: a directory; s3: at least one key under ``key/``."""
        return self._store(key).isdir(key)

    def isfile(self, key: str) -> bool:
        """Local: a regular file; s3: the key itself exists."""
        return self._store(key).isfile(key)

    def size(self, key: str, version_id: str | None = None) -> int:
        """Size in bytes."""
        return self._store(key).stat(key, version_id).size

    def etag(self, key: str) -> str:
        """The ETag without quotes; for a local file, the one baiji's upload would give it."""
        return self._store(key).etag(key)

    def same_content(self, key: str, other: str) -> bool:
        """Whether two keys or files hold the same content (``s3 is``): sizes, then MD5s and ETags,
        then S3's additional checksums (a foreign multipart object has no MD5 to compare).
        A special file (FIFO, device) is refused, never read."""
        for url in (key, other):
            if self._store(url).is_local:
                require_regular(paths.parse(url).path)
        first, second = self._store(key).stat(key), self._store(other).stat(other)
        return first.size == second.size and self._same_content(first, second)

    def etag_matches(self, key: str, other_etag: str) -> bool:
        """Whether the content of ``key`` has the ETag ``other_etag`` (single or multipart)."""
        return self._store(key).etag_matches(key, integrity.normalize(other_etag))

    def md5(self, key: str) -> str:
        """Hex MD5 of the content; ``ValueError`` for a foreign multipart object."""
        return self._store(key).md5(key)

    def get_url(self, key: str, ttl: int) -> str:
        """A presigned GET URL valid for ``ttl`` seconds."""
        store = self._remote(key)
        store.stat(key)
        return store.presign(key, ttl)

    # -- small objects and housekeeping ------------------------------------
    def put_string(self, key: str, s, encrypt: bool = True, replace: bool = True) -> None:
        """Store ``s`` (``str`` as UTF-8, or ``bytes``); ``replace=False`` keeps an existing key."""
        data = s.encode("utf-8") if isinstance(s, str) else bytes(s)
        options = WriteOptions(encrypt=encrypt, exclusive=not replace, content_type=DEFAULT_CONTENT_TYPE)
        self._store(key).write_bytes(key, data, options)

    def get_string(self, key: str, encoding: str | None = "utf-8"):
        """The content as ``str`` (``bytes`` with ``encoding=None``)."""
        data = self._store(key).read_bytes(key)
        return data if encoding is None else data.decode(encoding)

    def touch(self, key: str, encrypt: bool = True) -> None:
        """Local: like Unix ``touch``; s3: create an empty object unless one exists."""
        self._store(key).touch(key, encrypt)

    def _rewrite_options(self, key: str, entry: Entry, encrypt: bool) -> WriteOptions:
        """Options that keep an object's type, encoding, metadata and ACL when it is rewritten."""
        try:
            grants = self._s3.grants_of(key)
        except S3Exception:  # some stores keep no ACL for some objects: the default applies
            grants = None
        return WriteOptions(encrypt=encrypt, content_type=entry.content_type or DEFAULT_CONTENT_TYPE,
                            content_encoding=entry.content_encoding, metadata=entry.metadata,
                            grants=grants)

    def _rewrite_in_place(self, key: str, entry: Entry, encrypt: bool) -> None:
        """Copy an object onto itself (keeping type, metadata and ACL) to re-encrypt or re-ETag it."""
        self._s3.copy(key, key, self._rewrite_options(key, entry, encrypt))

    def encrypt_at_rest(self, key: str) -> None:
        """Server-side encrypt an existing s3 object in place (no-op if it already is)."""
        entry = self._remote(key).stat(key)
        if not entry.encrypted:
            self._rewrite_in_place(key, entry, encrypt=True)

    def fix_etag(self, key: str) -> tuple[str, str]:
        """Rewrite a multipart object in place so its ETag is its MD5; returns (old, new)."""
        store = self._remote(key)
        entry = store.stat(key)
        if "-" not in (entry.etag or ""):
            return entry.etag, entry.etag
        self._rewrite_in_place(key, entry, encrypt=bool(entry.encrypted))
        new = store.stat(key)
        if "-" in (new.etag or ""):  # some stores keep the parts on a copy: upload it whole
            with temp_path(suffix=os.path.splitext(paths.basename(key))[1]) as tmp:
                store.download(key, tmp)
                options = self._rewrite_options(key, new, encrypt=bool(new.encrypted))
                options.part_size = max(new.size or 0, 1)
                store.upload(tmp, key, options)
            new = store.stat(key)
        return entry.etag, new.etag

    def restore(self, key: str) -> None:
        """Undelete ``key`` in a versioned bucket: remove its latest delete marker."""
        store = self._remote(key)
        for e in store.list(key, versions=True):
            if e.url == key and e.is_latest:
                if e.delete_marker:
                    store.delete(key, e.version_id)
                return
        raise KeyNotFound(f"{key}: no version to restore")

    def restore_r(self, prefix: str) -> list[str]:
        """Undelete every deleted key under an s3 prefix; returns the restored URLs."""
        store = self._remote(prefix)
        restored = []
        for e in store.list(prefix, versions=True):
            if e.is_latest and e.delete_marker:
                store.delete(e.url, e.version_id)
                restored.append(e.url)
        return restored

    # -- unfinished multipart uploads ------------------------------------
    def uploads(self, prefix: str, older_than: float | timedelta | None = None) -> Iterator[dict]:
        """The unfinished multipart uploads under an s3 prefix (a plain string prefix, as for
        ``ls``), lazily, by key: ``uri``, ``upload_id``, ``initiated`` (aware, UTC), ``parts`` and
        ``size`` (what they hold so far, in bytes: a ListParts request each), ``resumable`` (the
        local file whose rerun would resume it, from this machine's records; else None).

        ``older_than`` (seconds or a ``timedelta``): only those initiated longer ago than that.
        """
        store = self._remote(prefix)
        sources = {record.get("upload_id"): record.get("source") for record in resume.upload_records()}
        for upload in self._old_uploads(store, prefix, older_than):
            try:
                parts, size = store.upload_size(upload)
            except BucketNotFound:
                raise
            except KeyNotFound:  # completed or aborted since it was listed
                continue
            yield {"uri": upload.url, "upload_id": upload.upload_id, "initiated": upload.initiated,
                   "parts": parts, "size": size, "resumable": sources.get(upload.upload_id)}

    def abort_uploads(self, prefix: str, older_than: float | timedelta | None = None,
                      on_event: Listener | None = None) -> Report:
        """Abort the unfinished multipart uploads under an s3 prefix (those of :meth:`uploads`;
        rclone's ``cleanup``).

        Returns the :class:`~baiji.report.Report`: ``aborted`` counts them; ``on_event`` gets an
        ``abort`` event per upload (``dst`` its URL, ``reason`` ``upload ID``), ``skip`` for one
        gone meanwhile, ``fail`` for one that could not be aborted.  Failures are raised at the
        end, after the others were aborted (``BulkCopyError``).
        """
        store = self._remote(prefix)
        report = Report(on_event)
        for upload in self._old_uploads(store, prefix, older_than):
            what = f"upload {upload.upload_id}"
            try:
                gone = not store.abort_upload(upload)
            except BucketNotFound:
                raise
            except S3Exception as err:
                report.add(Event("fail", None, upload.url, f"{what}: {err}"), err)
                continue
            report.add(Event("skip", None, upload.url, f"{what}: no longer in progress") if gone
                       else Event("abort", None, upload.url, what))
        return self._finished(report, "aborts", total=report.aborted + report.failed, warn_skips=False)

    @staticmethod
    def _old_uploads(store: S3Store, prefix: str, older_than: float | timedelta | None) -> Iterator[Upload]:
        """The unfinished uploads under ``prefix`` initiated more than ``older_than`` ago (all: None)."""
        if older_than is None:
            return store.multipart_uploads(prefix)
        age = older_than if isinstance(older_than, timedelta) else timedelta(seconds=older_than)
        if age < timedelta(0):
            raise ValueError(f"older_than must not be negative, got {older_than!r}")
        cutoff = datetime.now(timezone.utc) - age
        return (upload for upload in store.multipart_uploads(prefix) if upload.initiated <= cutoff)

    # -- buckets ---------------------------------------------------------
    #: How many keys/versions a refused ``delete_bucket`` counts at most ("more than N" beyond).
    HELD_COUNTED = 1000
    #: Passes over the listing ``delete_bucket(force=True)`` makes at most.  The first deletes
    #: everything listed and the second finds nothing, unless something writes to the bucket
    #: meanwhile or the server's paging skips entries deleted under it (moto's does).
    EMPTYING_PASSES = 10

    @staticmethod
    def _bucket_url(name: str) -> str:
        """``s3://NAME`` for a bucket named ``NAME`` or ``s3://NAME`` (``ValueError`` for a key or a bad name)."""
        parsed = paths.parse(name if name.startswith("s3://") else f"s3://{name}")
        if parsed.path not in ("", "/"):
            raise ValueError(f"{name}: not a bucket name")
        return f"s3://{parsed.netloc}"

    def list_buckets(self, detail: bool = False) -> list:
        """Names of the buckets the credentials can see; ``detail``: ``{"name", "creation_date"}`` dicts."""
        with s3_errors("s3://"):
            found = self.client.list_buckets().get("Buckets", [])
        if detail:
            return [{"name": b["Name"], "creation_date": b.get("CreationDate")} for b in found]
        return [b["Name"] for b in found]

    def create_bucket(self, name: str, versioned: bool = True) -> None:
        """Create a bucket in the connection's region, versioned by default; one that exists is refused
        (``S3Exception``), its settings untouched."""
        url = self._bucket_url(name)
        args = {"Bucket": paths.bucket(url)}
        if self._s3.bucket_exists(paths.bucket(url)):  # AWS in us-east-1 would answer 200 and we'd go on
            raise S3Exception(f"{url} already exists: not created, its versioning left as it is")
        region = self.client.meta.region_name
        if region and region != config.DEFAULT_REGION:
            args["CreateBucketConfiguration"] = {"LocationConstraint": region}
        with s3_errors(url):
            self.client.create_bucket(**args)
        if versioned:
            self.enable_versioning(name)

    def delete_bucket(self, name: str, force: bool = False) -> int:
        """Delete a bucket; returns how many keys, versions and delete markers ``force`` deleted first.

        Without ``force``, a bucket holding any key, version, delete marker or unfinished upload is
        refused with ``BucketNotEmpty`` saying how many (up to :attr:`HELD_COUNTED`):
        baiji lists first and never leaves it to the server, as some servers
        (SeaweedFS) delete a non-empty bucket; an empty versions listing is confirmed by a
        plain one first (a server may ignore ``?versions``).  ``force`` aborts unfinished
        multipart uploads, then deletes every version and delete marker, in passes
        over the listing (each page deleted by one DeleteObjects request before
        the next is listed: memory stays flat) until a pass finds nothing, at most
        :attr:`EMPTYING_PASSES`; only then is the bucket deleted.  Something
        written between that last listing and the deletion is refused by S3
        (``BucketNotEmpty``) but lost on a server that deletes non-empty buckets.
        Missing bucket -> ``BucketNotFound``; keys that could not be deleted ->
        ``BulkCopyError``, the bucket kept.
        """
        url = self._bucket_url(name)
        if force:
            deleted = self._empty_bucket(url)
        else:
            self._refuse_non_empty(url)
            deleted = 0
        if next(iter(self._s3.list(url)), None) is not None:  # a versions listing wrongly empty: SeaweedFS
            raise BucketNotEmpty(f"{url} is not empty: it lists keys its versions listing did not show; "
                                 "not deleted")  # would delete the bucket, keys and all
        try:
            with s3_errors(url):
                self.client.delete_bucket(Bucket=paths.bucket(url))
        except BucketNotEmpty as err:  # written to since it was listed
            raise BucketNotEmpty(f"{url} is not empty: written to while it was deleted; not deleted") from err
        return deleted

    def _refuse_non_empty(self, url: str) -> None:
        """``BucketNotEmpty`` saying how many keys/versions the bucket holds, unless it holds none."""
        count = len(list(itertools.islice(self._s3.list(url, versions=True), self.HELD_COUNTED + 1)))
        if not count:
            with s3_errors(url):  # someone uploading into it: its parts would go with the bucket
                uploads = self.client.list_multipart_uploads(Bucket=paths.bucket(url), MaxUploads=1)
            if uploads.get("Uploads"):
                raise BucketNotEmpty(f"{url} holds unfinished multipart uploads (is something uploading "
                                     "into it?); not deleted (-f/force aborts them first)")
            return
        held = f"more than {self.HELD_COUNTED}" if count > self.HELD_COUNTED else str(count)
        refusal = BucketNotEmpty(f"{url} is not empty: it holds {held} keys/versions; not deleted "
                                 "(force deletes them first)")
        refusal.held = held
        raise refusal

    def _empty_bucket(self, url: str) -> int:
        """Abort the unfinished multipart uploads in a bucket, then delete what it holds in
        passes until one finds nothing; returns how many keys/versions were deleted."""
        for upload in self._s3.multipart_uploads(url):
            self._s3.abort_upload(upload)  # False: finished or aborted meanwhile
        deleted = 0
        for _ in range(self.EMPTYING_PASSES):
            done = self._delete_listed(url)
            if not done:
                return deleted
            deleted += done
        raise BucketNotEmpty(f"{url} is not empty after {self.EMPTYING_PASSES} passes deleting what it held "
                             "(is something writing to it?); not deleted")

    def _delete_listed(self, url: str) -> int:
        """One pass over a bucket's versions listing, each page deleted (DeleteObjects; a key XML
        cannot carry, DeleteObject) before the next is listed; returns how many were deleted
        (``BulkCopyError`` naming those that were not)."""
        bucket, base = paths.bucket(url), url + "/"
        deleted, failures = 0, []
        for listed in bulk.chunks(self._s3.list(url, versions=True), 1000):
            batch = [e for e in listed if in_xml(e.url[len(base):])]
            alone = [(e.url, e.version_id) for e in listed if not in_xml(e.url[len(base):])]
            failed = self._s3.delete_each(alone)  # keys no DeleteObjects can name
            deleted += len(alone) - len(failed)
            failures += [(failed_url, None, err) for failed_url, err in failed]
            if not batch:
                continue
            objects = [{"Key": e.url[len(base):], **({"VersionId": e.version_id} if e.version_id else {})}
                       for e in batch]
            with s3_errors(url):
                resp = self.client.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
            errors = resp.get("Errors", [])
            deleted += len(batch) - len(errors)
            for error in errors:
                version = f" (version {error['VersionId']})" if error.get("VersionId") else ""
                failures.append((base + error["Key"], None, S3Exception(
                    f"{base}{error['Key']}{version}: {error.get('Code')}: {error.get('Message')}")))
        if failures:
            raise BulkCopyError(failures, deleted + len(failures), "deletions", f"; {url} not deleted")
        return deleted

    def _set_versioning(self, bucket: str, status: str) -> None:
        url = self._bucket_url(bucket)
        with s3_errors(url):
            self.client.put_bucket_versioning(Bucket=paths.bucket(url),
                                              VersioningConfiguration={"Status": status})

    def enable_versioning(self, bucket: str) -> None:
        """Turn versioning on."""
        self._set_versioning(bucket, "Enabled")

    def disable_versioning(self, bucket: str) -> None:
        """Suspend versioning (S3 cannot switch it off once on)."""
        self._set_versioning(bucket, "Suspended")

    def bucket_info(self, name: str) -> dict:
        """Location, versioning, policy, CORS, lifecycle, logging and website settings."""
        url = self._bucket_url(name)
        name = paths.bucket(url)
        if not self._s3.bucket_exists(name):
            raise BucketNotFound(f"{url}: bucket does not exist")

        def setting(call, field=None, **extra):
            try:
                with s3_errors(url):
                    result = call(Bucket=name, **extra)
            except (KeyNotFound, S3Exception):
                return None
            return result.get(field) if field else {k: v for k, v in result.items() if k != "ResponseMetadata"}

        location = setting(self.client.get_bucket_location, "LocationConstraint") or config.DEFAULT_REGION
        website = setting(self.client.get_bucket_website)
        lifecycle = setting(self.client.get_bucket_lifecycle_configuration, "Rules")
        return {
            "name": name,
            "location": location,
            "versioning_status": setting(self.client.get_bucket_versioning, "Status") or "Not Versioned",
            "policy": setting(self.client.get_bucket_policy, "Policy"),
            "cors": setting(self.client.get_bucket_cors, "CORSRules"),
            "lifecycle": lifecycle,
            "logging_status": setting(self.client.get_bucket_logging, "LoggingEnabled"),
            "website_configuration": website or None,
            "website_endpoint": f"{name}.s3-website-{location}.amazonaws.com" if website else None,
        }

    # -- syncing ---------------------------------------------------------
    def _same_content(self, src: Entry, dst: Entry) -> bool:
        """Whether two equal-sized entries hold the same content, decided from their listings.

        A local side is hashed (or compared byte for byte with another local
        file).  Where the ETags leave it open (a multipart ETag of another
        part size, an S3 copy whose ETag differs from its source's), each
        remote side is read (HEAD) for the MD5 baiji records at multipart
        upload, else its additional checksum (a 64-bit or longer one: a CRC32
        is too short to call two files the same); against a local file, its
        part size too (``S3Store.matches_file``).  A source with neither is the
        same as a copy that recorded its ETag (``baiji-source-etag``, see ``S3Store.copy``).
        """
        if src.md5 and dst.md5:
            return src.md5 == dst.md5
        src_store, dst_store = self._store(src.url), self._store(dst.url)
        if src_store.is_local and dst_store.is_local:
            with local_errors(src.url):
                return filecmp.cmp(src.url, dst.url, shallow=False)
        if src_store.is_local != dst_store.is_local:
            store, local, remote = (src_store, src, dst) if src_store.is_local else (dst_store, dst, src)
            if remote.md5:
                return store.etag_matches(local.url, remote.md5)
            if remote.etag and remote.etag_is_md5 and store.etag_matches(local.url, remote.etag):
                return True
        elif src.etag and src.etag == dst.etag:
            return True
        first, second = (dst, src) if src_store.is_local else (src, dst)  # a HEAD first: it may end it
        remote = self._store(first.url)
        if self._store(second.url).is_local:
            local = paths.parse(second.url).path
            require_regular(local)
            return remote.matches_file(first.url, local)
        first = remote.head(first.url)  # baiji's recorded MD5, the object's checksum
        if first.md5 is None and not integrity.strong(first.checksum):  # the copy may say it is of it
            return remote.head(second.url).metadata.get(SOURCE_ETAG_METADATA) == first.etag
        second = remote.head(second.url)
        if first.md5 and second.md5:
            return first.md5 == second.md5
        return integrity.same_checksum(first.checksum, second.checksum)

    def sync_file(self, src: str, dst: str, update: bool = True, delete: bool = False, progress=False,
                  policy: str | None = None, encoding: str | None = None, encrypt: bool = True,
                  guess_content_type: bool = False) -> None:
        """Make ``dst`` a copy of ``src`` if it is missing or (with ``update``) different."""
        src_store, dst_store = self._store(src), self._store(dst)
        try:
            src_entry = src_store.stat(src)
        except KeyNotFound as err:
            if not delete:
                raise
            # a missing bucket or directory (a typo, an unmounted disk) says nothing about the file
            container = (os.path.isdir(os.path.dirname(paths.parse(src).path)) if src_store.is_local
                         else self._s3.bucket_exists(paths.bucket(src)))
            if not container:
                raise KeyNotFound(f"{src}: its {'directory' if src_store.is_local else 'bucket'} does not "
                                  f"exist; {dst} not deleted") from err
            if dst_store.exists(dst):
                self.rm(dst)
            return
        try:
            dst_entry = dst_store.stat(dst)
        except KeyNotFound:
            dst_entry = None
        if dst_entry is not None and (not update or (src_entry.size == dst_entry.size
                                                     and self._same_content(src_entry, dst_entry))):
            return
        self.cp(src, dst, force=True, progress=progress, policy=policy, encoding=encoding,
                encrypt=encrypt, guess_content_type=guess_content_type)

    @staticmethod
    def _refuse_nested(src_store: Store, src_dir: str, dst_store: Store, dst_dir: str,
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

    def sync(self, src_dir: str, dst_dir: str, followlinks: bool = True, do_not_delete=None,
             progress=False, policy: str | None = None, encoding: str | None = None,
             encrypt: bool = True, guess_content_type: bool = False, parallel: bool = False,
             executor=None, processes: int | None = None, max_delete: int | None = None,
             workers: int | None = None, dry_run: bool = False,
             on_event: Listener | None = None, exclude=None, include=None, resume: bool = True) -> Report | list[Planned]:
        """Make ``dst_dir`` mirror ``src_dir``: copy new and changed files, delete the rest.

        Decided from the two listings (size, then ETag/MD5): no request per
        file; a local file is hashed only when its size equals the other side's.
        Deletes come last, only after a clean run; an s3 source with nothing
        under it deletes nothing (``ValueError``: missing and empty look alike).
        ``do_not_delete``: see ``sync_plan.keep_prefixes``.  ``max_delete``: when
        more files than that would be deleted, none is (``TooManyDeletions``;
        the copies are made).  ``workers``, ``on_event``, ``progress``: as for
        :meth:`cp_many`.  Returns the :class:`~baiji.report.Report` (``unchanged``
        counts the files found equal).  ``dry_run``: change nothing; return the
        :class:`Planned` copies, deletions and refusals (deletions held back by a
        refusal or ``max_delete`` are refused).
        ``exclude``/``include``: glob patterns (see :mod:`baiji.filters`) of the paths
        synced, relative to each side: a path not selected is neither copied nor deleted.
        ``resume``: as for :meth:`cp`.
        """
        _check_bulk_args(workers, max_delete)
        selector = Selector(exclude, include)
        src_store, dst_store = self._store(src_dir), self._store(dst_dir)
        for url, store in ((src_dir, src_store), (dst_dir, dst_store)):
            local = paths.parse(url).path if store.is_local else None
            if local and os.path.exists(local) and not os.path.isdir(local):
                raise ValueError(f"{url} is not a directory")
        if src_store.is_local and not os.path.isdir(paths.parse(src_dir).path):
            raise ValueError(f"{src_dir} is not a directory")
        keep = sync_plan.keep_prefixes(do_not_delete, dst_dir)
        self._refuse_nested(src_store, src_dir, dst_store, dst_dir, keep)
        src_items, src_found = self._dir_items(src_store, src_dir, selector, followlinks)
        dst_prefix = dst_store.dir_prefix(dst_dir)
        unreadable = []
        report = Report(on_event)

        def same_content(src: Entry, dst: Entry) -> bool:
            try:
                same = self._same_content(src, dst)
            except S3Exception as err:  # unreadable, vanished...: that path fails, the rest goes on
                unreadable.append((src.url, None, err))
                return True
            report.unchanged += same
            return same

        actions = sync_plan.plan(
            src_items, selector.items(sync_plan.relative_items(
                self._listing(dst_store, dst_prefix, prune=selector.prune), dst_prefix, dst_store.sep)),
            same_content, keep, tree=dst_store.is_local)
        doomed, refused = [], []
        copies = self._copies(actions, dst_store, dst_prefix, refused, doomed)
        if dry_run:
            return self._planned_sync(self._placeable(copies, dst_store, refused), refused, unreadable, doomed,
                                      src_found or src_store.is_local, max_delete)
        self._copy_all(copies, report, dict(exact=True, force=True, progress=progress, policy=policy,
                                            encoding=encoding, encrypt=encrypt,
                                            guess_content_type=guess_content_type, resume=resume),
                       parallel=parallel, executor=executor, processes=processes, workers=workers)
        self._refusals(report, refused + unreadable)
        if report.failures:  # deletes only after a clean run: this raises BulkCopyError
            self._finished(report, "files to sync",
                           f"; nothing deleted ({len(doomed)} deletions held back)" if doomed else "")
        if doomed and not src_found and not src_store.is_local:
            raise ValueError(f"{src_dir}: no keys under this prefix (missing or empty); nothing deleted "
                             f"of the {len(doomed)} files under {dst_dir} (rm -r empties a destination)")
        _refuse_too_many(len(doomed), max_delete, dst_dir)
        self._deleted(report, dst_store, doomed)
        return self._finished(report, "deletions", total=len(doomed))

    @staticmethod
    def _deleted(report: Report, store: Store, doomed: list[tuple[str, int | None]]) -> None:
        """Delete the ``(url, size)`` in ``doomed`` (batched), one delete or fail event each."""
        failed = dict(store.delete_many([url for url, _ in doomed]))
        for url, size in doomed:
            err = failed.get(url)
            report.add(Event("delete", None, url, size=size) if err is None else
                       Event("fail", None, url, str(err), size), err)

    @staticmethod
    def _planned_sync(copies: Iterable[tuple[str, str, int | None]], refused: list, unreadable: list,
                      doomed: list[tuple[str, int | None]], src_found: bool,
                      max_delete: int | None) -> list[Planned]:
        """A sync's dry run: the copies, then the refusals, then the deletions the real run would make."""
        planned = [Planned("copy", src, dst, size=size) for src, dst, size in copies]
        planned += [Planned("refuse", url, None, str(err)) for url, _, err in refused + unreadable]
        held = ("a copy would fail or be refused" if refused or unreadable else
                "the source has no keys (missing or empty)" if not src_found else
                f"more than max_delete={max_delete}" if _too_many(len(doomed), max_delete) else "")
        return planned + [Planned("refuse", None, url, f"not deleted: {held}", size) if held else
                          Planned("delete", None, url, size=size) for url, size in doomed]
