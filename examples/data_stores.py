"""Correct handlers that keep their system of record in real stores, with the standard
library only, as real users do (the session-27 false-flag audit O): sqlite databases, JSON
documents replaced by an atomic rename, CSV exports, a ``shelve``, a file lock, all files in
the run's directory (``data_stores_services.ROOT``, new for every run).

- ``idempotent_upsert``: loyalty points awarded one purchase per step, each step's write
  keyed by the step's own stable key (the execution ARN and its operation id) in an
  ``applied`` table, in the same transaction as the ``INSERT ... ON CONFLICT DO UPDATE`` it
  guards: a step body run again (a crash after it, a duplicate delivery) adds nothing;
- ``transactional_outbox``: the order row and its outbox row written in one sqlite
  transaction in a step; a later step relays the unsent rows to a broker that delivers at
  least once and marks each sent; the relay reports what the outbox holds, not what this
  attempt sent;
- ``config_in_steps``: payment routing read from a ``settings`` table inside a step (and
  the threshold lowered for the next batch by a later step): the decision stays the one the
  checkpoint holds on every replay;
- ``reserved_sequence``: invoice numbers reserved in a step under ``BEGIN IMMEDIATE``, keyed
  by the invoice, so a body run again gets the number it reserved; a later step issues the
  invoice with it;
- ``migrated_at_cold_start``: the schema migrated once per sandbox at the handler's start,
  outside steps, guarded by ``CREATE TABLE IF NOT EXISTS`` and ``PRAGMA user_version`` in
  one ``BEGIN IMMEDIATE`` transaction (so a replay, a cold sandbox and a duplicate delivery
  running it again change nothing);
- ``optimistic_stock``: stock held with a version column (``UPDATE ... WHERE version = ?``);
  a clerk's edit between the step's read and its write is a ``StaleVersion`` the step's
  retry strategy retries; the hold is recorded by key in the same transaction;
- ``chunked_export``: rows seeded by a step, exported in chunks over ``map``, one CSV part
  per item written to a temporary file of its own and committed by ``os.replace``, then
  assembled the same way: no temporary file is ever left;
- ``double_entry_ledger``: transfers posted over ``map``, both legs in one transaction
  keyed by (transfer, leg); after the day's wait a trial balance checks that the entries sum
  to zero;
- ``callback_id_recorded``: a ``wait_for_callback`` whose submitter records the callback id
  in the database (an upsert by request), where the approver's desk reads it;
- ``saga_trip``: a trip booked hotel, car, flight, each an ``INSERT OR IGNORE``; a sold-out
  flight compensates in reverse order by marking what the forward steps inserted cancelled
  (a tombstone, inserted if the booking is not there yet), so nothing of the cancelled trip
  is kept, even when a duplicate delivery, replaying the state it was sent with, runs a
  forward step's body again after its undo (a ``DELETE`` there would let it book again);
- ``wal_second_connection``: the events database in WAL mode, a second connection reading
  inside the writing step (it sees none of the transaction until the commit), a checkpoint
  of the WAL at the end;
- ``flock_append``: ``parallel`` branches appending audit lines to a JSON-lines file, each
  in a thread under ``fcntl.flock`` and skipping a line the file already holds;
- ``journal_under_flock``: journal entries appended one step at a time, each step holding
  an exclusive ``fcntl.flock`` across an ``await`` (a duplicate delivery's step waits for
  the first delivery's; runner bug 31 reported it hung until the duplicate ran beside the
  first);
- ``transaction_across_await``: a payout row written in a ``BEGIN IMMEDIATE`` transaction
  (keyed by the step) that stays open across the provider's async confirmation: a duplicate
  delivery's run of the body waits in sqlite's busy timeout until the first commits, then
  finds the row;
- ``paged_condition``: a table read a page at a time by a ``wait_for_condition`` whose
  state carries the cursor (``WHERE id > ? ORDER BY id LIMIT ?``);
- ``json_documents``: a customer profile in a JSON file, each change applied in a step by
  read-modify-write to a temporary file and ``os.replace``, the change's key kept in the
  document so a body run again applies nothing;
- ``shelve_rates``: exchange rates cached in a ``shelve`` (``dbm.dumb`` here) under a file
  lock, fetched from a partner that refuses once, and read back in a later step;
- ``csv_reconciliation``: a bank statement dropped as a CSV file, loaded into sqlite by
  statement line id, matched against the ledger, the mismatches exported as CSV by rename;
- ``connection_per_sandbox``: a sqlite connection made lazily, kept in module state and
  reused by the sandbox's warm invocations (remade when the configured database changes);
- ``database_timestamps``: a ticket row stamped by sqlite's own clock
  (``DEFAULT CURRENT_TIMESTAMP``, whole seconds, which the harness does not see read),
  returned whole by the step; the result keeps what does not depend on when it ran. (Flagged
  ``FaultNotMasked`` until oracle bug 26, when a run and its baseline fell in two seconds.)

Every one is correct durable code: what runs outside steps is the same on every replay (or,
for the migration, idempotent); a step body may run more than once and its writes are keyed
so a second run changes nothing; a step's result is a function of its arguments and of what
the steps before it wrote. The wrong twins (a non-idempotent insert in a retried step, an
audit row written outside any step, a status read outside a step deciding which step runs,
a counter incremented in a step and read back outside one, a temporary file named per
attempt that a failed attempt leaves, a rename step that is not idempotent) are in
``tests/harness/data_stores_handlers.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import fcntl
import functools
import hashlib
import io
import json
import os
import shelve
import sqlite3
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import data_stores_services as services
from async_durable_execution import (
    CallableRuntimeError,
    RetryStrategy,
    durable_execution,
    get_step_context,
    get_wait_for_callback_context,
    parallel,
    run_in_child_context,
    step,
    wait,
    wait_for_callback,
    wait_for_condition,
)
from async_durable_execution import map as durable_map

#: A partner or a database that refuses now and then: four attempts, 1 s, 2 s, 4 s apart.
FLAKY = RetryStrategy(
    max_attempts=4, initial_delay=1, backoff_rate=2, retryable_error_types=[ConnectionError]
)


class StaleVersion(Exception):
    """Another writer changed the row since this step read it (optimistic concurrency)."""


class SoldOut(Exception):
    """No seats: a permanent refusal, not retried."""


class Unbalanced(Exception):
    """The ledger's entries do not sum to zero."""


