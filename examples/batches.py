"""Correct handlers that use the 2.5 batch options no other corpus uses (the session-31
false-flag audit Q: custom completion, first success, all-successful, the map item context).

The other corpora run ``map`` and ``parallel`` with ``min_successful`` and failure
tolerances, concurrency limits, item namers and summary generators. These use the rest of
``CompletionConfig`` and ``MapItemContext``, as users do:

- ``CompletionConfig.custom()`` deciding a replica write's quorum from the live counts
  (succeeded at three acknowledgements of five, failed once three have failed), with
  replicas that are down and a replica that answers only after a wait;
- ``CompletionConfig.custom()`` over a ``map`` of shipments with a damage budget (done once
  eight of ten are delivered, failed beyond two damaged), the damaged ones failing for good;
- ``CompletionConfig.first_successful()`` racing three mirrors of different latencies, the
  slower two left open when the fastest answers;
- ``CompletionConfig.all_successful()`` over reservations, one of which is sold out: the
  batch fails, the handler cancels what was reserved (each cancellation a step, keyed by the
  reservation) and reports the failure;
- ``get_map_item_context()`` in a ``map`` item, reading the item's index and its
  neighbour in the batch's items to compute a delta in a step;
- a custom completion that waits for every item (``status.all_completed``) and succeeds
  whatever failed, the failures read from the ``BatchResult`` afterwards.

Every one is correct durable code: ids, random draws and the clock only inside steps; what
runs outside a step is the same on every replay; completion functions are pure functions of
the counts the SDK hands them; results are JSON and do not depend on which of two branches
that end at the same instant the SDK saw first. No oracle may flag any of them under any
fault plan or timing (``tests/harness/test_batches_corpus.py`` at CI size;
``benchmarks/same_world.py --corpus batches`` is the long campaign).
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import batches_services as services
from async_durable_execution import (
    BatchResult,
    CompletionConfig,
    CompletionDecision,
    CompletionReason,
    CompletionStatus,
    RetryStrategy,
    durable_execution,
    get_map_item_context,
    parallel,
    step,
    wait,
)
from async_durable_execution import map as durable_map

reset = services.reset


def _never_retry(error: Exception, attempt: int) -> int | None:
    """A replica that refused the write is not asked again: the quorum decides."""
    return None


# --- a replica write decided by a custom quorum ---------------------------------------------


class ReplicaDown(Exception):
    """The replica did not take the write."""


async def _write(replica: str, key: str, down: list[str]) -> str:
    if replica in down:
        raise ReplicaDown(f"{replica} is down")
    return services.write(replica, key)


def _quorum_of_five(status: CompletionStatus) -> CompletionDecision:
    if status.success_count >= 3:
        return CompletionDecision.complete(CompletionReason.CUSTOM_COMPLETION_SUCCEEDED)
    if status.failure_count > 2:
        return CompletionDecision.complete(CompletionReason.CUSTOM_COMPLETION_FAILED)
    if status.all_completed:
        return CompletionDecision.complete(CompletionReason.ALL_COMPLETED)
    return CompletionDecision.continue_execution()


@durable_execution
async def replica_quorum(event: Any) -> dict[str, Any]:
    """Writes a record to five replicas; three acknowledgements make the write durable, three
    refusals make it impossible. The fifth replica is far away: it answers after a minute's
    wait, by which time the quorum is decided either way."""
    down = list((event or {}).get("down", ["r2"]))
    key = await step(lambda: _new_key("rec"), name="record-key")

    def writer(replica: str, far: bool) -> Any:
        async def branch() -> str:
            if far:
                await wait(60, name=f"{replica}-distance")
            return await step(
                lambda: _write(replica, key, down),
                name=f"write-{replica}",
                retry_strategy=_never_retry,
            )

        return branch

    replicas = [("r1", False), ("r2", False), ("r3", False), ("r4", False), ("r5", True)]
    batch: BatchResult[str] = await parallel(
        [writer(name, far) for name, far in replicas],
        name="replicate",
        completion_config=CompletionConfig.custom(_quorum_of_five),
    )
    durable = batch.completion_reason is CompletionReason.CUSTOM_COMPLETION_SUCCEEDED
    outcome = "committed" if durable else "aborted"
    await step(lambda: _record(key, outcome), name="record-outcome")
    return {"durable": durable, "reason": batch.completion_reason.value}


async def _new_key(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def _record(key: str, outcome: str) -> str:
    return services.record(key, outcome)


# --- a map of shipments with a damage budget -----------------------------------------------


class Damaged(Exception):
    """The parcel arrived damaged."""


async def _deliver(parcel: int, damaged: list[int]) -> dict[str, Any]:
    if parcel in damaged:
        raise Damaged(f"parcel {parcel} arrived damaged")
    # The courier's own tracking number: drawn, so only inside the step.
    return {"parcel": parcel, "tracking": f"TRK{random.randint(10**7, 10**8 - 1)}"}


def _damage_budget(status: CompletionStatus) -> CompletionDecision:
    if status.failure_count > 2:
        return CompletionDecision.complete(CompletionReason.CUSTOM_COMPLETION_FAILED)
    if status.success_count >= 8:
        return CompletionDecision.complete(CompletionReason.CUSTOM_COMPLETION_SUCCEEDED)
    if status.all_completed:
        return CompletionDecision.complete(CompletionReason.ALL_COMPLETED)
    return CompletionDecision.continue_execution()


@durable_execution
async def shipments_with_damage_budget(event: Any) -> dict[str, Any]:
    """Delivers ten parcels three at a time; the round is a success once eight arrived and a
    failure once more than two arrived damaged."""
    damaged = list((event or {}).get("damaged", [3, 7]))

    async def deliver(parcel: int) -> dict[str, Any]:
        return await step(
            lambda: _deliver(parcel, damaged),
            name=f"deliver-{parcel}",
            retry_strategy=RetryStrategy(max_attempts=2, initial_delay=5),
        )

    batch: BatchResult[dict[str, Any]] = await durable_map(
        deliver,
        list(range(10)),
        name="deliveries",
        max_concurrency=3,
        completion_config=CompletionConfig.custom(_damage_budget),
    )
    ok = batch.completion_reason is CompletionReason.CUSTOM_COMPLETION_SUCCEEDED
    # The decision, not the counts: which parcels had ended when it was taken depends on how
    # long each item's calls took (SDK finding 17 and the trap in docs/findings.md).
    return {"round_ok": ok}


# --- the fastest of three mirrors ------------------------------------------------------------


async def _download(mirror: str, artifact: str) -> dict[str, Any]:
    return {"mirror": mirror, "digest": services.digest(artifact)}


@durable_execution
async def fastest_mirror(event: Any) -> dict[str, Any]:
    """Fetches an artifact from three mirrors at once and keeps the first answer; the mirrors
    are 2, 30 and 600 seconds away, so the nearest wins and the others stay open."""
    artifact = str((event or {}).get("artifact", "tool-1.4.2.tar.gz"))

    def fetch(mirror: str, latency: int) -> Any:
        async def branch() -> dict[str, Any]:
            await wait(latency, name=f"{mirror}-latency")
            return await step(lambda: _download(mirror, artifact), name=f"download-{mirror}")

        return branch

    batch: BatchResult[dict[str, Any]] = await parallel(
        [fetch("eu", 2), fetch("us", 30), fetch("ap", 600)],
        name="mirrors",
        completion_config=CompletionConfig.first_successful(),
    )
    first = batch.succeeded()[0].result
    assert first is not None
    return {"mirror": first["mirror"], "digest": first["digest"]}


# --- all reservations or none ----------------------------------------------------------------


class SoldOut(Exception):
    """Nothing left of that."""


async def _reserve(what: str, trip: str, sold_out: list[str]) -> str:
    if what in sold_out:
        raise SoldOut(f"{what} is sold out")
    return services.reserve(f"{trip}:{what}")


async def _cancel(key: str) -> str:
    return services.cancel(key)


@durable_execution
async def reservations_all_or_none(event: Any) -> dict[str, Any]:
    """Reserves a flight, a hotel, a car and a show, all or none: the first failure fails
    the batch (``all_successful``), and every reservation made is cancelled, one step each,
    by its key."""
    sold_out = list((event or {}).get("sold_out", ["show"]))
    trip = await step(lambda: _new_key("trip"), name="trip-id")
    parts = ["flight", "hotel", "car", "show"]

    async def reserve(what: str) -> str:
        return await step(
            lambda: _reserve(what, trip, sold_out),
            name=f"reserve-{what}",
            retry_strategy=_never_retry,
        )

    batch: BatchResult[str] = await durable_map(
        reserve,
        parts,
        name="reservations",
        max_concurrency=1,
        completion_config=CompletionConfig.all_successful(),
    )
    if not batch.has_failure:
        return {"booked": True, "cancelled": 0}
    # Whatever was reserved before the failure was seen, and may have been since: cancel
    # every part that may hold a reservation (cancelling one never made is a no-op).
    for what in parts:
        await step(lambda what=what: _cancel(f"{trip}:{what}"), name=f"cancel-{what}")
    failed = batch.failed()[0]
    return {
        "booked": False,
        "failed": parts[failed.index],
        "why": failed.error.type if failed.error else None,
    }


# --- the map item context --------------------------------------------------------------------


async def _delta(reading: int, previous: int | None) -> int:
    return reading - (previous if previous is not None else reading)


@durable_execution
async def neighbour_deltas(event: Any) -> dict[str, Any]:
    """Turns meter readings into consumption per period: each item asks its map item context
    for its index and its predecessor among the batch's items."""
    readings = list((event or {}).get("readings", [100, 112, 130, 131, 150, 180]))

    async def consumption(reading: int) -> int:
        here = get_map_item_context()
        previous = here.items[here.index - 1] if here.index > 0 else None
        return await step(lambda: _delta(reading, previous), name=f"delta-{here.index}")

    batch: BatchResult[int] = await durable_map(
        consumption, readings, name="periods", max_concurrency=2
    )
    return {"deltas": batch.get_results(), "total": sum(batch.get_results())}


