"""Writing S3 objects: PUTs and multipart uploads (through the engine, else boto3), exclusive
writes (``If-None-Match: *``) and server-side copies, each stored ETag checked against what was
sent.  A mixin of :class:`baiji.stores.s3.S3Store`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from baiji import integrity
from baiji.exceptions import BucketNotFound, KeyExists, KeyNotFound, S3Exception
from baiji.stores import local
from baiji.stores.base import DEFAULT_CONTENT_TYPE, MD5_METADATA, SOURCE_ETAG_METADATA, WriteOptions
from baiji.stores.s3_control import PART_THREADS, head_entry, object_split, split, version_args, write_args
from baiji.stores.s3_engine import attributes, native_metadata
from baiji.stores.s3_errors import left_unfinished, translated
from baiji.stores.s3_resume import forget
from baiji.stores.s3_source import Source

if TYPE_CHECKING:
    from typing import Any

#: CopyObject's arguments that only a copy writing its metadata anew (REPLACE) takes.
_ANEW = {"ContentType", "ContentEncoding", "Metadata", "CacheControl", "ContentDisposition", "Expires"}
#: The headers a copy that writes its metadata anew keeps from its source, as CopyObject's arguments.
_KEPT_HEADERS = {"cache-control": "CacheControl", "content-disposition": "ContentDisposition",
                 "content-language": "ContentLanguage", "expires": "Expires"}


def _listed_md5(url: str) -> bool:
    """Whether ``url`` is :class:`Listed` with a plain MD5 ETag, which its copy gets too."""
    etag = getattr(url, "etag", None) or ""
    return bool(etag) and "-" not in etag


class Writes:
    """PUTs, uploads and copies (``self``: the :class:`~baiji.stores.s3.S3Store`)."""

    # S3Store's and its other mixins', for mypy (annotations only: nothing at run time)
    client: Any
    engine: Any
    stat: Any
    exists: Any
    bucket_exists: Any
    _native: Any
    _head_fields: Any
    _upload_parts: Any

    def _native_write(self, key: str, options: WriteOptions) -> bool:
        """Whether the engine can write ``key`` with ``options`` (no ACL and no ``headers``: those
        need boto3)."""
        return self._native(key) and not options.policy and not options.grants and not options.headers \
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
                return None
            if options.exclusive and self.exists(url):  # before reading it: a refusal costs no upload
                raise KeyExists(f"{url} already exists")
            source.hash(part_size)  # before the upload: its metadata carries the MD5
            metadata = {**(options.metadata or {}), MD5_METADATA: source.md5}
            if not options.resume:
                forget(self, url, source)
            if options.resume or options.exclusive or not (
                    self._native_write(split(url)[1], options) and self.engine.aborts_multipart):
                return self._send_parts(url, source, options, metadata, progress)
            self._put_parts(url, source, options, metadata, progress)
            return None

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

    def _send_parts(self, url: str, source: Source, options: WriteOptions, metadata: dict,
                    progress) -> int | None:
        """A multipart upload through boto3 (exclusive ones: ``If-None-Match`` on its Complete;
        resumable ones with ``options.resume``); a retried Complete that meets the upload's own
        object is no refusal.  The bytes an interrupted run had sent (None: not resumed)."""
        args = {**write_args(options), "Metadata": metadata}
        try:
            stored, there = self._upload_parts(url, source, args, progress, options.exclusive, options.resume)
        except KeyExists as err:
            if not (err.retried and self._holds(url, source.md5, metadata, source.etag)):
                raise
            return None
        self._check_stored(url, stored, source.etag, options)
        return there

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

    def _holds(self, url: str, md5: str | None, metadata: dict, etag: str | None = None) -> bool:
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
