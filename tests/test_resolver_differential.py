"""baiji.config.resolve against botocore, configuration by configuration (issue 16).

``resolve`` is the one resolver of configuration for the lister, obstore and
boto3, and its fast path (credentials in the environment, no ``profile=``)
applies botocore's precedence itself, without importing boto3.  It may stay
only where it is proven equal, so here both are given the same configuration
and must agree field by field:

- hand-picked configurations (:data:`HAND_PICKED`: the corners named in the
  issue and the ones found while writing this file), then
- :data:`GENERATED` seeded random ones: environment variables (empty values
  among them), a config file and a credentials file (``[default]``,
  ``[profile default]``, ``[profile p]``, ``[profile  p]``, ``[p]``,
  ``services`` sections, nested ``s3 =`` settings...), decoy files where a
  wrong path would be read, and the ``profile=``/``region=``/``endpoint_url=``
  arguments.

The oracle is botocore itself, as the AWS CLI and boto3 use it:
``botocore.session.Session(profile=...)``, ``create_client("s3",
region_name=..., endpoint_url=...)`` with botocore's defaults, and a
ListObjectsV2 request per bucket stopped at ``before-send`` (nothing is
sent).  Compared, from botocore's client and baiji's :class:`Target`:

- credentials (access key, secret key, session token), or that there are none;
- region;
- the URL of a ListObjectsV2 request for three buckets (a DNS-compatible
  name, a dotted one, one with capitals): the endpoint (custom, or AWS's for
  the region and partition, FIPS, dualstack) and whether the bucket is in
  the host name (``Target.bucket_endpoint``);
- the configured addressing style (``s3 = addressing_style``);
- the CA bundle / TLS verification;
- the proxy of the request;
- max attempts and retry mode;
- whether it raises: where botocore raises, baiji raises an ``AWSError``
  with a one-line message, saying why (:data:`REASONS`); where botocore
  crashes (an ``AttributeError`` on ``s3 = path``...), baiji says what is
  wrong instead.

baiji's documented differences are normalised, not flagged (:func:`expected_of`):

- no configured ``max_attempts``: botocore says None (3 in standard mode),
  baiji's :attr:`Target.attempts` is :data:`baiji.config.MAX_ATTEMPTS` (5);
- us-east-1 (or no region at all: botocore's ``aws-global``): botocore's
  legacy global ``s3.amazonaws.com``, baiji's regional
  ``s3.us-east-1.amazonaws.com`` (the same place); there botocore's proxy
  decision (``NO_PROXY``) is taken, with its own functions, for the host
  baiji really contacts;
- the original baiji's ``AWS_ACCESS_KEY``/``AWS_SECRET`` (README
  "Configuration"): where botocore finds no credentials and no
  ``profile=`` is given, baiji signs with them.

Path-style addressing for a custom endpoint needs no normalising: botocore
1.44 also goes path-style there unless ``addressing_style = virtual`` (and
on an IP address endpoint, always).  Endpoints baiji refuses and botocore takes (a path, port 0)
are in :func:`test_endpoints_baiji_refuses_and_botocore_takes`.

Every case runs in this process with ``os.environ`` replaced (``HOME`` a
fresh directory, ``AWS_EC2_METADATA_DISABLED=true``, no ``AWS_CONTAINER_*``
nor any other variable of the session's): no request leaves the process.
botocore's data loader is shared between cases (client creation then costs
~10 ms).

Also here: the slow path (no environment credentials) and the order of
:func:`baiji.config.make_session`'s chain (the original baiji's
``AWS_ACCESS_KEY``/``AWS_SECRET`` and ``AWS_CREDENTIAL_FILE`` after the
profile's own credentials).
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import textwrap
from datetime import datetime, timedelta, timezone
from typing import NamedTuple
from urllib.parse import urlsplit

import botocore.credentials
import botocore.endpoint_provider
import botocore.httpsession
import botocore.loaders
import botocore.session
import botocore.utils
import pytest

from baiji import config
from baiji.exceptions import AWSCredentialsMissing, AWSError

SEED = 0x16_2025
GENERATED_COUNT = 400
BUCKETS = ("bucket-1", "dotted.bucket", "Mixed_Case")


class Case(NamedTuple):
    """One configuration.

    ``env``: the environment (``<HOME>`` in a value: the case's home
    directory); ``files``: paths under the home directory and their text;
    ``profile``, ``region``, ``endpoint_url``: resolve's arguments (the
    client's for botocore).
    """

    name: str
    env: dict
    files: dict
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None


# Running one configuration ------------------------------------------------------


BASE_ENV = {
    "PATH": "/usr/bin:/bin",
    "AWS_EC2_METADATA_DISABLED": "true",
    "LANG": "C.UTF-8",
}


@contextlib.contextmanager
def environment(case: Case, home: str):
    """``os.environ`` is the case's (and nothing else) inside, the files written under ``home``."""
    for rel, text in case.files.items():
        path = os.path.join(home, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text).replace("<HOME>", home))
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(BASE_ENV, HOME=home)
    os.environ.update({k: v.replace("<HOME>", home) for k, v in case.env.items()})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Raised(NamedTuple):
    """An exception, as compared: its class and message."""

    kind: str
    message: str


class _Stop(Exception):
    """Raised at ``before-send`` with the request: nothing is sent."""

    def __init__(self, url):
        super().__init__(url)
        self.url = url


_LOADER = botocore.loaders.create_loader()
#: botocore's legacy global endpoint of us-east-1 (``aws-global``), and baiji's regional one.
GLOBAL, REGIONAL = "https://s3.amazonaws.com", "https://s3.us-east-1.amazonaws.com"


