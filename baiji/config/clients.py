"""boto3 (the control plane): its session (botocore's credential chain, with the original baiji's
names), the client of a :class:`~baiji.config.target.Target`, and the Target of an injected client."""

from __future__ import annotations

import os

from baiji import config
from baiji.config.credentials import credentials_of, legacy_environment, read_credential_file
from baiji.config.target import Target


def target_of_client(client) -> Target:
    """The :class:`Target` of an injected boto3 client: its endpoint, region, credentials and TLS."""
    endpoint = client.meta.endpoint_url
    if endpoint and endpoint.rstrip("/").endswith((".amazonaws.com", ".amazonaws.com.cn")):
        endpoint = None
    # the signer holds the credentials the client was made with (botocore has no public accessor)
    signer_credentials = client._request_signer._credentials
    credentials, refreshable = credentials_of(signer_credentials)
    if client.meta.config.signature_version == _unsigned():
        credentials = None
    return Target(client.meta.region_name or config.DEFAULT_REGION, endpoint, credentials, refreshable,
                  addressing_style=(client.meta.config.s3 or {}).get("addressing_style") or "auto")


def _unsigned():
    import botocore

    return botocore.UNSIGNED


def make_session(profile: str | None = None):
    """A boto3 session on botocore's chain, with the original's names as the last fallbacks
    before instance and container roles (after the profile's own credentials)."""
    import boto3
    import botocore.credentials

    class LegacyEnvProvider(botocore.credentials.CredentialProvider):
        """Credentials from the original baiji's ``AWS_ACCESS_KEY``/``AWS_SECRET``."""

        METHOD = "baiji-legacy-env"
        CANONICAL_NAME = "BaijiLegacyEnv"

        def load(self):
            found = legacy_environment()
            return botocore.credentials.Credentials(*found, method=self.METHOD) if found else None

    class CredentialFileProvider(botocore.credentials.CredentialProvider):
        """Credentials from the file named by ``AWS_CREDENTIAL_FILE``; a missing file counts as none
        (botocore's own reader of that variable fails on a missing file)."""

        METHOD = "baiji-credential-file"
        CANONICAL_NAME = "BaijiCredentialFile"

        def load(self):
            path = os.environ.get("AWS_CREDENTIAL_FILE")
            found = read_credential_file(path) if path else None
            return botocore.credentials.Credentials(*found, method=self.METHOD) if found else None

    session = boto3.session.Session(profile_name=profile)
    resolver = session._session.get_component("credential_provider")
    resolver.insert_before("ec2-credentials-file", CredentialFileProvider())
    resolver.remove("ec2-credentials-file")
    if any(p.METHOD == "env" for p in resolver.providers):  # an explicit profile removes "env"
        resolver.insert_before("baiji-credential-file", LegacyEnvProvider())
    return session


def make_client(target: Target, session=None, profile: str | None = None):
    """The boto3 S3 client of ``target`` (the control plane): the same endpoint, region,
    credentials, addressing, TLS, proxies and retries as the lister and obstore."""
    import botocore
    import botocore.config

    client_config = botocore.config.Config(
        connect_timeout=config.CONNECT_TIMEOUT,
        read_timeout=config.READ_TIMEOUT,
        # "total_max_attempts": botocore's "max_attempts" counts retries (5 would mean 6 attempts)
        retries={"mode": target.retry_mode if target.retry_mode in ("standard", "adaptive", "legacy")
                 else "standard", "total_max_attempts": target.attempts},
        max_pool_connections=config.MAX_POOL_CONNECTIONS,
        s3={"addressing_style": "path" if target.path_style else target.addressing_style},
        signature_version="s3v4" if target.signed else botocore.UNSIGNED,
        proxies=target.proxies or {},
        # baiji builds every request itself; skipping botocore's validation
        # saves CPU per request (measured on bulk copies of small files)
        parameter_validation=False,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        use_fips_endpoint=target.use_fips,
        use_dualstack_endpoint=target.use_dualstack,
    )
    if not target.verify:  # said once by the command, not on every request
        import warnings

        from urllib3.exceptions import InsecureRequestWarning

        warnings.filterwarnings("ignore", category=InsecureRequestWarning)
    session = session or config.make_session(profile)
    kwargs = {}
    if target.signed:
        now = target.credentials()
        kwargs = {"aws_access_key_id": now.access_key, "aws_secret_access_key": now.secret_key,
                  "aws_session_token": now.token} if not target.refreshable else {}
    verify = target.ca_bundle or target.verify
    return session.client("s3", region_name=target.region, endpoint_url=target.endpoint_url,
                          config=client_config, verify=verify, **kwargs)
