"""The one resolver of configuration: what botocore would decide, given to every client (SPEC 6).

:func:`resolve` gives a :class:`Target`: credentials, region, endpoint,
addressing style, FIPS/dualstack, CA bundle, TLS verification, proxies and
retry settings, resolved **once**, exactly as botocore resolves them.  The
lister (:mod:`baiji.stores.listing`), obstore (:mod:`baiji.stores.s3_engine`)
and boto3 (:func:`make_client`) all take their settings from it; none reads
the environment itself (obstore is sealed from it: see the engine).

Precedence, as botocore's (README "Networks and configuration"):

- endpoint: ``endpoint_url=`` (``--endpoint-url``); unless
  ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` (or the profile's
  ``ignore_configured_endpoint_urls``) is true: ``AWS_ENDPOINT_URL_S3``,
  ``AWS_ENDPOINT_URL``, the profile's ``services`` section (``s3 =
  endpoint_url = ...``), the profile's ``endpoint_url``; else AWS's own for
  the region (``s3-fips``/``dualstack`` as asked);
- profile: ``profile=``, ``AWS_DEFAULT_PROFILE``, ``AWS_PROFILE``, ``default``
  (a named profile that is in neither file is an error, as in botocore);
- region: ``region=``, ``AWS_DEFAULT_REGION``, the profile's ``region`` (in
  the config or the credentials file), else ``us-east-1``;
- credentials: botocore's chain (environment first, unless ``profile=`` is
  given); the original baiji's ``AWS_ACCESS_KEY``/``AWS_SECRET`` and
  ``AWS_CREDENTIAL_FILE`` only after the profile's own;
- CA bundle: ``verify=`` (a path, or False for ``--no-verify-ssl``),
  ``AWS_CA_BUNDLE``, the profile's ``ca_bundle``;
- proxies: ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` (either case), read as
  botocore reads them (:mod:`urllib.request`), decided for the endpoint;
- retries: ``AWS_MAX_ATTEMPTS``/``max_attempts`` (baiji's default 5),
  ``AWS_RETRY_MODE``/``retry_mode``.

The fast path: with credentials in the environment and no ``profile=``,
nothing imports boto3 (0.15-0.4 s, more than a whole ``s3 ls``): the files
are read with botocore's own parser (:mod:`botocore.configloader`, cheap to
import).  Every other credential source goes through botocore's session.
``tests/test_resolver_differential.py`` proves the two equal.
"""

from __future__ import annotations

import os
from collections import namedtuple
from datetime import datetime, timedelta, timezone

from baiji.exceptions import ConfigurationError

DEFAULT_REGION = "us-east-1"
#: Seconds to wait for a TCP connection; with the retry budget below a dead
#: endpoint fails after at most ~CONNECT_TIMEOUT * MAX_ATTEMPTS seconds.
CONNECT_TIMEOUT = 5
#: Seconds without a byte from the server before a read is retried.
READ_TIMEOUT = 60
#: Total attempts per request (botocore "standard" retry mode, with backoff), unless configured.
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


_FIELDS = ("region endpoint_url credentials refreshable addressing_style use_fips use_dualstack "
           "ca_bundle verify proxies no_proxy max_attempts retry_mode")