def botocore_view(case: Case) -> dict | Raised:
    """What botocore makes of the configuration in the environment now (a :class:`Raised` if
    it fails, crashes included: ``AttributeError`` and the like, see :func:`compare`)."""
    try:
        session = botocore.session.Session(profile=case.profile)
        session.register_component("data_loader", _LOADER)
        client = session.create_client("s3", region_name=case.region, endpoint_url=case.endpoint_url)
        found = client._request_signer._credentials
        frozen = found.get_frozen_credentials() if found is not None else None
    except Exception as err:  # noqa: BLE001 -- every failure is compared
        return Raised(type(err).__name__, str(err))
    view = {}
    if frozen is None:
        view["credentials"] = None
        # sign with anything: the URL is still wanted (botocore would say NoCredentialsError)
        client._request_signer._credentials = botocore.credentials.Credentials("unused", "unused")
    else:
        view["credentials"] = (frozen.access_key, frozen.secret_key, frozen.token or None)
    view["region"] = client.meta.region_name
    view["addressing_style"] = (client.meta.config.s3 or {}).get("addressing_style")
    http = client._endpoint.http_session
    view["verify"] = http._verify
    retries = client.meta.config.retries or {}
    view["max_attempts"] = retries.get("total_max_attempts")
    view["retry_mode"] = retries.get("mode")

    def stop(request, **_):
        raise _Stop(request.url)

    client.meta.events.register_first("before-send.s3", stop)
    urls = {}
    for bucket in BUCKETS:
        try:
            client.list_objects_v2(Bucket=bucket)
        except _Stop as sent:
            urls[bucket] = _where(sent.url, bucket)
        except Exception as err:  # noqa: BLE001
            return Raised(type(err).__name__, str(err))
    view["urls"] = urls
    first = urls[BUCKETS[0]][0]
    view["proxy"] = http._proxy_config.proxy_url_for(first)
    if first == GLOBAL:
        # documented difference: baiji goes to us-east-1's regional endpoint, and decides the
        # proxy (NO_PROXY) for that host, with botocore's own functions here
        proxies = botocore.httpsession.ProxyConfiguration(proxies=botocore.utils.get_environ_proxies(REGIONAL))
        view["proxy"] = proxies.proxy_url_for(REGIONAL)
    return view


def _where(url: str, bucket: str) -> tuple[str, bool]:
    """``(endpoint, virtual)`` of a request URL for ``bucket``."""
    parts = urlsplit(url)
    if parts.netloc.startswith(bucket + "."):
        return f"{parts.scheme}://{parts.netloc[len(bucket) + 1:]}", True
    path = parts.path.rstrip("/")
    assert path.endswith("/" + bucket), url
    return f"{parts.scheme}://{parts.netloc}{path[:-len(bucket) - 1]}", False


def baiji_view(case: Case) -> dict | Raised:
    """What baiji.config.resolve makes of the configuration in the environment now."""
    try:
        target = config.resolve(case.profile, case.region, case.endpoint_url)
        try:
            now = target.credentials()
            credentials = (now.access_key, now.secret_key, now.token or None)
        except AWSCredentialsMissing:
            credentials = None
    except AWSError as err:
        return Raised(type(err).__name__, str(err))
    except Exception as err:  # noqa: BLE001 -- failed in compare: only an AWSError may be raised
        return Raised("not an AWSError: " + type(err).__name__, str(err))
    urls = {}
    for bucket in BUCKETS:
        url, virtual = target.bucket_endpoint(bucket, target.region)
        urls[bucket] = _where(url.rstrip("/") + "/" + bucket if not virtual else url, bucket)
    return {
        "endpoint": target.endpoint_for(target.region).rstrip("/"),
        "credentials": credentials,
        "region": target.region,
        "addressing_style": target.addressing_style,
        "verify": target.ca_bundle or target.verify,
        "max_attempts": target.max_attempts,
        "retry_mode": target.retry_mode,
        "urls": urls,
        "proxy": target.proxy_for(urls[BUCKETS[0]][0]),
        "attempts": target.attempts,
    }


#: botocore's endpoint rules' functions (``isVirtualHostableS3Bucket``).
_RULES = botocore.endpoint_provider.RuleSetStandardLibrary(_LOADER.load_data("partitions"))


def _is_ip_url(url: str) -> bool:
    """Whether the host of ``url`` is an IP address."""
    host = urlsplit(url).hostname or ""
    return ":" in host or host.replace(".", "").isdigit()


def expected_of(oracle: dict, case: Case) -> dict:
    """botocore's view with baiji's documented differences applied (see the module docstring)."""
    expected = dict(oracle)
    if expected["region"] == "aws-global":  # no region configured: us-east-1, legacy endpoint
        expected["region"] = "us-east-1"
    urls = {}
    for bucket, (endpoint, virtual) in oracle["urls"].items():
        urls[bucket] = (REGIONAL if endpoint == GLOBAL else endpoint, virtual)
    expected["urls"] = urls
    expected["endpoint"] = urls["Mixed_Case"][0]  # never in the host name: the endpoint itself
    if expected["addressing_style"] is None:  # none configured: botocore's and baiji's auto
        expected["addressing_style"] = "auto"
    legacy = os.environ.get("AWS_ACCESS_KEY"), os.environ.get("AWS_SECRET")
    if expected["credentials"] is None and all(legacy) and case.profile is None:
        # documented: the original baiji's names, after every source of botocore's but roles
        # (not with profile=: like botocore's own environment variables)
        expected["credentials"] = (*legacy, None)
    expected["attempts"] = oracle["max_attempts"] or config.MAX_ATTEMPTS  # documented: 5, not 3
    return expected


#: Why botocore failed (the class of its exception) -> what baiji's message must say (a regular
#: expression, case ignored): baiji fails for the same reason, not just somehow.
REASONS = {
    "ProfileNotFound": r"profile \(.*\) could not be found",
    "PartialCredentialsError": r"partial credentials",
    "InvalidConfigError": r"services configuration does not exist|CA bundle is empty",
    "InvalidRetryModeError": r"retry mode",
    "InvalidMaxRetryAttemptsError": r"max_attempts must be at least 1",
    "ValueError": r"max_attempts must be a whole number|endpoint URL must be|region is empty",
    "EndpointResolutionError": r"endpoint URL must be|FIPS endpoints are not supported",
    "EndpointVariantError": r"dualstack endpoints are not supported",
    "InvalidRegionError": r"region_name .* doesn't match",
    "InvalidS3AddressingStyleError": r"addressing style .* is invalid",
    "ConfigParseError": r"unable to parse config file",
    "ParserError": r"AWS_CREDENTIAL_EXPIRATION is not a date",
    # botocore's crashes: baiji says what is wrong instead
    "AttributeError": r"s3 setting.* must be a nested section",  # `s3 = path`, `s3 =` with nothing nested
    "TypeError": r"AWS_CREDENTIAL_EXPIRATION has no time zone|s3 setting.* must be a nested section",
    "RuntimeError": r"region is empty|expired at",  # CRT signer on an empty region; expired env credentials
}


