"""The one place where errors of S3 requests become baiji's exceptions.

Requests go through botocore (the control plane), obstore (the data plane)
and baiji's lister; :func:`translate` reads all three.  The message names
the URL (and version), the cause is chained, and no secret is ever in it.
"""

from __future__ import annotations

import contextlib
import re

from baiji import path as paths
from baiji.config import CREDENTIALS_HELP
from baiji.exceptions import (AWSCredentialsMissing, AWSError, BucketNotEmpty, BucketNotFound, InvalidVersionID,
                              KeyExists, KeyNotFound, S3Exception, TransientError)

_NOT_FOUND = {"NoSuchKey", "NotFound", "404", "NoSuchVersion"}
_DENIED = {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled"}
#: What obstore says about a request that never got an answer.
_UNREACHABLE = ("error sending request", "Connection refused", "connection error", "dns error", "timed out")
#: What obstore says about a body that broke off.
_BROKEN_BODY = ("error decoding response body", "error reading a body", "connection closed before message completed",
                "unexpected end of file", "Connection reset")


def describe(url: str, version_id: str | None = None) -> str:
    return f"{url} (version {version_id})" if version_id else url


class EngineError(Exception):
    """An obstore request failed: ``kind`` is obstore's name for it (``NotFoundError``...).

    obstore raises its own classes, and the built-in ``FileNotFoundError`` for
    a missing object; :func:`engine_errors` wraps them in this one class, so a
    local ``FileNotFoundError`` is never mistaken for a missing key.
    ``retried``: the request had been sent before (set by the engine's retry loop).
    """

    retried = False

    def __init__(self, kind: str, text: str):
        super().__init__(text)
        self.kind, self.text = kind, text


@contextlib.contextmanager
def engine_errors():
    """Wrap every error of the obstore calls inside the block in :class:`EngineError`."""
    try:
        yield
    except (KeyboardInterrupt, SystemExit, EngineError):
        raise
    except FileNotFoundError as err:
        raise EngineError("NotFoundError", str(err)) from err
    except Exception as err:
        if not type(err).__module__.startswith("obstore") and not isinstance(err, (ValueError, OSError)):
            raise
        raise EngineError(type(err).__name__, str(err)) from err


def _status(text: str) -> int | None:
    """The HTTP status obstore's message names, if any."""
    found = re.search(r"status code: (\d{3})", text)
    return int(found.group(1)) if found else None


def worth_again(err: EngineError) -> bool:
    """Whether a request is worth sending again: no answer at all (reset, timed out, refused),
    or a server error or throttling (5xx, 429, ``SlowDown``), as botocore's standard mode retries."""
    status = _status(err.text)
    if status is not None:
        return status in (429, 500, 502, 503, 504) or "<Code>SlowDown</Code>" in err.text
    return err.kind == "GenericError" and any(
        sign in err.text for sign in ("HTTP error", "error sending request", "timed out", "onnection"))


#: The error codes of a request sent to a bucket's wrong region (botocore's redirector reads the same).
_WRONG_REGION = ("PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException")


def wrong_region(err: EngineError) -> bool:
    """Whether S3 refused an engine request for going to the bucket's wrong region."""
    return _status(err.text) in (301, 307) or any(f"<Code>{code}</Code>" in err.text for code in _WRONG_REGION)


def region_named(err: EngineError) -> str | None:
    """The region an engine error's answer names (``<Region>``), if any."""
    found = re.search(r"<Region>([a-z0-9-]+)</Region>", err.text)
    return found.group(1) if found else None


class StartOver(TransientError):
    """A download to start over: its content failed the check, or the object changed meanwhile."""


def boto_stream_errors() -> tuple:
    """botocore's errors of a body that broke off (botocore imported only now)."""
    import botocore.exceptions as boto_errors

    return (boto_errors.IncompleteReadError, boto_errors.ResponseStreamingError,
            boto_errors.ReadTimeoutError, boto_errors.ConnectionClosedError, ConnectionError)


def _by_code(code: str, status: int | None, message: str, what: str, url: str, version_id: str | None,
             reading: bool) -> Exception | None:
    """The exception for an S3 error answer (code and HTTP status); None when they tell nothing."""
    if code == "NoSuchBucket":
        return BucketNotFound(f"{what}: bucket {paths.parse(url).netloc} does not exist")
    if code == "BucketNotEmpty":
        return BucketNotEmpty(f"{what}: bucket {paths.parse(url).netloc} is not empty")
    if code in _NOT_FOUND or status == 404:
        return KeyNotFound(f"{what}: not found")
    if version_id and code in ("InvalidArgument", "InvalidVersionId", "400"):
        return InvalidVersionID(f"{what}: invalid version id")
    if code == "PreconditionFailed" or status == 412:
        if reading:  # If-Match: replaced since the first GET
            return StartOver(f"{what} changed while downloading")
        return KeyExists(f"{what} already exists")
    if code in _DENIED or status == 403:
        return S3Exception(f"Permission denied on {what} ({code or status})")
    if code or status:
        return S3Exception(f"{what}: {code or status}: {message or code or status}")
    return None


#: An AbortMultipartUpload in obstore's message: the upload it could not abort (obstore then
#: reports this failure, not the one that made it abort).
_ABORT = re.compile(r"performing DELETE \S*[?&]uploadId=([^&\s]+)")


def left_unfinished(url: str, upload_id: str, failure: BaseException | None, abort_error: Exception) -> S3Exception:
    """The error of an upload that failed (``failure``; None: not known) and whose multipart upload
    could not be aborted either: of ``failure``'s class where it is baiji's, naming the upload left.
    ``upload_id`` and ``abort_error`` are kept on it."""
    cls = type(failure) if isinstance(failure, S3Exception) else S3Exception
    said = str(failure).rstrip(".") if failure else f"{url}: the upload failed"
    reason = str(abort_error).removeprefix(f"{url}: ")
    found = cls(f"{said}; and aborting it failed too ({reason}): "
                f"its multipart upload {upload_id} is left unfinished, its parts stored")
    found.upload_id, found.abort_error = upload_id, abort_error
    return found


def _translate_engine(err: EngineError, url: str, version_id: str | None, what: str) -> Exception:
    text, name = err.text, err.kind
    aborting = _ABORT.search(text)
    if aborting:
        found = _translate_engine(EngineError(name, _ABORT.sub("performing DELETE", text)), url, version_id, what)
        if isinstance(found, KeyNotFound):  # NoSuchUpload: completed after all (an answer lost), or aborted
            return S3Exception(f"{what}: the upload failed (its multipart upload was gone when it was aborted)")
        return left_unfinished(url, aborting.group(1), None, found)
    code_match = re.search(r"<Code>([^<]+)</Code>", text)
    code = code_match.group(1) if code_match else ""
    status = _status(text)
    message_match = re.search(r"<Message>([^<]*)</Message>", text)
    reading = "performing GET" in text or "performing HEAD" in text
    if name == "NotFoundError" and not code:
        code = "NoSuchKey"
    elif name == "AlreadyExistsError" or (name == "PreconditionError" and not reading):
        code = "PreconditionFailed"
    elif name == "PreconditionError":
        return StartOver(f"{what} changed while downloading")
    elif name in ("PermissionDeniedError", "UnauthenticatedError") and not code:
        code = "AccessDenied"
    known = _by_code(code, status, message_match.group(1) if message_match else "", what, url, version_id, reading)
    if known is not None:
        return known
    first_line = text.splitlines()[0] if text else name
    certificate = re.search(r"InvalidCertificate\(\s*([A-Za-z]+)", text)
    if certificate:  # the reason is deep in obstore's debug text: said in one line
        return S3Exception(f"{what}: TLS certificate verification failed ({certificate.group(1)}): "
                           "the endpoint's certificate is not trusted (see AWS_CA_BUNDLE, --ca-bundle)")
    if any(sign in text for sign in _BROKEN_BODY):
        return TransientError(f"{what}: connection lost while reading ({first_line})")
    if any(sign in text for sign in _UNREACHABLE):
        return S3Exception(f"{what}: cannot reach the S3 endpoint ({first_line})")
    return S3Exception(f"{what}: {first_line}")


def _retried(found: Exception, retried: bool) -> Exception:
    """``found``, a ``KeyExists`` marked when its request had been sent before (see ``KeyExists.retried``)."""
    if isinstance(found, KeyExists):
        found.retried = retried
    return found


def translate(err: Exception, url: str, version_id: str | None = None) -> Exception:
    """The baiji exception for a botocore, s3transfer, obstore or lister error about ``url``."""
    what = describe(url, version_id)
    if isinstance(err, AWSError):  # raised by our own code (a credentials callable, say)
        return err
    if isinstance(err, EngineError):
        return _retried(_translate_engine(err, url, version_id, what), err.retried)
    from baiji.stores.listing import ListError

    if isinstance(err, ListError):
        if err.transport:
            return S3Exception(f"{what}: cannot reach the S3 endpoint ({err.message})")
        head = err.method == "HEAD"  # no body: the status tells it all, as botocore puts it
        return _by_code(err.code, err.status, _phrase(err.status) if head else err.message, what, url,
                        version_id, head) or S3Exception(f"{what}: {err.message}")
    import botocore.exceptions as boto_errors

    if isinstance(err, boto_errors.ClientError):
        info = err.response.get("Error", {})
        code = str(info.get("Code", ""))
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        found = _by_code(code, status, info.get("Message") or code, what, url, version_id,
                         err.operation_name == "GetObject")
        attempts = err.response.get("ResponseMetadata", {}).get("RetryAttempts") or 0
        return _retried(found, attempts > 0) if found else S3Exception(f"{what}: {code}: {info.get('Message') or code}")
    if isinstance(err, (boto_errors.NoCredentialsError, boto_errors.PartialCredentialsError)):
        return AWSCredentialsMissing(CREDENTIALS_HELP)
    if isinstance(err, (boto_errors.EndpointConnectionError, boto_errors.ConnectTimeoutError)):
        return S3Exception(f"{what}: cannot reach the S3 endpoint ({err})")
    if isinstance(err, boto_stream_errors()):
        return TransientError(f"{what}: connection lost while reading ({type(err).__name__})")
    return S3Exception(f"{what}: {err}")


def _phrase(status: int | None) -> str:
    """The reason phrase of an HTTP status (``Internal Server Error``)."""
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase  # type: ignore[arg-type]  # None: ValueError, below
    except ValueError:
        return str(status)


def _translatable(err: BaseException) -> bool:
    return isinstance(err, EngineError) or type(err).__module__.startswith(
        ("botocore", "s3transfer", "baiji.stores.listing"))


@contextlib.contextmanager
def translated(url: str, version_id: str | None = None):
    """Raise baiji's exception, naming ``url``, for any S3 request's error inside the block."""
    try:
        yield
    except Exception as err:
        if not _translatable(err):
            raise
        raise translate(err, url, version_id) from err
