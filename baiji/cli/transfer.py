"""The commands that write: ``cp``, ``mv``, ``rm``, ``sync``, ``touch``.

Also how a bulk operation's events are shown (:func:`_bulk`): per file a
``--json`` object or, with ``-v``, an ``[copied] SRC -> DST`` line; a dry
run's plan; the summary line.
"""

from __future__ import annotations

import argparse

from baiji.cli.cluster import executor
from baiji.cli.context import EXIT_OK, CommandError, Context, UsageError, _filters, _given, _refuse_flags
from baiji.cli.output import PROG, _isatty, _one_line, described
from baiji.report import ACTIONS, Event, Resumed


def _write_options(a: argparse.Namespace) -> dict:
    """The library keywords of the options of what is written (only those given), shared by cp, mv
    and sync; contradictions are usage errors."""
    if a.no_encrypt and a.sse:
        raise UsageError("--no-encrypt and --sse contradict each other")
    if a.sse_kms_key_id and a.sse != "aws:kms":
        raise UsageError("--sse-kms-key-id: needs --sse aws:kms")
    if a.content_type and a.guess_content_type:
        raise UsageError("--content-type and -g/--guess-content-type contradict each other")
    options = _given(policy=a.policy, encoding=a.encoding, content_type=a.content_type,
                     guess_content_type=a.guess_content_type, metadata=dict(a.metadata) if a.metadata else None,
                     cache_control=a.cache_control, content_disposition=a.content_disposition, expires=a.expires,
                     storage_class=a.storage_class, sse=a.sse, sse_kms_key_id=a.sse_kms_key_id)
    if a.no_encrypt:
        options["encrypt"] = False
    if getattr(a, "no_resume", False):
        options["resume"] = False
    return options

def _cp_options(a: argparse.Namespace) -> dict:
    """The library keywords of cp/mv's options (only those given)."""
    return {**_given(force=a.force, skip=getattr(a, "skip", None), preserve_acl=getattr(a, "preserve_acl", None),
                     gzip=a.gzip), **_write_options(a)}

def cmd_cp(ctx: Context, a) -> int:
    if a.src == "-" and a.dst == "-":
        raise UsageError("SRC and DST cannot both be - (stdin/stdout)")
    if not (a.recursive or a.recursive_parallel):
        _refuse_flags(a, ("--workers", "--executor"), "copies of a tree run several at a time: needs -r or -R")
        _refuse_flags(a, ("--dry-run",), "a dry run plans the copies of a tree: needs -r or -R")
        _refuse_flags(a, ("--exclude", "--include"), "filters select files of a tree: needs -r or -R")
    if a.src == "-":
        _refuse_flags(a, ("--recursive", "--recursive-parallel", "--preserve-acl", "--version-id"),
                      "not possible when reading stdin")
        ctx.conn.upload_fileobj(ctx.stdin_binary, a.dst, **_cp_options(a))
        if a.json:  # the size stored (one HEAD or stat, only for --json): stdin's length is not known before
            ctx.print_json(_event_object(Event("copy", "-", a.dst, size=ctx.conn.size(a.dst))))
    elif a.dst == "-":
        _refuse_flags(a, ("--recursive", "--recursive-parallel", "--skip", "--preserve-acl", "--no-encrypt",
                          "--gzip", "--policy", "--encoding", "--json"), "not possible when writing to stdout")
        ctx.conn.download_fileobj(a.src, ctx.out.raw(), **_given(version_id=a.version_id))
    elif a.recursive or a.recursive_parallel:
        _refuse_flags(a, ("--version-id",), "selects one key: not possible with -r/-R")
        with executor(a.executor, check_only=a.dry_run) as cluster:
            _bulk(ctx, a, ctx.conn.cp_r, a.src, a.dst, parallel=a.recursive_parallel, **_given(
                progress=ctx.progress(), workers=a.workers, dry_run=a.dry_run, executor=cluster), **_filters(a),
                **_cp_options(a))
    else:
        copied = ctx.conn.cp(a.src, a.dst, **_given(progress=ctx.progress(), version_id=a.version_id),
                             **_cp_options(a))
        # the size copied, only for --json: the source's (a stat, or a HEAD)
        size = ctx.conn.size(a.src, **_given(version_id=a.version_id)) if a.json and copied else None
        _one_file(ctx, a, Event("resume", a.src, a.dst, copied.reason, size) if isinstance(copied, Resumed)
                  else Event("copy", a.src, a.dst, size=size) if copied
                  else Event("skip", a.src, a.dst, "already exists"))
    return EXIT_OK

def _one_file(ctx: Context, a, event) -> None:
    """What cp or rm of one file did: a ``--json`` object, or with ``-v`` its line; in the log in any case."""
    if a.json:
        ctx.print_json(_event_object(event))
    ctx.event(event, shown=bool(ctx.args.verbose) and not a.json)

