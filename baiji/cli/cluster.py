"""``--executor dask://HOST:PORT`` (or ``BAIJI_EXECUTOR``): a bulk command's work on a Dask cluster.

The scheduler's workers get plain data (connection settings, chunks of
pairs) and build their own connection: their credentials are their own.
``distributed`` is imported only here, only when a cluster is named.  A
malformed address, or a scheduler that does not answer within
:data:`CONNECT_TIMEOUT` seconds, is an :class:`OptionError` before
anything is copied or deleted.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from baiji.cli.context import OptionError

#: The environment variable naming the cluster when ``--executor`` does not (the flag wins).
VARIABLE = "BAIJI_EXECUTOR"
#: Seconds the scheduler has to answer.
CONNECT_TIMEOUT = 10.0


def address(given: str | None) -> tuple[str, str] | None:
    """``(how the cluster was named, its scheduler's tcp:// address)``, from ``given`` (the
    flag) or :data:`VARIABLE`; None when neither names one.  A malformed value: OptionError."""
    value, named = (given, f"--executor {given}") if given is not None else (
        os.environ.get(VARIABLE), f"{VARIABLE}={os.environ.get(VARIABLE)}")
    if not value:
        return None
    from urllib.parse import urlsplit  # only a named cluster needs it

    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "dask" or not parts.hostname or not port or parts.path or parts.query or parts.fragment:
        raise OptionError(f"{named}: not a Dask scheduler's address like dask://HOST:PORT")
    return named, f"tcp://{parts.netloc}"


@contextlib.contextmanager
def executor(given: str | None, check_only: bool = False) -> Iterator[object | None]:
    """The named cluster's ``concurrent.futures.Executor`` while the command runs (None: no
    cluster, or ``check_only``: the address is checked, nothing connects)."""
    found = address(given)
    if found is None or check_only:
        yield None
        return
    named, scheduler = found
    try:
        import distributed  # ~1 s: only a named cluster pays it
    except ImportError as err:
        raise OptionError(f"{named}: needs the distributed package (pip install distributed)") from err
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except Exception as err:  # OSError (refused, timed out), or whatever the network layer raises
        raise OptionError(f"{named}: cannot reach the scheduler: {str(err) or type(err).__name__}") from err
    with contextlib.closing(client):
        yield client.get_executor()
