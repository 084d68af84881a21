"""Trip booking, a saga (``examples/gallery/trip.py``): example tests on the runner, and a
property suite under the default fault plans and timings."""

from __future__ import annotations

from async_durable_execution import InvocationStatus
from gallery import services
from gallery.trip import book_trip
from gallery_faults import failed_by_service_error, retries_exhausted
from hypothesis import example, given
from hypothesis import strategies as st

from async_durable_execution_runner import DurableFunctionTestRunner, ExecutionStatus
from async_durable_execution_runner.coverage import observe, sometimes
from async_durable_execution_runner.scenarios import Scenario, crash, outage
from async_durable_execution_runner.strategies import (
    DEFAULT_KINDS,
    durable_scenarios,
    fault_plans,
    scenario_settings,
)

TRIP = {"traveller": "ada", "flight": "LHR-JFK", "hotel": "NYC-1", "car": "NYC"}


def setup_function() -> None:
    services.reset()


def test_a_trip_books_every_leg() -> None:
    with DurableFunctionTestRunner(book_trip) as runner:
        result = runner.run(input=TRIP, timeout=10)
    assert result.status is InvocationStatus.SUCCEEDED
    value = result.result_value
    assert value["status"] == "booked"
    assert value["confirmations"] == {"flight": "F501", "hotel": "H502", "car": "C503"}
    assert services.reservations.holding(value["reference"]) == ["C503", "F501", "H502"]


def test_a_sold_out_car_cancels_the_hotel_then_the_flight() -> None:
    with DurableFunctionTestRunner(book_trip) as runner:
        result = runner.run(input={**TRIP, "car": "sold-out-NYC"}, timeout=10)
    value = result.result_value
    assert value["status"] == "cancelled"
    assert (value["failed"], value["reason"]) == ("car", "SoldOut")
    assert value["cancelled"] == ["H502", "F501"]  # in reverse order of booking
    assert services.reservations.holding(value["reference"]) == []
    assert result.get_step("book-car").attempt == 1  # sold out is not retried
    names = [e["Name"] for e in result.history if e["EventType"] == "StepSucceeded"]
    assert names[-2:] == ["cancel-hotel", "cancel-flight"]


def test_a_flaky_partner_is_retried_not_compensated() -> None:
    calls = {"n": 0}
    real_book = services.Reservations.book

    def flaky(self: services.Reservations, kind: str, reference: str, what: str) -> str:
        calls["n"] += 1
        if kind == "hotel" and calls["n"] == 2:
            msg = "hotel API timed out"
            raise ConnectionError(msg)
        return real_book(self, kind, reference, what)

    services.Reservations.book = flaky  # type: ignore[method-assign]
    try:
        with DurableFunctionTestRunner(book_trip) as runner:
            result = runner.run(input=TRIP, timeout=10)
    finally:
        services.Reservations.book = real_book  # type: ignore[method-assign]
    assert result.result_value["status"] == "booked"
    assert result.get_step("book-hotel").attempt == 2


# --- the property ---------------------------------------------------------------------------

TRIPS = st.fixed_dictionaries(
    {
        "traveller": st.just("ada"),
        "flight": st.sampled_from(["LHR-JFK", "sold-out-LHR-SFO"]),
        "hotel": st.sampled_from(["NYC-1", "sold-out-NYC-2"]),
        "car": st.sampled_from(["NYC", "sold-out-NYC"]),
    }
)


#: An explicit example meeting every ``sometimes`` below whatever the random examples draw:
#: a sold-out car (the hotel and the flight compensated) under a crash.
SOLD_OUT_CAR_UNDER_A_CRASH = Scenario(
    handler=book_trip,
    input={"traveller": "ada", "flight": "LHR-JFK", "hotel": "NYC-1", "car": "sold-out-NYC"},
    faults=(crash(invocation=1, call=1),),
    before_run=services.reset,
)


@scenario_settings()
@example(SOLD_OUT_CAR_UNDER_A_CRASH)
@given(durable_scenarios(book_trip, inputs=TRIPS, before_run=services.reset))
def test_a_trip_is_booked_whole_or_not_at_all(scenario: Scenario) -> None:
    outcome = scenario.run()
    held = {c: dict(r) for c, r in services.reservations.held.items()}
    outcome.check()
    observe(outcome)
    sometimes(outcome.faults_applied, "a fault landed")
    if failed_by_service_error(outcome) or retries_exhausted(outcome):
        return
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED, outcome.report()
    trip, value = scenario.input, outcome.value
    holding = sorted(c for c, r in held.items() if r["state"] == "held")
    sold_out = [leg for leg in ("flight", "hotel", "car") if trip[leg].startswith("sold-out")]
    if not sold_out:
        assert value["status"] == "booked", outcome.report()
        assert sorted(value["confirmations"].values()) == holding
    else:
        assert value["status"] == "cancelled", outcome.report()
        assert value["failed"] == sold_out[0]
        assert value["reason"] == "SoldOut"
        assert holding == []  # everything booked before the failure was cancelled
        assert sorted(value["cancelled"]) == sorted(held)
        sometimes(value["cancelled"], "a booking was compensated")
    # Every booking belongs to this trip's one reference, whatever the retries and replays.
    assert {r["reference"] for r in held.values()} <= {value["reference"]}


# --- a partner down for a while ---------------------------------------------------------------

#: The reservations partner down for five minutes from the hotel's booking: the hotel's
#: retries run out, and the flight's cancellation, right after, meets the same outage.
HOTEL_DOWN = Scenario(
    handler=book_trip,
    input=TRIP,
    faults=(outage(step=3, seconds=300),),
    before_run=services.reset,
)


def test_an_outage_that_fails_a_booking_does_not_leave_the_flight_booked() -> None:
    outcome = HOTEL_DOWN.run()
    outcome.check()
    value = outcome.value
    assert value["status"] == "cancelled"
    assert (value["failed"], value["cancelled"]) == ("hotel", ["F501"])
    assert services.reservations.holding(value["reference"]) == []
    # The first round of the cancellation met the outage; the second, an hour later, did not.
    assert outcome.result.get_step("cancel-flight-2").status.value == "SUCCEEDED"


@scenario_settings()
@example(HOTEL_DOWN)
@given(
    durable_scenarios(
        book_trip,
        inputs=TRIPS,
        faults=fault_plans(kinds={*DEFAULT_KINDS, "outage"}),
        before_run=services.reset,
    )
)
def test_a_partner_outage_leaves_no_leg_booked_but_a_booked_trip_s(scenario: Scenario) -> None:
    outcome = scenario.run()
    held = {c: dict(r) for c, r in services.reservations.held.items()}
    outcome.check()
    sometimes(outcome.applied("outage"), "an outage landed")
    if failed_by_service_error(outcome):
        return
    holding = sorted(c for c, r in held.items() if r["state"] == "held")
    if outcome.execution_status is ExecutionStatus.FAILED:
        # Only the reference step, before any booking, fails the execution for good.
        assert holding == [], outcome.report()
        return
    value = outcome.value
    if value["status"] == "booked":
        assert sorted(value["confirmations"].values()) == holding, outcome.report()
    else:
        assert holding == [], outcome.report()
        assert "not_cancelled" not in value, outcome.report()
        sometimes(value["reason"] == "InjectedStepError", "an outage failed a booking")
