"""Wrong twins of ``examples/data_stores.py``'s handlers: the mistakes users make with a
system of record under at-least-once steps and replays (``test_data_stores_corpus.py`` shows
each flagged, or failing, in the world that exposes it).
"""

from __future__ import annotations

import functools
import os
import uuid
from typing import Any

import data_stores_services as services
from async_durable_execution import (
    durable_execution,
    step,
    wait,
)
from data_stores import FLAKY, PAYMENTS, TRIPS, _route, _routes, _settings, book_trips


def _lines_schema() -> None:
    with services.connect("orders.db") as conn, conn:
        conn.execute("CREATE TABLE IF NOT EXISTS lines (order_id TEXT, sku TEXT, qty INTEGER)")


async def _add_line(order_id: str, sku: str, qty: int) -> str:
    _lines_schema()
    with services.connect("orders.db") as conn, conn:
        # Wrong: no key, so every run of this body adds the line again.
        conn.execute("INSERT INTO lines VALUES (?, ?, ?)", (order_id, sku, qty))
    services.RATES.rate("EUR", "today")  # then a partner call that may refuse (retried)
    return sku


async def _count_lines(order_id: str) -> int:
    with services.connect("orders.db") as conn:
        (units,) = conn.execute(
            "SELECT coalesce(sum(qty), 0) FROM lines WHERE order_id = ?", (order_id,)
        ).fetchone()
    return int(units)


def arm_refusal() -> None:
    """The partner after the insert refuses its first call: the step is retried."""
    services.reset()
    services.RATES.fail_first = {"EUR"}


@durable_execution
async def insert_without_key(event: Any) -> dict[str, Any]:
    """Wrong: each order line inserted by a plain ``INSERT`` in a step that is retried (and
    that a crash or a duplicate delivery runs again): a second run adds the line twice."""
    for sku, qty in event["lines"]:
        await step(
            functools.partial(_add_line, event["order"], sku, qty),
            name=f"add-{sku}",
            retry_strategy=FLAKY,
        )
    await wait(60, name="checkout")
    return {"units": await step(functools.partial(_count_lines, event["order"]), name="units")}


async def _record_payment(order_id: str) -> str:
    with services.connect("orders.db") as conn, conn:
        conn.execute("CREATE TABLE IF NOT EXISTS payments (order_id TEXT PRIMARY KEY)")
        conn.execute("INSERT OR IGNORE INTO payments VALUES (?)", (order_id,))
    return order_id


async def _audit_rows() -> int:
    with services.connect("orders.db") as conn:
        (rows,) = conn.execute("SELECT count(*) FROM audit").fetchone()
    return int(rows)


@durable_execution
async def write_outside_step(event: Any) -> dict[str, Any]:
    """Wrong: an audit row written by the handler's own code, outside any step, so every
    replay (each invocation, and each re-invocation a fault adds) writes another."""
    with services.connect("orders.db") as conn, conn:
        conn.execute("CREATE TABLE IF NOT EXISTS audit (order_id TEXT, what TEXT)")
        conn.execute("INSERT INTO audit VALUES (?, 'payment started')", (event["order"],))
    await step(functools.partial(_record_payment, event["order"]), name="pay")
    await wait(60, name="settle")
    return {"audit_rows": await step(_audit_rows, name="audit")}


async def _lower(cents: int) -> int:
    with services.connect(PAYMENTS) as conn, conn:
        conn.execute(
            "UPDATE settings SET value = ? WHERE key = 'review_above_cents'", (str(cents),)
        )
    return cents