def compare(case: Case, home: str, same_reason: bool = True) -> None:
    """botocore's and baiji's views of ``case`` must agree (see the module docstring).

    ``same_reason``: where botocore fails, baiji's message says what botocore's does (see
    :data:`REASONS`); else (a generated configuration may hold several mistakes, and the two
    check them in different orders) it says one of the reasons there are.
    """
    with environment(case, home):
        oracle = botocore_view(case)
        ours = baiji_view(case)
        expected = expected_of(oracle, case) if not isinstance(oracle, Raised) else oracle
    if isinstance(oracle, Raised):
        # where botocore fails, baiji fails too, for the same reason, with an AWSError of one line
        assert isinstance(ours, Raised), f"botocore raised {oracle}, baiji resolved {ours}"
        assert not ours.kind.startswith("not an"), ours
        assert "\n" not in ours.message and ours.message.strip(), ours
        assert oracle.kind in REASONS, f"botocore raised {oracle}: say in REASONS what baiji must say"
        reasons = [REASONS[oracle.kind]] if same_reason else list(REASONS.values())
        assert any(re.search(reason, ours.message, re.IGNORECASE) for reason in reasons), (oracle, ours)
        return
    assert not isinstance(ours, Raised), f"baiji raised {ours}, botocore resolved {oracle}"
    for field, value in expected.items():
        assert ours[field] == value, (field, ours[field], value)


# Configurations -----------------------------------------------------------------

REGIONS = ("eu-west-1", "us-west-2", "us-east-1", "cn-north-1", "ap-southeast-2", "auto", "", "us-gov-west-1",
           "eu-isoe-west-1", "us-iso-east-1", "aws-global", "eu_west_1")
EXPIRATIONS = ("2099-01-01T00:00:00Z", "2001-01-01T00:00:00+00:00", "2099-01-01T00:00:00", "soon", "")
ENDPOINTS = ("http://127.0.0.1:9000", "https://minio.example.test:9443", "http://localhost:8333/",
             "https://s3.example.test", "")
BOOLEANS = ("true", "false", "TRUE", "")
ATTEMPTS = ("2", "4", "10", "", "x", "0")
RETRY_MODES = ("standard", "legacy", "adaptive", "", "bogus")
CA_BUNDLES = ("<HOME>/ca.pem", "~/ca.pem", "", "/etc/ssl/certs/other.pem")
PROXIES = ("http://proxy.example.test:3128", "proxy.example.test:8080", "https://secure-proxy.test", "",
           "//proxy.example.test:3128", "socks5://proxy.example.test:1080")
NO_PROXIES = ("127.0.0.1,localhost", "amazonaws.com", ".example.test", "*", "", "s3.us-east-1.amazonaws.com")
#: Profiles named by AWS_PROFILE, AWS_DEFAULT_PROFILE or profile= (weighted: most exist).
PROFILE_NAMES = ("p", "p", "p", "prod", "prod", "default", "missing", "")
#: The ways to write each profile's section header in the config file (``[p]``: not a profile there).
HEADERS = {
    "default": ("[default]", "[profile default]"),
    "p": ("[profile p]", "[profile  p]", "[p]", '[profile "p"]'),
    "prod": ("[profile prod]", "[prod]"),
}
#: Where AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE send botocore: (value, the file's path or None).
FILE_VARS = (
    ("$HOME/alt/{name}", "alt/{name}"),
    ("${{HOME}}/alt/{name}", "alt/{name}"),
    ("~/alt/{name}", "alt/{name}"),
    ("<HOME>/alt/{name}", "alt/{name}"),
    ("", None),
    ("<HOME>/nowhere/{name}", None),
)
DECOY_CONFIG = """\
    [default]
    region = eu-north-1
    endpoint_url = http://127.0.0.1:9999
    [profile p]
    region = eu-north-1
    [profile prod]
    region = eu-north-1
    """
DECOY_CREDENTIALS = """\
    [default]
    aws_access_key_id = AKIADECOY
    aws_secret_access_key = decoy-secret
    [p]
    aws_access_key_id = AKIADECOYP
    aws_secret_access_key = decoy-secret
    [prod]
    aws_access_key_id = AKIADECOYPROD
    aws_secret_access_key = decoy-secret
    """


def _profile_lines(rng: random.Random, name: str, credentials_file: bool) -> list[str]:
    """Random settings of one profile."""
    lines = []

    def maybe(p: float, key: str, values) -> None:
        if rng.random() < p:
            lines.append(f"{key} = {rng.choice(values)}".rstrip())

    maybe(0.5, "region", REGIONS)
    if rng.random() < (0.5 if credentials_file else 0.25):
        lines.append(f"aws_access_key_id = AKIA{name.upper()}{'CRED' if credentials_file else 'CONF'}")
        if rng.random() < 0.9:
            lines.append(f"aws_secret_access_key = secret-{name}")
        if rng.random() < 0.3:
            lines.append(f"aws_session_token = token-{name}")
    if credentials_file:
        return lines
    maybe(0.25, "endpoint_url", ENDPOINTS)
    maybe(0.15, "services", ("svc", "nothere"))
    if rng.random() < 0.25:
        nested = [f"  {key} = {rng.choice(values)}".rstrip() for key, values in (
            ("addressing_style", ("path", "virtual", "auto", "Path", "")),
            ("use_dualstack_endpoint", BOOLEANS),
            ("endpoint_url", ENDPOINTS[:2])) if rng.random() < 0.6]
        lines += ["s3 ="] + nested
    maybe(0.1, "ca_bundle", CA_BUNDLES)
    maybe(0.1, "use_fips_endpoint", BOOLEANS)
    maybe(0.1, "use_dualstack_endpoint", BOOLEANS)
    maybe(0.1, "max_attempts", ATTEMPTS)
    maybe(0.1, "retry_mode", RETRY_MODES)
    maybe(0.1, "ignore_configured_endpoint_urls", BOOLEANS)
    return lines


