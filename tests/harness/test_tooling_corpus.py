"""The session-24 false-flag audit I: correct handlers exercised the way users' own test
suites exercise them (``examples/tooling.py``: ``mock.patch.object`` with ``autospec``,
``MagicMock``/``AsyncMock`` service fakes with ``side_effect`` functions and an iterable
that fails twice then answers for ever, botocore's ``Stubber`` on boto3 SQS and DynamoDB
clients, configuration from the environment, a capturing log handler, an id factory patched
with a counter, a ``wait_for_callback`` submitter mailing through a mock, a business error
raised by a ``side_effect``) are flagged by no oracle; a wrong twin still is.

Then the test-side tools, run for real: ``time_machine`` and ``freezegun`` around a run,
``monkeypatch`` (``setenv``, ``setattr`` by a dotted name) around a scenario, ``caplog``
with the plugin's ``run_scenario``, the plugin's ``durable_runner`` with ``parametrize``,
``run_async`` under ``asyncio.run``, ``mock.patch("time.sleep")``, ``@given`` with the
user's own input strategies and assertions, and what a cold sandbox does to a patch of a
client made in the handler's own module.

The corpus runs a few examples per handler here; ``DURABLE_TOOLING_EXAMPLES=300`` runs the
campaign (or ``benchmarks/same_world.py --corpus tooling --plans all``, which also counts
the faults that landed).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest
import time_machine
import tooling
import tooling_services as services
from corpus import check_every, fault_free, scenarios
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from tests.harness import tooling_handlers

from async_durable_execution_runner import (
    DurableFunctionTestRunner,
    ExecutionStatus,
    SandboxPolicy,
)
from async_durable_execution_runner.errors import DurableRunnerError
from async_durable_execution_runner.oracles import (
    CheckpointRefused,
    FaultNotMasked,
    ReplayDivergence,
)
from async_durable_execution_runner.scenarios import Outcome, Scenario, Timings
from async_durable_execution_runner.strategies import durable_scenarios, fault_plans

#: What each entry returns without faults.
EXPECTED: dict[str, dict[str, Any]] = {
    "patched_payments": {
        "charged": {"id": "ch-o-17-charge", "cents": 599},
        "receipt": "receipt-o-17-ch-o-17-charge",
    },
    "magicmock_inventory": {"reserved": ["res-s1-1", "res-s2-2", "res-s3-3", "res-s4-4"]},
    "rates_outage": {"rate": 0.92, "cents": 920},
    "async_store": {"before": 41, "after": 42},
    "stubbed_sqs_sends": {"sent": 3, "ids": ["5fea7756-0ea4-451a-a703-a558b933e274"]},
    "stubbed_config_read": {
        "config": {"limit": 3, "tier": "gold"},
        "taken": ["gold:a", "gold:b", "gold:c"],
    },
    "env_configured": {
        "table": "orders-test",
        "written": ["orders-test:2", "orders-test:2", "orders-test:1"],
    },
    "logs_captured": {"audited": "audited-o-9", "closed": "closed-o-9"},
    # The counter is never reset (as uuid4 never repeats): its numbers vary, not its shape.
    "ids_from_patched_factory": {
        "records": [{"kind": "invoice", "id": "id-N"}, {"kind": "reminder", "id": "id-N"}]
    },
    "approval_by_mail": {"amount": 1200, "decision": {"approved": True}},
    "refund_on_out_of_stock": {
        "status": "refunded",
        "reason": "OutOfStock",
        "refund": {"refunded": "ch-o-3-charge"},
    },
}


@pytest.fixture(autouse=True)
def _stop_patches() -> Iterator[None]:
    """The corpus's ``before_run``s leave their patches running (the next one stops them):
    none outlives a test."""
    yield
    tooling.stop_patches()


def _shape(value: Any) -> str:
    return re.sub(r'"id-\d+"', '"id-N"', json.dumps(value))


def test_every_entry_has_an_expected_result() -> None:
    assert sorted(EXPECTED) == sorted(tooling.CORPUS)


@pytest.mark.parametrize("name", sorted(tooling.CORPUS))
def test_every_entry_returns_its_result_fault_free_warm_and_cold(name: str) -> None:
    for sandboxes in ((), ("cold",) * 4):
        outcome = fault_free(tooling.CORPUS[name], sandboxes).run()
        assert outcome.execution_status is ExecutionStatus.SUCCEEDED, (sandboxes, outcome.error)
        assert _shape(outcome.value) == _shape(EXPECTED[name])
        outcome.check()


def test_the_fakes_saw_what_the_test_asserts() -> None:
    # The user's own assertions on the fakes, read before check() (whose baseline runs
    # before_run again): the mail carried the callback id, the logs were captured.
    mail = fault_free(tooling.CORPUS["approval_by_mail"]).run()
    [(to, body)] = tooling.SENT_MAIL
    callback = mail.history[2]["CallbackStartedDetails"]["CallbackId"]
    assert (to, body) == ("manager@example.com", f"approve 1200: {callback}")
    fault_free(tooling.CORPUS["logs_captured"], ("cold",)).run()
    messages = [line.split(" ", 3)[3] for line in tooling.CAPTURED]
    assert messages == [
        "handling o-9",
        "auditing o-9",
        "handling o-9",  # the replay after the wait runs the top again
        "resumed o-9",
    ]
    assert all(line.startswith("2025-01-01 ") for line in tooling.CAPTURED)  # the run's clock


# --- a wrong twin is still flagged -------------------------------------------------------


def test_an_id_drawn_outside_a_step_is_flagged() -> None:
    # The patched factory gives each replay a new id, named in the next step.
    outcome = Scenario(handler=tooling_handlers.id_outside_step, before_run=tooling.count_ids).run()
    with pytest.raises(ReplayDivergence):
        outcome.check()


def test_a_user_input_the_service_refuses_is_flagged_for_what_it_is() -> None:
    # A user's input strategy drew a non-ASCII sku, which magicmock_inventory puts in a step
    # name (SDK finding 9): the service refuses the checkpoint and the SDK fails the execution,
    # with its map open or (the bad name in the map's first checkpoint) nothing open at all.
    # Flagged for the refusal either way, not for a swallowed suspension.
    for lines in (
        [{"sku": "s1", "quantity": 0}] * 2 + [{"sku": "h\u00e9llo", "quantity": 0}],
        [{"sku": "h\u00e9llo", "quantity": 0}],
    ):
        outcome = Scenario(
            handler=tooling.magicmock_inventory,
            input={"lines": lines},
            before_run=tooling.mock_inventory,
        ).run()
        assert outcome.error is not None
        assert outcome.error.type == "CheckpointError"
        with pytest.raises(CheckpointRefused, match=r"refused a checkpoint.*printable ASCII"):
            outcome.check()


@pytest.mark.parametrize("kind", ["local function", "lambda", "mock", "mock method"])
def test_a_reproducer_with_the_tests_own_before_run_is_python(kind: str) -> None:
    # A failing scenario's reproducer named a test's lambda as `before_run=<lambda>` (and
    # imported the test function a local one is defined in, by that function's name), a mock
    # by its repr, and a mock's `reset_mock` through the module name that holds the mock only
    # while the test's patch is active: the first two are not Python, the third imports the
    # real client. Each now leaves a note to pass it by hand.
    fake = mock.MagicMock(spec=services.InventoryApi)

    def reset() -> None:
        fake.reset_mock()

    before_run = {
        "local function": reset,
        "lambda": lambda: reset(),  # noqa: PLW0108 - what a test writes
        "mock": fake,
        "mock method": fake.reset_mock,
    }[kind]
    with mock.patch.object(services, "INVENTORY", fake):
        code = Scenario(handler=tooling.magicmock_inventory, before_run=before_run).to_pytest()
    compile(code, "reproducer.py", "exec")
    assert "before_run=None" in code
    assert "pass it here yourself" in code
    assert "import INVENTORY" not in code


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_TOOLING_EXAMPLES", "0"))


@pytest.mark.parametrize("name", sorted(tooling.CORPUS))
def test_no_default_fault_plan_flags_a_tooling_handler(name: str) -> None:
    strategy = scenarios(tooling.CORPUS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)


# --- the user's own clock around the run -------------------------------------------------

_PAYMENTS = tooling.CORPUS["patched_payments"]


@pytest.mark.parametrize("tick", [False, True])
def test_a_users_time_machine_travel_around_the_run_changes_nothing(tick: bool) -> None:
    # The handler sees the runner's virtual clock (2025-01-01 by default, or start_time=),
    # whatever the test's own travel; the test's travel is in force again after the run.
    expected = fault_free(tooling.CORPUS["logs_captured"], ("cold",)).run().value
    with time_machine.travel(dt.datetime(2030, 6, 1, 12, tzinfo=dt.UTC), tick=tick):
        outcome = fault_free(tooling.CORPUS["logs_captured"], ("cold",)).run()
        assert dt.datetime.now(dt.UTC).year == 2030
        tooling.capture_logs()
        with DurableFunctionTestRunner(tooling.logs_captured) as runner:
            result = runner.run({"order": "o-9"})
        assert dt.datetime.now(dt.UTC).year == 2030
    assert outcome.value == expected
    outcome.check()
    assert result.status.value == "SUCCEEDED"
    assert all(line.startswith("2025-01-01 00:00:") for line in tooling.CAPTURED)
    assert dt.datetime.now(dt.UTC).year != 2030


#: Modules freezegun must not look into when it starts: it reads every attribute of every
#: loaded module, and Powertools' parser package imports its pydantic models lazily on such
#: a read, which fails with ``datetime`` already faked (and leaves freezegun half started,
#: failing every later test of the process). Which modules are loaded when the test runs
#: depends on the tests the process ran before it.
FREEZEGUN_IGNORES = ["aws_lambda_powertools"]


def test_freezegun_around_the_run_is_refused_with_a_way_out() -> None:
    freezegun = pytest.importorskip("freezegun")
    _PAYMENTS["before_run"]()
    with (
        freezegun.freeze_time("2030-01-01", ignore=FREEZEGUN_IGNORES),
        DurableFunctionTestRunner(tooling.patched_payments) as runner,
        pytest.raises(DurableRunnerError, match=r"freezegun.*handler_clock"),
    ):
        runner.run(_PAYMENTS["input"])


def test_freezegun_with_the_real_handler_clock_freezes_the_handlers_clock() -> None:
    # The way out today: the handler then reads freezegun's frozen time, which does not
    # move across waits (the runner's own virtual clock still does).
    freezegun = pytest.importorskip("freezegun")
    tooling.capture_logs()
    with (
        freezegun.freeze_time("2030-01-01", ignore=FREEZEGUN_IGNORES),
        DurableFunctionTestRunner(tooling.logs_captured, handler_clock="real") as runner,
    ):
        result = runner.run({"order": "o-9"})
    assert result.status.value == "SUCCEEDED"
    assert all(line.startswith("2030-01-01 00:00:00") for line in tooling.CAPTURED)


# --- monkeypatch around a scenario -------------------------------------------------------


@pytest.mark.parametrize("sandboxes", [(), ("cold",) * 4])
def test_monkeypatch_setenv_around_a_scenario(
    monkeypatch: pytest.MonkeyPatch, sandboxes: tuple[str, ...]
) -> None:
    monkeypatch.setenv("TOOLING_ORDERS_TABLE", "orders-eu")
    monkeypatch.setenv("TOOLING_BATCH_LIMIT", "4")
    outcome = Scenario(
        handler=tooling.env_configured,
        input={"ids": [1, 2, 3, 4, 5]},
        timings=Timings(sandboxes=sandboxes),
    ).run()
    assert outcome.value == {"table": "orders-eu", "written": ["orders-eu:4", "orders-eu:1"]}
    outcome.check()


def test_a_dotted_patch_after_a_cold_run_reaches_the_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Runner bug (audit I): a cold sandbox's fresh copy of the handler's module stayed in
    # sys.modules after the run, so a later mock.patch/monkeypatch.setattr by dotted name
    # patched that copy, not the module of the handler the test holds: the handler called
    # the real client, and whether a test passed depended on the tests run before it.
    name = tooling_handlers.__name__
    Scenario(handler=tooling_handlers.no_client, timings=Timings(sandboxes=("cold",))).run()
    fake = mock.Mock(spec=tooling_handlers.Geocoder)
    fake.locate.side_effect = lambda address: {"lat": float(len(address)), "lon": 0.0}
    monkeypatch.setattr(f"{name}.GEOCODER", fake)
    outcome = Scenario(
        handler=tooling_handlers.geocode_then_wait, input={"from": "a", "to": "bb"}
    ).run()
    assert outcome.value == {"from": {"lat": 1.0, "lon": 0.0}, "to": {"lat": 2.0, "lon": 0.0}}
    assert sys.modules[name] is tooling_handlers
    assert sys.modules["tests.harness"].tooling_handlers is tooling_handlers


class _AlwaysCold(SandboxPolicy):
    def environment(self, execution_arn: str, invocation_index: int) -> str:
        return "cold" if invocation_index > 1 else "warm"


def test_a_runners_cold_sandbox_leaves_the_test_processs_modules_as_they_were() -> None:
    name = tooling_handlers.__name__
    with DurableFunctionTestRunner(tooling_handlers.no_client, sandbox_policy=_AlwaysCold()) as r:
        assert r.run().status.value == "SUCCEEDED"
    try:
        assert sys.modules[name] is tooling_handlers
    finally:
        sys.modules[name] = tooling_handlers
        sys.modules["tests.harness"].tooling_handlers = tooling_handlers  # type: ignore[attr-defined]


def test_a_cold_start_makes_a_client_of_the_handlers_module_anew(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The trap: a patch of a client made in the handler's own module is lost at a cold
    # start (Lambda makes the client anew there too). Patch where it is made, or keep clients
    # in a module the sandbox does not re-import (tooling_services).
    fake = mock.Mock(spec=tooling_handlers.Geocoder)
    fake.locate.return_value = {"lat": 0.0, "lon": 0.0}
    monkeypatch.setattr(tooling_handlers, "GEOCODER", fake)
    cold = Scenario(
        handler=tooling_handlers.geocode_then_wait,
        input={"from": "a", "to": "b"},
        timings=Timings(sandboxes=("cold",)),
    ).run()
    assert cold.execution_status is ExecutionStatus.FAILED
    assert cold.error is not None
    assert cold.error.message == "Geocoder.locate('b')"


# --- pytest's own tools and the plugin's fixtures ----------------------------------------


@pytest.mark.parametrize(
    ("items", "cents"),
    [([{"cents": 100, "quantity": 1}], 100), ([{"cents": 5, "quantity": 3}] * 2, 30)],
)
def test_durable_runner_fixture_with_parametrize_and_a_mock(
    durable_runner: Callable[..., DurableFunctionTestRunner], items: Any, cents: int
) -> None:
    with mock.patch.object(
        services.PaymentsApi, "charge", autospec=True, side_effect=tooling._fake_charge
    ) as charge:
        result = durable_runner(tooling.patched_payments).run({"order": "o-1", "items": items})
    assert result.status.value == "SUCCEEDED"
    charge.assert_called_once_with(services.PAYMENTS, "o-1-charge", cents)


def test_caplog_with_the_run_scenario_fixture(
    caplog: pytest.LogCaptureFixture, run_scenario: Callable[[Scenario], Outcome]
) -> None:
    caplog.set_level(logging.INFO, logger="tooling.audit")
    outcome = run_scenario(fault_free(tooling.CORPUS["logs_captured"]))
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED
    messages = [r.getMessage() for r in caplog.records if r.name == "tooling.audit"]
    assert messages == ["handling o-9", "auditing o-9", "handling o-9", "resumed o-9"]
    outcome.check()


def test_run_async_under_asyncio_run() -> None:
    async def scenario() -> list[Any]:
        tooling.mock_inventory()
        async with DurableFunctionTestRunner(tooling.magicmock_inventory) as runner:
            results = await asyncio.gather(
                runner.run_async({"lines": [{"sku": "a", "quantity": 1}]}),
                runner.run_async({"lines": [{"sku": "b", "quantity": 2}]}),
            )
        return [r.result for r in results]

    assert asyncio.run(scenario()) == ['{"reserved": ["res-a-1"]}', '{"reserved": ["res-b-2"]}']


def test_time_sleep_patched_around_the_run() -> None:
    with mock.patch("time.sleep") as sleep:
        outcome = Scenario(handler=tooling_handlers.blocking_backoff).run()
    assert outcome.value == {"tries": 3}
    assert sleep.call_args_list == [mock.call(2)] * 3
    outcome.check()


def test_patch_dict_of_the_environment_around_a_run() -> None:
    with (
        mock.patch.dict(
            os.environ, {"TOOLING_ORDERS_TABLE": "t", "TOOLING_BATCH_LIMIT": "5"}, clear=False
        ),
        DurableFunctionTestRunner(tooling.env_configured) as runner,
    ):
        result = runner.run({"ids": [1, 2]})
    assert result.result == '{"table": "t", "written": ["t:2"]}'


# --- @given with the user's own input strategies and assertions --------------------------

_LINE = st.fixed_dictionaries(
    {"cents": st.integers(min_value=1, max_value=10_000), "quantity": st.integers(1, 5)}
)
_ORDERS = st.builds(
    lambda n, items: {"order": f"o-{n}", "items": items},
    st.integers(min_value=1, max_value=999),
    st.lists(_LINE, min_size=1, max_size=3),
)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    durable_scenarios(tooling.patched_payments, inputs=_ORDERS, before_run=tooling.patch_payments)
)
def test_given_user_inputs_and_assertions(scenario: Scenario) -> None:
    outcome = scenario.run()
    event = scenario.input
    total = sum(item["cents"] * item["quantity"] for item in event["items"])
    if outcome.execution_status is ExecutionStatus.SUCCEEDED:
        assert outcome.value["charged"] == {"id": f"ch-{event['order']}-charge", "cents": total}
    outcome.check()


def _patched_around_run(*, reuse_drawing_run: bool) -> None:
    """Ten scenarios of ``patched_payments``, each run and checked inside the test's own
    ``mock.patch`` of the payments client (the real one raises ``NoNetworkInTests``)."""

    @settings(
        max_examples=10,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    @given(
        durable_scenarios(
            tooling.patched_payments,
            inputs=st.just(_PAYMENTS["input"]),
            reuse_drawing_run=reuse_drawing_run,
        )
    )
    def patched_around_run(scenario: Scenario) -> None:
        with mock.patch.object(
            services.PaymentsApi, "charge", autospec=True, side_effect=tooling._fake_charge
        ):
            outcome = scenario.run()
            if not reuse_drawing_run:
                # The patch reached the run (a fault may still fail the execution:
                # ValidationException is not retried).
                assert "NoNetworkInTests" not in str(outcome.error), outcome.error
            outcome.check()

    patched_around_run()


def test_a_patch_around_scenario_run_reaches_the_run() -> None:
    _patched_around_run(reuse_drawing_run=False)


def test_a_patch_around_a_reused_run_misses_it_and_the_failure_says_why() -> None:
    # With reuse_drawing_run=True the first run() hands back the run made while drawing,
    # outside the test's patch (the real client called), while check()'s baseline runs
    # inside it: the flag names that cause.
    with pytest.raises(FaultNotMasked, match="made while the scenario was drawn"):
        _patched_around_run(reuse_drawing_run=True)
