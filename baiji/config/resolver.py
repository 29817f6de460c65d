""":func:`resolve`: the :class:`~baiji.config.target.Target` of a connection, from its overrides, the
environment and the shared files, as botocore decides it.

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

from baiji import config
from baiji.config.credentials import environment_credentials, session_credentials
from baiji.config.endpoints import check_endpoint, check_variants
from baiji.config.files import Files, ensure_boolean
from baiji.config.target import Target
from baiji.exceptions import ConfigurationError


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
        # ignore[attr-defined]: proxy_bypass_environment is undocumented (botocore's choice), not in typeshed
        if urllib.request.proxy_bypass_environment(urlparse(endpoint).netloc,  # type: ignore[attr-defined]
                                                   {"no": no_proxy} if no_proxy else {}):
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
    files = Files(profile)
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
    fips = ensure_boolean(files.get("use_fips_endpoint", "AWS_USE_FIPS_ENDPOINT"))
    # botocore: the nested s3 setting can turn dualstack on, never off; else
    # AWS_USE_DUALSTACK_ENDPOINT, else the profile's use_dualstack_endpoint
    dualstack = ensure_boolean(s3.get("use_dualstack_endpoint")) or ensure_boolean(
        files.get("use_dualstack_endpoint", "AWS_USE_DUALSTACK_ENDPOINT"))
    if endpoint:  # botocore ignores FIPS and dualstack with a custom endpoint
        fips = dualstack = False
    if fips or dualstack:  # partitions.json only then (json is no import of a plain command)
        check_variants(region, fips, dualstack)
    style = s3.get("addressing_style", "auto")
    if style not in ("path", "virtual", "auto"):
        raise ConfigurationError(f"S3 addressing style {style} is invalid. Valid options are: 'auto', 'virtual', "
                                 f"and 'path' (the profile's s3 = addressing_style)")
    credentials, refreshable = None, False
    if sign:
        found = None if profile is not None else environment_credentials()
        if found is not None:
            credentials = lambda: found  # noqa: E731
        else:
            session = new_session() if new_session else config.make_session(profile)
            credentials, refreshable = session_credentials(session)
    target = Target(
        region=region, endpoint_url=endpoint, credentials=credentials, refreshable=refreshable,
        addressing_style=style, use_fips=fips, use_dualstack=dualstack,
        ca_bundle=ca_bundle, verify=verify, max_attempts=attempts, retry_mode=mode)
    proxies, no_proxy = _proxies(target.endpoint_for(target.region))
    return target._replace(proxies=proxies, no_proxy=no_proxy)


#: botocore's ``validate_region_name``.
_REGION_NAME = r"(?![0-9]+$)(?!-)[a-zA-Z0-9-]{,63}(?<!-)"


def _region(region: str | None) -> str:
    """The region to use: ``region`` checked as botocore checks it; none configured: us-east-1
    (botocore's ``aws-global``: us-east-1's endpoints)."""
    import re

    if region is None or region == "aws-global":
        return config.DEFAULT_REGION
    if not re.fullmatch(_REGION_NAME, region):
        raise ConfigurationError(f"Provided region_name '{region}' doesn't match a supported format.")
    if not region:  # botocore: "Invalid endpoint: https://s3..amazonaws.com", or a crash signing
        raise ConfigurationError("the region is empty (AWS_DEFAULT_REGION, --region or the profile's region)")
    return region


def _ca_bundle(files: Files, verify: bool | str | None) -> tuple[str | None, bool]:
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
