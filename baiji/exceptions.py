"""The exception hierarchy of baiji (SPEC 4).

Every error the public API raises is one of these (or a built-in such as
``ValueError`` for bad arguments); botocore's own exceptions never leak out.
No message ever contains a secret key or session token.
"""


class AWSError(Exception):
    """Base class of everything that goes wrong talking to AWS."""


class AWSCredentialsMissing(AWSError):
    """No credentials were found by botocore's chain."""


class S3Exception(AWSError):
    """An S3 (or local-store) operation failed."""


class KeyNotFound(S3Exception, FileNotFoundError):
    """The key, file, version or bucket does not exist."""


class BucketNotFound(KeyNotFound):
    """The bucket does not exist."""


class KeyExists(S3Exception, FileExistsError):
    """The destination exists and overwriting was not asked for."""


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
