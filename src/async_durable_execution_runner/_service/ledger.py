"""The ``ClientToken`` ledger: what each checkpoint that named a ``ClientToken`` was answered.

``CheckpointDurableExecution`` is idempotent by ``ClientToken``: a retry (the same token, the
same checkpoint token and updates) is answered with the first answer and applies nothing; the
same ``ClientToken`` with a different request is refused. The SDK's HTTP client gives every
checkpoint a fresh token and sends it again on each retry, so a checkpoint whose answer was
lost on the way (a dropped connection, a 5xx after the change was applied) is answered, not
applied a second time into a stale-token error.

Each execution keeps its own ledger; it is part of the execution's stored state, so a store
writes an entry in the same transaction as the checkpoint it answers.
"""

from __future__ import annotations

import collections
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from async_durable_execution_runner._models import Operation, OperationUpdate

__all__ = ["ClientTokenLedger", "LedgerEntry", "checkpoint_fingerprint"]

#: Answers remembered per execution (the oldest are forgotten first).
LEDGER_SIZE = 4096


def checkpoint_fingerprint(token: str, updates: Sequence[OperationUpdate]) -> str:
    """A digest of what a checkpoint asks for, stable across processes (it is stored)."""
    text = json.dumps(
        [token, [update.to_dict() for update in updates]],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One answered checkpoint: the request's digest and the answer it got."""

    client_token: str
    fingerprint: str
    checkpoint_token: str
    operations: tuple[Operation, ...]

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "ClientToken": self.client_token,
            "Fingerprint": self.fingerprint,
            "CheckpointToken": self.checkpoint_token,
            "Operations": [op.to_json_dict() for op in self.operations],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LedgerEntry:
        return cls(
            client_token=str(data["ClientToken"]),
            fingerprint=str(data["Fingerprint"]),
            checkpoint_token=str(data["CheckpointToken"]),
            operations=tuple(Operation.from_dict(op) for op in data["Operations"]),
        )


class ClientTokenLedger:
    """One execution's answered ``ClientToken``s, bounded, oldest out.

    ``recorded`` counts every entry ever added, so a store can write just the new ones
    (:meth:`since`).
    """

    def __init__(self, size: int = LEDGER_SIZE) -> None:
        self._size = size
        self._entries: collections.OrderedDict[str, LedgerEntry] = collections.OrderedDict()
        self.recorded = 0

    def get(self, client_token: str) -> LedgerEntry | None:
        return self._entries.get(client_token)

    def remember(self, entry: LedgerEntry) -> None:
        self._entries[entry.client_token] = entry
        self.recorded += 1
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def since(self, recorded: int) -> list[LedgerEntry]:
        """The entries added after the first ``recorded`` (those still kept)."""
        new = min(self.recorded - recorded, len(self._entries))
        if new <= 0:
            return []
        return list(self._entries.values())[-new:]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[LedgerEntry]:
        return iter(list(self._entries.values()))
