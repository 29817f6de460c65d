"""Where credentials come from: the environment (the fast path, without boto3), botocore's chain
(a session's), and the original baiji's ``AWS_ACCESS_KEY``/``AWS_SECRET`` and ``AWS_CREDENTIAL_FILE``."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from baiji import config
from baiji.config.files import one_line
from baiji.config.target import Credentials, Target
from baiji.exceptions import ConfigurationError


def environment_credentials() -> Credentials | None:
    """botocore's EnvProvider: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, the first non-empty of
    ``AWS_SECURITY_TOKEN`` and ``AWS_SESSION_TOKEN``; ``AWS_CREDENTIAL_EXPIRATION`` must be a date
    (botocore fails on any other) with a time zone (botocore crashes on a naive one) and not past
    (botocore refuses to sign with them)."""
    access = os.environ.get("AWS_ACCESS_KEY_ID", "")
    if not access:
        return None
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    if not secret:
        raise ConfigurationError("Partial credentials found in env, missing: AWS_SECRET_ACCESS_KEY")
    token = os.environ.get("AWS_SECURITY_TOKEN", "") or os.environ.get("AWS_SESSION_TOKEN", "") or None
    expiration = os.environ.get("AWS_CREDENTIAL_EXPIRATION", "")
    if expiration:
        from dateutil.parser import parse  # botocore's parser of it (a dependency of botocore)

        try:
            when = parse(expiration)
        except (ValueError, OverflowError):
            raise ConfigurationError(f"AWS_CREDENTIAL_EXPIRATION is not a date: {expiration!r}") from None
        if when.tzinfo is None:
            raise ConfigurationError(f"AWS_CREDENTIAL_EXPIRATION has no time zone: {expiration!r}")
        if when <= datetime.now(timezone.utc):
            raise ConfigurationError(f"the credentials of AWS_ACCESS_KEY_ID expired at {expiration} "
                                     f"(AWS_CREDENTIAL_EXPIRATION)")
    return Credentials(access, secret, token)


def legacy_environment() -> tuple[str, str] | None:
    """``(access, secret)`` from the original baiji's ``AWS_ACCESS_KEY``/``AWS_SECRET``."""
    access, secret = os.environ.get("AWS_ACCESS_KEY"), os.environ.get("AWS_SECRET")
    return (access, secret) if access and secret else None


def session_credentials(session):
    """:func:`credentials_of` the session's chain; its failures (partial credentials in a file, a
    broken role...) as ConfigurationError."""
    from botocore.exceptions import BotoCoreError

    try:
        return credentials_of(session.get_credentials())
    except BotoCoreError as err:
        raise ConfigurationError(one_line(err)) from None


def credentials_of(botocore_credentials):
    """``(credentials callable, refreshable)`` over botocore's credentials object."""
    def credentials() -> Credentials:
        if botocore_credentials is None:
            from baiji.exceptions import AWSCredentialsMissing

            raise AWSCredentialsMissing(CREDENTIALS_HELP)
        frozen = botocore_credentials.get_frozen_credentials()
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)
    return credentials, hasattr(botocore_credentials, "refresh_needed")


def expiry(target: Target) -> datetime | None:
    """When credentials from ``target`` must be asked for again (None: never)."""
    return datetime.now(timezone.utc) + config.CREDENTIALS_REFRESH if target.refreshable else None


CREDENTIALS_HELP = ("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                    "or AWS_PROFILE, or configure ~/.aws/credentials (or use --no-sign-request)")


def read_credential_file(path: str) -> tuple[str, str] | None:
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
