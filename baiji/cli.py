"""The ``s3`` command: a thin shell over :class:`baiji.connection.S3Connection`.

Usage: ``s3 [--endpoint-url URL] [--profile NAME] [--region NAME] [-v]
COMMAND [ARGS]`` (also ``python -m baiji ...``).  Every S3 key argument may
as well be a local path, exactly as in the library.

How it is built:

- The CLI owns no S3 logic.  Each subcommand is one row of :data:`COMMANDS`
  (name, help, argparse arguments, handler); a handler calls the library
  and formats the result, nothing more.
- :func:`main` is the only place that knows about exit statuses, tracebacks
  and terminals.  It never calls ``sys.exit``; it returns the status (the
  console script and ``python -m baiji`` turn it into the process status):

  ======  ================================================================
  0       success
  1       failure, printed as one line ``s3: error: MESSAGE`` on stderr
          (the traceback too with ``-v``); also ``exists`` answering "no"
          and ``is`` answering "files DO NOT match"
  2       usage error (argparse's message and usage line)
  130     interrupted (Ctrl-C); no traceback, even with ``-v``
  143     terminated (SIGTERM); worker processes stopped, temp files removed
  141     stdout was closed early (``s3 ls ... | head``): like a Unix tool
          killed by SIGPIPE, quietly, so ``set -o pipefail`` scripts see
          the status they would see from ``cat``
  ======  ================================================================

- Path arguments are never empty: ``s3 sync SRC "$UNSET"`` is a usage
  error (status 2), never "the current directory".  Messages are one line:
  a line break or other control character in a key is shown escaped, as
  ``repr`` shows it (``\\n``), an undecodable byte of a local name as
  ``\\xNN``.  ``url --expire`` is at most seven days (S3's limit) and
  ``exists --retries`` at most :data:`MAX_EXISTS_RETRIES`.
- Terminals: progress bars are drawn (on stderr) when stderr is a terminal,
  or anywhere when ``-P/--progress`` asks for them.  Nothing ever prompts
  unless stdin is a terminal: ``rm -r`` without ``-f`` and with no terminal
  refuses (status 1) and deletes nothing.
- ``-v`` logs baiji, boto3, botocore and s3transfer at DEBUG on stderr
  through a filter that redacts secrets: the secret key and session token
  values the environment and the connection's credentials hold, and
  anything that looks like one (``aws_secret_access_key=``,
  ``X-Amz-Security-Token``, ``X-Amz-Signature``, ``Credential=``,
  ``Signature=``, ``Authorization:`` headers), and the password of an
  endpoint URL (``http://user:PASSWORD@host``).  Error messages and
  tracebacks go through the same filter.  The one thing printed on purpose
  that carries credentials is ``s3 url``'s presigned URL, which is its job.
- ``--json`` (``ls``, ``info``, ``buckets``, ``uploads``; the events of ``cp``, ``mv``, ``rm``,
  ``sync``, ``uploads --abort``): one JSON object per line, written
  by :meth:`Context.print_json` (see :func:`json_line`): sizes in bytes,
  times as :func:`format_time` writes them everywhere (``2026-11-29T14:00:00Z``,
  UTC), null for what is not known; every line is valid UTF-8 whatever a key
  or a local name holds.  Commands add it with the :data:`JSON` argument.
- Library warnings (``cp -s`` skipping an existing key, eventual
  consistency) are printed as ``s3: warning: MESSAGE`` lines on stderr.
- Start-up time counts (``s3`` is a one-shot command): modules that only some
  commands need (logging for ``-v``, json, datetime, urllib.parse for
  redaction) are imported where they are used, each import saying what it
  costs; ``tests/test_startup.py`` keeps them out of ``import baiji.cli``.
- ``main(argv, stdin, stdout, stderr)`` accepts other streams than the
  process's (the tests use in-memory ones); while a command runs,
  ``sys.stdin``/``sys.stdout``/``sys.stderr`` point at them too, so what the
  library prints or asks itself (``rm -r``'s ``[deleted]`` lines and
  prompts, progress bars) follows.
  Output is written as UTF-8 bytes whatever the locale, so every URL ``ls``
  prints can be fed back in.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Sequence

import baiji
from baiji import exceptions as exc
from baiji.report import ACTIONS, Event, human_size

PROG = "s3"

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM
EXIT_BROKEN_PIPE = 141

#: Default lifetime of ``s3 url``'s presigned URL, in seconds (one day).
DEFAULT_URL_TTL = 86400
#: The longest lifetime S3 accepts for a presigned URL (SigV4: seven days).
MAX_URL_TTL = 7 * 86400
#: Most extra lookups ``s3 exists --retries`` makes after a miss (each is one request;
#: S3 is strongly consistent, so more only make a missing key take longer to report).
MAX_EXISTS_RETRIES = 10

#: The loggers ``-v`` turns to DEBUG.
VERBOSE_LOGGERS = ("baiji", "boto3", "botocore", "s3transfer")

#: Errors that are the user's or the world's fault: one line, status 1.
EXPECTED_ERRORS = (exc.AWSError, exc.TransientError, ValueError, OSError, NotImplementedError)


class CommandError(Exception):
    """A failure the CLI itself detects (status 1, ``s3: error: MESSAGE``)."""


class UsageError(Exception):
    """Arguments argparse accepts but that make no sense together (status 2)."""


# --------------------------------------------------------------------------
# Streams


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class _TextToBytes:
    """A text view of a binary stream (what ``print`` gets when stdout is binary)."""

    encoding = "utf-8"
    errors = "surrogateescape"

    def __init__(self, binary):
        self._binary = binary

    def write(self, text: str) -> int:
        self._binary.write(_encode(text))
        return len(text)

    def flush(self) -> None:
        self._binary.flush()

    def isatty(self) -> bool:
        return _isatty(self._binary)


class _BytesToText:
    """A binary view of a text-only stream (``io.StringIO``)."""

    def __init__(self, text):
        self._text = text

    def write(self, data: bytes) -> int:
        self._text.write(bytes(data).decode("utf-8", "surrogateescape"))
        return len(data)

    def flush(self) -> None:
        self._text.flush()


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace")


class _ClosedStream:
    """stdout when the process started with descriptor 1 closed (``s3 cat KEY >&-``)."""

    def write(self, data) -> int:
        raise CommandError("standard output is closed")

    def flush(self) -> None:
        pass


class Output:
    """stdout, written as UTF-8 bytes; ``binary`` is where raw content goes."""

    def __init__(self, stream):
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:  # a text stream over bytes, like sys.stdout
            self.text, self.binary = stream, buffer
        elif isinstance(stream, io.TextIOBase):  # text only, like io.StringIO
            self.text, self.binary = stream, _BytesToText(stream)
        else:  # a binary stream
            self.text, self.binary = _TextToBytes(stream), stream
        self.interactive = _isatty(stream)
        self._flush_text()

    def _flush_text(self) -> None:
        if self.text is not self.binary and not isinstance(self.text, _TextToBytes):
            self.text.flush()

    def line(self, text: str = "") -> None:
        self.binary.write(_encode(text + "\n"))
        if self.interactive:
            self.binary.flush()

    def raw(self):
        """The binary stream, ready for the library to write content to."""
        self._flush_text()
        return self.binary

    def flush(self) -> None:
        self._flush_text()
        self.binary.flush()


def _binary_input(stdin):
    buffer = getattr(stdin, "buffer", None)
    if buffer is not None:
        return buffer
    if isinstance(stdin, io.TextIOBase):
        return io.BytesIO(_encode(stdin.read()))
    return stdin


@contextlib.contextmanager
def _text_stdin(stdin):
    """``stdin`` as sys.stdin: a text view of it when it is binary (for ``input()``)."""
    wrapper = None
    if not isinstance(stdin, io.TextIOBase) and getattr(stdin, "buffer", None) is None:
        with contextlib.suppress(Exception):
            wrapper = io.TextIOWrapper(stdin, encoding="utf-8", errors="surrogateescape")
    saved, sys.stdin = sys.stdin, wrapper or stdin
    try:
        yield
    finally:
        sys.stdin = saved
        if wrapper is not None:
            with contextlib.suppress(Exception):
                wrapper.detach()  # leave the caller's stream open


@contextlib.contextmanager
def _process_streams(stdin, out: Output, stderr):
    """Point sys.stdin/stdout/stderr at the streams main() was given, while it runs."""
    with contextlib.ExitStack() as stack:
        if stdin is not sys.stdin:
            stack.enter_context(_text_stdin(stdin))
        if out.text is not sys.stdout:
            stack.enter_context(contextlib.redirect_stdout(out.text))
        if stderr is not sys.stderr:
            stack.enter_context(contextlib.redirect_stderr(stderr))
        yield


# --------------------------------------------------------------------------
# Redaction of secrets in -v logs, error messages and tracebacks

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

def _debug(message: str, *args) -> None:
    """Log on the ``baiji.cli`` logger at DEBUG, if ``logging`` is in use at all.

    -v imports it (so may the program calling :func:`main`); when nothing has,
    no handler exists that could show the record, and importing it would only
    cost start-up time.
    """
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger(__name__).debug(message, *args)

@contextlib.contextmanager
def _debug_logging(stream, redactor: Redactor):
    import logging  # imported here: ~5 ms at start-up, only -v needs it

    handler = logging.StreamHandler(stream)
    handler.addFilter(_RedactingFilter(redactor, logging.Formatter()))
    handler.setFormatter(_RedactingFormatter(
        redactor, logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s")))
    saved = []
    for name in VERBOSE_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)

@contextlib.contextmanager
def _warnings_to(stderr, redactor: Redactor, verbose: bool):
    """Library warnings as ``s3: warning: MESSAGE`` lines, every time they happen."""

    def show(message, category, filename, lineno, file=None, line=None):
        kind = f"{category.__name__}: " if verbose else ""
        print_warning(stderr, kind + redactor(str(message)))

    with warnings.catch_warnings():
        warnings.filterwarnings("always", category=UserWarning)
        warnings.filterwarnings("always", category=exc.S3Warning)
        warnings.showwarning = show
        yield

# --------------------------------------------------------------------------
# Formatting

def format_time(when) -> str:
    """A datetime in UTC, ``2024-05-01T12:00:00Z`` (naive ones are taken as local time); None -> ``''``.

    The one format of times in every output: ``ls -l``, ``info``, and ``--json``.
    """
    if when is None:
        return ""
    from datetime import timezone  # imported here: ~1 ms at start-up, only ls -l needs it

    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

def _json_default(value: object) -> object:
    """What ``json`` cannot write itself: a datetime as :func:`format_time` writes it, the rest as ``str``."""
    from datetime import datetime  # imported here: ~1 ms at start-up, only info and --json need it

    return format_time(value) if isinstance(value, datetime) else str(value)

#: What ``json`` writes as is but a JSON line must not hold raw: DEL and the C1 controls (a
#: terminal obeys some), the line and paragraph separators (``str.splitlines`` and older
#: JavaScript break lines there), and lone surrogates (undecodable bytes of a local name).
_JSON_ESCAPED = "[\x7f-\x9f\u2028\u2029\ud800-\udfff]"

def json_line(value: object, sort_keys: bool = False) -> str:
    """``value`` as one line of JSON: times as :func:`format_time` writes them, None as null.

    Unicode is written as is (the line is UTF-8); control characters, DEL,
    U+2028/U+2029 and lone surrogates are escaped (``\\u001b``), so the line
    holds no break and nothing a terminal obeys.  An undecodable byte of a
    local name (a lone surrogate) becomes ``\\udcNN``: the line stays valid
    UTF-8, and Python's ``json.loads`` reads it back as the same ``str``
    (``os.fsencode`` gives the name's bytes).
    """
    import json  # imported here: ~1 ms at start-up, only --json and info's nested values need it

    text = json.dumps(value, ensure_ascii=False, sort_keys=sort_keys, default=_json_default)
    return re.sub(_JSON_ESCAPED, lambda match: f"\\u{ord(match.group()):04x}", text)

def format_value(value: object) -> str:
    """A value of ``info`` / ``buckets --info``: times as :func:`format_time`, structures as JSON."""
    if value is None:
        return ""
    from datetime import datetime  # imported here: ~1 ms at start-up, only info and --info print mappings

    if isinstance(value, datetime):  # as ls -l shows times
        return format_time(value)
    if isinstance(value, (dict, list, tuple)):
        return json_line(value, sort_keys=True)
    return str(value)

def print_warning(stderr, message: str) -> None:
    stderr.write(f"{PROG}: warning: {_one_line(message)}\n")

#: What must not reach a terminal raw: control characters and line breaks (a key may hold
#: them), and the surrogates that stand for a local name's undecodable bytes.
_UNPRINTABLE = "[\x00-\x1f\x7f-\x9f\u2028\u2029\udc80-\udcff]"

def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code - 0xdc00:02x}" if code >= 0xdc80 else repr(char)[1:-1]

def _one_line(text: str) -> str:
    """``text`` as one line: ``\\n``, ``\\r`` and the like shown escaped, as ``repr`` does,
    an undecodable byte of a file name as ``\\xNN``."""
    return re.sub(_UNPRINTABLE, lambda match: _escape(match.group()), text.strip())

# --------------------------------------------------------------------------
# Commands

# Context, Arg and Command are plain classes, not dataclasses: ``dataclasses`` costs
# ~4 ms to import (it imports ``inspect``) and each class ~0.4 ms to build.

class Context:
    """What a handler gets besides its arguments: the connection and the streams."""

    def __init__(self, args: argparse.Namespace, out: Output, stdin, stderr, redactor: Redactor):
        self.args, self.out, self.stdin, self.stderr, self.redactor = args, out, stdin, stderr, redactor
        self._conn = None

    @property
    def conn(self):
        """The S3Connection, made on first use (creating one does no I/O)."""
        if self._conn is None:
            from baiji.connection import S3Connection

            verify = False if self.args.no_verify_ssl else self.args.ca_bundle
            self._conn = S3Connection(profile=self.args.profile, region=self.args.region,
                                      endpoint_url=self.args.endpoint_url, sign=not self.args.no_sign_request,
                                      verify=verify)
            self.redactor.add_source(_connection_secrets(self._conn))
            if self.args.no_verify_ssl:  # aws warns too (urllib3's warning, on every request)
                self.stderr.write(f"{PROG}: warning: TLS certificates are not verified (--no-verify-ssl); "
                                  "anyone on the network path can read and change what is sent\n")
        return self._conn

    @property
    def stdin_binary(self):
        if self.stdin is None:  # the process was started with fd 0 closed
            raise CommandError("no standard input to read from")
        return _binary_input(self.stdin)

    @property
    def stdin_is_terminal(self) -> bool:
        return _isatty(self.stdin)

    def progress(self) -> bool:
        """Progress bars: when asked (-P), else when stderr is a terminal."""
        return bool(getattr(self.args, "progress", False)) or _isatty(self.stderr)

    def print(self, text: str = "") -> None:
        self.out.line(text)

    def print_mapping(self, mapping: dict) -> None:
        for name in sorted(mapping):
            self.print(f"{name}: {format_value(mapping[name])}".rstrip())

    def print_json(self, value: object) -> None:
        """One line of JSON on stdout (see :func:`json_line`): what ``--json`` prints, one object per line."""
        self.print(json_line(value))

    def warn(self, message: str) -> None:
        print_warning(self.stderr, message)

def _given(**kwargs) -> dict:
    """The options the user set: drops ``None`` and ``False`` so library defaults apply."""
    return {name: value for name, value in kwargs.items() if value is not None and value is not False}

def _cp_options(a: argparse.Namespace) -> dict:
    """The library keywords of cp/mv's write options (only those given)."""
    options = _given(force=a.force, skip=getattr(a, "skip", None), policy=getattr(a, "policy", None),
                     preserve_acl=getattr(a, "preserve_acl", None), gzip=a.gzip,
                     encoding=getattr(a, "encoding", None))
    if a.no_encrypt:
        options["encrypt"] = False
    return options

def _filters(a: argparse.Namespace) -> dict:
    """The library keywords of --exclude/--include (only those given); patterns it refuses: a usage error."""
    from baiji.filters import Selector  # imported here: only filters need it

    try:
        Selector(a.exclude, a.include)
    except ValueError as err:
        raise UsageError(str(err)) from err
    return _given(exclude=a.exclude, include=a.include)

def _refuse_flags(a: argparse.Namespace, flags: Sequence[str], why: str) -> None:
    """UsageError naming those of ``flags`` (argparse option strings) that were given."""
    values = {flag: getattr(a, flag.lstrip("-").replace("-", "_")) for flag in flags}
    given = [flag for flag, value in values.items() if value is not None and value is not False and value != []]
    if given:
        raise UsageError(f"{', '.join(given)}: {why}")

def _print_buckets(ctx: Context, as_url: bool) -> None:
    """The buckets: one name (``s3://NAME`` if ``as_url``) per line; with --json
    ``{"name", "uri", "creation_date"}`` objects."""
    if ctx.args.json:
        for bucket in ctx.conn.list_buckets(detail=True):
            ctx.print_json({"name": bucket["name"], "uri": f"s3://{bucket['name']}",
                            "creation_date": bucket["creation_date"]})
        return
    for name in ctx.conn.list_buckets():
        ctx.print(f"s3://{name}" if as_url else name)

def _ls_json(entry: dict, a) -> dict:
    """An ``ls --json`` object: what the listing tells, ``encrypted`` with -l (a HEAD per key),
    the version fields with --list-versions."""
    fields = ["uri", "size", "last_modified"]
    fields += ["encrypted"] if a.detail else []
    fields += ["version_id", "is_latest", "delete_marker"] if a.list_versions else []
    return {name: entry.get(name) for name in fields}

def cmd_ls(ctx: Context, a) -> int:
    if not (a.detail or a.list_versions or a.json):
        _refuse_flags(a, ("--bytes",), "exact sizes in the -l layout: needs -l or --list-versions")
    if a.key in (None, "s3://"):  # as `aws s3 ls` does
        _refuse_flags(a, ("--exclude", "--include"), "filters select keys under a prefix: needs KEY")
        _print_buckets(ctx, as_url=True)
        return EXIT_OK
    if a.uri:
        ctx.warn("-B/--uri is deprecated and does nothing: ls always prints full URLs")
    if a.json:
        for entry in ctx.conn.ls_info(a.key, shallow=a.shallow, list_versions=a.list_versions,
                                      encryption=a.detail, **_filters(a)):
            ctx.print_json(_ls_json(entry, a))
        return EXIT_OK
    if not (a.detail or a.list_versions):
        for url in ctx.conn.ls(a.key, return_full_urls=True, shallow=a.shallow, **_filters(a)):
            ctx.print(url)
        return EXIT_OK
    for entry in ctx.conn.ls_info(a.key, shallow=a.shallow, list_versions=a.list_versions, **_filters(a)):
        size = entry.get("size")
        columns = [
            ("" if size is None else str(size)) if a.bytes else human_size(size),
            format_time(entry.get("last_modified")),
            "enc" if entry.get("encrypted") else "",
            entry["uri"],
        ]
        if a.list_versions:
            flags = [name for name, on in (("latest", entry.get("is_latest")),
                                           ("delete-marker", entry.get("delete_marker"))) if on]
            columns += [entry.get("version_id") or "", ",".join(flags)]
        ctx.print("\t".join(columns))
    return EXIT_OK

def cmd_info(ctx: Context, a) -> int:
    details = ctx.conn.info(a.key)
    if a.json:
        ctx.print_json(details)
    else:
        ctx.print_mapping(details)
    return EXIT_OK

def cmd_cat(ctx: Context, a) -> int:
    ctx.conn.download_fileobj(a.key, ctx.out.raw())
    return EXIT_OK

def cmd_cp(ctx: Context, a) -> int:
    if a.src == "-" and a.dst == "-":
        raise UsageError("SRC and DST cannot both be - (stdin/stdout)")
    if not (a.recursive or a.recursive_parallel):
        _refuse_flags(a, ("--workers",), "copies of a tree run several at a time: needs -r or -R")
        _refuse_flags(a, ("--dry-run",), "a dry run plans the copies of a tree: needs -r or -R")
        _refuse_flags(a, ("--exclude", "--include"), "filters select files of a tree: needs -r or -R")
    if a.src == "-":
        _refuse_flags(a, ("--recursive", "--recursive-parallel", "--preserve-acl", "--version-id"),
                      "not possible when reading stdin")
        ctx.conn.upload_fileobj(ctx.stdin_binary, a.dst, **_cp_options(a))
        if a.json:  # the size stored (one HEAD or stat, only for --json): stdin's length is not known before
            ctx.print_json(_event_object(Event("copy", "-", a.dst, size=ctx.conn.size(a.dst))))
    elif a.dst == "-":
        _refuse_flags(a, ("--recursive", "--recursive-parallel", "--skip", "--preserve-acl", "--no-encrypt",
                          "--gzip", "--policy", "--encoding", "--json"), "not possible when writing to stdout")
        ctx.conn.download_fileobj(a.src, ctx.out.raw(), **_given(version_id=a.version_id))
    elif a.recursive or a.recursive_parallel:
        _refuse_flags(a, ("--version-id",), "selects one key: not possible with -r/-R")
        _bulk(ctx, a, ctx.conn.cp_r, a.src, a.dst, parallel=a.recursive_parallel, **_given(
            progress=ctx.progress(), workers=a.workers, dry_run=a.dry_run), **_filters(a), **_cp_options(a))
    else:
        copied = ctx.conn.cp(a.src, a.dst, **_given(progress=ctx.progress(), version_id=a.version_id),
                             **_cp_options(a))
        if a.json:  # the size copied: the source's (a stat, or a HEAD, only for --json)
            ctx.print_json(_event_object(
                Event("copy", a.src, a.dst, size=ctx.conn.size(a.src, **_given(version_id=a.version_id)))
                if copied else Event("skip", a.src, a.dst, "already exists")))
    return EXIT_OK

def cmd_mv(ctx: Context, a) -> int:
    _print_planned(ctx, a, ctx.conn.mv(a.src, a.dst, **_given(progress=ctx.progress(), dry_run=a.dry_run),
                                       **_cp_options(a)))
    return EXIT_OK

def _event_object(event, dry_run: bool = False) -> dict:
    """An event as ``--json`` prints it: every field, ``null`` where there is none."""
    return {"action": event.action, "src": event.src, "dst": event.dst, "size": event.size,
            "reason": event.reason or None, **({"dry_run": True} if dry_run else {})}

def _described(event) -> str:
    """``SRC -> DST``, or the one path there is, then ``: REASON`` if there is one."""
    what = " -> ".join(p for p in (event.src, event.dst) if p)
    return what + (f": {event.reason}" if event.reason else "")

def _event_line(event) -> str:
    """``[copied] SRC -> DST``, ``[deleted] URL``, ``[failed] SRC -> DST: REASON``..."""
    return _one_line(f"[{event.past}] {_described(event)}")

def _print_planned(ctx: Context, a, planned) -> None:
    """A dry run's plan, one line (or ``--json`` object) per step; nothing when the command ran for real."""
    for step in planned or ():
        if getattr(a, "json", False):
            ctx.print_json(_event_object(step, dry_run=True))
            continue
        ctx.print(_one_line(f"(dry run) {step.action} {_described(step)}"))
    refused = sum(step.action == "refuse" for step in planned or ())
    if refused:  # the real run would fail (status 1): so does its dry run, for `s3 sync -n ... && s3 sync ...`
        raise CommandError(f"dry run: {refused} of {len(planned)} steps refused; the real run would fail")

def _bulk(ctx: Context, a, operation, *args, always: tuple[str, ...] = (), summary: bool = False,
          **kwargs) -> None:
    """Run a bulk operation (cp_r, sync, rm_r, abort_uploads) with the command's output: per file
    a ``--json`` object, or with ``-v`` a line (``always`` for those actions); a dry run's plan;
    at the end, when stderr is a terminal or with ``-v`` (or ``summary``), the summary."""
    shown = set(ACTIONS if ctx.args.verbose else always)

    def on_event(event) -> None:
        if a.json:
            ctx.print_json(_event_object(event))
        elif event.action in shown:
            ctx.print(_event_line(event))
    from baiji.connection import BulkCopyError  # loaded already: the operation is the connection's

    try:
        result = operation(*args, on_event=on_event, **kwargs)
    except BulkCopyError as err:
        _print_summary(ctx, err.report, summary)
        raise
    if isinstance(result, list):
        _print_planned(ctx, a, result)
    else:
        _print_summary(ctx, result, summary)

def _print_summary(ctx: Context, report, always: bool = False) -> None:
    if report is not None and (always or ctx.args.verbose or _isatty(ctx.stderr)):
        ctx.out.flush()
        ctx.stderr.write(f"{PROG}: {report.summary()}\n")

def cmd_rm(ctx: Context, a) -> int:
    if not a.recursive:
        _refuse_flags(a, ("--max-delete", "--dry-run", "--exclude", "--include"),
                      "for a recursive removal: needs -r")
        ctx.conn.rm(a.key, **_given(version_id=a.version_id))
        if a.json:
            ctx.print_json(_event_object(Event("delete", None, a.key)))
        return EXIT_OK
    _refuse_flags(a, ("--version-id",), "selects one key: not possible with -r")
    if not a.force and not a.dry_run and not ctx.stdin_is_terminal:
        raise CommandError(f"refusing to remove {a.key} recursively: stdin is not a terminal "
                           "to confirm each key (use -f/--force to delete without asking)")
    _bulk(ctx, a, ctx.conn.rm_r, a.key, force=a.force, quiet=True, always=("delete",),
          **_given(max_delete=a.max_delete, dry_run=a.dry_run), **_filters(a))
    return EXIT_OK

def cmd_sync(ctx: Context, a) -> int:
    options = _given(progress=ctx.progress(), policy=a.policy, encoding=a.encoding,
                     guess_content_type=a.guess_content_type, do_not_delete=a.do_not_delete or None,
                     max_delete=a.max_delete, workers=a.workers, dry_run=a.dry_run, **_filters(a))
    if a.no_encrypt:
        options["encrypt"] = False
    _bulk(ctx, a, ctx.conn.sync, a.src, a.dst, **options)
    return EXIT_OK

def cmd_touch(ctx: Context, a) -> int:
    ctx.conn.touch(a.key)
    return EXIT_OK

def cmd_exists(ctx: Context, a) -> int:
    found = ctx.conn.exists(a.key, **_given(retries_allowed=a.retries, version_id=a.version_id))
    return EXIT_OK if found else EXIT_FAILURE

def cmd_url(ctx: Context, a) -> int:
    ctx.print(ctx.conn.get_url(a.key, a.expire))
    return EXIT_OK

def cmd_md5(ctx: Context, a) -> int:
    ctx.print(ctx.conn.md5(a.key))
    return EXIT_OK

def cmd_etag(ctx: Context, a) -> int:
    if a.fix:
        old, new = ctx.conn.fix_etag(a.key)
        ctx.print(f"etag updated from {old} to {new}" if new != old else f"etag unchanged: {old}")
    else:
        ctx.print(ctx.conn.etag(a.key))
    return EXIT_OK

def cmd_is(ctx: Context, a) -> int:
    if ctx.conn.same_content(a.key, a.other):
        ctx.print("files match")
        return EXIT_OK
    ctx.print("files DO NOT match")
    return EXIT_FAILURE

#: The value of ``--create``/``--delete``/``--info`` given without NAME right after it
#: (``buckets --delete -f NAME``): the NAME is the positional argument.
_NAME_AFTER = True
_BUCKET_ACTIONS = ("create", "delete", "info")

def _bucket_name(a) -> None:
    """Set the NAME given apart (``buckets --delete -f NAME``) on its option; UsageError when
    it is missing, given twice, or given without --create, --delete or --info."""
    action = next((name for name in _BUCKET_ACTIONS if getattr(a, name) is not None), None)
    if action is None and a.name:
        raise UsageError(f"{a.name}: a bucket NAME needs --create, --delete or --info")
    if action is not None and getattr(a, action) is _NAME_AFTER:
        if not a.name:
            raise UsageError(f"--{action}: expected a bucket NAME")
        setattr(a, action, a.name)
    elif a.name:
        raise UsageError(f"--{action} {getattr(a, action)}: one bucket NAME only, not also {a.name}")
    a.name = None

def cmd_buckets(ctx: Context, a) -> int:
    _bucket_name(a)
    if not a.create:
        _refuse_flags(a, ("--no-versioning",), "for a bucket being created: needs --create")
    if not a.delete:
        _refuse_flags(a, ("--force",), "empties a bucket being deleted: needs --delete")
    if a.create or a.delete:
        _refuse_flags(a, ("--json",), "formats the list of buckets or --info: not --create or --delete")
    if a.create:
        ctx.conn.create_bucket(a.create, versioned=not a.no_versioning)
    elif a.delete:
        _delete_bucket(ctx, a.delete, a.force)
    elif a.info:
        info = ctx.conn.bucket_info(a.info)
        if a.json:
            ctx.print_json(info)
        else:
            ctx.print_mapping(info)
    else:
        _print_buckets(ctx, as_url=False)
    return EXIT_OK

def _delete_bucket(ctx: Context, name: str, force: bool) -> None:
    """``buckets --delete``: without -f, a bucket holding keys is refused, or, when stdin is a
    terminal, the user is asked once whether to delete them all first."""
    from baiji.buckets import bucket_url
    from baiji.exceptions import BucketNotEmpty
    from baiji.removal import confirm  # the prompt of rm -r

    url = bucket_url(name)  # the library's reading of NAME (s3://NAME, ValueError for a key)
    try:
        deleted = ctx.conn.delete_bucket(name, force=force)
    except BucketNotEmpty as refusal:
        if force or refusal.held is None or not ctx.stdin_is_terminal:
            raise
        if not confirm(f"{url} holds {refusal.held} keys/versions: delete them all, then the bucket? [y/N] "):
            return
        deleted = ctx.conn.delete_bucket(name, force=True)
    ctx.print(f"[deleted] {url}" + (f" (and the {deleted} keys/versions it held)" if deleted else ""))

def cmd_restore(ctx: Context, a) -> int:
    for url in ctx.conn.restore_r(a.prefix):
        ctx.print(f"[restored] {url}")
    return EXIT_OK

def cmd_uploads(ctx: Context, a) -> int:
    if a.abort:
        _refuse_flags(a, ("--bytes",), "sizes are listed, not aborted: not with --abort")
        _bulk(ctx, a, ctx.conn.abort_uploads, a.prefix, always=("abort", "fail"), summary=True,
              **_given(older_than=a.older_than))
        return EXIT_OK
    for upload in ctx.conn.uploads(a.prefix, **_given(older_than=a.older_than)):
        if a.json:
            ctx.print_json(upload)
            continue
        size = str(upload["size"]) if a.bytes else human_size(upload["size"])
        ctx.print("\t".join([size, format_time(upload["initiated"]), str(upload["parts"]), upload["uri"],
                             upload["upload_id"]]))
    return EXIT_OK

def cmd_version(ctx: Context, a) -> int:
    ctx.print(baiji.__version__)
    return EXIT_OK

def _int_between(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high``."""

    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high:,}: {text}")
        return value

    return parse

#: The units of ``--older-than`` (seconds each).
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

def _duration(text: str) -> float:
    """An argparse type: an age such as ``90s``, ``30m``, ``12h``, ``1d``, ``2w`` (plain: seconds)."""
    found = re.fullmatch(r"(\d+(?:\.\d*)?)\s*([smhdw]?)", text.strip().lower())
    if not found:
        raise argparse.ArgumentTypeError(f"not an age like 30m, 12h, 1d or 2w: {text}")
    return float(found.group(1)) * _DURATION_UNITS[found.group(2) or "s"]

def _path(text: str) -> str:
    """An argparse type for path arguments: never empty (an unset variable must not mean "here")."""
    if not text:
        raise argparse.ArgumentTypeError("must not be empty (an unset variable?): an empty path "
                                         "would mean the current directory; name it, e.g. '.'")
    return text

class Arg:
    """One argparse argument: ``add_argument(*flags, **options)``."""

    def __init__(self, flags: tuple[str, ...], options: dict):
        self.flags, self.options = flags, options

def arg(*flags: str, **options) -> Arg:
    return Arg(flags, options)

class Command:
    """One subcommand: how it parses, what it calls, how its failures read.

    - ``paths``: the arguments that name paths: a failure message naming none of them
      is prefixed with them.
    - ``hints``: extra advice appended to the message of these exception classes (the first
      class that matches gives it; None: none).
    - ``rewords``: the library's advice in its messages, reworded for the command line:
      ``{"use cp_r": "use -r"}``.
    - ``exclusive``: groups of mutually exclusive options, each named by its options' first flags.
    """

    def __init__(self, name: str, help: str, args: tuple[Arg, ...],
                 handler: Callable[[Context, argparse.Namespace], int], paths: tuple[str, ...] = (),
                 hints: dict | None = None, rewords: dict | None = None,
                 exclusive: tuple[tuple[str, ...], ...] = ()):
        self.name, self.help, self.args, self.handler = name, help, args, handler
        self.paths, self.exclusive = paths, exclusive
        self.hints, self.rewords = hints or {}, rewords or {}

    def __repr__(self) -> str:
        return f"Command({self.name!r})"

KEY = arg("key", metavar="KEY", help="an s3://bucket/key URL or a local path")
FORCE = arg("-f", "--force", action="store_true", help="overwrite an existing destination")
PROGRESS = arg("-P", "--progress", action="store_true",
               help="show progress bars even when stderr is not a terminal (on a terminal they are shown anyway)")
NO_ENCRYPT = arg("--no-encrypt", action="store_true",
                 help="do not ask S3 for server-side encryption (AES256) of what is written")
GZIP = arg("-z", "--gzip", action="store_true",
           help="upload gzip-compressed with Content-Encoding: gzip (local -> s3 only)")
POLICY = arg("--policy", metavar="ACL", help="canned ACL of what is written (private, public-read, ...)")
ENCODING = arg("--encoding", metavar="ENCODING", help="Content-Encoding of what is written")
VERSION_ID = arg("--version-id", metavar="ID", help="a version of the key (versioned buckets)")
WORKERS = arg("--workers", type=_int_between(0, 1024), metavar="N",
              help="copies in flight at a time (per worker process with -R); 0: the default, 32")
DRY_RUN = arg("-n", "--dry-run", action="store_true",
              help="change nothing: print what would be copied, skipped, deleted or refused")
JSON = arg("--json", action="store_true",
           help="one JSON object per line: sizes in bytes, times in UTC like 2026-11-29T14:00:00Z, "
                "null where unknown")
EXCLUDE = arg("--exclude", action="append", metavar="PATTERN",
              help="leave out the paths matching this glob (repeatable), relative to SRC and DST "
                   "(rm -r: to KEY itself; ls: to KEY up to its last /); '*' matches '/' too; a trailing / matches a "
                   "directory and all under it. Excludes win; sync never deletes a path left out")
INCLUDE = arg("--include", action="append", metavar="PATTERN",
              help="only the paths matching one of these globs (repeatable), unless excluded: "
                   "--include '*.txt' alone selects the .txt files")
MAX_DELETE = arg("--max-delete", type=_int_between(0, 10 ** 12), metavar="N",
                 help="delete nothing (and fail) when more than N files would be deleted")

COMMANDS: tuple[Command, ...] = (
    Command("ls", "list keys or files under a prefix, one full URL per line", (
        arg("key", metavar="KEY", nargs="?",
            help="a prefix: s3://bucket/prefix or a local directory; none (or s3://): the buckets, "
                 "as s3://NAME lines"),
        arg("-l", "--detail", action="store_true",
            help="tab separated: size, last modified (UTC), 'enc' if encrypted (a HEAD request per key), URL"),
        arg("--bytes", action="store_true", help="with -l: sizes in bytes, not 1.5 KiB"),
        arg("-s", "--shallow", action="store_true", help="list one level only; sub-prefixes end in /"),
        arg("--list-versions", action="store_true",
            help="every version and delete marker, in the -l layout plus two columns: version id and "
                 "flags (latest, delete-marker)"),
        arg("-B", "--uri", action="store_true", help="deprecated, does nothing: URLs are always printed"),
        arg("--json", action="store_true",
            help="one JSON object per line: uri, size (bytes, null for a sub-prefix), last_modified (UTC); "
                 "from the listing alone, no request per key; with -l also encrypted (a HEAD per key); "
                 "with --list-versions also version_id, is_latest, delete_marker"),
        EXCLUDE, INCLUDE,
    ), cmd_ls, paths=("key",)),
    Command("info", "print a key's details as sorted 'name: value' lines", (KEY, JSON), cmd_info,
            paths=("key",)),
    Command("cat", "write a key's content to stdout, byte for byte", (KEY,), cmd_cat, paths=("key",)),
    Command("cp", "copy between S3 and local paths in any direction", (
        arg("src", metavar="SRC", help="source key, local path, or - for stdin"),
        arg("dst", metavar="DST", help="destination key, local path, or - for stdout; "
                                       "one ending in / gets SRC's basename"),
        FORCE,
        arg("-s", "--skip", action="store_true", help="skip (with a warning) a destination that exists"),
        PROGRESS,
        arg("-r", "--recursive", action="store_true",
            help="copy a directory or prefix, key by key, like cp -r and rsync: 'cp -r site s3://b/www/' "
                 "makes s3://b/www/site/...; 'cp -r site/ s3://b/www/' copies what site/ holds into www/"),
        arg("-R", "--recursive-parallel", action="store_true",
            help="like -r, many keys at a time in worker processes"),
        arg("--preserve-acl", action="store_true", help="keep the source's ACL (s3 -> s3 only)"),
        NO_ENCRYPT, GZIP, POLICY, ENCODING, VERSION_ID, WORKERS, DRY_RUN, JSON, EXCLUDE, INCLUDE,
    ), cmd_cp, paths=("src", "dst"), exclusive=(("-r", "-R"), ("-f", "-s")),
        hints={exc.SameFile: None, exc.KeyExists: "use -f/--force to overwrite, or -s/--skip to skip it"},
        rewords={"use cp_r to": "use -r to"}),
    Command("mv", "move: copy, then remove the source", (
        arg("src", metavar="SRC", help="source key or local path"),
        arg("dst", metavar="DST", help="destination key or local path"),
        FORCE, PROGRESS, GZIP, NO_ENCRYPT, DRY_RUN,
    ), cmd_mv, paths=("src", "dst"), hints={exc.SameFile: None, exc.KeyExists: "use -f/--force to overwrite"},
        rewords={"use cp_r to copy directories": "mv moves files (use cp -r, then rm -r)"}),
    Command("rm", "remove a key or local file", (
        KEY,
        arg("-r", "--recursive", action="store_true",
            help="remove everything under the prefix, printing '[deleted] URL' lines; "
                 "asks for each key unless -f (and refuses without -f when stdin is not a terminal)"),
        arg("-f", "--force", action="store_true", help="with -r: delete without asking"),
        VERSION_ID, MAX_DELETE, DRY_RUN, JSON, EXCLUDE, INCLUDE,
    ), cmd_rm, paths=("key",), rewords={"use rm_r to": "use -r to"}),
    Command("sync", "make DST mirror SRC: copy new and changed files, remove the ones SRC lacks", (
        arg("src", metavar="SRC", help="source directory or prefix"),
        arg("dst", metavar="DST", help="destination directory or prefix"),
        PROGRESS,
        arg("-g", "--guess-content-type", action="store_true", help="guess Content-Type from the file names"),
        POLICY, ENCODING,
        arg("-D", "--do-not-delete", action="append", metavar="PREFIX",
            help="never remove files under this prefix of DST (repeatable)"),
        NO_ENCRYPT, MAX_DELETE, WORKERS, DRY_RUN, JSON, EXCLUDE, INCLUDE,
    ), cmd_sync, paths=("src", "dst")),
    Command("touch", "create an empty key or file if it does not exist (never truncates)", (KEY,),
            cmd_touch, paths=("key",)),
    Command("exists", "exit 0 if the key exists, 1 if not (prints nothing)", (
        KEY,
        arg("--retries", type=_int_between(0, MAX_EXISTS_RETRIES), metavar="N",
            help=f"extra lookups after a miss, at most {MAX_EXISTS_RETRIES} (default: the library's, 1)"),
        VERSION_ID,
    ), cmd_exists, paths=("key",)),
    Command("url", "print a presigned GET URL", (
        KEY,
        arg("--expire", type=_int_between(1, MAX_URL_TTL), default=DEFAULT_URL_TTL, metavar="SECONDS",
            help=f"seconds the URL stays valid (default {DEFAULT_URL_TTL}; "
                 f"at most {MAX_URL_TTL}, S3's limit: seven days)"),
    ), cmd_url, paths=("key",)),
    Command("md5", "print the MD5 of the content", (KEY,), cmd_md5, paths=("key",)),
    Command("etag", "print the ETag (for a local file: the one its upload would get)", (
        KEY,
        arg("--fix", action="store_true",
            help="rewrite a multipart object in place so its ETag is the plain MD5"),
    ), cmd_etag, paths=("key",)),
    Command("is", "compare two keys or files: prints 'files match' (exit 0) or 'files DO NOT match' (exit 1)", (
        KEY,
        arg("other", metavar="OTHER", help="the key or local path to compare with"),
    ), cmd_is, paths=("key", "other")),
    Command("buckets", "list bucket names, create, delete or describe one", (
        arg("name", metavar="NAME", nargs="?",
            help="the bucket of --create, --delete or --info, when not right after it "
                 "(s3 buckets --delete -f NAME)"),
        arg("--create", metavar="NAME", nargs="?", const=_NAME_AFTER,
            help="create this bucket (versioned unless --no-versioning)"),
        arg("--no-versioning", action="store_true", help="with --create: leave versioning off"),
        arg("--delete", metavar="NAME", nargs="?", const=_NAME_AFTER,
            help="delete this bucket; one holding keys is refused unless -f, or unless you answer y "
                 "when asked (on a terminal only)"),
        arg("-f", "--force", action="store_true",
            help="with --delete: first delete every key, version and delete marker in it, without asking"),
        arg("--info", metavar="NAME", nargs="?", const=_NAME_AFTER,
            help="print the bucket's settings as 'name: value' lines"),
        JSON,
    ), cmd_buckets, paths=("create", "delete", "info", "name"), exclusive=(("--create", "--delete", "--info"),),
        rewords={"force deletes them first": "use -f/--force to delete them first"}),
    Command("restore", "undelete every deleted key under an S3 prefix (versioned buckets)", (
        arg("prefix", metavar="PREFIX", help="s3://bucket/prefix"),
    ), cmd_restore, paths=("prefix",)),
    Command("uploads", "list the unfinished multipart uploads under an S3 prefix, or abort them", (
        arg("prefix", metavar="PREFIX", help="s3://bucket or s3://bucket/prefix (a plain string prefix, as for ls)"),
        arg("--abort", action="store_true",
            help="abort them (rclone's cleanup): an '[aborted] URL: upload ID' line each, then a summary "
                 "line; exit 1 if any abort failed"),
        arg("--older-than", type=_duration, metavar="AGE",
            help="only the uploads initiated longer ago than AGE: 90s, 30m, 12h, 1d, 2w"),
        arg("--bytes", action="store_true", help="sizes in bytes, not 1.5 KiB"),
        arg("--json", action="store_true",
            help="one JSON object per upload: uri, upload_id, initiated (UTC), parts, size (bytes); "
                 "with --abort, one per abort as cp and rm print them"),
    ), cmd_uploads, paths=("prefix",)),
    Command("version", "print baiji's version", (), cmd_version),
)

COMMANDS_BY_NAME = {command.name: command for command in COMMANDS}

def _global_options(parser: argparse.ArgumentParser, default) -> None:
    """The options every command takes, before or after its name (``s3 cp a b -v``)."""
    parser.add_argument("--endpoint-url", metavar="URL", default=default,
                        help="S3-compatible endpoint (default: AWS_ENDPOINT_URL(_S3), else AWS)")
    parser.add_argument("--profile", metavar="NAME", default=default,
                        help="profile of ~/.aws/config and ~/.aws/credentials")
    parser.add_argument("--region", metavar="NAME", default=default,
                        help="AWS region (default: the configured one, else us-east-1)")
    parser.add_argument("--no-sign-request", action="store_true", default=default or False,
                        help="send requests unsigned, without credentials (public buckets), as aws does")
    parser.add_argument("--no-verify-ssl", action="store_true", default=default or False,
                        help="do not verify TLS certificates (a warning says so), as aws does")
    parser.add_argument("--ca-bundle", metavar="PEM", default=default,
                        help="trust this CA bundle instead of the default ones (default: AWS_CA_BUNDLE, "
                             "the profile's ca_bundle)")
    parser.add_argument("-v", "--verbose", action="store_true", default=default or False,
                        help="debug logs of baiji and botocore on stderr (secrets redacted), tracebacks on errors")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="S3 keys and local paths, interchangeable. "
                               "Every KEY may be an s3://bucket/key URL or a local path.")
    _global_options(parser, None)
    # after the command name too; SUPPRESS: one not given there keeps the value given before it
    after = argparse.ArgumentParser(add_help=False)
    _global_options(after, argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"%(prog)s {baiji.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help,
                                    parents=[after])
        groups = {flag: group for group, flags in
                  ((sub.add_mutually_exclusive_group(), flags) for flags in command.exclusive)
                  for flag in flags}
        for a in command.args:
            dest = a.flags[-1].lstrip("-").replace("-", "_")
            options = {"type": _path, **a.options} if dest in command.paths else a.options
            groups.get(a.flags[0], sub).add_argument(*a.flags, **options)
        sub.set_defaults(_command=command, _parser=sub)
    return parser

# --------------------------------------------------------------------------
# main

def _failure_message(error: BaseException, command: Command, args, redactor: Redactor) -> str:
    """One line naming the path(s): the error's own message (its advice reworded for the
    command line), prefixed with the command's path arguments when it names none of
    them, plus the command's hint."""
    message = str(error).strip() or type(error).__name__
    for library, cli in command.rewords.items():
        message = message.replace(library, cli)
    paths = [value for value in (getattr(args, name, None) for name in command.paths) if value]
    if paths and not any(path in message for path in paths):
        message = f"{' -> '.join(paths)}: {message}"
    hint = next((hint for kind, hint in command.hints.items() if isinstance(error, kind)), None)
    if hint:
        message = f"{message} ({hint})"
    return _one_line(redactor(message))

def _is_botocore_error(error: BaseException) -> bool:
    # botocore's exceptions should never get past the library; if one does, it is still
    # an S3 failure to report in one line, not an internal error.
    return type(error).__module__.startswith(("botocore", "boto3", "s3transfer"))

def _quiet_broken_pipe(out: Output) -> None:
    """stdout is gone: point its descriptor at /dev/null so the interpreter's final
    flush is silent too (the recipe of the ``signal`` module's documentation)."""
    try:
        fd = out.binary.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)

