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
  ``AWS_ENDPOINT_URL`` (an empty one skipped), the profile's ``services``
  section (``s3 = endpoint_url = ...``), the profile's ``endpoint_url``; else
  AWS's own for the region and its partition (``s3-fips``/``dualstack`` as
  asked: ignored with a custom endpoint, as botocore ignores them);
- profile: ``profile=``, ``AWS_DEFAULT_PROFILE``, ``AWS_PROFILE`` (even
  empty), ``default`` (a named profile that is in neither file is an error,
  as in botocore);
- region: ``region=``, ``AWS_DEFAULT_REGION``, the profile's ``region`` (in
  the config or the credentials file), else ``us-east-1`` (``AWS_REGION`` is
  not read, as botocore does not read it); an empty or malformed one is an
  error;
- credentials: botocore's chain (environment first, unless ``profile=`` is
  given); the original baiji's ``AWS_ACCESS_KEY``/``AWS_SECRET`` and
  ``AWS_CREDENTIAL_FILE`` only after the profile's own;
- CA bundle: ``verify=`` (a path, or False for ``--no-verify-ssl``),
  ``AWS_CA_BUNDLE``, the profile's ``ca_bundle``, ``REQUESTS_CA_BUNDLE``;
- proxies: ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` (either case), read as
  botocore reads them (:mod:`urllib.request`), decided for the endpoint;
- retries: ``AWS_MAX_ATTEMPTS``/``max_attempts`` (baiji's default 5),
  ``AWS_RETRY_MODE``/``retry_mode``.

Where botocore fails to make a client (a missing profile or services
section, partial credentials, a file it cannot parse, an empty CA bundle or
region, an invalid retry mode, max attempts or addressing style, FIPS in
China...), or crashes (``s3 = path`` not nested, an expiry without a time
zone), :func:`resolve` raises :class:`~baiji.exceptions.ConfigurationError`
with one line.

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
        name = "s3-fips" if self.use_fips else "s3"
        if self.use_dualstack:
            name += ".dualstack"
        return f"https://{name}.{region}.{_partition(region)['dnsSuffix']}"

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
    False (``--no-verify-ssl``) or a CA bundle's path.  Where botocore would
    fail to make a client (or crash), ConfigurationError, one line.
    """
    files = _Files(profile)
    s3 = files.s3()  # a missing profile fails here, as botocore's client creation does
    endpoint = endpoint_url if endpoint_url is not None else files.endpoint()
    if endpoint is not None:
        endpoint = check_endpoint(endpoint)
    region = _region(region if region is not None else files.get("region", "AWS_DEFAULT_REGION"))
    ca_bundle, verify = _ca_bundle(files, verify)
    mode = files.get("retry_mode", "AWS_RETRY_MODE")
    if mode is None:
        mode = "standard"
    if mode not in ("legacy", "standard", "adaptive"):
        raise ConfigurationError(f"retry mode must be legacy, standard or adaptive, got {mode!r} "
                                 f"(AWS_RETRY_MODE or the profile's retry_mode)")
    attempts = _attempts(files.get("max_attempts", "AWS_MAX_ATTEMPTS"))
    fips = _true(files.get("use_fips_endpoint", "AWS_USE_FIPS_ENDPOINT"))
    # botocore: the nested s3 setting can turn dualstack on, never off; else
    # AWS_USE_DUALSTACK_ENDPOINT, else the profile's use_dualstack_endpoint
    dualstack = _true(s3.get("use_dualstack_endpoint")) or _true(
        files.get("use_dualstack_endpoint", "AWS_USE_DUALSTACK_ENDPOINT"))
    if endpoint:  # botocore ignores FIPS and dualstack with a custom endpoint
        fips = dualstack = False
    if fips or dualstack:  # partitions.json only then (json is no import of a plain command)
        _check_variants(region, fips, dualstack)
    style = s3.get("addressing_style", "auto")
    if style not in ("path", "virtual", "auto"):
        raise ConfigurationError(f"S3 addressing style {style} is invalid. Valid options are: 'auto', 'virtual', "
                                 f"and 'path' (the profile's s3 = addressing_style)")
    credentials, refreshable = None, False
    if sign:
        found = None if profile is not None else _environment_credentials()
        if found is not None:
            credentials = lambda: found  # noqa: E731
        else:
            credentials, refreshable = _session_credentials(new_session() if new_session else make_session(profile))
    target = Target(
        region=region, endpoint_url=endpoint, credentials=credentials, refreshable=refreshable,
        addressing_style=style, use_fips=fips, use_dualstack=dualstack,
        ca_bundle=ca_bundle, verify=verify, max_attempts=attempts, retry_mode=mode)
    proxies, no_proxy = _proxies(target.endpoint_for(target.region))
    return target._replace(proxies=proxies, no_proxy=no_proxy)


def _session_credentials(session):
    """:func:`_credentials_of` the session's chain; its failures (partial credentials in a file, a
    broken role...) as ConfigurationError."""
    from botocore.exceptions import BotoCoreError

    try:
        return _credentials_of(session.get_credentials())
    except BotoCoreError as err:
        raise ConfigurationError(_one_line(err)) from None


#: botocore's ``validate_region_name``.
_REGION_NAME = r"(?![0-9]+$)(?!-)[a-zA-Z0-9-]{,63}(?<!-)"


def _region(region: str | None) -> str:
    """The region to use: ``region`` checked as botocore checks it; none configured: us-east-1
    (botocore's ``aws-global``: us-east-1's endpoints)."""
    import re

    if region is None or region == "aws-global":
        return DEFAULT_REGION
    if not re.fullmatch(_REGION_NAME, region):
        raise ConfigurationError(f"Provided region_name '{region}' doesn't match a supported format.")
    if not region:  # botocore: "Invalid endpoint: https://s3..amazonaws.com", or a crash signing
        raise ConfigurationError("the region is empty (AWS_DEFAULT_REGION, --region or the profile's region)")
    return region


def _check_variants(region: str, fips: bool, dualstack: bool) -> None:
    """The refusals of botocore's S3 endpoint rules: no FIPS in China, no dualstack in the
    aws-iso-e and aws-iso-f partitions."""
    partition = _partition(region)["name"]
    if fips and partition == "aws-cn":
        raise ConfigurationError(f"FIPS endpoints are not supported in {region} (AWS_USE_FIPS_ENDPOINT or "
                                 f"the profile's use_fips_endpoint)")
    if dualstack and partition in ("aws-iso-e", "aws-iso-f"):
        raise ConfigurationError(f"dualstack endpoints are not supported in {region} (AWS_USE_DUALSTACK_ENDPOINT "
                                 f"or the profile's use_dualstack_endpoint)")


def _partition(region: str) -> dict:
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


def _ca_bundle(files: _Files, verify: bool | str | None) -> tuple[str | None, bool]:
    """``(ca_bundle, verify)``: ``verify=`` (a bool, or a path: ``~`` expanded), else
    ``AWS_CA_BUNDLE``, the profile's ``ca_bundle``, ``REQUESTS_CA_BUNDLE`` (as botocore takes
    them: the path as written); an empty one is an error (botocore's InvalidConfigError)."""
    given = verify is not None
    if not given:
        verify = files.get("ca_bundle", "AWS_CA_BUNDLE")
        if verify is None:
            verify = os.environ.get("REQUESTS_CA_BUNDLE", True)
    if isinstance(verify, str):
        if not verify.strip():
            raise ConfigurationError("the CA bundle is empty (AWS_CA_BUNDLE, the profile's ca_bundle, "
                                     "REQUESTS_CA_BUNDLE or --ca-bundle): name a PEM file, or unset it")
        return (os.path.expanduser(verify) if given else verify), True
    return None, verify is not False


def _attempts(value) -> int | None:
    """``max_attempts`` as botocore takes it (``int()``; an empty value is no number)."""
    if value is None:
        return None
    try:
        attempts = int(value)
    except ValueError:
        raise ConfigurationError(f"max_attempts must be a whole number, got {value!r} "
                                 f"(AWS_MAX_ATTEMPTS or the profile's max_attempts)") from None
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
