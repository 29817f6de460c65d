"""Support for the tests, not tests: real S3 servers (``servers``), the fault proxy
(``faultproxy``), the loopback stand-ins (``stand_ins``), listing-only buckets of
millions of computed keys (``virtual_bucket``), shared helpers (``helpers``),
fixtures shared by several test modules (``fixtures``) and signals to child
processes (``childproc``).

Imported as ``from support import servers`` / ``from support.helpers import put``:
pytest.ini (and conftest.py) put tests/ on the path.  ``python tests/support/servers.py
seaweedfs`` starts a server by hand.
"""
