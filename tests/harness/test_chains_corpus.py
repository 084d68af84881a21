"""The session-19 false-flag audit D: correct handlers built on chained invokes
(``examples/chains.py``: an orchestrator passing results through three invoked functions,
fan-outs of invokes in ``map`` and ``parallel``, a failed invoke compensated by another, a
chain three deep, an invoked function outliving its execution time-out, a 120 KB payload,
invokes in child contexts and ``@durable_callable``s, one function under two names,
recursion on the function's own ARN, an invoke racing a wait) are flagged by no oracle, and
the harness's world reaches the invoked functions as it reaches the root.

The corpus runs a few examples per handler here; ``DURABLE_CHAINS_EXAMPLES=300`` runs the
campaign (or ``benchmarks/same_world.py --corpus chains --plans all``, which also counts the
faults that landed). The invoked functions are judged as scenarios' own handlers too
(``chains.TARGETS``, ``--corpus chains-targets``): only there do crashes, lost invocations,
checkpoint errors and step exceptions reach them.
"""

from __future__ import annotations

import json
import os

import chains
import pytest
from corpus import check_every, scenarios
from tests.harness import chain_handlers

from async_durable_execution_runner import ExecutionStatus
from async_durable_execution_runner.oracles import FaultNotMasked
from async_durable_execution_runner.scenarios import Scenario, crash, invocation_lost
from async_durable_execution_runner.strategies import fault_plans

# --- the harness's world reaches invoked functions ----------------------------------------


def test_a_callback_in_an_invoked_function_gets_the_payload_named_for_it() -> None:
    # The supplier (two invokes down) waits for "restock-confirm"; the scenario answers that
    # name with {"ok": true}. Operation ids are positional, so the supplier's
    # wait_for_callback context has the id of the warehouse's invoke "ask-supplier": the
    # callback driver, which found a callback's name through its parent's id alone, took
    # the warehouse's name and answered null.
    spec = chains.CORPUS["restock_three_deep"]
    outcome = Scenario(
        handler=spec["handler"],
        functions=spec["functions"],
        callback_payloads={"restock-confirm": ({"ok": True},)},
        before_run=spec["before_run"],
    ).run()
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED, outcome.error
    result = json.loads(outcome.result.result or "null")
    assert result["restock"]["confirmed"] == {"ok": True}, result


# --- a race of two things due at one instant, decided with a result in hand ----------------


def test_an_invoke_racing_a_wait_may_be_decided_otherwise_after_a_crash() -> None:
    # The partner's function waits 30 s; the handler's deadline is 30 s. Without faults the
    # deadline's invocation runs first and wins, leaving the invoke open. Invocation 2 (the
    # deadline's) crashes: the service re-invokes behind the partner's own invocation, which
    # was due at the same instant, so the re-invocation sees both ended and the partner wins.
    # The fault-tolerance oracle called that FaultNotMasked; it is a race of the handler's
    # design, which the same world without faults decides the same way when the root is
    # woken last among what is due at that instant.
    outcome = Scenario(
        handler=chains.check_or_deadline,
        faults=(crash(invocation=2, call=1),),
        functions={"partner": chains.partner_check},
    ).run()
    assert outcome.faults_applied == (crash(invocation=2, call=1),)
    baseline = outcome.baseline()
    assert baseline is not None
    assert json.loads(outcome.result_json or "null")["decided"]["by"] == "partner"
    assert json.loads(baseline.result_json or "null")["decided"]["by"] == "deadline"
    outcome.check()


@pytest.mark.parametrize("fault", [invocation_lost(invocation=1), crash(invocation=2, call=1)])
def test_a_race_that_counts_its_invocations_is_still_flagged(fault: object) -> None:
    # The same race, reporting how many invocations its module state counted: a lost
    # invocation adds one to the sandbox's count, and a crash of the second starts the
    # count over in a new sandbox, neither of which any order of the fault-free run
    # reproduces.
    outcome = Scenario(
        handler=chain_handlers.race_counting_invocations,
        faults=(fault,),  # type: ignore[arg-type]
        functions={"partner": chains.partner_check},
        before_run=chain_handlers.INVOCATIONS.clear,
    ).run()
    with pytest.raises(FaultNotMasked, match="ran"):
        outcome.check()


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_CHAINS_EXAMPLES", "0"))


@pytest.mark.parametrize("name", sorted(chains.CORPUS))
def test_no_default_fault_plan_flags_a_chain_handler(name: str) -> None:
    strategy = scenarios(chains.CORPUS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)


# --- the invoked functions, each as a scenario's own handler ----------------------------


def _invoked_functions() -> set[str]:
    return {
        function.__name__
        for spec in chains.CORPUS.values()
        for function in spec.get("functions", {}).values()
    }


def test_every_invoked_function_is_a_target() -> None:
    # Checkpoint, invocation and step faults reach a scenario's root execution only: an
    # invoked function without a TARGETS entry would meet none of them.
    assert set(chains.TARGETS) == _invoked_functions(), (
        "expected one chains.TARGETS entry per function a CORPUS entry invokes; "
        f"missing {sorted(_invoked_functions() - set(chains.TARGETS))}, "
        f"not invoked {sorted(set(chains.TARGETS) - _invoked_functions())}: "
        "add or drop the entry, keyed by the function's name"
    )
    for name, spec in chains.TARGETS.items():
        assert spec["handler"].__name__ == name, f"TARGETS[{name!r}] runs {spec['handler']}"


@pytest.mark.parametrize("name", sorted(chains.TARGETS))
def test_no_default_fault_plan_flags_an_invoked_function(name: str) -> None:
    strategy = scenarios(chains.TARGETS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)
