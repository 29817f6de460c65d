"""S3 (and S3-compatible stores): the :class:`S3Store` behind every s3:// URL.

Objects move through obstore (:mod:`baiji.stores.s3_engine`, the data
plane); listings through baiji's own lister (:mod:`baiji.stores.listing`);
ACLs, versions, buckets, presigned URLs and what obstore cannot express go
through one boto3 client, created (and boto3 imported) only when needed.
Errors of all three are translated in :mod:`baiji.stores.s3_errors`.
:class:`S3Store` holds what the rest share (clients, target, engine,
lister) and listings; reading, writing and the boto3-only operations are its
mixins (:mod:`~baiji.stores.s3_reads`, :mod:`~baiji.stores.s3_writes`,
:mod:`~baiji.stores.s3_control`).
"""

from __future__ import annotations

import builtins  # `list` in the class S3Store is its method
import logging
import threading
from collections.abc import Callable, Iterable, Iterator

from baiji import config
from baiji import path as paths
from baiji.exceptions import S3Exception
from baiji.stores.base import DEFAULT_CONTENT_TYPE, Entry, Store, WriteOptions
from baiji.stores import partitions
from baiji.stores.listing import Lister
from baiji.stores.partitions import PAGE_KEYS
from baiji.stores.s3_control import ControlPlane, entry_of, in_xml, listed_entry, object_split, split, version_args
from baiji.stores.s3_engine import Engine, native_key
from baiji.stores.s3_engine import usable as engine_usable
from baiji.stores.s3_errors import translated
from baiji.stores.s3_reads import Reads
from baiji.stores.s3_uploads import in_flight
from baiji.stores.s3_writes import Writes

#: DeleteObjects requests sent at once: a batch of 1,000 keys goes as up to this many requests of
#: at least DELETE_MIN keys.  SeaweedFS removes 1,000 keys in 0.73 s in one request, 0.19 s in 16.
DELETE_THREADS = 16
DELETE_MIN = 50

log = logging.getLogger(__name__)

__all__ = ["S3Store"]


class BucketRegions:
    """The region of each bucket, as S3 named it when a request went to the wrong one;
    the target's region for every other (one map per connection, for the process)."""

    def __init__(self, default: str):
        self.default = default
        self._found: dict[str, str] = {}

    def __call__(self, bucket: str) -> str:
        return self._found.get(bucket, self.default)

    def learn(self, bucket: str, region: str) -> None:
        log.debug("s3://%s is in %s: requests for it go there", bucket, region)
        self._found[bucket] = region


