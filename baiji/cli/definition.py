"""The ``s3`` command's arguments, as data.

Each subcommand is one row of :data:`COMMANDS` (name, help, argparse
arguments, handler, and how its failures read); :func:`build_parser` turns
the table into the argparse parser.  The options every command takes
(:func:`_global_options`) may stand before or after its name.

Path arguments are never empty: ``s3 sync SRC "$UNSET"`` is a usage error
(status 2), never "the current directory".  ``url --expire`` is at most
seven days (S3's limit) and ``exists --retries`` at most
:data:`MAX_EXISTS_RETRIES`.  Commands add ``--json`` with the :data:`JSON`
argument.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

import baiji
from baiji import exceptions as exc
from baiji.cli.buckets import _NAME_AFTER, cmd_buckets, cmd_not_here, cmd_restore, cmd_uploads
from baiji.cli.context import Context
from baiji.cli.inspect import (cmd_cat, cmd_du, cmd_etag, cmd_exists, cmd_info, cmd_is, cmd_ls, cmd_md5, cmd_url,
                               cmd_version)
from baiji.cli.output import PROG
from baiji.cli.transfer import cmd_cp, cmd_mv, cmd_rm, cmd_sync, cmd_touch

#: Default lifetime of ``s3 url``'s presigned URL, in seconds (one day).
DEFAULT_URL_TTL = 86400
#: The longest lifetime S3 accepts for a presigned URL (SigV4: seven days).
MAX_URL_TTL = 7 * 86400
#: Most extra lookups ``s3 exists --retries`` makes after a miss (each is one request;
#: S3 is strongly consistent, so more only make a missing key take longer to report).
MAX_EXISTS_RETRIES = 10

def _int_between(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high``."""

    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high:,}: {text}")
        return value

    return parse

#: The units of ``--older-than`` (seconds each).
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

def _duration(text: str) -> float:
    """An argparse type: an age such as ``90s``, ``30m``, ``12h``, ``1d``, ``2w`` (plain: seconds)."""
    found = re.fullmatch(r"(\d+(?:\.\d*)?)\s*([smhdw]?)", text.strip().lower())
    if not found:
        raise argparse.ArgumentTypeError(f"not an age like 30m, 12h, 1d or 2w: {text}")
    return float(found.group(1)) * _DURATION_UNITS[found.group(2) or "s"]

def _metadata(text: str) -> tuple[str, str]:
    """An argparse type: ``KEY=VALUE`` (of ``--metadata``), a non-empty KEY."""
    name, equals, value = text.partition("=")
    if not (equals and name.strip()):
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return name.strip(), value

def _path(text: str) -> str:
    """An argparse type for path arguments: never empty (an unset variable must not mean "here")."""
    if not text:
        raise argparse.ArgumentTypeError("must not be empty (an unset variable?): an empty path "
                                         "would mean the current directory; name it, e.g. '.'")
    return text

# Arg and Command are plain classes, not dataclasses: ``dataclasses`` costs ~4 ms to
# import (it imports ``inspect``) and each class ~0.4 ms to build.

class Arg:
    """One argparse argument: ``add_argument(*flags, **options)``."""

    def __init__(self, flags: tuple[str, ...], options: dict):
        self.flags, self.options = flags, options

def arg(*flags: str, **options) -> Arg:
    return Arg(flags, options)

class Command:
    """One subcommand: how it parses, what it calls, how its failures read.

    - ``paths``: the arguments that name paths: a failure message naming none of them
      is prefixed with them.
    - ``hints``: extra advice appended to the message of these exception classes (the first
      class that matches gives it; None: none).
    - ``rewords``: the library's advice in its messages, reworded for the command line:
      ``{"use cp_r": "use -r"}``.
    - ``exclusive``: groups of mutually exclusive options, each named by its options' first flags.
    """

    def __init__(self, name: str, help: str | None, args: tuple[Arg, ...],
                 handler: Callable[[Context, argparse.Namespace], int], paths: tuple[str, ...] = (),
                 hints: dict | None = None, rewords: dict | None = None,
                 exclusive: tuple[tuple[str, ...], ...] = ()):
        self.name, self.help, self.args, self.handler = name, help, args, handler
        self.paths, self.exclusive = paths, exclusive
        self.hints, self.rewords = hints or {}, rewords or {}

    def __repr__(self) -> str:
        return f"Command({self.name!r})"

