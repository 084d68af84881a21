"""Correct handlers that crunch data the way production Lambda code does (the session-45
false-flag audit): pandas and polars frames built in steps, numpy random draws for
simulations and samples, typed records in msgspec structs and custom ``SerDes`` on orjson.

Each of these does what such libraries invite: a frame's records returned from a step (as
Python values, which is what a checkpoint can hold), a simulation drawn from fresh entropy
in a step (its summary checkpointed, never drawn again), a module-level random generator of
the sandbox's drawn from only in steps, a native thread pool (polars') doing a step's work,
and the instant a window opened read with ``pd.Timestamp.now()`` and compared, an hour
later, with events a partner stamped with ``datetime.now()``:

- ``pandas_sales_rollup``: a day's CSV export read into a frame in a step, totals per region
  computed by a ``map`` (a ``groupby`` in each item's step), an hour's wait, then the report
  published to the object store with the instant it was made (``pd.Timestamp.now``);
- ``numpy_monte_carlo_quote``: a delivery cost simulated with ``np.random.default_rng()``
  (fresh entropy, every attempt its own draws) in a step; the quote is the 95th percentile
  plus a margin, held for ten minutes, then booked;
- ``numpy_module_rng_sample``: a sandbox's ``np.random.default_rng()`` made at import,
  drawn from only in a step that picks orders to audit; the audit is a ``map`` over them;
- ``polars_low_stock_reorders``: stock movements aggregated by a lazy polars query (its
  Rust thread pool does the work) in a step; each SKU below its threshold is reordered in a
  step of its own, half an hour later;
- ``orjson_serdes_batch``: a step's result holds a numpy array, a ``datetime`` and ``UUID``\\ s,
  checkpointed through a ``SerDes`` of the user's on orjson (which serialises all three);
- ``msgspec_typed_invoice``: an invoice as a ``msgspec.Struct``, checkpointed by a typed
  ``SerDes`` of the user's and decoded back into the struct; tax and discount computed in
  ``parallel`` branches;
- ``numpy_stamped_ingest``: rows stamped in a step with ``np.datetime64("now", "s")``,
  which numpy reads from the machine's clock in C, in whole seconds (the handler's clock
  does not reach it, nor does the harness see it read); the result keeps what does not
  depend on when it ran;
- ``pandas_event_window``: a window opened at ``pd.Timestamp.now()`` in a step, events sent
  to a collector that stamps them with ``datetime.now()``, an hour's wait, then the events
  collected in the window counted: the handler's clock (pandas reads it through
  ``datetime``), the partner's and the service's must agree.

Every one is correct durable code: the partners answer by what they are asked (a reorder is
one per SKU and day, a booking the first quote asked for), so what a handler returns is a
function of its input, or (the random ones) passes the test's predicate. No oracle may flag
any of them under any fault plan or timing (``tests/harness/test_dataframes_corpus.py``;
``benchmarks/same_world.py --corpus dataframes`` is the long campaign).
"""

from __future__ import annotations

import datetime as _dt
import io
import uuid
from typing import Any

import dataframes_services as services
import msgspec
import numpy as np
import orjson
import pandas as pd
import polars as pl
from async_durable_execution import SerDes, durable_execution, parallel, step, wait
from async_durable_execution import map as durable_map

__all__ = ["CORPUS", "reset"]

#: The sandbox's random generator, seeded from fresh entropy at import (a cold sandbox makes
#: its own). Drawn from only inside steps.
RNG = np.random.default_rng()


def reset() -> None:
    """A fresh deployment of the partners."""
    services.reset()


# --- a day's sales, rolled up by region --------------------------------------------------------


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    # (pandas hands out Python scalars from ``to_dict``: what a checkpoint's JSON can hold.)
    return frame.to_dict(orient="records")


