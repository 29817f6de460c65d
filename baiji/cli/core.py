"""``main``: runs one ``s3`` command and maps how it ended to the exit status.

:func:`main` is the only place that knows about exit statuses, tracebacks and
terminals.  It never calls ``sys.exit``; it returns the status (the console
script and ``python -m baiji`` turn it into the process status):

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

Verbosity (see :mod:`baiji.cli.context`): ``-v`` prints a line per file and
the summary, ``-vv`` (or ``--debug``) also logs baiji, boto3, botocore and
s3transfer at DEBUG on stderr through a filter that redacts secrets (see :mod:`baiji.cli.redact`); error messages
and tracebacks go through the same filter.  Library warnings (``cp -s``
skipping an existing key, eventual consistency) are printed as
``s3: warning: MESSAGE`` lines on stderr.

``main(argv, stdin, stdout, stderr)`` accepts other streams than the
process's (the tests use in-memory ones); while a command runs,
``sys.stdin``/``sys.stdout``/``sys.stderr`` point at them too.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading
import warnings
from collections.abc import Sequence

from baiji import exceptions as exc
from baiji.cli.context import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CommandError, Context, OptionError, UsageError
from baiji.cli.definition import Command, build_parser
from baiji.cli.output import PROG, Output, _process_streams, _one_line
from baiji.cli.redact import Redactor, _RedactingFilter, _RedactingFormatter

#: The statuses only main returns (a handler's, EXIT_OK, EXIT_FAILURE, EXIT_USAGE: see baiji.cli.context).
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM
EXIT_BROKEN_PIPE = 141

#: The loggers ``-vv`` turns to DEBUG.
VERBOSE_LOGGERS = ("baiji", "boto3", "botocore", "s3transfer")
#: The ``-v`` count from which the debug logs are on (``--debug`` is the same).
DEBUG_LEVEL = 2

#: Errors that are the user's or the world's fault: one line, status 1.
EXPECTED_ERRORS = (exc.AWSError, exc.TransientError, ValueError, OSError, NotImplementedError)


class _ClosedStream:
    """stdout when the process started with descriptor 1 closed (``s3 cat KEY >&-``)."""

    def write(self, data) -> int:
        raise CommandError("standard output is closed")

    def flush(self) -> None:
        pass


def _debug(message: str, *args) -> None:
    """Log on the ``baiji.cli`` logger at DEBUG, if ``logging`` is in use at all.

    -v imports it (so may the program calling :func:`main`); when nothing has,
    no handler exists that could show the record, and importing it would only
    cost start-up time.
    """
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger("baiji.cli").debug(message, *args)

@contextlib.contextmanager
def _debug_logging(stream, redactor: Redactor):
    import logging  # imported here: ~5 ms at start-up, only -v needs it

    handler = logging.StreamHandler(stream)
    handler.addFilter(_RedactingFilter(redactor, logging.Formatter()))
    # ignore[arg-type]: duck-typed, no logging.Formatter subclass (logging is imported only for -v)
    handler.setFormatter(_RedactingFormatter(  # type: ignore[arg-type]
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
def _warnings_to(ctx: Context, debug: bool):
    """Library warnings as ``s3: warning: MESSAGE`` lines (and in the log), every time they happen."""

    def show(message, category, filename, lineno, file=None, line=None):
        ctx.warn((f"{category.__name__}: " if debug else "") + str(message))

    with warnings.catch_warnings():
        warnings.filterwarnings("always", category=UserWarning)
        warnings.filterwarnings("always", category=exc.S3Warning)
        warnings.showwarning = show
        yield

def _failure_message(error: BaseException, command: Command, args, redactor: Redactor) -> str:
    """One line naming the path(s): the error's own message (its advice reworded for the
    command line), prefixed with the command's path arguments when it names none of
    them, plus the command's hint."""
    message = str(error).strip() or type(error).__name__
    for library, cli in command.rewords.items():
        message = message.replace(library, cli)
    paths = [value for value in (getattr(args, name, None) for name in command.paths) if value]
    if paths and not isinstance(error, OptionError) and not any(path in message for path in paths):
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
            args = _parse(parser, argv)
        except SystemExit as done:  # -h, --version, usage errors
            try:
                out.flush()
            except BrokenPipeError:
                _quiet_broken_pipe(out)
            return EXIT_OK if done.code is None else int(done.code)
        command = args._command
        args.verbose = _verbosity(args)
        ctx = Context(args=args, out=out, stdin=stdin, stderr=stderr, redactor=redactor)
        with contextlib.ExitStack() as stack:
            if args.verbose >= DEBUG_LEVEL:
                stack.enter_context(_debug_logging(stderr, redactor))
            stack.enter_context(_warnings_to(ctx, args.verbose >= DEBUG_LEVEL))
            stack.enter_context(_sigterm_raises())
            return _run(command, ctx, stack)

