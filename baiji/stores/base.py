"""The store interface: the few operations every backend provides.

Everything public (``exists``, ``size``, ``mv``, ``sync``, ...) is written
once in :mod:`baiji.connection` against this interface; a store translates
its own errors (``OSError``, botocore's ``ClientError``) into
:mod:`baiji.exceptions` in one place.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    import builtins  # `list` in the class Store is its method
    from datetime import datetime

    from baiji.integrity import Checksum

from baiji import path as paths
from baiji.exceptions import KeyNotFound


def key_order(path: str) -> bytes:
    """The sort key of listings: UTF-8 bytes, S3's order (undecodable names kept)."""
    return path.encode("utf-8", "surrogateescape")


#: Content type of objects whose type nobody knows.
DEFAULT_CONTENT_TYPE = "application/octet-stream"
#: Metadata field holding the whole-file MD5 of baiji's multipart uploads.
MD5_METADATA = "baiji-md5"
#: Metadata field of an S3 copy whose source's content no MD5 tells: the source's ETag, which the
#: copy's own ETag is not, so that ``sync`` can tell the copy holds that source.
SOURCE_ETAG_METADATA = "baiji-source-etag"
#: Metadata field of the empty placeholder ``open(key, 'x')`` claims a key with (a token of its own).
CLAIM_METADATA = "baiji-claim"
#: A progress callback receives the number of bytes moved since its last call.
Progress = Optional[Callable[[int], None]]
#: A listing's hook: given a directory's path relative to the listed one (``/``-separated, no
#: trailing ``/``), whether to leave it out unread (see :meth:`Store.list`).
Prune = Optional[Callable[[str], bool]]


class _Record:
    """Compared and shown by value, like a dataclass.

    Not a dataclass: importing ``dataclasses`` (and ``inspect``) costs about
    10 ms, a tenth of a whole ``s3 ls``.
    """

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in vars(self).items())
        return f"{type(self).__name__}({shown})"


class Entry(_Record):
    """One object or file, from a listing or a stat.

    ``encrypted`` is None where the source does not tell (an engine GET);
    ``etag_is_md5`` False where the ETag is no content hash (KMS or customer-key
    encryption); ``checksum``: S3's additional checksum
    (:class:`baiji.integrity.Checksum`) where a HEAD asked for it;
    ``part_size``: a multipart object's part size, where its server told it
    (all parts that size but the last); ``problem`` says why a listed path
    cannot be used (an unreadable directory, a special file, a symlink
    loop...): such an entry is reported, never read, written or deleted
    through, and a sync that meets one deletes nothing.
    """

    def __init__(self, url: str, size: int | None = None, last_modified: datetime | None = None,
                 etag: str | None = None, version_id: str | None = None, is_latest: bool | None = None,
                 delete_marker: bool = False, is_dir: bool = False, content_type: str | None = None,
                 content_encoding: str | None = None, encrypted: bool | None = None,
                 metadata: dict | None = None, etag_is_md5: bool = True, problem: str | None = None,
                 checksum: Checksum | None = None, part_size: int | None = None):
        self.url, self.size, self.last_modified, self.etag = url, size, last_modified, etag
        self.version_id, self.is_latest, self.delete_marker, self.is_dir = version_id, is_latest, delete_marker, is_dir
        self.content_type, self.content_encoding, self.encrypted = content_type, content_encoding, encrypted
        self.metadata = {} if metadata is None else metadata
        self.etag_is_md5, self.problem = etag_is_md5, problem
        self.checksum, self.part_size = checksum, part_size

    def packed(self) -> tuple:
        """The entry as a tuple of its fields (in ``__init__``'s order: every one is set
        there), ``Entry(*packed)`` again: ten times cheaper to pickle than the entry."""
        return tuple(vars(self).values())

    @property
    def md5(self) -> str | None:
        """The content's MD5 where the entry tells it (plain ETag or baiji's metadata)."""
        recorded = self.metadata.get(MD5_METADATA)
        if recorded:
            return recorded
        if self.etag and "-" not in self.etag and self.etag_is_md5:
            return self.etag
        return None


class Listed(str):
    """An object's URL carrying the ETag its listing gave (``.etag``): the bulk copies of
    ``sync`` and ``cp_r`` hand these to :meth:`Store.copy`, which then need not ask for it."""

    etag: str | None

    def __new__(cls, url: str, etag: str | None = None):
        self = super().__new__(cls, url)
        self.etag = etag
        return self


class WriteOptions(_Record):
    """How an object is written: the upload options of ``cp`` (ignored by local stores).

    ``exclusive``: refuse (``KeyExists``) when the destination exists, with a
    conditional write where the store has one; ``part_size``: of a multipart
    upload (None: the default); ``grants``: to set on the destination (s3 -> s3
    ``preserve_acl``); ``headers``: more arguments of the write as boto3 names
    them (``CacheControl``, ``Expires``, ``StorageClass``, KMS encryption...),
    which only boto3 sends.
    """

    def __init__(self, policy: str | None = None, encrypt: bool = True, content_type: str | None = None,
                 content_encoding: str | None = None, metadata: dict | None = None, exclusive: bool = False,
                 part_size: int | None = None, grants: dict | None = None, headers: dict | None = None,
                 resume: bool = False):
        self.policy, self.encrypt, self.content_type, self.content_encoding = (
            policy, encrypt, content_type, content_encoding)
        self.metadata, self.exclusive, self.part_size, self.grants = metadata, exclusive, part_size, grants
        self.headers, self.resume = headers, resume


