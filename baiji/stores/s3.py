"""S3 (and S3-compatible stores) through boto3, with botocore errors translated here.

:func:`translated` is the one place where botocore's exceptions become
baiji's: the message names the URL (and version) and the cause is chained.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator

import botocore.exceptions as boto_errors
from s3transfer.manager import TransferConfig

from baiji import integrity
from baiji import path as paths
from baiji.exceptions import (AWSCredentialsMissing, BucketNotFound, InvalidVersionID, IsADirectory, KeyExists,
                              KeyNotFound, S3Exception, TransientError)
from baiji.stores import local
from baiji.stores.base import DEFAULT_CONTENT_TYPE, MD5_METADATA, Entry, Progress, Store, WriteOptions
from baiji.tempfiles import atomic_path

log = logging.getLogger(__name__)

#: Threads moving the parts of one large upload or download.
PART_THREADS = 8
#: Attempts to read one response body (botocore retries requests, not body reads).
READ_ATTEMPTS = 5
#: Attempts at a whole download: one whose content fails its check, or whose
#: object is replaced while its ranges are read, starts over (once).
DOWNLOAD_ATTEMPTS = 2
_READ = 1024 * 1024
_NOT_FOUND = {"NoSuchKey", "NotFound", "404", "NoSuchVersion"}
_DENIED = {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled"}
_STREAM_ERRORS = (boto_errors.IncompleteReadError, boto_errors.ResponseStreamingError,
                  boto_errors.ReadTimeoutError, boto_errors.ConnectionClosedError,
                  ConnectionError)
CREDENTIALS_HELP = ("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                    "or AWS_PROFILE, or configure ~/.aws/credentials")


def split(url: str) -> tuple[str, str]:
    """``(bucket, key)`` of an s3 URL."""
    parsed = paths.parse(url)
    return parsed.netloc, parsed.path[1:]


def object_split(url: str) -> tuple[str, str]:
    """``(bucket, key)`` of an s3 URL naming an object; ``IsADirectory`` for a bucket's root.

    botocore sends a request for the key ``''`` to the bucket itself: a DeleteObject
    became DeleteBucket (SeaweedFS removed a bucket and every key in it for
    ``s3 rm s3://b``), a PutObject CreateBucket, a HeadObject HeadBucket.
    """
    bucket, key = split(url)
    if not key:
        raise IsADirectory(f"{url} is a bucket, not a key (use rm -r / ls / cp -r for what it holds)")
    return bucket, key


def describe(url: str, version_id: str | None = None) -> str:
    return f"{url} (version {version_id})" if version_id else url


class _StartOver(TransientError):
    """A download to start over: its content failed the check, or the object changed meanwhile."""


def translate(err: Exception, url: str, version_id: str | None = None) -> Exception:
    """The baiji exception for a botocore/s3transfer error about ``url``."""
    what = describe(url, version_id)
    if isinstance(err, boto_errors.ClientError):
        info = err.response.get("Error", {})
        code = str(info.get("Code", ""))
        message = info.get("Message") or code
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket":
            return BucketNotFound(f"{what}: bucket {split(url)[0]} does not exist")
        if code in _NOT_FOUND or status == 404:
            return KeyNotFound(f"{what}: not found")
        if version_id and code in ("InvalidArgument", "InvalidVersionId", "400"):
            return InvalidVersionID(f"{what}: invalid version id")
        if code == "PreconditionFailed" or status == 412:
            if err.operation_name == "GetObject":  # If-Match: replaced since the first GET
                return _StartOver(f"{what} changed while downloading")
            return KeyExists(f"{what} already exists")
        if code in _DENIED or status == 403:
            return S3Exception(f"Permission denied on {what} ({code or status})")
        return S3Exception(f"{what}: {code}: {message}")
    if isinstance(err, (boto_errors.NoCredentialsError, boto_errors.PartialCredentialsError)):
        return AWSCredentialsMissing(CREDENTIALS_HELP)
    if isinstance(err, (boto_errors.EndpointConnectionError, boto_errors.ConnectTimeoutError)):
        return S3Exception(f"{what}: cannot reach the S3 endpoint ({err})")
    if isinstance(err, _STREAM_ERRORS):
        return TransientError(f"{what}: connection lost while reading ({type(err).__name__})")
    return S3Exception(f"{what}: {err}")


@contextlib.contextmanager
def translated(url: str, version_id: str | None = None):
    """Raise baiji's exception, naming ``url``, for any botocore error inside the block."""
    try:
        yield
    except (boto_errors.BotoCoreError, boto_errors.ClientError) as err:
        raise translate(err, url, version_id) from err


def _entry(url: str, meta: dict, version_id: str | None = None) -> Entry:
    return Entry(
        url=url,
        size=meta.get("ContentLength", meta.get("Size")),
        last_modified=meta.get("LastModified"),
        etag=integrity.normalize(meta["ETag"]) if meta.get("ETag") else None,
        version_id=meta.get("VersionId", version_id),
        content_type=meta.get("ContentType"),
        content_encoding=meta.get("ContentEncoding"),
        encrypted=bool(meta.get("ServerSideEncryption") or meta.get("SSECustomerAlgorithm")),
        metadata=meta.get("Metadata") or {},
        etag_is_md5=etag_is_md5(meta),
    )


def etag_is_md5(meta: dict) -> bool:
    """False for KMS and customer-key encryption, whose ETags are not content hashes."""
    return meta.get("ServerSideEncryption") != "aws:kms" and not meta.get("SSECustomerAlgorithm")


def content_matches(path: str, entry: Entry) -> bool:
    """Whether the local file holds the object's content, as far as its ETag can tell.

    A mismatch is certain only against an MD5 (a plain ETag or baiji's
    recorded MD5).  A multipart ETag that no common part size reproduces, or
    an ETag that is no content hash (KMS), cannot be checked: it counts as a
    match (the download's length was still checked).
    """
    if entry.md5:
        return integrity.md5_file(path) == entry.md5
    if not entry.etag or not entry.etag_is_md5 or integrity.file_matches_etag(path, entry.etag):
        return True
    if "-" in entry.etag:
        log.debug("%s: multipart ETag of an unknown part size, content not verified", entry.url)
        return True
    return False


def _version_args(version_id: str | None) -> dict:
    return {"VersionId": version_id} if version_id else {}


def write_args(options: WriteOptions) -> dict:
    """The PutObject/CopyObject/CreateMultipartUpload arguments for ``options``."""
    args = {}
    if options.policy:
        args["ACL"] = options.policy
    if options.encrypt:
        args["ServerSideEncryption"] = "AES256"
    if options.content_type:
        args["ContentType"] = options.content_type
    if options.content_encoding:
        args["ContentEncoding"] = options.content_encoding
    if options.metadata is not None:
        args["Metadata"] = dict(options.metadata)
    if options.grants:
        args.update(options.grants)
    return args


class _Truncated(Exception):
    """A response body ended before the bytes it promised."""


_RETRYABLE_READS = _STREAM_ERRORS + (_Truncated,)


class S3Store(Store):
    """An S3 endpoint reached through one boto3 client (created on first use)."""

    def __init__(self, client_factory: Callable[[], object]):
        self._client_factory = client_factory
        self._client = None
        self._client_lock = threading.Lock()

    @property
    def loaded_client(self):
        """The client if it was created already, else None."""
        return self._client

    @property
    def client(self):
        """The boto3 client, created once (threads racing here share one)."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    try:  # e.g. ProfileNotFound: a botocore error before any request
                        self._client = self._client_factory()
                    except boto_errors.BotoCoreError as err:
                        raise S3Exception(f"cannot configure the S3 client: {err}") from err
        return self._client

    # -- reading ---------------------------------------------------------
    def stat(self, url, version_id=None):
        bucket, key = object_split(url)
        with translated(url, version_id):
            meta = self.client.head_object(Bucket=bucket, Key=key, **_version_args(version_id))
        return _entry(url, meta, version_id)

    def list(self, url, shallow=False, versions=False, followlinks=False) -> Iterator[Entry]:
        bucket, prefix = split(url)
        args = {"Bucket": bucket, "Prefix": prefix}
        if shallow:
            args["Delimiter"] = "/"
        operation = "list_object_versions" if versions else "list_objects_v2"
        pages = self.client.get_paginator(operation).paginate(**args)
        with translated(url):
            for page in pages:
                yield from sorted(self._page_entries(bucket, page),
                                  key=lambda e: (e.url, not e.is_latest))

    @staticmethod
    def _page_entries(bucket: str, page: dict) -> Iterator[Entry]:
        base = f"s3://{bucket}/"
        for obj in [*page.get("Contents", []), *page.get("Versions", [])]:
            entry = _entry(base + obj["Key"], obj)
            entry.is_latest = obj.get("IsLatest")
            yield entry
        for marker in page.get("DeleteMarkers", ()):
            yield Entry(url=base + marker["Key"], last_modified=marker.get("LastModified"),
                        version_id=marker.get("VersionId"), is_latest=marker.get("IsLatest"),
                        delete_marker=True)
        for prefix in page.get("CommonPrefixes", ()):
            yield Entry(url=base + prefix["Prefix"], is_dir=True)

    def read_bytes(self, url, version_id=None):
        bucket, key = object_split(url)
        for attempt in range(READ_ATTEMPTS):
            with translated(url, version_id):
                resp = self.client.get_object(Bucket=bucket, Key=key, **_version_args(version_id))
                try:
                    return resp["Body"].read()
                except _STREAM_ERRORS:
                    if attempt == READ_ATTEMPTS - 1:
                        raise

    def download(self, url, local_path, version_id=None, progress=None, validate=True):
        object_split(url)  # a bucket is no object: said before a local path gets the blame
        for _ in range(DOWNLOAD_ATTEMPTS):
            try:
                with local.translated(local_path), atomic_path(local_path) as tmp:
                    entry, part_digests = self._fetch(url, tmp, version_id, progress)
                    if validate and not _checks_out(tmp, entry, part_digests):
                        raise _StartOver(f"{describe(url, version_id)}: downloaded content does "
                                         "not match its ETag")
                return
            except _StartOver as err:  # the temp file is gone, local_path untouched
                failure = err
                log.warning("%s", err)
        raise TransientError(f"{failure} (tried {DOWNLOAD_ATTEMPTS} times)") from failure

    def _fetch(self, url: str, tmp: str, version_id: str | None,
               progress: Progress) -> tuple[Entry, list[bytes]]:
        """Write the object into ``tmp``: one GET, plus parallel ranged GETs for large objects.

        Returns the object's entry and the MD5 digests of the ranges, hashed
        as they arrive (in parallel: hashlib lets go of the GIL).  Ranges
        follow the object's own part size when its ETag is a multipart one,
        so the ETag can be checked from the digests without reading the
        file again.
        """
        bucket, key = object_split(url)
        args = {"Bucket": bucket, "Key": key, **_version_args(version_id)}
        with translated(url, version_id):
            resp = self.client.get_object(**args)
        entry = _entry(url, resp, version_id)
        size = entry.size or 0
        span = size if size <= integrity.MULTIPART_THRESHOLD else _range_size(entry)
        pinned = {**args, "IfMatch": resp["ETag"]}
        with open(tmp, "r+b") as f:
            fd = f.fileno()
            try:
                first = _drain(resp["Body"], fd, 0, span, progress)
            except _RETRYABLE_READS:
                first = self._get_range(url, pinned, fd, 0, span, progress)
            finally:
                resp["Body"].close()
            if span >= size:
                return entry, [first]
            rest = [(off, min(span, size - off)) for off in range(span, size, span)]
            with ThreadPoolExecutor(PART_THREADS) as pool:
                others = pool.map(lambda r: self._get_range(url, pinned, fd, *r, progress), rest)
                return entry, [first, *others]

    def _get_range(self, url, args, fd, offset, length, progress) -> bytes:
        """Fetch ``length`` bytes at ``offset`` into ``fd``, retrying broken bodies; their MD5."""
        for attempt in range(READ_ATTEMPTS):
            with translated(url, args.get("VersionId")):
                resp = self.client.get_object(Range=f"bytes={offset}-{offset + length - 1}", **args)
            try:
                return _drain(resp["Body"], fd, offset, length, progress)
            except _RETRYABLE_READS as err:
                if attempt == READ_ATTEMPTS - 1:
                    raise TransientError(f"{url}: connection lost while reading") from err
            finally:
                resp["Body"].close()

    # -- writing ---------------------------------------------------------
    def upload(self, local_path, url, options, progress=None):
        with local.translated(local_path):
            size = os.path.getsize(local_path)
        part_size = options.part_size or integrity.PART_SIZE
        threshold = options.part_size or integrity.MULTIPART_THRESHOLD
        if size <= threshold:
            with local.translated(local_path), open(local_path, "rb") as f:
                data = f.read()
            if not self.write_bytes(url, data, options):
                raise KeyExists(f"{url} already exists")
            if progress:
                progress(len(data))
            return
        if options.exclusive and self.exists(url):
            raise KeyExists(f"{url} already exists")
        with local.translated(local_path):
            md5 = integrity.md5_file(local_path)
        args = write_args(options)
        args["Metadata"] = {**args.get("Metadata", {}), MD5_METADATA: md5}
        with local.translated(local_path), open(local_path, "rb") as f:
            self._upload_parts(url, f.fileno(), size, part_size, args, progress)

    def _upload_parts(self, url: str, fd: int, size: int, part_size: int, args: dict,
                      progress: Progress) -> None:
        """A multipart upload with parts sent in parallel; aborted (no orphan parts) on any failure."""
        bucket, key = object_split(url)
        with translated(url):
            upload_id = self.client.create_multipart_upload(Bucket=bucket, Key=key, **args)["UploadId"]
        ids = {"Bucket": bucket, "Key": key, "UploadId": upload_id}

        def send(number: int) -> dict:
            data = os.pread(fd, part_size, (number - 1) * part_size)
            md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
            with translated(url):
                resp = self.client.upload_part(PartNumber=number, Body=data, ContentMD5=md5, **ids)
            if progress:
                progress(len(data))
            return {"PartNumber": number, "ETag": resp["ETag"]}

        try:
            with ThreadPoolExecutor(PART_THREADS) as pool:
                parts = list(pool.map(send, range(1, -(-size // part_size) + 1)))
            with translated(url):
                self.client.complete_multipart_upload(MultipartUpload={"Parts": parts}, **ids)
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(**ids)
            raise

    def write_bytes(self, url, data, options):
        bucket, key = object_split(url)
        args = write_args(options)
        if options.exclusive:
            args["IfNoneMatch"] = "*"
        digest = hashlib.md5(data)
        try:
            with translated(url):
                self.client.put_object(Bucket=bucket, Key=key, Body=data,
                                       ContentMD5=base64.b64encode(digest.digest()).decode(), **args)
        except KeyExists:
            if options.exclusive:
                return self._holds(url, digest.hexdigest(), args.get("Metadata") or {})
            raise
        return True

    def _holds(self, url: str, md5: str, metadata: dict) -> bool:
        """Whether ``url`` holds exactly this content and metadata.

        An exclusive PUT whose answer was lost is retried by botocore, and the
        retry meets its own first attempt (412): the write did happen.  (An
        identical write by someone else looks the same, and its result is
        the same; ``open(key, 'x')`` tells racers apart by a token of its own.)
        """
        try:
            entry = self.stat(url)
        except KeyNotFound:
            return False
        return entry.md5 == md5 and entry.metadata == metadata

    def copy(self, src, dst, options, version_id=None, progress=None):
        src_bucket, src_key = object_split(src)
        bucket, key = object_split(dst)
        if options.exclusive and self.exists(dst):
            raise KeyExists(f"{dst} already exists")
        source = {"Bucket": src_bucket, "Key": src_key, **_version_args(version_id)}
        args = write_args(options)
        if "ContentType" in args or "ContentEncoding" in args or "Metadata" in args:
            current = self.stat(src, version_id)
            args.setdefault("ContentType", current.content_type or DEFAULT_CONTENT_TYPE)
            if current.content_encoding:
                args.setdefault("ContentEncoding", current.content_encoding)
            args.setdefault("Metadata", current.metadata)
            args["MetadataDirective"] = "REPLACE"
        try:
            with translated(src, version_id):
                self.client.copy_object(Bucket=bucket, Key=key, CopySource=source, **args)
        except BucketNotFound:  # the error names src; it may be the destination's bucket
            if not self.bucket_exists(bucket):
                raise BucketNotFound(f"{dst}: bucket {bucket} does not exist") from None
            raise
        except S3Exception as err:
            if "larger than the maximum" not in str(err) and "EntityTooLarge" not in str(err):
                raise
            with translated(src, version_id):  # over 5 GiB: multipart copy, still server-side
                self.client.copy(source, bucket, key, ExtraArgs=args,
                                 Config=TransferConfig(max_request_concurrency=PART_THREADS))

    # -- removing --------------------------------------------------------
    def delete(self, url, version_id=None):
        bucket, key = object_split(url)
        with translated(url, version_id):
            self.client.delete_object(Bucket=bucket, Key=key, **_version_args(version_id))

    def delete_many(self, urls):
        failed = []
        by_bucket: dict[str, list[str]] = {}
        for url in urls:
            bucket, key = split(url)
            by_bucket.setdefault(bucket, []).append(key)
        for bucket, keys in by_bucket.items():
            for start in range(0, len(keys), 1000):
                batch = keys[start:start + 1000]
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

    def bucket_exists(self, bucket: str) -> bool:
        try:
            with translated(f"s3://{bucket}"):
                self.client.head_bucket(Bucket=bucket)
        except KeyNotFound:
            return False
        return True

    def acl(self, url: str, version_id: str | None = None) -> dict:
        bucket, key = object_split(url)
        with translated(url, version_id):
            return self.client.get_object_acl(Bucket=bucket, Key=key, **_version_args(version_id))

    def grants_of(self, url: str, version_id: str | None = None) -> dict:
        """The ACL of ``url`` as ``Grant*`` arguments (which every server honours)."""
        acl = self.acl(url, version_id)
        by_permission: dict[str, list[str]] = {}
        for grant in acl.get("Grants", ()):
            grantee = grant["Grantee"]
            if grantee.get("Type") == "Group":
                who = f'uri="{grantee["URI"]}"'
            elif grantee.get("ID"):
                who = f'id="{grantee["ID"]}"'
            else:
                continue
            by_permission.setdefault(grant["Permission"], []).append(who)
        names = {"FULL_CONTROL": "GrantFullControl", "READ": "GrantRead",
                 "READ_ACP": "GrantReadACP", "WRITE_ACP": "GrantWriteACP"}
        return {names[p]: ", ".join(who) for p, who in by_permission.items() if p in names}

    def presign(self, url: str, ttl: int) -> str:
        bucket, key = object_split(url)
        with translated(url):
            return self.client.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=int(ttl))


def _range_size(entry: Entry) -> int:
    """The size of ranged GETs for a large object: its own part size where the ETag tells."""
    parts = integrity.part_count(entry.etag or "") if entry.etag_is_md5 else None
    candidates = integrity.candidate_part_sizes(entry.size or 0, parts) if parts else []
    return candidates[0] if candidates else integrity.PART_SIZE


def _verdict(entry: Entry, part_digests: list[bytes]) -> bool | None:
    """Whether the ranges' digests prove the content right (True) or wrong (False).

    None when they cannot tell: a plain MD5 split over several ranges, or a
    multipart ETag whose part size was guessed wrong.  The file must then be
    read again (``content_matches``).
    """
    if len(part_digests) == 1 and entry.md5:  # a plain ETag, or baiji's recorded MD5
        return part_digests[0].hex() == entry.md5
    etag = (entry.etag or "") if entry.etag_is_md5 else ""  # Entry ETags come normalized
    if "-" in etag:
        combined = hashlib.md5(b"".join(part_digests)).hexdigest()
        if f"{combined}-{len(part_digests)}" == etag:
            return True
    return None


def _checks_out(path: str, entry: Entry, part_digests: list[bytes]) -> bool:
    """Whether the downloaded file holds the object's content (its ranges' digests, else the file)."""
    verdict = _verdict(entry, part_digests)
    return content_matches(path, entry) if verdict is None else verdict


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    """Write all of ``data`` at ``offset``: ``os.pwrite`` may write less (a disk filling up)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        if not written:  # no error, no progress: never loop forever
            raise OSError(errno.EIO, "write made no progress")
        view, offset = view[written:], offset + written


def _drain(body, fd: int, offset: int, length: int, progress: Progress) -> bytes:
    """Copy exactly ``length`` bytes of ``body`` into ``fd`` at ``offset``; their MD5."""
    done, digest = 0, hashlib.md5()
    try:
        while done < length:
            block = body.read(min(_READ, length - done))
            if not block:
                raise _Truncated(f"body ended after {done} of {length} bytes")
            digest.update(block)
            _pwrite_all(fd, block, offset + done)
            done += len(block)
            if progress:
                progress(len(block))
    except BaseException:
        if progress and done:
            progress(-done)
        raise
    return digest.digest()
