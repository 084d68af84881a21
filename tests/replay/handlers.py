"""Handlers for the replay gate's tests: a recorded workflow and today's versions of it.

``shipping`` is the workflow the committed corpus recorded. The ``refactor_*`` versions change
its code but not the operations it asks for (the gate must pass them); the ``changed_*``
versions change what it asks for, in the ways a deploy can break executions in flight (the
gate must fail them, at the right event). Module level, as the runner requires.
"""

from __future__ import annotations

import json
import uuid as std_uuid
from typing import Any

from async_durable_execution import (
    CompletionConfig,
    JitterStrategy,
    NestingType,
    RetryStrategy,
    durable_callable,
    durable_execution,
    parallel,
    run_in_child_context,
    step,
    wait,
    wait_for_callback,
)
from async_durable_execution import map as durable_map
from tests.replay import ticket_office


@durable_callable
async def produce(value: Any) -> Any:
    return value


@durable_callable
async def new_id() -> str:
    return str(std_uuid.uuid4())


@durable_callable
async def label(order: dict[str, Any]) -> str:
    return f"label-{order['id']}"


async def _notify() -> None:
    return None


@durable_callable
async def pack(order: dict[str, Any]) -> list[str]:
    box = await step(produce(f"box-{order['id']}"), name="box")
    tape = await step(produce("tape"), name="tape")
    return [box, tape]


@durable_callable
async def pack_inline_names(order: dict[str, Any]) -> list[str]:
    names = ("box", "tape")
    values = (f"box-{order['id']}", "tape")
    return [await step(produce(v), name=n) for n, v in zip(names, values, strict=True)]


@durable_callable
async def pack_box_only(order: dict[str, Any]) -> list[str]:
    return [await step(produce(f"box-{order['id']}"), name="box")]


@durable_execution
async def shipping(order: dict[str, Any]) -> dict[str, Any]:
    tracking = await step(new_id(), name="tracking-id")  # a fresh id: correct, nondeterministic
    packed = await run_in_child_context(pack(order), name="pack")
    await wait(3600, name="cool-off")
    answer = json.loads(await wait_for_callback(_notify, name="pickup") or "{}")
    printed = await step(label(order), name="label")
    return {"tracking": tracking, "packed": packed, "label": printed, "pickup": answer}


@durable_execution
async def refactor_helpers(order: dict[str, Any]) -> dict[str, Any]:
    # Same operations, in the same order, from code restructured around them.
    result: dict[str, Any] = {"tracking": await step(new_id(), name="tracking-id")}
    result["packed"] = await run_in_child_context(pack_inline_names(order), name="pack")
    await wait(60 * 60, name="cool-off")
    raw = await wait_for_callback(_notify, name="pickup")
    result["label"] = await step(label(order), name="label")
    result["pickup"] = json.loads(raw or "{}")
    return result


@durable_execution
async def refactor_retry_policy(order: dict[str, Any]) -> dict[str, Any]:
    # A different retry policy on a step that succeeded: the decisions recorded still hold.
    tracking = await step(new_id(), name="tracking-id", retry_strategy=RetryStrategy.none())
    packed = await run_in_child_context(pack(order), name="pack")
    await wait(3600, name="cool-off")
    answer = json.loads(await wait_for_callback(_notify, name="pickup") or "{}")
    printed = await step(label(order), name="label")
    return {"tracking": tracking, "packed": packed, "label": printed, "pickup": answer}


@durable_execution
async def changed_renamed_step(order: dict[str, Any]) -> dict[str, Any]:
    tracking = await step(new_id(), name="tracking-id")
    packed = await run_in_child_context(pack(order), name="pack")
    await wait(3600, name="cool-off")
    answer = json.loads(await wait_for_callback(_notify, name="pickup") or "{}")
    printed = await step(label(order), name="print-label")  # was "label"
    return {"tracking": tracking, "packed": packed, "label": printed, "pickup": answer}


@durable_execution
async def changed_reordered_wait(order: dict[str, Any]) -> dict[str, Any]:
    tracking = await step(new_id(), name="tracking-id")
    await wait(3600, name="cool-off")  # moved before the packing
    packed = await run_in_child_context(pack(order), name="pack")
    answer = json.loads(await wait_for_callback(_notify, name="pickup") or "{}")
    printed = await step(label(order), name="label")
    return {"tracking": tracking, "packed": packed, "label": printed, "pickup": answer}


@durable_execution
async def changed_removed_branch(order: dict[str, Any]) -> dict[str, Any]:
    tracking = await step(new_id(), name="tracking-id")
    packed = await run_in_child_context(pack_box_only(order), name="pack")  # no "tape" step
    await wait(3600, name="cool-off")
    answer = json.loads(await wait_for_callback(_notify, name="pickup") or "{}")
    printed = await step(label(order), name="label")
    return {"tracking": tracking, "packed": packed, "label": printed, "pickup": answer}


@durable_execution
async def changed_new_step_first(order: dict[str, Any]) -> dict[str, Any]:
    await step(produce(order["id"]), name="audit")  # new, before every old step
    tracking = await step(new_id(), name="tracking-id")
    packed = await run_in_child_context(pack(order), name="pack")
    await wait(3600, name="cool-off")
    answer = json.loads(await wait_for_callback(_notify, name="pickup") or "{}")
    printed = await step(label(order), name="label")
    return {"tracking": tracking, "packed": packed, "label": printed, "pickup": answer}


