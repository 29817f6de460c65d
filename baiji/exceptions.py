"""The exception hierarchy of baiji (SPEC 4).

Every error the public API raises is one of these (or a built-in such as
``ValueError`` for bad arguments); botocore's own exceptions never leak out.
No message ever contains a secret key or session token, nor the password of
a URL (``http://user:PASSWORD@host``, an endpoint's): baiji's errors replace
it with ``[REDACTED]``.

The ones that are also ``OSError`` subclasses (``KeyNotFound``,
``KeyExists`` and its ``SameFile``, ``IsADirectory``) carry ``errno`` and the system's own
``strerror`` (``os.strerror(errno)``), like the built-in errors they stand
for; their ``str()`` is baiji's message, naming the path.
"""

import errno as _errno
import os
import re

#: ``scheme://user:PASSWORD@``: the password part (as text: ``re`` compiles and caches it
#: at first use, not when ``s3`` starts).
_URL_PASSWORD = r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@'\"]*:)(?!\[REDACTED\]@)[^/\s@'\"]+(?=@)"


def without_url_passwords(text: str) -> str:
    """``text`` with the password of every ``scheme://user:PASSWORD@host`` URL replaced by ``[REDACTED]``."""
    return re.sub(_URL_PASSWORD, r"\1[REDACTED]", text)


class AWSError(Exception):
    """Base class of everything that goes wrong talking to AWS (a URL's password never in its message)."""

    def __init__(self, *args):
        super().__init__(*(without_url_passwords(a) if isinstance(a, str) else a for a in args))


class AWSCredentialsMissing(AWSError):
    """No credentials were found by botocore's chain."""


class ConfigurationError(AWSError, ValueError):
    """The AWS configuration cannot be used: a missing profile, a malformed endpoint, partial credentials."""


class S3Exception(AWSError):
    """An S3 (or local-store) operation failed."""

    #: Only on the error of an upload that left its multipart upload unfinished
    #: (``baiji.stores.s3_errors.left_unfinished``): annotations, no class attributes.
    upload_id: str
    abort_error: Exception


class _SystemError(OSError):
    """An OSError with ``errno`` and ``strerror`` set from ``code``; ``str()`` stays the message."""

    code = 0

    def __init__(self, *args):
        super().__init__(*args)
        self.errno, self.strerror = self.code, os.strerror(self.code)

    def __str__(self) -> str:
        return BaseException.__str__(self)


class KeyNotFound(S3Exception, _SystemError, FileNotFoundError):
    """The key, file, version or bucket does not exist."""

    code = _errno.ENOENT


class BucketNotFound(KeyNotFound):
    """The bucket does not exist."""


class BucketNotEmpty(S3Exception, _SystemError):
    """A bucket to delete still holds keys, versions or delete markers (``errno`` ENOTEMPTY, as ``rmdir``).

    ``held``: how many, as text (``'3'``, ``'more than 1000'``), when baiji counted them.
    """

    code = _errno.ENOTEMPTY
    held: str | None = None


class KeyExists(S3Exception, _SystemError, FileExistsError):
    """The destination exists and overwriting was not asked for.

    ``retried``: the answer came to a request sent again (its first attempt got
    no answer), so the key found may be that first attempt's own write.
    """

    code = _errno.EEXIST
    retried = False


class SameFile(KeyExists, ValueError):
    """The destination of a copy or move is its source itself (``force`` or not).

    A ``KeyExists``, as the original baiji raised, and a ``ValueError``: the
    arguments name one file twice.
    """


class SourceChanged(S3Exception):
    """A local file changed while an upload read it (its size, modification time or content
    differ between the reads): nothing was stored, and an object already there is kept."""


class IsADirectory(S3Exception, _SystemError, IsADirectoryError):
    """A local directory where a file is needed (``rm`` without recursion)."""

    code = _errno.EISDIR


class InvalidVersionID(S3Exception):
    """A version id that S3 cannot parse."""


class InvalidSchemeException(ValueError):
    """A URL whose scheme is neither ``s3`` nor a local path."""


class TransientError(RuntimeError):
    """A failure that may pass if tried again (e.g. a corrupt download)."""


class S3Warning(RuntimeWarning):
    """Base class of baiji's warnings."""


class EventualConsistencyWarning(S3Warning):
    """A key was found only after a first lookup missed it."""
