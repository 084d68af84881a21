"""Log records the SDK emits because of an injected fault, held back from the log.

Every injected fault makes the SDK log what it would log in production (``Checkpoint batch
processing failed``, ``failed step`` with a traceback), once per run, and Hypothesis runs
hundreds while it shrinks: a failing property's output drowned in them. During a scenario
run, a filter on the SDK's loggers keeps each record it can trace to an injected fault,
and lets every other record through untouched. ``Outcome.report()`` summarises what it kept,
one line per fault.

A record is traced to a fault by what its message and exception chain say: the harness
words every injected error with the fault's ``repr`` ("injected by step_exception(step=1,
attempt=1)"); failing that, each kind names the text its records carry (``log_markers``:
"(injected)" for a service error, a stale checkpoint token after a duplicated invocation,
a callback time-out after a timed-out callback), and the latest applied fault whose kind
names a marker found is the cause.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from types import TracebackType

from async_durable_execution_runner._harness.faults.kinds import FAULT_KINDS, FaultKind

#: Loggers whose records may be held back: the SDK's, and asyncio's ("Task exception was
#: never retrieved" for a task an injected fault failed).
_NAMESPACES = ("async_durable_execution", "asyncio")
_WIDTH = 80
_MARKERS = tuple(dict.fromkeys(m for cls in FAULT_KINDS.values() for m in cls.log_markers))
_INJECTED = re.compile(r"injected (?:by )?(\w+\([^()]*\))")


def _texts(record: logging.LogRecord) -> Iterator[str]:
    yield record.getMessage()
    error = record.exc_info[1] if record.exc_info else None
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield str(error)
        error = error.__cause__ or error.__context__


def cause(record: logging.LogRecord, applied: Sequence[FaultKind]) -> FaultKind | None:
    """The applied fault ``record`` was logged because of, if it can be told."""
    if not applied:
        return None
    texts = list(_texts(record))
    by_repr = {repr(f): f for f in applied}
    for text in texts:
        for match in _INJECTED.finditer(text):
            if match.group(1) in by_repr:
                return by_repr[match.group(1)]

    # What a record says when the fault's repr is not in it, strongest first: the markers of
    # every kind, in the order of the registry.
    for marker in _MARKERS:
        if any(marker in t for t in texts):
            return next((f for f in reversed(applied) if marker in f.log_markers), None)
    return None


_SEEN: list[tuple[int, list[logging.Logger]]] = []


def _loggers() -> list[logging.Logger]:
    """The loggers of ``_NAMESPACES`` that exist (the SDK creates its own as it imports): found
    again only when a logger was added, since a scenario run asks for them every time."""
    registry = logging.root.manager.loggerDict
    if not _SEEN or _SEEN[0][0] != len(registry):
        names = [
            name
            for name in list(registry)
            if any(name == n or name.startswith(n + ".") for n in _NAMESPACES)
        ]
        _SEEN[:] = [(len(registry), [logging.getLogger(n) for n in {*_NAMESPACES, *names}])]
    return _SEEN[0][1]


class FaultLogs(logging.Filter):
    """Holds back, per run, the records its faults caused (a filter on the SDK's loggers)."""

    def __init__(self, applied: Sequence[FaultKind]) -> None:
        super().__init__()
        #: The run's applied faults, as they grow.
        self.applied = applied
        #: Per fault, in the order first seen: "LEVEL first line of the message" per record.
        self.held: dict[FaultKind, list[str]] = {}
        self._loggers: list[logging.Logger] = []

    def filter(self, record: logging.LogRecord) -> bool:
        fault = cause(record, self.applied)
        if fault is None:
            return True
        message = record.getMessage()
        line = message.splitlines()[0] if message else ""
        if len(line) > _WIDTH:
            line = line[: _WIDTH - 3] + "..."
        self.held.setdefault(fault, []).append(f"{record.levelname} {line}")
        return False

    def __enter__(self) -> FaultLogs:
        self._loggers = _loggers()
        for logger in self._loggers:
            logger.addFilter(self)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for logger in self._loggers:
            logger.removeFilter(self)
        self._loggers = []

    def summary(self) -> list[str]:
        """One line per fault: how many records it caused, and which (deduplicated)."""
        lines = []
        for fault, records in self.held.items():
            distinct = list(dict.fromkeys(records))
            shown = "; ".join(
                f"{r!r}" + (f" x{records.count(r)}" if records.count(r) > 1 else "")
                for r in distinct[:3]
            )
            more = f"; and {len(distinct) - 3} more" if len(distinct) > 3 else ""
            lines.append(f"{fault!r}: {len(records)} record(s): {shown}{more}")
        return lines


class MarkedLogs(logging.Filter):
    """Holds back the records whose message or exception chain carries one of ``markers``:
    for faults applied without a fault plan (the stateful machine's), which name themselves
    in the errors they raise. Installed on the SDK's loggers until ``remove()``."""

    def __init__(self, markers: Sequence[str]) -> None:
        super().__init__()
        self.markers = tuple(markers)
        #: How many records were held back.
        self.held = 0
        self._loggers: list[logging.Logger] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if any(marker in text for text in _texts(record) for marker in self.markers):
            self.held += 1
            return False
        return True

    def install(self) -> None:
        self._loggers = _loggers()
        for logger in self._loggers:
            logger.addFilter(self)

    def remove(self) -> None:
        for logger in self._loggers:
            logger.removeFilter(self)
        self._loggers = []
