"""Wrong twins of ``examples/sandbox_lifecycle.py``'s handlers, which depend on module state in
ways Lambda's sandboxes break (``test_sandbox_lifecycle_corpus.py``), and a handler that
meets the function's timeout once.

Module state is per sandbox: a warm invocation sees what the sandbox's earlier invocations
left (of any execution), a cold one (after a crash, a function timeout, or when Lambda
chooses) sees none of it, and a duplicate delivery runs in another sandbox.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any

import sandbox_lifecycle_services as services
from async_durable_execution import durable_execution, step, wait

#: Charges this sandbox has made, by order: consulted to skip the charge step.
_CHARGED: dict[str, str] = {}

#: Whether this sandbox has run an invocation yet.
_COLD_START = [True]

#: Orders whose confirmation this sandbox has mailed.
_MAILED: set[str] = set()

#: Drawn once per sandbox, at import: a partner's batch id.
BATCH = services.BATCHES.new_id()


async def _value(value: Any) -> Any:
    return value


async def _charge(order: str, cents: int) -> str:
    return f"ch-{order}-{cents}"


@durable_execution
async def skips_cached_step(event: Any) -> dict[str, Any]:
    """Wrong: the charge step is skipped when the sandbox remembers the charge, so a warm
    replay asks for one step fewer than the checkpoint holds, and the receipt step is handed
    the charge's result (the SDK checks no names: SDK finding 1's family)."""
    order = event["order"]
    if order in _CHARGED:
        charge = _CHARGED[order]
    else:
        charge = await step(functools.partial(_charge, order, event["cents"]), name="charge")
        _CHARGED[order] = charge
    await wait(60, name="settle")
    receipt = await step(lambda: _value(f"receipt-{order}"), name="receipt")
    return {"charge": charge, "receipt": receipt}


@durable_execution
async def cold_start_step(event: Any) -> dict[str, Any]:
    """Wrong: a step that only a sandbox's first invocation asks for ("prime the cache on a
    cold start"), so a cold replay asks for a step the checkpoint does not hold where it
    holds another, and a warm one the reverse."""
    cold, _COLD_START[0] = _COLD_START[0], False
    if cold:
        await step(lambda: _value("primed"), name="prime-cache")
    first = await step(lambda: _value(f"a-{event['order']}"), name="first")
    await wait(60, name="gap")
    second = await step(lambda: _value(f"b-{event['order']}"), name="second")
    return {"first": first, "second": second}


@durable_execution
async def sent_flag(event: Any) -> dict[str, Any]:
    """Wrong: the confirmation is mailed outside a step, guarded by a module set instead of a
    step's checkpoint: every sandbox that replays the execution mails it again."""
    order = event["order"]
    total = await step(lambda: _value(event["cents"]), name="total")
    if order not in _MAILED:
        services.MAILER.send(event["to"], f"order {order}: {total}")
        _MAILED.add(order)
    await wait(60, name="dispatch")
    shipped = await step(lambda: _value(f"ship-{order}"), name="ship")
    return {"total": total, "shipped": shipped}


async def _submit(items: list[str]) -> str:
    return services.BATCHES.submit(BATCH, items)


async def _confirm() -> int:
    return services.BATCHES.confirm(BATCH)


@durable_execution
async def batch_at_import(event: Any) -> dict[str, Any]:
    """Wrong: the batch id is drawn at import and read in steps, so a sandbox after a cold
    start confirms a batch it never submitted (``LookupError``, retried until the step
    fails)."""
    submitted = await step(functools.partial(_submit, event["items"]), name="submit")
    await wait(300, name="processing")
    confirmed = await step(_confirm, name="confirm")
    return {"submitted": submitted.startswith("batch-"), "confirmed": confirmed}


async def _fetch_unbounded(key: str) -> dict[str, Any]:
    return await services.SLOW.fetch(key)


@durable_execution
async def times_out_once(event: Any) -> dict[str, Any]:
    """``sandbox_lifecycle.bounded_stall`` without the bound: the partner's one stall
    (1,200 s) outlasts the function's timeout (900 s), Lambda stops the sandbox
    (``Sandbox.Timedout``), and the next invocation, cold, fetches again and goes on."""
    report = await step(functools.partial(_fetch_unbounded, event["key"]), name="report")
    await wait(60, name="publish-window")
    published = await step(lambda: _value(f"published-{report['report']}"), name="publish")
    return {"report": report, "published": published}


#: Drawn when this copy of the module was imported (a sandbox's identity).
SANDBOX = f"sandbox-{services.BATCHES.new_id()}"
#: The invocations this copy of the module has run.
_RUNS: list[str] = []


@durable_execution
async def probe(event: Any) -> dict[str, Any]:
    """Records, for every invocation (duplicate deliveries too), the module copy it ran in,
    its event loop, what that copy had run before, and what ``/tmp`` held; the measurements
    behind the traps about this emulator's sandboxes."""
    loop = asyncio.get_running_loop()
    services.PROBES.append(
        {
            "sandbox": SANDBOX,
            "loop": id(loop),
            "thread": threading.get_ident(),
            "runs_before": len(_RUNS),
            "tmp_marker": (services.SANDBOX_TMP / "probe-marker").exists(),
        }
    )
    _RUNS.append("run")
    services.SANDBOX_TMP.mkdir(parents=True, exist_ok=True)
    (services.SANDBOX_TMP / "probe-marker").touch()
    first = await step(lambda: _value("a"), name="first")
    await wait(10, name="gap")
    second = await step(lambda: _value("b"), name="second")
    await wait(10, name="gap-2")
    return {"first": first, "second": second}
