"""The one resolver of configuration: what botocore would decide, given to every client (SPEC 6).

:func:`resolve` gives a :class:`Target`: credentials, region, endpoint,
addressing style, FIPS/dualstack, CA bundle, TLS verification, proxies and
retry settings, resolved **once**, exactly as botocore resolves them.  The
lister (:mod:`baiji.stores.listing`), obstore (:mod:`baiji.stores.s3_engine`)
and boto3 (:func:`make_client`) all take their settings from it; none reads
the environment itself (obstore is sealed from it: see the engine).

Its modules: :mod:`.resolver` (``resolve`` and the precedence of each
setting), :mod:`.target` (``Target``, ``Credentials``), :mod:`.files` (the
shared config and credentials files), :mod:`.endpoints` (AWS's endpoints,
custom endpoint URLs), :mod:`.credentials` (where credentials come from) and
:mod:`.clients` (boto3's session and client).  The settings below are read
through this package when used, so a change made here reaches every client.
"""

from __future__ import annotations

from datetime import timedelta

from baiji.config.clients import make_client, make_session, target_of_client
from baiji.config.credentials import CREDENTIALS_HELP, expiry
from baiji.config.resolver import resolve
from baiji.config.target import Credentials, Target

__all__ = ["CREDENTIALS_HELP", "Credentials", "Target", "expiry", "make_client", "make_session", "resolve",
           "target_of_client"]

DEFAULT_REGION = "us-east-1"
#: Seconds to wait for a TCP connection; with the retry budget below a dead
#: endpoint fails after at most ~CONNECT_TIMEOUT * MAX_ATTEMPTS seconds.
CONNECT_TIMEOUT = 5
#: Seconds without a byte from the server before a read is retried.
READ_TIMEOUT = 60
#: Total attempts per request (botocore "standard" retry mode, with backoff), unless configured.
MAX_ATTEMPTS = 5
#: HTTP connections kept per client (the bulk runner uses many threads).
MAX_POOL_CONNECTIONS = 64
#: First retry delay in seconds (doubling, with jitter, up to MAX_BACKOFF).
BACKOFF = 0.1
MAX_BACKOFF = 20.0
#: Refreshable credentials (roles, SSO) are asked for again this often.
CREDENTIALS_REFRESH = timedelta(minutes=5)
