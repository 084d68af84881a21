"""Month-end invoicing (``examples/gallery/invoicing.py``), a fan-out with ``map``: example
tests on the runner, and a property suite under the default fault plans and timings."""

from __future__ import annotations

from async_durable_execution import InvocationStatus
from gallery import services
from gallery.invoicing import PRICE_PER_UNIT, month_end
from gallery_faults import (
    failed_by_service_error,
    retries_exhausted,
)
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

ACCOUNTS = [
    {"id": "acme", "seats": 3},
    {"id": "globex", "seats": 1, "closed": True},
    {"id": "initech", "seats": 10},
    {"id": "umbrella", "seats": 2},
]


def setup_function() -> None:
    services.reset()


def test_every_open_account_is_invoiced_and_a_closed_one_is_reported() -> None:
    with DurableFunctionTestRunner(month_end) as runner:
        result = runner.run(input={"period": "2025-01", "accounts": ACCOUNTS}, timeout=10)
    assert result.status is InvocationStatus.SUCCEEDED
    value = result.result_value
    assert value["failed"] == ["globex"]
    assert [(i["account"], i["amount"]) for i in value["invoices"]] == [
        ("acme", 3 * 12 * PRICE_PER_UNIT),
        ("initech", 10 * 12 * PRICE_PER_UNIT),
        ("umbrella", 2 * 12 * PRICE_PER_UNIT),
    ]
    assert len(services.billing.issued) == 3
    assert services.mailer.sent == [
        ("finance@example.com", "2025-01: 3 invoice(s), failed: globex")
    ]
    # A closed account is not retried: the item failed on its first attempt.
    assert result.get_step("usage-globex").attempt == 1


def test_the_map_is_one_operation_with_a_child_per_account() -> None:
    with DurableFunctionTestRunner(month_end) as runner:
        result = runner.run(input={"period": "2025-01", "accounts": ACCOUNTS}, timeout=10)
    batch = result.get_context("invoice-accounts")
    assert batch.status.value == "SUCCEEDED"
    assert batch.sub_type == "Map"
    statuses = {a["id"]: batch.get_context(a["id"]).status.value for a in ACCOUNTS}
    assert statuses == {
        "acme": "SUCCEEDED",
        "globex": "FAILED",
        "initech": "SUCCEEDED",
        "umbrella": "SUCCEEDED",
    }
    assert batch.get_step("invoice-acme").result == '"INV-1001-180"'  # found inside the map


# --- the property ---------------------------------------------------------------------------

ACCOUNT = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["acme", "globex", "initech", "umbrella", "hooli"]),
        "seats": st.integers(1, 5),
    },
    optional={"closed": st.booleans()},
)
RUNS = st.fixed_dictionaries(
    {
        "period": st.sampled_from(["2025-01", "2025-02"]),
        "accounts": st.lists(ACCOUNT, min_size=1, max_size=5, unique_by=lambda a: a["id"]),
    }
)


#: An explicit example meeting every ``sometimes`` below whatever the random examples draw
#: (under the default profile's 50, one was sometimes missed): a crash in the map's second
#: call, with a closed and an open account.
CLOSED_AND_OPEN_CRASHING_IN_THE_MAP = Scenario(
    handler=month_end,
    input={
        "period": "2025-01",
        "accounts": [{"id": "acme", "seats": 1}, {"id": "globex", "seats": 2, "closed": True}],
    },
    faults=(crash(invocation=1, call=2),),
    before_run=services.reset,
)


@scenario_settings()
@example(CLOSED_AND_OPEN_CRASHING_IN_THE_MAP)
@given(durable_scenarios(month_end, inputs=RUNS, before_run=services.reset))
def test_each_open_account_gets_exactly_one_invoice(scenario: Scenario) -> None:
    outcome = scenario.run()
    issued = dict(services.billing.issued)
    mails = list(services.mailer.sent)
    if outcome.check(warn=False):
        return  # a known SDK issue met the run (from 3.12 its map can spin: SDK finding 19)
    exercised = observe(outcome)
    sometimes(outcome.faults_applied, "a fault landed")
    sometimes("replay inside map" in exercised, "an invocation began inside the map")
    if failed_by_service_error(outcome) or retries_exhausted(outcome):
        return
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED, outcome.report()
    event = scenario.input
    closed = [a["id"] for a in event["accounts"] if a.get("closed")]
    value = outcome.value
    assert value["failed"] == closed
    open_accounts = [a for a in event["accounts"] if not a.get("closed")]
    assert value["invoices"] == [
        {
            "account": a["id"],
            "invoice": issued[(a["id"], event["period"])],
            "amount": a["seats"] * 12 * PRICE_PER_UNIT,
        }
        for a in open_accounts
    ]
    assert len(issued) == len(open_accounts)  # one number per account, however often asked
    assert len(mails) == 1
    sometimes(value["failed"] and value["invoices"], "closed and open accounts in one run")


# --- billing down for a while -----------------------------------------------------------------

#: Billing down for five minutes from the first account's usage (step 1): every account's
#: usage fails its six attempts, and each is fetched again an hour later.
BILLING_DOWN = Scenario(
    handler=month_end,
    input={
        "period": "2025-01",
        "accounts": [{"id": "acme", "seats": 1}, {"id": "globex", "seats": 2, "closed": True}],
    },
    faults=(outage(step=1, seconds=300),),
    before_run=services.reset,
)


@scenario_settings()
@example(BILLING_DOWN)
@given(
    durable_scenarios(
        month_end,
        inputs=RUNS,
        faults=fault_plans(kinds={*DEFAULT_KINDS, "outage"}),
        before_run=services.reset,
    )
)
def test_a_billing_outage_still_invoices_every_open_account_once(scenario: Scenario) -> None:
    outcome = scenario.run()
    issued = dict(services.billing.issued)
    mails = list(services.mailer.sent)
    if outcome.check(warn=False):
        return  # a known SDK issue met the run (from 3.12 its map can spin: SDK finding 19)
    sometimes(outcome.applied("outage"), "an outage landed")
    if failed_by_service_error(outcome):
        return
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED, outcome.report()
    event = scenario.input
    value = outcome.value
    assert value["failed"] == [a["id"] for a in event["accounts"] if a.get("closed")]
    open_accounts = [a["id"] for a in event["accounts"] if not a.get("closed")]
    assert [i["account"] for i in value["invoices"]] == open_accounts, outcome.report()
    assert len(issued) == len(open_accounts)
    assert len(mails) == 1
