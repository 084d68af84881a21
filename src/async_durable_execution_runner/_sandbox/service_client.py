"""``InMemoryServiceClient``: the SDK's ``DurableServiceClient``, answered by the emulator.

Two wire formats:
- ``"objects"`` (default, fast): the SDK's own model objects are handed over directly;
- ``"json"``: every update, response and invocation input goes through the JSON shapes the
  real service uses, so the SDK's own decoding is exercised.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Sequence
from itertools import compress
from operator import itemgetter, not_
from typing import Any, Literal

from async_durable_execution_runner import _sdk_adapter as adapter
from async_durable_execution_runner._models import Operation, OperationUpdate
from async_durable_execution_runner._sandbox import hang_alarm
from async_durable_execution_runner._service.session import InvocationSession, SandboxCrashed
from async_durable_execution_runner.errors import DurableServiceError

WireFormat = Literal["objects", "json"]

_updates_from_sdk = adapter.updates_from_sdk


class SdkOperationCache:
    """SDK ``Operation`` objects built once per stored operation (they are immutable).

    Every invocation hands the SDK every operation of its execution, and most of them have
    not changed since the last page: they are looked up by identity in C (``map`` over
    ``id``s), and only the changed ones converted in Python.
    """

    def __init__(self) -> None:
        # execution ARN -> (``id()`` of a converted operation -> (that operation, the SDK's);
        # operation id -> the ``id()`` key of its newest conversion). An entry holds its
        # operation, so no other object can take that ``id()`` while the entry lives.
        self._cache: dict[str, tuple[dict[int, tuple[Operation, Any]], dict[str, int]]] = {}

    def get(self, execution_arn: str, op: Operation) -> Any:
        return self.many(execution_arn, (op,))[0]

    def many(self, execution_arn: str, ops: Sequence[Operation]) -> list[Any]:
        """The SDK's operations for ``ops`` (of one execution, each id at most once), in
        order."""
        cache = self._cache.get(execution_arn)
        if cache is None:
            cache = self._cache[execution_arn] = ({}, {})
        converted = cache[0]
        keys = list(map(id, ops))
        known = converted.__contains__
        if not all(map(known, keys)):
            newest = cache[1]
            for op in compress(ops, map(not_, map(known, keys))):
                key = id(op)
                # One version per operation id is kept, the last asked for: pages and
                # responses hold current versions (a ledger's retried answer, an older one,
                # is converted again).
                old = newest.get(op.id)
                if old is not None:
                    converted.pop(old, None)
                newest[op.id] = key
                converted[key] = (op, adapter.operation_to_sdk(op))
        try:
            return list(map(_second, map(converted.__getitem__, keys)))
        except KeyError:
            # An abandoned invocation's thread, answered at the same time, dropped one of
            # these: converted afresh (an entry is never wrong, only missing).
            return [adapter.operation_to_sdk(op) for op in ops]

    def changed(self, execution_arn: str, ops: Sequence[Operation]) -> list[Any]:
        """``many`` for a checkpoint's answer: a few operations, usually all new versions.

        One by one, in one pass: ``many``'s lookups in C pay off over a page of unchanged
        operations, but cost more than they save for the one or two a checkpoint changed
        (every checkpoint answers here). The same cache entries as ``many``'s."""
        cache = self._cache.get(execution_arn)
        if cache is None:
            cache = self._cache[execution_arn] = ({}, {})
        converted, newest = cache
        to_sdk = adapter.operation_to_sdk
        out = []
        for op in ops:
            key = id(op)
            # Taken once: an abandoned invocation's thread may drop it meanwhile (see ``many``).
            entry = converted.get(key)
            if entry is None:
                sdk_op = to_sdk(op)
                old = newest.get(op.id)
                if old is not None:
                    converted.pop(old, None)
                newest[op.id] = key
                converted[key] = (op, sdk_op)
                out.append(sdk_op)
            else:
                out.append(entry[1])
        return out


_second = itemgetter(1)


