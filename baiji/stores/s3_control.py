"""S3's control plane: what goes through boto3 (created, and imported, only when needed).

HEAD, ACLs, presigned URLs, buckets and versions listings, and the data
requests obstore cannot express (keys it would rewrite, ACL policies, copies
between buckets or with new metadata): :class:`ControlPlane` holds the ones
that are whole operations; :class:`baiji.stores.s3.S3Store` routes the rest.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from baiji import integrity
from baiji import path as paths
from baiji.exceptions import BucketNotFound, IsADirectory, KeyExists, KeyNotFound, S3Exception, TransientError
from baiji.stores.base import Entry, WriteOptions, key_order
from baiji.stores.s3_errors import left_unfinished, translated
from baiji.stores.s3_source import Source
from baiji.stores.s3_uploads import Upload, in_flight

if TYPE_CHECKING:
    from typing import Any

#: Threads moving the parts of one large upload or download.
PART_THREADS = 8

log = logging.getLogger(__name__)


def in_threads(call: Callable[[int], dict], items: Iterable[int]) -> list[dict]:
    """``[call(item) for item in items]`` on :data:`PART_THREADS` threads; at the first failure
    the calls not started are dropped, those under way finished, and the failure raised."""
    pool = ThreadPoolExecutor(PART_THREADS)
    try:
        return list(pool.map(call, items))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


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


#: What XML 1.0 cannot carry (outside its ``Char`` production): control characters but tab, line
#: feed and carriage return, surrogates, U+FFFE and U+FFFF (as text: ``re`` compiles it at first use).
_NOT_XML = "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"


def in_xml(key: str) -> bool:
    """Whether a DeleteObjects body (XML 1.0) can name ``key``; a key it cannot (``p/b\\x01.txt``)
    makes the server refuse the whole batch (MalformedXML, or a 500), naming another key."""
    return re.search(_NOT_XML, key) is None


def entry_of(url: str, meta: dict, version_id: str | None = None) -> Entry:
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


def listed_entry(url: str, obj: dict) -> Entry:
    """``entry_of`` a listing's object (``Key``, ``Size``, ``LastModified``, ``ETag``: no
    encryption, metadata or version to read), in 60% of its time."""
    etag = obj.get("ETag")
    return Entry(url, obj["Size"], obj["LastModified"], integrity.normalize(etag) if etag else None,
                 encrypted=False)


#: The prefix of user metadata headers.
META = "x-amz-meta-"


def head_entry(url: str, fields: dict[str, str], version_id: str | None = None) -> Entry:
    """The Entry of a raw HEAD's header fields (lower-case names), its checksum included."""
    etag = integrity.normalize(fields["etag"]) if fields.get("etag") else None
    sse = {"ServerSideEncryption": fields.get("x-amz-server-side-encryption"),
           "SSECustomerAlgorithm": fields.get("x-amz-server-side-encryption-customer-algorithm")}
    checksums = {name: fields[f"x-amz-checksum-{name.lower()}"] for name in integrity.CHECKSUM_ALGORITHMS
                 if f"x-amz-checksum-{name.lower()}" in fields}
    return Entry(
        url=url, size=int(fields.get("content-length", 0)), etag=etag,
        version_id=fields.get("x-amz-version-id", version_id),
        content_type=fields.get("content-type"), content_encoding=fields.get("content-encoding"),
        encrypted=any(sse.values()), etag_is_md5=etag_is_md5(sse),
        metadata={name[len(META):]: value for name, value in fields.items() if name.startswith(META)},
        checksum=integrity.checksum_of(checksums, fields.get("x-amz-checksum-type"), etag),
    )


def etag_is_md5(meta: dict) -> bool:
    """False for KMS (``aws:kms``, and ``aws:kms:dsse``) and customer-key encryption, whose ETags
    are not content hashes."""
    kms = str(meta.get("ServerSideEncryption") or "").startswith("aws:kms")
    return not kms and not meta.get("SSECustomerAlgorithm")


def version_args(version_id: str | None) -> dict:
    return {"VersionId": version_id} if version_id else {}


def write_args(options: WriteOptions) -> dict:
    """The PutObject/CopyObject/CreateMultipartUpload arguments for ``options``."""
    args: dict[str, object] = {}
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
    args.update(options.headers or {})
    return args


