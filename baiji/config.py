"""Where requests go and with which credentials: botocore's standard chain (SPEC 6).

:func:`resolve` gives the data plane (obstore, :mod:`baiji.stores.s3_engine`)
and the lister its :class:`Target`: region, endpoint, addressing style and a
credentials callable.  :func:`make_client` builds the boto3 client of the
control plane (ACLs, versions, buckets).  Nothing here runs at import, and
boto3 is imported only when the chain needs it.

The fast path: with credentials in the environment (``AWS_ACCESS_KEY_ID``
and ``AWS_SECRET_ACCESS_KEY``, as botocore reads them first) and no explicit
profile, :func:`resolve` reads the region from ``AWS_DEFAULT_REGION`` or the
profile's ``region`` in the config file itself: importing boto3 and building
a session costs 0.15-0.4 s, more than a whole ``s3 ls``.  Every other source
(profiles, SSO, roles, the credentials file, instance metadata) goes through
botocore's session, as before.

The original's names keep working: ``AWS_ACCESS_KEY`` and ``AWS_SECRET`` are
read when the standard ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` are
absent, and ``AWS_CREDENTIAL_FILE`` (``AWSAccessKeyId=...``/``AWSSecretKey=...``
lines) is read by baiji instead of botocore, a missing file counting as none.
"""

from __future__ import annotations

import os
from collections import namedtuple
from datetime import datetime, timedelta, timezone

DEFAULT_REGION = "us-east-1"
#: Seconds to wait for a TCP connection; with the retry budget below a dead
#: endpoint fails after at most ~CONNECT_TIMEOUT * MAX_ATTEMPTS seconds.
CONNECT_TIMEOUT = 5
#: Seconds without a byte from the server before a read is retried.
READ_TIMEOUT = 60
#: Total attempts per request (botocore "standard" retry mode, with backoff).
MAX_ATTEMPTS = 5
#: HTTP connections kept per client (the bulk runner uses many threads).
MAX_POOL_CONNECTIONS = 64
#: First retry delay in seconds (doubling, with jitter, up to MAX_BACKOFF).
BACKOFF = 0.1
MAX_BACKOFF = 20.0
#: Refreshable credentials (roles, SSO) are asked for again this often.
CREDENTIALS_REFRESH = timedelta(minutes=5)


class Credentials(namedtuple("Credentials", "access_key secret_key token", defaults=(None,))):
    """One set of AWS credentials (the secret and token never shown)."""

    __slots__ = ()

    def __repr__(self) -> str:  # never print the secret or the token
        return f"Credentials(access_key={self.access_key!r}, secret_key=***, token=***)"


class Target(namedtuple("Target", "region endpoint_url credentials refreshable", defaults=(False,))):
    """Where the requests of one connection go.

    ``endpoint_url``: a custom endpoint (``http://127.0.0.1:8333``), None for
    AWS itself; ``credentials()``: the credentials now (``AWSCredentialsMissing``
    when there are none); ``refreshable``: whether they may change (roles,
    SSO), so that they are asked for again every CREDENTIALS_REFRESH.
    """

    __slots__ = ()

    @property
    def path_style(self) -> bool:
        """Path-style addressing: what MinIO, SeaweedFS and friends expect."""
        return self.endpoint_url is not None


def _custom_endpoint(endpoint_url: str | None) -> str | None:
    return endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def _environment_credentials() -> Credentials | None:
    """botocore's first source, and the original baiji's names after it."""
    access, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if access and secret:
        token = os.environ.get("AWS_SESSION_TOKEN") or os.environ.get("AWS_SECURITY_TOKEN")
        return Credentials(access, secret, token or None)
    legacy = _legacy_environment()
    return Credentials(*legacy) if legacy else None


def _legacy_environment() -> tuple[str, str] | None:
    """``(access, secret)`` from the original baiji's ``AWS_ACCESS_KEY``/``AWS_SECRET``."""
    access, secret = os.environ.get("AWS_ACCESS_KEY"), os.environ.get("AWS_SECRET")
    return (access, secret) if access and secret else None


