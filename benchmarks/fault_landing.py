"""How many drawn faults land, and how many examples exercise a fault, on default campaigns.

    python benchmarks/fault_landing.py [--examples 200] [--seed 0] [--markdown FILE]
                                       [--corpus everyday]

For each campaign (the seed workflow, the order workflow, a three-step handler) it draws
``--examples`` scenarios from ``durable_scenarios(handler)`` with the default fault plans
and timings, runs each, and counts:

- *applied*: faults in ``outcome.faults_applied`` over faults in ``scenario.faults`` (the
  drawn plan);
- *exercised*: examples with at least one applied fault, over all examples.

``--corpus everyday`` measures the handlers of ``examples/everyday.py`` (the session-15
audit's corpus) instead, one campaign each.

Only public API is used, so the same script measures an older checkout too
(``PYTHONPATH=/path/to/old/src python benchmarks/fault_landing.py``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from async_durable_execution import durable_callable, durable_execution, step
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]


@durable_callable
async def add(value: int, amount: int) -> int:
    return value + amount


@durable_execution
async def three_steps(event: Any) -> int:
    """Three steps in a row: the smallest handler whose faults can land in several places."""
    one = await step(add(0, 1), name="one")
    two = await step(add(one, 2), name="two")
    return await step(add(two, 3), name="three")


@dataclass
class Tally:
    examples: int = 0
    drawn: int = 0
    applied: int = 0
    exercised: int = 0
    seconds: float = 0.0

    def row(self, name: str) -> str:
        applied = self.applied / self.drawn if self.drawn else 1.0
        exercised = self.exercised / self.examples if self.examples else 0.0
        return (
            f"| {name} | {self.examples} | {self.drawn} | {self.applied} | {applied:.0%} "
            f"| {self.exercised} | {exercised:.0%} | {self.seconds:.1f} |"
        )


def campaign(strategy: st.SearchStrategy[Any], examples: int, seed: int) -> Tally:
    tally = Tally()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def property_test(scenario: Any) -> None:
        # A fresh copy of the drawn scenario: the plan replays as a reproducer would.
        outcome = scenario.with_faults(scenario.faults).run()
        tally.examples += 1
        tally.drawn += len(scenario.faults)
        tally.applied += len(outcome.faults_applied)
        tally.exercised += bool(outcome.faults_applied)

    start = time.perf_counter()
    settings_seed = __import__("hypothesis").seed(seed)
    settings_seed(property_test)()
    tally.seconds = time.perf_counter() - start
    return tally


def campaigns() -> dict[str, Callable[[], st.SearchStrategy[Any]]]:
    from orders import order_workflow, pricing_handler
    from seed import function_under_test

    from async_durable_execution_runner.strategies import durable_scenarios
    from benchmarks.fault_landing import three_steps as importable_three_steps

    return {
        "seed workflow": lambda: durable_scenarios(function_under_test),
        "order workflow": lambda: durable_scenarios(
            order_workflow,
            inputs=st.just({"id": 7, "quantity": 2}),
            callbacks={"approval": st.just({"approved": True})},
            functions={"pricing": pricing_handler},
        ),
        "three steps": lambda: durable_scenarios(importable_three_steps),
    }


def corpus_campaigns() -> dict[str, Callable[[], st.SearchStrategy[Any]]]:
    import everyday
    from corpus import scenarios

    def make(spec: dict[str, Any]) -> Callable[[], st.SearchStrategy[Any]]:
        return lambda: scenarios(spec)

    return {name: make(spec) for name, spec in sorted(everyday.CORPUS.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", help="also append the table to this file")
    parser.add_argument("--corpus", choices=("everyday",), help="measure a corpus instead")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    total = Tally()
    rows = []
    chosen = corpus_campaigns() if args.corpus else campaigns()
    for name, make in chosen.items():
        tally = campaign(make(), args.examples, args.seed)
        rows.append(tally.row(name))
        for attribute in ("examples", "drawn", "applied", "exercised", "seconds"):
            setattr(total, attribute, getattr(total, attribute) + getattr(tally, attribute))
    rows.append(total.row("all"))
    table = "\n".join(
        [
            "| campaign | examples | faults drawn | applied | applied % "
            "| examples with a fault | exercised % | seconds |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )
    print(table)
    if args.markdown:
        with Path(args.markdown).open("a") as out:
            out.write(table + "\n")


if __name__ == "__main__":
    main()
