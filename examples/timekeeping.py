"""Correct handlers that keep time: deadlines, people and clocks (the session-18 false-flag
audit B).

Where ``nondeterministic.py``, ``everyday.py`` and ``habits.py`` exercise the SDK's features and
the habits users bring, these do what a scheduler, a help desk or a nightly batch does with
time: deadlines taken from the input as ISO 8601 text with a UTC offset and compared with the
SDK's durable notion of now (``async_durable_execution.now()``, a step, so the instant is
checkpointed and the same on every replay); waits computed from the difference, in chunks
that fit the execution's time-out; timezone-aware arithmetic with ``zoneinfo`` (business days
with holidays in Berlin, a local 09:00 in New York across daylight saving); callbacks whose
time-out is computed from a deadline; a callback with a heartbeat time-out, escalated on
time-out to a second approver's callback; a ``wait_for_callback`` whose submitter fails
during a ticketing outage and is retried with capped backoff; ``wait_for_condition`` polls
with exponential backoff kept in the check's state, with the SDK's own ``PollingStrategy``
and its jitter, and polls that converge on their last attempt; a nightly batch that runs to
within two minutes of the execution's one-day time-out, its last retries capped so that they
fit, and a report that must be out within its execution's one-hour time-out
(``execution_timeout=3600`` in its corpus entry) with its retries and its poll capped to fit;
many waits of different lengths in a ``parallel``; SLA deadlines per ticket in a ``map``;
timers inside ``map`` items under ``max_concurrency``; calls spaced by a wait to respect a
partner's rate limit; a debounce loop that publishes once the document has been quiet for ten
seconds; a cron-like loop that wakes at each minute boundary computed from durable time.

Every one is correct durable code: the clock, random numbers and the fake services are read
inside steps only (a submitter and a condition check are steps too); everything a decision
outside a step uses comes from a step's checkpointed result or from the input; every result
is JSON, or a ``datetime`` through the SDK's own codec. No oracle may flag any of them under
any fault plan or timing (``tests/harness/test_timekeeping_corpus.py`` at CI size;
``benchmarks/same_world.py --corpus timekeeping --plans all`` is the long campaign).

The scenarios answer every callback after a drawn delay (0, 1, 30 or 3600 s) and may let a
callback time out, miss its heartbeats or heartbeat and then go silent; the time-outs here
are set so that each of those delays meets a different side of them.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
import uuid
import zoneinfo
from typing import Any

import timekeeping_services as services
from async_durable_execution import (
    CallableRuntimeError,
    CallbackError,
    JitterStrategy,
    PollingStrategy,
    RetryStrategy,
    WaitForConditionError,
    create_callback,
    durable_callable,
    durable_execution,
    get_wait_for_callback_context,
    parallel,
    step,
    wait,
    wait_for_callback,
    wait_for_condition,
)
from async_durable_execution import map as durable_map
from async_durable_execution import now as durable_now

reset = services.reset

#: The longest single wait these handlers schedule: a wait must end, and the handler carry on,
#: well inside the execution's one-day time-out.
LONGEST_WAIT = 12 * 3600
#: How far ahead a handler schedules work itself; anything later is handed back to a scheduler.
HORIZON = 20 * 3600
#: The reminders' horizon: 23 hours from the subscription, an hour inside the time-out.
DAY_HORIZON = 23 * 3600


def _seconds(delta: dt.timedelta) -> int:
    """A wait of at least ``delta``: the service schedules whole seconds, at least one."""
    return max(1, math.ceil(delta.total_seconds()))


async def _wait_until(target: dt.datetime, label: str) -> dt.datetime:
    """Wait until the durable clock reaches ``target``, in waits of at most ``LONGEST_WAIT``,
    each computed from a fresh durable now (a wait may end late); returns that now."""
    for leg in range(1, 10):
        now = await durable_now(name=f"{label}-now-{leg}")
        if now >= target:
            return now
        await wait(min(_seconds(target - now), LONGEST_WAIT), name=f"{label}-wait-{leg}")
    return await durable_now(name=f"{label}-now-last")


async def _new_id() -> str:
    return str(uuid.uuid4())


async def _nothing() -> None:
    return None


# --- a deadline from the input, against durable now ---------------------------------------


@durable_callable
async def _remind(order: str, left: int) -> str:
    return f"reminded {order} with {left} s left at {time.time():.0f}"


@durable_callable
async def _escalate(order: str, why: str) -> str:
    return f"escalated {order}: {why}"


@durable_execution
async def deadline_from_input(event: Any) -> dict[str, Any]:
    """The order is due at an instant given as ISO 8601 with a UTC offset. Remind halfway to
    the deadline, then close at the deadline; a deadline already past is escalated at once,
    and one beyond the horizon is handed back to the scheduler."""
    order = event["order"]
    due = dt.datetime.fromisoformat(event["due"])
    started = await durable_now(name="started")
    remaining = due - started
    if remaining.total_seconds() < 1:
        note = await step(_escalate(order, "overdue on arrival"), name="escalate")
        return {"order": order, "status": "overdue", "note": note}
    if remaining.total_seconds() > HORIZON:
        return {"order": order, "status": "deferred", "due": due.isoformat()}
    halfway = started + remaining / 2
    await _wait_until(halfway, "halfway")
    after = await durable_now(name="after-halfway")
    left = _seconds(due - after)
    note = await step(_remind(order, left), name="remind")
    closed_at = await _wait_until(due, "due")
    return {
        "order": order,
        "status": "closed",
        "note": note,
        "late_by": round((closed_at - due).total_seconds(), 3),
    }


# --- business days in a time zone, a callback open until the window closes ------------------

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
OPENS, CLOSES = dt.time(9, 0), dt.time(17, 0)


def business_window(
    now: dt.datetime, tz: zoneinfo.ZoneInfo, holidays: frozenset[str]
) -> tuple[dt.datetime, dt.datetime]:
    """The business window (Monday to Friday, 09:00 to 17:00 local, holidays excluded) that
    is open at ``now`` or opens next, as UTC instants. Pure: same answer on every replay."""
    local = now.astimezone(tz)
    day = local.date()
    for _ in range(15):
        if day.weekday() < 5 and day.isoformat() not in holidays:
            opens = dt.datetime.combine(day, OPENS, tzinfo=tz).astimezone(dt.UTC)
            closes = dt.datetime.combine(day, CLOSES, tzinfo=tz).astimezone(dt.UTC)
            if now < closes:
                return max(opens, now.astimezone(dt.UTC)), closes
        day += dt.timedelta(days=1)
    msg = f"no business day within 15 days of {local.isoformat()}"
    raise ValueError(msg)


@durable_callable
async def _page_support(ticket: str) -> str:
    services.TICKETS.setdefault(ticket, get_wait_for_callback_context().callback_id)
    return f"paged for {ticket}"


@durable_execution
async def business_hours_callback(event: Any) -> dict[str, Any]:
    """Support answers in Berlin business hours only: wait for the next window (skipping
    weekends and the given holidays), then ask, with a time-out that ends when the window
    closes. A window beyond the horizon is handed back to the scheduler."""
    holidays = frozenset((event or {}).get("holidays", ()))
    ticket = await step(_new_id, name="ticket")
    now = await durable_now(name="received")
    opens, closes = business_window(now, BERLIN, holidays)
    if (opens - now).total_seconds() > HORIZON:
        return {"status": "deferred", "opens": opens.isoformat()}
    asked_at = await _wait_until(opens, "opening")
    left = (closes - asked_at).total_seconds()
    if left < 60:
        return {"status": "missed the window", "opens": opens.isoformat()}
    try:
        answer = await wait_for_callback(_page_support(ticket), name="support", timeout=int(left))
    except CallbackError as error:
        return {"status": "unanswered", "why": type(error).__name__, "opens": opens.isoformat()}
    return {
        "status": "answered",
        "answer": answer,
        "local": asked_at.astimezone(BERLIN).isoformat(),
    }


# --- a local time of day across daylight saving -------------------------------------------


def next_local(now: dt.datetime, tz: zoneinfo.ZoneInfo, at: dt.time) -> dt.datetime:
    """The next instant after ``now`` at which the wall clock in ``tz`` shows ``at``. The
    difference is taken in UTC: aware datetimes of one zone subtract as naive ones, which is
    an hour wrong across a daylight-saving change."""
    local = now.astimezone(tz)
    candidate = dt.datetime.combine(local.date(), at, tzinfo=tz)
    if candidate <= local:
        candidate = dt.datetime.combine(local.date() + dt.timedelta(days=1), at, tzinfo=tz)
    return candidate.astimezone(dt.UTC)


@durable_callable
async def _send_reminder(user: str, local: str) -> str:
    return f"{user}: it is {local}"


@durable_execution
async def local_time_reminder(event: Any) -> dict[str, Any]:
    """Remind the user at each of the given wall-clock times of their own time zone, each
    the next after the previous reminder (computed from durable now, daylight saving
    included); a reminder beyond the horizon from the subscription is handed back."""
    tz = zoneinfo.ZoneInfo(event["tz"])
    subscribed = now = await durable_now(name="subscribed")
    sent: list[dict[str, Any]] = []
    for index, text in enumerate(event["at"], start=1):
        target = next_local(now, tz, dt.time.fromisoformat(text))
        if (target - subscribed).total_seconds() > DAY_HORIZON:
            sent.append({"at": text, "deferred": target.isoformat()})
            break
        now = await _wait_until(target, f"reminder-{index}")
        local = now.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
        note = await step(_send_reminder(event["user"], local), name=f"remind-{index}")
        sent.append({"at": text, "sent": note})
    return {"user": event["user"], "sent": sent}


# --- a callback whose time-out is computed from a deadline ----------------------------------


@durable_callable
async def _mail_customer(request: str) -> str:
    return f"mailed {request} with callback {get_wait_for_callback_context().callback_id[:8]}"


@durable_execution
async def reply_by_deadline(event: Any) -> dict[str, Any]:
    """The customer must reply by an instant given in the input (New York time); the
    callback's time-out is what is left of it, from durable now, at most six hours."""
    reply_by = dt.datetime.fromisoformat(event["reply_by"])
    request = await step(_new_id, name="request")
    now = await durable_now(name="asked-at")
    left = (reply_by - now).total_seconds()
    if left < 1:
        return {"request": request, "status": "expired before asking"}
    try:
        answer = await wait_for_callback(
            _mail_customer(request), name="customer", timeout=min(math.floor(left), 6 * 3600)
        )
    except CallbackError as error:
        return {"request": request, "status": "no reply", "why": type(error).__name__}
    return {"request": request, "status": "replied", "answer": answer}