#: Optimistic writes retry on a conflict (and on a refusal), five attempts.
CONFLICTS = RetryStrategy(
    max_attempts=5,
    initial_delay=1,
    backoff_rate=2,
    retryable_error_types=[StaleVersion, ConnectionError],
)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@contextlib.contextmanager
def _immediate(db: str) -> Iterator[sqlite3.Connection]:
    """A write transaction taken at its start (``BEGIN IMMEDIATE``): committed on the way
    out, rolled back on an exception."""
    with services.connect(db, isolation_level=None) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


# --- an idempotent upsert keyed by the step's own stable key ----------------------------------

LOYALTY = "loyalty.db"


def _loyalty_schema(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS applied (key TEXT PRIMARY KEY)")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS members (id TEXT PRIMARY KEY, points INTEGER NOT NULL)"
    )


async def _award(customer: str, cents: int) -> int:
    context = get_step_context()
    key = f"{context.durable_execution_arn}/{context.operation_id}"
    points = cents // 100
    with _immediate(LOYALTY) as conn:
        _loyalty_schema(conn)
        if conn.execute("INSERT OR IGNORE INTO applied (key) VALUES (?)", (key,)).rowcount:
            conn.execute(
                "INSERT INTO members (id, points) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET points = points + excluded.points",
                (customer, points),
            )
    return points


async def _members() -> dict[str, int]:
    with services.connect(LOYALTY) as conn:
        return dict(conn.execute("SELECT id, points FROM members ORDER BY id").fetchall())


@durable_execution
async def idempotent_upsert(event: Any) -> dict[str, Any]:
    """Award loyalty points for each purchase (one step each, keyed by the step), wait for
    the statement run, read the members' totals."""
    awarded = []
    for number, purchase in enumerate(event["purchases"]):
        awarded.append(
            await step(
                functools.partial(_award, purchase["customer"], purchase["cents"]),
                name=f"award-{number}",
                retry_strategy=FLAKY,
            )
        )
    await wait(3600, name="statement-run")
    totals = await step(_members, name="totals")
    return {"awarded": awarded, "totals": totals}


# --- the transactional outbox ------------------------------------------------------------------

SHOP = "shop.db"


def _shop_schema(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, cents INTEGER, status TEXT)"
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, order_id TEXT, body TEXT, "
        "sent INTEGER NOT NULL DEFAULT 0)"
    )


def _enqueue(conn: sqlite3.Connection, order_id: str, event: str, body: dict[str, Any]) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO outbox (id, order_id, body) VALUES (?, ?, ?)",
        (f"{order_id}/{event}", order_id, json.dumps({"event": event, **body}, sort_keys=True)),
    )


async def _place(order_id: str, cents: int) -> str:
    with _immediate(SHOP) as conn:  # the business row and its message: one transaction
        _shop_schema(conn)
        conn.execute(
            "INSERT OR IGNORE INTO orders (id, cents, status) VALUES (?, ?, 'placed')",
            (order_id, cents),
        )
        _enqueue(conn, order_id, "placed", {"cents": cents})
    return order_id


async def _ship(order_id: str) -> str:
    with _immediate(SHOP) as conn:
        conn.execute("UPDATE orders SET status = 'shipped' WHERE id = ?", (order_id,))
        _enqueue(conn, order_id, "shipped", {})
    return "shipped"


async def _relay(order_id: str) -> list[str]:
    with services.connect(SHOP) as conn:
        pending = conn.execute(
            "SELECT id, body FROM outbox WHERE order_id = ? AND sent = 0 ORDER BY id",
            (order_id,),
        ).fetchall()
        for message_id, body in pending:
            services.BROKER.publish(message_id, body)  # at least once: the consumer dedupes
            with conn:
                conn.execute("UPDATE outbox SET sent = 1 WHERE id = ?", (message_id,))
        sent = conn.execute(
            "SELECT id FROM outbox WHERE order_id = ? AND sent = 1 ORDER BY id", (order_id,)
        ).fetchall()
    return [message_id for (message_id,) in sent]  # what the outbox holds, not this attempt


async def _delivered() -> dict[str, Any]:
    with services.connect(SHOP) as conn:
        orders = dict(conn.execute("SELECT id, status FROM orders ORDER BY id").fetchall())
    return {"orders": orders, "consumed": sorted(services.BROKER.unique())}


@durable_execution
async def transactional_outbox(event: Any) -> dict[str, Any]:
    """Place an order (the row and its outbox message in one transaction), relay the
    outbox, ship it (the status and another message), relay again, report."""
    order_id = event["order"]
    await step(functools.partial(_place, order_id, event["cents"]), name="place")
    placed = await step(functools.partial(_relay, order_id), name="relay-placed")
    await wait(600, name="picking")
    await step(functools.partial(_ship, order_id), name="ship")
    shipped = await step(functools.partial(_relay, order_id), name="relay-shipped")
    report = await step(_delivered, name="report")
    return {"after_place": placed, "after_ship": shipped, **report}


# --- configuration read from the database inside steps ---------------------------------------

PAYMENTS = "payments.db"


def arm_settings() -> None:
    """The operators' settings table, as the world starts."""
    services.reset()
    with services.connect(PAYMENTS) as conn, conn:
        conn.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("CREATE TABLE routed (payment TEXT PRIMARY KEY, route TEXT NOT NULL)")
        conn.executemany(
            "INSERT INTO settings VALUES (?, ?)",
            [("review_above_cents", "5000"), ("processor", "acme-pay")],
        )


async def _settings() -> dict[str, str]:
    with services.connect(PAYMENTS) as conn:
        return dict(conn.execute("SELECT key, value FROM settings ORDER BY key").fetchall())


async def _route(payment: str, route: str) -> str:
    with services.connect(PAYMENTS) as conn, conn:
        conn.execute(
            "INSERT INTO routed VALUES (?, ?) ON CONFLICT (payment) DO UPDATE SET route = ?",
            (payment, route, route),
        )
    return route


async def _lower_threshold(cents: int) -> int:
    with services.connect(PAYMENTS) as conn, conn:
        conn.execute(
            "UPDATE settings SET value = ? WHERE key = 'review_above_cents'", (str(cents),)
        )
    return cents


async def _routes() -> dict[str, str]:
    with services.connect(PAYMENTS) as conn:
        return dict(conn.execute("SELECT payment, route FROM routed ORDER BY payment").fetchall())