def _parse(parser, argv):
    """The arguments; what argparse does not know is a usage error that names only that.

    argparse's own message lists every argument left over, so an unknown
    option's value reads as the culprit (``unrecognized arguments:
    --storage-klass s3://b/k``): here the unknown options alone are named.
    """
    args, extras = parser.parse_known_args(argv)
    if extras:
        unknown = [extra for extra in extras if extra.startswith("-") and extra != "-"]
        if unknown:
            plural = "s" if len(unknown) > 1 else ""
            args._parser.error(f"unknown option{plural} {' '.join(unknown)} (s3 {args.command} -h lists them)")
        args._parser.error(f"unrecognized arguments: {' '.join(extras)}")
    return args

def _verbosity(args) -> int:
    """How many ``-v`` were given, before and after the command (``--debug``: at least 2)."""
    level = args.verbose + getattr(args, "verbose_after", 0)
    return max(level, DEBUG_LEVEL) if args.debug else level

def _open_log(ctx: Context, stack: contextlib.ExitStack) -> None:
    """Open ``--log-file`` for appending (a line at a time: concurrent jobs may share it).

    Opened without blocking: a FIFO that nobody reads is an error (ENXIO), not a
    cron job waiting for ever; one that a logger reads is fine.
    """
    import fcntl  # imported here: only --log-file needs it

    fd = os.open(ctx.args.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o666)
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    ctx.log_file = stack.enter_context(open(fd, "a", encoding="utf-8", errors="backslashreplace", buffering=1))

def _run(command: Command, ctx: Context, stack: contextlib.ExitStack) -> int:
    args, out, stderr, redactor = ctx.args, ctx.out, ctx.stderr, ctx.redactor

    def fail(error: BaseException, message: str) -> int:
        with contextlib.suppress(Exception):
            out.flush()
        stderr.write(f"{PROG}: error: {message}\n")
        with contextlib.suppress(OSError):
            ctx.log(f"error: {message}")
        if args.verbose:
            import traceback  # imported here: only -v prints tracebacks

            text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            stderr.write(redactor(text))
        return EXIT_FAILURE

    try:
        if args.quiet and args.verbose:
            raise UsageError("-q/--quiet and -v/--verbose/--debug contradict each other")
        if args.log_file:
            try:
                _open_log(ctx, stack)
            except OSError as error:  # named alone: the command's paths are not to blame
                why = "a FIFO nobody reads" if error.errno == errno.ENXIO else error.strerror or error
                return fail(error, _one_line(redactor(f"--log-file {args.log_file}: {why}")))
            ctx.log(" ".join([f"{PROG} {command.name}", *(str(getattr(args, name, None) or "")
                                                          for name in command.paths)]).rstrip())
        _debug("running s3 %s", command.name)
        status = command.handler(ctx, args)
        out.flush()
        return status
    except UsageError as error:
        try:
            args._parser.error(str(error))
        except SystemExit as done:
            return int(done.code)  # type: ignore[arg-type]  # parser.error() exits with 2
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
