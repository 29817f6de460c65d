"""The :class:`Target` of a connection (where its requests go, and how) and its :class:`Credentials`."""

from __future__ import annotations

from collections import namedtuple

from baiji import config
from baiji.config.endpoints import partition_of


class Credentials(namedtuple("Credentials", "access_key secret_key token", defaults=(None,))):
    """One set of AWS credentials (the secret and token never shown)."""

    __slots__ = ()

    def __repr__(self) -> str:  # never print the secret or the token
        return f"Credentials(access_key={self.access_key!r}, secret_key=***, token=***)"


# the field names are a literal in the call: mypy reads the fields of a namedtuple from it
class Target(namedtuple("Target", "region endpoint_url credentials refreshable addressing_style use_fips "
                                  "use_dualstack ca_bundle verify proxies no_proxy max_attempts retry_mode",
                        defaults=(False, "auto", False, False, None, True, None, None, None, "standard"))):
    """Where the requests of one connection go, and how.

    ``endpoint_url``: a custom endpoint (``http://127.0.0.1:8333``), None for
    AWS itself; ``credentials``: a callable giving the credentials now
    (``AWSCredentialsMissing`` when there are none), or None for unsigned
    requests (``--no-sign-request``); ``refreshable``: whether they may change
    (roles, SSO); ``addressing_style``: ``path``, ``virtual`` or ``auto``;
    ``ca_bundle``: a PEM file trusted instead of the default ones;
    ``verify``: False for ``--no-verify-ssl``; ``proxies``: botocore's
    ``{scheme: url}`` for the endpoint (empty when ``NO_PROXY`` bypasses it);
    ``max_attempts``: configured attempts per request (None: baiji's default).
    """

    __slots__ = ()

    @property
    def path_style(self) -> bool:
        """Path-style addressing: asked for, or (``auto``) any custom endpoint, as MinIO,
        SeaweedFS and friends expect."""
        if self.addressing_style == "auto":
            return self.endpoint_url is not None
        return self.addressing_style == "path"

    @property
    def signed(self) -> bool:
        return self.credentials is not None

    @property
    def attempts(self) -> int:
        """Attempts per request: the configured number, else :data:`baiji.config.MAX_ATTEMPTS`."""
        return self.max_attempts or config.MAX_ATTEMPTS

    def endpoint_for(self, region: str) -> str:
        """The endpoint requests for a bucket of ``region`` go to (``scheme://host[:port]``)."""
        if self.endpoint_url:
            return self.endpoint_url
        name = "s3-fips" if self.use_fips else "s3"
        if self.use_dualstack:
            name += ".dualstack"
        return f"https://{name}.{region}.{partition_of(region)['dnsSuffix']}"

    def bucket_endpoint(self, bucket: str, region: str) -> tuple[str, bool]:
        """``(url, virtual)``: where requests for ``bucket`` in ``region`` go, ``virtual`` when the
        bucket is in the host name: the addressing style allows it and the name can be a host
        name (botocore's ``isVirtualHostableS3Bucket``: one DNS label, or over plain http a
        dotted name, the certificate's wildcard covering one label).  On an IP address endpoint
        botocore virtual-hosts only a dotted name over http; so does this.
        """
        from urllib.parse import urlsplit

        endpoint = self.endpoint_for(region)
        if self.path_style:
            return endpoint, False
        parts = urlsplit(endpoint)
        dotted = parts.scheme == "http" and _dns_name(bucket, dotted=True)
        if not (dotted and "." in bucket if _ip_address(parts.hostname) else _dns_name(bucket) or dotted):
            return endpoint, False
        return f"{parts.scheme}://{bucket}.{parts.netloc.rpartition('@')[2]}", True

    def proxy_for(self, url: str) -> str | None:
        """The proxy URL for a request to ``url`` (None: connect directly), as botocore picks it."""
        if not self.proxies:
            return None
        proxy = self.proxies.get(url.partition(":")[0].lower())
        if not proxy:
            return None
        if proxy.startswith(("http:", "https:")):  # botocore's _fix_proxy_url
            return proxy
        return "http:" + proxy if proxy.startswith("//") else "http://" + proxy

    def __repr__(self) -> str:
        shown = {name: getattr(self, name) for name in self._fields if name != "credentials"}
        return f"Target({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def _dns_name(bucket: str, dotted: bool = False) -> bool:
    """Whether ``bucket`` can be one host name label, or (``dotted``) a dotted host name
    (botocore's ``isVirtualHostableS3Bucket``)."""
    import re

    if not dotted:
        return bool(re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", bucket))
    return (len(bucket) >= 3 and not re.fullmatch(r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}", bucket)
            and all(re.fullmatch(r"(?!-)[a-z0-9-]{1,63}(?<!-)", label) for label in bucket.split(".")))


def _ip_address(host: str | None) -> bool:
    """Whether ``host`` is an IPv4 or IPv6 address (no name to put a bucket in)."""
    import ipaddress

    try:
        ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return True