@durable_execution
async def pandas_sales_rollup(event: Any) -> dict[str, Any]:
    day, rows = event["day"], event["rows"]

    async def load() -> list[dict[str, Any]]:
        frame = pd.read_csv(io.StringIO(services.export_csv(day, rows)))
        frame["amount"] = (frame["qty"] * frame["unit_price"]).round(2)
        return _records(frame[["region", "sku", "amount"]])

    records = await step(load, name="load-export")

    async def region_totals(region: str) -> dict[str, Any]:
        async def total() -> dict[str, Any]:
            frame = pd.DataFrame.from_records(records)
            part = frame[frame["region"] == region]
            by_sku = part.groupby("sku")["amount"].sum().round(2)
            return {
                "region": region,
                "rows": len(part),
                "by_sku": {str(k): float(v) for k, v in by_sku.items()},
            }

        return await step(total, name=f"totals-{region}")

    rolled = await durable_map(region_totals, event["regions"], name="regions", max_concurrency=2)
    totals = rolled.get_results()
    await wait(3600, name="close-of-day")

    async def publish() -> dict[str, Any]:
        frame = pd.DataFrame(
            [
                {"region": t["region"], "sku": s, "amount": a}
                for t in totals
                for s, a in t["by_sku"].items()
            ]
        )
        made = pd.Timestamp.now(tz="UTC")
        key = f"reports/sales-{day}.csv"
        services.put_object(key, frame.to_csv(index=False), {"made-at": made.isoformat()})
        return {"key": key, "grand_total": round(float(frame["amount"].sum()), 2)}

    published = await step(publish, name="publish")
    return {**published, "rows": sum(t["rows"] for t in totals)}


# --- a quote from a simulation ------------------------------------------------------------------


@durable_execution
async def numpy_monte_carlo_quote(event: Any) -> dict[str, Any]:
    order = event["order"]

    async def simulate() -> dict[str, float]:
        rng = np.random.default_rng()  # fresh entropy: every attempt draws anew
        costs = rng.lognormal(mean=np.log(event["base_cost"]), sigma=0.25, size=20_000)
        return {
            "p50": float(np.percentile(costs, 50)),
            "p95": float(np.percentile(costs, 95)),
        }

    simulated = await step(simulate, name="simulate")

    async def price() -> float:
        return round(simulated["p95"] * (1 + event["margin"]), 2)

    quote = await step(price, name="price")
    await wait(600, name="quote-held")

    async def book() -> str:
        return services.book(order, quote)

    booking = await step(book, name="book")
    return {"quote": quote, "p50": simulated["p50"], "p95": simulated["p95"], "booking": booking}


# --- a sample drawn from the sandbox's generator ---------------------------------------------


@durable_execution
async def numpy_module_rng_sample(event: Any) -> dict[str, Any]:
    day, rows, size = event["day"], event["rows"], event["sample"]

    async def pick() -> list[str]:
        orders = [r["order"] for r in services.sales_rows(day, rows)]
        return [str(o) for o in RNG.choice(orders, size=size, replace=False)]

    picked = await step(pick, name="pick-sample")

    async def audit(order: str) -> dict[str, Any]:
        async def check() -> dict[str, Any]:
            row = next(r for r in services.sales_rows(day, rows) if r["order"] == order)
            return {"order": order, "ok": bool(row["qty"] * row["unit_price"] < 400)}

        return await step(check, name=f"audit-{order}")

    audited = await durable_map(audit, picked, name="audit", max_concurrency=3)
    results = audited.get_results()
    await wait(300, name="review")
    return {
        "audited": sorted(r["order"] for r in results),
        "flagged": sorted(r["order"] for r in results if not r["ok"]),
    }


# --- low stock, found by a lazy polars query ---------------------------------------------------


