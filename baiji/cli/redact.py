"""Secrets kept out of what the ``s3`` command shows: ``-v`` logs, error messages, tracebacks.

:class:`Redactor` removes the secret key and session token values the
environment and the connection's credentials hold (:func:`_connection_secrets`),
anything that looks like one (``aws_secret_access_key=``,
``X-Amz-Security-Token``, ``X-Amz-Signature``, ``Credential=``,
``Signature=``, ``Authorization:`` headers), and the password of an endpoint
URL (``http://user:PASSWORD@host``).  ``-v``'s log handler redacts through
:class:`_RedactingFilter` and :class:`_RedactingFormatter`.  The one thing
printed on purpose that carries credentials is ``s3 url``'s presigned URL,
which is its job.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Sequence

from baiji import exceptions as exc

REDACTED = "[REDACTED]"

_SECRET_NAMES = (
    r"aws_secret_access_key|aws_secret_key|aws_session_token|aws_security_token|aws_secret"
    r"|secret_?access_?key|secret_?key|session_?token|security_?token"
    r"|x-amz-security-token|x-amz-signature|x-amz-credential|signature|credential"
)
#: Patterns as text: ``re`` compiles (and caches) them at the first redaction, not at start-up.
_SECRET_PATTERNS = (
    # Authorization: 'AWS4-HMAC-SHA256 Credential=..., Signature=...' (quoted, as in a headers dict)
    r"(?i)\b(authorization)(['\"]?\s*[=:]\s*b?)(['\"])(?:(?!\3).)*\3",
    # Authorization: ... (an HTTP header line)
    r"(?i)\b(authorization)(\s*:\s*)()[^\r\n]+",
    # name=value, name: value, 'name': b'value', name:\nvalue
    # (never a value already redacted: redacting twice changes nothing)
    r"(?i)(?<![\w-])(" + _SECRET_NAMES + r")(['\"]?\s*[=:]\s*b?['\"]?)()"
    r"(?!b?['\"]?\[REDACTED\])[^\s'\",&;>}\]]+",
)

_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_SECRET")
_ENDPOINT_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")
_MIN_SECRET_LEN = 4


def _secret_pattern_repl(match: re.Match) -> str:
    quote_char = match.group(3)
    return f"{match.group(1)}{match.group(2)}{quote_char}{REDACTED}{quote_char}"


class Redactor:
    """Removes secrets from text: known values (environment, credentials) and look-alikes."""

    def __init__(self):
        self._sources: list[Callable[[], Sequence[str]]] = [_environment_secrets]

    def add_source(self, source: Callable[[], Sequence[str]]) -> None:
        """``source()`` returns secret values; asked at each redaction, errors ignored."""
        self._sources.append(source)

    def secrets(self) -> set[str]:
        from urllib.parse import quote  # imported here: ~2 ms at start-up, only redaction needs it

        values: set[str] = set()
        for source in self._sources:
            try:
                found = source()
            except Exception:  # a redactor must never be the thing that fails
                continue
            for value in found or ():
                if isinstance(value, str) and len(value) >= _MIN_SECRET_LEN:
                    values.add(value)
                    values.add(quote(value, safe=""))
        return values

    def __call__(self, text: str) -> str:
        for value in sorted(self.secrets(), key=len, reverse=True):
            text = text.replace(value, REDACTED)
        for pattern in _SECRET_PATTERNS:
            text = re.sub(pattern, _secret_pattern_repl, text)
        return exc.without_url_passwords(text)


def _environment_secrets() -> list[str]:
    secrets = [os.environ[name] for name in _SECRET_ENV if os.environ.get(name)]
    return secrets + _url_passwords(os.environ.get(name) for name in _ENDPOINT_ENV)

def _url_passwords(urls) -> list[str]:
    """The passwords in ``scheme://user:PASSWORD@host`` URLs (None and plain URLs give none)."""
    from urllib.parse import unquote, urlsplit  # imported here: ~2 ms at start-up, only redaction needs it

    passwords = []
    for url in urls:
        with contextlib.suppress(ValueError):
            password = urlsplit(url or "").password
            if password:
                passwords += [password, unquote(password)]
    return passwords

def _connection_secrets(conn) -> Callable[[], list[str]]:
    """The passwords of ``conn``'s endpoint URL (given or resolved) and of the proxies, and
    the secret key and token of its credentials once its client exists.

    Reads what the client already holds; never creates a client or resolves
    or refreshes credentials (that could do I/O, from inside a log call).
    """

    def source() -> list[str]:
        target = conn.loaded_target()
        proxies = [value for name, value in os.environ.items() if name.lower().endswith("_proxy")]
        endpoint = _url_passwords([conn.endpoint_url, target and target.endpoint_url, *proxies])
        signer = getattr(conn.loaded_client(), "_request_signer", None)
        credentials = getattr(signer, "_credentials", None)
        if credentials is None:
            return endpoint
        held = vars(credentials)  # plain Credentials: secret_key/token; refreshable: _secret_key/_token
        return endpoint + [held[name] for name in ("secret_key", "_secret_key", "token", "_token")
                           if isinstance(held.get(name), str)]

    return source

# The filter and the formatter wrap logging's own rather than subclass them, so that
# ``logging`` (~5 ms) is imported only with -v: a handler takes any object with a
# ``filter(record)`` method as a filter and any with ``format(record)`` as a formatter.

class _RedactingFilter:
    """Redacts each record in place, so that no handler after ours sees a secret either."""

    def __init__(self, redactor: Redactor, formatter):
        self._redact = redactor
        self._formatter = formatter  # a logging.Formatter, for the traceback of exc_info

    def filter(self, record) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg, record.args = self._redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._redact(self._formatter.formatException(record.exc_info))
        return True

class _RedactingFormatter:
    """``formatter``'s text, redacted."""

    def __init__(self, redactor: Redactor, formatter):
        self._redact = redactor
        self._formatter = formatter

    def format(self, record) -> str:
        return self._redact(self._formatter.format(record))
