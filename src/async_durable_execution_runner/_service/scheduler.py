"""Timers and pending work, and the seam that chooses which due item is delivered next."""

from __future__ import annotations

import datetime as _dt
import itertools
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from enum import Enum
from heapq import heappop, heappush

from async_durable_execution_runner._models._frozen import cheap_frozen, maker


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


#: ``DueItem(...)``, positional (see ``maker``): one for every timer and invocation.
_new_item = maker(DueItem)


def _order(item: DueItem) -> tuple[_dt.datetime, int]:
    return (item.due, item.seq)


class EarliestFirst:
    """The service's own order: earliest deadline, then the order items were scheduled."""

    window = _dt.timedelta(0)

    def choose(self, candidates: Sequence[DueItem]) -> DueItem:
        return min(candidates, key=_order)


class Scheduler:
    """A priority queue of ``DueItem``s, with cancellation by execution and operation.

    Live items are indexed by execution, so cancelling or listing one execution's items does
    not scan the others (a runner reused for thousands of executions stays fast).
    """

    def __init__(self) -> None:
        # (due, seq, item): the heap compares the keys in C, where ``DueItem``'s generated
        # ordering would be a Python call per comparison. Read-only outside: the entries of
        # cancelled and taken items stay until they reach the top, so ``heap[0][0]`` is never
        # later than the earliest live item's ``due`` (catch-up's test for "nothing is due").
        self.heap: list[tuple[_dt.datetime, int, DueItem]] = []
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
        seq = next(self._seq)
        item = _new_item(due, seq, kind, execution_arn, operation_id, label)
        heappush(self.heap, (due, seq, item))
        self._live[seq] = item
        # Not ``setdefault``, which would build an empty dict for every item.
        items = self._by_arn.get(execution_arn)
        if items is None:
            self._by_arn[execution_arn] = {seq: item}
        else:
            items[seq] = item
        return item

    def cancel(self, item: DueItem) -> None:
        if self._live.pop(item.seq, None) is not None:
            items = self._by_arn.get(item.execution_arn)
            if items is not None:
                items.pop(item.seq, None)
                if not items:
                    del self._by_arn[item.execution_arn]

    def cancel_where(
        self,
        execution_arn: str,
        operation_id: str | None = None,
        kinds: AbstractSet[DueKind] | None = None,
    ) -> None:
        for item in list(self._by_arn.get(execution_arn, {}).values()):
            if operation_id is not None and item.operation_id != operation_id:
                continue
            if kinds is not None and item.kind not in kinds:
                continue
            self.cancel(item)

    def _prune(self) -> None:
        heap, live = self.heap, self._live
        while heap and heap[0][1] not in live:
            heappop(heap)

    def next_due(self) -> DueItem | None:
        # ``_prune`` inlined: asked before every delivery and every checkpoint (catch-up).
        heap, live = self.heap, self._live
        while heap:
            top = heap[0]
            if top[1] in live:
                return top[2]
            heappop(heap)
        return None

    def due_by(self, instant: _dt.datetime) -> list[DueItem]:
        """Live items whose deadline is at or before ``instant``, earliest first."""
        self._prune()
        heap, live = self.heap, self._live
        size = len(heap)
        found: list[tuple[_dt.datetime, int, DueItem]] = []
        # Walk the heap, skipping subtrees whose root is already later than ``instant``.
        stack = [0] if heap else []
        while stack:
            i = stack.pop()
            entry = heap[i]
            if entry[0] > instant:
                continue
            if entry[1] in live:
                found.append(entry)
            left = 2 * i + 1
            if left < size:
                stack.append(left)
                if left + 1 < size:
                    stack.append(left + 1)
        found.sort()
        return [entry[2] for entry in found]

    def take(self, item: DueItem) -> None:
        """Remove a delivered item."""
        # ``cancel`` and ``_prune`` inlined (one delivery after another; a delivered item is
        # usually the heap's top).
        heap, live = self.heap, self._live
        if live.pop(item.seq, None) is not None:
            items = self._by_arn.get(item.execution_arn)
            if items is not None:
                items.pop(item.seq, None)
                if not items:
                    del self._by_arn[item.execution_arn]
        while heap and heap[0][1] not in live:
            heappop(heap)

    def take_next(self, item: DueItem) -> None:
        """Remove ``item``, the answer of the last ``next_due`` (nothing scheduled, cancelled
        or taken since): its entry is the heap's top. The loop's way to take what it delivers
        in the service's own order, without ``take``'s look-ups and tests."""
        heappop(self.heap)
        seq = item.seq
        del self._live[seq]
        arn = item.execution_arn
        items = self._by_arn[arn]
        del items[seq]
        if not items:
            del self._by_arn[arn]

    def pending(self, execution_arn: str | None = None) -> list[DueItem]:
        items = self._live if execution_arn is None else self._by_arn.get(execution_arn, {})
        return sorted(items.values(), key=_order)

    def has_pending(self, execution_arn: str, kind: DueKind) -> bool:
        # A loop, not ``any`` over a generator: asked by every wake.
        items = self._by_arn.get(execution_arn)
        if items is not None:
            for item in items.values():
                if item.kind is kind:
                    return True
        return False

    def __len__(self) -> int:
        return len(self._live)
