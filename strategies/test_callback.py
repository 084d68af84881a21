"""Property: a callback resolves to exactly what the outside world answered, in time, or
raises ``CallbackError`` saying why, under every fault plan and answer delay.

The handler (``durable_primitives.callback_handler``) creates a callback with
``create_callback`` ("payment", the first callback created) and then one with
``wait_for_callback`` ("approval", the second), both with the same timeout, and reports each
one's payload or error. The scenario answers each callback ``callback_delays`` seconds after
it is created: with the payload drawn from ``callbacks[name]``, or with a failure, a timeout
or a heartbeat timeout when the fault plan says so for that ordinal. So, per callback: an
answer later than the timeout means it timed out; otherwise a planned fault means that
fault's error; otherwise the handler got exactly the drawn payload. Crashes and the other
masked faults change none of this.

To adapt: name your callbacks in ``callbacks={...}`` with strategies of the payloads your
handler expects, and map each callback to its ordinal (the order they are created in).
"""

from __future__ import annotations

from typing import Any

from async_durable_execution import InvocationStatus
from durable_primitives import callback_handler
from fault_effects import failed_by_service_error
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from async_durable_execution_runner.scenarios import Scenario
from async_durable_execution_runner.strategies import (
    durable_scenarios,
    fault_plans,
    scenario_settings,
)

# ``run_scenario`` is function-scoped, but it only keeps the last outcome for the failure
# report, so sharing it across Hypothesis's examples is deliberate.
SHARED_FIXTURE = scenario_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

#: Callback names, in the order the handler creates them (the fault plan's ordinals).
ORDER = ("payment", "approval")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)
# Timeouts far from every answer delay the timings draw (0, 1, 30 or 3600 s), so that
# "answered in time" does not hinge on which of two near-equal deadlines goes first.
EVENTS = st.fixed_dictionaries({"timeout": st.sampled_from([10, 7200])})
FAULTS = fault_plans(
    kinds={
        "crash",
        "invocation_lost",
        "checkpoint_error",
        "lost_response",
        "duplicate_invocation",
        "callback_failure",
        "callback_timeout",
        "heartbeat_timeout",
    },
    max_faults=3,
    max_ordinal=2,
)


def expected(scenario: Scenario, ordinal: int, name: str) -> dict[str, Any]:
    """What the handler reports for the ``ordinal``-th callback: ``{"ok": payload}``, or
    ``{"error": <a substring of its message>}``."""
    delays = scenario.timings.callback_delays
    delay = delays[(ordinal - 1) % len(delays)] if delays else 0.0
    if delay > scenario.input["timeout"]:
        return {"error": "callback timed out"}
    fault = next(
        (
            f
            for f in scenario.faults
            if f.kind.startswith(("callback", "heartbeat")) and f.callback == ordinal
        ),
        None,
    )
    if fault is None:
        return {"ok": scenario.callback_payload(name, 0)}
    return {
        "callback_failure": {"error": "injected by callback_failure"},
        "callback_timeout": {"error": "callback timed out"},
        "heartbeat_timeout": {"error": "callback heartbeat timed out"},
    }[fault.kind]


@SHARED_FIXTURE
@given(
    scenario=durable_scenarios(
        callback_handler,
        inputs=EVENTS,
        faults=FAULTS,
        callbacks={"payment": JSON, "approval": st.fixed_dictionaries({"approved": st.booleans()})},
    )
)
def test_callbacks_resolve_to_the_answer_or_say_why_not(run_scenario, scenario):
    outcome = run_scenario(scenario)
    outcome.check()
    if failed_by_service_error(outcome):
        return
    assert outcome.status is InvocationStatus.SUCCEEDED, outcome.report()
    for ordinal, name in enumerate(ORDER, start=1):
        want, got = expected(scenario, ordinal, name), outcome.value[name]
        if "ok" in want:
            assert got == want, f"{name}: {got!r}, expected {want!r}"
        else:
            assert "error" in got, f"{name}: {got!r}, expected an error with {want['error']!r}"
            assert got["error"].startswith(want["error"]), f"{name}: {got['error']!r}"