def _config_text(rng: random.Random) -> str:
    sections = []
    for name, headers in HEADERS.items():
        for header in headers:
            if rng.random() < 0.4:
                sections.append("\n".join([header] + _profile_lines(rng, name, False)))
    if rng.random() < 0.4:
        body = rng.choice((
            ["s3 =", f"  endpoint_url = {rng.choice(ENDPOINTS[:4])}"],
            ["s3 =", "  addressing_style = path"],
            ["dynamodb =", "  endpoint_url = http://127.0.0.1:8000"],
            ["s3 =", f"  endpoint_url = {rng.choice(ENDPOINTS[:4])}", "dynamodb =",
             "  endpoint_url = http://127.0.0.1:8000"],
        ))
        sections.append("\n".join(["[services svc]"] + body))
    rng.shuffle(sections)
    return "\n".join(sections) + "\n"


def _credentials_text(rng: random.Random) -> str:
    sections = []
    for header, name in (("[default]", "default"), ("[p]", "p"), ("[prod]", "prod"), ("[profile p]", "pp")):
        if rng.random() < 0.4:
            sections.append("\n".join([header] + _profile_lines(rng, name, True)))
    return "\n".join(sections) + "\n"


def _shared_file(rng: random.Random, env: dict, files: dict, var: str, name: str, text: str, decoy: str):
    """The file of ``var`` (``AWS_CONFIG_FILE``...): at its default place, or where the variable says."""
    if rng.random() < 0.7:
        files[f".aws/{name}"] = text
        return
    value, path = rng.choice(FILE_VARS)
    env[var] = value.format(name=name)
    files[f".aws/{name}"] = decoy  # read by mistake, it would show
    if path:
        files[path.format(name=name)] = text