class Store(abc.ABC):
    """A place that holds keys: the local filesystem or an S3 endpoint."""

    #: True for the local filesystem: the place temp files and downloads live.
    is_local = False

    @abc.abstractmethod
    def stat(self, url: str, version_id: str | None = None) -> Entry:
        """The object's details; ``KeyNotFound`` when missing."""

    @abc.abstractmethod
    def list(self, url: str, shallow: bool = False, versions: bool = False,
             followlinks: bool = False, prune: Prune = None) -> Iterator[Entry]:
        """Entries under the prefix ``url``, lazily, sorted by key.

        ``prune``: a local listing never enters (nor reports) a directory for which it
        answers True; a listing of keys, which has no directories to skip, ignores it.
        """

    def download(self, url: str, local_path: str, version_id: str | None = None,
                 progress: Progress = None, validate: bool = True, exclusive: bool = False,
                 resume: bool = False) -> int | None:
        """Store the content of ``url`` at ``local_path`` atomically (all or nothing).

        ``exclusive``: ``KeyExists`` if ``local_path`` exists when the download is put in
        place (also if another writer created it meanwhile), which is then left untouched.
        ``resume``: continue what an interrupted download left, and leave what this one
        fetched for a rerun if it fails.  Returns the bytes that were there already (None:
        not resumed).

        Only remote stores transfer to and from the local disk; within the
        local store, :meth:`copy` does it.
        """
        raise NotImplementedError

    def upload(self, local_path: str, url: str, options: WriteOptions,
               progress: Progress = None) -> int | None:
        """Store the local file at ``url``; never leaves a half-written object (remote stores).
        Returns the bytes an interrupted upload had sent already (None: not resumed)."""
        raise NotImplementedError

    @abc.abstractmethod
    def copy(self, src: str, dst: str, options: WriteOptions, version_id: str | None = None,
             progress: Progress = None) -> None:
        """Copy within the store (server-side for S3)."""

    @abc.abstractmethod
    def write_bytes(self, url: str, data: bytes, options: WriteOptions) -> bool:
        """Store ``data`` at ``url``; False (nothing written) when exclusive and it exists."""

    @abc.abstractmethod
    def read_bytes(self, url: str, version_id: str | None = None) -> bytes:
        """The whole content of ``url``."""

    @abc.abstractmethod
    def delete(self, url: str, version_id: str | None = None) -> None:
        """Remove one key or file (a local directory as a tree)."""

    @abc.abstractmethod
    def delete_many(self, urls: builtins.list[str]) -> builtins.list[tuple[str, Exception]]:
        """Remove many keys; returns the ``(url, error)`` pairs that failed."""

    # -- shape and content -----------------------------------------------
    def exists(self, url: str, version_id: str | None = None) -> bool:
        """Whether ``url`` (that version of it) is there."""
        try:
            self.stat(url, version_id)
        except KeyNotFound:
            return False
        return True

    #: Separator of relative paths in listings.
    sep = "/"

    def dir_prefix(self, url: str) -> str:
        """``url`` as a listing prefix of its contents (ending in the separator).

        A bucket's root ``s3://b`` is ``s3://b/``: a listing of ``s3://b`` would make
        every relative path start with ``/`` (``s3://b`` + ``/a``), so a sync to it
        matched nothing, copied every file, then deleted the copies.
        """
        return url if url.endswith("/") else url + "/"

    def child(self, base: str, rel: str) -> str:
        """Where the relative path ``rel`` (``/``-separated) lives under ``base``;
        ``S3Exception`` where nothing must be written (a local store: through a symlinked directory)."""
        return paths.join(base, rel)

    def isdir(self, url: str) -> bool:
        """Whether anything lives under ``url`` as a directory."""
        return next(iter(self.list(self.dir_prefix(url))), None) is not None

    @abc.abstractmethod
    def isfile(self, url: str) -> bool:
        """Whether ``url`` itself is a file or key."""

    @abc.abstractmethod
    def touch(self, url: str, encrypt: bool = True) -> None:
        """Create ``url`` empty if it is missing; never truncates."""

    @abc.abstractmethod
    def etag(self, url: str) -> str:
        """The ETag (a local file: the one baiji's upload would give it)."""

    @abc.abstractmethod
    def md5(self, url: str) -> str:
        """Hex MD5 of the content."""

    @abc.abstractmethod
    def etag_matches(self, url: str, etag: str) -> bool:
        """Whether the content has the (quote-less, single or multipart) ``etag``."""
