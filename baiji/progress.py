"""Progress reporting: callbacks for the library, tqdm bars only when asked for."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator

from baiji.spool import Spool

ProgressArg = bool | Callable[[int], None] | None


def _bar(total: int | None, in_bytes: bool, desc: str | None = None):
    """A tqdm bar on stderr, erased when closed: of bytes (scaled, KiB...), else of files."""
    from tqdm import tqdm  # imported only when a bar is wanted

    return tqdm(total=total, desc=desc, unit="B" if in_bytes else "file", unit_scale=in_bytes,
                unit_divisor=1024, file=sys.stderr, leave=False, dynamic_ncols=True)


@contextlib.contextmanager
def reporter(progress: ProgressArg, total: int | None = None,
             desc: str | None = None) -> Iterator[Callable[[int], None] | None]:
    """A callback of bytes for ``progress``: None if falsy, itself if callable, a tqdm bar on stderr if True."""
    if not progress:
        yield None
    elif callable(progress):
        yield progress
    else:
        with _bar(total, True, desc) as bar:
            yield bar.update


@contextlib.contextmanager
def bulk_progress(progress: ProgressArg, report, totals: tuple[int, int | None] | None) -> Iterator[None]:
    """Show a bulk copy's progress while it runs, from the events ``report`` gets.

    ``progress`` True: a tqdm bar on stderr whose total is ``totals``, the
    planned copies' ``(files, bytes)`` (bytes None when a size is unknown):
    in bytes where known, else in files; every finished copy (copied, skipped
    or failed) moves it, so it ends at its total; it is erased at the end
    (the caller shows the report's summary).  A callable gets the size of
    each file copied (None when unknown).
    """
    if not progress:
        yield
        return
    bar = None
    if callable(progress):
        def show(event) -> None:
            if event.action == "copy":
                progress(event.size)
    else:
        files, size = totals or (None, None)
        in_bytes = size is not None
        bar = _bar(size if in_bytes else files, in_bytes)
        done = 0

        def show(event) -> None:
            nonlocal done
            done += 1
            if in_bytes:
                bar.set_description_str(f"{done}/{files} files", refresh=False)
            bar.update((event.size or 0) if in_bytes else 1)
    report.listen(show)
    try:
        yield
    finally:
        report.listen(show, stop=True)
        if bar is not None:
            bar.refresh()  # its last state drawn (tqdm draws at most every 0.1 s), then erased
            bar.close()


def counted(copies: Iterable[tuple[str, str, int | None]]) -> tuple[Spool, tuple[int, int | None]]:
    """``copies`` (``(src, dst, size)``) planned whole, for a bar with a total: kept on
    disk past a few (:class:`~baiji.spool.Spool`, memory stays flat), with their
    ``(files, bytes)`` (bytes None if a size is unknown); a bar counts them meanwhile."""
    spool = Spool()
    size: int | None = 0
    with _bar(None, False, "planning") as bar:
        for copy in copies:
            spool.add(copy)
            size = None if size is None or copy[2] is None else size + copy[2]
            bar.update()
    return spool, (spool.count, size)
