"""Timers and pending work, and the seam that chooses which due item is delivered next."""

from __future__ import annotations

import datetime as _dt
import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from async_durable_execution_runner._models._frozen import cheap_frozen


class DueKind(str, Enum):
    INVOCATION = "invocation"  # (re-)invoke the handler
    WAIT = "wait"  # a WAIT's ScheduledEndTimestamp
    RETRY = "retry"  # a STEP's NextAttemptTimestamp
    CALLBACK_TIMEOUT = "callback_timeout"
    CALLBACK_HEARTBEAT = "callback_heartbeat"
    EXECUTION_TIMEOUT = "execution_timeout"
    EXTERNAL = "external"  # something a test scheduled (a callback delivery, an invoke result)


@cheap_frozen
@dataclass(frozen=True, slots=True, order=True)
class DueItem:
    due: _dt.datetime
    seq: int
    kind: DueKind = field(compare=False)
    execution_arn: str = field(compare=False)
    operation_id: str | None = field(compare=False, default=None)
    label: str = field(compare=False, default="")


class EarliestFirst:
    """The service's own order: earliest deadline, then the order items were scheduled."""

    window = _dt.timedelta(0)

    def choose(self, candidates: Sequence[DueItem]) -> DueItem:
        return min(candidates)


class Scheduler:
    """A priority queue of ``DueItem``s, with cancellation by execution and operation.

    Live items are indexed by execution, so cancelling or listing one execution's items does
    not scan the others (a runner reused for thousands of executions stays fast).
    """

    def __init__(self) -> None:
        self._heap: list[DueItem] = []
        self._live: dict[int, DueItem] = {}
        self._by_arn: dict[str, dict[int, DueItem]] = {}
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
        self._live[item.seq] = item
        self._by_arn.setdefault(execution_arn, {})[item.seq] = item
        return item

    def cancel(self, item: DueItem) -> None:
        if self._live.pop(item.seq, None) is not None:
            items = self._by_arn.get(item.execution_arn)
            if items is not None:
                items.pop(item.seq, None)
                if not items:
                    del self._by_arn[item.execution_arn]

    def cancel_where(
        self, execution_arn: str, operation_id: str | None = None, kinds: set[DueKind] | None = None
    ) -> None:
        for item in list(self._by_arn.get(execution_arn, {}).values()):
            if operation_id is not None and item.operation_id != operation_id:
                continue
            if kinds is not None and item.kind not in kinds:
                continue
            self.cancel(item)

    def _prune(self) -> None:
        while self._heap and self._heap[0].seq not in self._live:
            heapq.heappop(self._heap)

    def next_due(self) -> DueItem | None:
        self._prune()
        return self._heap[0] if self._heap else None

    def due_by(self, instant: _dt.datetime) -> list[DueItem]:
        """Live items whose deadline is at or before ``instant``, earliest first."""
        self._prune()
        found: list[DueItem] = []
        # Walk the heap, skipping subtrees whose root is already later than ``instant``.
        stack = [0] if self._heap else []
        while stack:
            i = stack.pop()
            item = self._heap[i]
            if item.due > instant:
                continue
            if item.seq in self._live:
                found.append(item)
            stack.extend(c for c in (2 * i + 1, 2 * i + 2) if c < len(self._heap))
        return sorted(found)

    def take(self, item: DueItem) -> None:
        """Remove a delivered item."""
        self.cancel(item)
        self._prune()

    def pending(self, execution_arn: str | None = None) -> list[DueItem]:
        if execution_arn is None:
            return sorted(self._live.values())
        return sorted(self._by_arn.get(execution_arn, {}).values())

    def has_pending(self, execution_arn: str, kind: DueKind) -> bool:
        return any(i.kind is kind for i in self._by_arn.get(execution_arn, {}).values())

    def __len__(self) -> int:
        return len(self._live)
