"""How often a retry budget exhausted by a burst is found, and what it shrinks to.

    python benchmarks/burst_search.py [--seeds 10] [--examples 200]

For each seed, a Hypothesis search over ``durable_scenarios(examples/buggy/
retry_budget_burst.buggy, faults=fault_plans(kinds={"step_exception"}))`` looks for an
execution that does not succeed (a step whose budget is three attempts, exhausted by three
consecutive failures), within ``--examples`` examples. It reports, per seed, whether it was
found, after how many examples, and the plan it shrank to. Only public API is used, so the
same script measures an older checkout too.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]


def search(seed: int, examples: int) -> tuple[int | None, Any, float]:
    from async_durable_execution import InvocationStatus
    from buggy import retry_budget_burst

    from async_durable_execution_runner.strategies import durable_scenarios, fault_plans

    tried = 0
    first: int | None = None

    def fails(scenario: Any) -> bool:
        nonlocal tried, first
        failed = scenario.run().status is not InvocationStatus.SUCCEEDED
        if first is None:
            tried += 1
            if failed:
                first = tried
        return failed

    start = time.perf_counter()
    try:
        minimal = find(
            durable_scenarios(
                retry_budget_burst.buggy,
                inputs=st.just({"id": "order-1"}),
                faults=fault_plans(kinds={"step_exception"}),
                before_run=retry_budget_burst.reset,
            ),
            fails,
            settings=settings(
                max_examples=examples,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.generate, Phase.shrink],
            ),
            random=random.Random(seed),
        )
    except NoSuchExample:
        return None, None, time.perf_counter() - start
    return first, minimal.faults, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--examples", type=int, default=200)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    rows = []
    found = 0
    for seed in range(args.seeds):
        first, faults, seconds = search(seed, args.examples)
        found += first is not None
        where = f"example {first}" if first is not None else "not found"
        rows.append(f"| {seed} | {where} | `{faults!r}` | {seconds:.1f} |")
    print(f"found in {found} of {args.seeds} seeds within {args.examples} examples\n")
    print("| seed | first failing example | shrunk plan | seconds |")
    print("|---:|---|---|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