# --- heartbeats and an escalation chain ---------------------------------------------------


@durable_callable
async def _notify(approver: str, request: str) -> str:
    callback_id = get_wait_for_callback_context().callback_id
    services.TICKETS.setdefault(f"{request}-{approver}", callback_id)
    return f"asked {approver}"


@durable_callable
async def _auto_reject(request: str, why: str) -> dict[str, Any]:
    return {"request": request, "decision": "rejected", "by": "policy", "why": why}


@durable_execution
async def escalation_chain(event: Any) -> dict[str, Any]:
    """The manager has 30 s and must heartbeat every 10 s; if they do not answer (time-out,
    missed heartbeat, refusal), the director is asked with an hour and a 45 s heartbeat; if
    the director does not answer either, policy rejects the request."""
    request = await step(_new_id, name="request")
    reasons = []
    for approver, timeout, heartbeat in (("manager", 30, 10), ("director", 3600, 45)):
        try:
            answer = await wait_for_callback(
                _notify(approver, request),
                name=approver,
                timeout=timeout,
                heartbeat_timeout=heartbeat,
            )
        except CallbackError as error:
            reasons.append(f"{approver}: {type(error).__name__}")
            continue
        return {"request": request, "decision": answer, "by": approver, "skipped": reasons}
    return await step(_auto_reject(request, "; ".join(reasons)), name="auto-reject")


