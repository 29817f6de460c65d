"""Filters: the paths ``exclude=``/``include=`` (``--exclude``/``--include``) select. Pure.

The rule is order-free, so the API's two lists and the command line agree:
a path is selected when it matches no ``exclude`` pattern and, if any
``include`` pattern is given, at least one of those.  Excludes win.

Patterns are :func:`fnmatch.fnmatchcase` globs (case-sensitive; ``*`` also
matches ``/``, so ``*.tmp`` matches ``a/b/c.tmp``; ``**`` is the same as
``*``) matched against the path relative to the source, ``/``-separated.
A pattern ending in ``/`` matches a directory (its path without the slash)
and everything under it.  A leading ``./`` is dropped.  ``ValueError`` for an
empty pattern, one starting with ``/`` (paths are relative), and an include
beside an exclude ``*`` (aws's ``--exclude '*' --include '*.txt'``, which
selects nothing here: write ``--include '*.txt'``).

A directory whose every path is excluded (``build/``, ``build/*``) is pruned:
a local listing never enters it.  Includes never prune.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line checks patterns with this module before it needs the stores
    from baiji.stores.base import Entry
    from baiji.sync.plan import Item


def _problem(pattern: str) -> str | None:
    """Why ``pattern`` is refused (empty, ``./`` alone, starting with ``/`` once ``./`` is dropped), or None."""
    if not isinstance(pattern, str) or not pattern:
        return "expected a non-empty pattern"
    body = _without_dot_slash(pattern)
    if not body:
        return "matches no path below the source"
    if body.startswith("/"):
        return "patterns match paths relative to the source: drop the leading /"
    return None


def _without_dot_slash(pattern: str) -> str:
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return pattern


def checked(pattern: str, kind: str) -> str:
    """``pattern`` without its leading ``./``; ``ValueError`` naming ``kind`` if it is refused."""
    why = _problem(pattern)
    if why:
        raise ValueError(f"{kind} pattern {pattern!r}: {why}")
    return _without_dot_slash(pattern)


def _parents(rel: str) -> Iterator[str]:
    """The directories ``rel`` lies in: ``a/b/c`` -> ``a``, ``a/b`` (``sub/`` -> ``sub``)."""
    at = rel.find("/")
    while at != -1:
        yield rel[:at]
        at = rel.find("/", at + 1)


class _Patterns:
    """One list of patterns: the ones for paths, and the bodies of the directory ones (``d/``)."""

    def __init__(self, patterns: str | Iterable[str] | None, kind: str):
        if isinstance(patterns, str):
            patterns = [patterns]
        found = [checked(p, kind) for p in patterns or ()]
        self.paths = [p for p in found if not p.endswith("/")]
        self.dirs = [p[:-1] for p in found if p.endswith("/")]

    def __bool__(self) -> bool:
        return bool(self.paths or self.dirs)

    def match(self, rel: str) -> bool:
        """Whether ``rel`` matches a path pattern, or a directory pattern matches a directory it lies in."""
        return (any(fnmatchcase(rel, p) for p in self.paths)
                or any(fnmatchcase(d, p) for d in _parents(rel) for p in self.dirs))

    def cover(self, rel_dir: str) -> bool:
        """Whether every path under the directory ``rel_dir`` matches: a directory pattern matches
        it (or a directory it lies in), or a pattern ending in ``*`` matches ``rel_dir/`` (the
        ``*`` then matches whatever follows)."""
        return (any(fnmatchcase(rel_dir + "/", p) for p in self.paths if p.endswith("*"))
                or any(fnmatchcase(d, p) for d in _parents(rel_dir + "/") for p in self.dirs))


class Selector:
    """The paths ``exclude`` and ``include`` (each a pattern or a list of them) select."""

    def __init__(self, exclude: str | Iterable[str] | None = None, include: str | Iterable[str] | None = None):
        self._exclude, self._include = _Patterns(exclude, "exclude"), _Patterns(include, "include")
        everything = next((p for p in self._exclude.paths if set(p) == {"*"}), None)
        if everything and self._include:  # aws's idiom, which here would select nothing at all
            raise ValueError(f"exclude {everything!r} excludes every path, and excludes win: no include "
                             "can select anything (give the include patterns alone)")

    def __bool__(self) -> bool:
        """Whether any pattern was given (without one, everything is selected)."""
        return bool(self._exclude or self._include)

    def selects(self, rel: str) -> bool:
        """Whether the path ``rel`` (relative, ``/``-separated) is selected."""
        return not self._exclude.match(rel) and (not self._include or self._include.match(rel))

    def prunes(self, rel_dir: str) -> bool:
        """Whether no path under the directory ``rel_dir`` (no trailing ``/``) can be selected,
        so it need not be listed or entered.  Decided from the excludes alone: an include
        never prunes (``*.txt`` may match anything in any directory)."""
        return self._exclude.cover(rel_dir)

    @property
    def prune(self) -> Callable[[str], bool] | None:
        """The hook a local listing calls per directory (see :meth:`prunes`), None when nothing can prune."""
        return self.prunes if self._exclude else None

    def _keeps(self, rel: str, is_dir: bool) -> bool:
        return not self.prunes(rel.rstrip("/")) if is_dir else self.selects(rel)

    def items(self, items: Iterable[Item]) -> Iterable[Item]:
        """The selected ``(rel, entry)`` items; a problem directory (``rel`` ending in ``/``) is
        kept unless pruned, since it may hide selected files."""
        if not self:
            return items
        return (item for item in items if self._keeps(item[0], item[0].endswith("/")))

    def entries(self, entries: Iterable[Entry], base: str, sep: str = "/") -> Iterable[Entry]:
        """The selected entries of a listing, each path taken relative to ``base`` (a listed file
        that is ``base`` itself: its name).  Directories (a shallow listing's, a problem one) are
        kept unless pruned; a key ending in ``/`` (a directory marker) is a path like any other."""
        if not self:
            return entries
        return (entry for entry in entries if self._keeps(*self._relative(entry, base, sep)))

    @staticmethod
    def _relative(entry: Entry, base: str, sep: str) -> tuple[str, bool]:
        url = entry.url
        rel = url[len(base):] if url.startswith(base) else url.rstrip(sep).rsplit(sep, 1)[-1]
        rel = rel.replace(sep, "/") if sep != "/" else rel
        return rel, entry.is_dir or (entry.problem is not None and rel.endswith("/"))