KEY = arg("key", metavar="KEY", help="an s3://bucket/key URL or a local path")
FORCE = arg("-f", "--force", action="store_true", help="overwrite an existing destination")
PROGRESS = arg("-P", "--progress", action="store_true",
               help="show progress bars even when stderr is not a terminal (on a terminal they are shown anyway)")
NO_ENCRYPT = arg("--no-encrypt", action="store_true",
                 help="do not ask S3 for server-side encryption (AES256) of what is written")
GZIP = arg("-z", "--gzip", action="store_true",
           help="upload gzip-compressed with Content-Encoding: gzip (local -> s3 only)")
POLICY = arg("--policy", "--acl", metavar="ACL",
             help="canned ACL of what is written (private, public-read, ...); --acl is aws's name for it")
ENCODING = arg("--encoding", metavar="ENCODING", help="Content-Encoding of what is written")
VERSION_ID = arg("--version-id", metavar="ID", help="a version of the key (versioned buckets)")
WORKERS = arg("--workers", type=_int_between(0, 1024), metavar="N",
              help="copies in flight at a time (per worker process with -R); 0: the default, 32")
EXECUTOR = arg("--executor", metavar="URL",
               help="run the copies (rm -r -f: the deletions) on a Dask cluster, dask://HOST:PORT its scheduler "
                    "(default: $BAIJI_EXECUTOR); its workers use their own credentials and environment")
DRY_RUN = arg("-n", "--dry-run", action="store_true",
              help="change nothing: print what would be copied, skipped, deleted or refused")
JSON = arg("--json", action="store_true",
           help="one JSON object per line: sizes in bytes, times in UTC like 2026-11-29T14:00:00Z, "
                "null where unknown")
EXCLUDE = arg("--exclude", action="append", metavar="PATTERN",
              help="leave out the paths matching this glob (repeatable), relative to SRC and DST "
                   "(rm -r: to KEY itself; ls: to KEY up to its last /); '*' matches '/' too; a trailing / matches a "
                   "directory and all under it. Excludes win; sync never deletes a path left out")
INCLUDE = arg("--include", action="append", metavar="PATTERN",
              help="only the paths matching one of these globs (repeatable), unless excluded: "
                   "--include '*.txt' alone selects the .txt files")
#: The headers and settings of what is written (s3 destinations), as aws s3 names them.
WRITE_OPTIONS = (
    arg("--content-type", metavar="TYPE",
        help="Content-Type of what is written (default: application/octet-stream, or guessed with -g)"),
    arg("-g", "--guess-content-type", action="store_true",
        help="guess Content-Type from the file names (aws does by default; baiji does not)"),
    arg("--metadata", action="append", type=_metadata, metavar="KEY=VALUE",
        help="user metadata of what is written (repeatable)"),
    arg("--cache-control", metavar="VALUE", help="Cache-Control of what is written"),
    arg("--content-disposition", metavar="VALUE", help="Content-Disposition of what is written"),
    arg("--expires", metavar="WHEN",
        help="Expires of what is written: an ISO 8601 date and time (2027-01-31T00:00:00Z)"),
    arg("--storage-class", metavar="CLASS",
        help="STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE, ..."),
    arg("--sse", choices=("AES256", "aws:kms"), help="server-side encryption (default AES256, unless --no-encrypt)"),
    arg("--sse-kms-key-id", metavar="KEY_ID", help="with --sse aws:kms: the KMS key (default: the account's)"),
)
NO_RESUME = arg("--no-resume", action="store_true",
                help="start over: do not continue the upload or download an interrupted run left "
                     "(README \"Resuming\")")
MAX_DELETE = arg("--max-delete", type=_int_between(0, 10 ** 12), metavar="N",
                 help="delete nothing (and fail) when more than N files would be deleted")