@durable_callable
async def _register_watch(device: str, callback_id: str) -> str:
    services.TICKETS.setdefault(device, callback_id)
    return f"watching {device}"


@durable_execution
async def heartbeat_watchdog(event: Any) -> dict[str, Any]:
    """A device reports through a callback: an answer within 31 s of silence (its heartbeat
    time-out) is the report; a device that goes silent longer is declared lost, checked
    again after a minute, and replaced after a second silence."""
    device = await step(_new_id, name="device")
    for watch in (1, 2):
        callback = await create_callback(name=f"watch-{watch}", timeout=7200, heartbeat_timeout=31)
        await step(_register_watch(device, callback.callback_id), name=f"register-{watch}")
        try:
            report = await callback.result()
        except CallbackError as error:
            if watch == 1:
                await wait(60, name="grace")
                continue
            return {"device": device, "status": "replaced", "why": type(error).__name__}
        return {"device": device, "status": "reporting", "report": report, "watch": watch}
    return {"device": device, "status": "unreachable"}


# --- a wait_for_callback whose submitter fails and is retried -----------------------------


@durable_callable
async def _outage() -> dict[str, Any]:
    key = str(uuid.uuid4())
    until = time.time() + random.randint(0, 40)
    services.plan_outage(key, until)
    return {"key": key, "until": until}