@durable_execution
async def config_in_steps(event: Any) -> dict[str, Any]:
    """Route each payment to review or to the processor by the threshold in the settings
    table (read in a step), lower the threshold for the next batch, wait, settle."""
    settings = await step(_settings, name="settings")
    threshold = int(settings["review_above_cents"])
    for payment in event["payments"]:
        route = "review" if payment["cents"] > threshold else settings["processor"]
        await step(functools.partial(_route, payment["id"], route), name=f"route-{payment['id']}")
    await step(functools.partial(_lower_threshold, event["next_threshold"]), name="lower")
    await wait(60, name="settlement-window")
    routes = await step(_routes, name="routes")
    return {"threshold": threshold, "routes": routes}


# --- a sequence number reserved in a step, then used -----------------------------------------

BILLING = "billing.db"


def _billing_schema(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER)")
    conn.execute("INSERT OR IGNORE INTO counters VALUES ('invoice', 1000)")
    conn.execute("CREATE TABLE IF NOT EXISTS reservations (key TEXT PRIMARY KEY, n INTEGER)")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS invoices (number TEXT PRIMARY KEY, customer TEXT, "
        "cents INTEGER)"
    )


async def _reserve(key: str) -> int:
    with _immediate(BILLING) as conn:
        _billing_schema(conn)
        row = conn.execute("SELECT n FROM reservations WHERE key = ?", (key,)).fetchone()
        if row is not None:
            return int(row[0])  # reserved by an earlier run of this body
        (number,) = conn.execute(
            "UPDATE counters SET value = value + 1 WHERE name = 'invoice' RETURNING value"
        ).fetchone()
        conn.execute("INSERT INTO reservations VALUES (?, ?)", (key, number))
        return int(number)


async def _issue(number: int, customer: str, cents: int) -> str:
    invoice = f"INV-{number}"
    with services.connect(BILLING) as conn, conn:
        conn.execute("INSERT OR IGNORE INTO invoices VALUES (?, ?, ?)", (invoice, customer, cents))
    return invoice


async def _invoices() -> list[list[Any]]:
    with services.connect(BILLING) as conn:
        rows = conn.execute("SELECT number, customer, cents FROM invoices ORDER BY number")
        return [list(row) for row in rows]


@durable_execution
async def reserved_sequence(event: Any) -> dict[str, Any]:
    """Reserve an invoice number per charge (a step, keyed by the charge), issue the invoice
    with it (another step), wait for the dunning run, list the invoices."""
    issued = []
    for charge in event["charges"]:
        number = await step(
            functools.partial(_reserve, f"{event['batch']}/{charge['customer']}"),
            name=f"reserve-{charge['customer']}",
        )
        issued.append(
            await step(
                functools.partial(_issue, number, charge["customer"], charge["cents"]),
                name=f"issue-{charge['customer']}",
            )
        )
    await wait(86_400 // 4, name="dunning")
    return {"issued": issued, "invoices": await step(_invoices, name="list")}


# --- a migration at cold start -----------------------------------------------------------------

NOTES = "notes.db"
MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
    "ALTER TABLE notes ADD COLUMN tags TEXT NOT NULL DEFAULT ''",
)
#: The databases this sandbox has migrated (module state: a cold sandbox starts over).
_MIGRATED: set[Path] = set()


def migrate() -> int:
    """Bring ``notes.db`` to the latest schema, once per sandbox; the version check and the
    DDL in one ``BEGIN IMMEDIATE`` transaction, so two sandboxes migrating at once (a
    duplicate delivery) apply each migration once."""
    db = services.path(NOTES)
    if db in _MIGRATED:
        return len(MIGRATIONS)
    with _immediate(NOTES) as conn:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        for number, ddl in enumerate(MIGRATIONS[version:], start=version + 1):
            conn.execute(ddl)
            conn.execute(f"PRAGMA user_version = {number}")
    _MIGRATED.add(db)
    return len(MIGRATIONS)


async def _note(note_id: str, body: str, tags: str) -> str:
    with services.connect(NOTES) as conn, conn:
        conn.execute(
            "INSERT INTO notes (id, body, tags) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET body = excluded.body, tags = excluded.tags",
            (note_id, body, tags),
        )
    return note_id


async def _notes() -> list[list[str]]:
    with services.connect(NOTES) as conn:
        return [list(r) for r in conn.execute("SELECT id, body, tags FROM notes ORDER BY id")]


@durable_execution
async def migrated_at_cold_start(event: Any) -> dict[str, Any]:
    """Migrate the notes database (at the handler's start, once per sandbox), file each
    note, wait, tag the first, list them."""
    schema = migrate()
    for number, body in enumerate(event["notes"]):
        await step(functools.partial(_note, f"n{number}", body, ""), name=f"file-{number}")
    await wait(120, name="triage")
    await step(functools.partial(_note, "n0", event["notes"][0], "urgent"), name="tag")
    return {"schema": schema, "notes": await step(_notes, name="list")}


# --- optimistic concurrency: a version column, a conflict retried -----------------------------

INVENTORY = "inventory.db"


def arm_inventory() -> None:
    """The stock as the world starts, and a clerk who takes 2 lamps at the first hold's
    moment (between its read and its write)."""
    services.reset()
    with services.connect(INVENTORY) as conn, conn:
        conn.execute("CREATE TABLE stock (sku TEXT PRIMARY KEY, qty INTEGER, version INTEGER)")
        conn.execute("CREATE TABLE holds (key TEXT PRIMARY KEY, sku TEXT, qty INTEGER, left INT)")
        conn.executemany(
            "INSERT INTO stock VALUES (?, ?, 1)", [("lamp", 10), ("desk", 4), ("rug", 7)]
        )
    services.CLERK.edits = {"lamp": 2}


async def _hold(key: str, sku: str, qty: int) -> dict[str, Any]:
    with services.connect(INVENTORY) as conn:
        held = conn.execute("SELECT qty, left FROM holds WHERE key = ?", (key,)).fetchone()
        if held is not None:  # this body ran before and committed
            return {"sku": sku, "held": held[0], "left": held[1]}
        have, version = conn.execute(
            "SELECT qty, version FROM stock WHERE sku = ?", (sku,)
        ).fetchone()
        services.CLERK.before_write(INVENTORY, sku)
        take = min(qty, have)
        with conn:
            updated = conn.execute(
                "UPDATE stock SET qty = ?, version = version + 1 WHERE sku = ? AND version = ?",
                (have - take, sku, version),
            ).rowcount
            if updated == 0:
                msg = f"{sku} changed since version {version}"
                raise StaleVersion(msg)
            conn.execute("INSERT INTO holds VALUES (?, ?, ?, ?)", (key, sku, take, have - take))
    return {"sku": sku, "held": take, "left": have - take}


