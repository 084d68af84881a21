"""Property: a ``wait`` never ends early, and ends exactly once, under every fault plan and
every delivery order of timers due together.

The handler (``durable_primitives.wait_handler``) reads the clock in a step, waits (one
after another, or all at once with ``asyncio.gather``), and reads the clock again. Whatever
the faults, the second reading is at least the total wait (the longest one, if concurrent)
after the first. (The handler returns whether it was, not the time itself: when the service
re-invokes moves with the faults, so an exact duration is no fault-free invariant.) In the
history each wait starts once with its duration and a scheduled end ``duration`` seconds
after its start, and succeeds once, no earlier than that end. Sequential waits start only
after the previous one ended. The virtual clock makes an hour's wait take
microseconds.

To adapt: keep the clock readings inside steps (a reading outside a step runs again on
every replay, and the nondeterminism oracle flags it), and replace ``WAITS`` with the
durations your workflow uses.
"""

from __future__ import annotations

import datetime as dt
import json

from async_durable_execution import InvocationStatus
from durable_primitives import wait_handler
from fault_effects import failed_by_service_error
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from async_durable_execution_runner.scenarios import Outcome
from async_durable_execution_runner.strategies import (
    durable_scenarios,
    fault_plans,
    scenario_settings,
)

# ``run_scenario`` is function-scoped, but it only keeps the last outcome for the failure
# report, so sharing it across Hypothesis's examples is deliberate.
SHARED_FIXTURE = scenario_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

WAITS = st.lists(st.sampled_from([1, 5, 60, 3600]), min_size=1, max_size=3)
EVENTS = st.fixed_dictionaries({"waits": WAITS, "concurrent": st.booleans()})
FAULTS = fault_plans(
    kinds={"crash", "invocation_lost", "checkpoint_error", "lost_response", "duplicate_invocation"},
    max_faults=3,
)


def wait_events(outcome: Outcome, name: str) -> tuple[dict, dict]:
    started = [e for e in outcome.history if e["EventType"] == "WaitStarted" and e["Name"] == name]
    ended = [e for e in outcome.history if e["EventType"] == "WaitSucceeded" and e["Name"] == name]
    assert len(started) == 1, f"{name} started {len(started)} times"
    assert len(ended) == 1, f"{name} succeeded {len(ended)} times"
    return started[0], ended[0]


@SHARED_FIXTURE
@given(scenario=durable_scenarios(wait_handler, inputs=EVENTS, faults=FAULTS))
def test_waits_never_end_early(run_scenario, scenario):
    outcome = run_scenario(scenario)
    outcome.check()
    if failed_by_service_error(outcome):
        return
    assert outcome.status is InvocationStatus.SUCCEEDED, outcome.report()
    waits = scenario.input["waits"]
    assert outcome.value == {"on_time": True}
    before = json.loads(outcome.result.get_step("before").result)
    after = json.loads(outcome.result.get_step("after").result)
    assert after - before >= (max(waits) if scenario.input["concurrent"] else sum(waits))

    previous_end: dt.datetime | None = None
    for i, seconds in enumerate(waits):
        started, ended = wait_events(outcome, f"wait-{i}")
        details = started["WaitStartedDetails"]
        assert details["Duration"] == seconds
        assert details["ScheduledEndTimestamp"] == started["EventTimestamp"] + dt.timedelta(
            seconds=seconds
        )
        assert ended["EventTimestamp"] >= details["ScheduledEndTimestamp"], "ended early"
        if not scenario.input["concurrent"] and previous_end is not None:
            assert started["EventTimestamp"] >= previous_end, "a sequential wait overlapped"
        previous_end = ended["EventTimestamp"]