COMMANDS: tuple[Command, ...] = (
    Command("ls", "list keys or files under a prefix, one full URL per line", (
        arg("key", metavar="KEY", nargs="?",
            help="a prefix: s3://bucket/prefix or a local directory; none (or s3://): the buckets, "
                 "as s3://NAME lines"),
        arg("-l", "--detail", action="store_true",
            help="tab separated: size, last modified (UTC), 'enc' if encrypted (a HEAD request per key), URL"),
        arg("--bytes", action="store_true", help="with -l: sizes in bytes, not 1.5 KiB"),
        arg("-s", "--shallow", action="store_true", help="list one level only; sub-prefixes end in /"),
        arg("--list-versions", action="store_true",
            help="every version and delete marker, in the -l layout plus two columns: version id and "
                 "flags (latest, delete-marker)"),
        arg("-B", "--uri", action="store_true", help="deprecated, does nothing: URLs are always printed"),
        arg("--summarize", action="store_true",
            help="end with the totals, as aws prints them: 'Total Objects: N' and 'Total Size: SIZE'"),
        arg("--json", action="store_true",
            help="one JSON object per line: uri, size (bytes, null for a sub-prefix), last_modified (UTC); "
                 "from the listing alone, no request per key; with -l also encrypted (a HEAD per key); "
                 "with --list-versions also version_id, is_latest, delete_marker"),
        EXCLUDE, INCLUDE,
    ), cmd_ls, paths=("key",)),
    Command("du", "count the keys or files under a prefix and their total size", (
        arg("key", metavar="KEY", help="a prefix: s3://bucket/prefix or a local directory"),
        arg("-s", "--summarize", action="store_true",
            help="only the total line (without it: a line per sub-prefix one level down, then the total)"),
        arg("--bytes", action="store_true", help="sizes in bytes, not 1.5 KiB"),
        arg("--json", action="store_true", help="one JSON object per line: uri, files, size (bytes)"),
        EXCLUDE, INCLUDE,
    ), cmd_du, paths=("key",)),
    Command("info", "print a key's details as sorted 'name: value' lines", (KEY, JSON), cmd_info,
            paths=("key",)),
    Command("cat", "write a key's content to stdout, byte for byte", (KEY,), cmd_cat, paths=("key",)),
    Command("cp", "copy between S3 and local paths in any direction", (
        arg("src", metavar="SRC", help="source key, local path, or - for stdin"),
        arg("dst", metavar="DST", help="destination key, local path, or - for stdout; "
                                       "one ending in / gets SRC's basename"),
        FORCE,
        arg("-s", "--skip", action="store_true", help="skip (with a warning) a destination that exists"),
        PROGRESS,
        arg("-r", "--recursive", action="store_true",
            help="copy a directory or prefix, key by key, like cp -r and rsync: 'cp -r site s3://b/www/' "
                 "makes s3://b/www/site/...; 'cp -r site/ s3://b/www/' copies what site/ holds into www/"),
        arg("-R", "--recursive-parallel", action="store_true",
            help="like -r, many keys at a time in worker processes"),
        arg("--preserve-acl", action="store_true", help="keep the source's ACL (s3 -> s3 only)"),
        NO_ENCRYPT, GZIP, POLICY, ENCODING, *WRITE_OPTIONS, VERSION_ID, WORKERS, EXECUTOR, DRY_RUN, JSON, EXCLUDE,
        INCLUDE, NO_RESUME,
    ), cmd_cp, paths=("src", "dst"), exclusive=(("-r", "-R"), ("-f", "-s")),
        hints={exc.SameFile: None, exc.KeyExists: "use -f/--force to overwrite, or -s/--skip to skip it"},
        rewords={"use cp_r to": "use -r to"}),
    Command("mv", "move: copy, then remove the source", (
        arg("src", metavar="SRC", help="source key or local path"),
        arg("dst", metavar="DST", help="destination key or local path"),
        FORCE, PROGRESS, GZIP, NO_ENCRYPT, POLICY, ENCODING, *WRITE_OPTIONS, DRY_RUN,
    ), cmd_mv, paths=("src", "dst"), hints={exc.SameFile: None, exc.KeyExists: "use -f/--force to overwrite"},
        rewords={"use cp_r to copy directories": "mv moves files (use cp -r, then rm -r)"}),
    Command("rm", "remove a key or local file", (
        KEY,
        arg("-r", "--recursive", action="store_true",
            help="remove everything under the prefix, printing '[deleted] URL' lines; "
                 "asks for each key unless -f (and refuses without -f when stdin is not a terminal)"),
        arg("-f", "--force", action="store_true", help="with -r: delete without asking"),
        VERSION_ID, MAX_DELETE, EXECUTOR, DRY_RUN, JSON, EXCLUDE, INCLUDE,
    ), cmd_rm, paths=("key",), rewords={"use rm_r to": "use -r to"}),
    Command("sync", "make DST mirror SRC: copy new and changed files, remove the ones SRC lacks", (
        arg("src", metavar="SRC", help="source directory or prefix"),
        arg("dst", metavar="DST", help="destination directory or prefix"),
        PROGRESS, POLICY, ENCODING, *WRITE_OPTIONS,
        arg("-D", "--do-not-delete", action="append", metavar="PREFIX",
            help="never remove files under this prefix of DST (repeatable)"),
        arg("--no-delete", action="store_true",
            help="remove nothing from DST: copy new and changed files only (aws s3 sync's default)"),
        arg("--delete", action="store_true", help="accepted for aws users, changes nothing: sync deletes anyway"),
        NO_ENCRYPT, MAX_DELETE, WORKERS, EXECUTOR, DRY_RUN, JSON, EXCLUDE, INCLUDE, NO_RESUME,
    ), cmd_sync, paths=("src", "dst")),
    Command("touch", "create an empty key or file if it does not exist (never truncates)", (KEY,),
            cmd_touch, paths=("key",)),
    Command("exists", "exit 0 if the key exists, 1 if not (prints nothing)", (
        KEY,
        arg("--retries", type=_int_between(0, MAX_EXISTS_RETRIES), metavar="N",
            help=f"extra lookups after a miss, at most {MAX_EXISTS_RETRIES} (default: the library's, 1)"),
        VERSION_ID,
    ), cmd_exists, paths=("key",)),
    Command("url", "print a presigned GET URL", (
        KEY,
        arg("--expire", type=_int_between(1, MAX_URL_TTL), default=DEFAULT_URL_TTL, metavar="SECONDS",
            help=f"seconds the URL stays valid (default {DEFAULT_URL_TTL}; "
                 f"at most {MAX_URL_TTL}, S3's limit: seven days)"),
    ), cmd_url, paths=("key",)),
    Command("md5", "print the MD5 of the content", (KEY,), cmd_md5, paths=("key",)),
    Command("etag", "print the ETag (for a local file: the one its upload would get)", (
        KEY,
        arg("--fix", action="store_true",
            help="rewrite a multipart object in place so its ETag is the plain MD5"),
    ), cmd_etag, paths=("key",)),
    Command("is", "compare two keys or files: prints 'files match' (exit 0) or 'files DO NOT match' (exit 1)", (
        KEY,
        arg("other", metavar="OTHER", help="the key or local path to compare with"),
    ), cmd_is, paths=("key", "other")),
    Command("buckets", "list bucket names, create, delete or describe one", (
        arg("name", metavar="NAME", nargs="?",
            help="the bucket of --create, --delete or --info, when not right after it "
                 "(s3 buckets --delete -f NAME)"),
        arg("--create", metavar="NAME", nargs="?", const=_NAME_AFTER,
            help="create this bucket (versioned unless --no-versioning)"),
        arg("--no-versioning", action="store_true", help="with --create: leave versioning off"),
        arg("--delete", metavar="NAME", nargs="?", const=_NAME_AFTER,
            help="delete this bucket; one holding keys is refused unless -f, or unless you answer y "
                 "when asked (on a terminal only)"),
        arg("-f", "--force", action="store_true",
            help="with --delete: first delete every key, version and delete marker in it, without asking"),
        arg("--info", metavar="NAME", nargs="?", const=_NAME_AFTER,
            help="print the bucket's settings as 'name: value' lines"),
        JSON,
    ), cmd_buckets, paths=("create", "delete", "info", "name"), exclusive=(("--create", "--delete", "--info"),),
        rewords={"force deletes them first": "use -f/--force to delete them first"}),
    Command("restore", "undelete every deleted key under an S3 prefix (versioned buckets)", (
        arg("prefix", metavar="PREFIX", help="s3://bucket/prefix"),
    ), cmd_restore, paths=("prefix",)),
    Command("uploads", "list the unfinished multipart uploads under an S3 prefix, or abort them", (
        arg("prefix", metavar="PREFIX", help="s3://bucket or s3://bucket/prefix (a plain string prefix, as for ls)"),
        arg("--abort", action="store_true",
            help="abort them (rclone's cleanup): an '[aborted] URL: upload ID' line each, then a summary "
                 "line; exit 1 if any abort failed"),
        arg("--older-than", type=_duration, metavar="AGE",
            help="only the uploads initiated longer ago than AGE: 90s, 30m, 12h, 1d, 2w"),
        arg("--bytes", action="store_true", help="sizes in bytes, not 1.5 KiB"),
        arg("--json", action="store_true",
            help="one JSON object per upload: uri, upload_id, initiated (UTC), parts, size (bytes); "
                 "with --abort, one per abort as cp and rm print them"),
    ), cmd_uploads, paths=("prefix",)),
    Command("version", "print baiji's version", (), cmd_version),
    # aws's names for what `buckets` does: one line saying so (no help line: not commands of baiji)
    Command("mb", None, (arg("rest", nargs="*", help=argparse.SUPPRESS),), cmd_not_here),
    Command("rb", None, (arg("rest", nargs="*", help=argparse.SUPPRESS),), cmd_not_here),
)