async def _open_ticket(key: str) -> str:
    callback_id = get_wait_for_callback_context().callback_id
    return services.open_ticket(key, callback_id, time.time())


#: Backoff capped at 16 s: 2, 4, 8, 16, 16 s cover a 40 s outage in six attempts, well inside
#: the callback's five-minute time-out (which runs from the callback's creation, retries
#: included).
TICKETING_RETRIES = RetryStrategy(
    max_attempts=6,
    initial_delay=2,
    backoff_rate=2,
    max_delay=16,
    jitter_strategy=JitterStrategy.NONE,
    retryable_error_types=[services.TicketingDown],
)


@durable_execution
async def submitter_retries(event: Any) -> dict[str, Any]:
    """The submitter opens a ticket carrying the callback id; the ticketing system is down
    for up to 40 s, so the submitter step fails and is retried with capped backoff. The
    handler reports an outage that outlasted the retries, or a customer who did not answer."""
    outage = await step(_outage(), name="outage")
    try:
        answer = await wait_for_callback(
            lambda: _open_ticket(outage["key"]),
            name="ticket",
            timeout=300,
            heartbeat_timeout=120,
            retry_strategy=TICKETING_RETRIES,
        )
    except CallbackError as error:
        return {"status": "no answer", "why": type(error).__name__}
    except CallableRuntimeError as error:
        return {"status": "ticketing down", "why": error.error_type}
    return {"status": "answered", "answer": answer}


# --- polls with backoff in the check's state ----------------------------------------------


@durable_callable
async def _start_job(earliest: int, latest: int) -> dict[str, Any]:
    job = str(uuid.uuid4())
    done_at = time.time() + random.randint(earliest, latest)
    services.start_job(job, done_at)
    return {"job": job}


async def _check_job(state: Any) -> Any:
    delay = state["delay"]
    return {
        "job": state["job"],
        "polls": state["polls"] + 1,
        "done": services.job_done(state["job"], time.time()),
        # Doubling, capped at five minutes: the next wait travels in the checkpointed state.
        "delay": min(delay * 2, 300),
        "waited": state["waited"] + (delay if state["polls"] else 0),
    }


def _backoff_from_state(state: Any, attempt: int) -> int | None:
    if state["done"] or state["polls"] >= 8:
        return None
    return int(state["delay"])


