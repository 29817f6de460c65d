"""The ``s3`` command: a thin shell over :class:`baiji.connection.S3Connection`.

Usage: ``s3 [--endpoint-url URL] [--profile NAME] [--region NAME] [-v]
COMMAND [ARGS]`` (also ``python -m baiji ...``).  Every S3 key argument may
as well be a local path, exactly as in the library.  The CLI owns no S3
logic: a command's handler calls the library and formats the result.

- :mod:`~baiji.cli.core`: :func:`main`, exceptions to exit statuses;
- :mod:`~baiji.cli.definition`: the arguments and commands, as data;
- :mod:`~baiji.cli.transfer`, :mod:`~baiji.cli.inspect`, :mod:`~baiji.cli.buckets`:
  the handlers, by group;
- :mod:`~baiji.cli.context`: what a handler gets (the connection, the streams);
- :mod:`~baiji.cli.output`: streams and formats (times, ``--json`` lines);
- :mod:`~baiji.cli.redact`: secrets kept out of logs, messages and tracebacks.

Start-up time counts (``s3`` is a one-shot command): modules that only some
commands need (logging for ``-v``, json, datetime, urllib.parse for
redaction, the connection) are imported where they are used, each import
saying what it costs; ``tests/test_startup.py`` keeps them out of
``import baiji.cli``.
"""

from baiji.cli.core import main

__all__ = ["main"]