class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every cleanup path of the library runs."""

@contextlib.contextmanager
def _sigterm_raises():
    """While a command runs in the main thread, SIGTERM raises :class:`Terminated`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

def main(argv: Sequence[str] | None = None, stdin=None, stdout=None, stderr=None) -> int:
    """Run the ``s3`` command; returns the exit status (see the module docstring)."""
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    out = Output(_ClosedStream() if stdout is None else stdout)
    redactor = Redactor()
    parser = build_parser()
    with _process_streams(stdin, out, stderr):
        try:
            args = parser.parse_args(argv)
        except SystemExit as done:  # -h, --version, usage errors
            try:
                out.flush()
            except BrokenPipeError:
                _quiet_broken_pipe(out)
            return EXIT_OK if done.code is None else int(done.code)
        command = args._command
        ctx = Context(args=args, out=out, stdin=stdin, stderr=stderr, redactor=redactor)
        with contextlib.ExitStack() as stack:
            if args.verbose:
                stack.enter_context(_debug_logging(stderr, redactor))
            stack.enter_context(_warnings_to(stderr, redactor, args.verbose))
            stack.enter_context(_sigterm_raises())
            return _run(command, ctx)

def _run(command: Command, ctx: Context) -> int:
    args, out, stderr, redactor = ctx.args, ctx.out, ctx.stderr, ctx.redactor

    def fail(error: BaseException, message: str) -> int:
        with contextlib.suppress(Exception):
            out.flush()
        stderr.write(f"{PROG}: error: {message}\n")
        if args.verbose:
            import traceback  # imported here: only -v prints tracebacks

            text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            stderr.write(redactor(text))
        return EXIT_FAILURE

    try:
        _debug("running s3 %s", command.name)
        status = command.handler(ctx, args)
        out.flush()
        return status
    except UsageError as error:
        try:
            args._parser.error(str(error))
        except SystemExit as done:
            return int(done.code)
        return EXIT_USAGE
    except Terminated:
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_broken_pipe(out)
        return EXIT_BROKEN_PIPE
    except (CommandError, *EXPECTED_ERRORS) as error:
        return fail(error, _failure_message(error, command, args, redactor))
    except Exception as error:
        message = _failure_message(error, command, args, redactor)
        if not _is_botocore_error(error):
            hint = "" if args.verbose else " (run with -v for the traceback)"
            message = f"internal error: {type(error).__name__}: {message}{hint}"
        return fail(error, message)