@durable_execution
async def poll_backoff_in_state(event: Any) -> dict[str, Any]:
    """Poll a job with exponential backoff whose next delay is part of the check's state (5,
    10, 20 ... capped at 300 s), at most eight polls; a job done after about ten minutes is
    found on the last poll or not at all."""
    job = await step(_start_job(10, 1200), name="start-job")
    final = await wait_for_condition(
        _check_job,
        initial_state={**job, "polls": 0, "delay": 5, "waited": 0},
        name="job",
        polling_strategy=_backoff_from_state,
    )
    return {"done": final["done"], "polls": final["polls"], "waited": final["waited"]}


async def _job_finished(state: Any) -> Any:
    return services.job_done(state, time.time())


@durable_execution
async def poll_sdk_backoff(event: Any) -> dict[str, Any]:
    """The SDK's own ``PollingStrategy``: five checks, 3 s tripling to at most 120 s with
    full jitter; the strategy raises ``WaitForConditionError`` when the job is still not
    done after the fifth, and the handler falls back to a report."""
    started = await step(_start_job(5, 400), name="start-job")

    async def check(state: Any) -> Any:
        return started["job"] if await _job_finished(started["job"]) else None

    try:
        found = await wait_for_condition(
            check,
            initial_state=None,
            name="job",
            polling_strategy=PollingStrategy(
                max_attempts=5, initial_delay=3, backoff_rate=3, max_delay=120
            ),
        )
    except WaitForConditionError as error:
        return {"done": False, "why": str(error)}
    return {"done": found == started["job"]}


# --- a nightly batch that finishes just before the execution's time-out ---------------------

#: The execution's time-out (the runner's default) and the margin the last step keeps.
EXECUTION_TIMEOUT = 86_400
RESERVE = 120


class Flaky(Exception):
    """The warehouse's API hiccuped."""


@durable_callable
async def _phase(name: str) -> str:
    if random.random() < 0.3:
        msg = f"{name} hiccuped"
        raise Flaky(msg)
    return f"{name} done at {time.time():.0f}"


#: The publish step's worst case is two retries, 20 + 40 s: it fits inside the reserve.
PUBLISH_RETRIES = RetryStrategy(
    max_attempts=3,
    initial_delay=20,
    backoff_rate=2,
    max_delay=40,
    jitter_strategy=JitterStrategy.NONE,
    retryable_error_types=[Flaky],
)


@durable_execution
async def nightly_batch_just_in_time(event: Any) -> dict[str, Any]:
    """Extract, transform and load, each phase holding for a share of the day, then publish
    two minutes before the execution's one-day time-out; the publish step's retries are
    capped so that their worst case still fits. Every wait is computed from durable now."""
    started = await durable_now(name="started")
    publish_at = started + dt.timedelta(seconds=EXECUTION_TIMEOUT - RESERVE)
    done = []
    phases = ("extract", "transform", "load")
    for index, phase in enumerate(phases):
        try:
            done.append(
                await step(
                    _phase(phase),
                    name=phase,
                    retry_strategy=RetryStrategy(
                        max_attempts=4,
                        initial_delay=30,
                        max_delay=300,
                        retryable_error_types=[Flaky],
                    ),
                )
            )
        except CallableRuntimeError as error:
            done.append(f"{phase} failed: {error.error_type}")
        now = await durable_now(name=f"after-{phase}")
        # Hold for an equal share of what is left before publishing.
        share = (publish_at - now) / (len(phases) - index)
        await _wait_until(now + share, f"hold-{phase}")
    await _wait_until(publish_at, "publish")
    try:
        published = await step(_phase("publish"), name="publish", retry_strategy=PUBLISH_RETRIES)
    except CallableRuntimeError as error:
        published = f"publish failed: {error.error_type}"
    return {"phases": done, "published": published}


# --- a report due within the execution's one-hour time-out ---------------------------------

#: The report's execution time-out (``execution_timeout=3600`` in the corpus entry).
REPORT_TIMEOUT = 3600