@durable_execution
async def polars_low_stock_reorders(event: Any) -> dict[str, Any]:
    warehouse, day, threshold = event["warehouse"], event["day"], event["threshold"]

    async def snapshot() -> list[dict[str, Any]]:
        low = (
            pl.read_csv(io.StringIO(services.inventory_csv(warehouse)))
            .lazy()
            .group_by("sku")
            .agg(pl.col("qty").sum().alias("on_hand"), pl.col("bin").n_unique().alias("bins"))
            .filter(pl.col("on_hand") < threshold)
            .sort("sku")
            .collect()
        )
        return low.to_dicts()

    low = await step(snapshot, name="snapshot")
    await wait(1800, name="supplier-cutoff")
    ordered = []
    for row in low:

        async def reorder(row: dict[str, Any] = row) -> str:
            return services.reorder(warehouse, row["sku"], threshold - row["on_hand"], day)

        ordered.append(await step(reorder, name=f"reorder-{row['sku']}"))
    return {"low": [row["sku"] for row in low], "orders": ordered}


# --- numpy arrays, datetimes and UUIDs through orjson -----------------------------------------


class OrjsonSerDes(SerDes[Any]):
    """orjson as the checkpoint codec: numpy arrays, datetimes and UUIDs serialise as JSON
    (a list, an ISO string, a string) and come back as what JSON holds."""

    async def serialize(self, value: Any) -> str:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()

    async def deserialize(self, data: str) -> Any:
        return orjson.loads(data)


@durable_execution
async def orjson_serdes_batch(event: Any) -> dict[str, Any]:
    codec = OrjsonSerDes()

    async def build() -> dict[str, Any]:
        values = np.arange(event["size"], dtype=np.float64) * event["scale"]
        return {
            "batch": uuid.uuid4(),
            "made_at": _dt.datetime.now(_dt.UTC),
            "ids": [uuid.uuid4() for _ in range(event["size"])],
            "values": values,
        }

    batch = await step(build, name="build-batch", serdes=codec)
    await wait(900, name="settle")

    async def send() -> int:
        events = [{"id": i, "value": v} for i, v in zip(batch["ids"], batch["values"], strict=True)]
        return services.collect(events)

    sent = await step(send, name="send")
    return {"sent": sent, "checksum": round(sum(batch["values"]), 6), "ids": len(set(batch["ids"]))}


# --- a typed invoice through msgspec -----------------------------------------------------------


class Line(msgspec.Struct, frozen=True):
    sku: str
    qty: int
    unit_price: float


class Invoice(msgspec.Struct, frozen=True):
    number: str
    lines: list[Line]
    issued: _dt.datetime


class InvoiceSerDes(SerDes[Invoice]):
    """A typed codec: encoded as msgspec's JSON, decoded back into an ``Invoice`` (an unknown
    shape is an error, not a dict)."""

    _encoder = msgspec.json.Encoder()
    _decoder = msgspec.json.Decoder(Invoice)

    async def serialize(self, value: Invoice) -> str:
        return self._encoder.encode(value).decode()

    async def deserialize(self, data: str) -> Invoice:
        return self._decoder.decode(data)


@durable_execution
async def msgspec_typed_invoice(event: Any) -> dict[str, Any]:
    order = event["order"]

    async def draft() -> Invoice:
        rows = services.sales_rows(order, event["lines"])
        return Invoice(
            number=f"inv-{order}",
            lines=[Line(r["sku"], r["qty"], r["unit_price"]) for r in rows],
            issued=_dt.datetime.now(_dt.UTC),
        )

    invoice = await step(draft, name="draft", serdes=InvoiceSerDes())
    if not isinstance(invoice, Invoice):
        msg = f"the draft came back as {type(invoice).__name__}, not an Invoice"
        raise TypeError(msg)
    net = round(sum(line.qty * line.unit_price for line in invoice.lines), 2)

    async def tax_body() -> float:
        return round(net * event["tax_rate"], 2)

    async def discount_body() -> float:
        big = [line for line in invoice.lines if line.qty >= 4]
        return round(sum(line.qty * line.unit_price for line in big) * 0.05, 2)

    async def tax() -> float:
        return await step(tax_body, name="tax")

    async def discount() -> float:
        return await step(discount_body, name="discount")

    computed = await parallel([tax, discount], name="adjustments")
    tax_due, discounted = computed.get_results()
    await wait(120, name="approval")
    return {
        "number": invoice.number,
        "net": net,
        "tax": tax_due,
        "discount": discounted,
        "total": round(net + tax_due - discounted, 2),
    }


