"""What the ``s3`` command writes, and through what: the streams and the formats.

- Streams: :class:`Output` is stdout written as UTF-8 bytes whatever the
  locale (so every URL ``ls`` prints can be fed back in), over a text, a
  binary or a text-only stream; :func:`_process_streams` points
  ``sys.stdin``/``sys.stdout``/``sys.stderr`` at the streams ``main()`` was
  given while a command runs, so what the library prints or asks itself
  (``rm -r``'s ``[deleted]`` lines and prompts, progress bars) follows.
- Formats: :func:`format_time` writes every time (``2026-11-29T14:00:00Z``,
  UTC); :func:`json_line` is one ``--json`` line (sizes in bytes, null for
  what is not known, valid UTF-8 whatever a key or a local name holds);
  :func:`_one_line` keeps a message on one line (a line break or other
  control character in a key shown escaped, as ``repr`` shows it, ``\\n``,
  an undecodable byte of a local name as ``\\xNN``); :func:`print_warning`
  writes ``s3: warning: MESSAGE``.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys

PROG = "s3"

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

def described(event) -> str:
    """``SRC -> DST``, or the one path there is, then ``: REASON`` if there is one."""
    what = " -> ".join(p for p in (event.src, event.dst) if p)
    return what + (f": {event.reason}" if event.reason else "")

def event_line(event) -> str:
    """``[copied] SRC -> DST``, ``[deleted] URL``, ``[failed] SRC -> DST: REASON``,
    ``[resumed] SRC -> DST (73% already there)``..."""
    if event.action == "resume":
        return _one_line(f"[resumed] {event.src} -> {event.dst} ({event.reason})")
    return _one_line(f"[{event.past}] {described(event)}")

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