@durable_callable
async def _fetch_source(source: str) -> dict[str, Any]:
    if random.random() < 0.25:
        msg = f"{source} hiccuped"
        raise Flaky(msg)
    return {"source": source, "rows": random.randint(10, 99)}


@durable_callable
async def _start_render(rows: int) -> dict[str, Any]:
    job = str(uuid.uuid4())
    services.start_job(job, time.time() + random.randint(30, 900))
    return {"job": job, "rows": rows}


async def _render_done(state: Any) -> Any:
    return {**state, "done": services.job_done(state["job"], time.time())}


def _every_minute_for_twenty(state: Any, attempt: int) -> int | None:
    return None if state["done"] or attempt >= 20 else 60


#: Worst case 30 + 60 + 60 s per source: capped so that the sources fit their share.
SOURCE_RETRIES = RetryStrategy(
    max_attempts=4,
    initial_delay=30,
    backoff_rate=2,
    max_delay=60,
    retryable_error_types=[Flaky],
)


@durable_execution
async def report_within_the_hour(event: Any) -> dict[str, Any]:
    """The execution times out after an hour. Three sources are fetched in parallel (retries
    capped at a minute), the report renders for up to twenty minutes (polled once a
    minute), and it is published at the top of the next hour or two minutes before the
    time-out, whichever comes first; the publish step's retries (20 + 40 s) fit in those two
    minutes. Every instant is durable now."""
    started = await durable_now(name="started")
    deadline = started + dt.timedelta(seconds=REPORT_TIMEOUT - RESERVE)
    top = started.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    publish_at = min(top, deadline)

    async def fetch(source: str) -> Any:
        try:
            return await step(_fetch_source(source), name=source, retry_strategy=SOURCE_RETRIES)
        except CallableRuntimeError:
            return {"source": source, "rows": 0}

    sources = await parallel(
        [lambda s=s: fetch(s) for s in ("sales", "stock", "returns")], name="sources"
    )
    rows = sum(r["rows"] for r in sources.get_results())
    render = await step(_start_render(rows), name="render")
    rendered = await wait_for_condition(
        _render_done,
        initial_state={**render, "done": False},
        name="rendered",
        polling_strategy=_every_minute_for_twenty,
    )
    await _wait_until(publish_at, "publish")
    try:
        published = await step(_phase("publish"), name="publish", retry_strategy=PUBLISH_RETRIES)
    except CallableRuntimeError as error:
        published = f"publish failed: {error.error_type}"
    return {"rows": rows, "rendered": rendered["done"], "published": published}


# --- many waits in a parallel, timers in a throttled map ----------------------------------


@durable_callable
async def _stamp(label: str) -> float:
    return time.time()


@durable_callable
async def _sleeper(seconds: int) -> dict[str, Any]:
    await wait(seconds, name=f"sleep-{seconds}")
    woke = await step(_stamp(f"woke-{seconds}"), name=f"woke-{seconds}")
    return {"slept": seconds, "woke": woke}


@durable_execution
async def parallel_waits(event: Any) -> dict[str, Any]:
    """Eight branches wait 1 s to an hour, then stamp the time; the handler checks the
    order in which they woke."""
    began = await step(_stamp("began"), name="began")
    lengths = [13, 1, 3600, 2, 8, 600, 3, 5]
    batch = await parallel([_sleeper(s) for s in lengths], name="sleepers")
    results = batch.get_results()
    woke_in_order = sorted(results, key=lambda r: r["woke"]) == sorted(
        results, key=lambda r: r["slept"]
    )
    return {
        "slept": [r["slept"] for r in results],
        "woke_in_order": woke_in_order,
        "longest": round(max(r["woke"] for r in results) - began),
    }


async def _timed_item(item: int) -> dict[str, Any]:
    seconds = (item * 7) % 5 * 10 + 1
    await wait(seconds, name=f"pause-{item}")
    fetched = await step(_stamp(f"fetch-{item}"), name=f"fetch-{item}")
    return {"item": item, "paused": seconds, "at": fetched}


