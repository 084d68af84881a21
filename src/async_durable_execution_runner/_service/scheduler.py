"""Timers and pending work, and the seam that chooses which due item is delivered next."""

from __future__ import annotations

import datetime as _dt
import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol


class DueKind(str, Enum):
    INVOCATION = "invocation"  # (re-)invoke the handler
    WAIT = "wait"  # a WAIT's ScheduledEndTimestamp
    RETRY = "retry"  # a STEP's NextAttemptTimestamp
    CALLBACK_TIMEOUT = "callback_timeout"
    CALLBACK_HEARTBEAT = "callback_heartbeat"
    EXECUTION_TIMEOUT = "execution_timeout"
    EXTERNAL = "external"  # something a test scheduled (a callback delivery, an invoke result)


@dataclass(frozen=True, slots=True, order=True)
class DueItem:
    due: _dt.datetime
    seq: int
    kind: DueKind = field(compare=False)
    execution_arn: str = field(compare=False)
    operation_id: str | None = field(compare=False, default=None)
    label: str = field(compare=False, default="")


class SchedulerPolicy(Protocol):
    """Chooses which of several due items is delivered next.

    ``window`` widens "due": items whose deadlines are within ``window`` of the earliest are
    offered together, so near-equal deadlines can be permuted, not just sorted.
    """

    window: _dt.timedelta

    def choose(self, candidates: Sequence[DueItem]) -> DueItem: ...


class EarliestFirst:
    """The service's own order: earliest deadline, then the order items were scheduled."""

    window = _dt.timedelta(0)

    def choose(self, candidates: Sequence[DueItem]) -> DueItem:
        return min(candidates)


class Scheduler:
    """A priority queue of ``DueItem``s, with cancellation by operation."""

    def __init__(self) -> None:
        self._heap: list[DueItem] = []
        self._cancelled: set[int] = set()
        self._seq = itertools.count(1)

    def schedule(
        self,
        due: _dt.datetime,
        kind: DueKind,
        execution_arn: str,
        operation_id: str | None = None,
        label: str = "",
    ) -> DueItem:
        item = DueItem(due, next(self._seq), kind, execution_arn, operation_id, label)
        heapq.heappush(self._heap, item)
        return item

    def cancel(self, item: DueItem) -> None:
        self._cancelled.add(item.seq)

    def cancel_where(
        self, execution_arn: str, operation_id: str | None = None, kinds: set[DueKind] | None = None
    ) -> None:
        for item in self._heap:
            if item.execution_arn != execution_arn:
                continue
            if operation_id is not None and item.operation_id != operation_id:
                continue
            if kinds is not None and item.kind not in kinds:
                continue
            self._cancelled.add(item.seq)

    def _prune(self) -> None:
        while self._heap and self._heap[0].seq in self._cancelled:
            self._cancelled.discard(heapq.heappop(self._heap).seq)

    def next_due(self) -> DueItem | None:
        self._prune()
        return self._heap[0] if self._heap else None

    def due_by(self, instant: _dt.datetime) -> list[DueItem]:
        """Live items whose deadline is at or before ``instant``, earliest first."""
        self._prune()
        return sorted(i for i in self._heap if i.due <= instant and i.seq not in self._cancelled)

    def take(self, item: DueItem) -> None:
        """Remove a delivered item."""
        self._cancelled.add(item.seq)
        self._prune()

    def pending(self, execution_arn: str | None = None) -> list[DueItem]:
        self._prune()
        return sorted(
            i
            for i in self._heap
            if i.seq not in self._cancelled
            and (execution_arn is None or i.execution_arn == execution_arn)
        )

    def __len__(self) -> int:
        return len(self.pending())
