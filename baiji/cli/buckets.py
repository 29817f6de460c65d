"""The commands about buckets and what they hold as a whole: ``buckets``, ``restore``, ``uploads``."""

from __future__ import annotations

from baiji.cli.context import EXIT_OK, EXIT_USAGE, Context, UsageError, _given, _refuse_flags
from baiji.cli.output import PROG, format_time
from baiji.cli.transfer import _bulk
from baiji.report import human_size


def _print_buckets(ctx: Context, as_url: bool) -> None:
    """The buckets: one name (``s3://NAME`` if ``as_url``) per line; with --json
    ``{"name", "uri", "creation_date"}`` objects."""
    if ctx.args.json:
        for bucket in ctx.conn.list_buckets(detail=True):
            ctx.print_json({"name": bucket["name"], "uri": f"s3://{bucket['name']}",
                            "creation_date": bucket["creation_date"]})
        return
    for name in ctx.conn.list_buckets():
        ctx.print(f"s3://{name}" if as_url else name)

#: The value of ``--create``/``--delete``/``--info`` given without NAME right after it
#: (``buckets --delete -f NAME``): the NAME is the positional argument.
_NAME_AFTER = True
_BUCKET_ACTIONS = ("create", "delete", "info")

def _bucket_name(a) -> None:
    """Set the NAME given apart (``buckets --delete -f NAME``) on its option; UsageError when
    it is missing, given twice, or given without --create, --delete or --info."""
    action = next((name for name in _BUCKET_ACTIONS if getattr(a, name) is not None), None)
    if action is None and a.name:
        raise UsageError(f"{a.name}: a bucket NAME needs --create, --delete or --info")
    if action is not None and getattr(a, action) is _NAME_AFTER:
        if not a.name:
            raise UsageError(f"--{action}: expected a bucket NAME")
        setattr(a, action, a.name)
    elif a.name:
        assert action is not None  # no action with a NAME was refused above
        raise UsageError(f"--{action} {getattr(a, action)}: one bucket NAME only, not also {a.name}")
    a.name = None

def cmd_buckets(ctx: Context, a) -> int:
    _bucket_name(a)
    if not a.create:
        _refuse_flags(a, ("--no-versioning",), "for a bucket being created: needs --create")
    if not a.delete:
        _refuse_flags(a, ("--force",), "empties a bucket being deleted: needs --delete")
    if a.create or a.delete:
        _refuse_flags(a, ("--json",), "formats the list of buckets or --info: not --create or --delete")
    if a.create:
        ctx.conn.create_bucket(a.create, versioned=not a.no_versioning)
    elif a.delete:
        _delete_bucket(ctx, a.delete, a.force)
    elif a.info:
        info = ctx.conn.bucket_info(a.info)
        if a.json:
            ctx.print_json(info)
        else:
            ctx.print_mapping(info)
    else:
        _print_buckets(ctx, as_url=False)
    return EXIT_OK

def _delete_bucket(ctx: Context, name: str, force: bool) -> None:
    """``buckets --delete``: without -f, a bucket holding keys is refused, or, when stdin is a
    terminal, the user is asked once whether to delete them all first."""
    from baiji.buckets import bucket_url
    from baiji.exceptions import BucketNotEmpty
    from baiji.removal import confirm  # the prompt of rm -r

    url = bucket_url(name)  # the library's reading of NAME (s3://NAME, ValueError for a key)
    try:
        deleted = ctx.conn.delete_bucket(name, force=force)
    except BucketNotEmpty as refusal:
        if force or refusal.held is None or not ctx.stdin_is_terminal:
            raise
        if not confirm(f"{url} holds {refusal.held} keys/versions: delete them all, then the bucket? [y/N] "):
            return
        deleted = ctx.conn.delete_bucket(name, force=True)
    ctx.print(f"[deleted] {url}" + (f" (and the {deleted} keys/versions it held)" if deleted else ""))

def cmd_restore(ctx: Context, a) -> int:
    for url in ctx.conn.restore_r(a.prefix):
        ctx.print(f"[restored] {url}")
    return EXIT_OK

def cmd_uploads(ctx: Context, a) -> int:
    if a.abort:
        _refuse_flags(a, ("--bytes",), "sizes are listed, not aborted: not with --abort")
        _bulk(ctx, a, ctx.conn.abort_uploads, a.prefix, always=("abort", "fail"), summary=True,
              **_given(older_than=a.older_than))
        return EXIT_OK
    for upload in ctx.conn.uploads(a.prefix, **_given(older_than=a.older_than)):
        if a.json:
            ctx.print_json(upload)
            continue
        size = str(upload["size"]) if a.bytes else human_size(upload["size"])
        resumable = [f"resumable: {upload['resumable']}"] if upload["resumable"] else []
        ctx.print("\t".join([size, format_time(upload["initiated"]), str(upload["parts"]), upload["uri"],
                             upload["upload_id"], *resumable]))
    return EXIT_OK

#: What baiji calls aws's bucket commands.
_BAIJI_NAMES = {"mb": "s3 buckets --create NAME (versioned unless --no-versioning)",
                "rb": "s3 buckets --delete NAME (-f to delete what it holds first)"}

def cmd_not_here(ctx: Context, a) -> int:
    """``s3 mb`` and ``s3 rb``: aws's names; one line naming baiji's (status 2, like a usage error)."""
    ctx.stderr.write(f"{PROG}: error: there is no 's3 {a.command}' in baiji: use {_BAIJI_NAMES[a.command]}\n")
    return EXIT_USAGE
