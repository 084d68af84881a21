"""The session-45 false-flag audit: correct handlers that crunch data
(``examples/dataframes.py``: pandas and polars frames built in steps, numpy draws from fresh
entropy and from a sandbox's generator made at import, numpy arrays, datetimes and UUIDs
checkpointed through an orjson ``SerDes``, an invoice typed as a ``msgspec.Struct``, a window
opened with ``pd.Timestamp.now()`` and closed an hour later) are flagged by no oracle, warm or
cold, under every fault kind.

``DURABLE_DATAFRAMES_EXAMPLES=300`` runs the campaign (or ``benchmarks/same_world.py --corpus
dataframes --plans all``).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import dataframes
import dataframes_services as services
import numpy as np
import pandas as pd
import pytest
from corpus import check_every, fault_free, returns_fault_free_warm_and_cold, scenarios

from async_durable_execution_runner.scenarios import Scenario, Timings, crash
from async_durable_execution_runner.strategies import DEFAULT_KINDS, fault_plans

CORPUS = dataframes.CORPUS


def _sales(day: str, rows: int) -> tuple[float, int]:
    """The day's grand total and row count, computed without pandas."""
    total = sum(round(r["qty"] * r["unit_price"], 2) for r in services.sales_rows(day, rows))
    return round(total, 2), rows


def _on_hand(warehouse: str) -> dict[str, int]:
    on_hand: dict[str, int] = {}
    for line in services.inventory_csv(warehouse).splitlines()[1:]:
        sku, _, qty = line.split(",")
        on_hand[sku] = on_hand.get(sku, 0) + int(qty)
    return on_hand


def _reorders(warehouse: str, day: str, threshold: int) -> dict[str, Any]:
    low = sorted((sku, qty) for sku, qty in _on_hand(warehouse).items() if qty < threshold)
    return {
        "low": [sku for sku, _ in low],
        "orders": [f"po-{warehouse}-{sku}-{threshold - qty}" for sku, qty in low],
    }


def _invoice(order: str, lines: int, tax_rate: float) -> dict[str, Any]:
    rows = services.sales_rows(order, lines)
    net = round(sum(r["qty"] * r["unit_price"] for r in rows), 2)
    tax = round(net * tax_rate, 2)
    discount = round(sum(r["qty"] * r["unit_price"] for r in rows if r["qty"] >= 4) * 0.05, 2)
    return {
        "number": f"inv-{order}",
        "net": net,
        "tax": tax,
        "discount": discount,
        "total": round(net + tax - discount, 2),
    }


_SALES = CORPUS["pandas_sales_rollup"]["input"]
_STOCK = CORPUS["polars_low_stock_reorders"]["input"]
_INVOICE = CORPUS["msgspec_typed_invoice"]["input"]

#: What each deterministic entry returns without faults (a function of its input only).
EXPECTED: dict[str, Any] = {
    "pandas_sales_rollup": {
        "key": f"reports/sales-{_SALES['day']}.csv",
        "grand_total": _sales(_SALES["day"], _SALES["rows"])[0],
        "rows": _SALES["rows"],
    },
    "polars_low_stock_reorders": _reorders(_STOCK["warehouse"], _STOCK["day"], _STOCK["threshold"]),
    "orjson_serdes_batch": {"sent": 6, "checksum": 22.5, "ids": 6},
    "msgspec_typed_invoice": _invoice(_INVOICE["order"], _INVOICE["lines"], _INVOICE["tax_rate"]),
    "numpy_stamped_ingest": {
        "rows": 25,
        "units": sum(r["qty"] for r in services.sales_rows("2026-12-04", 25)),
        "stamps": 1,
    },
    "pandas_event_window": {"sent": 5, "counted": 5, "kinds": ["view"]},
}


def _quote_is_priced(value: dict[str, Any]) -> bool:
    """A simulated quote: drawn afresh on every run, so judged by its shape: the 95th
    percentile above the median, near the base cost, and the quote the percentile plus the
    margin; the booking desk booked that quote."""
    spec = CORPUS["numpy_monte_carlo_quote"]["input"]
    return (
        0.8 * spec["base_cost"] < value["p50"] < value["p95"] < 2 * spec["base_cost"]
        and value["quote"] == round(value["p95"] * (1 + spec["margin"]), 2)
        and value["booking"] == f"bk-{spec['order']}"
        and services.BOOKINGS.get(spec["order"]) == value["quote"]
    )


