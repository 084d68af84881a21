"""Correct handlers whose steps are nondeterministic, as real users write them.

Each draws ids, random numbers, clock readings or partner-issued tokens inside steps (the
recommended durable pattern), waits, takes callbacks near their time-outs, polls, invokes and
runs branches concurrently. None of them has a bug: the harness must flag none of them under
any masked fault or any default timing (tests/harness/test_same_world.py,
benchmarks/same_world.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import time
import uuid
from typing import Any

import partner
from async_durable_execution import (
    CallableRuntimeError,
    CallbackError,
    CompletionConfig,
    JitterStrategy,
    PollingStrategy,
    durable_callable,
    durable_execution,
    get_wait_for_condition_check_context,
    invoke,
    parallel,
    run_in_child_context,
    step,
    wait,
    wait_for_callback,
    wait_for_condition,
)
from async_durable_execution import (
    map as durable_map,
)

reset_partner = partner.reset


async def _new_id() -> str:
    return str(uuid.uuid4())


async def _draw() -> int:
    return random.randint(1, 1_000_000)


async def _coin() -> bool:
    return random.random() < 0.5


async def _now() -> float:
    return time.time()


async def _today() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


async def _ticket() -> int:
    return partner.issue()


@durable_callable
async def redeem(ticket: int) -> str:
    return partner.redeem(ticket)


async def _submit() -> None:
    return None


# --- ids, random draws, clock reads in steps ----------------------------------------------


@durable_execution
async def uuid_order(event: Any) -> dict[str, Any]:
    """The issue's first example: an id from a step, a one-minute wait, the id returned."""
    order_id = await step(_new_id, name="new-id")
    await wait(60, name="one-minute")
    return {"order": order_id}


@durable_execution
async def random_draw(event: Any) -> dict[str, Any]:
    lucky = await step(_draw, name="draw")
    heads = await step(_coin, name="coin")
    await wait(30, name="pause")
    return {"lucky": lucky, "branch": "heads" if heads else "tails"}


@durable_execution
async def clock_stamps(event: Any) -> dict[str, Any]:
    started = await step(_now, name="started")
    await wait(5, name="pause")
    day = await step(_today, name="day")
    finished = await step(_now, name="finished")
    return {"took": round(finished - started), "day": day[:10]}


# --- partner-issued tokens ----------------------------------------------------------------


@durable_execution
async def partner_ticket(event: Any) -> dict[str, Any]:
    """A ticket the partner issues, then redeems: only tickets it issued are honoured."""
    ticket = await step(_ticket, name="ticket")
    await wait(10, name="pause")
    receipt = await step(redeem(ticket), name="redeem")
    return {"ticket": ticket, "receipt": receipt}


# --- ids in child contexts and in concurrent branches -------------------------------------


async def _child_ids() -> list[str]:
    first = await step(_new_id, name="child-id-1")
    await wait(2, name="child-pause")
    second = await step(_new_id, name="child-id-2")
    return [first, second]


@durable_execution
async def child_context_ids(event: Any) -> dict[str, Any]:
    ids = await run_in_child_context(_child_ids, name="ids")
    await wait(5, name="after")
    return {"ids": ids}


@durable_execution
async def gathered_tokens(event: Any) -> dict[str, Any]:
    a, b = await asyncio.gather(step(_new_id, name="token-a"), step(_ticket, name="token-b"))
    await wait(3, name="pause")
    return {"a": a, "b": b}


@durable_callable
async def _branch(label: str, seconds: int) -> dict[str, Any]:
    token = await step(_new_id, name=f"token-{label}")
    await wait(seconds, name=f"wait-{label}")
    lucky = await step(_draw, name=f"draw-{label}")
    return {"label": label, "token": token, "lucky": lucky}


@durable_execution
async def parallel_ids(event: Any) -> dict[str, Any]:
    batch = await parallel([_branch("a", 1), _branch("b", 1), _branch("c", 2)], name="fan-out")
    return {"results": batch.get_results()}


async def _per_item(item: int) -> dict[str, Any]:
    token = await step(_new_id, name=f"item-token-{item}")
    await wait(item % 2 + 1, name=f"settle-{item}")
    return {"item": item, "token": token}


@durable_execution
async def mapped_ids(event: Any) -> dict[str, Any]:
    batch = await durable_map(_per_item, [1, 2, 3], name="items")
    return {"results": batch.get_results()}


