"""Correct handlers whose system of record is reached through SQLAlchemy (the session-45
false-flag audit, round two): the ORM's unit of work, optimistic concurrency by a version
column, sqlite's ``ON CONFLICT`` through the dialect's ``insert``, server-side and Python-side
timestamps, a ``before_flush`` listener writing an audit trail, thread-local sessions in
``asyncio.to_thread``, and the asyncio extension on ``aiosqlite`` (a thread per connection).

The engine is what production code keeps in module state: made on first use, pooled, and
reused by the sandbox's warm invocations (remade when the configured database changes, which
here is per run: ``orm_services.reset``). A cold sandbox makes its own.

- ``orm_order_lifecycle``: an order created (get-or-add, so a second run of the step adds
  nothing), an hour's wait, then shipped: the clerk edits the order from another connection
  while the step holds it, the flush finds the version moved (``StaleDataError``) and the
  step's retry strategy runs it again, which ships the edited order;
- ``orm_line_items_map``: an order's lines written by a ``map``, one ``INSERT ... ON CONFLICT
  DO NOTHING`` per item's step, then the total summed by the database;
- ``orm_server_timestamps``: a ticket stamped by the database (``server_default=
  func.current_timestamp()``: sqlite's C clock, whole seconds, out of the handler's clock
  and of the harness's sight) and by Python (``default=`` a ``datetime.now(UTC)``), returned
  whole by its steps; the result keeps what does not depend on when it ran;
- ``orm_audit_listener``: a ``before_flush`` listener registered on the module's
  ``sessionmaker`` at import writes an audit row for every order added or changed, in the
  same transaction; two orders created in ``parallel`` branches, one approved an hour later;
  the trail is counted (a step run twice changes nothing the second time, and writes no row);
- ``scoped_sessions_in_threads``: a ``scoped_session`` (one session per thread) used by work
  handed to ``asyncio.to_thread`` from two ``parallel`` branches, each removing its session
  when done;
- ``async_orm_module_engine``: ``create_async_engine("sqlite+aiosqlite://...")`` in module
  state, ``async_sessionmaker(expire_on_commit=False)``; seats held in one step, a wait, each
  seat confirmed in a ``parallel`` branch of its own, the confirmed seats counted.

Every one is correct durable code: every write is keyed (a primary key, a conflict target, a
get-or-add) so a step's second run changes nothing, and every step returns what the database
holds. No oracle may flag any of them under any fault plan or timing
(``tests/harness/test_orm_corpus.py``; ``benchmarks/same_world.py --corpus orm`` is the long
campaign).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import threading
from typing import Any

import orm_services as services
from async_durable_execution import RetryStrategy, durable_execution, parallel, step, wait
from async_durable_execution import map as durable_map
from sqlalchemy import Engine, ForeignKey, String, create_engine, event, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    scoped_session,
    sessionmaker,
)
from sqlalchemy.orm.exc import StaleDataError

__all__ = ["CORPUS", "reset"]

DB = "orders.db"


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    customer: Mapped[str]
    cents: Mapped[int]
    status: Mapped[str] = mapped_column(default="new")
    note: Mapped[str] = mapped_column(default="")
    version: Mapped[int] = mapped_column(nullable=False)
    __mapper_args__ = {"version_id_col": version}


class Line(Base):
    __tablename__ = "lines"
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str]
    qty: Mapped[int]
    cents: Mapped[int]


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    subject: Mapped[str]
    status: Mapped[str] = mapped_column(default="open")
    # Stamped by sqlite's own clock (text, whole seconds) and by Python's (the handler's).
    opened_at: Mapped[str] = mapped_column(server_default=func.current_timestamp())
    touched_at: Mapped[_dt.datetime] = mapped_column(
        default=lambda: _dt.datetime.now(_dt.UTC), onupdate=lambda: _dt.datetime.now(_dt.UTC)
    )


class Audit(Base):
    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    entity: Mapped[str]
    action: Mapped[str]


class Seat(Base):
    __tablename__ = "seats"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    status: Mapped[str] = mapped_column(default="held")


# --- the sandbox's engines, made on first use --------------------------------------------------

_ENGINE: list[tuple[str, Engine]] = []
_ENGINE_LOCK = threading.Lock()


def engine() -> Engine:
    """The sandbox's engine for this world's database (its pool reused by warm invocations)."""
    url = services.url(DB)
    with _ENGINE_LOCK:
        if not _ENGINE or _ENGINE[0][0] != url:
            if _ENGINE:
                _ENGINE[0][1].dispose()
            made = create_engine(url, connect_args={"timeout": 10})
            Base.metadata.create_all(made)
            _ENGINE[:] = [(url, made)]
        return _ENGINE[0][1]


#: Optimistic writes retry when another writer moved the row's version, four attempts.
STALE = RetryStrategy(
    max_attempts=4, initial_delay=1, backoff_rate=2, retryable_error_types=[StaleDataError]
)


# --- an order's life, with a clerk's edit in the middle ---------------------------------------


def _row(order: Order) -> dict[str, Any]:
    return {"id": order.id, "status": order.status, "cents": order.cents, "note": order.note}


@durable_execution
async def orm_order_lifecycle(event: Any) -> dict[str, Any]:
    order_id = event["order"]

    async def create() -> dict[str, Any]:
        with Session(engine()) as session, session.begin():
            order = session.get(Order, order_id)
            if order is None:
                order = Order(id=order_id, customer=event["customer"], cents=event["cents"])
                session.add(order)
                session.flush()
            return _row(order)

    created = await step(create, name="create")
    await wait(3600, name="payment-window")

    async def ship() -> dict[str, Any]:
        with Session(engine()) as session, session.begin():
            order = session.get(Order, order_id)
            assert order is not None
            order.status = "shipped"
            # The desk edits the order meanwhile, from a connection of its own: the flush
            # finds the version moved on and raises StaleDataError.
            services.clerk_edits(DB, order_id)
        with Session(engine()) as session:
            shipped = session.get(Order, order_id)
            assert shipped is not None
            return _row(shipped)

    shipped = await step(ship, name="ship", retry_strategy=STALE)
    return {"created": created, "shipped": shipped}


# --- line items over map, inserted once each ---------------------------------------------------


@durable_execution
async def orm_line_items_map(event: Any) -> dict[str, Any]:
    order_id = event["order"]

    async def create() -> str:
        with Session(engine()) as session, session.begin():
            if session.get(Order, order_id) is None:
                session.add(Order(id=order_id, customer="c-1", cents=0))
        return order_id

    await step(create, name="create")

    async def write(line: dict[str, Any]) -> int:
        async def insert() -> int:
            statement = (
                sqlite_insert(Line)
                .values(order_id=order_id, **line)
                .on_conflict_do_nothing(index_elements=["order_id", "line_no"])
            )
            with Session(engine()) as session, session.begin():
                session.execute(statement)
            return int(line["qty"] * line["cents"])

        return await step(insert, name=f"line-{line['line_no']}")

    written = await durable_map(write, event["lines"], name="lines", max_concurrency=2)
    await wait(60, name="quiet")

    async def total() -> dict[str, int]:
        with Session(engine()) as session:
            cents = session.scalar(
                select(func.sum(Line.qty * Line.cents)).where(Line.order_id == order_id)
            )
            count = session.scalar(select(func.count()).where(Line.order_id == order_id))
        return {"cents": int(cents or 0), "lines": int(count or 0)}

    totals = await step(total, name="total")
    return {**totals, "items": sum(written.get_results())}


# --- a ticket stamped by two clocks -------------------------------------------------------------


def _ticket(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "subject": ticket.subject,
        "status": ticket.status,
        "opened_at": ticket.opened_at,
        "touched_at": ticket.touched_at.isoformat(),
    }


@durable_execution
async def orm_server_timestamps(event: Any) -> dict[str, Any]:
    ticket_id = event["ticket"]

    async def open_ticket() -> dict[str, Any]:
        with Session(engine()) as session, session.begin():
            if session.get(Ticket, ticket_id) is None:
                session.add(Ticket(id=ticket_id, subject=event["subject"]))
        with Session(engine()) as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            return _ticket(ticket)

    opened = await step(open_ticket, name="open")
    await wait(3600, name="sla")

    async def close_ticket() -> dict[str, Any]:
        with Session(engine()) as session, session.begin():
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            if ticket.status != "closed":
                ticket.status = "closed"
        with Session(engine()) as session:
            closed = session.get(Ticket, ticket_id)
            assert closed is not None
            return _ticket(closed)

    closed = await step(close_ticket, name="close")
    return {
        "ticket": opened["id"],
        "status": closed["status"],
        "touched_in_order": opened["touched_at"] < closed["touched_at"],
        "same_opening": opened["opened_at"] == closed["opened_at"],
    }


# --- an audit trail written by a flush listener -------------------------------------------------

#: The module's session factory, with its listener (a cold sandbox registers its own).
AuditedSession = sessionmaker()


@event.listens_for(AuditedSession, "before_flush")
def _audit(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in list(session.new):
        if isinstance(obj, Order):
            session.add(Audit(entity=obj.id, action="created"))
    for obj in list(session.dirty):
        if isinstance(obj, Order) and session.is_modified(obj):
            session.add(Audit(entity=obj.id, action=f"status:{obj.status}"))


@durable_execution
async def orm_audit_listener(event: Any) -> dict[str, Any]:
    def create(order_id: str, cents: int) -> Any:
        async def body() -> str:
            with AuditedSession(bind=engine()) as session, session.begin():
                if session.get(Order, order_id) is None:
                    session.add(Order(id=order_id, customer="c-9", cents=cents))
            return order_id

        async def branch() -> str:
            return await step(body, name=f"create-{order_id}")

        return branch

    made = await parallel([create(o, c) for o, c in event["orders"]], name="create")
    first = made.get_results()[0]
    await wait(3600, name="review")

    async def approve() -> str:
        with AuditedSession(bind=engine()) as session, session.begin():
            order = session.get(Order, first)
            assert order is not None
            order.status = "approved"
        return first

    await step(approve, name="approve")

    async def trail() -> list[str]:
        with Session(engine()) as session:
            rows = session.scalars(select(Audit).order_by(Audit.entity, Audit.action)).all()
            return [f"{row.entity}:{row.action}" for row in rows]

    return {"trail": await step(trail, name="trail")}


# --- one session per thread ------------------------------------------------------------------

#: Sessions by thread, the module's (``remove`` ends a thread's).
Scoped = scoped_session(sessionmaker())


def _add_lines(order_id: str, lines: list[tuple[int, str, int, int]]) -> int:
    session = Scoped(bind=engine())
    try:
        with session.begin():
            if session.get(Order, order_id) is None:
                session.add(Order(id=order_id, customer="c-3", cents=0))
            for line_no, sku, qty, cents in lines:
                if session.get(Line, (order_id, line_no)) is None:
                    session.add(
                        Line(order_id=order_id, line_no=line_no, sku=sku, qty=qty, cents=cents)
                    )
        total = session.scalar(
            select(func.sum(Line.qty * Line.cents)).where(Line.order_id == order_id)
        )
        return int(total or 0)
    finally:
        Scoped.remove()


@durable_execution
async def scoped_sessions_in_threads(event: Any) -> dict[str, Any]:
    def order(order_id: str, lines: list[Any]) -> Any:
        async def body() -> int:
            return await asyncio.to_thread(_add_lines, order_id, [tuple(x) for x in lines])

        async def branch() -> int:
            return await step(body, name=f"order-{order_id}")

        return branch

    totals = await parallel([order(o, lines) for o, lines in event["orders"]], name="orders")
    await wait(300, name="settle")
    return {"totals": totals.get_results()}


# --- the asyncio extension, on aiosqlite ------------------------------------------------------

_ASYNC: list[tuple[str, AsyncEngine, async_sessionmaker[Any]]] = []


async def async_sessions() -> tuple[AsyncEngine, async_sessionmaker[Any]]:
    """The sandbox's async engine and session factory for this world's database."""
    url = services.url("seats.db", driver="sqlite+aiosqlite")
    if not _ASYNC or _ASYNC[0][0] != url:
        if _ASYNC:
            # The last world's engine: its pooled connections closed (each has a thread).
            await _ASYNC[0][1].dispose()
        made = create_async_engine(url, connect_args={"timeout": 10})
        _ASYNC[:] = [(url, made, async_sessionmaker(made, expire_on_commit=False))]
    return _ASYNC[0][1], _ASYNC[0][2]


@durable_execution
async def async_orm_module_engine(event: Any) -> dict[str, Any]:
    seats = event["seats"]

    async def hold() -> list[str]:
        engine_, sessions = await async_sessions()
        async with engine_.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        async with sessions() as session, session.begin():
            for seat in seats:
                await session.execute(
                    sqlite_insert(Seat)
                    .values(id=seat)
                    .on_conflict_do_nothing(index_elements=["id"])
                )
        return seats

    held = await step(hold, name="hold")
    await wait(600, name="payment")

    def confirm(seat: str) -> Any:
        async def body() -> str:
            _, sessions = await async_sessions()
            # One UPDATE, no read before it: two of sqlite's deferred transactions that read
            # and then write would each wait for the other's lock (the branches run at once).
            async with sessions() as session, session.begin():
                await session.execute(
                    update(Seat).where(Seat.id == seat).values(status="confirmed")
                )
            return seat

        async def branch() -> str:
            return await step(body, name=f"confirm-{seat}")

        return branch

    await parallel([confirm(seat) for seat in held], name="confirm")

    async def count() -> dict[str, Any]:
        _, sessions = await async_sessions()
        async with sessions() as session:
            rows = (await session.scalars(select(Seat).order_by(Seat.id))).all()
            return {"confirmed": [r.id for r in rows if r.status == "confirmed"]}

    return await step(count, name="count")


def reset() -> None:
    """A fresh world: a new directory of databases."""
    services.reset()


CORPUS: dict[str, dict[str, Any]] = {
    "orm_order_lifecycle": {
        "handler": orm_order_lifecycle,
        "input": {"order": "o-1", "customer": "c-1", "cents": 4200},
        "before_run": reset,
    },
    "orm_line_items_map": {
        "handler": orm_line_items_map,
        "input": {
            "order": "o-2",
            "lines": [
                {"line_no": n, "sku": f"sku-{n}", "qty": n % 3 + 1, "cents": 150 * n}
                for n in range(1, 6)
            ],
        },
        "before_run": reset,
    },
    "orm_server_timestamps": {
        "handler": orm_server_timestamps,
        "input": {"ticket": "t-7", "subject": "printer on fire"},
        "before_run": reset,
    },
    "orm_audit_listener": {
        "handler": orm_audit_listener,
        "input": {"orders": [["o-10", 500], ["o-11", 700]]},
        "before_run": reset,
    },
    "scoped_sessions_in_threads": {
        "handler": scoped_sessions_in_threads,
        "input": {
            "orders": [
                ["o-20", [[1, "a", 2, 100], [2, "b", 1, 250]]],
                ["o-21", [[1, "c", 3, 40]]],
            ]
        },
        "before_run": reset,
    },
    "async_orm_module_engine": {
        "handler": async_orm_module_engine,
        "input": {"seats": ["12A", "12B", "12C"]},
        "before_run": reset,
    },
}
