"""S3's XML listing answers as boto3-shaped pages: ListObjectsV2 (:func:`list_page`) and
ListMultipartUploads (:func:`uploads_page`), for :class:`baiji.stores.listing.Lister`."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from urllib.parse import unquote_plus


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def children(elem: ET.Element) -> dict[str, str]:
    return {local(child.tag): child.text or "" for child in elem}


def time_of(text: str) -> datetime:
    """S3's ``YYYY-MM-DDTHH:MM:SS[.fff]Z`` (always UTC) as an aware datetime."""
    frac = text[20:].rstrip("Z") if text[19:20] == "." else ""
    return datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]),
                    int(text[14:16]), int(text[17:19]), int(frac[:6].ljust(6, "0")),
                    timezone.utc)


def list_page(root: ET.Element) -> tuple[dict, dict[str, str] | None]:
    """The boto3-shaped page of a ListBucketResult and the next continuation token."""
    if local(root.tag) != "ListBucketResult":
        raise ValueError(f"expected a ListBucketResult, got <{local(root.tag)}>")
    top = children(root)
    decode = unquote_plus if top.get("EncodingType") == "url" else (lambda s: s)
    contents, prefixes = [], []
    for elem in root:
        tag = local(elem.tag)
        if tag == "Contents":
            fields = children(elem)
            item = {"Key": decode(fields["Key"]), "LastModified": time_of(fields["LastModified"]),
                    "ETag": fields.get("ETag", ""), "Size": int(fields["Size"])}
            if "StorageClass" in fields:
                item["StorageClass"] = fields["StorageClass"]
            contents.append(item)
        elif tag == "CommonPrefixes":
            prefixes.append({"Prefix": decode(children(elem)["Prefix"])})
    page = {}
    if contents:
        page["Contents"] = contents
    if prefixes:
        page["CommonPrefixes"] = prefixes
    token = top.get("NextContinuationToken") if top.get("IsTruncated") == "true" else None
    if top.get("IsTruncated") == "true" and not token:
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
