"""Progress reporting: callbacks for the library, tqdm bars only when asked for."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

ProgressArg = bool | Callable[[int], None] | None


@contextlib.contextmanager
def reporter(progress: ProgressArg, total: int | None = None, desc: str | None = None,
             unit: str = "B") -> Iterator[Callable[[int], None] | None]:
    """A callback for ``progress``: None if falsy, itself if callable, a tqdm bar on stderr if True."""
    if not progress:
        yield None
    elif callable(progress):
        yield progress
    else:
        from tqdm import tqdm  # imported only when a bar is wanted

        scale = unit == "B"
        with tqdm(total=total, desc=desc, unit=unit, unit_scale=scale, unit_divisor=1024 if scale else 1000,
                  file=sys.stderr, leave=False, dynamic_ncols=True) as bar:
            yield bar.update
