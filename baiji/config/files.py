"""The shared config and credentials files (``~/.aws/config``, ``~/.aws/credentials``), read with
botocore's own parser and merged as its session merges them."""

from __future__ import annotations

import os

from baiji.exceptions import ConfigurationError


def ensure_boolean(value) -> bool:
    """botocore's ``ensure_boolean``."""
    return value if isinstance(value, bool) else isinstance(value, str) and value.lower() == "true"


class Files:
    """The shared config and credentials files, read with botocore's parser, as its session merges them."""

    def __init__(self, profile: str | None):
        self.profile = profile if profile is not None else _env_first("AWS_DEFAULT_PROFILE", "AWS_PROFILE")
        self._full: dict | None = None

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
                raise ConfigurationError(one_line(err)) from None
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
        if ensure_boolean(self.get("ignore_configured_endpoint_urls", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")):
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


def one_line(err) -> str:
    """The message of ``err`` on one line."""
    return " ".join(str(err).split()) or type(err).__name__


def _env_first(*names: str) -> str | None:
    for name in names:
        if name in os.environ:
            return os.environ[name]
    return None


def _env_or(name: str, default: str) -> str:
    return os.environ[name] if name in os.environ else default