def _millis(value: Any) -> Any:
    # The invocation event carries timestamps as epoch milliseconds (Lambda's JSON event).
    import datetime as _dt

    if isinstance(value, _dt.datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, dict):
        return {k: _millis(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_millis(v) for v in value]
    return value


def invocation_event(
    arn: str,
    token: str,
    operations: Sequence[Operation],
    next_marker: str,
    *,
    wire_format: WireFormat,
    cache: SdkOperationCache,
) -> dict[str, Any]:
    """The Lambda event a durable invocation receives."""
    if wire_format == "json":
        raw = {
            "DurableExecutionArn": arn,
            "CheckpointToken": token,
            "InitialExecutionState": {
                "Operations": [_millis(op.to_dict()) for op in operations],
                "NextMarker": next_marker,
            },
        }
        event: dict[str, Any] = json.loads(json.dumps(raw))
        return event
    return {
        "DurableExecutionArn": arn,
        "CheckpointToken": token,
        "InitialExecutionState": adapter.initial_state(cache.many(arn, operations), next_marker),
    }


#: The session of the invocation running in this context, for a client bound without one.
current_session: contextvars.ContextVar[InvocationSession] = contextvars.ContextVar(
    "async_durable_execution_runner_session"
)


class InMemoryServiceClient:
    """Implements the SDK's ``DurableServiceClient`` protocol.

    Given a ``session``, the client serves that one invocation. Without one it serves whichever
    invocation runs in the calling context (``current_session``): an invoker binds such a
    client into a handler once and reuses the bound handler for every invocation, instead of
    having the SDK rebuild its wrappers each time (``shared_client``: one such client per wire
    format serves every invoker of the process).

    Its answers are the SDK's objects from ``cache``; a client made with ``cache=None`` and
    no session uses the cache of the session it serves (``InvocationSession.sdk_cache``).
    """

    def __init__(
        self,
        session: InvocationSession | None = None,
        *,
        wire_format: WireFormat = "objects",
        cache: SdkOperationCache | None = None,
    ) -> None:
        self._session = session
        self.wire_format: WireFormat = wire_format
        self.cache: SdkOperationCache | None = (
            cache if cache is not None or session is None else SdkOperationCache()
        )

    @property
    def session(self) -> InvocationSession:
        if self._session is not None:
            return self._session
        return current_session.get()

    def _read_updates(self, updates: Sequence[Any]) -> list[OperationUpdate]:
        if self.wire_format == "json":
            wire = json.loads(json.dumps([adapter.update_to_wire(u) for u in updates]))
            return [OperationUpdate.from_dict(u) for u in wire]
        return adapter.updates_from_sdk(updates)

    def _crash(self) -> None:
        # Kill the sandbox: cancel every task of this invocation's loop, repeatedly, until
        # none remain (the in-process invoker's hooks do it each turn while the invocation
        # runs; the invoker finishes the job once the handler's task is gone).
        kill = getattr(adapter.active_hooks(), "kill_tasks", None)
        if kill is not None:
            kill()
            return
        loop = asyncio.get_running_loop()
        loop.call_soon(_cancel_all, loop)

    async def checkpoint(
        self,
        durable_execution_arn: str,
        checkpoint_token: str,
        updates: list[Any],
        client_token: str | None,
    ) -> Any:
        session = self._session
        if session is None:
            session = current_session.get()
        # The handler's own time limit (a step's SIGALRM timer) may have stopped the deadline's.
        hang_alarm.keep_armed()
        if self.wire_format == "json":
            ours = self._read_updates(updates)
        else:  # ``_read_updates``, without its call (every checkpoint)
            ours = _updates_from_sdk(updates)
        try:
            token, ops = session.checkpoint(checkpoint_token, ours, client_token)
        except SandboxCrashed:
            self._crash()
            raise
        except DurableServiceError as error:
            raise adapter.checkpoint_error(error) from None
        turns = session.response_turns()
        if turns:  # (no range to build when, as almost always, there are none)
            for _ in range(turns):
                await asyncio.sleep(0)
        if self.wire_format == "json":
            wire = {
                "CheckpointToken": token,
                "NewExecutionState": {"Operations": [op.to_dict() for op in ops]},
            }
            return adapter.checkpoint_output_from_wire(wire)
        # ``changed``'s list is new and ours alone: the response takes it over as it is.
        cache = self.cache or session.sdk_cache or _own_cache(session)
        return adapter.checkpoint_output(token, cache.changed(session.execution_arn, ops))

    async def get_execution_state(
        self,
        durable_execution_arn: str,
        checkpoint_token: str,
        next_marker: str,
        max_items: int = 1000,
    ) -> Any:
        session = self.session
        try:
            ops, marker = session.get_execution_state(checkpoint_token, next_marker, max_items)
        except SandboxCrashed:
            self._crash()
            raise
        except DurableServiceError as error:
            raise adapter.get_state_error(error) from None
        for _ in range(session.response_turns()):
            await asyncio.sleep(0)
        arn = session.execution_arn
        if self.wire_format == "json":
            wire: dict[str, Any] = {"Operations": [op.to_dict() for op in ops]}
            if marker:
                wire["NextMarker"] = marker
            return adapter.state_output_from_wire(wire)
        cache = self.cache or session.sdk_cache or _own_cache(session)
        return adapter.state_output(cache.many(arn, ops), marker)


def _own_cache(session: InvocationSession) -> SdkOperationCache:
    """A cache for a session no invoker gave one (a client bound by hand): its own."""
    cache = session.sdk_cache = SdkOperationCache()
    return cache


_SHARED: dict[WireFormat, InMemoryServiceClient] = {}


def shared_client(wire_format: WireFormat) -> InMemoryServiceClient:
    """The process's client for ``wire_format`` that serves whichever invocation runs in the
    calling context, answering from that invocation's ``sdk_cache``: a handler bound to it
    once serves every runner's invocations."""
    client = _SHARED.get(wire_format)
    if client is None:
        client = _SHARED.setdefault(wire_format, InMemoryServiceClient(wire_format=wire_format))
    return client


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    for task in asyncio.all_tasks(loop):
        task.cancel()