async def _stock() -> dict[str, int]:
    with services.connect(INVENTORY) as conn:
        return dict(conn.execute("SELECT sku, qty FROM stock ORDER BY sku").fetchall())


@durable_execution
async def optimistic_stock(event: Any) -> dict[str, Any]:
    """Hold stock for each line of an order (a versioned update, retried on a conflict),
    wait for payment, read the stock."""
    holds = []
    for sku, qty in event["lines"]:
        holds.append(
            await step(
                functools.partial(_hold, f"{event['order']}/{sku}", sku, qty),
                name=f"hold-{sku}",
                retry_strategy=CONFLICTS,
            )
        )
    await wait(900, name="payment")
    return {"holds": holds, "stock": await step(_stock, name="stock")}


# --- a chunked export over map, one file per item committed by rename ------------------------

WAREHOUSE = "warehouse.db"


def _commit_file(name: str, text: str) -> None:
    """``text`` as the file ``name``: written to a temporary file of this writer's own in the
    same directory, flushed, then renamed over ``name`` (atomic); removed on a failure."""
    fd, tmp = tempfile.mkstemp(dir=services.ROOT, prefix=f"{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, services.path(name))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


async def _seed_rows(count: int) -> int:
    with services.connect(WAREHOUSE) as conn, conn:
        conn.execute("CREATE TABLE IF NOT EXISTS sales (id INTEGER PRIMARY KEY, sku, cents)")
        conn.executemany(
            "INSERT OR IGNORE INTO sales VALUES (?, ?, ?)",
            [(n, f"sku-{n % 7}", 100 + (n * 37) % 900) for n in range(count)],
        )
        (rows,) = conn.execute("SELECT count(*) FROM sales").fetchone()
    return int(rows)


async def _export_chunk(start: int, size: int) -> dict[str, Any]:
    with services.connect(WAREHOUSE) as conn:
        rows = conn.execute(
            "SELECT id, sku, cents FROM sales WHERE id >= ? AND id < ? ORDER BY id",
            (start, start + size),
        ).fetchall()
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    name = f"part-{start:05d}.csv"
    _commit_file(name, out.getvalue())
    return {"part": name, "rows": len(rows), "sha": _digest(out.getvalue())}


async def _assemble(parts: list[str]) -> dict[str, Any]:
    text = "id,sku,cents\n" + "".join(services.path(p).read_text() for p in parts)
    _commit_file("export.csv", text)
    leftovers = sorted(p.name for p in services.ROOT.glob("*.tmp"))
    return {"rows": text.count("\n") - 1, "sha": _digest(text), "leftovers": leftovers}


@durable_execution
async def chunked_export(event: Any) -> dict[str, Any]:
    """Seed the sales table, export it in chunks (a ``map``, one committed CSV part per
    item, two at a time), wait, assemble the parts into one export."""
    rows = await step(functools.partial(_seed_rows, event["rows"]), name="seed")
    size = event["chunk"]

    async def chunk(start: int) -> dict[str, Any]:
        part: dict[str, Any] = await step(
            functools.partial(_export_chunk, start, size), name=f"chunk-{start}"
        )
        return part

    parts = await durable_map(chunk, list(range(0, rows, size)), name="chunks", max_concurrency=2)
    exported = parts.get_results()
    await wait(30, name="quiet")
    assembled = await step(
        functools.partial(_assemble, [p["part"] for p in exported]), name="assemble"
    )
    return {"parts": exported, **assembled}


# --- a double-entry ledger -------------------------------------------------------------------

LEDGER = "ledger.db"


async def _post(transfer: dict[str, Any]) -> str:
    with _immediate(LEDGER) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS entries (transfer TEXT, leg TEXT, account TEXT, "
            "amount INTEGER, PRIMARY KEY (transfer, leg))"
        )
        conn.executemany(
            "INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?)",
            [
                (transfer["id"], "debit", transfer["from"], -transfer["cents"]),
                (transfer["id"], "credit", transfer["to"], transfer["cents"]),
            ],
        )
    return str(transfer["id"])


async def _trial_balance() -> dict[str, Any]:
    with services.connect(LEDGER) as conn:
        (total, entries) = conn.execute("SELECT sum(amount), count(*) FROM entries").fetchone()
        balances = dict(
            conn.execute(
                "SELECT account, sum(amount) FROM entries GROUP BY account ORDER BY account"
            ).fetchall()
        )
    if total != 0:
        msg = f"the ledger is off by {total}"
        raise Unbalanced(msg)
    return {"entries": entries, "balances": balances}


@durable_execution
async def double_entry_ledger(event: Any) -> dict[str, Any]:
    """Post each transfer (both legs in one transaction, over a ``map``), wait for the end
    of the day, check the trial balance."""

    async def post(transfer: dict[str, Any]) -> str:
        posted: str = await step(functools.partial(_post, transfer), name=f"post-{transfer['id']}")
        return posted

    posted = await durable_map(post, event["transfers"], name="post", max_concurrency=2)
    await wait(3600, name="end-of-day")
    trial = await step(_trial_balance, name="trial-balance")
    return {"posted": posted.get_results(), **trial}


# --- a callback id recorded in the database by the submitter ---------------------------------

APPROVALS = "approvals.db"


async def _submit(request: str, cents: int) -> None:
    callback_id = get_wait_for_callback_context().callback_id
    with services.connect(APPROVALS) as conn, conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS approvals (request TEXT PRIMARY KEY, callback_id TEXT, "
            "cents INTEGER, status TEXT)"
        )
        conn.execute(
            "INSERT INTO approvals VALUES (?, ?, ?, 'pending') "
            "ON CONFLICT (request) DO UPDATE SET callback_id = excluded.callback_id",
            (request, callback_id, cents),
        )
    services.DESK.notify(APPROVALS, request)  # the desk finds the callback id in the row


async def _decide(request: str, approved: bool) -> dict[str, Any]:
    status = "approved" if approved else "rejected"
    with services.connect(APPROVALS) as conn, conn:
        conn.execute("UPDATE approvals SET status = ? WHERE request = ?", (status, request))
        row = conn.execute(
            "SELECT status, cents, callback_id IS NOT NULL FROM approvals WHERE request = ?",
            (request,),
        ).fetchone()
    return {"status": row[0], "cents": row[1], "recorded": bool(row[2])}


@durable_execution
async def callback_id_recorded(event: Any) -> dict[str, Any]:
    """Ask for approval of a spend (the submitter records the callback id in the approvals
    table, where the approver's desk finds it), record the decision."""
    request = event["request"]
    answer = await wait_for_callback(
        functools.partial(_submit, request, event["cents"]), name="approval", timeout=3600
    )
    decision: Any = json.loads(answer) if isinstance(answer, str) else answer
    decided: dict[str, Any] = await step(
        functools.partial(_decide, request, bool(decision and decision.get("approved"))),
        name="decide",
    )
    return decided


# --- a saga whose compensations leave tombstones ------------------------------------------------

TRIPS = "trips.db"


def _trips_schema(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS bookings (trip, kind, ref, cancelled INTEGER NOT NULL "
        "DEFAULT 0, PRIMARY KEY (trip, kind))"
    )


async def _book(trip: str, kind: str, where: str) -> str:
    if kind == "flight" and where in services.AIRLINE.sold_out:
        msg = f"no seats to {where}"
        raise SoldOut(msg)
    with services.connect(TRIPS) as conn, conn:
        _trips_schema(conn)
        # A cancelled booking's row stays: a late run of this body (a duplicate delivery
        # replaying the state it was sent with) finds it and books nothing again.
        conn.execute(
            "INSERT OR IGNORE INTO bookings (trip, kind, ref) VALUES (?, ?, ?)",
            (trip, kind, f"{kind}-{where}"),
        )
    return f"{kind}-{where}"


async def _unbook(trip: str, kind: str) -> str:
    with services.connect(TRIPS) as conn, conn:
        _trips_schema(conn)
        conn.execute(
            "INSERT INTO bookings (trip, kind, cancelled) VALUES (?, ?, 1) "
            "ON CONFLICT (trip, kind) DO UPDATE SET cancelled = 1",
            (trip, kind),
        )
    return kind


async def _bookings() -> dict[str, list[str]]:
    with services.connect(TRIPS) as conn:
        rows = conn.execute(
            "SELECT trip, ref FROM bookings WHERE NOT cancelled ORDER BY trip, kind"
        ).fetchall()
    kept: dict[str, list[str]] = {}
    for trip, ref in rows:
        kept.setdefault(trip, []).append(ref)
    return kept


async def book_trips(event: Any, undo: Callable[[str, str], Awaitable[str]]) -> dict[str, Any]:
    """Book each trip (hotel, car, flight, in a child context of its own); a sold-out
    flight undoes the car and the hotel, in reverse order, each with ``undo``."""

    def booking(trip: dict[str, Any]) -> Any:
        async def book() -> dict[str, Any]:
            done: list[str] = []
            try:
                for kind in ("hotel", "car", "flight"):
                    await step(
                        functools.partial(_book, trip["id"], kind, trip["to"]),
                        name=f"book-{kind}",
                        retry_strategy=FLAKY,
                    )
                    done.append(kind)
            except CallableRuntimeError as error:
                undone = [
                    await step(functools.partial(undo, trip["id"], kind), name=f"undo-{kind}")
                    for kind in reversed(done)
                ]
                return {
                    "trip": trip["id"],
                    "status": "cancelled",
                    "undone": undone,
                    "why": error.error_type,
                }
            return {"trip": trip["id"], "status": "booked"}

        return book

    trips = [
        await run_in_child_context(booking(trip), name=f"trip-{trip['id']}")
        for trip in event["trips"]
    ]
    return {"trips": trips, "kept": await step(_bookings, name="bookings")}


@durable_execution
async def saga_trip(event: Any) -> dict[str, Any]:
    """Book each trip; a sold-out flight undoes the rest by tombstones (``_unbook``)."""
    return await book_trips(event, _unbook)


# --- WAL mode and a second connection --------------------------------------------------------

EVENTS = "events.db"


async def _ingest(batch: str, count: int) -> int:
    db = services.path(EVENTS)
    writer = sqlite3.connect(db, timeout=10)
    reader = sqlite3.connect(db, timeout=10)
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, batch TEXT)")
        writer.commit()
        (before,) = reader.execute("SELECT count(*) FROM events").fetchone()
        writer.executemany(
            "INSERT OR IGNORE INTO events VALUES (?, ?)",
            [(f"{batch}-{n}", batch) for n in range(count)],
        )
        (during,) = reader.execute("SELECT count(*) FROM events").fetchone()
        if during != before:  # WAL: a reader sees the last commit, never a transaction
            msg = f"the reader saw {during - before} uncommitted rows"
            raise AssertionError(msg)
        writer.commit()
        (mine,) = reader.execute("SELECT count(*) FROM events WHERE batch = ?", (batch,)).fetchone()
    finally:
        reader.close()
        writer.close()
    return int(mine)


async def _compact() -> dict[str, Any]:
    with services.connect(EVENTS) as conn:
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        batches = dict(
            conn.execute("SELECT batch, count(*) FROM events GROUP BY batch ORDER BY batch")
        )
    return {"mode": mode, "batches": batches}


@durable_execution
async def wal_second_connection(event: Any) -> dict[str, Any]:
    """Ingest each batch of events (a writer and a reader connection on a WAL database),
    waiting between batches (a batch delivered twice adds nothing), then checkpoint the WAL
    and count."""
    ingested = []
    for number, (batch, count) in enumerate(event["batches"]):
        if number:
            await wait(20, name=f"gap-{number}")
        ingested.append(
            await step(functools.partial(_ingest, batch, count), name=f"ingest-{number}")
        )
    return {"ingested": ingested, **await step(_compact, name="compact")}


# --- fcntl.flock around an append --------------------------------------------------------------

AUDIT = "audit.jsonl"


def _append_locked(line: dict[str, Any]) -> None:
    with open(services.path(AUDIT), "a+", encoding="utf-8") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        try:
            log.seek(0)
            if any(json.loads(kept)["key"] == line["key"] for kept in log if kept.strip()):
                return  # appended by an earlier run of this body
            log.write(json.dumps(line, sort_keys=True) + "\n")
            log.flush()
            os.fsync(log.fileno())
        finally:
            fcntl.flock(log, fcntl.LOCK_UN)


async def _audit(actor: str, action: str) -> str:
    key = f"{actor}/{action}"
    await asyncio.to_thread(_append_locked, {"key": key, "actor": actor, "action": action})
    return key


async def _audit_trail() -> list[str]:
    lines = services.path(AUDIT).read_text(encoding="utf-8").splitlines()
    return sorted(json.loads(line)["key"] for line in lines)


@durable_execution
async def flock_append(event: Any) -> dict[str, Any]:
    """Each actor's actions audited by a ``parallel`` branch per actor (each line appended in
    a thread under ``flock``), wait, read the trail."""

    def branch(actor: str, actions: list[str]) -> Any:
        async def audited() -> list[str]:
            return [
                await step(functools.partial(_audit, actor, action), name=f"audit-{action}")
                for action in actions
            ]

        return audited

    await parallel([branch(a, acts) for a, acts in event["actors"].items()], name="actors")
    await wait(10, name="flush")
    trail = await step(_audit_trail, name="trail")
    return {"trail": trail, "lines": len(trail)}


# --- an exclusive flock held across an await ---------------------------------------------------

JOURNAL = "journal.txt"


async def _journal(key: str) -> str:
    with open(services.path("journal.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another sandbox holding it: wait for it
        try:
            await asyncio.sleep(0.5)  # an async upload of the entry, under the lock
            path = services.path(JOURNAL)
            kept = path.read_text().splitlines() if path.exists() else []
            if key not in kept:
                with path.open("a") as out:
                    out.write(key + "\n")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return key


async def _journal_lines() -> list[str]:
    return services.path(JOURNAL).read_text().splitlines()


@durable_execution
async def journal_under_flock(event: Any) -> dict[str, Any]:
    """Each key appended to a journal in a step that holds an exclusive ``flock`` across an
    ``await`` (and skips a key the journal holds), wait, read the journal back. On Lambda a
    duplicate delivery's step waits in ``flock`` for the first delivery's to let go."""
    for key in event["keys"]:
        await step(functools.partial(_journal, key), name=f"journal-{key}")
    await wait(5, name="settle")
    return {"journal": await step(_journal_lines, name="read")}


# --- a write transaction held across an await --------------------------------------------------

PAYOUTS = "payouts.db"


async def _confirm_payout(payee: str, cents: int) -> str:
    await asyncio.sleep(1)  # the payment provider's async API
    return f"{payee}:{cents}"


async def _payout(payee: str, cents: int) -> int:
    context = get_step_context()
    key = f"{context.durable_execution_arn}/{context.operation_id}"
    # The row and its confirmation in one write transaction, held across the provider's
    # call: another sandbox running this body waits for it (sqlite's busy timeout).
    with _immediate(PAYOUTS) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS payouts (key TEXT PRIMARY KEY, payee TEXT, "
            "cents INTEGER, confirmation TEXT)"
        )
        if conn.execute(
            "INSERT OR IGNORE INTO payouts (key, payee, cents) VALUES (?, ?, ?)",
            (key, payee, cents),
        ).rowcount:
            confirmation = await _confirm_payout(payee, cents)
            conn.execute("UPDATE payouts SET confirmation = ? WHERE key = ?", (confirmation, key))
    return cents


async def _payout_rows() -> list[list[Any]]:
    with services.connect(PAYOUTS) as conn:
        rows = conn.execute("SELECT payee, cents, confirmation FROM payouts ORDER BY payee")
        return [list(row) for row in rows]


@durable_execution
async def transaction_across_await(event: Any) -> dict[str, Any]:
    """Pay each payee out in a step whose ``BEGIN IMMEDIATE`` transaction (keyed by the step)
    stays open across the provider's async confirmation; wait; read the payouts back."""
    paid = [
        await step(functools.partial(_payout, payee, cents), name=f"payout-{payee}")
        for payee, cents in event["payouts"]
    ]
    await wait(60, name="settle")
    return {"paid": paid, "rows": await step(_payout_rows, name="rows")}


# --- a cursor-paginated read over wait_for_condition -------------------------------------------

CATALOG = "catalog.db"


async def _seed_catalog(count: int) -> int:
    with services.connect(CATALOG) as conn, conn:
        conn.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, cents INTEGER)")
        conn.executemany(
            "INSERT OR IGNORE INTO items VALUES (?, ?)",
            [(n, 50 + (n * 53) % 400) for n in range(1, count + 1)],
        )
    return count


async def _next_page(state: dict[str, Any]) -> dict[str, Any]:
    with services.connect(CATALOG) as conn:
        page = conn.execute(
            "SELECT id, cents FROM items WHERE id > ? ORDER BY id LIMIT ?",
            (state["cursor"], state["size"]),
        ).fetchall()
    return {
        **state,
        "cursor": page[-1][0] if page else state["cursor"],
        "pages": state["pages"] + 1,
        "total": state["total"] + sum(cents for _, cents in page),
        "done": len(page) < state["size"],
    }


def _every_5s(state: dict[str, Any], attempt: int) -> int | None:
    return None if state["done"] else 5


@durable_execution
async def paged_condition(event: Any) -> dict[str, Any]:
    """Seed the catalog, then total it a page at a time (a ``wait_for_condition`` whose state
    is the cursor), five seconds between pages."""
    await step(functools.partial(_seed_catalog, event["items"]), name="seed")
    state = await wait_for_condition(
        _next_page,
        initial_state={"cursor": 0, "size": event["page"], "pages": 0, "total": 0, "done": False},
        name="pages",
        polling_strategy=_every_5s,
    )
    return {"pages": state["pages"], "total": state["total"], "cursor": state["cursor"]}


# --- a JSON document replaced by an atomic rename ---------------------------------------------


def _profile_path(customer: str) -> Path:
    return services.path(f"profile-{customer}.json")


async def _apply_change(customer: str, key: str, change: dict[str, Any]) -> int:
    target = _profile_path(customer)
    doc: dict[str, Any] = (
        json.loads(target.read_text()) if target.exists() else {"applied": [], "fields": {}}
    )
    if key not in doc["applied"]:  # a body run again finds its change applied
        doc["fields"].update(change)
        doc["applied"].append(key)
        _commit_file(target.name, json.dumps(doc, sort_keys=True, indent=1))
    return len(doc["applied"])


async def _profile(customer: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(_profile_path(customer).read_text())
    return doc


@durable_execution
async def json_documents(event: Any) -> dict[str, Any]:
    """Apply each change to the customer's profile document (read, modify, write a temporary
    file, rename), waiting a day between the sign-up and the rest, then read it."""
    customer = event["customer"]
    for number, change in enumerate(event["changes"]):
        await step(
            functools.partial(_apply_change, customer, f"change-{number}", change),
            name=f"change-{number}",
        )
        if number == 0:
            await wait(86_400 // 2, name="welcome-period")
    profile: dict[str, Any] = await step(functools.partial(_profile, customer), name="profile")
    return profile


# --- a shelve cache under a file lock ---------------------------------------------------------


@contextlib.contextmanager
def _rates_shelf() -> Iterator[shelve.Shelf[int]]:
    """The rates shelf, opened under an exclusive lock on its lock file (``dbm.dumb``, like
    most dbm files, takes one writer at a time)."""
    with open(services.path("rates.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with shelve.open(str(services.path("rates"))) as shelf:
                yield shelf
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


async def _cache_rate(currency: str, day: str) -> int:
    key = f"{day}/{currency}"
    with _rates_shelf() as shelf:
        if key not in shelf:
            shelf[key] = services.RATES.rate(currency, day)
        return shelf[key]


async def _convert(amounts: dict[str, int], day: str) -> dict[str, int]:
    with _rates_shelf() as shelf:
        return {cur: cents * shelf[f"{day}/{cur}"] // 10_000 for cur, cents in amounts.items()}


def arm_rates() -> None:
    services.reset()
    services.RATES.fail_first = {"JPY"}


@durable_execution
async def shelve_rates(event: Any) -> dict[str, Any]:
    """Cache the day's rates in a shelf (one step per currency; JPY's partner refuses once:
    ``before_run``), wait for the books to close, convert the amounts from the shelf."""
    day = event["day"]
    rates = {}
    for currency in sorted(event["amounts"]):
        rates[currency] = await step(
            functools.partial(_cache_rate, currency, day),
            name=f"rate-{currency}",
            retry_strategy=FLAKY,
        )
    await wait(7200, name="books-close")
    converted = await step(functools.partial(_convert, event["amounts"], day), name="convert")
    return {"rates": rates, "converted": converted}


# --- a CSV statement reconciled against the ledger --------------------------------------------

RECON = "recon.db"
STATEMENT = (
    ("line", "reference", "cents"),
    ("L1", "inv-1", "1200"),
    ("L2", "inv-2", "450"),
    ("L3", "inv-9", "75"),
    ("L4", "inv-3", "990"),
)


def arm_statement() -> None:
    """The bank's statement file, dropped before the run; the ledger's expectations."""
    services.reset()
    with services.path("statement.csv").open("w", newline="") as out:
        csv.writer(out).writerows(STATEMENT)
    with services.connect(RECON) as conn, conn:
        conn.execute("CREATE TABLE expected (reference TEXT PRIMARY KEY, cents INTEGER)")
        conn.executemany(
            "INSERT INTO expected VALUES (?, ?)",
            [("inv-1", 1200), ("inv-2", 500), ("inv-3", 990), ("inv-4", 300)],
        )


async def _load_statement(name: str) -> int:
    with services.path(name).open(newline="") as statement:
        lines = list(csv.DictReader(statement))
    with services.connect(RECON) as conn, conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS statement (line TEXT PRIMARY KEY, reference TEXT, "
            "cents INTEGER)"
        )
        conn.executemany(
            "INSERT OR IGNORE INTO statement VALUES (:line, :reference, :cents)", lines
        )
        (count,) = conn.execute("SELECT count(*) FROM statement").fetchone()
    return int(count)


async def _reconcile() -> dict[str, Any]:
    with services.connect(RECON) as conn:
        mismatches = conn.execute(
            "SELECT e.reference, e.cents, s.cents FROM expected e "
            "LEFT JOIN statement s USING (reference) WHERE s.cents IS NOT e.cents "
            "UNION ALL SELECT s.reference, NULL, s.cents FROM statement s "
            "LEFT JOIN expected e USING (reference) WHERE e.reference IS NULL "
            "ORDER BY 1"
        ).fetchall()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("reference", "expected", "paid"))
    writer.writerows(mismatches)
    _commit_file("mismatches.csv", out.getvalue())
    return {"mismatches": [list(m) for m in mismatches], "sha": _digest(out.getvalue())}


@durable_execution
async def csv_reconciliation(event: Any) -> dict[str, Any]:
    """Load the bank's CSV statement into sqlite (by line id), wait for the ledger to close,
    export what does not match as CSV."""
    loaded = await step(functools.partial(_load_statement, event["file"]), name="load")
    await wait(1800, name="ledger-close")
    return {"loaded": loaded, **await step(_reconcile, name="reconcile")}


# --- rows stamped by the database's own clock --------------------------------------------------

DESKS = "desk.db"


async def _open_ticket(ticket: str, subject: str) -> dict[str, Any]:
    with services.connect(DESKS) as conn, conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS tickets (id TEXT PRIMARY KEY, subject TEXT, "
            "status TEXT, opened_at TEXT DEFAULT CURRENT_TIMESTAMP, closed_at TEXT)"
        )
        conn.execute(
            "INSERT OR IGNORE INTO tickets (id, subject, status) VALUES (?, ?, 'open')",
            (ticket, subject),
        )
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket,)).fetchone()
    return dict(row)  # the row as stored, its opened_at stamped by sqlite's clock


async def _close_ticket(ticket: str) -> dict[str, Any]:
    with services.connect(DESKS) as conn, conn:
        conn.execute(
            "UPDATE tickets SET status = 'closed', closed_at = coalesce(closed_at, "
            "CURRENT_TIMESTAMP) WHERE id = ?",
            (ticket,),
        )
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket,)).fetchone()
    return dict(row)


@durable_execution
async def database_timestamps(event: Any) -> dict[str, Any]:
    """Open a support ticket (the step returns the row, ``opened_at`` stamped by the
    database's ``CURRENT_TIMESTAMP``), wait out the SLA, close it (``closed_at`` likewise);
    the result keeps what does not depend on when it ran."""
    opened = await step(
        functools.partial(_open_ticket, event["ticket"], event["subject"]), name="open"
    )
    await wait(3600, name="sla")
    closed = await step(functools.partial(_close_ticket, event["ticket"]), name="close")
    return {
        "ticket": opened["id"],
        "subject": opened["subject"],
        "status": closed["status"],
        "in_order": opened["opened_at"] <= closed["closed_at"],
    }


# --- one connection per sandbox, made lazily and reused by warm invocations ------------------

#: This sandbox's connection and the database it is to (module state: a cold sandbox, or a
#: duplicate delivery's, makes its own).
_CONNECTION: list[tuple[Path, sqlite3.Connection]] = []


def kv() -> sqlite3.Connection:
    """The sandbox's connection to the key-value database, made on first use and reused by
    later invocations in the same sandbox; remade (the old one closed) when the database
    it is configured for changes."""
    path = services.path("kv.db")
    if _CONNECTION and _CONNECTION[0][0] != path:
        _CONNECTION.pop()[1].close()
    if not _CONNECTION:
        conn = sqlite3.connect(path, timeout=10)
        conn.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
        _CONNECTION.append((path, conn))
    return _CONNECTION[0][1]


async def _put(key: str, value: str) -> str:
    with kv() as conn:  # commits, or rolls back; the connection stays open
        conn.execute(
            "INSERT INTO kv VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            (key, value),
        )
    return key


async def _get_all(prefix: str) -> dict[str, str]:
    rows = kv().execute("SELECT k, v FROM kv WHERE k LIKE ? ORDER BY k", (f"{prefix}%",))
    return dict(rows.fetchall())


@durable_execution
async def connection_per_sandbox(event: Any) -> dict[str, Any]:
    """Save a session's settings one by one (a wait between each, so each in another
    invocation, warm ones reusing the sandbox's connection), then read them back."""
    session = event["session"]
    for number, (name, value) in enumerate(sorted(event["settings"].items())):
        if number:
            await wait(15, name=f"idle-{number}")
        await step(functools.partial(_put, f"{session}/{name}", value), name=f"save-{name}")
    saved = await step(functools.partial(_get_all, f"{session}/"), name="read-back")
    return {"saved": saved}


def _entry(handler: Any, before_run: Any = services.reset, **more: Any) -> dict[str, Any]:
    return {"handler": handler, "before_run": before_run, **more}


#: The corpus: each entry as ``corpus.scenarios`` takes it (see ``examples/corpus.py``).
CORPUS: dict[str, dict[str, Any]] = {
    "idempotent_upsert": _entry(
        idempotent_upsert,
        input={
            "purchases": [
                {"customer": "ada", "cents": 1250},
                {"customer": "bo", "cents": 800},
                {"customer": "ada", "cents": 399},
            ]
        },
    ),
    "transactional_outbox": _entry(transactional_outbox, input={"order": "o-7", "cents": 4200}),
    "config_in_steps": _entry(
        config_in_steps,
        arm_settings,
        input={
            "payments": [{"id": "p1", "cents": 2500}, {"id": "p2", "cents": 9000}],
            "next_threshold": 1000,
        },
    ),
    "reserved_sequence": _entry(
        reserved_sequence,
        input={
            "batch": "2026-12",
            "charges": [
                {"customer": "ada", "cents": 1900},
                {"customer": "bo", "cents": 2900},
                {"customer": "cy", "cents": 900},
            ],
        },
    ),
    "migrated_at_cold_start": _entry(
        migrated_at_cold_start, input={"notes": ["call the bank", "renew the lease"]}
    ),
    "optimistic_stock": _entry(
        optimistic_stock,
        arm_inventory,
        input={"order": "o-9", "lines": [["lamp", 3], ["desk", 5], ["rug", 1]]},
    ),
    "chunked_export": _entry(chunked_export, input={"rows": 23, "chunk": 5}),
    "double_entry_ledger": _entry(
        double_entry_ledger,
        input={
            "transfers": [
                {"id": "t1", "from": "cash", "to": "rent", "cents": 90000},
                {"id": "t2", "from": "sales", "to": "cash", "cents": 150000},
                {"id": "t3", "from": "cash", "to": "payroll", "cents": 40000},
                {"id": "t4", "from": "sales", "to": "cash", "cents": 2500},
            ]
        },
    ),
    "callback_id_recorded": _entry(
        callback_id_recorded,
        input={"request": "spend-31", "cents": 12000},
        callbacks={"approval": {"approved": True}},
    ),
    "saga_trip": _entry(
        saga_trip, input={"trips": [{"id": "t-1", "to": "Lisbon"}, {"id": "t-2", "to": "Atlantis"}]}
    ),
    "wal_second_connection": _entry(
        wal_second_connection, input={"batches": [["clicks", 6], ["views", 4], ["clicks", 6]]}
    ),
    "flock_append": _entry(
        flock_append,
        input={"actors": {"ada": ["login", "export"], "bo": ["login"], "cy": ["delete", "undo"]}},
    ),
    "journal_under_flock": _entry(journal_under_flock, input={"keys": ["a", "b"]}),
    "paged_condition": _entry(paged_condition, input={"items": 11, "page": 4}),
    "transaction_across_await": _entry(
        transaction_across_await, input={"payouts": [["ada", 1500], ["bo", 700]]}
    ),
    "json_documents": _entry(
        json_documents,
        input={
            "customer": "c-5",
            "changes": [
                {"name": "Ada", "tier": "basic"},
                {"tier": "gold"},
                {"email": "ada@example.com"},
            ],
        },
    ),
    "shelve_rates": _entry(
        shelve_rates,
        arm_rates,
        input={"day": "2026-12-05", "amounts": {"EUR": 10_000, "JPY": 250_000, "GBP": 4_000}},
    ),
    "csv_reconciliation": _entry(
        csv_reconciliation, arm_statement, input={"file": "statement.csv"}
    ),
    "connection_per_sandbox": _entry(
        connection_per_sandbox,
        input={"session": "s-4", "settings": {"theme": "dark", "lang": "pt", "tz": "UTC"}},
    ),
    "database_timestamps": _entry(
        database_timestamps, input={"ticket": "tk-8", "subject": "refund not received"}
    ),
}
