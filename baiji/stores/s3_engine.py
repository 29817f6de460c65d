"""S3's data plane: objects moved by obstore (Rust ``object_store``).

One :class:`Engine` per connection holds one obstore store per bucket (and
per encryption setting); obstore's calls let go of the GIL, so the bulk
runner's threads keep many requests in flight in one process.  What obstore
cannot express stays on boto3 (:mod:`baiji.stores.s3`): ACLs, versions,
copies between buckets or with new metadata, and keys its path model would
rewrite or refuse (see :func:`native_key`).

Retries are done here, not by obstore (whose own retries skip writes that
got no answer), but for the parts of multipart uploads: every request is
tried up to ``MAX_ATTEMPTS`` times in all, with exponential backoff and full jitter (``BACKOFF`` doubling up to
``MAX_BACKOFF``), when it got no answer (reset, timeout, refused) or a 5xx,
429 or ``SlowDown`` answer, as botocore's standard mode does.  Each request
is idempotent; an exclusive write that meets its own first attempt is
recognised by :meth:`baiji.stores.s3.S3Store.write_bytes`.  A connection
must open within ``CONNECT_TIMEOUT`` and a body may stall at most
``READ_TIMEOUT`` seconds (all in :mod:`baiji.config`).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

from baiji import config
from baiji.stores.s3_errors import EngineError, engine_errors, worth_again

#: Attribute names obstore sends as headers; any other name is user metadata.  obstore
#: matches them in any case and also without the dash (``contenttype``, ``storageclass``).
HEADER_ATTRIBUTES = {"content-disposition", "content-encoding", "content-language", "content-type",
                      "cache-control", "storage-class"}
#: The names obstore gives the header attributes of a GET (any other is user metadata).
HEADER_NAMES = {"Content-Disposition", "Content-Encoding", "Content-Language", "Content-Type",
                "Cache-Control", "Storage-Class"}
#: HEADER_ATTRIBUTES as obstore matches them: without the dash.
_HEADER_KEYS = {name.replace("-", "") for name in HEADER_ATTRIBUTES}
#: No single request may take longer (a stalled body is caught by READ_TIMEOUT first).
_REQUEST_TIMEOUT = timedelta(hours=12)


#: The process that started obstore's runtime: its threads do not survive a
#: fork, and a forked child's requests would hang for ever.
_runtime_pid: int | None = None


def usable() -> bool:
    """Whether obstore works here: not in a fork of a process that started it.

    Such a child (a ``ProcessPoolExecutor`` worker, or a worker of
    ``parallel=True`` forked from a single-threaded script) moves its bytes
    through boto3 instead.
    """
    return _runtime_pid in (None, os.getpid())


def native_key(key: str) -> bool:
    """Whether obstore keeps ``key`` exactly as it is.

    Its paths have no empty, ``.`` or ``..`` segments and no control
    characters: it refuses such keys, and strips a leading or trailing ``/``
    (``dir/`` would become ``dir``).  Those keys go through boto3.
    """
    if not key or "\x7f" in key or any(ord(c) < 32 for c in key):
        return False
    return not any(segment in ("", ".", "..") for segment in key.split("/"))


def native_metadata(metadata: dict | None) -> bool:
    """Whether obstore can store ``metadata`` as user metadata: no name it takes for a header
    (``Content-Type``, ``contenttype``...), and only ASCII (obstore would send raw UTF-8,
    stored as mojibake; boto3 refuses it, as S3 metadata must be ASCII)."""
    return not metadata or not any(name.lower().replace("-", "") in _HEADER_KEYS or not name.isascii()
                                   or not str(value).isascii() for name, value in metadata.items())


def attributes(content_type: str | None, content_encoding: str | None, metadata: dict | None) -> dict:
    """obstore's attributes for an object's content type, encoding and user metadata."""
    found = dict(metadata or {})
    if content_type:
        found["Content-Type"] = content_type
    if content_encoding:
        found["Content-Encoding"] = content_encoding
    return found


class Engine:
    """obstore stores for one :class:`baiji.config.Target`, made on first use."""

    def __init__(self, target: config.Target):
        try:  # imported here, not at startup: a listing never needs it
            import obstore
        except ImportError as err:  # never a silent slow path: say what is missing
            raise ImportError(f"baiji moves data with obstore, which failed to import ({err}); "
                              "install it with: pip install obstore") from err
        global _runtime_pid
        _runtime_pid = os.getpid()
        self._obstore = obstore
        #: obstore 0.11 (the last for Python 3.10) leaves a failed multipart upload in
        #: progress (its parts stored and billed); 0.12 aborts it.
        version = getattr(obstore, "__version__", "0.12").split(".")
        self.aborts_multipart = tuple(int(p) for p in version[:2]) >= (0, 12)
        self._target = target
        self._stores: dict = {}
        self._lock = threading.Lock()

    def store(self, bucket: str, encrypt: bool = False, retrying: bool = False):
        """The obstore store of ``bucket``; ``encrypt``: one that asks for SSE (AES256) on writes;
        ``retrying``: one that retries requests itself (the parts of a multipart upload)."""
        which = (bucket, encrypt, retrying)
        found = self._stores.get(which)
        if found is None:
            with self._lock:
                found = self._stores.get(which)
                if found is None:
                    found = self._stores[which] = self._make(bucket, encrypt, retrying)
        return found

    def _make(self, bucket: str, encrypt: bool, retrying: bool):
        target = self._target
        first = target.credentials()  # AWSCredentialsMissing here, before any request

        def credentials() -> dict:
            now = first if not target.refreshable else target.credentials()
            return {"access_key_id": now.access_key, "secret_access_key": now.secret_key,
                    "token": now.token, "expires_at": config.expiry(target)}
        options = {"region": target.region, "virtual_hosted_style_request": not target.path_style}
        if target.endpoint_url:
            options["endpoint"] = target.endpoint_url
        if encrypt:
            options["server_side_encryption"] = "AES256"
        client_options = {
            "allow_http": True,  # only a custom http:// endpoint is reached over http
            "connect_timeout": timedelta(seconds=config.CONNECT_TIMEOUT),
            "read_timeout": timedelta(seconds=config.READ_TIMEOUT),
            "timeout": _REQUEST_TIMEOUT,
            "pool_max_idle_per_host": str(config.MAX_POOL_CONNECTIONS),
        }
        retry = {"max_retries": config.MAX_ATTEMPTS - 1 if retrying else 0,
                 "backoff": {"init_backoff": timedelta(seconds=config.BACKOFF),
                             "max_backoff": timedelta(seconds=config.MAX_BACKOFF), "base": 2}}
        with engine_errors():
            return self._obstore.store.S3Store(bucket, credential_provider=credentials, client_options=client_options,
                                               retry_config=retry, **options)

    # -- requests (errors come out as EngineError: the caller translates them) --
    def get(self, bucket: str, key: str, version_id: str | None = None,
            byte_range: tuple[int, int] | None = None, if_match: str | None = None, head: bool = False):
        """obstore's GetResult (``.meta``, ``.attributes``, the body) of ``key``."""
        options: dict = {}
        if version_id:
            options["version"] = version_id
        if byte_range:
            options["range"] = byte_range
        if if_match:
            options["if_match"] = if_match
        if head:
            options["head"] = True
        store = self.store(bucket)
        return self._again(lambda: self._obstore.get(store, key, options=options or None))

    def chunks(self, result, size: int) -> Iterator[bytes]:
        """The body of a GetResult in chunks of about ``size`` bytes (errors as EngineError)."""
        stream = result.stream(min_chunk_size=size)
        while True:
            with engine_errors():
                chunk = next(stream, None)
            if chunk is None:
                return
            yield chunk

    @staticmethod
    def _again(call: Callable[[], object]):
        """``call()``, sent again (with backoff) while the answer is worth another try (:func:`worth_again`)."""
        for attempt in range(1, config.MAX_ATTEMPTS + 1):
            try:
                with engine_errors():
                    return call()
            except EngineError as err:
                if attempt == config.MAX_ATTEMPTS or not worth_again(err):
                    err.retried = attempt > 1  # a conditional write may meet its own first attempt
                    raise
            time.sleep(random.uniform(0, min(config.MAX_BACKOFF, config.BACKOFF * 2 ** attempt)))

    def put(self, bucket: str, key: str, data, attrs: dict, encrypt: bool, create: bool = False) -> str | None:
        """Store the bytes ``data`` in one request; the new ETag.

        ``create``: only if nothing is there (``If-None-Match: *``), else EngineError.
        """
        store = self.store(bucket, encrypt)
        mode = "create" if create else "overwrite"
        return self._again(lambda: self._obstore.put(store, key, data, attributes=attrs, mode=mode,
                                                     use_multipart=False))["e_tag"]

    def put_parts(self, bucket: str, key: str, parts: Callable[[], Iterator[bytes]], attrs: dict,
                  encrypt: bool, part_size: int, concurrency: int) -> str | None:
        """A multipart upload of the buffers ``parts()`` yields (all but the last ``part_size``
        bytes); the new ETag.  Each request is retried by obstore (a part that got no answer is
        not: the upload fails, is aborted by obstore, and is sent again whole)."""
        store = self.store(bucket, encrypt, retrying=True)
        return self._again(lambda: self._obstore.put(
            store, key, parts(), attributes=attrs, use_multipart=True, chunk_size=part_size,
            max_concurrency=concurrency))["e_tag"]

    def copy(self, bucket: str, src_key: str, dst_key: str, encrypt: bool) -> None:
        """Server-side copy within ``bucket`` (metadata copied from the source)."""
        store = self.store(bucket, encrypt)
        self._again(lambda: self._obstore.copy(store, src_key, dst_key))

    def delete(self, bucket: str, keys: list[str]) -> None:
        """Remove ``keys`` (DeleteObjects batches of 1,000); a missing key is no error."""
        store = self.store(bucket)
        self._again(lambda: self._obstore.delete(store, keys))
