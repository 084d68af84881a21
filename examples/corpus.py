"""What a corpus entry is, and the scenarios it stands for.

The corpora of correct handlers (``nondeterministic.py``, ``everyday.py``, ``flows.py``,
``habits.py``, ``processes.py``, ``timekeeping.py``, ``payloads.py``, ``chains.py``,
``chains.TARGETS``, the functions the chains invoke, ``blocking.py``, ``structures.py``,
``errors.py``, ``races.py``, ``lambda_runtime.py``, ``tooling.py``, ``scale.py``,
``serdes_extensions.py``, ``sandbox_lifecycle.py``, ``asyncio_ecosystem.py``,
``data_stores.py``, ``powertools.py``, ``batches.py``, ``aws_clients.py``,
``http_clients.py``, ``resilience.py``, ``agents.py``, ``observability.py``,
``credentials.py``, ``dataframes.py`` and ``orm.py``) are
dictionaries of entries of one shape: ``handler``, and optionally ``input`` (the execution input),
``callbacks`` (name -> the payload every callback of that name is answered with, in the
invoked functions too), ``functions`` (chained-invoke targets), ``execution_timeout``
(seconds; the runner's default is one day) and ``before_run`` (resets the fakes of the
services the handler talks to). The tests and the campaigns in ``benchmarks/`` draw their
scenarios through :func:`scenarios`, and the tests judge them with :func:`check_every`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from async_durable_execution_runner import ExecutionStatus
from async_durable_execution_runner.scenarios import Scenario, Timings
from async_durable_execution_runner.strategies import durable_scenarios


def scenarios(
    spec: dict[str, Any],
    *,
    faults: st.SearchStrategy[Any] | None = None,
    strict_replay: bool = False,
) -> st.SearchStrategy[Scenario]:
    """``durable_scenarios`` for the entry ``spec``; ``faults`` and ``strict_replay`` as
    ``durable_scenarios`` takes them (``None``: every kind)."""
    return durable_scenarios(
        spec["handler"],
        inputs=st.just(spec["input"]) if "input" in spec else None,
        faults=faults,
        callbacks={k: st.just(v) for k, v in spec.get("callbacks", {}).items()},
        functions=spec.get("functions"),
        before_run=spec.get("before_run"),
        strict_replay=strict_replay,
        # The campaigns set nothing up around ``run()`` (their fakes reset in ``before_run``).
        reuse_drawing_run=True,
        **({"execution_timeout": spec["execution_timeout"]} if "execution_timeout" in spec else {}),
    )


def fault_free(spec: dict[str, Any], sandboxes: tuple[str, ...] = ()) -> Scenario:
    """The entry ``spec`` as one scenario without faults, its invocations after the first in
    ``sandboxes`` (``"cold"`` or ``"warm"``); each callback answered with its payload."""
    return Scenario(
        handler=spec["handler"],
        input=spec.get("input"),
        timings=Timings(sandboxes=sandboxes),
        callback_payloads={k: (v,) for k, v in spec.get("callbacks", {}).items()},
        functions=spec.get("functions", {}),
        before_run=spec.get("before_run"),
        **({"execution_timeout": spec["execution_timeout"]} if "execution_timeout" in spec else {}),
    )


def returns_fault_free_warm_and_cold(
    spec: dict[str, Any],
    expected: Any,
    same: Callable[[Any, Any], bool] | None = None,
) -> None:
    """The entry ``spec``, fault-free, with every re-invocation warm and then every one cold:
    it succeeds, returns ``expected`` (as ``same(expected, value)`` says, else ``==``) and no
    oracle flags it. The first test of every corpus."""
    for sandboxes in ((), ("cold",) * 8):
        outcome = fault_free(spec, sandboxes).run()
        assert outcome.execution_status is ExecutionStatus.SUCCEEDED, (sandboxes, outcome.error)
        if same is None:
            assert outcome.value == expected, (sandboxes, outcome.value, expected)
        else:
            assert same(expected, outcome.value), (sandboxes, outcome.value)
        outcome.check()


def check_every(strategy: st.SearchStrategy[Scenario], *, examples: int, derandomize: bool) -> None:
    """Run ``examples`` scenarios of ``strategy`` and ``check()`` each: a correct handler's
    campaign, so any flag fails (shrunk). ``derandomize`` for the suite's fixed sequence."""

    @settings(
        max_examples=examples,
        database=None,
        derandomize=derandomize,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink],
    )
    @given(strategy)
    def run(scenario: Scenario) -> None:
        scenario.run().check()

    run()


def step_events(outcome: Any, name: str) -> list[str]:
    """The types of the step events of the operation named ``name`` in ``outcome``'s history,
    in order (``StepStarted``, ``StepFailed``, ...): how its attempts went."""
    return [
        event["EventType"]
        for event in outcome.history
        if event.get("Name") == name and event["EventType"].startswith("Step")
    ]