def _sample_is_audited(value: dict[str, Any]) -> bool:
    spec = CORPUS["numpy_module_rng_sample"]["input"]
    orders = {r["order"] for r in services.sales_rows(spec["day"], spec["rows"])}
    audited = value["audited"]
    return (
        len(audited) == spec["sample"] == len(set(audited))
        and set(audited) <= orders
        and set(value["flagged"]) <= set(audited)
    )


PREDICATES = {
    "numpy_monte_carlo_quote": _quote_is_priced,
    "numpy_module_rng_sample": _sample_is_audited,
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_entry_returns_its_result_fault_free_warm_and_cold(name: str) -> None:
    if name in PREDICATES:
        judge = PREDICATES[name]
        returns_fault_free_warm_and_cold(CORPUS[name], None, lambda _, value: judge(value))
    else:
        returns_fault_free_warm_and_cold(CORPUS[name], EXPECTED[name])
    assert services.REFUSED == []


def test_the_expected_values_are_not_vacuous() -> None:
    # Three SKUs under the threshold, each reordered; a sale in every region.
    assert len(EXPECTED["polars_low_stock_reorders"]["low"]) == 3
    assert EXPECTED["pandas_sales_rollup"]["grand_total"] > 1000


def test_a_reorder_is_made_once_however_often_its_step_runs() -> None:
    """The sandbox dies as it checkpoints the first reorder, after the purchasing API took
    the order: the step runs again, asks for the same (warehouse, SKU, day) and gets the same
    purchase order."""
    spec = CORPUS["polars_low_stock_reorders"]
    outcome = Scenario(
        handler=spec["handler"],
        input=spec["input"],
        faults=(crash(invocation=2, call=1),),
        before_run=spec["before_run"],
    ).run()
    assert outcome.value == EXPECTED["polars_low_stock_reorders"]
    first_low = EXPECTED["polars_low_stock_reorders"]["low"][0]
    assert services.REORDER_REQUESTS[(_STOCK["warehouse"], first_low, _STOCK["day"])] == 2
    assert len(services.REORDERS) == 3
    outcome.check()


def test_a_simulation_retried_after_a_crash_is_drawn_again_and_booked_once() -> None:
    spec = CORPUS["numpy_monte_carlo_quote"]
    outcome = Scenario(
        handler=spec["handler"],
        input=spec["input"],
        faults=(crash(invocation=1, call=1),),
        before_run=spec["before_run"],
    ).run()
    assert _quote_is_priced(outcome.value)
    outcome.check()


def test_the_window_sees_the_hour_the_service_waited() -> None:
    """pandas reads the handler's clock through ``datetime``: an hour after the wait it says
    an hour later, and so does the collector, which stamped the events in the window."""
    outcome = fault_free(CORPUS["pandas_event_window"]).run()
    assert outcome.value == EXPECTED["pandas_event_window"]
    stamped = {e["collected_at"] for e in services.EVENTS}
    assert len(stamped) == 1
    outcome.check()


def test_numpy_s_own_now_reads_the_machine_s_clock_not_the_handler_s() -> None:
    """A documented limit of the handler's clock (docs/explanation/virtual-time.md): numpy
    parses ``datetime64("now")`` in C from the system clock, which no Python-level patch
    reaches. If this starts failing, numpy reads a clock the runner moves: update the doc."""
    seen: dict[str, Any] = {}

    from async_durable_execution import durable_execution, step, wait

    @durable_execution
    async def handler(event: Any) -> None:
        async def read() -> None:
            seen["numpy"] = np.datetime64("now", "s")
            seen["pandas"] = pd.Timestamp.now(tz="UTC")

        await wait(6 * 3600, name="six-hours")
        await step(read, name="read")

    start = dt.datetime(2031, 1, 1, tzinfo=dt.UTC)
    Scenario(handler=handler, timings=Timings(start=start)).run().check()
    assert seen["pandas"] >= pd.Timestamp(start) + pd.Timedelta(hours=6)
    machine = np.datetime64(dt.datetime.now(dt.UTC).replace(tzinfo=None), "s")
    assert abs(seen["numpy"] - machine) < np.timedelta64(600, "s")


@pytest.mark.parametrize(
    "name", ["pandas_sales_rollup", "orjson_serdes_batch", "numpy_stamped_ingest"]
)
def test_every_crash_point_passes(name: str) -> None:
    spec = CORPUS[name]
    Scenario(
        handler=spec["handler"], input=spec["input"], before_run=spec["before_run"]
    ).crash_points(budget=None).check()


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_DATAFRAMES_EXAMPLES", "0"))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_fault_plan_flags_a_handler_that_crunches_data(name: str) -> None:
    strategy = scenarios(CORPUS[name], faults=fault_plans(kinds={*DEFAULT_KINDS, "outage"}))
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)