# --- wait for every item, decide afterwards -------------------------------------------------


class Unreachable(Exception):
    """The device did not answer."""


async def _ping(device: str, offline: list[str]) -> str:
    if device in offline:
        raise Unreachable(f"{device} did not answer")
    return services.ping(device)


def _every_one(status: CompletionStatus) -> CompletionDecision:
    if status.all_completed:
        return CompletionDecision.complete(CompletionReason.CUSTOM_COMPLETION_SUCCEEDED)
    return CompletionDecision.continue_execution()


@durable_execution
async def fleet_health(event: Any) -> dict[str, Any]:
    """Pings every device of a fleet (a minute apart for the far ones); the sweep completes
    when every ping has ended, whatever failed, and the report lists the unreachable ones."""
    offline = list((event or {}).get("offline", ["d3", "d5"]))
    devices = [f"d{n}" for n in range(1, 7)]

    async def ping(device: str) -> str:
        if device in ("d5", "d6"):
            await wait(60, name=f"{device}-far")
        return await step(
            lambda: _ping(device, offline),
            name=f"ping-{device}",
            retry_strategy=RetryStrategy(max_attempts=2, initial_delay=1),
        )

    batch: BatchResult[str] = await durable_map(
        ping,
        devices,
        name="sweep",
        completion_config=CompletionConfig.custom(_every_one),
    )
    down = sorted(devices[item.index] for item in batch.failed())
    return {"healthy": batch.success_count, "unreachable": down}


CORPUS: dict[str, dict[str, Any]] = {
    "replica_quorum": {"handler": replica_quorum, "before_run": reset},
    "replica_quorum_lost": {
        "handler": replica_quorum,
        "input": {"down": ["r1", "r3", "r4"]},
        "before_run": reset,
    },
    "shipments_with_damage_budget": {"handler": shipments_with_damage_budget},
    "shipments_over_budget": {
        "handler": shipments_with_damage_budget,
        "input": {"damaged": [1, 4, 8]},
    },
    "fastest_mirror": {"handler": fastest_mirror},
    "reservations_all_or_none": {"handler": reservations_all_or_none, "before_run": reset},
    "reservations_all_booked": {
        "handler": reservations_all_or_none,
        "input": {"sold_out": []},
        "before_run": reset,
    },
    "neighbour_deltas": {"handler": neighbour_deltas},
    "fleet_health": {"handler": fleet_health, "before_run": reset},
}
