"""S3Connection: the public API, a thin façade over modules named for their role.

Each public method holds its contract (signature, defaults, docstring) and
hands the work, with the connection, to :mod:`baiji.transfer` (cp, mv,
streams, strings), :mod:`baiji.bulk` (cp_many, cp_r, the run of copies),
:mod:`baiji.removal` (rm, rm_r, max_delete), :mod:`baiji.inspect` (ls,
info, exists, same_content...), :mod:`baiji.housekeeping` (rewrites in
place, undeleting, unfinished uploads), :mod:`baiji.buckets` and
:mod:`baiji.sync.run`.  Those work against the store interface:
``store_for`` (in :mod:`baiji.stores`) picks the local or the S3 store for
a URL, and no operation looks at schemes itself.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Iterable, Iterator

from baiji import buckets, bulk, config, fileobj, housekeeping, inspect, integrity, removal, transfer
from baiji.bulk import BulkCopyError
from baiji.exceptions import InvalidSchemeException
from baiji.removal import TooManyDeletions
from baiji.report import Listener, Planned, Report, Resumed
from baiji.stores import S3Store, Store, store_for
from baiji.sync import run as sync_run

__all__ = ["S3Connection", "BulkCopyError", "TooManyDeletions", "Planned"]


class S3Connection:
    """The public API of baiji; ``baiji.s3``'s functions call a per-process instance.

    ``profile``, ``region`` and ``endpoint_url`` override botocore's chain;
    ``client`` injects a ready boto3 client.  ``list_workers``: the concurrent
    streams of a long recursive listing (default 16; 1: one stream; see
    :mod:`baiji.stores.partitions`).  Creating a connection does no I/O.
    """

    def __init__(self, profile: str | None = None, region: str | None = None,
                 endpoint_url: str | None = None, client=None, sign: bool = True,
                 verify: bool | str | None = None, list_workers: int | None = None):
        self.profile, self.region, self.endpoint_url = profile, region, endpoint_url
        self.sign, self.verify, self.list_workers = sign, verify, list_workers
        self._given_client = client
        self._session = None
        self._s3 = S3Store(self._make_client, self._make_target)
        if list_workers is not None:
            self._s3.list_workers = list_workers

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
                "sign": self.sign, "verify": self.verify, "list_workers": self.list_workers}

    def _worker_recipe(self) -> tuple[type, dict]:
        """How a bulk copy's worker process builds its own connection (``baiji.util.parallel.Recipe``)."""
        return S3Connection, self.settings()

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
           cache_control: str | None = None, content_disposition: str | None = None, expires=None,
           storage_class: str | None = None, sse: str | None = None, sse_kms_key_id: str | None = None,
           resume: bool = True) -> bool | Resumed:
        """Copy ``src`` to ``dst``, each a local path or an s3 URL (SPEC 2, "Copying").

        Returns True, or False when ``skip`` skipped an existing ``dst``, or a (true)
        :class:`~baiji.report.Resumed` when ``resume`` continued an interrupted upload or
        download of this very source and destination (README "Resuming").
        ``cache_control``, ``content_disposition``, ``expires`` (a datetime or
        ISO 8601 text), ``storage_class``, ``sse`` (``'AES256'``, the default
        with ``encrypt``, or ``'aws:kms'``) and ``sse_kms_key_id``: as ``aws s3
        cp``'s options of those names (s3 destinations only; they are written
        through boto3).
        ``exact`` (the bulk copies of ``cp_r`` and ``sync``, whose destinations
        are computed): write ``dst`` itself, never ``dst/basename(src)``; a
        directory there is an error.
        ``SameFile`` (a ``KeyExists`` and a ``ValueError``) when ``dst`` is ``src`` itself, even with
        ``force`` (see :func:`baiji.transfer._same_file`).
        """
        headers = transfer.write_headers(encrypt, sse, sse_kms_key_id, cache_control=cache_control,
                                         content_disposition=content_disposition, expires=expires,
                                         storage_class=storage_class)
        return transfer.cp(self, src, dst, force, progress, policy, preserve_acl, encoding, encrypt, gzip,
                           content_type, guess_content_type, metadata, skip, validate, max_size, version_id,
                           exact, headers, resume)

    def upload_fileobj(self, fileobj, dst: str, **cp_kwargs) -> bool:
        """Store what a binary file object (stdin, say) holds at ``dst``, with ``cp``'s options."""
        return transfer.upload_fileobj(self, fileobj, dst, **cp_kwargs)

    def download_fileobj(self, src: str, fileobj, version_id: str | None = None) -> None:
        """Write the (verified) content of ``src`` to a binary file object (stdout, say)."""
        transfer.download_fileobj(self, src, fileobj, version_id)

    def cp_many(self, pairs: Iterable[tuple[str, str]], parallel: bool = False,
                executor=None, processes: int | None = None, workers: int | None = None,
                on_event: Listener | None = None, **cp_kwargs) -> Report:
        """Copy every ``(src, dst)`` pair; failures are collected and raised together.

        Returns the :class:`~baiji.report.Report` (copied, skipped, failed).
        A pair whose ``dst`` exists (``KeyExists``) is skipped and the rest go
        on: one warning at the end counts them (the ``on_event`` callback,
        called per file, names each).  ``parallel`` uses a ``multiprocessing.Pool``;
        ``executor`` any ``concurrent.futures.Executor`` (for instance a Dask
        cluster's; a chunk it runs again after its worker died may find its own first
        copies: skipped, unless ``force``).  ``workers``: copies in flight in each process (None or 0:
        32, see ``baiji.util.parallel.THREADS``).  ``progress``: True, a bar
        of files; a callable gets each copied file's size (None when unknown).
        """
        return bulk.cp_many(self, pairs, parallel, executor, processes, workers, on_event, **cp_kwargs)

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
        return bulk.cp_r(self, src_dir, dst_dir, parallel, executor, processes, workers, dry_run, on_event,
                         exclude, include, **cp_kwargs)

    def mv(self, src: str, dst: str, dry_run: bool = False, **cp_kwargs) -> list[Planned] | None:
        """Copy (as :meth:`cp`), then remove the source (that version of it, with ``version_id``).

        A copy that is refused (``dst`` is ``src`` itself), fails or is skipped keeps the source.
        ``dry_run``: move nothing; return the :class:`Planned` copy and delete (or the refusal).
        """
        return transfer.mv(self, src, dst, dry_run, **cp_kwargs)

    # -- removing --------------------------------------------------------
    def rm(self, key: str, version_id: str | None = None) -> None:
        """Remove a key or local file (a symlink: the link); ``KeyNotFound`` if missing.

        A local directory raises ``IsADirectory``, like Unix ``rm``: only
        :meth:`rm_r` removes a tree.
        """
        removal.rm(self, key, version_id)

    def rm_r(self, prefix: str, force: bool = False, quiet: bool = False,
             max_delete: int | None = None, dry_run: bool = False,
             on_event: Listener | None = None, exclude=None, include=None, executor=None) -> Report | list[Planned]:
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
        ``executor``: with ``force``, the batches of 1,000 deletions run on this
        ``concurrent.futures.Executor`` (a Dask cluster's) while this process lists.
        """
        return removal.rm_r(self, prefix, force, quiet, max_delete, dry_run, on_event, exclude, include,
                            executor)

    # -- listing and inspecting -------------------------------------------
    def ls(self, prefix: str, return_full_urls: bool = False, require_s3_scheme: bool = False,
           shallow: bool = False, followlinks: bool = False, list_versions: bool = False,
           exclude=None, include=None):
        """List keys under a prefix: a lazy iterator for s3, a list for local directories.

        ``exclude``/``include``: glob patterns (see :mod:`baiji.filters`) of the paths listed,
        relative to the local directory, or to an s3 prefix up to its last ``/``.
        """
        return inspect.ls(self, prefix, return_full_urls, require_s3_scheme, shallow, followlinks,
                          list_versions, exclude, include)

    def ls_info(self, prefix: str, shallow: bool = False, list_versions: bool = False,
                exclude=None, include=None, encryption: bool = True) -> Iterator[dict]:
        """Like ``ls`` (``exclude``/``include`` as there) with details, lazily: ``uri``, ``size``
        (bytes; None for a sub-prefix), ``last_modified``, ``encrypted``, ``version_id``,
        ``is_latest``, ``delete_marker``.

        Everything comes from the listing but ``encrypted``, which costs a HEAD per
        s3 key; ``encryption=False`` skips it (``encrypted`` is then None, as for
        local files, sub-prefixes and delete markers).
        """
        return inspect.ls_info(self, prefix, shallow, list_versions, exclude, include, encryption)

    def du(self, prefix: str, sub_prefixes: bool = False, exclude=None, include=None) -> list:
        """How many keys or files are under ``prefix`` and their total size, from the listing alone:
        a list of ``Usage(uri, files, size)``, the prefix's last; with ``sub_prefixes``, one per
        sub-prefix (or subdirectory) one level down before it, sorted.  ``exclude``/``include``:
        as for :meth:`ls`."""
        return inspect.du(self, prefix, sub_prefixes, exclude, include)

    def glob(self, prefix: str, pattern: str) -> Iterator[str]:
        """Full URLs under ``prefix`` matching ``fnmatch(prefix + pattern)``."""
        return inspect.glob(self, prefix, pattern)

    def info(self, key: str) -> dict:
        """``uri``, ``size``, ``last_modified``; for s3 also content type, encoding, encryption, ACL."""
        return inspect.info(self, key)

    def exists(self, key: str, retries_allowed: int = 1, version_id: str | None = None) -> bool:
        """Whether the key (or, for ``s3://bucket``, the bucket) exists."""
        return inspect.exists(self, key, retries_allowed, version_id)

    def isdir(self, key: str) -> bool:
        """Local: a directory; s3: at least one key under ``key/``."""
        return self._store(key).isdir(key)

    def isfile(self, key: str) -> bool:
        """Local: a regular file; s3: the key itself exists."""
        return self._store(key).isfile(key)

    def size(self, key: str, version_id: str | None = None) -> int:
        """Size in bytes."""
        return self._store(key).stat(key, version_id).size  # type: ignore[return-value]  # a stat has a size

    def etag(self, key: str) -> str:
        """The ETag without quotes; for a local file, the one baiji's upload would give it."""
        return self._store(key).etag(key)

    def same_content(self, key: str, other: str) -> bool:
        """Whether two keys or files hold the same content (``s3 is``): sizes, then MD5s and ETags,
        then S3's additional checksums (a foreign multipart object has no MD5 to compare).
        A special file (FIFO, device) is refused, never read."""
        return inspect.same_content(self, key, other)

    def etag_matches(self, key: str, other_etag: str) -> bool:
        """Whether the content of ``key`` has the ETag ``other_etag`` (single or multipart)."""
        return self._store(key).etag_matches(key, integrity.normalize(other_etag))

    def md5(self, key: str) -> str:
        """Hex MD5 of the content; ``ValueError`` for a foreign multipart object."""
        return self._store(key).md5(key)

    def get_url(self, key: str, ttl: int) -> str:
        """A presigned GET URL valid for ``ttl`` seconds."""
        return inspect.get_url(self, key, ttl)

    # -- small objects and housekeeping ------------------------------------
    def put_string(self, key: str, s, encrypt: bool = True, replace: bool = True) -> None:
        """Store ``s`` (``str`` as UTF-8, or ``bytes``); ``replace=False`` keeps an existing key."""
        transfer.put_string(self, key, s, encrypt, replace)

    def get_string(self, key: str, encoding: str | None = "utf-8"):
        """The content as ``str`` (``bytes`` with ``encoding=None``)."""
        return transfer.get_string(self, key, encoding)

    def touch(self, key: str, encrypt: bool = True) -> None:
        """Local: like Unix ``touch``; s3: create an empty object unless one exists."""
        self._store(key).touch(key, encrypt)

    def encrypt_at_rest(self, key: str) -> None:
        """Server-side encrypt an existing s3 object in place (no-op if it already is)."""
        housekeeping.encrypt_at_rest(self, key)

    def fix_etag(self, key: str) -> tuple[str, str]:
        """Rewrite a multipart object in place so its ETag is its MD5; returns (old, new)."""
        return housekeeping.fix_etag(self, key)

    def restore(self, key: str) -> None:
        """Undelete ``key`` in a versioned bucket: remove its latest delete marker."""
        housekeeping.restore(self, key)

    def restore_r(self, prefix: str) -> list[str]:
        """Undelete every deleted key under an s3 prefix; returns the restored URLs."""
        return housekeeping.restore_r(self, prefix)

    # -- unfinished multipart uploads ------------------------------------
    def uploads(self, prefix: str, older_than: float | timedelta | None = None) -> Iterator[dict]:
        """The unfinished multipart uploads under an s3 prefix (a plain string prefix, as for
        ``ls``), lazily, by key: ``uri``, ``upload_id``, ``initiated`` (aware, UTC), ``parts`` and
        ``size`` (what they hold so far, in bytes: a ListParts request each).

        ``older_than`` (seconds or a ``timedelta``): only those initiated longer ago than that.
        """
        return housekeeping.uploads(self, prefix, older_than)

    def abort_uploads(self, prefix: str, older_than: float | timedelta | None = None,
                      on_event: Listener | None = None) -> Report:
        """Abort the unfinished multipart uploads under an s3 prefix (those of :meth:`uploads`;
        rclone's ``cleanup``).

        Returns the :class:`~baiji.report.Report`: ``aborted`` counts them; ``on_event`` gets an
        ``abort`` event per upload (``dst`` its URL, ``reason`` ``upload ID``), ``skip`` for one
        gone meanwhile, ``fail`` for one that could not be aborted.  Failures are raised at the
        end, after the others were aborted (``BulkCopyError``).
        """
        return housekeeping.abort_uploads(self, prefix, older_than, on_event)

    # -- buckets ---------------------------------------------------------
    #: How many keys/versions a refused ``delete_bucket`` counts at most ("more than N" beyond).
    HELD_COUNTED = 1000
    #: Passes over the listing ``delete_bucket(force=True)`` makes at most.  The first deletes
    #: everything listed and the second finds nothing, unless something writes to the bucket
    #: meanwhile or the server's paging skips entries deleted under it (moto's does).
    EMPTYING_PASSES = 10

    def list_buckets(self, detail: bool = False) -> list:
        """Names of the buckets the credentials can see; ``detail``: ``{"name", "creation_date"}`` dicts."""
        return buckets.list_buckets(self, detail)

    def create_bucket(self, name: str, versioned: bool = True) -> None:
        """Create a bucket in the connection's region, versioned by default; one that exists is refused
        (``S3Exception``), its settings untouched."""
        buckets.create_bucket(self, name, versioned)

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
        return buckets.delete_bucket(self, name, force)

    def enable_versioning(self, bucket: str) -> None:
        """Turn versioning on."""
        buckets.set_versioning(self, bucket, "Enabled")

    def disable_versioning(self, bucket: str) -> None:
        """Suspend versioning (S3 cannot switch it off once on)."""
        buckets.set_versioning(self, bucket, "Suspended")

    def bucket_info(self, name: str) -> dict:
        """Location, versioning, policy, CORS, lifecycle, logging and website settings."""
        return buckets.bucket_info(self, name)

    # -- syncing ---------------------------------------------------------
    def sync_file(self, src: str, dst: str, update: bool = True, delete: bool = False, progress=False,
                  policy: str | None = None, encoding: str | None = None, encrypt: bool = True,
                  guess_content_type: bool = False) -> None:
        """Make ``dst`` a copy of ``src`` if it is missing or (with ``update``) different."""
        sync_run.sync_file(self, src, dst, update, delete, progress, policy, encoding, encrypt,
                           guess_content_type)

    def sync(self, src_dir: str, dst_dir: str, followlinks: bool = True, do_not_delete=None,
             progress=False, policy: str | None = None, encoding: str | None = None,
             encrypt: bool = True, guess_content_type: bool = False, parallel: bool = False,
             executor=None, processes: int | None = None, max_delete: int | None = None,
             workers: int | None = None, dry_run: bool = False,
             on_event: Listener | None = None, exclude=None, include=None, delete: bool = True,
             resume: bool = True, **write_options) -> Report | list[Planned]:
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
        ``delete=False``: delete nothing (what ``aws s3 sync`` does without ``--delete``).
        ``resume``: as for :meth:`cp`.
        ``write_options``: more of :meth:`cp`'s options of what is written (``content_type``,
        ``metadata``, ``cache_control``, ``storage_class``, ``sse``...).
        """
        return sync_run.sync(self, src_dir, dst_dir, followlinks, do_not_delete, progress, policy, encoding,
                             encrypt, guess_content_type, parallel, executor, processes, max_delete, workers,
                             dry_run, on_event, exclude, include, delete, write_options, resume)