class S3Store(Reads, Writes, ControlPlane, Store):
    """An S3 endpoint: obstore for objects, the lister for listings, boto3 for the rest.

    ``client_factory(region=None)`` makes the boto3 client (of another region
    than the target's, for presigned URLs) and ``target_factory`` the
    :class:`baiji.config.Target`; each is called once, on first need.
    """

    def __init__(self, client_factory: Callable[..., object], target_factory: Callable[[], config.Target]):
        self._client_factory, self._target_factory = client_factory, target_factory
        self._client = self._engine = self._target = self._regions = None
        self._lock = threading.RLock()  # the engine is made from the target, under the same lock
        self._listers = threading.local()
        self._regional: dict = {}  # boto3 clients of other regions than the target's
        #: Streams of a recursive listing (1: one stream) and keys per page (tests set fewer).
        self.list_workers, self.list_page_keys = partitions.WORKERS, PAGE_KEYS
        #: Whether HEADs ask for checksums (``x-amz-checksum-mode``): until the server refuses it.
        self._checksum_mode = True

    def _once(self, name: str, make: Callable[[], object]):
        """The attribute ``name``, made by ``make`` once (threads racing here share one)."""
        if getattr(self, name) is None:
            with self._lock:
                if getattr(self, name) is None:
                    try:  # e.g. ProfileNotFound: a botocore error before any request
                        setattr(self, name, make())
                    except (ImportError, S3Exception):
                        raise
                    except Exception as err:
                        if not type(err).__module__.startswith(("botocore", "boto3")):
                            raise
                        raise S3Exception(f"cannot configure the S3 client: {err}") from err
        return getattr(self, name)

    @property
    def loaded_client(self):
        """The boto3 client if it was created already, else None."""
        return self._client

    @property
    def loaded_target(self) -> config.Target | None:
        """The target if it was resolved already, else None."""
        return self._target

    @property
    def client(self):
        """The boto3 client of the control plane, created once."""
        return self._once("_client", self._client_factory)

    def client_in(self, region: str):
        """A boto3 client like :attr:`client` whose requests are signed for ``region``."""
        if region == self.client.meta.region_name:
            return self.client
        with self._lock:
            found = self._regional.get(region)
            if found is None:
                found = self._regional[region] = self._client_factory(region)
        return found

    @property
    def target(self) -> config.Target:
        """Where requests go, and with which credentials (resolved once)."""
        return self._once("_target", self._target_factory)

    @property
    def regions(self) -> BucketRegions:
        """The region of each bucket (learned from S3's answers)."""
        return self._once("_regions", lambda: BucketRegions(self.target.region))

    @property
    def lists_in_order(self) -> bool:
        """Whether listings come in key order for sure: AWS itself (UTF-8 byte order, as
        documented), not another server (SeaweedFS breaks it across pages)."""
        return self.target.endpoint_url is None

    @property
    def engine(self) -> Engine:
        """The obstore data plane, made once."""
        return self._once("_engine", lambda: Engine(self.target, self.regions,
                                                     lambda bucket: self.lister.bucket_region(bucket),
                                                     lambda bucket, key: in_flight(self, bucket, key)))

    @staticmethod
    def _native(key: str) -> bool:
        """Whether the engine moves ``key`` (else boto3 does: see :func:`native_key`, :func:`usable`)."""
        return native_key(key) and engine_usable()

    # -- reading ---------------------------------------------------------
    def stat(self, url, version_id=None):
        bucket, key = object_split(url)
        with translated(url, version_id):
            meta = self.client.head_object(Bucket=bucket, Key=key, **version_args(version_id))
        return entry_of(url, meta, version_id)

    @property
    def lister(self) -> Lister:
        """This thread's lister (each keeps one connection)."""
        found = getattr(self._listers, "lister", None)
        if found is None:
            regions = self.regions
            found = self._listers.lister = Lister(self.target, regions, regions.learn,
                                                  config.CONNECT_TIMEOUT, config.READ_TIMEOUT)
        return found

    def list(self, url, shallow=False, versions=False, followlinks=False, prune=None) -> Iterator[Entry]:
        """See :meth:`Store.list`; a recursive listing of keys is partitioned over :attr:`list_workers`
        streams once its first page comes back full (:mod:`baiji.stores.partitions`)."""
        bucket, prefix = split(url)
        delimiter = "/" if shallow else None
        with translated(url):
            if not (versions or shallow):
                base = f"s3://{bucket}/"
                for obj in partitions.listed(self._pages_of(bucket), prefix, self.list_workers, self.list_page_keys):
                    yield listed_entry(base + obj["Key"], obj)
                return
            if versions:
                args = {"Bucket": bucket, "Prefix": prefix, **({"Delimiter": delimiter} if delimiter else {})}
                pages = self.client.get_paginator("list_object_versions").paginate(**args)
            else:
                pages = self.lister.pages(bucket, prefix, delimiter)
            for page in pages:
                yield from sorted(self._page_entries(bucket, page),
                                  key=lambda e: (e.url, not e.is_latest))

    def _pages_of(self, bucket: str) -> partitions.Pages:
        """The listing pages of ``bucket`` under a prefix, through the calling thread's lister."""
        max_keys = 0 if self.list_page_keys == PAGE_KEYS else self.list_page_keys
        return lambda prefix, delimiter: self.lister.pages(bucket, prefix, delimiter, max_keys)

    @staticmethod
    def _page_entries(bucket: str, page: dict) -> Iterator[Entry]:
        base = f"s3://{bucket}/"
        for obj in [*page.get("Contents", []), *page.get("Versions", [])]:
            entry = entry_of(base + obj["Key"], obj)
            entry.is_latest = obj.get("IsLatest")
            yield entry
        for marker in page.get("DeleteMarkers", ()):
            yield Entry(url=base + marker["Key"], last_modified=marker.get("LastModified"),
                        version_id=marker.get("VersionId"), is_latest=marker.get("IsLatest"),
                        delete_marker=True)
        for prefix in page.get("CommonPrefixes", ()):
            yield Entry(url=base + prefix["Prefix"], is_dir=True)

    # -- removing --------------------------------------------------------
    def delete(self, url, version_id=None):
        bucket, key = object_split(url)
        if not version_id and self._native(key) and in_xml(key):  # the engine's delete is a DeleteObjects
            with translated(url):
                self.engine.delete(bucket, [key])
            return
        with translated(url, version_id):
            self.client.delete_object(Bucket=bucket, Key=key, **version_args(version_id))

    def delete_each(self, targets: Iterable[tuple[str, str | None]]) -> builtins.list[tuple[str, Exception]]:
        """Delete each ``(url, version_id)`` with a request of its own (DeleteObject: the key goes
        in the URL, not in XML); the ``(url, error)`` of those that failed."""
        failed: list[tuple[str, Exception]] = []
        for url, version_id in targets:
            try:
                self.delete(url, version_id)
            except S3Exception as err:
                failed.append((url, err))
        return failed

    def delete_many(self, urls):
        """Delete ``urls``: DeleteObjects requests sent at once (see :data:`DELETE_THREADS`), and
        one request for each key that XML 1.0 cannot name (``in_xml``), which would make its
        whole batch fail."""
        failed = self.delete_each((url, None) for url in urls if not in_xml(split(url)[1]))
        by_bucket: dict[str, list[str]] = {}
        for url in urls:
            bucket, key = split(url)
            if in_xml(key):
                by_bucket.setdefault(bucket, []).append(key)
        batches: builtins.list[tuple[str, builtins.list[str]]] = []
        for bucket, keys in by_bucket.items():
            size = min(1000, max(DELETE_MIN, -(-len(keys) // DELETE_THREADS)))  # DELETE_THREADS requests
            batches.extend((bucket, keys[start:start + size]) for start in range(0, len(keys), size))
        if len(batches) < 2:
            return failed + [error for batch in batches for error in self._delete_batch(*batch)]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(DELETE_THREADS, len(batches))) as pool:
            return failed + [error for errors in pool.map(lambda batch: self._delete_batch(*batch), batches)
                             for error in errors]

    def _delete_batch(self, bucket: str, batch: builtins.list[str]) -> builtins.list[tuple[str, Exception]]:
        """One DeleteObjects request: the keys it failed to delete, with why."""
        if all(self._native(k) for k in batch):
            try:
                with translated(f"s3://{bucket}/{batch[0]}"):
                    self.engine.delete(bucket, batch)
                return []
            except S3Exception:  # which keys failed? DeleteObjects below tells
                pass
        with translated(f"s3://{bucket}/{batch[0]}"):
            resp = self.client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
        failed: builtins.list[tuple[str, Exception]] = []
        for error in resp.get("Errors", ()):
            url = f"s3://{bucket}/{error['Key']}"
            failed.append((url, S3Exception(f"{url}: {error.get('Code')}: {error.get('Message')}")))
        return failed

    # -- S3-only operations ----------------------------------------------
    def isfile(self, url):
        return bool(paths.key(url)) and self.exists(url)

    def touch(self, url, encrypt=True):
        self.write_bytes(url, b"", WriteOptions(encrypt=encrypt, exclusive=True,
                                                content_type=DEFAULT_CONTENT_TYPE))

    def etag(self, url):
        return self.stat(url).etag

    def md5(self, url):
        entry = self.stat(url)
        if entry.md5:
            return entry.md5
        raise ValueError(f"{url}: its ETag {entry.etag} is not an MD5 of the content (uploaded in "
                         "parts by another tool, or KMS-encrypted); download it and hash the file")

    def etag_matches(self, url, etag):
        entry = self.stat(url)
        return entry.etag == etag or (entry.md5 is not None and entry.md5 == etag)
