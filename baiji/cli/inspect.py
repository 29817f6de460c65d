"""The commands that read: ``ls``, ``du``, ``info``, ``cat``, ``exists``, ``url``, ``md5``,
``etag``, ``is``, ``version``."""

from __future__ import annotations

import baiji
from baiji.cli.buckets import _print_buckets
from baiji.cli.context import EXIT_FAILURE, EXIT_OK, Context, _filters, _given, _refuse_flags
from baiji.cli.output import format_time
from baiji.report import human_size


def _ls_json(entry: dict, a) -> dict:
    """An ``ls --json`` object: what the listing tells, ``encrypted`` with -l (a HEAD per key),
    the version fields with --list-versions."""
    fields = ["uri", "size", "last_modified"]
    fields += ["encrypted"] if a.detail else []
    fields += ["version_id", "is_latest", "delete_marker"] if a.list_versions else []
    return {name: entry.get(name) for name in fields}

class _Totals:
    """What ``ls --summarize`` counts: the objects listed (not sub-prefixes) and their bytes."""

    def __init__(self, entries):
        self.objects = self.size = 0
        self._entries = entries

    def __iter__(self):
        for entry in self._entries:
            if entry.get("size") is not None:
                self.objects += 1
                self.size += entry["size"]
            yield entry

def _print_totals(ctx: Context, a, totals: _Totals) -> None:
    """aws's totals lines (``Total Objects: N``, ``   Total Size: SIZE``), or one ``--json`` object."""
    if a.json:
        ctx.print_json({"total_objects": totals.objects, "total_size": totals.size})
        return
    ctx.print()
    ctx.print(f"Total Objects: {totals.objects}")
    ctx.print(f"   Total Size: {totals.size if a.bytes else human_size(totals.size)}")

def cmd_ls(ctx: Context, a) -> int:
    if not (a.detail or a.list_versions or a.json or a.summarize):
        _refuse_flags(a, ("--bytes",), "exact sizes in the -l layout: needs -l, --list-versions or --summarize")
    if a.key in (None, "s3://"):  # as `aws s3 ls` does
        _refuse_flags(a, ("--exclude", "--include"), "filters select keys under a prefix: needs KEY")
        _refuse_flags(a, ("--summarize",), "totals of the keys under a prefix: needs KEY")
        _print_buckets(ctx, as_url=True)
        return EXIT_OK
    if a.uri:
        ctx.warn("-B/--uri is deprecated and does nothing: ls always prints full URLs")
    if not (a.detail or a.list_versions or a.json or a.summarize):  # the listing's URLs alone
        for url in ctx.conn.ls(a.key, return_full_urls=True, shallow=a.shallow, **_filters(a)):
            ctx.print(url)
        return EXIT_OK
    entries = _Totals(ctx.conn.ls_info(a.key, shallow=a.shallow, list_versions=a.list_versions,
                                       encryption=a.detail or (a.list_versions and not a.json), **_filters(a)))
    for entry in entries:
        _print_entry(ctx, a, entry)
    if a.summarize:
        _print_totals(ctx, a, entries)
    return EXIT_OK

def _print_entry(ctx: Context, a, entry: dict) -> None:
    """One key of ``ls``: its ``--json`` object, its ``-l`` line, or its URL."""
    if a.json:
        ctx.print_json(_ls_json(entry, a))
    elif a.detail or a.list_versions:
        size = entry.get("size")
        columns = [
            ("" if size is None else str(size)) if a.bytes else human_size(size),
            format_time(entry.get("last_modified")),
            "enc" if entry.get("encrypted") else "",
            entry["uri"],
        ]
        if a.list_versions:
            flags = [name for name, on in (("latest", entry.get("is_latest")),
                                           ("delete-marker", entry.get("delete_marker"))) if on]
            columns += [entry.get("version_id") or "", ",".join(flags)]
        ctx.print("\t".join(columns))
    else:
        ctx.print(entry["uri"])

def cmd_du(ctx: Context, a) -> int:
    """``SIZE\tFILES\tURL`` per sub-prefix one level down (not with -s), then the prefix's total."""
    for usage in ctx.conn.du(a.key, sub_prefixes=not a.summarize, **_filters(a)):
        if a.json:
            ctx.print_json(usage._asdict())
        else:
            ctx.print(f"{usage.size if a.bytes else human_size(usage.size)}\t{usage.files}\t{usage.uri}")
    return EXIT_OK

def cmd_info(ctx: Context, a) -> int:
    details = ctx.conn.info(a.key)
    if a.json:
        ctx.print_json(details)
    else:
        ctx.print_mapping(details)
    return EXIT_OK

def cmd_cat(ctx: Context, a) -> int:
    ctx.conn.download_fileobj(a.key, ctx.out.raw())
    return EXIT_OK

def cmd_exists(ctx: Context, a) -> int:
    found = ctx.conn.exists(a.key, **_given(retries_allowed=a.retries, version_id=a.version_id))
    return EXIT_OK if found else EXIT_FAILURE

def cmd_url(ctx: Context, a) -> int:
    ctx.print(ctx.conn.get_url(a.key, a.expire))
    return EXIT_OK

def cmd_md5(ctx: Context, a) -> int:
    ctx.print(ctx.conn.md5(a.key))
    return EXIT_OK

def cmd_etag(ctx: Context, a) -> int:
    if a.fix:
        old, new = ctx.conn.fix_etag(a.key)
        ctx.print(f"etag updated from {old} to {new}" if new != old else f"etag unchanged: {old}")
    else:
        ctx.print(ctx.conn.etag(a.key))
    return EXIT_OK

def cmd_is(ctx: Context, a) -> int:
    if ctx.conn.same_content(a.key, a.other):
        ctx.print("files match")
        return EXIT_OK
    ctx.print("files DO NOT match")
    return EXIT_FAILURE

def cmd_version(ctx: Context, a) -> int:
    ctx.print(baiji.__version__)
    return EXIT_OK