@durable_execution
async def state_read_outside_step(event: Any) -> dict[str, Any]:
    """Wrong: ``config_in_steps`` with the threshold read by the handler's own code, outside
    a step: on the replay after the wait it reads the threshold a later step lowered, and
    routes the first payment to another step."""
    with services.connect(PAYMENTS) as conn:
        (value,) = conn.execute(
            "SELECT value FROM settings WHERE key = 'review_above_cents'"
        ).fetchone()
    threshold = int(value)
    processor = (await step(_settings, name="settings"))["processor"]
    for payment in event["payments"]:
        route = "review" if payment["cents"] > threshold else processor
        await step(functools.partial(_route, payment["id"], route), name=f"{route}-{payment['id']}")
    await step(functools.partial(_lower, event["next_threshold"]), name="lower")
    await wait(60, name="settlement-window")
    return {"threshold": threshold, "routes": await step(_routes, name="routes")}


async def _bump() -> int:
    with services.connect("counters.db") as conn, conn:
        conn.execute("CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INT)")
        conn.execute("INSERT OR IGNORE INTO counters VALUES ('visits', 0)")
        # Wrong: a bare increment, not keyed by the step: every run of the body counts.
        conn.execute("UPDATE counters SET value = value + 1 WHERE name = 'visits'")
    return 0


@durable_execution
async def counter_read_back(event: Any) -> dict[str, Any]:
    """Wrong: a visit counter incremented in a step body, then read back by the handler's
    own code, outside a step, for the result."""
    for page in event["pages"]:
        await step(_bump, name=f"visit-{page}")
    with services.connect("counters.db") as conn:
        (visits,) = conn.execute("SELECT value FROM counters WHERE name = 'visits'").fetchone()
    return {"visits": visits}


async def _export(rows: list[str]) -> int:
    # Wrong: a temporary file named per attempt, and nothing removes it when the attempt
    # fails between the write and the rename (the partner's check refuses once).
    tmp = services.path(f"export.{uuid.uuid4().hex}.tmp")
    tmp.write_text("\n".join(rows) + "\n")
    services.RATES.rate("EUR", "today")  # the partner's check of the export: may refuse
    os.replace(tmp, services.path("export.csv"))
    return len(rows)


async def _leftovers() -> int:
    return len(list(services.ROOT.glob("*.tmp")))


@durable_execution
async def temp_left_behind(event: Any) -> dict[str, Any]:
    """Wrong: ``chunked_export``'s commit by rename without its clean-up: an attempt that
    fails after writing its temporary file leaves it, and the retry writes another."""
    rows = await step(
        functools.partial(_export, event["rows"]), name="export", retry_strategy=FLAKY
    )
    await wait(30, name="quiet")
    return {"rows": rows, "leftovers": await step(_leftovers, name="leftovers")}


async def _write_part(rows: list[str]) -> int:
    services.path("export.csv.tmp").write_text("\n".join(rows) + "\n")
    return len(rows)


async def _rename() -> str:
    # Wrong: not idempotent. A crash after the rename runs this body again, and the
    # temporary file is gone: every attempt fails.
    os.replace(services.path("export.csv.tmp"), services.path("export.csv"))
    return "export.csv"


@durable_execution
async def rename_not_idempotent(event: Any) -> dict[str, Any]:
    """Wrong: the export written to ``export.csv.tmp`` by one step and renamed by the next,
    whose body assumes the temporary file is there."""
    rows = await step(functools.partial(_write_part, event["rows"]), name="write")
    name = await step(_rename, name="rename", retry_strategy=FLAKY)
    return {"rows": rows, "file": name}


async def _delete_booking(trip: str, kind: str) -> str:
    with services.connect(TRIPS) as conn, conn:
        # Wrong: the row goes, so a later run of the forward step's body books it again.
        conn.execute("DELETE FROM bookings WHERE trip = ? AND kind = ?", (trip, kind))
    return kind


@durable_execution
async def saga_undone_by_delete(event: Any) -> dict[str, Any]:
    """Wrong: ``saga_trip`` whose compensations delete the bookings. Each step is
    idempotent by itself, but a duplicate delivery replaying the state it was sent with runs
    a forward step's body again after the first delivery's undo, and the deleted booking is
    back (the data-stores campaign's find, session 28)."""
    return await book_trips(event, _delete_booking)
