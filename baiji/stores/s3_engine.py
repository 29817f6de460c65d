"""S3's data plane: objects moved by obstore (Rust ``object_store``).

One :class:`Engine` per connection holds one obstore store per bucket (and
per encryption setting); obstore's calls let go of the GIL, so the bulk
runner's threads keep many requests in flight in one process.  What obstore
cannot express stays on boto3 (:mod:`baiji.stores.s3`): ACLs, versions,
copies between buckets or with new metadata, multipart uploads that must not
replace an object (``If-None-Match`` on their Complete), and keys its path
model would rewrite or refuse (see :func:`native_key`).

Retries are done here, not by obstore (whose own retries skip writes that
got no answer), but for multipart uploads: every request is tried up to
``MAX_ATTEMPTS`` times in all, with exponential backoff and full jitter
(``BACKOFF`` doubling up to ``MAX_BACKOFF``), when it got no answer (reset,
timeout, refused) or a 5xx, 429 or ``SlowDown`` answer, as botocore's
standard mode does.  The requests of a multipart upload (parts included)
are retried by obstore with the same budget, and the upload is never sent
again whole: the attempts would multiply.  Each request is idempotent; an
exclusive write that meets its own first attempt is recognised by
:meth:`baiji.stores.s3_writes.Writes.write_bytes`.  A connection
must open within ``CONNECT_TIMEOUT`` and a body may stall at most
``READ_TIMEOUT`` seconds (all in :mod:`baiji.config`).
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from baiji import config
from baiji.stores.base import DEFAULT_CONTENT_TYPE
from baiji.stores.s3_errors import EngineError, engine_errors, region_named, worth_again, wrong_region

if TYPE_CHECKING:
    from typing import Any

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
    return _runtime_pid in (None, os.getpid()) and sealed()


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


#: object_store reads every ``AWS_*`` variable it knows when a store is made (its
#: ``from_env``).  The engine sets each of them explicitly, but for these, which have no
#: "off" value: while one is set, the engine is not used at all (boto3, which ignores
#: them, moves the bytes), so that nothing but the resolver configures a request.
UNSEALABLE = frozenset(("aws_checksum_algorithm", "aws_server_side_encryption", "aws_sse_kms_key_id",
                        "aws_sse_customer_key_base64", "aws_proxy_ca_certificate", "aws_http2_keep_alive_interval",
                        "aws_http2_keep_alive_timeout",
                        "aws_http2_keep_alive_while_idle", "aws_http2_max_frame_size", "aws_default_headers"))
#: A proxy that is never used (the store's host is excluded from it): it stands for "no proxy"
#: and keeps reqwest from picking one from ``HTTP_PROXY``/``HTTPS_PROXY`` itself.
_UNUSED_PROXY = "http://127.0.0.1:9"


def sealed() -> bool:
    """Whether no variable the engine cannot override is set (see :data:`UNSEALABLE`)."""
    return not any(name.startswith("AWS_") and name.lower() in UNSEALABLE for name in os.environ)


class Engine:
    """obstore stores for one :class:`baiji.config.Target`, made on first use.

    ``regions(bucket)`` gives the region of a bucket's requests; a request
    that S3 refuses for its region is sent once more to the one S3 names
    (``regions.learn``), or, when the answer names none, the one ``probe(bucket)``
    finds (a HeadBucket).  ``track(bucket, key)``: a context manager around
    each multipart upload (baiji's registers it, see :mod:`baiji.stores.s3_uploads`).
    """

    def __init__(self, target: config.Target, regions=None, probe: Callable[[str], str | None] | None = None,
                 track: Callable[[str, str], contextlib.AbstractContextManager] | None = None):
        try:  # imported here, not at startup: a listing never needs it
            import obstore
        except ImportError as err:  # never a silent slow path: say what is missing
            raise ImportError(f"baiji moves data with obstore, which failed to import ({err}); "
                              "install it with: pip install obstore") from err
        global _runtime_pid
        _runtime_pid = os.getpid()
        self._obstore: Any = obstore  # not checked: its stubs differ between 0.11 and 0.12, both supported
        #: obstore 0.11 (the last for Python 3.10) leaves a failed multipart upload in
        #: progress (its parts stored and billed); 0.12 aborts it.
        version = getattr(obstore, "__version__", "0.12").split(".")
        self.aborts_multipart = tuple(int(p) for p in version[:2]) >= (0, 12)
        self._target = target
        self._regions: Any = regions or (lambda bucket: target.region)  # S3Store's: a BucketRegions
        self._probe = probe or (lambda bucket: None)
        self._track = track or (lambda bucket, key: contextlib.nullcontext())
        self._stores: dict = {}
        self._lock = threading.Lock()
        self._certificate: bytes | None = None

    def store(self, bucket: str, encrypt: bool = False, retrying: bool = False, region: str | None = None):
        """The obstore store of ``bucket`` (in ``region``, default: the bucket's); ``encrypt``: one
        that asks for SSE (AES256) on writes; ``retrying``: one that retries requests itself (the
        parts of a multipart upload)."""
        which = (bucket, encrypt, retrying, region or self._regions(bucket))
        found = self._stores.get(which)
        if found is None:
            with self._lock:
                found = self._stores.get(which)
                if found is None:
                    found = self._stores[which] = self._make(*which)
        return found

    def _make(self, bucket: str, encrypt: bool, retrying: bool, region: str):
        """A store with every setting from the target, none from the environment (see UNSEALABLE)."""
        target = self._target
        url, virtual = target.bucket_endpoint(bucket, region)
        # "aws_endpoint_url_s3" is a key of its own, which beats "endpoint": both are set
        options = {"region": region, "endpoint": url, "aws_endpoint_url_s3": url,
                   "virtual_hosted_style_request": virtual, "disable_bulk_delete": False,
                   "skip_signature": not target.signed, "unsigned_payload": False, "s3_express": False,
                   "request_payer": False, "disable_tagging": False, "conditional_put": "etag",
                   "copy_if_not_exists": "header:If-None-Match:*", "imdsv1_fallback": False,
                   "sse_bucket_key_enabled": False}
        if target.signed:
            first = target.credentials()  # AWSCredentialsMissing here, before any request

            def credentials() -> dict:
                now = first if not target.refreshable else target.credentials()
                return {"access_key_id": now.access_key, "secret_access_key": now.secret_key,
                        "token": now.token, "expires_at": config.expiry(target)}
            options["credential_provider"] = credentials
        if encrypt:
            options["server_side_encryption"] = "AES256"
        proxy = target.proxy_for(url)
        client_options: dict[str, Any] = {
            "allow_http": True,  # the resolver chose the scheme
            "allow_invalid_certificates": not target.verify,
            "connect_timeout": timedelta(seconds=config.CONNECT_TIMEOUT),
            "read_timeout": timedelta(seconds=config.READ_TIMEOUT),
            "timeout": _REQUEST_TIMEOUT,
            "pool_max_idle_per_host": str(config.MAX_POOL_CONNECTIONS),
            "pool_idle_timeout": timedelta(seconds=90),
            "http1_only": True, "http2_only": False, "randomize_addresses": False,
            "user_agent": "baiji", "default_content_type": DEFAULT_CONTENT_TYPE,
            "proxy_url": proxy or _UNUSED_PROXY,
            **({} if proxy else {"proxy_excludes": urlsplit(url).hostname}),
        }
        if target.ca_bundle:
            client_options["root_certificate"] = self._bundle()
            client_options["disable_system_certificates"] = True
        retry = {"max_retries": target.attempts - 1 if retrying else 0,
                 "backoff": {"init_backoff": timedelta(seconds=config.BACKOFF),
                             "max_backoff": timedelta(seconds=config.MAX_BACKOFF), "base": 2}}
        with engine_errors():
            return self._obstore.store.S3Store(bucket, client_options=client_options, retry_config=retry, **options)

    def _bundle(self) -> bytes:
        """The target's CA bundle (read once)."""
        if self._certificate is None:
            with open(self._target.ca_bundle, "rb") as f:
                self._certificate = f.read()
        return self._certificate

    def _run(self, bucket: str, call: Callable[[object], object], encrypt: bool = False, retrying: bool = False):
        """``call(store)`` for ``bucket``, sent again (:meth:`_again`) unless the store retries each
        request itself (``retrying``), and, when S3 refuses it for its region, once more to the
        bucket's region."""
        region = self._regions(bucket)
        send = self._once if retrying else self._again
        try:
            return send(lambda: call(self.store(bucket, encrypt, retrying, region)))
        except EngineError as err:
            if not wrong_region(err):
                raise
            named = region_named(err) or self._probe(bucket)
            if not named or named == region:
                raise
            self._regions.learn(bucket, named)
            return send(lambda: call(self.store(bucket, encrypt, retrying, named)))

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
        return self._run(bucket, lambda store: self._obstore.get(store, key, options=options or None))

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
    def _once(call: Callable[[], object]):
        """``call()`` (its errors as EngineError)."""
        with engine_errors():
            return call()

    def _again(self, call: Callable[[], object]):
        """``call()``, sent again (with backoff) while the answer is worth another try (:func:`worth_again`)."""
        attempts = self._target.attempts
        for attempt in range(1, attempts + 1):
            try:
                with engine_errors():
                    return call()
            except EngineError as err:
                if attempt == attempts or not worth_again(err):
                    err.retried = attempt > 1  # a conditional write may meet its own first attempt
                    raise
            time.sleep(random.uniform(0, min(config.MAX_BACKOFF, config.BACKOFF * 2 ** attempt)))

    def put(self, bucket: str, key: str, data, attrs: dict, encrypt: bool, create: bool = False) -> str | None:
        """Store the bytes ``data`` in one request; the new ETag.

        ``create``: only if nothing is there (``If-None-Match: *``), else EngineError.
        """
        mode = "create" if create else "overwrite"
        return self._run(bucket, lambda store: self._obstore.put(store, key, data, attributes=attrs, mode=mode,
                                                                 use_multipart=False), encrypt)["e_tag"]

    def put_parts(self, bucket: str, key: str, parts: Callable[[], Iterator[bytes]], attrs: dict,
                  encrypt: bool, part_size: int, concurrency: int) -> str | None:
        """A multipart upload of the buffers ``parts()`` yields (all but the last ``part_size``
        bytes); the new ETag.  Each request is retried by obstore; an upload that fails (an
        exception of ``parts()`` included) is aborted by obstore before it completes, and not
        sent again.  The upload is registered while it runs (see :mod:`baiji.stores.s3_uploads`)."""
        with self._track(bucket, key):
            return self._run(bucket, lambda store: self._obstore.put(
                store, key, parts(), attributes=attrs, use_multipart=True, chunk_size=part_size,
                max_concurrency=concurrency), encrypt, retrying=True)["e_tag"]

    def copy(self, bucket: str, src_key: str, dst_key: str, encrypt: bool, create: bool = False) -> None:
        """Server-side copy within ``bucket`` (metadata copied from the source).

        ``create``: only if nothing is there (``If-None-Match: *``, which a server may ignore),
        else EngineError.
        """
        self._run(bucket, lambda store: self._obstore.copy(store, src_key, dst_key, overwrite=not create), encrypt)

    def delete(self, bucket: str, keys: list[str]) -> None:
        """Remove ``keys`` (DeleteObjects batches of 1,000); a missing key is no error."""
        self._run(bucket, lambda store: self._obstore.delete(store, keys))
