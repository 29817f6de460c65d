"""Buckets: list, create, delete (emptied first with ``force``), versioning, settings.

Each public function is the body of the :class:`~baiji.connection.S3Connection`
method of its name (``conn``), whose docstring is its contract; the limits
``HELD_COUNTED`` and ``EMPTYING_PASSES`` stay attributes of the connection.
"""

from __future__ import annotations

import itertools

from baiji import config
from baiji import path as paths
from baiji.bulk import BulkCopyError
from baiji.exceptions import BucketNotEmpty, BucketNotFound, KeyNotFound, S3Exception
from baiji.stores.s3 import translated as s3_errors
from baiji.stores.s3_control import in_xml
from baiji.util.parallel import chunks


def bucket_url(name: str) -> str:
    """``s3://NAME`` for a bucket named ``NAME`` or ``s3://NAME`` (``ValueError`` for a key or a bad name)."""
    parsed = paths.parse(name if name.startswith("s3://") else f"s3://{name}")
    if parsed.path not in ("", "/"):
        raise ValueError(f"{name}: not a bucket name")
    return f"s3://{parsed.netloc}"


def list_buckets(conn, detail: bool) -> list:
    with s3_errors("s3://"):
        found = conn.client.list_buckets().get("Buckets", [])
    if detail:
        return [{"name": b["Name"], "creation_date": b.get("CreationDate")} for b in found]
    return [b["Name"] for b in found]


def create_bucket(conn, name: str, versioned: bool) -> None:
    url = bucket_url(name)
    args: dict[str, object] = {"Bucket": paths.bucket(url)}
    if conn._s3.bucket_exists(paths.bucket(url)):  # AWS in us-east-1 would answer 200 and we'd go on
        raise S3Exception(f"{url} already exists: not created, its versioning left as it is")
    region = conn.client.meta.region_name
    if region and region != config.DEFAULT_REGION:
        args["CreateBucketConfiguration"] = {"LocationConstraint": region}
    with s3_errors(url):
        conn.client.create_bucket(**args)
    if versioned:
        conn.enable_versioning(name)


def delete_bucket(conn, name: str, force: bool) -> int:
    url = bucket_url(name)
    if force:
        deleted = _empty_bucket(conn, url)
    else:
        _refuse_non_empty(conn, url)
        deleted = 0
    if next(iter(conn._s3.list(url)), None) is not None:  # a versions listing wrongly empty: SeaweedFS
        raise BucketNotEmpty(f"{url} is not empty: it lists keys its versions listing did not show; "
                             "not deleted")  # would delete the bucket, keys and all
    try:
        with s3_errors(url):
            conn.client.delete_bucket(Bucket=paths.bucket(url))
    except BucketNotEmpty as err:  # written to since it was listed
        raise BucketNotEmpty(f"{url} is not empty: written to while it was deleted; not deleted") from err
    return deleted


def _refuse_non_empty(conn, url: str) -> None:
    """``BucketNotEmpty`` saying how many keys/versions the bucket holds, unless it holds none."""
    count = len(list(itertools.islice(conn._s3.list(url, versions=True), conn.HELD_COUNTED + 1)))
    if not count:
        with s3_errors(url):  # someone uploading into it: its parts would go with the bucket
            uploads = conn.client.list_multipart_uploads(Bucket=paths.bucket(url), MaxUploads=1)
        if uploads.get("Uploads"):
            raise BucketNotEmpty(f"{url} holds unfinished multipart uploads (is something uploading "
                                 "into it?); not deleted (-f/force aborts them first)")
        return
    held = f"more than {conn.HELD_COUNTED}" if count > conn.HELD_COUNTED else str(count)
    refusal = BucketNotEmpty(f"{url} is not empty: it holds {held} keys/versions; not deleted "
                             "(force deletes them first)")
    refusal.held = held
    raise refusal


def _empty_bucket(conn, url: str) -> int:
    """Abort the unfinished multipart uploads in a bucket, then delete what it holds in
    passes until one finds nothing; returns how many keys/versions were deleted."""
    for upload in conn._s3.multipart_uploads(url):
        conn._s3.abort_upload(upload)  # False: finished or aborted meanwhile
    deleted = 0
    for _ in range(conn.EMPTYING_PASSES):
        done = _delete_listed(conn, url)
        if not done:
            return deleted
        deleted += done
    raise BucketNotEmpty(f"{url} is not empty after {conn.EMPTYING_PASSES} passes deleting what it held "
                         "(is something writing to it?); not deleted")


def _delete_listed(conn, url: str) -> int:
    """One pass over a bucket's versions listing, each page deleted (DeleteObjects; a key XML
    cannot carry, DeleteObject) before the next is listed; returns how many were deleted
    (``BulkCopyError`` naming those that were not)."""
    bucket, base = paths.bucket(url), url + "/"
    deleted, failures = 0, []
    for listed in chunks(conn._s3.list(url, versions=True), 1000):
        batch = [e for e in listed if in_xml(e.url[len(base):])]
        alone = [(e.url, e.version_id) for e in listed if not in_xml(e.url[len(base):])]
        failed = conn._s3.delete_each(alone)  # keys no DeleteObjects can name
        deleted += len(alone) - len(failed)
        failures += [(failed_url, None, err) for failed_url, err in failed]
        if not batch:
            continue
        objects = [{"Key": e.url[len(base):], **({"VersionId": e.version_id} if e.version_id else {})}
                   for e in batch]
        with s3_errors(url):
            resp = conn.client.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
        errors = resp.get("Errors", [])
        deleted += len(batch) - len(errors)
        for error in errors:
            version = f" (version {error['VersionId']})" if error.get("VersionId") else ""
            failures.append((base + error["Key"], None, S3Exception(
                f"{base}{error['Key']}{version}: {error.get('Code')}: {error.get('Message')}")))
    if failures:
        raise BulkCopyError(failures, deleted + len(failures), "deletions", f"; {url} not deleted")
    return deleted


def set_versioning(conn, bucket: str, status: str) -> None:
    url = bucket_url(bucket)
    with s3_errors(url):
        conn.client.put_bucket_versioning(Bucket=paths.bucket(url),
                                          VersioningConfiguration={"Status": status})


def bucket_info(conn, name: str) -> dict:
    url = bucket_url(name)
    name = paths.bucket(url)  # type: ignore[assignment]  # bucket_url's URL names a bucket
    if not conn._s3.bucket_exists(name):
        raise BucketNotFound(f"{url}: bucket does not exist")

    def setting(call, field=None, **extra):
        try:
            with s3_errors(url):
                result = call(Bucket=name, **extra)
        except (KeyNotFound, S3Exception):
            return None
        return result.get(field) if field else {k: v for k, v in result.items() if k != "ResponseMetadata"}

    location = setting(conn.client.get_bucket_location, "LocationConstraint") or config.DEFAULT_REGION
    website = setting(conn.client.get_bucket_website)
    lifecycle = setting(conn.client.get_bucket_lifecycle_configuration, "Rules")
    return {
        "name": name,
        "location": location,
        "versioning_status": setting(conn.client.get_bucket_versioning, "Status") or "Not Versioned",
        "policy": setting(conn.client.get_bucket_policy, "Policy"),
        "cors": setting(conn.client.get_bucket_cors, "CORSRules"),
        "lifecycle": lifecycle,
        "logging_status": setting(conn.client.get_bucket_logging, "LoggingEnabled"),
        "website_configuration": website or None,
        "website_endpoint": f"{name}.s3-website-{location}.amazonaws.com" if website else None,
    }
