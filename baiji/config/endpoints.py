"""Endpoints: the check of a custom endpoint URL, and AWS's own by the partitions of botocore's
``partitions.json`` (their DNS suffix, and where FIPS or dualstack is refused)."""

from __future__ import annotations

import os

from baiji.exceptions import ConfigurationError


def check_endpoint(url: str) -> str:
    """``url`` if it is a usable endpoint (``http(s)://host[:port][/]``; a ``#fragment`` dropped, as
    botocore drops it), else ConfigurationError.

    Refused as botocore refuses them: no scheme or host, another scheme, a port out of range, a
    query.  Refused by baiji alone: a path (``http://host/base``: buckets are addressed at the
    host's root) and port 0 (nothing can listen there).
    """
    from urllib.parse import urlsplit

    from baiji.exceptions import without_url_passwords

    url = url.partition("#")[0]
    try:
        parts = urlsplit(url)
        ok = (parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.query
              and (parts.port is None or 0 < parts.port < 65536) and not parts.path.strip("/"))
    except ValueError:
        ok = False
    if not ok:
        raise ConfigurationError(f"endpoint URL must be http(s)://host[:port], got {without_url_passwords(url)!r}")
    return url


def check_variants(region: str, fips: bool, dualstack: bool) -> None:
    """The refusals of botocore's S3 endpoint rules: no FIPS in China, no dualstack in the
    aws-iso-e and aws-iso-f partitions."""
    partition = partition_of(region)["name"]
    if fips and partition == "aws-cn":
        raise ConfigurationError(f"FIPS endpoints are not supported in {region} (AWS_USE_FIPS_ENDPOINT or "
                                 f"the profile's use_fips_endpoint)")
    if dualstack and partition in ("aws-iso-e", "aws-iso-f"):
        raise ConfigurationError(f"dualstack endpoints are not supported in {region} (AWS_USE_DUALSTACK_ENDPOINT "
                                 f"or the profile's use_dualstack_endpoint)")


def partition_of(region: str) -> dict:
    """The ``outputs`` of the partition of ``region`` in botocore's ``partitions.json`` (``aws``
    for an unknown region), as botocore's endpoint rules pick it."""
    import re

    partitions = _partitions()
    for partition in partitions:
        if region in partition["regions"]:
            return partition["outputs"]
    for partition in partitions:
        if re.match(partition["regionRegex"], region):
            return partition["outputs"]
    return partitions[0]["outputs"]


_PARTITIONS: list = []


def _partitions() -> list:
    """botocore's ``data/partitions.json`` (7 kB; read without importing botocore's loaders)."""
    if not _PARTITIONS:
        import json

        import botocore

        path = os.path.join(os.path.dirname(botocore.__file__), "data", "partitions.json")
        with open(path, encoding="utf-8") as f:
            found = json.load(f)["partitions"]
        found.sort(key=lambda p: p["id"] != "aws")  # the default first
        _PARTITIONS[:] = found
    return _PARTITIONS