class ControlPlane:
    """The boto3 operations of :class:`baiji.stores.s3.S3Store` (``self.client``: the boto3 client)."""

    # S3Store's and its base's, for mypy (annotations only: nothing at run time)
    client: Any
    lister: Any
    regions: Any
    client_in: Any
    exists: Any

    def _upload_parts(self, url: str, source: Source, args: dict, progress, exclusive: bool,
                      resume: bool = False) -> tuple[str | None, int | None]:
        """A multipart upload through boto3 of the parts of ``source``, on threads: the new ETag,
        and the bytes an interrupted run had sent already (None: not resumed).

        ``exclusive``: refused (``KeyExists``) where the key exists: a HEAD
        just before the Complete, which carries ``If-None-Match: *`` (where
        the server honours it, only that makes it atomic).  ``resume``: the
        upload is resumable (:mod:`baiji.stores.s3_resume`): kept on failure
        for a rerun.  Else any failure, ``SourceChanged`` included, aborts the
        upload (see :meth:`_abort`), which is registered while it runs (see
        :mod:`baiji.stores.s3_uploads`).
        """
        from baiji.stores import s3_resume

        if resume:
            with s3_resume.resumable(self, url, source, args) as parts:
                if parts is not None:
                    there = parts.bytes_there(source) if parts.resumed else None
                    return self._send_rest(url, source, parts, progress, exclusive), there
        with in_flight(self, *split(url)) as flight:
            parts = s3_resume.Parts(self.create_upload(url, args))
            flight.upload_id = parts.ids["UploadId"]
            try:
                return self._send_rest(url, source, parts, progress, exclusive), None
            except BaseException as err:
                self._abort(url, parts.ids, err)
                raise

    def create_upload(self, url: str, args: dict) -> dict:
        """CreateMultipartUpload: the new upload's Bucket, Key and UploadId."""
        bucket, key = split(url)
        with translated(url):
            upload_id = self.client.create_multipart_upload(Bucket=bucket, Key=key, **args)["UploadId"]
        return {"Bucket": bucket, "Key": key, "UploadId": upload_id}

    def _send_rest(self, url: str, source: Source, parts, progress, exclusive: bool) -> str | None:
        """Send the parts of ``source`` that ``parts`` lacks (:class:`~baiji.stores.s3_resume.Parts`),
        then Complete the upload with all of them: the new ETag."""
        import base64

        ids = parts.ids
        if progress and parts.there:
            progress(parts.bytes_there(source))

        def send(number: int) -> dict:
            if number in parts.there:
                return {"PartNumber": number, "ETag": parts.there[number]}
            data, digest = source.part(number)
            md5 = base64.b64encode(digest).decode()
            with translated(url):
                resp = self.client.upload_part(PartNumber=number, Body=data, ContentMD5=md5, **ids)
            if progress:
                progress(len(data))
            return {"PartNumber": number, "ETag": resp["ETag"]}

        done = in_threads(send, range(1, source.count + 1))
        source.check()
        if exclusive and self.exists(url):
            raise KeyExists(f"{url} already exists")
        condition = {"IfNoneMatch": "*"} if exclusive else {}
        with translated(url):
            return self.client.complete_multipart_upload(MultipartUpload={"Parts": done}, **ids,
                                                         **condition).get("ETag")

    def _abort(self, url: str, ids: dict, failure: BaseException) -> None:
        """Abort the multipart upload ``ids`` after ``failure`` (one gone already is no error);
        when that fails too, ``failure`` is raised again naming the upload left (an interruption
        is let through: the abort's failure is only logged)."""
        try:
            with translated(url):
                self.client.abort_multipart_upload(**ids)
        except KeyNotFound:  # NoSuchUpload: completed after all (a Complete's answer was lost), or gone
            pass
        except (S3Exception, TransientError) as err:
            if not isinstance(failure, Exception):
                log.warning("%s: multipart upload %s left unfinished: %s", url, ids["UploadId"], err)
                return
            raise left_unfinished(url, ids["UploadId"], failure, err) from failure

    # -- unfinished multipart uploads --------------------------------------
    def multipart_uploads(self, url: str) -> Iterator[Upload]:
        """The unfinished multipart uploads under the prefix ``url`` (a plain string prefix),
        lazily, by key, then by initiation time, through baiji's lister."""
        bucket, prefix = split(url)
        with translated(url):
            for page in self.lister.uploads(bucket, prefix):
                for found in sorted(page.get("Uploads", ()), key=lambda u: (key_order(u["Key"]), u["Initiated"])):
                    yield Upload(bucket, found["Key"], found["UploadId"], found["Initiated"])

    def parts_of(self, upload: Upload) -> list[dict]:
        """The parts an unfinished upload holds (ListParts): ``PartNumber``, ``ETag``, ``Size``;
        ``KeyNotFound`` when it is gone."""
        ids = {"Bucket": upload.bucket, "Key": upload.key, "UploadId": upload.upload_id}
        with translated(upload.url):
            return [part for page in self.client.get_paginator("list_parts").paginate(**ids)
                    for part in page.get("Parts", ())]

    def upload_size(self, upload: Upload) -> tuple[int, int]:
        """``(parts, bytes)`` that an unfinished upload holds (ListParts)."""
        parts = self.parts_of(upload)
        return len(parts), sum(part.get("Size", 0) for part in parts)

    def abort_upload(self, upload: Upload) -> bool:
        """Abort an unfinished upload; False when the server says it is gone (completed or aborted)."""
        try:
            with translated(upload.url):
                self.client.abort_multipart_upload(Bucket=upload.bucket, Key=upload.key, UploadId=upload.upload_id)
        except BucketNotFound:
            raise
        except KeyNotFound:  # NoSuchUpload
            return False
        return True

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
            return self.client.get_object_acl(Bucket=bucket, Key=key, **version_args(version_id))

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
        """A presigned GET of ``url``, signed for its bucket's region (a HeadBucket asks S3 which)."""
        bucket, key = object_split(url)
        region = self.lister.bucket_region(bucket) or self.regions(bucket)
        with translated(url):
            return self.client_in(region).generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=int(ttl))
