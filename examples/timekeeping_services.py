"""Fake services for ``timekeeping.py``: a ticketing system with outages, a partner API that
enforces a rate limit, a document store that receives edits over time, batch jobs that finish
at a given instant, and a log of what each handler did when.

They live in a module of their own because an external service outlives the Lambda sandbox:
a cold re-invocation re-imports the handler's module, not the world it talks to. Every
instant here is the virtual clock's (the step bodies that call these read ``time.time()``,
which the runner moves).
"""

from __future__ import annotations

#: Ticketing: request key -> the instant its outage ends (requests before it are refused).
OUTAGES: dict[str, float] = {}
#: Tickets opened: request key -> callback id the ticket carries.
TICKETS: dict[str, str] = {}
#: Partner API: caller key -> the instants of its accepted calls.
CALLS: dict[str, list[float]] = {}
#: Documents: id -> the instants at which an editor saves it.
EDITS: dict[str, list[float]] = {}
#: Batch jobs: id -> the instant the job is done.
JOBS: dict[str, float] = {}

#: The partner accepts one call per caller every this many seconds.
MIN_SPACING = 2.0


class TicketingDown(Exception):
    """The ticketing system is in an outage; try again later."""


class RateLimited(Exception):
    """The partner refused a call that came too soon after the previous one."""


def reset() -> None:
    """A fresh deployment of every fake service."""
    OUTAGES.clear()
    TICKETS.clear()
    CALLS.clear()
    EDITS.clear()
    JOBS.clear()


def plan_outage(key: str, until: float) -> None:
    OUTAGES.setdefault(key, until)


def open_ticket(key: str, callback_id: str, now: float) -> str:
    """Idempotent on the key, as a ticketing API with client tokens is."""
    if now < OUTAGES.get(key, 0.0):
        msg = f"ticketing is down until {OUTAGES[key]:.0f} (now {now:.0f})"
        raise TicketingDown(msg)
    TICKETS.setdefault(key, callback_id)
    return f"ticket-{key[:8]}"


def call_partner(caller: str, call: int, now: float) -> str:
    """One call per ``MIN_SPACING`` seconds per caller; a call too soon is refused."""
    calls = CALLS.setdefault(caller, [])
    if calls and now - calls[-1] < MIN_SPACING:
        msg = (
            f"call {call} came {now - calls[-1]:.1f} s after the last; the limit is {MIN_SPACING} s"
        )
        raise RateLimited(msg)
    calls.append(now)
    return f"reply-{call}"


def plan_edits(doc: str, instants: list[float]) -> None:
    EDITS.setdefault(doc, sorted(instants))


def last_edit(doc: str, now: float) -> float | None:
    """The last save at or before ``now`` (None: nobody saved yet)."""
    saved = [t for t in EDITS.get(doc, []) if t <= now]
    return saved[-1] if saved else None


def pending_edits(doc: str, now: float) -> int:
    return sum(1 for t in EDITS.get(doc, []) if t > now)


def start_job(job: str, done_at: float) -> None:
    JOBS.setdefault(job, done_at)


def job_done(job: str, now: float) -> bool:
    return now >= JOBS.get(job, float("inf"))
