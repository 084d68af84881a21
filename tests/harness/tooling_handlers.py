"""Handlers for ``test_tooling_corpus.py``: a wrong twin of ``examples/tooling.py``, and
handlers whose client is made in their own module (what a cold sandbox makes anew)."""

from __future__ import annotations

import time
from typing import Any

import tooling_services as services
from async_durable_execution import durable_execution, step, wait


async def _value(value: Any) -> Any:
    return value


@durable_execution
async def id_outside_step(event: Any) -> dict[str, Any]:
    """``tooling.ids_from_patched_factory`` with its first id drawn outside a step (and
    named in the next step): each replay draws another id from the patched factory, and asks
    for a step of another name where the checkpoint holds the first."""
    invoice_id = services.new_id()
    invoice = await step(lambda: _value(invoice_id), name=f"invoice-{invoice_id}")
    await wait(60, name="grace")
    reminder = await step(lambda: _value(f"reminder-for-{invoice}"), name="reminder")
    return {"invoice": invoice, "reminder": reminder}


class Geocoder:
    def locate(self, address: str) -> dict[str, float]:
        raise services.NoNetworkInTests(f"Geocoder.locate({address!r})")


#: Made in the handler's own module, at import: a cold sandbox makes it anew.
GEOCODER = Geocoder()


async def _locate(address: str) -> dict[str, float]:
    return GEOCODER.locate(address)


@durable_execution
async def geocode_then_wait(event: Any) -> dict[str, Any]:
    """Locate an address, wait a minute, locate another one."""
    first = await step(lambda: _locate(event["from"]), name="from")
    await wait(60, name="pause")
    second = await step(lambda: _locate(event["to"]), name="to")
    return {"from": first, "to": second}


@durable_execution
async def no_client(event: Any) -> dict[str, Any]:
    """A wait and a step that talk to nobody."""
    await wait(5, name="pause")
    return {"done": await step(lambda: _value(True), name="done")}


async def _sleepy(attempts: int) -> int:
    for _ in range(attempts):
        time.sleep(2)  # a client library's own blocking backoff
    return attempts


@durable_execution
async def blocking_backoff(event: Any) -> dict[str, Any]:
    """A step whose client sleeps between its own attempts (which tests patch away)."""
    return {"tries": await step(lambda: _sleepy(3), name="call")}
