"""The session-44 false-flag audit, round two: correct handlers that carry credentials
(``examples/credentials.py``: JWT expiry and not-before claims checked by ``PyJWT`` against
the wall clock, data sealed with Fernet an hour before it is opened, HMAC-signed receipts
checked against a five-minute tolerance, idempotency keys derived from the execution ARN,
requests signed with an Ed25519 key) are flagged by no oracle, warm or cold, under every fault
kind.

Each checks a credential against ``time.time()`` where the handler cannot see it (inside
``PyJWT``, ``cryptography``, a partner): the handler's virtual clock must move through the
service's waits and a step's own sleeps, and agree with the partners'.

``DURABLE_CREDENTIALS_EXAMPLES=300`` runs the campaign (or ``benchmarks/same_world.py --corpus
credentials --plans all``).
"""

from __future__ import annotations

import os
from typing import Any

import credentials
import credentials_services as services
import pytest
from corpus import check_every, fault_free, returns_fault_free_warm_and_cold, scenarios

from async_durable_execution_runner.scenarios import Scenario, crash
from async_durable_execution_runner.strategies import DEFAULT_KINDS, fault_plans

CORPUS = credentials.CORPUS
price = services.price


def _answers(client: str, requests: list[str]) -> list[str]:
    return [f"{request}:{price(client + request)}" for request in requests]


#: What each entry returns without faults (a function of its input only), where it is one of
#: the input alone; the charges are the payments API's, keyed by the execution (below).
EXPECTED: dict[str, Any] = {
    "jwt_cached_across_waits": {
        "answers": _answers(
            "billing", ["orders", "invoices", "ship-eu", "ship-us", "ship-ap", "refunds"]
        )
    },
    "nbf_upload_token": {
        "data": "s3://uploads/sales-2026-12.csv",
        "report": "s3://uploads/sales-2026-12-report.json",
    },
    "fernet_sealed_between_steps": {"card": "visa ending 4242"},
    "ed25519_signed_vault_reads": {
        "first": [
            f"secret-{services.hashlib.sha256(n.encode()).hexdigest()[:8]}" for n in ("db", "smtp")
        ],
        "later": [
            f"secret-{services.hashlib.sha256(n.encode()).hexdigest()[:8]}" for n in ("db", "api")
        ],
    },
}


def _charges_are_confirmed(value: dict[str, Any]) -> bool:
    return (
        value["deposit"].startswith("ch-")
        and value["fee"].startswith("ch-")
        and value["deposit"] != value["fee"]
        and value["confirmed"] == f"confirmed-{value['deposit']}-{value['fee']}"
    )


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_entry_returns_its_result_fault_free_warm_and_cold(name: str) -> None:
    if name == "signed_receipt_checked_on_arrival":
        returns_fault_free_warm_and_cold(
            CORPUS[name], None, lambda _, value: _charges_are_confirmed(value)
        )
    else:
        returns_fault_free_warm_and_cold(CORPUS[name], EXPECTED[name])
    assert services.REFUSED == []


def test_the_cached_token_is_refreshed_by_its_own_expiry_claim() -> None:
    outcome = fault_free(CORPUS["jwt_cached_across_waits"]).run()
    outcome.check()
    # Orders; after the hour (expired), invoices and the map's calls; after 250 s more (50 s
    # left, under the minute the cache wants), refunds.
    assert services.ISSUED == {"billing": 3}
    assert services.REFUSED == []


def test_a_not_before_token_is_used_once_the_step_s_sleep_made_it_valid() -> None:
    """``PyJWT`` refuses a token before its ``nbf``: the step's 2.5 s sleep must move the clock
    the partner reads, though the loop jumps over it."""
    outcome = fault_free(CORPUS["nbf_upload_token"]).run()
    assert outcome.value == EXPECTED["nbf_upload_token"]
    assert services.REFUSED == []
    outcome.check()


def test_each_charge_is_made_once_however_often_it_is_requested() -> None:
    """The charge step dies after the payments API made the charge: its second attempt asks
    again with the same idempotency key (the ARN's) and gets the same charge."""
    spec = CORPUS["signed_receipt_checked_on_arrival"]
    outcome = Scenario(
        handler=spec["handler"],
        input=spec["input"],
        faults=(crash(invocation=1, call=3),),
        before_run=spec["before_run"],
    ).run()
    assert _charges_are_confirmed(outcome.value)
    assert len(services.CHARGES) == 2
    assert sum(services.REQUESTS.values()) >= 2
    outcome.check()


@pytest.mark.parametrize(
    "name", ["fernet_sealed_between_steps", "signed_receipt_checked_on_arrival"]
)
def test_every_crash_point_passes(name: str) -> None:
    spec = CORPUS[name]
    Scenario(
        handler=spec["handler"], input=spec["input"], before_run=spec["before_run"]
    ).crash_points(budget=None).check()


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_CREDENTIALS_EXAMPLES", "0"))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_fault_plan_flags_a_handler_that_carries_credentials(name: str) -> None:
    strategy = scenarios(CORPUS[name], faults=fault_plans(kinds={*DEFAULT_KINDS, "outage"}))
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)