class Target(namedtuple("Target", _FIELDS, defaults=(False, "auto", False, False, None, True, None, None,
                                                     None, "standard"))):
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
        """Attempts per request: the configured number, else :data:`MAX_ATTEMPTS`."""
        return self.max_attempts or MAX_ATTEMPTS

    def endpoint_for(self, region: str) -> str:
        """The endpoint requests for a bucket of ``region`` go to (``scheme://host[:port]``)."""
        if self.endpoint_url:
            return self.endpoint_url
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        name = "s3-fips" if self.use_fips else "s3"
        if self.use_dualstack:
            name += ".dualstack"
        return f"https://{name}.{region}.{suffix}"

    def bucket_endpoint(self, bucket: str, region: str) -> tuple[str, bool]:
        """``(url, virtual)``: where requests for ``bucket`` in ``region`` go, ``virtual`` when the
        bucket is in the host name (the addressing style allows it and, on AWS, the name too: no
        dots, as the certificate's wildcard covers one label)."""
        from urllib.parse import urlsplit

        endpoint = self.endpoint_for(region)
        virtual = not self.path_style and (self.endpoint_url is not None or _dns_name(bucket))
        if not virtual:
            return endpoint, False
        parts = urlsplit(endpoint)
        return f"{parts.scheme}://{bucket}.{parts.netloc.rpartition('@')[2]}", True

    def proxy_for(self, url: str) -> str | None:
        """The proxy URL for a request to ``url`` (None: connect directly), as botocore picks it."""
        if not self.proxies:
            return None
        proxy = self.proxies.get(url.partition(":")[0].lower())
        if proxy and "://" not in proxy:  # botocore's _fix_proxy_url
            proxy = "http://" + proxy
        return proxy or None

    def __repr__(self) -> str:
        shown = {name: getattr(self, name) for name in self._fields if name != "credentials"}
        return f"Target({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def _dns_name(bucket: str) -> bool:
    """Whether ``bucket`` can be a host name label under AWS's wildcard certificate."""
    import re

    return bool(re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", bucket))


def _true(value) -> bool:
    """botocore's ``ensure_boolean``."""
    return value if isinstance(value, bool) else isinstance(value, str) and value.lower() == "true"


class _Files:
    """The shared config and credentials files, read with botocore's parser, as its session merges them."""

    def __init__(self, profile: str | None):
        self.profile = profile if profile is not None else _env_first("AWS_DEFAULT_PROFILE", "AWS_PROFILE")
        self._full = None

    @property
    def full(self) -> dict:
        """botocore's ``Session.full_config``: the config file, with the credential file's profiles merged
        (a file that cannot be parsed is an error, as in botocore)."""
        if self._full is None:
            from botocore import configloader
            from botocore.exceptions import ConfigNotFound, ConfigParseError

            try:
                try:
                    full = configloader.load_config(_env_or("AWS_CONFIG_FILE", "~/.aws/config"))
                except ConfigNotFound:
                    full = {"profiles": {}}
                try:
                    creds = configloader.raw_config_parse(
                        _env_or("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"))
                except ConfigNotFound:
                    creds = {}
            except ConfigParseError as err:
                raise ConfigurationError(_one_line(err)) from None
            for name, values in creds.items():
                full["profiles"].setdefault(name, {}).update(values)
            self._full = full
        return self._full

    @property
    def scoped(self) -> dict:
        """The profile's values (botocore's ``get_scoped_config``); a missing named profile is an error."""
        profiles = self.full["profiles"]
        if self.profile is None:
            return profiles.get("default", {})
        if self.profile not in profiles:
            raise ConfigurationError(f"The config profile ({self.profile}) could not be found")
        return profiles[self.profile]

    def get(self, name: str, env: str | None = None):
        """botocore's lookup of one variable: the environment (``env``, even empty), then the profile."""
        if env is not None and env in os.environ:
            return os.environ[env]
        return self.scoped.get(name)

    def s3(self) -> dict:
        """The profile's nested ``s3 =`` section ({} if none).

        A plain value (``s3 = path``, or ``s3 =`` with nothing nested) crashes
        botocore's client creation (AttributeError, botocore 1.44); here it is
        a one-line error.
        """
        section = self.scoped.get("s3")
        if section is None:
            return {}
        if not isinstance(section, dict):
            raise ConfigurationError(f"the profile's s3 setting must be a nested section (s3 = then indented "
                                     f"lines such as '  addressing_style = path'), got {section!r}")
        return section

    def endpoint(self) -> str | None:
        """botocore's ConfiguredEndpointProvider for S3 (after ``ignore_configured_endpoint_urls``)."""
        if _true(self.get("ignore_configured_endpoint_urls", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")):
            return None
        for env in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
            if os.environ.get(env):
                return os.environ[env]
        scoped = self.scoped
        if "services" in scoped:
            name = scoped["services"]
            section = self.full.get("services", {}).get(name)
            if not section:
                raise ConfigurationError(f'The profile is configured to use the services section but the '
                                         f'"{name}" services configuration does not exist.')
            nested = section.get("s3", {})
            if not isinstance(nested, dict):  # botocore crashes (AttributeError)
                raise ConfigurationError(f'the s3 setting of the "{name}" services section must be a nested '
                                         f'section (s3 = then indented lines), got {nested!r}')
            found = nested.get("endpoint_url")
            if found:
                return found
        return scoped.get("endpoint_url") or None


def _one_line(err) -> str:
    """The message of ``err`` on one line."""
    return " ".join(str(err).split()) or type(err).__name__


def _env_first(*names: str) -> str | None:
    for name in names:
        if name in os.environ:
            return os.environ[name]
    return None


def _env_or(name: str, default: str) -> str:
    return os.environ[name] if name in os.environ else default


def check_endpoint(url: str) -> str:
    """``url`` if it is a usable endpoint (``http(s)://host[:port][/]``), else ConfigurationError."""
    from urllib.parse import urlsplit

    from baiji.exceptions import without_url_passwords

    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if not (parts.scheme in ("http", "https") and parts.hostname and port_ok and not parts.path.strip("/")):
        raise ConfigurationError(f"endpoint URL must be http(s)://host[:port], got {without_url_passwords(url)!r}")
    return url


def _environment_credentials() -> Credentials | None:
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


def _legacy_environment() -> tuple[str, str] | None:
    """``(access, secret)`` from the original baiji's ``AWS_ACCESS_KEY``/``AWS_SECRET``."""
    access, secret = os.environ.get("AWS_ACCESS_KEY"), os.environ.get("AWS_SECRET")
    return (access, secret) if access and secret else None


def _proxies(endpoint: str) -> tuple[dict, str | None]:
    """botocore's ``get_environ_proxies(endpoint)`` and the ``no_proxy`` list, from the environment.

    ``urllib.request`` (30 ms to import) only when some ``*_proxy`` variable is set.
    """
    if not any(name.lower().endswith("_proxy") for name in os.environ):
        return {}, None
    import urllib.request
    from urllib.parse import urlparse

    proxies = urllib.request.getproxies_environment()
    no_proxy = proxies.pop("no", None)
    try:
        if urllib.request.proxy_bypass_environment(urlparse(endpoint).netloc, {"no": no_proxy} if no_proxy else {}):
            return {}, no_proxy
    except TypeError:
        pass
    return {scheme: url for scheme, url in proxies.items() if scheme in ("http", "https")}, no_proxy


def resolve(profile: str | None = None, region: str | None = None, endpoint_url: str | None = None,
            new_session=None, sign: bool = True, verify: bool | str | None = None) -> Target:
    """The :class:`Target` of botocore's rules for these overrides (see the module docstring).

    ``new_session()``: gives the :func:`make_session` to use off the fast path
    (the one the control plane's client is made from: the chain runs once);
    ``sign=False``: unsigned requests (``--no-sign-request``); ``verify``:
    False (``--no-verify-ssl``) or a CA bundle's path.
    """
    files = _Files(profile)
    files.scoped  # noqa: B018 -- a missing profile fails here, as botocore's client creation does
    endpoint = check_endpoint(endpoint_url) if endpoint_url else files.endpoint()
    if endpoint:
        check_endpoint(endpoint)
    credentials, refreshable = None, False
    if sign:
        found = None if profile else _environment_credentials()
        if found is not None:
            credentials = lambda: found  # noqa: E731
        else:
            session = new_session() if new_session else make_session(profile)
            credentials, refreshable = _credentials_of(session.get_credentials())
    region = region or files.get("region", "AWS_DEFAULT_REGION") or DEFAULT_REGION
    if verify is None:
        verify = files.get("ca_bundle", "AWS_CA_BUNDLE") or True
    attempts = files.get("max_attempts", "AWS_MAX_ATTEMPTS")
    target = Target(
        region=region, endpoint_url=endpoint, credentials=credentials, refreshable=refreshable,
        addressing_style=files.s3("addressing_style") or "auto",
        use_fips=_true(files.get("use_fips_endpoint", "AWS_USE_FIPS_ENDPOINT")),
        use_dualstack=_true(files.get("use_dualstack_endpoint", "AWS_USE_DUALSTACK_ENDPOINT")
                            or files.s3("use_dualstack_endpoint")),
        ca_bundle=os.path.expanduser(verify) if isinstance(verify, str) else None, verify=verify is not False,
        max_attempts=_attempts(attempts), retry_mode=files.get("retry_mode", "AWS_RETRY_MODE") or "standard")
    if target.endpoint_url and (target.use_fips or target.use_dualstack):
        raise ConfigurationError("Invalid Configuration: FIPS and DualStack are not supported with a custom endpoint")
    proxies, no_proxy = _proxies(target.endpoint_for(target.region))
    return target._replace(proxies=proxies, no_proxy=no_proxy)


def _attempts(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        attempts = int(value)
    except ValueError:
        raise ConfigurationError(f"max_attempts must be a whole number, got {value!r}") from None
    if attempts < 1:
        raise ConfigurationError(f"max_attempts must be at least 1, got {attempts}")
    return attempts


def target_of_client(client) -> Target:
    """The :class:`Target` of an injected boto3 client: its endpoint, region, credentials and TLS."""
    endpoint = client.meta.endpoint_url
    if endpoint and endpoint.rstrip("/").endswith((".amazonaws.com", ".amazonaws.com.cn")):
        endpoint = None
    # the signer holds the credentials the client was made with (botocore has no public accessor)
    signer_credentials = client._request_signer._credentials
    credentials, refreshable = _credentials_of(signer_credentials)
    if client.meta.config.signature_version == _unsigned():
        credentials = None
    return Target(client.meta.region_name or DEFAULT_REGION, endpoint, credentials, refreshable,
                  addressing_style=(client.meta.config.s3 or {}).get("addressing_style") or "auto")


def _unsigned():
    import botocore

    return botocore.UNSIGNED


def _credentials_of(botocore_credentials):
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
    return datetime.now(timezone.utc) + CREDENTIALS_REFRESH if target.refreshable else None


CREDENTIALS_HELP = ("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                    "or AWS_PROFILE, or configure ~/.aws/credentials (or use --no-sign-request)")


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
    """A boto3 session on botocore's chain, with the original's names as the last fallbacks
    before instance and container roles (after the profile's own credentials)."""
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

    config = botocore.config.Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        # "total_max_attempts": botocore's "max_attempts" counts retries (5 would mean 6 attempts)
        retries={"mode": target.retry_mode if target.retry_mode in ("standard", "adaptive", "legacy")
                 else "standard", "total_max_attempts": target.attempts},
        max_pool_connections=MAX_POOL_CONNECTIONS,
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
    session = session or make_session(profile)
    kwargs = {}
    if target.signed:
        now = target.credentials()
        kwargs = {"aws_access_key_id": now.access_key, "aws_secret_access_key": now.secret_key,
                  "aws_session_token": now.token} if not target.refreshable else {}
    verify = target.ca_bundle or target.verify
    return session.client("s3", region_name=target.region, endpoint_url=target.endpoint_url,
                          config=config, verify=verify, **kwargs)
