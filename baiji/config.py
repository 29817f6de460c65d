"""Building the boto3 client from botocore's standard configuration chain (SPEC 6).

One function, :func:`make_client`, knows about sessions, profiles, regions,
endpoints, retry mode and the original baiji's environment names; the rest
of the package receives the client it returns.  Nothing here runs at import.

The original's names keep working: ``AWS_ACCESS_KEY`` and ``AWS_SECRET`` are
read when the standard ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` are
absent, and ``AWS_CREDENTIAL_FILE`` (``AWSAccessKeyId=...``/``AWSSecretKey=...``
lines) is read by baiji instead of botocore, a missing file counting as none.
"""

from __future__ import annotations

import os

import boto3
import botocore.config
import botocore.credentials

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


class _LegacyEnvProvider(botocore.credentials.CredentialProvider):
    """Credentials from the original baiji's ``AWS_ACCESS_KEY``/``AWS_SECRET``."""

    METHOD = "baiji-legacy-env"
    CANONICAL_NAME = "BaijiLegacyEnv"

    def load(self):
        access, secret = os.environ.get("AWS_ACCESS_KEY"), os.environ.get("AWS_SECRET")
        if access and secret:
            return botocore.credentials.Credentials(access, secret, method=self.METHOD)
        return None


class _CredentialFileProvider(botocore.credentials.CredentialProvider):
    """Credentials from the file named by ``AWS_CREDENTIAL_FILE``; no file, no credentials."""

    METHOD = "baiji-credential-file"
    CANONICAL_NAME = "BaijiCredentialFile"

    def load(self):
        path = os.environ.get("AWS_CREDENTIAL_FILE")
        if not path:
            return None
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
        if access and secret:
            return botocore.credentials.Credentials(access, secret, method=self.METHOD)
        return None


def make_session(profile: str | None = None) -> boto3.session.Session:
    """A boto3 session on botocore's chain, with the original's names as fallbacks."""
    session = boto3.session.Session(profile_name=profile)
    resolver = session._session.get_component("credential_provider")
    if any(p.METHOD == "env" for p in resolver.providers):  # an explicit profile removes "env"
        resolver.insert_after("env", _LegacyEnvProvider())
    # botocore's own reader of AWS_CREDENTIAL_FILE fails on a missing file;
    # ours treats a missing file as none.
    resolver.insert_before("ec2-credentials-file", _CredentialFileProvider())
    resolver.remove("ec2-credentials-file")
    return session


def make_client(profile: str | None = None, region: str | None = None,
                endpoint_url: str | None = None):
    """A boto3 S3 client from the standard chain (env, config files, SSO, roles).

    ``endpoint_url`` defaults to botocore's own ``AWS_ENDPOINT_URL(_S3)``
    handling; with a custom endpoint, path-style addressing is used (what
    MinIO, SeaweedFS and friends expect).
    """
    session = make_session(profile)
    region = region or session.region_name or DEFAULT_REGION
    custom_endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    config = botocore.config.Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        # "total_max_attempts": botocore's "max_attempts" counts retries (5 would mean 6 attempts)
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        max_pool_connections=MAX_POOL_CONNECTIONS,
        s3={"addressing_style": "path" if custom_endpoint else "auto"},
        signature_version="s3v4",
        # baiji builds every request itself; skipping botocore's validation
        # saves CPU per request (measured on bulk copies of small files)
        parameter_validation=False,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return session.client("s3", region_name=region, endpoint_url=endpoint_url, config=config)