@durable_execution
async def quorum_of_three(event: Any) -> dict[str, Any]:
    """Two of three branches suffice; which two depends on when each finishes, and so on the
    jittered delay of any retry (the default retry strategy draws it from ``random``)."""
    batch = await parallel(
        [_branch("a", 1), _branch("b", 2), _branch("c", 3)],
        name="quorum",
        completion_config=CompletionConfig(min_successful=2),
    )
    return {"done": sorted(r["label"] for r in batch.get_results() if r)}


# --- callbacks: next to a request id, and answered near their time-outs -------------------


@durable_execution
async def callback_with_request_id(event: Any) -> dict[str, Any]:
    request_id = await step(_new_id, name="request-id")
    try:
        answer = await wait_for_callback(_submit, name="approval", timeout=30)
        verdict = json.loads(answer) if answer else None
    except CallbackError as error:
        verdict = f"no answer: {type(error).__name__}"
    return {"request": request_id, "verdict": verdict}


@durable_execution
async def callbacks_near_timeouts(event: Any) -> dict[str, Any]:
    """Answers drawn at 0, 1, 30 or 3600 s race time-outs of 1, 29, 30 and 31 s; the handler
    takes whichever comes first, as it must."""
    verdicts = []
    for timeout in (1, 29, 30, 31):
        token = await step(_new_id, name=f"token-{timeout}")
        try:
            answer = await wait_for_callback(_submit, name=f"cb-{timeout}", timeout=timeout)
            verdicts.append({"token": token, "answer": json.loads(answer) if answer else None})
        except CallbackError as error:
            verdicts.append({"token": token, "answer": type(error).__name__})
    return {"verdicts": verdicts}


@durable_execution
async def approval_with_timeout(event: Any) -> Any:
    """The issue's second example: a callback with a five-second time-out."""
    answer = await wait_for_callback(_submit, name="approval", timeout=5)
    return json.loads(answer) if answer else None


# --- polling, retries, chained invokes -----------------------------------------------------

POLLING = PollingStrategy[Any](
    max_attempts=5, initial_delay=5, backoff_rate=2, jitter_strategy=JitterStrategy.NONE
)


async def _job_status(state: Any) -> Any:
    """A job id drawn on the first poll, ready on the third."""
    attempt = get_wait_for_condition_check_context().attempt
    job = state["job"] if state else str(uuid.uuid4())
    return {"job": job, "ready": attempt >= 3, "seen": random.randint(0, 99)}


def _poll_until_ready(state: Any, attempt: int) -> Any:
    return None if state and state["ready"] else POLLING(False, attempt)


@durable_execution
async def poll_with_ids(event: Any) -> dict[str, Any]:
    done = await wait_for_condition(
        _job_status, initial_state=None, name="job", polling_strategy=_poll_until_ready
    )
    return {"job": done["job"]}


async def _flaky() -> str:
    if random.random() < 0.4:
        msg = "partner timed out"
        raise ConnectionError(msg)
    return str(uuid.uuid4())


@durable_execution
async def flaky_partner(event: Any) -> dict[str, Any]:
    try:
        token = await step(_flaky, name="flaky")
    except CallableRuntimeError as error:
        token = f"gave up: {error.message}"[:40]
    await wait(1, name="pause")
    return {"token": token}


@durable_execution
async def id_service(event: Any) -> str:
    return await step(_new_id, name="issued-id")


@durable_execution
async def invoke_for_id(event: Any) -> dict[str, Any]:
    issued = await invoke("ids", {"for": "order"}, name="get-id")
    local = await step(_new_id, name="local-id")
    return {"issued": issued, "local": local}


#: Every handler of the corpus, with what its scenarios need.
CORPUS: dict[str, dict[str, Any]] = {
    "uuid_order": {"handler": uuid_order},
    "random_draw": {"handler": random_draw},
    "clock_stamps": {"handler": clock_stamps},
    "partner_ticket": {"handler": partner_ticket},
    "partner_ticket_reset": {"handler": partner_ticket, "before_run": reset_partner},
    "child_context_ids": {"handler": child_context_ids},
    "gathered_tokens": {"handler": gathered_tokens, "before_run": reset_partner},
    "parallel_ids": {"handler": parallel_ids},
    "mapped_ids": {"handler": mapped_ids},
    "quorum_of_three": {"handler": quorum_of_three},
    "callback_with_request_id": {
        "handler": callback_with_request_id,
        "callbacks": {"approval": True},
    },
    "callbacks_near_timeouts": {"handler": callbacks_near_timeouts},
    "approval_with_timeout": {"handler": approval_with_timeout},
    "poll_with_ids": {"handler": poll_with_ids},
    "flaky_partner": {"handler": flaky_partner},
    "invoke_for_id": {"handler": invoke_for_id, "functions": {"ids": id_service}},
}