def cmd_mv(ctx: Context, a) -> int:
    _print_planned(ctx, a, ctx.conn.mv(a.src, a.dst, **_given(progress=ctx.progress(), dry_run=a.dry_run),
                                       **_cp_options(a)))
    return EXIT_OK

def _event_object(event, dry_run: bool = False) -> dict:
    """An event as ``--json`` prints it: every field, ``null`` where there is none."""
    return {"action": event.action, "src": event.src, "dst": event.dst, "size": event.size,
            "reason": event.reason or None, **({"dry_run": True} if dry_run else {})}

def _print_planned(ctx: Context, a, planned) -> None:
    """A dry run's plan, one line (or ``--json`` object) per step; nothing when the command ran for real."""
    for step in planned or ():
        if getattr(a, "json", False):
            ctx.print_json(_event_object(step, dry_run=True))
            continue
        ctx.print(_one_line(f"(dry run) {step.action} {described(step)}"))
    refused = sum(step.action == "refuse" for step in planned or ())
    if refused:  # the real run would fail (status 1): so does its dry run, for `s3 sync -n ... && s3 sync ...`
        raise CommandError(f"dry run: {refused} of {len(planned)} steps refused; the real run would fail")

def _bulk(ctx: Context, a, operation, *args, always: tuple[str, ...] = (), summary: bool = False,
          **kwargs) -> None:
    """Run a bulk operation (cp_r, sync, rm_r, abort_uploads) with the command's output: per file
    a ``--json`` object, or with ``-v`` a line (``always`` for those actions, unless ``-q``); a
    dry run's plan; at the end, when stderr is a terminal or with ``-v`` (or ``summary``), the
    summary.  The log file (``--log-file``) gets every line, whatever is shown."""
    shown = set() if ctx.args.quiet else set(ACTIONS if ctx.args.verbose else always)

    def on_event(event) -> None:
        if a.json:
            ctx.print_json(_event_object(event))
        ctx.event(event, shown=event.action in shown and not a.json)
    from baiji.connection import BulkCopyError  # loaded already: the operation is the connection's

    try:
        result = operation(*args, on_event=on_event, **kwargs)
    except BulkCopyError as err:
        _print_summary(ctx, err.report, summary)
        raise
    if isinstance(result, list):
        _print_planned(ctx, a, result)
    else:
        _print_summary(ctx, result, summary)

def _print_summary(ctx: Context, report, always: bool = False) -> None:
    """The summary line: on stderr when it is a terminal, with ``-v`` or when ``always`` (never with
    ``-q``); in the log file in any case."""
    if report is None:
        return
    ctx.log(report.summary())
    if not ctx.args.quiet and (always or ctx.args.verbose or _isatty(ctx.stderr)):
        ctx.out.flush()
        ctx.stderr.write(f"{PROG}: {report.summary()}\n")

def cmd_rm(ctx: Context, a) -> int:
    if not a.recursive:
        _refuse_flags(a, ("--max-delete", "--executor", "--dry-run", "--exclude", "--include"),
                      "for a recursive removal: needs -r")
        ctx.conn.rm(a.key, **_given(version_id=a.version_id))
        _one_file(ctx, a, Event("delete", None, a.key))
        return EXIT_OK
    _refuse_flags(a, ("--version-id",), "selects one key: not possible with -r")
    if not a.force:
        _refuse_flags(a, ("--executor",), "keys confirmed one by one are deleted here: needs -f")
    if not a.force and not a.dry_run and not ctx.stdin_is_terminal:
        raise CommandError(f"refusing to remove {a.key} recursively: stdin is not a terminal "
                           "to confirm each key (use -f/--force to delete without asking)")
    with executor(a.executor, check_only=a.dry_run or not a.force) as cluster:
        _bulk(ctx, a, ctx.conn.rm_r, a.key, force=a.force, quiet=True, always=("delete",),
              **_given(max_delete=a.max_delete, dry_run=a.dry_run, executor=cluster), **_filters(a))
    return EXIT_OK

def cmd_sync(ctx: Context, a) -> int:
    if a.no_delete:
        _refuse_flags(a, ("--delete", "--do-not-delete", "--max-delete"), "nothing is deleted with --no-delete")
    options = _given(progress=ctx.progress(), do_not_delete=a.do_not_delete or None, max_delete=a.max_delete,
                     workers=a.workers, dry_run=a.dry_run, **_filters(a), **_write_options(a))
    if a.no_delete:
        options["delete"] = False
    with executor(a.executor, check_only=a.dry_run) as cluster:
        _bulk(ctx, a, ctx.conn.sync, a.src, a.dst, **options, **_given(executor=cluster))
    return EXIT_OK

def cmd_touch(ctx: Context, a) -> int:
    ctx.conn.touch(a.key)
    return EXIT_OK