@durable_execution
async def map_timers_throttled(event: Any) -> dict[str, Any]:
    """Ten items, three at a time, each pausing 1 to 41 s before its fetch."""
    began = await step(_stamp("began"), name="began")
    batch = await durable_map(_timed_item, list(range(10)), name="items", max_concurrency=3)
    results = batch.get_results()
    return {
        "items": [r["item"] for r in results],
        "paused": sum(r["paused"] for r in results),
        # Three at a time: the map takes at least a third of the pauses (and at most all).
        "span": round(max(r["at"] for r in results) - began),
    }


# --- rate limiting, debouncing, a minute-boundary cron ------------------------------------


@durable_callable
async def _call(caller: str, call: int) -> str:
    return services.call_partner(caller, call, time.time())


@durable_execution
async def rate_limited_calls(event: Any) -> dict[str, Any]:
    """Five calls to a partner that accepts one call per two seconds: a wait of two seconds
    between calls; a refused call (too soon, say after a re-run) is retried after two more."""
    caller = await step(_new_id, name="caller")
    replies = []
    for call in range(1, 6):
        if call > 1:
            await wait(int(services.MIN_SPACING), name=f"space-{call}")
        replies.append(
            await step(
                _call(caller, call),
                name=f"call-{call}",
                retry_strategy=RetryStrategy(
                    max_attempts=5,
                    initial_delay=2,
                    backoff_rate=1,
                    jitter_strategy=JitterStrategy.NONE,
                    retryable_error_types=[services.RateLimited],
                ),
            )
        )
    return {"replies": replies}


@durable_callable
async def _plan_edits() -> dict[str, Any]:
    doc = str(uuid.uuid4())
    now = time.time()
    offsets = sorted(random.sample(range(40), 4))
    services.plan_edits(doc, [now + o for o in offsets])
    return {"doc": doc}


@durable_callable
async def _quiet_for(doc: str) -> dict[str, Any]:
    now = time.time()
    last = services.last_edit(doc, now)
    return {
        "quiet": None if last is None else now - last,
        "pending": services.pending_edits(doc, now),
    }


@durable_callable
async def _publish(doc: str) -> str:
    return f"published {doc[:8]} at {time.time():.0f}"


@durable_execution
async def debounce_until_quiet(event: Any) -> dict[str, Any]:
    """Publish a document once nobody has saved it for ten seconds: after each save, wait
    out the rest of the quiet period and look again (at most twenty looks)."""
    doc = (await step(_plan_edits(), name="open-doc"))["doc"]
    for look in range(1, 21):
        seen = await step(_quiet_for(doc), name=f"look-{look}")
        quiet = seen["quiet"]
        if quiet is not None and quiet >= 10 and not seen["pending"]:
            published = await step(_publish(doc), name="publish")
            return {"published": published, "looks": look}
        rest = 10 if quiet is None or quiet >= 10 else max(1, math.ceil(10 - quiet))
        await wait(rest, name=f"debounce-{look}")
    return {"published": None, "looks": 20}


@durable_callable
async def _tick(boundary: str) -> str:
    return f"tick {boundary} (ran at {time.time():.1f})"


@durable_execution
async def cron_minute_ticks(event: Any) -> dict[str, Any]:
    """A cron-like loop: wake at each of the next four minute boundaries, computed from
    durable now (never the wall clock outside a step), and tick once per boundary."""
    ticks = []
    for tick in range(1, 5):
        now = await durable_now(name=f"now-{tick}")
        boundary = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        await wait(_seconds(boundary - now), name=f"until-{tick}")
        ticks.append(await step(_tick(boundary.strftime("%H:%M")), name=f"tick-{tick}"))
    boundaries = [t.split()[1] for t in ticks]
    return {"ticks": boundaries, "distinct": len(set(boundaries)) == len(boundaries)}


# --- many deadlines at once: the SLA clock of a support queue -----------------------------