# --- a window read with pandas' clock, filled by a partner's -----------------------------------


@durable_execution
async def pandas_event_window(event: Any) -> dict[str, Any]:
    async def open_window() -> str:
        return pd.Timestamp.now(tz="UTC").isoformat()

    opened = await step(open_window, name="open-window")

    async def send() -> int:
        return services.collect([{"kind": "view", "n": n} for n in range(event["events"])])

    sent = await step(send, name="send-events")
    await wait(3600, name="window")

    async def close_window() -> dict[str, Any]:
        closed = pd.Timestamp.now(tz="UTC")
        if closed - pd.Timestamp(opened) < pd.Timedelta(hours=1):
            msg = f"the window closed at {closed}, less than an hour after {opened}"
            raise RuntimeError(msg)
        inside = services.collected_between(opened, closed.isoformat())
        frame = pd.DataFrame(inside)
        return {"counted": len(frame), "kinds": sorted(frame["kind"].unique().tolist())}

    closed = await step(close_window, name="close-window")
    return {"sent": sent, **closed}


# --- rows stamped by numpy's own clock ----------------------------------------------------------


@durable_execution
async def numpy_stamped_ingest(event: Any) -> dict[str, Any]:
    day, rows = event["day"], event["rows"]

    async def ingest() -> list[dict[str, Any]]:
        frame = pd.read_csv(io.StringIO(services.export_csv(day, rows)))
        # numpy reads the machine's clock in C, in whole seconds (not the handler's clock:
        # docs/explanation/virtual-time.md), as a database's ``now()`` does.
        frame["ingested_at"] = np.datetime64("now", "s")
        frame["ingested_at"] = frame["ingested_at"].astype(str)
        return _records(frame[["order", "qty", "ingested_at"]])

    batch = await step(ingest, name="ingest")
    await wait(600, name="quarantine")

    async def load() -> dict[str, Any]:
        stamps = {row["ingested_at"] for row in batch}
        return {
            "rows": len(batch),
            "units": sum(row["qty"] for row in batch),
            "stamps": len(stamps),
        }

    return await step(load, name="load")


CORPUS: dict[str, dict[str, Any]] = {
    "pandas_sales_rollup": {
        "handler": pandas_sales_rollup,
        "input": {"day": "2026-12-06", "rows": 40, "regions": ["eu", "us", "ap"]},
        "before_run": reset,
    },
    "numpy_monte_carlo_quote": {
        "handler": numpy_monte_carlo_quote,
        "input": {"order": "o-77", "base_cost": 120.0, "margin": 0.1},
        "before_run": reset,
    },
    "numpy_module_rng_sample": {
        "handler": numpy_module_rng_sample,
        "input": {"day": "2026-12-05", "rows": 30, "sample": 4},
        "before_run": reset,
    },
    "polars_low_stock_reorders": {
        "handler": polars_low_stock_reorders,
        "input": {"warehouse": "dub-1", "day": "2026-12-07", "threshold": 150},
        "before_run": reset,
    },
    "orjson_serdes_batch": {
        "handler": orjson_serdes_batch,
        "input": {"size": 6, "scale": 1.5},
        "before_run": reset,
    },
    "msgspec_typed_invoice": {
        "handler": msgspec_typed_invoice,
        "input": {"order": "o-91", "lines": 5, "tax_rate": 0.2},
        "before_run": reset,
    },
    "numpy_stamped_ingest": {
        "handler": numpy_stamped_ingest,
        "input": {"day": "2026-12-04", "rows": 25},
        "before_run": reset,
    },
    "pandas_event_window": {
        "handler": pandas_event_window,
        "input": {"events": 5},
        "before_run": reset,
    },
}
