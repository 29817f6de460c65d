"""S3 (and S3-compatible stores): the :class:`S3Store` behind every s3:// URL.

Objects move through obstore (:mod:`baiji.stores.s3_engine`, the data
plane); listings through baiji's own lister (:mod:`baiji.stores.listing`);
ACLs, versions, buckets, presigned URLs and what obstore cannot express go
through one boto3 client, created (and boto3 imported) only when needed.
Errors of all three are translated in :mod:`baiji.stores.s3_errors`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

from baiji import config, integrity
from baiji import path as paths
from baiji.exceptions import BucketNotFound, KeyExists, KeyNotFound, S3Exception, TransientError
from baiji.stores import local
from baiji.stores.base import (DEFAULT_CONTENT_TYPE, MD5_METADATA, SOURCE_ETAG_METADATA, Entry, Progress, Store,
                               WriteOptions)
from baiji.stores.listing import ListError, Lister
from baiji.stores.s3_control import (PART_THREADS, ControlPlane, entry_of, head_entry, in_xml, object_split,
                                    split, version_args, write_args)
from baiji.stores.s3_engine import HEADER_NAMES, Engine, attributes, native_key, native_metadata
from baiji.stores.s3_engine import usable as engine_usable
from baiji.stores.s3_bodies import (CHUNK, Body, Piece, accepted, basis, checksum_alone, content_verdict, drain,
                                   range_size, retryable_reads, verdict)
from baiji.stores.s3_errors import StartOver, describe, left_unfinished, translate, translated
from baiji.stores.s3_source import Source
from baiji.stores.s3_uploads import in_flight
from baiji.tempfiles import atomic_path

log = logging.getLogger(__name__)

__all__ = ["S3Store", "translate", "translated", "split", "object_split", "content_verdict", "write_args"]

#: CopyObject's arguments that only a copy writing its metadata anew (REPLACE) takes.
_ANEW = {"ContentType", "ContentEncoding", "Metadata"}
#: The headers a copy that writes its metadata anew keeps from its source, as CopyObject's arguments.
_KEPT_HEADERS = {"cache-control": "CacheControl", "content-disposition": "ContentDisposition",
                 "content-language": "ContentLanguage", "expires": "Expires"}
#: Attempts to read one response body (the engine and botocore retry requests, not body reads).
READ_ATTEMPTS = 5
#: Attempts at a whole download: one whose content fails its check, or whose
#: object is replaced while its ranges are read, starts over (once).
DOWNLOAD_ATTEMPTS = 2


def _engine_entry(url: str, result, version_id: str | None) -> Entry:
    """The Entry of an engine GET or HEAD: its meta and attributes (no word on encryption)."""
    meta, attrs = result.meta, dict(result.attributes)
    return Entry(
        url=url, size=meta["size"], last_modified=meta["last_modified"],
        etag=integrity.normalize(meta["e_tag"]) if meta.get("e_tag") else None,
        version_id=meta.get("version") or version_id,
        content_type=attrs.pop("Content-Type", None), content_encoding=attrs.pop("Content-Encoding", None),
        metadata={k: v for k, v in attrs.items() if k not in HEADER_NAMES},
    )


def _listed_md5(url: str) -> bool:
    """Whether ``url`` is :class:`Listed` with a plain MD5 ETag, which its copy gets too."""
    etag = getattr(url, "etag", None)
    return bool(etag) and "-" not in etag


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


class S3Store(ControlPlane, Store):
    """An S3 endpoint: obstore for objects, the lister for listings, boto3 for the rest.

    ``client_factory(region=None)`` makes the boto3 client (of another region
    than the target's, for presigned URLs) and ``target_factory`` the
    :class:`baiji.config.Target`; each is called once, on first need.
    """

    def __init__(self, client_factory: Callable[[], object], target_factory: Callable[[], config.Target]):
        self._client_factory, self._target_factory = client_factory, target_factory
        self._client = self._engine = self._target = self._regions = None
        self._lock = threading.RLock()  # the engine is made from the target, under the same lock
        self._listers = threading.local()
        self._regional: dict = {}  # boto3 clients of other regions than the target's
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
        bucket, prefix = split(url)
        delimiter = "/" if shallow else None
        with translated(url):
            if versions:
                args = {"Bucket": bucket, "Prefix": prefix, **({"Delimiter": delimiter} if delimiter else {})}
                pages = self.client.get_paginator("list_object_versions").paginate(**args)
            else:
                pages = self.lister.pages(bucket, prefix, delimiter)
            for page in pages:
                yield from sorted(self._page_entries(bucket, page),
                                  key=lambda e: (e.url, not e.is_latest))

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

    def _open(self, url: str, version_id: str | None, byte_range: tuple[int, int] | None = None,
              if_match: str | None = None) -> tuple[Entry, object]:
        """GET ``url`` (``byte_range``: ``(start, end)``, end exclusive): its Entry and its body."""
        bucket, key = object_split(url)
        if self._native(key):
            with translated(url, version_id):
                result = self.engine.get(bucket, key, version_id, byte_range, if_match)
            return _engine_entry(url, result, version_id), Body(self.engine.chunks(result, CHUNK))
        args = {"Bucket": bucket, "Key": key, **version_args(version_id)}
        if byte_range:
            args["Range"] = f"bytes={byte_range[0]}-{byte_range[1] - 1}"
        if if_match:
            args["IfMatch"] = if_match
        with translated(url, version_id):
            resp = self.client.get_object(**args)
        return entry_of(url, resp, version_id), resp["Body"]

    def read_bytes(self, url, version_id=None):
        for attempt in range(READ_ATTEMPTS):
            _, body = self._open(url, version_id)
            try:
                return body.read()
            except retryable_reads() as err:
                if attempt == READ_ATTEMPTS - 1:
                    raise TransientError(f"{describe(url, version_id)}: connection lost while reading") from err
            finally:
                body.close()

    def download(self, url, local_path, version_id=None, progress=None, validate=True, exclusive=False):
        object_split(url)  # a bucket is no object: said before a local path gets the blame
        for _ in range(DOWNLOAD_ATTEMPTS):
            try:
                with local.translated(local_path), atomic_path(local_path, exclusive) as tmp:
                    entry, pieces = self._fetch(url, tmp, version_id, progress, validate)
                    if validate and not self._checks_out(tmp, entry, pieces, version_id):
                        raise StartOver(f"{describe(url, version_id)}: downloaded content does "
                                        f"not match its {basis(entry)}")
                return
            except StartOver as err:  # the temp file is gone, local_path untouched
                failure = err
                log.info("%s", err)  # with -v; without, the error raised says it once
        raise TransientError(f"{failure} (tried {DOWNLOAD_ATTEMPTS} times)") from failure

    def _checks_out(self, path: str, entry: Entry, pieces: list[Piece], version_id: str | None) -> bool:
        """Whether the downloaded file holds the object's content (its ranges' digests, else the file).

        An engine GET does not say how the object is encrypted: before an MD5
        mismatch counts, a HEAD tells whether its ETag is a content hash at all
        (and, if not, which checksum it has).
        """
        good = verdict(entry, pieces)
        if good is None:
            good = content_verdict(path, entry)
        if good is False and entry.encrypted is None:
            self._describe(entry, version_id)
            if not entry.etag_is_md5:
                good = content_verdict(path, entry)
        return accepted(entry, good)

    def head(self, url: str, version_id: str | None = None, if_match: str | None = None,
             part_number: int | None = None) -> Entry:
        """A HEAD through baiji's own client (no boto3) that asks for the object's checksum:
        size, ETag, encryption, metadata and checksum (``StartOver`` when ``if_match`` fails)."""
        with translated(url, version_id):
            fields = self._head_fields(url, version_id, part_number,
                                       {"if-match": f'"{if_match}"'} if if_match else {})
        return head_entry(url, fields, version_id)

    def _head_fields(self, url: str, version_id: str | None, part_number: int | None, headers: dict) -> dict:
        """A HEAD's header fields (ListError on failure), with ``x-amz-checksum-mode: ENABLED`` unless
        this server refused it (a 400 or 501 that the same HEAD without it does not get: it is then
        never sent again)."""
        bucket, key = object_split(url)
        params = {**({"versionId": version_id} if version_id else {}),
                  **({"partNumber": str(part_number)} if part_number else {})}
        if self._checksum_mode:
            try:
                return self.lister.head(bucket, key, params, {**headers, "x-amz-checksum-mode": "ENABLED"})
            except ListError as err:
                if err.status not in (400, 501):
                    raise
                fields = self.lister.head(bucket, key, params, headers)
                log.debug("%s refuses x-amz-checksum-mode (%s): checksums are not asked for",
                          self.lister.shown, err)
                self._checksum_mode = False
                return fields
        return self.lister.head(bucket, key, params, headers)

    def _describe(self, entry: Entry, version_id: str | None) -> None:
        """Fill in what a GET does not tell: encryption and checksum (a HEAD pinned to the same
        ETag) and, for a multipart object whose checksum is not a full-object one, its part size."""
        found = self.head(entry.url, version_id, if_match=entry.etag)
        entry.encrypted, entry.etag_is_md5, entry.checksum = found.encrypted, found.etag_is_md5, found.checksum
        self._find_part_size(entry, version_id)

    def _find_part_size(self, entry: Entry, version_id: str | None) -> None:
        """Ask for the part size of an object without an MD5 unless a full-object checksum, which
        needs none, tells its content."""
        if entry.md5 is None and (entry.checksum is None or entry.checksum.kind != integrity.FULL_OBJECT):
            entry.part_size = self._part_size(entry, version_id)

    def matches_file(self, url: str, path: str) -> bool:
        """Whether the local file at ``path`` surely holds the object's content: its MD5, its
        multipart ETag (with the part size its server tells), or a checksum of 64 bits or more
        (a CRC32 may prove a download wrong, never two files the same).  One to three HEADs."""
        entry = self.head(url)
        if not integrity.strong(entry.checksum):
            entry.checksum = None
        self._find_part_size(entry, None)
        with local.translated(path):
            return content_verdict(path, entry) is True

    def _part_size(self, entry: Entry, version_id: str | None) -> int | None:
        """A multipart object's part size as its server tells it (HEAD ``?partNumber=``): None for a
        single part, a server that does not tell, or parts that are not all one size but the last."""
        parts = integrity.part_count(entry.etag or "")
        if not parts or parts < 2:
            return None
        try:
            first, last = (self._head_fields(entry.url, version_id, n, {}) for n in (1, parts))
        except ListError:  # no part numbers here (or a flaky server): the layout stays unknown
            return None
        span, tail = int(first.get("content-length", 0)), int(last.get("content-length", 0))
        told = first.get("x-amz-mp-parts-count") == str(parts) == last.get("x-amz-mp-parts-count")
        return span if told and 0 < tail <= span and span * (parts - 1) + tail == entry.size else None

    def _fetch(self, url: str, tmp: str, version_id: str | None, progress: Progress,
               validate: bool = True) -> tuple[Entry, list[Piece]]:
        """Write the object into ``tmp``: one GET, plus parallel ranged GETs for large objects.

        Returns the object's entry and the :data:`Piece` of each range, hashed
        as they arrive (in parallel: hashlib and the CRCs let go of the GIL).
        When no MD5 will tell (``validate`` and an ETag that is no plain MD5,
        with no MD5 that baiji recorded), HEADs ask for the object's checksum
        and part size first, and each range is hashed with that checksum too
        (instead of MD5 where the checksum decides alone: ``checksum_alone``).
        Ranges follow the object's own part size when its server or its ETag
        tells it, so its multipart ETag or composite checksum can be checked
        from the digests without reading the file again.  Ranges are pinned to
        the first answer's ETag (If-Match).
        """
        entry, body = self._open(url, version_id)
        size = entry.size or 0
        etag = f'"{entry.etag}"' if entry.etag else None
        with open(tmp, "r+b") as f:
            fd = f.fileno()
            try:
                if validate and not entry.md5:
                    self._describe(entry, version_id)
                span = size if size <= integrity.MULTIPART_THRESHOLD else range_size(entry)
                hashes = {"algorithm": entry.checksum.algorithm if entry.checksum else None,
                          "md5": not checksum_alone(entry)}
                get = functools.partial(self._get_range, url, version_id, etag, fd, progress=progress, **hashes)
                try:
                    first = drain(body, fd, 0, span, progress, **hashes)
                except retryable_reads():
                    first = get(0, span)
            finally:
                body.close()
            if span >= size:
                return entry, [first]
            rest = [(off, min(span, size - off)) for off in range(span, size, span)]
            with ThreadPoolExecutor(PART_THREADS) as pool:
                return entry, [first, *pool.map(lambda r: get(*r), rest)]

    def _get_range(self, url, version_id, etag, fd, offset, length, progress, **hashes) -> Piece:
        """Fetch ``length`` bytes at ``offset`` into ``fd``, retrying broken bodies; their :data:`Piece`
        (``hashes``: as :func:`drain` takes them)."""
        for attempt in range(READ_ATTEMPTS):
            _, body = self._open(url, version_id, (offset, offset + length), etag)
            try:
                return drain(body, fd, offset, length, progress, **hashes)
            except retryable_reads() as err:
                if attempt == READ_ATTEMPTS - 1:
                    raise TransientError(f"{url}: connection lost while reading") from err
            finally:
                body.close()

    # -- writing ---------------------------------------------------------
    def _native_write(self, key: str, options: WriteOptions) -> bool:
        """Whether the engine can write ``key`` with ``options`` (no ACL: those need boto3)."""
        return self._native(key) and not options.policy and not options.grants \
            and native_metadata(options.metadata)

    def upload(self, local_path, url, options, progress=None):
        object_split(url)  # a bucket is no object: said before the local path gets the blame
        part_size = options.part_size or integrity.PART_SIZE
        with local.translated(local_path), open(local_path, "rb") as f:
            source = Source(local_path, f, url)
            if source.size <= (options.part_size or integrity.MULTIPART_THRESHOLD):
                data = source.whole()
                if not self.write_bytes(url, data, options):
                    raise KeyExists(f"{url} already exists")
                if progress:
                    progress(len(data))
                return
            if options.exclusive and self.exists(url):  # before reading it: a refusal costs no upload
                raise KeyExists(f"{url} already exists")
            source.hash(part_size)  # before the upload: its metadata carries the MD5
            metadata = {**(options.metadata or {}), MD5_METADATA: source.md5}
            if options.exclusive or not (self._native_write(split(url)[1], options) and self.engine.aborts_multipart):
                self._send_parts(url, source, options, metadata, progress)
            else:
                self._put_parts(url, source, options, metadata, progress)

    def _put_parts(self, url: str, source: Source, options: WriteOptions, metadata: dict, progress) -> None:
        """A multipart upload through the engine (which cannot make it exclusive), its parts pulled
        from ``source`` and its ETag checked against theirs."""
        sent = [0]

        def parts() -> Iterator[bytes]:
            if progress and sent[0]:  # sent again (to the bucket's region): what was sent counts no more
                progress(-sent[0])
            sent[0] = 0
            for data in source.parts():
                if progress:
                    progress(len(data))
                sent[0] += len(data)
                yield data
        bucket, key = split(url)
        try:
            with translated(url):
                stored = self.engine.put_parts(
                    bucket, key, parts, attributes(options.content_type, options.content_encoding, metadata),
                    options.encrypt, source.part_size, PART_THREADS)
        except S3Exception as err:  # obstore reports a failed Abort instead of what made it abort
            if not source.failure:
                raise
            if getattr(err, "upload_id", None):
                raise left_unfinished(url, err.upload_id, source.failure, err.abort_error) from err
            raise source.failure from err
        self._check_stored(url, stored, source.etag, options)

    def _send_parts(self, url: str, source: Source, options: WriteOptions, metadata: dict, progress) -> None:
        """A multipart upload through boto3 (exclusive ones: ``If-None-Match`` on its Complete); a
        retried Complete that meets the upload's own object is no refusal."""
        args = {**write_args(options), "Metadata": metadata}
        try:
            stored = self._upload_parts(url, source, args, progress, options.exclusive)
        except KeyExists as err:
            if not (err.retried and self._holds(url, source.md5, metadata, source.etag)):
                raise
            return
        self._check_stored(url, stored, source.etag, options)

    @staticmethod
    def _check_stored(url: str, stored: str | None, expected: str, options: WriteOptions) -> None:
        """Refuse an ETag that is not the content's (a body changed on the way).

        Only with SSE-S3 (``encrypt``) is the ETag sure to be a content hash:
        a bucket's default KMS encryption gives other ETags.
        """
        if options.encrypt and stored and integrity.normalize(stored) != expected:
            raise S3Exception(f"{url}: the server stored other content than was sent "
                              f"(ETag {integrity.normalize(stored)}, expected {expected}); upload it again")

    def write_bytes(self, url, data, options):
        bucket, key = object_split(url)
        digest = hashlib.md5(data)
        try:
            if self._native_write(key, options):
                with translated(url):
                    stored = self.engine.put(bucket, key, data, attributes(
                        options.content_type, options.content_encoding, options.metadata),
                        options.encrypt, create=options.exclusive)
                self._check_stored(url, stored, digest.hexdigest(), options)
                return True
            import base64

            args = write_args(options)
            if options.exclusive:
                args["IfNoneMatch"] = "*"
            with translated(url):
                self.client.put_object(Bucket=bucket, Key=key, Body=data,
                                       ContentMD5=base64.b64encode(digest.digest()).decode(), **args)
        except KeyExists as err:
            if not options.exclusive:
                raise
            # found on a first attempt: it was there before; on a retry it may be the first attempt's own
            return err.retried and self._holds(url, digest.hexdigest(), options.metadata or {})
        return True

    def _holds(self, url: str, md5: str, metadata: dict, etag: str | None = None) -> bool:
        """Whether ``url`` holds exactly this content and metadata (and ``etag``, if given).

        An exclusive PUT whose answer was lost is retried (by the engine or
        botocore), and the retry meets its own first attempt (412): the write
        did happen.  (An identical write by someone else looks the same, and
        its result is the same; ``open(key, 'x')`` tells racers apart by a
        token of its own.)
        """
        try:
            entry = self.stat(url)
        except KeyNotFound:
            return False
        return entry.md5 == md5 and entry.metadata == metadata and etag in (None, entry.etag)

    def copy(self, src, dst, options, version_id=None, progress=None):
        object_split(src)
        object_split(dst)
        if options.exclusive and self.exists(dst):
            raise KeyExists(f"{dst} already exists")
        try:
            self._copy(src, dst, options, version_id)
        except KeyExists as err:  # If-None-Match refused it (the error named src)
            if err.retried and self._copied(src, dst, version_id):
                return  # a retry that met its own first attempt's copy
            raise KeyExists(f"{dst} already exists") from err

    def _copy(self, src: str, dst: str, options: WriteOptions, version_id: str | None) -> None:
        """A server-side copy: CopyObject (obstore's within a bucket, else boto3's), exclusive ones
        with ``If-None-Match: *`` (``KeyExists`` where the server honours it); a multipart copy
        through s3transfer over 5 GiB (not exclusive: the HEAD before it is all that checks)."""
        (src_bucket, src_key), (bucket, key) = split(src), split(dst)
        args = write_args(options)
        self._anew(src, version_id, args)
        replace = "MetadataDirective" in args
        if src_bucket == bucket and not version_id and not replace and self._native(src_key) \
                and self._native_write(key, options):
            with translated(src):
                self.engine.copy(bucket, src_key, key, options.encrypt, create=options.exclusive)
            return
        source = {"Bucket": src_bucket, "Key": src_key, **version_args(version_id)}
        try:
            with translated(src, version_id):
                self.client.copy_object(Bucket=bucket, Key=key, CopySource=source, **args,
                                        **({"IfNoneMatch": "*"} if options.exclusive else {}))
        except BucketNotFound:  # the error names src; it may be the destination's bucket
            if not self.bucket_exists(bucket):
                raise BucketNotFound(f"{dst}: bucket {bucket} does not exist") from None
            raise
        except S3Exception as err:
            if "larger than the maximum" not in str(err) and "EntityTooLarge" not in str(err):
                raise
            from s3transfer.manager import TransferConfig

            with translated(src, version_id):  # over 5 GiB: multipart copy, still server-side
                self.client.copy(source, bucket, key, ExtraArgs=args,
                                 Config=TransferConfig(max_request_concurrency=PART_THREADS))

    def _anew(self, src: str, version_id: str | None, args: dict) -> None:
        """Complete a copy's CopyObject ``args`` when it must write its metadata anew (REPLACE).

        That is when a content type, encoding or metadata is given, or when no MD5
        tells the source's content (a multipart object of another tool, a KMS one):
        the copy's ETag will not be the source's, so the source's ETag is recorded
        (``baiji-source-etag``) for ``sync`` to compare.  The rest is the source's (one HEAD,
        not needed for a source listed with a plain MD5 ETag).
        """
        if not _ANEW & args.keys() and _listed_md5(src):
            return
        with translated(src, version_id):
            fields = self._head_fields(src, version_id, None, {})
        current = head_entry(src, fields, version_id)
        if current.md5 is None and current.etag:
            args["Metadata"] = {**args.get("Metadata", current.metadata), SOURCE_ETAG_METADATA: current.etag}
        if not _ANEW & args.keys():
            return
        args.setdefault("ContentType", current.content_type or DEFAULT_CONTENT_TYPE)
        if current.content_encoding:
            args.setdefault("ContentEncoding", current.content_encoding)
        args.setdefault("Metadata", current.metadata)
        args.update({arg: fields[name] for name, arg in _KEPT_HEADERS.items() if name in fields and arg not in args})
        args["MetadataDirective"] = "REPLACE"

    def _copied(self, src: str, dst: str, version_id: str | None) -> bool:
        """Whether ``dst`` holds what ``src`` holds (the same size, and ETag or MD5)."""
        try:
            have, want = self.stat(dst), self.stat(src, version_id)
        except KeyNotFound:
            return False
        return have.size == want.size and (have.etag == want.etag or (have.md5 is not None and have.md5 == want.md5)
                                           or have.metadata.get(SOURCE_ETAG_METADATA) == want.etag)

    # -- removing --------------------------------------------------------
    def delete(self, url, version_id=None):
        bucket, key = object_split(url)
        if not version_id and self._native(key) and in_xml(key):  # the engine's delete is a DeleteObjects
            with translated(url):
                self.engine.delete(bucket, [key])
            return
        with translated(url, version_id):
            self.client.delete_object(Bucket=bucket, Key=key, **version_args(version_id))

    def delete_each(self, targets: Iterable[tuple[str, str | None]]) -> list[tuple[str, Exception]]:
        """Delete each ``(url, version_id)`` with a request of its own (DeleteObject: the key goes
        in the URL, not in XML); the ``(url, error)`` of those that failed."""
        failed = []
        for url, version_id in targets:
            try:
                self.delete(url, version_id)
            except S3Exception as err:
                failed.append((url, err))
        return failed

    def delete_many(self, urls):
        """Delete ``urls``: DeleteObjects batches of 1,000, and one request for each key that XML 1.0
        cannot name (``in_xml``), which would make its whole batch fail."""
        failed = self.delete_each((url, None) for url in urls if not in_xml(split(url)[1]))
        by_bucket: dict[str, list[str]] = {}
        for url in urls:
            bucket, key = split(url)
            if in_xml(key):
                by_bucket.setdefault(bucket, []).append(key)
        for bucket, keys in by_bucket.items():
            for start in range(0, len(keys), 1000):
                batch = keys[start:start + 1000]
                if all(self._native(k) for k in batch):
                    try:
                        with translated(f"s3://{bucket}/{batch[0]}"):
                            self.engine.delete(bucket, batch)
                        continue
                    except S3Exception:  # which keys failed? DeleteObjects below tells
                        pass
                with translated(f"s3://{bucket}/{batch[0]}"):
                    resp = self.client.delete_objects(
                        Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
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