@durable_callable
async def _first_response(ticket: int, deadline: str) -> str:
    return f"ticket {ticket} answered by {deadline}"


async def _ticket_sla(ticket: int) -> dict[str, Any]:
    """Each ticket gets an SLA from its priority; its first response is due then."""
    opened = await durable_now(name=f"opened-{ticket}")
    sla = dt.timedelta(minutes=(1, 5, 30, 240)[ticket % 4])
    due = opened + sla
    await _wait_until(due, f"sla-{ticket}")
    sent = await step(_first_response(ticket, due.isoformat()), name=f"respond-{ticket}")
    return {"ticket": ticket, "sla_minutes": int(sla.total_seconds() // 60), "sent": sent}


@durable_execution
async def sla_clocks(event: Any) -> dict[str, Any]:
    """Eight tickets, four SLA lengths (1 min to 4 h), two at a time, each waiting until its
    own deadline computed from the durable instant it was opened."""
    batch = await durable_map(_ticket_sla, list(range(8)), name="tickets", max_concurrency=2)
    results = batch.get_results()
    return {"answered": [r["ticket"] for r in results], "slas": [r["sla_minutes"] for r in results]}


CORPUS: dict[str, dict[str, Any]] = {
    "deadline_from_input": {
        "handler": deadline_from_input,
        # 90 minutes after the scenarios' default start (2025-01-01T00:00Z).
        "input": {"order": "A-17", "due": "2025-01-01T03:30:00+02:00"},
    },
    "deadline_from_input_far": {
        "handler": deadline_from_input,
        # Nineteen hours away: two legs of waiting to halfway, two more to the deadline.
        "input": {"order": "B-4", "due": "2025-01-01T14:00:00-05:00"},
    },
    "business_hours_callback": {
        "handler": business_hours_callback,
        "input": {},
        "callbacks": {"support": "on it"},
        "before_run": reset,
    },
    "business_hours_holiday": {
        "handler": business_hours_callback,
        "input": {"holidays": ["2025-01-01"]},
        "callbacks": {"support": "on it"},
        "before_run": reset,
    },
    "local_time_reminder": {
        "handler": local_time_reminder,
        "input": {"user": "ana", "tz": "America/New_York", "at": ["09:00", "18:00"]},
    },
    "reply_by_deadline": {
        "handler": reply_by_deadline,
        # 75 minutes after the default start: an hour's answer beats it, and the time-out is
        # computed from durable now.
        "input": {"reply_by": "2024-12-31T20:15:00-05:00"},
        "callbacks": {"customer": {"yes": True}},
    },
    "escalation_chain": {
        "handler": escalation_chain,
        "callbacks": {"manager": "approved", "director": "approved"},
        "before_run": reset,
    },
    "heartbeat_watchdog": {
        "handler": heartbeat_watchdog,
        "callbacks": {"watch-1": {"ok": 1}, "watch-2": {"ok": 2}},
        "before_run": reset,
    },
    "submitter_retries": {
        "handler": submitter_retries,
        "callbacks": {"ticket": "resolved"},
        "before_run": reset,
    },
    "poll_backoff_in_state": {"handler": poll_backoff_in_state, "before_run": reset},
    "poll_sdk_backoff": {"handler": poll_sdk_backoff, "before_run": reset},
    "nightly_batch_just_in_time": {"handler": nightly_batch_just_in_time},
    "report_within_the_hour": {
        "handler": report_within_the_hour,
        "execution_timeout": REPORT_TIMEOUT,
        "before_run": reset,
    },
    "parallel_waits": {"handler": parallel_waits},
    "map_timers_throttled": {"handler": map_timers_throttled},
    "rate_limited_calls": {"handler": rate_limited_calls, "before_run": reset},
    "debounce_until_quiet": {"handler": debounce_until_quiet, "before_run": reset},
    "cron_minute_ticks": {"handler": cron_minute_ticks},
    "sla_clocks": {"handler": sla_clocks},
}
