"""Fake services and sinks for ``habits.py``: a log sink, a mailbox that honours idempotency
keys, a job tracker and a ledger of partner calls.

They live in a module of their own because an external service (and a log shipper) outlives
the Lambda sandbox: a cold re-invocation re-imports the handler's module, not the world it
talks to.
"""

from __future__ import annotations

import collections
from typing import Any

#: Formatted log lines, as a log shipper would receive them (bounded: a campaign logs a lot).
LOG_LINES: collections.deque[str] = collections.deque(maxlen=2_000)
#: E-mails sent: idempotency key -> how many times the mail server was asked to send it.
SENT: dict[str, int] = {}
#: Export jobs: job id -> the virtual time at which the job is done.
JOBS: dict[str, float] = {}


def reset() -> None:
    """A fresh deployment of every fake service."""
    LOG_LINES.clear()
    SENT.clear()
    JOBS.clear()


def send_mail(key: str, to: str) -> str:
    """The mail server deduplicates on the key: the same key is one e-mail."""
    SENT[key] = SENT.get(key, 0) + 1
    return f"mail-{key[:8]}-to-{to}"


def start_job(job: str, done_at: float) -> None:
    JOBS.setdefault(job, done_at)


def job_done(job: str, now: float) -> bool:
    return now >= JOBS.get(job, float("inf"))


def lines_matching(text: str) -> list[dict[str, Any] | str]:
    return [line for line in LOG_LINES if text in line]