def _config_file_region() -> str | None:
    """The ``region`` of ``AWS_PROFILE`` (or ``default``) in the AWS config file, as botocore reads it."""
    import configparser

    profile = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE") or "default"
    parser = configparser.RawConfigParser()
    try:
        parser.read(os.path.expanduser(os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")), encoding="utf-8")
    except (OSError, configparser.Error):
        return None
    section = "default" if profile == "default" else f"profile {profile}"
    return parser.get(section, "region", fallback=None) or None


def resolve(profile: str | None = None, region: str | None = None,
            endpoint_url: str | None = None, new_session=None) -> Target:
    """The :class:`Target` of botocore's chain for these overrides (see the module docstring).

    ``new_session()``: gives the :func:`make_session` to use off the fast path
    (the one the control plane's client is made from: the chain runs once).
    """
    endpoint = _custom_endpoint(endpoint_url)
    found = None if profile else _environment_credentials()
    if found is not None:
        region = region or os.environ.get("AWS_DEFAULT_REGION") or _config_file_region() or DEFAULT_REGION
        return Target(region, endpoint, lambda: found)
    session = new_session() if new_session else make_session(profile)
    return _target_of(session.get_credentials(), region or session.region_name or DEFAULT_REGION, endpoint)


def target_of_client(client) -> Target:
    """The :class:`Target` of an injected boto3 client: its endpoint, region and credentials."""
    endpoint = client.meta.endpoint_url
    if endpoint and endpoint.rstrip("/").endswith(".amazonaws.com"):
        endpoint = None
    # the signer holds the credentials the client was made with (botocore has no public accessor)
    return _target_of(client._request_signer._credentials, client.meta.region_name or DEFAULT_REGION, endpoint)


def _target_of(botocore_credentials, region: str, endpoint: str | None) -> Target:
    def credentials() -> Credentials:
        if botocore_credentials is None:
            from baiji.exceptions import AWSCredentialsMissing

            raise AWSCredentialsMissing(CREDENTIALS_HELP)
        frozen = botocore_credentials.get_frozen_credentials()
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)
    return Target(region, endpoint, credentials, refreshable=hasattr(botocore_credentials, "refresh_needed"))


def expiry(target: Target) -> datetime | None:
    """When credentials from ``target`` must be asked for again (None: never)."""
    return datetime.now(timezone.utc) + CREDENTIALS_REFRESH if target.refreshable else None


CREDENTIALS_HELP = ("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                    "or AWS_PROFILE, or configure ~/.aws/credentials")


def _read_credential_file(path: str) -> tuple[str, str] | None:
    """``(access, secret)`` from the original's ``AWS_CREDENTIAL_FILE``; no file, no credentials."""
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    values = {}
    for line in lines:
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip().lower()] = value.strip()
    access = values.get("awsaccesskeyid") or values.get("aws_access_key_id")
    secret = values.get("awssecretkey") or values.get("aws_secret_access_key")
    return (access, secret) if access and secret else None


def make_session(profile: str | None = None):
    """A boto3 session on botocore's chain, with the original's names as fallbacks."""
    import boto3
    import botocore.credentials

    class LegacyEnvProvider(botocore.credentials.CredentialProvider):
        """Credentials from the original baiji's ``AWS_ACCESS_KEY``/``AWS_SECRET``."""

        METHOD = "baiji-legacy-env"
        CANONICAL_NAME = "BaijiLegacyEnv"

        def load(self):
            found = _legacy_environment()
            return botocore.credentials.Credentials(*found, method=self.METHOD) if found else None

    class CredentialFileProvider(botocore.credentials.CredentialProvider):
        """Credentials from the file named by ``AWS_CREDENTIAL_FILE``; a missing file counts as none
        (botocore's own reader of that variable fails on a missing file)."""

        METHOD = "baiji-credential-file"
        CANONICAL_NAME = "BaijiCredentialFile"

        def load(self):
            path = os.environ.get("AWS_CREDENTIAL_FILE")
            found = _read_credential_file(path) if path else None
            return botocore.credentials.Credentials(*found, method=self.METHOD) if found else None

    session = boto3.session.Session(profile_name=profile)
    resolver = session._session.get_component("credential_provider")
    if any(p.METHOD == "env" for p in resolver.providers):  # an explicit profile removes "env"
        resolver.insert_after("env", LegacyEnvProvider())
    resolver.insert_before("ec2-credentials-file", CredentialFileProvider())
    resolver.remove("ec2-credentials-file")
    return session


def make_client(profile: str | None = None, region: str | None = None,
                endpoint_url: str | None = None, session=None):
    """A boto3 S3 client from the standard chain (env, config files, SSO, roles).

    ``endpoint_url`` defaults to botocore's own ``AWS_ENDPOINT_URL(_S3)``
    handling; with a custom endpoint, path-style addressing is used (what
    MinIO, SeaweedFS and friends expect).  ``session``: a :func:`make_session`
    of ``profile`` to use (default: a new one).
    """
    import botocore.config

    session = session or make_session(profile)
    region = region or session.region_name or DEFAULT_REGION
    config = botocore.config.Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        # "total_max_attempts": botocore's "max_attempts" counts retries (5 would mean 6 attempts)
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        max_pool_connections=MAX_POOL_CONNECTIONS,
        s3={"addressing_style": "path" if _custom_endpoint(endpoint_url) else "auto"},
        signature_version="s3v4",
        # baiji builds every request itself; skipping botocore's validation
        # saves CPU per request (measured on bulk copies of small files)
        parameter_validation=False,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return session.client("s3", region_name=region, endpoint_url=endpoint_url, config=config)
