"""What a bulk operation did: one :class:`Event` per file, summed up in a :class:`Report`.

``cp_many``, ``cp_r``, ``sync``, ``rm_r`` and ``abort_uploads`` return a :class:`Report`
(their dry runs the list of :class:`Event` they would make) and call an
``on_event`` callback per file as it happens: the ``s3`` command prints its
per-file lines, ``--json`` objects and summary line from these, and the
library stays free of output code.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections import namedtuple
from collections.abc import Callable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from types import FrameType

#: An event's ``action``: what happened to the file (in a dry run: what would).
ACTIONS = ("copy", "resume", "skip", "delete", "abort", "refuse", "fail")
_PAST = {"copy": "copied", "resume": "resumed", "skip": "skipped", "delete": "deleted", "abort": "aborted",
         "refuse": "refused", "fail": "failed"}


class Resumed:
    """What ``cp`` returns for a copy that continued an interrupted one (true, like a copy):
    ``there`` of ``size`` bytes were there already."""

    __slots__ = ("there", "size")

    def __init__(self, there: int, size: int):
        self.there, self.size = there, size

    def __bool__(self) -> bool:
        return True

    def __reduce__(self):  # crosses from a worker process
        return Resumed, (self.there, self.size)

    @property
    def reason(self) -> str:
        """``73% already there``: the reason of its ``resume`` event."""
        return f"{100 * self.there // max(self.size, 1)}% already there"

    def __repr__(self) -> str:
        return f"Resumed({self.there}, {self.size})"


# collections' named tuple, not typing's or a dataclass: the s3 command's start-up pays
# for neither ``typing`` nor ``dataclasses`` (see tests/test_startup.py).
class Event(namedtuple("Event", "action src dst reason size", defaults=("", None))):
    """One file's fate: ``action`` (see :data:`ACTIONS`) from ``src`` to ``dst``
    (a deletion has no ``src``), ``reason`` for a skip, refusal or failure (for a
    copy that resumed an interrupted one: how much was there), and ``size`` in
    bytes where the listing told it."""

    __slots__ = ()

    @property
    def past(self) -> str:
        """``copied``, ``skipped``, ...: the action as a finished one."""
        return _PAST[self.action]


Listener = Callable[[Event], None]

#: One step of a dry run: what would happen to one file (see :class:`Event`).
Planned = Event


class Report:
    """Counts and bytes per action of one bulk operation, and the time it took.

    ``failures`` holds ``(url, dst, error)`` of every failed or refused file,
    as :class:`~baiji.connection.BulkCopyError` lists them; ``unchanged``
    counts the files a sync found already equal (no event each).
    """

    def __init__(self, *listeners: Listener | None):
        self.files = dict.fromkeys(ACTIONS, 0)
        self.bytes = dict.fromkeys(ACTIONS, 0)
        self.unchanged = 0
        self.failures: list[tuple[str, str | None, BaseException]] = []
        self.first: dict[str, Event] = {}
        self.seconds = 0.0
        self._listeners = [listener for listener in listeners if listener]
        self._started = time.monotonic()

    def add(self, event: Event, error: BaseException | None = None) -> None:
        """Count ``event`` (with the ``error`` of a failure or refusal) and pass it on."""
        self.files[event.action] += 1
        self.bytes[event.action] += event.size or 0
        self.first.setdefault(event.action, event)
        if error is not None:
            self.failures.append((event.src or event.dst, event.dst if event.src else None, error))
        for listener in self._listeners:
            listener(event)

    def listen(self, listener: Listener, stop: bool = False) -> None:
        """Pass every event from now on to ``listener`` too (until called with ``stop``)."""
        if stop:
            self._listeners.remove(listener)
        else:
            self._listeners.append(listener)

    def done(self) -> Report:
        self.seconds = time.monotonic() - self._started
        return self

    copied = property(lambda self: self.files["copy"], doc="files copied (from the start)")
    resumed = property(lambda self: self.files["resume"],
                       doc="files copied by continuing an interrupted copy (not counted in ``copied``)")
    skipped = property(lambda self: self.files["skip"], doc="files skipped (their destination exists)")
    deleted = property(lambda self: self.files["delete"], doc="files deleted")
    aborted = property(lambda self: self.files["abort"], doc="unfinished multipart uploads aborted")
    refused = property(lambda self: self.files["refuse"], doc="files refused (a problem seen before copying)")
    failed = property(lambda self: self.files["fail"], doc="files whose copy or deletion failed")

    def summary(self) -> str:
        """One line: ``3 copied (12.0 KiB), 300 skipped, 1 failed in 0.4 s``; only what happened."""
        parts = []
        for action in ACTIONS:
            count, size = self.files[action], self.bytes[action]
            if count:
                parts.append(f"{count} {_PAST[action]}" + (f" ({human_size(size)})" if size else ""))
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        return f"{', '.join(parts) or 'nothing to do'} in {self.seconds:.1f} s"

    def __repr__(self) -> str:
        counts = ", ".join(f"{_PAST[action]}={count}" for action, count in self.files.items())
        return f"Report({counts}, unchanged={self.unchanged}, seconds={self.seconds:.2f})"


#: How many paths of one cause a bulk operation's error names before "and N more".
NAMED = 3


def by_cause(failures: list[tuple[str, str | None, BaseException]], limit: int = 20) -> str:
    """The failures of a bulk operation as ``; ``-separated entries, one per cause.

    A cause many files share is one entry naming the first of them:
    ``Permission denied (/dst/a and 301 more)``, or all of them when they are
    :data:`NAMED` or fewer: ``symlink loop (/src/a/, /src/b/)``; a failure alone keeps its
    ``SRC -> DST: WHY`` (or ``WHY`` when it concerns ``src`` alone).  The
    cause is the error's message without the path it starts with: ``src``,
    ``dst`` or a directory on their way (``/dst/d: Permission denied``).  The most
    common causes come first; past ``limit`` entries, ``and N more`` counts
    the failures left out.
    """
    groups: dict[str, list[tuple[str, str | None, str, str]]] = {}
    for src, dst, error in failures:
        text = str(error)
        head, colon, rest = text.partition(": ")
        named = head if colon and head and any(p and p.startswith(head) for p in (dst, src)) else None
        cause = rest if named else text
        groups.setdefault(cause, []).append((src, dst, text, named or dst or src))
    ordered = sorted(groups.items(), key=lambda item: -len(item[1]))
    entries = []
    for cause, members in ordered[:limit]:
        src, dst, text, named = members[0]
        if len(members) > NAMED:
            entries.append(f"{cause} ({named} and {len(members) - 1} more)")
        elif len(members) > 1:
            entries.append(f"{cause} ({', '.join(member[3] for member in members)})")
        else:
            entries.append(f"{src} -> {dst}: {text}" if dst else text)
    left = sum(len(members) for _, members in ordered[limit:])
    return "; ".join(entries) + (f"; and {left} more" if left else "")


def human_size(size: int | None) -> str:
    """``1536`` -> ``'1.5 KiB'``; ``None`` (a "directory") -> ``''``."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024
        if value < 1024 or unit == "PiB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def warn_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` pointing at the first line outside baiji: the caller's, not a library line."""
    frame: FrameType | None
    frame, level = sys._getframe(0), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("baiji."):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
