"""What a command's handler gets and gives back.

A handler is ``handler(ctx, args) -> status``: :class:`Context` holds the
connection (made on first use) and the streams; the handler returns
:data:`EXIT_OK` or :data:`EXIT_FAILURE`, or raises :class:`CommandError`
(status 1) or :class:`UsageError` (status 2).  Also here, the helpers
handlers share to read their arguments (:func:`_given`, :func:`_filters`,
:func:`_refuse_flags`).

Verbosity: by default a command that succeeds prints nothing but what it
was asked for (cron mails any output); ``-v`` adds a line per file
(:meth:`Context.event`) and the summary; ``-vv``/``--debug`` the debug logs;
``-q`` drops even ``rm -r``'s ``[deleted]`` lines and the summary on a
terminal (errors and warnings still print).  ``--log-file PATH`` appends the
``-v`` lines, warnings and errors, each after its UTC time, whatever is shown.

Terminals: progress bars are drawn (on stderr) when stderr is a terminal, or
anywhere when ``-P/--progress`` asks for them.  Nothing ever prompts unless
stdin is a terminal: ``rm -r`` without ``-f`` and with no terminal refuses
(status 1) and deletes nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from baiji.cli.output import (PROG, Output, _binary_input, _isatty, _one_line, event_line, format_value, json_line,
                              print_warning)
from baiji.cli.redact import Redactor, _connection_secrets

#: The statuses a handler returns (the others only main returns: see baiji.cli.core).
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A failure the CLI itself detects (status 1, ``s3: error: MESSAGE``)."""


class OptionError(CommandError):
    """A failure of an option's value, not of the paths: its message is not prefixed with them."""


class UsageError(Exception):
    """Arguments argparse accepts but that make no sense together (status 2)."""


# Context is a plain class, not a dataclass: ``dataclasses`` costs ~4 ms to import
# (it imports ``inspect``) and each class ~0.4 ms to build.

class Context:
    """What a handler gets besides its arguments: the connection and the streams."""

    def __init__(self, args: argparse.Namespace, out: Output, stdin, stderr, redactor: Redactor,
                 log_file=None):
        self.args, self.out, self.stdin, self.stderr, self.redactor = args, out, stdin, stderr, redactor
        self.log_file = log_file  # --log-file's stream (text, appending), or None
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
        """Progress bars: when asked (-P), else when stderr is a terminal (and no -q)."""
        return bool(getattr(self.args, "progress", False)) or (_isatty(self.stderr) and not self.args.quiet)

    def log(self, text: str) -> None:
        """Append ``TIME TEXT`` to the log file (``--log-file``), if there is one; TIME in UTC."""
        if self.log_file is not None:
            import time  # imported here: only --log-file needs it (it is built in: no cost)

            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            self.log_file.write(f"{stamp} {_one_line(self.redactor(text))}\n")

    def event(self, event, shown: bool) -> None:
        """One file's fate: its ``[copied] SRC -> DST`` line on stdout when ``shown``; in the log in any case."""
        line = event_line(event)
        if shown:
            self.print(line)
        self.log(line)

    def print(self, text: str = "") -> None:
        self.out.line(text)

    def print_mapping(self, mapping: dict) -> None:
        for name in sorted(mapping):
            self.print(f"{name}: {format_value(mapping[name])}".rstrip())

    def print_json(self, value: object) -> None:
        """One line of JSON on stdout (see :func:`json_line`): what ``--json`` prints, one object per line."""
        self.print(json_line(value))

    def warn(self, message: str) -> None:
        print_warning(self.stderr, self.redactor(message))
        self.log(f"warning: {message}")

def _given(**kwargs) -> dict:
    """The options the user set: drops ``None`` and ``False`` so library defaults apply."""
    return {name: value for name, value in kwargs.items() if value is not None and value is not False}

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
