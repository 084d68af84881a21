"""Wrong twins of ``examples/timekeeping.py`` handlers: each has a real bug that the oracles
must still flag once the audit's fixes are in (module-level, so cold sandboxes can
re-import them)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from async_durable_execution import (
    CallableRuntimeError,
    RetryStrategy,
    durable_callable,
    durable_execution,
    step,
    wait,
)

#: Invocations this sandbox has run: module state, which a re-invocation carries on (warm)
#: or starts over (cold); nothing durable.
SANDBOX: dict[str, int] = {"invocations": 0}


class Hiccup(Exception):
    """The warehouse's API hiccuped."""


@durable_callable
async def _phase(name: str) -> str:
    if random.random() < 0.5:
        msg = f"{name} hiccuped"
        raise Hiccup(msg)
    return f"{name} done"


@durable_execution
async def batch_counting_invocations(event: Any) -> dict[str, Any]:
    """The nightly batch's shape (phases retried on ``Hiccup``, a long hold between them), but
    the result reports how many invocations this sandbox ran: a crash adds one, so the
    outcome depends on a fault the service masks."""
    SANDBOX["invocations"] += 1
    done = []
    for phase in ("extract", "load"):
        try:
            done.append(
                await step(
                    _phase(phase),
                    name=phase,
                    retry_strategy=RetryStrategy(
                        max_attempts=4, initial_delay=30, retryable_error_types=[Hiccup]
                    ),
                )
            )
        except CallableRuntimeError as error:
            done.append(f"{phase} failed: {error.error_type}")
        await wait(dt.timedelta(hours=8), name=f"hold-{phase}")
    return {"phases": done, "invocations": SANDBOX["invocations"]}