def generated(count: int = GENERATED_COUNT, seed: int = SEED) -> list[Case]:
    """``count`` random configurations (the same ones every run)."""
    rng = random.Random(seed)
    cases = []
    for index in range(count):
        env: dict = {}
        files: dict = {}

        def maybe(p: float, name: str, values, env=env) -> None:
            if rng.random() < p:
                env[name] = rng.choice(values)

        if rng.random() < 0.6:
            env["AWS_ACCESS_KEY_ID"] = rng.choice(("AKIAENV",) * 5 + ("",))
            maybe(0.95, "AWS_SECRET_ACCESS_KEY", ("env-secret",) * 5 + ("",))
        maybe(0.25, "AWS_SESSION_TOKEN", ("token-session", ""))
        maybe(0.05, "AWS_CREDENTIAL_EXPIRATION", EXPIRATIONS)
        maybe(0.15, "AWS_SECURITY_TOKEN", ("token-security", ""))
        maybe(0.3, "AWS_PROFILE", PROFILE_NAMES)
        maybe(0.1, "AWS_DEFAULT_PROFILE", PROFILE_NAMES)
        maybe(0.3, "AWS_DEFAULT_REGION", REGIONS)
        maybe(0.2, "AWS_REGION", REGIONS)
        maybe(0.2, "AWS_ENDPOINT_URL", ENDPOINTS)
        maybe(0.15, "AWS_ENDPOINT_URL_S3", ENDPOINTS)
        maybe(0.1, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", BOOLEANS)
        maybe(0.1, "AWS_USE_FIPS_ENDPOINT", BOOLEANS)
        maybe(0.1, "AWS_USE_DUALSTACK_ENDPOINT", BOOLEANS)
        maybe(0.1, "AWS_CA_BUNDLE", CA_BUNDLES)
        maybe(0.08, "REQUESTS_CA_BUNDLE", CA_BUNDLES)
        maybe(0.1, "AWS_MAX_ATTEMPTS", ATTEMPTS)
        maybe(0.1, "AWS_RETRY_MODE", RETRY_MODES)
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
            maybe(0.1, name, PROXIES)
        for name in ("NO_PROXY", "no_proxy"):
            maybe(0.1, name, NO_PROXIES)
        if rng.random() < 0.15:
            env["AWS_ACCESS_KEY"], env["AWS_SECRET"] = "AKIALEGACY", rng.choice(("legacy-secret", ""))
        if rng.random() < 0.9:
            _shared_file(rng, env, files, "AWS_CONFIG_FILE", "config", _config_text(rng), DECOY_CONFIG)
        if rng.random() < 0.8:
            _shared_file(rng, env, files, "AWS_SHARED_CREDENTIALS_FILE", "credentials", _credentials_text(rng),
                         DECOY_CREDENTIALS)
        profile = rng.choice(PROFILE_NAMES[:-1]) if rng.random() < 0.2 else None
        region = rng.choice(("us-west-2", "eu-central-1", "cn-north-1", "us-east-1")) if rng.random() < 0.2 else None
        endpoint = rng.choice(("http://127.0.0.1:9100", "https://store.example.test", "http://localhost:9100/")) \
            if rng.random() < 0.15 else None
        cases.append(Case(f"generated-{index:03d}", env, files, profile, region, endpoint))
    return cases


ENV_KEYS = {"AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env-secret"}
PROFILES = """\
    [default]
    region = eu-west-1
    [profile p]
    region = us-west-2
    [profile prod]
    region = eu-central-1
    """
CREDENTIALS = """\
    [default]
    aws_access_key_id = AKIADEFAULT
    aws_secret_access_key = secret-default
    [p]
    aws_access_key_id = AKIAP
    aws_secret_access_key = secret-p
    [prod]
    aws_access_key_id = AKIAPROD
    aws_secret_access_key = secret-prod
    aws_session_token = token-prod
    """


def hand(name: str, env: dict | None = None, config: str | None = None, credentials: str | None = None,
         profile: str | None = None, region: str | None = None, endpoint_url: str | None = None,
         files: dict | None = None, keys: bool = True) -> Case:
    """A hand-picked case: ``keys``: with :data:`ENV_KEYS` (the fast path, unless ``profile``)."""
    written = dict(files or {})
    if config is not None:
        written[".aws/config"] = config
    if credentials is not None:
        written[".aws/credentials"] = credentials
    return Case(name, {**(ENV_KEYS if keys else {}), **(env or {})}, written, profile, region, endpoint_url)


HAND_PICKED: list[Case] = [
    # the issue's list
    hand("region-in-credentials-file", credentials="[default]\nregion = ap-south-1\n"),
    hand("region-in-credentials-file-slow", credentials="[default]\nregion = sa-east-1\naws_access_key_id = AKIAD\n"
         "aws_secret_access_key = secret-d\n", keys=False),
    hand("region-in-credentials-file-beats-config", config=PROFILES,
         credentials="[default]\nregion = ap-south-1\n"),
    hand("default-profile-beats-profile", {"AWS_DEFAULT_PROFILE": "prod", "AWS_PROFILE": "p"}, PROFILES),
    hand("default-profile-beats-profile-slow", {"AWS_DEFAULT_PROFILE": "prod", "AWS_PROFILE": "p"}, PROFILES,
         CREDENTIALS, keys=False),
    hand("empty-default-profile-beats-profile", {"AWS_DEFAULT_PROFILE": "", "AWS_PROFILE": "p"}, PROFILES),
    hand("profile-default-section", config="[profile default]\nregion = eu-west-3\n"),
    hand("profile-default-and-default",
         config="[default]\nregion = eu-west-1\n[profile default]\nregion = eu-west-3\n"),
    hand("profile-with-two-spaces", {"AWS_PROFILE": "p"}, "[profile  p]\nregion = ca-central-1\n"),
    hand("profile-quoted", {"AWS_PROFILE": "p"}, '[profile "p"]\nregion = ca-central-1\n'),
    hand("bare-section-is-no-profile", {"AWS_PROFILE": "p"}, "[p]\nregion = ca-central-1\n"),
    hand("bare-section-with-credentials", {"AWS_PROFILE": "p"}, "[p]\nregion = ca-central-1\n", CREDENTIALS),
    hand("config-file-in-home-var", {"AWS_CONFIG_FILE": "$HOME/cfg/config"},
         files={"cfg/config": "[default]\nregion = eu-south-1\n", ".aws/config": DECOY_CONFIG}),
    hand("config-file-in-home-braces", {"AWS_CONFIG_FILE": "${HOME}/cfg/config"},
         files={"cfg/config": "[default]\nregion = eu-south-1\n", ".aws/config": DECOY_CONFIG}),
    hand("config-file-in-tilde", {"AWS_CONFIG_FILE": "~/cfg/config"},
         files={"cfg/config": "[default]\nregion = eu-south-1\n", ".aws/config": DECOY_CONFIG}),
    hand("config-file-empty-variable", {"AWS_CONFIG_FILE": ""}, files={".aws/config": DECOY_CONFIG}),
    hand("credentials-file-in-tilde-slow", {"AWS_SHARED_CREDENTIALS_FILE": "~/cfg/credentials"},
         files={"cfg/credentials": CREDENTIALS, ".aws/credentials": DECOY_CREDENTIALS}, keys=False),
    hand("security-token-beats-session-token", {"AWS_SECURITY_TOKEN": "tok-sec", "AWS_SESSION_TOKEN": "tok-ses"}),
    hand("empty-security-token", {"AWS_SECURITY_TOKEN": "", "AWS_SESSION_TOKEN": "tok-ses"}),
    hand("empty-session-token", {"AWS_SESSION_TOKEN": ""}),
    hand("missing-profile-with-env-keys", {"AWS_PROFILE": "missing"}, PROFILES),
    hand("missing-profile-slow", {"AWS_PROFILE": "missing"}, PROFILES, CREDENTIALS, keys=False),
    hand("empty-profile-variable", {"AWS_PROFILE": ""}, PROFILES),
    hand("empty-profile-argument", config=PROFILES, profile=""),
    hand("empty-service-endpoint-next-to-global",
         {"AWS_ENDPOINT_URL_S3": "", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000"}),
    hand("service-endpoint-beats-global",
         {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9001", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000"}),
    hand("prod-profile-beats-legacy-variables",
         {"AWS_PROFILE": "prod", "AWS_ACCESS_KEY": "AKIALEGACY", "AWS_SECRET": "legacy-secret"},
         PROFILES, CREDENTIALS, keys=False),
    hand("legacy-variables-without-profile-keys", {"AWS_ACCESS_KEY": "AKIALEGACY", "AWS_SECRET": "legacy-secret"},
         PROFILES, keys=False),
    hand("env-keys-beat-legacy-variables", {"AWS_ACCESS_KEY": "AKIALEGACY", "AWS_SECRET": "legacy-secret"}),
    hand("env-keys-beat-profile-variable", {"AWS_PROFILE": "prod"}, PROFILES, CREDENTIALS),
    hand("profile-argument-beats-env-keys", config=PROFILES, credentials=CREDENTIALS, profile="prod"),
    hand("profile-argument-without-keys", config=PROFILES, credentials="[p]\nregion = us-east-2\n", profile="p"),
    hand("keys-in-config-file-slow", config="[default]\naws_access_key_id = AKIACONF\n"
         "aws_secret_access_key = secret-conf\n", keys=False),
    hand("empty-access-key-falls-to-files", {"AWS_ACCESS_KEY_ID": ""}, PROFILES, CREDENTIALS, keys=False),
    hand("partial-env-keys", {"AWS_SECRET_ACCESS_KEY": ""}),
    hand("partial-file-keys", credentials="[default]\naws_access_key_id = AKIAPART\n", keys=False),
    hand("no-credentials-anywhere", config=PROFILES, keys=False),
    # endpoints
    hand("services-section", config="""\
        [default]
        services = local
        endpoint_url = http://127.0.0.1:9002
        [services local]
        s3 =
          endpoint_url = http://127.0.0.1:9003
        """),
    hand("services-section-without-s3", config="""\
        [default]
        services = local
        endpoint_url = http://127.0.0.1:9002
        [services local]
        dynamodb =
          endpoint_url = http://127.0.0.1:8000
        """),
    hand("services-section-missing", config="[default]\nservices = nothere\nendpoint_url = http://127.0.0.1:9002\n"),
    hand("services-section-missing-but-env-endpoint", {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000"},
         "[default]\nservices = nothere\n"),
    # botocore crashes (AttributeError) on a plain s3 value in a services section
    hand("services-s3-not-nested", config="[default]\nservices = local\n[services local]\ns3 = foo\n"),
    hand("profile-endpoint-url", config="[default]\nendpoint_url = https://minio.example.test:9443\n"),
    hand("ignore-configured-endpoints-variable", {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
                                                  "AWS_ENDPOINT_URL": "http://127.0.0.1:9000"}),
    hand("ignore-configured-endpoints-profile", {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000"},
         "[default]\nignore_configured_endpoint_urls = true\n"),
    hand("ignore-configured-endpoints-but-argument", {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
         endpoint_url="http://127.0.0.1:9004"),
    hand("endpoint-argument-beats-environment", {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000"},
         endpoint_url="http://127.0.0.1:9004"),
    hand("endpoint-argument-empty", {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000"}, endpoint_url=""),
    hand("endpoint-trailing-slash", {"AWS_ENDPOINT_URL": "http://localhost:8333/"}),
    hand("endpoint-fragment", {"AWS_ENDPOINT_URL": "http://localhost:8333#here"}),
    hand("empty-endpoint-variables-fall-to-profile", {"AWS_ENDPOINT_URL_S3": "", "AWS_ENDPOINT_URL": ""},
         "[default]\nendpoint_url = http://127.0.0.1:9002\n"),
    hand("ignore-variable-false-beats-profile-true", {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false"},
         "[default]\nignore_configured_endpoint_urls = true\nendpoint_url = http://127.0.0.1:9002\n"),
    hand("endpoint-ipv6", {"AWS_ENDPOINT_URL": "http://[::1]:9000"}),
    hand("endpoint-not-a-url", {"AWS_ENDPOINT_URL": "not a url"}),
    hand("endpoint-ftp", {"AWS_ENDPOINT_URL_S3": "ftp://127.0.0.1/"}),
    hand("endpoint-bad-port", endpoint_url="http://127.0.0.1:99999"),
    hand("endpoint-query", {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000?x=1"}),
    hand("endpoint-scheme-only", {"AWS_ENDPOINT_URL": "http://"}),
    # addressing
    hand("addressing-path", config="[default]\nregion = eu-west-1\ns3 =\n  addressing_style = path\n"),
    hand("addressing-virtual-custom-endpoint", {"AWS_ENDPOINT_URL": "https://minio.example.test"},
         "[default]\ns3 =\n  addressing_style = virtual\n"),
    hand("addressing-virtual-http-endpoint", {"AWS_ENDPOINT_URL": "http://minio.local:9000"},
         "[default]\ns3 =\n  addressing_style = virtual\n"),
    hand("addressing-virtual-ip-endpoint", {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000"},
         "[default]\ns3 =\n  addressing_style = virtual\n"),
    hand("addressing-auto-custom-endpoint", {"AWS_ENDPOINT_URL": "https://minio.example.test"},
         "[default]\ns3 =\n  addressing_style = auto\n"),
    hand("addressing-unknown", config="[default]\ns3 =\n  addressing_style = sideways\n"),
    # botocore crashes (AttributeError, TypeError) on a plain s3 value in a profile
    hand("s3-not-nested", config="[default]\nregion = eu-west-1\ns3 = path\n"),
    hand("s3-empty", config="[default]\nregion = eu-west-1\ns3 =\n"),
    # FIPS, dualstack, partitions
    hand("fips", {"AWS_USE_FIPS_ENDPOINT": "true", "AWS_DEFAULT_REGION": "us-west-2"}),
    hand("fips-us-east-1", {"AWS_USE_FIPS_ENDPOINT": "true"}),
    hand("fips-profile", {"AWS_DEFAULT_REGION": "us-gov-west-1"}, "[default]\nuse_fips_endpoint = true\n"),
    hand("fips-variable-false-beats-profile", {"AWS_USE_FIPS_ENDPOINT": "false"},
         "[default]\nuse_fips_endpoint = true\n"),
    hand("fips-in-china", {"AWS_USE_FIPS_ENDPOINT": "true", "AWS_DEFAULT_REGION": "cn-north-1"}),
    hand("fips-with-custom-endpoint", {"AWS_USE_FIPS_ENDPOINT": "true", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000"}),
    hand("dualstack", {"AWS_USE_DUALSTACK_ENDPOINT": "TRUE", "AWS_DEFAULT_REGION": "cn-northwest-1"}),
    hand("dualstack-nested-false-does-not-turn-off", {"AWS_USE_DUALSTACK_ENDPOINT": "true"},
         "[default]\ns3 =\n  use_dualstack_endpoint = false\n"),
    hand("dualstack-nested-empty-does-not-turn-off", config="[default]\nuse_dualstack_endpoint = true\n"
         "s3 =\n  use_dualstack_endpoint =\n"),
    hand("dualstack-nested", config="[default]\nregion = ap-south-1\ns3 =\n  use_dualstack_endpoint = True\n"),
    hand("dualstack-in-iso-e", {"AWS_USE_DUALSTACK_ENDPOINT": "true", "AWS_DEFAULT_REGION": "eu-isoe-west-1"}),
    hand("fips-dualstack-iso", {"AWS_USE_DUALSTACK_ENDPOINT": "true", "AWS_USE_FIPS_ENDPOINT": "true",
                                "AWS_DEFAULT_REGION": "us-iso-east-1"}),
    hand("region-isob", {"AWS_DEFAULT_REGION": "us-isob-east-1"}),
    hand("region-eusc", {"AWS_DEFAULT_REGION": "eusc-de-east-1"}),
    # regions
    hand("region-argument-beats-all", {"AWS_DEFAULT_REGION": "eu-west-1"}, PROFILES, region="ap-northeast-1"),
    hand("region-variable-beats-profile", {"AWS_DEFAULT_REGION": "eu-west-2"}, PROFILES),
    hand("aws-region-is-not-read", {"AWS_REGION": "eu-west-2"}, "[default]\nregion = eu-west-3\n"),
    hand("no-region-anywhere"),
    hand("region-aws-global", {"AWS_DEFAULT_REGION": "aws-global"}),
    hand("region-r2-auto", {"AWS_DEFAULT_REGION": "auto", "AWS_ENDPOINT_URL": "https://acct.r2.example.test"}),
    hand("region-variable-empty", {"AWS_DEFAULT_REGION": ""}, PROFILES),
    hand("region-empty-in-credentials-file", config=PROFILES, credentials="[default]\nregion =\n"),
    # botocore's CRT signer crashes (RuntimeError) on an empty region with a custom endpoint
    hand("region-empty-custom-endpoint", {"AWS_DEFAULT_REGION": "", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000"}),
    hand("region-argument-empty", region=""),
    hand("region-invalid", {"AWS_DEFAULT_REGION": "eu west 1"}),
    hand("region-upper-case", {"AWS_DEFAULT_REGION": "EU-WEST-1"}),
    # TLS
    hand("ca-bundle-variable", {"AWS_CA_BUNDLE": "<HOME>/ca.pem"}, "[default]\nca_bundle = /etc/other.pem\n"),
    hand("ca-bundle-profile", config="[default]\nca_bundle = ~/ca.pem\n"),
    hand("ca-bundle-requests-last", {"REQUESTS_CA_BUNDLE": "/etc/requests.pem"}),
    hand("ca-bundle-profile-beats-requests", {"REQUESTS_CA_BUNDLE": "/etc/requests.pem"},
         "[default]\nca_bundle = /etc/profile.pem\n"),
    hand("ca-bundle-empty", {"AWS_CA_BUNDLE": ""}, "[default]\nca_bundle = /etc/profile.pem\n"),
    hand("ca-bundle-blank-profile", config="[default]\nca_bundle =   \n"),
    hand("ca-bundle-empty-requests", {"REQUESTS_CA_BUNDLE": ""}),
    # proxies
    hand("https-proxy", {"HTTPS_PROXY": "http://proxy.example.test:3128", "AWS_DEFAULT_REGION": "eu-west-1"}),
    hand("lower-case-proxy-wins", {"HTTPS_PROXY": "http://upper.test:1", "https_proxy": "http://lower.test:2"}),
    hand("empty-lower-case-proxy-removes", {"HTTPS_PROXY": "http://upper.test:1", "https_proxy": ""}),
    hand("proxy-without-scheme", {"HTTPS_PROXY": "proxy.example.test:8080"}),
    hand("proxy-scheme-relative", {"HTTPS_PROXY": "//proxy.example.test:8080"}),
    hand("proxy-socks", {"HTTPS_PROXY": "socks5://proxy.example.test:1080"}),
    hand("http-proxy-for-http-endpoint", {"HTTP_PROXY": "http://proxy.example.test:3128",
                                          "AWS_ENDPOINT_URL": "http://minio.local:9000"}),
    hand("no-proxy-matches-endpoint", {"HTTP_PROXY": "http://proxy.example.test:3128", "NO_PROXY": "minio.local",
                                       "AWS_ENDPOINT_URL": "http://minio.local:9000"}),
    hand("no-proxy-star", {"HTTPS_PROXY": "http://proxy.example.test:3128", "no_proxy": "*"}),
    hand("no-proxy-aws-suffix", {"HTTPS_PROXY": "http://proxy.example.test:3128", "NO_PROXY": ".amazonaws.com",
                                 "AWS_DEFAULT_REGION": "eu-west-1"}),
    hand("no-proxy-regional-us-east-1", {"HTTPS_PROXY": "http://proxy.example.test:3128",
                                         "NO_PROXY": "s3.us-east-1.amazonaws.com"}),
    # retries
    hand("max-attempts-variable-beats-profile", {"AWS_MAX_ATTEMPTS": "7"}, "[default]\nmax_attempts = 2\n"),
    hand("max-attempts-profile", config="[default]\nmax_attempts = 2\nretry_mode = legacy\n"),
    hand("max-attempts-empty", {"AWS_MAX_ATTEMPTS": ""}, "[default]\nmax_attempts = 2\n"),
    hand("max-attempts-zero", {"AWS_MAX_ATTEMPTS": "0"}),
    hand("max-attempts-word", config="[default]\nmax_attempts = three\n"),
    hand("max-attempts-spaces", {"AWS_MAX_ATTEMPTS": " 4 "}),
    hand("retry-mode-adaptive", {"AWS_RETRY_MODE": "adaptive"}),
    hand("retry-mode-empty", {"AWS_RETRY_MODE": ""}, "[default]\nretry_mode = legacy\n"),
    hand("retry-mode-capitalised", {"AWS_RETRY_MODE": "Standard"}),
    # environment credentials' expiry
    hand("expiration-future", {"AWS_CREDENTIAL_EXPIRATION": "2099-01-01T00:00:00Z"}),
    hand("expiration-past", {"AWS_CREDENTIAL_EXPIRATION": "2001-01-01T00:00:00Z"}),
    hand("expiration-garbage", {"AWS_CREDENTIAL_EXPIRATION": "tomorrow-ish"}),
    # botocore crashes (TypeError: naive and aware datetimes) on an expiry without a time zone
    hand("expiration-naive", {"AWS_CREDENTIAL_EXPIRATION": "2099-01-01T00:00:00"}),
    hand("expiration-empty", {"AWS_CREDENTIAL_EXPIRATION": ""}),
    hand("expiration-in-five-minutes", {"AWS_CREDENTIAL_EXPIRATION": (
        datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat(timespec="seconds")}),
    # files botocore cannot parse
    hand("config-file-garbage", config="region = eu-west-1\n[default]\n"),
    hand("config-file-duplicate-section", config="[default]\nregion = eu-west-1\n[default]\nregion = eu-west-2\n"),
    hand("config-file-bad-nesting", config="[default]\ns3 =\n  addressing_style\n"),
    hand("credentials-file-garbage", credentials="aws_access_key_id = X\n", keys=False),
]
GENERATED: list[Case] = generated()
assert len(GENERATED) >= 300 and len(HAND_PICKED) >= 30
assert len({case.name for case in HAND_PICKED + GENERATED}) == len(HAND_PICKED + GENERATED)


@pytest.mark.parametrize("case", HAND_PICKED, ids=lambda c: c.name)
def test_hand_picked(case, tmp_path):
    compare(case, str(tmp_path))


@pytest.mark.parametrize("case", GENERATED, ids=lambda c: c.name)
def test_generated(case, tmp_path):
    compare(case, str(tmp_path), same_reason=False)


# The slow path and make_session's chain -------------------------------------------------


def test_fast_path_never_makes_a_session(monkeypatch, tmp_path):
    """With keys in the environment and no ``profile=``, resolve reads the files itself:
    no boto3 session (the import that costs more than a whole ``s3 ls``)."""
    case = hand("fast", {"AWS_PROFILE": "prod"}, PROFILES, CREDENTIALS)

    def refuse(*_args, **_kwargs):
        raise AssertionError("the fast path made a boto3 session")

    monkeypatch.setattr(config, "make_session", refuse)
    with environment(case, str(tmp_path)):
        target = config.resolve(new_session=refuse)
    assert target.credentials() == config.Credentials("AKIAENV", "env-secret")
    assert (target.region, target.refreshable) == ("eu-central-1", False)


def test_slow_path_takes_the_profile_keys_from_the_given_session(tmp_path):
    """No keys in the environment: the profile's keys from the credentials file, through the
    connection's own session (``new_session``, made once), as botocore's client gets them."""
    case = hand("slow", {"AWS_PROFILE": "prod"}, PROFILES, CREDENTIALS, keys=False)
    made = []

    def new_session():
        made.append(config.make_session())
        return made[-1]

    with environment(case, str(tmp_path)):
        target = config.resolve(new_session=new_session)
        oracle = botocore_view(case)
    assert len(made) == 1
    assert target.credentials() == config.Credentials("AKIAPROD", "secret-prod", "token-prod")
    assert oracle["credentials"] == ("AKIAPROD", "secret-prod", "token-prod")
    assert (target.region, target.refreshable) == ("eu-central-1", False)
    compare(case, str(tmp_path))


def _methods(session) -> list[str]:
    return [provider.METHOD for provider in session.get_component("credential_provider").providers]


@pytest.mark.parametrize("profile", [None, "prod"])
def test_make_session_chain_is_botocores_with_the_old_names_after_the_profile(profile, tmp_path):
    """make_session's chain is botocore's own, the original baiji's names where botocore reads
    AWS_CREDENTIAL_FILE (``ec2-credentials-file``): after the environment, roles, SSO, the
    profile's credentials file and config file, before ~/.boto and instance and container
    roles.  With ``profile=`` botocore drops the environment, and the old variables with it."""
    case = hand("chain", config=PROFILES, credentials=CREDENTIALS, keys=False)
    with environment(case, str(tmp_path)):
        ours = _methods(config.make_session(profile)._session)
        theirs = _methods(botocore.session.Session(profile=profile))
    old = ["baiji-legacy-env", "baiji-credential-file"] if profile is None else ["baiji-credential-file"]
    at = theirs.index("ec2-credentials-file")
    assert ours == theirs[:at] + old + theirs[at + 1:]
    for own in ("shared-credentials-file", "config-file") + (("env",) if profile is None else ()):
        assert ours.index(own) < ours.index(old[0])
    assert ours.index("baiji-credential-file") < ours.index("boto-config") < ours.index("iam-role")


CHAIN_ENV = {"AWS_ACCESS_KEY": "AKIALEGACY", "AWS_SECRET": "legacy-secret",
             "AWS_CREDENTIAL_FILE": "<HOME>/old/credentials"}
OLD_FILE = {"old/credentials": "AWSAccessKeyId=AKIAOLDFILE\nAWSSecretKey=old-secret\n"}


@pytest.mark.parametrize("env, files, expected", [
    (CHAIN_ENV, {".aws/credentials": CREDENTIALS, **OLD_FILE}, "AKIAPROD"),
    (CHAIN_ENV, {".aws/config": "[profile prod]\naws_access_key_id = AKIACONF\naws_secret_access_key = s\n",
                 **OLD_FILE}, "AKIACONF"),
    (CHAIN_ENV, {".aws/config": PROFILES, **OLD_FILE}, "AKIALEGACY"),
    ({"AWS_CREDENTIAL_FILE": "<HOME>/old/credentials"}, {".aws/config": PROFILES, **OLD_FILE}, "AKIAOLDFILE"),
    ({"AWS_CREDENTIAL_FILE": "<HOME>/old/missing"}, {".aws/config": PROFILES}, None),
], ids=["credentials-file", "config-file", "legacy-variables", "legacy-file", "missing-legacy-file"])
def test_slow_path_chain_order(env, files, expected, tmp_path):
    """AWS_PROFILE=prod: its own keys (credentials file, then config file) beat the original
    baiji's AWS_ACCESS_KEY/AWS_SECRET, which beat its AWS_CREDENTIAL_FILE (a missing one counts
    as none); where botocore finds keys, they are the same."""
    case = Case("chain", {"AWS_PROFILE": "prod", **env}, files)
    with environment(case, str(tmp_path)):
        target = config.resolve()
        oracle = botocore_view(case)
    try:
        found = target.credentials().access_key
    except AWSCredentialsMissing:
        found = None
    assert found == expected
    if expected in ("AKIAPROD", "AKIACONF"):
        assert oracle["credentials"][0] == expected


# Known differences ------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9000/base", "https://minio.example.test/s3/", "http://h:0"])
def test_endpoints_baiji_refuses_and_botocore_takes(endpoint, tmp_path):
    """Not a documented difference, a refusal: an endpoint with a path (botocore puts buckets
    under it: ``http://host/base/bucket``; the lister and obstore address buckets at the host's
    root, so baiji would send to the wrong place) and port 0 (nothing listens there; botocore
    fails at the first request).  baiji fails at once, with one line."""
    case = hand("refused", endpoint_url=endpoint)
    with environment(case, str(tmp_path)):
        oracle = botocore_view(case)
        ours = baiji_view(case)
    assert not isinstance(oracle, Raised), oracle
    assert isinstance(ours, Raised) and ours.kind == "ConfigurationError", ours
    assert "\n" not in ours.message and "endpoint URL must be" in ours.message