@durable_execution
async def changed_new_step_after_wait(order: dict[str, Any]) -> dict[str, Any]:
    tracking = await step(new_id(), name="tracking-id")
    packed = await run_in_child_context(pack(order), name="pack")
    await wait(3600, name="cool-off")
    await step(produce("checked"), name="check-weather")  # new, before the callback
    answer = json.loads(await wait_for_callback(_notify, name="pickup") or "{}")
    printed = await step(label(order), name="label")
    return {"tracking": tracking, "packed": packed, "label": printed, "pickup": answer}


@durable_execution
async def changed_outcome(order: dict[str, Any]) -> dict[str, Any]:
    tracking = await step(new_id(), name="tracking-id")
    packed = await run_in_child_context(pack(order), name="pack")
    await wait(3600, name="cool-off")
    answer = json.loads(await wait_for_callback(_notify, name="pickup") or "{}")
    printed = await step(label(order), name="label")
    if answer.get("carrier") == "ups":
        msg = f"carrier {answer['carrier']} is no longer supported"
        raise ValueError(msg)
    return {"tracking": tracking, "packed": packed, "label": printed, "pickup": answer}


# --- concurrency and retries --------------------------------------------------------------


attempts: dict[str, int] = {}


@durable_callable
async def flaky(key: str) -> str:
    # Fails on its first attempt in each process: the recorded history holds a retry.
    attempts[key] = attempts.get(key, 0) + 1
    if attempts[key] == 1:
        msg = f"{key}: first attempt fails"
        raise RuntimeError(msg)
    return key


@durable_callable
async def branch(name: str, seconds: int) -> str:
    await wait(seconds, name=f"wait-{name}")
    return await step(produce(name), name=f"step-{name}")


@durable_execution
async def fan_out(event: dict[str, Any]) -> dict[str, Any]:
    fixed = RetryStrategy(max_attempts=3, initial_delay=5, jitter_strategy=JitterStrategy.NONE)
    first = await step(flaky(f"first-{event['run']}"), name="flaky", retry_strategy=fixed)
    batch = await parallel([branch("a", 10), branch("b", 20), branch("c", 5)], name="fan")
    return {"first": first, "branches": sorted(batch.get_results())}


@durable_execution
async def changed_result(order: dict[str, Any]) -> dict[str, Any]:
    # Same operations; what it makes of the recorded answers changed.
    tracking = await step(new_id(), name="tracking-id")
    packed = await run_in_child_context(pack(order), name="pack")
    await wait(3600, name="cool-off")
    answer = json.loads(await wait_for_callback(_notify, name="pickup") or "{}")
    printed = await step(label(order), name="label")
    answer = {k: v.upper() for k, v in answer.items()}
    return {"tracking": tracking, "packed": packed, "label": printed, "pickup": answer}


async def _next_ticket() -> int:
    return ticket_office.next_ticket()


@durable_execution
async def branch_on_ticket(event: Any) -> str:
    """Branches on a partner's ticket drawn in a step (correct durable code)."""
    if await step(_next_ticket, name="ticket") % 2 == 0:
        await wait(5, name="even")
    else:
        await step(new_id, name="odd")
    return "done"


async def _packed(sku: str) -> str:
    return f"packed-{sku}"


async def _boxed(sku: str) -> str:
    return f"boxed-{sku}"


@durable_execution
async def flat_map(event: Any) -> list[str]:
    """A ``NestingType.FLAT`` map (its items are virtual contexts, never checkpointed), then a
    wait, so that the next invocation replays the completed map."""

    async def pack(sku: str) -> str:
        return await step(lambda: _packed(sku), name=f"pack-{sku}")

    packed = await durable_map(pack, event["skus"], name="pack", nesting_type=NestingType.FLAT)
    await wait(10, name="courier")
    return packed.get_results()


@durable_execution
async def changed_flat_map(event: Any) -> list[str]:
    """``flat_map`` whose items now box instead of pack: a step of another name."""

    async def box(sku: str) -> str:
        return await step(lambda: _boxed(sku), name=f"box-{sku}")

    boxed = await durable_map(box, event["skus"], name="pack", nesting_type=NestingType.FLAT)
    await wait(10, name="courier")
    return boxed.get_results()


@durable_execution
async def renamed_delivery_steps(event: Any) -> dict[str, Any]:
    """``batches.shipments_with_damage_budget`` whose steps are now named ``ship-N``."""
    from batches import _damage_budget, _deliver

    damaged = list((event or {}).get("damaged", [3, 7]))

    async def deliver(parcel: int) -> dict[str, Any]:
        return await step(
            lambda: _deliver(parcel, damaged),
            name=f"ship-{parcel}",
            retry_strategy=RetryStrategy(max_attempts=2, initial_delay=5),
        )

    batch = await durable_map(
        deliver,
        list(range(10)),
        name="deliveries",
        max_concurrency=3,
        completion_config=CompletionConfig.custom(_damage_budget),
    )
    return {"round_ok": batch.completion_reason.value}


@durable_execution
async def partial_branches_renamed(event: Any) -> dict[str, Any]:
    """``structures.partial_branches`` whose rate steps are now named ``quote-PAIR``."""
    import functools

    async def quote(pair: str, fail: bool) -> dict[str, Any]:
        async def rate() -> float:
            if fail:
                raise LookupError(f"no rate for {pair}")
            return 1.5

        got = await step(rate, name=f"quote-{pair}", retry_strategy=RetryStrategy.none())
        return {"pair": pair, "ok": got > 1}

    pairs = ["EURUSD", "EURGBP", "EURXXX"]
    batch = await parallel(
        [functools.partial(quote, p, p.endswith("XXX")) for p in pairs],
        name="rates",
        completion_config=CompletionConfig(tolerated_failure_count=1),
    )
    return {"ok": sorted(r["pair"] for r in batch.get_results())}