COMMANDS_BY_NAME = {command.name: command for command in COMMANDS}

def _global_options(parser: argparse.ArgumentParser, default) -> None:
    """The options every command takes, before or after its name (``s3 cp a b -v``)."""
    parser.add_argument("--endpoint-url", metavar="URL", default=default,
                        help="S3-compatible endpoint (default: AWS_ENDPOINT_URL(_S3), else AWS)")
    parser.add_argument("--profile", metavar="NAME", default=default,
                        help="profile of ~/.aws/config and ~/.aws/credentials")
    parser.add_argument("--region", metavar="NAME", default=default,
                        help="AWS region (default: the configured one, else us-east-1)")
    parser.add_argument("--no-sign-request", action="store_true", default=default or False,
                        help="send requests unsigned, without credentials (public buckets), as aws does")
    parser.add_argument("--no-verify-ssl", action="store_true", default=default or False,
                        help="do not verify TLS certificates (a warning says so), as aws does")
    parser.add_argument("--ca-bundle", metavar="PEM", default=default,
                        help="trust this CA bundle instead of the default ones (default: AWS_CA_BUNDLE, "
                             "the profile's ca_bundle)")
    parser.add_argument("--list-workers", type=_int_between(1, 256), metavar="N", default=default,
                        help="list a long S3 prefix in N concurrent streams, merged in key order "
                             "(default: 16 once the first page of 1,000 keys is full; 1: one stream)")
    # counted apart before and after the command (argparse would restart the count): see core._verbosity
    parser.add_argument("-v", "--verbose", action="count", dest="verbose" if default is None else "verbose_after",
                        default=0 if default is None else default,
                        help="-v: a line per file and the summary, tracebacks on errors; -vv: debug logs of "
                             "baiji and botocore on stderr too (secrets redacted)")
    parser.add_argument("--debug", action="store_true", default=default or False, help="the same as -vv")
    parser.add_argument("-q", "--quiet", action="store_true", default=default or False,
                        help="not even rm -r's [deleted] lines, summaries or progress bars; errors and "
                             "warnings still print")
    parser.add_argument("--log-file", metavar="PATH", default=default,
                        help="append the -v lines, warnings and errors to PATH, each after its UTC time")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="S3 keys and local paths, interchangeable. "
                               "Every KEY may be an s3://bucket/key URL or a local path.")
    _global_options(parser, None)
    # after the command name too; SUPPRESS: one not given there keeps the value given before it
    after = argparse.ArgumentParser(add_help=False)
    _global_options(after, argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"%(prog)s {baiji.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        # ignore[arg-type]: mypy types the dict's value for every keyword; only help= is in it
        sub = subparsers.add_parser(command.name, **({"help": command.help} if command.help else {}),  # type: ignore[arg-type]
                                    description=command.help,
                                    parents=[after])
        groups = {flag: group for group, flags in
                  ((sub.add_mutually_exclusive_group(), flags) for flags in command.exclusive)
                  for flag in flags}
        for a in command.args:
            dest = a.flags[-1].lstrip("-").replace("-", "_")
            options = {"type": _path, **a.options} if dest in command.paths else a.options
            groups.get(a.flags[0], sub).add_argument(*a.flags, **options)
        sub.set_defaults(_command=command, _parser=sub)
    return parser
