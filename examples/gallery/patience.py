"""Steps that must happen however long their partner is down.

A step's retry policy covers a partner's blips: the SDK's default is six attempts over a
minute or two. A partner can be down for longer (an outage), and some steps must still
happen once the workflow has decided on them: a compensation, a capture, the record of a
decision. ``until_done`` runs such a step in rounds: each round is the step's own retries,
and between two rounds the workflow waits an hour, durably (a wait costs nothing while it
waits, and the function is not running), for half a day.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from async_durable_execution import CallableRuntimeError, step, wait

T = TypeVar("T")

#: Rounds of a step, and the wait between two, in seconds.
ROUNDS = 12
PAUSE = 3600


def never(error: CallableRuntimeError) -> bool:
    return False


async def until_done(
    make: Callable[[], Callable[[], Awaitable[T]]],
    name: str,
    *,
    retry_strategy: Any = None,
    final: Callable[[CallableRuntimeError], bool] = never,
) -> T:
    """Run the step ``make()`` builds, named ``name`` (then ``name-2``, ...), in rounds until
    it succeeds; re-raise its error after the last round, or at once when ``final(error)``
    says no round can change it (a closed account, a declined card)."""
    for round_ in range(ROUNDS):
        label = name if round_ == 0 else f"{name}-{round_ + 1}"
        try:
            return await step(make(), name=label, retry_strategy=retry_strategy)
        except CallableRuntimeError as error:
            if final(error) or round_ + 1 == ROUNDS:
                raise
            await wait(PAUSE, name=f"{label}-partner-down")
    raise AssertionError("unreachable: the last round returns or raises")
