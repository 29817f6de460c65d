"""S3's XML listing answers as boto3-shaped pages: ListObjectsV2 (:func:`list_page`) and
ListMultipartUploads (:func:`uploads_page`), for :class:`baiji.stores.listing.Lister`."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from urllib.parse import unquote_plus


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def children(elem: ET.Element) -> dict[str, str]:
    return {local(child.tag): child.text or "" for child in elem}


def time_of(text: str) -> datetime:
    """S3's ``YYYY-MM-DDTHH:MM:SS[.fff]Z`` (always UTC) as an aware datetime."""
    fraction = "." + text[20:].rstrip("Z")[:6].ljust(6, "0") if text[19:20] == "." else ""
    return datetime.fromisoformat(text[:19] + fraction + "+00:00")


def _url_decoded(text: str) -> str:
    return unquote_plus(text) if "%" in text or "+" in text else text


def list_page(root: ET.Element) -> tuple[dict, dict[str, str] | None]:
    """The boto3-shaped page of a ListBucketResult and the next continuation token.

    Its fields are looked up by their names in the root's namespace (that of S3, or none)."""
    space, _, name = root.tag.rpartition("}")
    if name != "ListBucketResult":
        raise ValueError(f"expected a ListBucketResult, got <{name}>")
    ns = space + "}" if space else ""
    key, modified, etag, size, storage = (ns + field for field in ("Key", "LastModified", "ETag", "Size",
                                                                    "StorageClass"))
    decode = _url_decoded if root.findtext(ns + "EncodingType") == "url" else str
    contents = []
    for elem in root.iterfind(ns + "Contents"):
        fields = {child.tag: child.text or "" for child in elem}
        item = {"Key": decode(fields[key]), "LastModified": time_of(fields[modified]), "Size": int(fields[size])}
        for field, tag in (("ETag", etag), ("StorageClass", storage)):
            if tag in fields:
                item[field] = fields[tag]
        contents.append(item)
    prefixes = [{"Prefix": decode(children(elem)["Prefix"])} for elem in root.iterfind(ns + "CommonPrefixes")]
    page: dict[str, list] = {}
    if contents:
        page["Contents"] = contents
    if prefixes:
        page["CommonPrefixes"] = prefixes
    truncated = root.findtext(ns + "IsTruncated") == "true"
    token = root.findtext(ns + "NextContinuationToken") if truncated else None
    if truncated and not token:
        raise KeyError("IsTruncated without a NextContinuationToken")
    return page, {"continuation-token": token} if token else None


def uploads_page(root: ET.Element) -> tuple[dict, dict[str, str] | None]:
    """The boto3-shaped page of a ListMultipartUploadsResult and the markers of the next one
    (SeaweedFS sends no ``NextKeyMarker``: the last upload's key and id stand for them)."""
    if local(root.tag) != "ListMultipartUploadsResult":
        raise ValueError(f"expected a ListMultipartUploadsResult, got <{local(root.tag)}>")
    uploads: list[dict] = []
    for elem in root:
        if local(elem.tag) == "Upload":
            fields = children(elem)
            uploads.append({"Key": fields["Key"], "UploadId": fields["UploadId"],
                            "Initiated": time_of(fields["Initiated"])})
    top = children(root)
    if top.get("IsTruncated") != "true":
        return ({"Uploads": uploads} if uploads else {}), None
    if not uploads and not top.get("NextKeyMarker"):
        raise KeyError("IsTruncated without a NextKeyMarker")
    last = uploads[-1] if uploads else {}
    following = {"key-marker": top.get("NextKeyMarker") or last["Key"],
                 "upload-id-marker": top.get("NextUploadIdMarker") or last.get("UploadId", "")}
    return ({"Uploads": uploads} if uploads else {}), following
