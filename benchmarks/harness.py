"""Scenarios per second under ``durable_scenarios()`` next to plain runner executions per second.

    python benchmarks/harness.py [--seconds 5]

Both are measured on the seed workflow in the same run and reported as a ratio. A scenario
is one Hypothesis example: draw a fault plan and timings, run the execution under them, and
run every built-in oracle (including the fault-tolerance oracle's fault-free baseline run
when the plan's faults are masked ones).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]

from seed import function_under_test  # noqa: E402

from async_durable_execution_runner import DurableFunctionTestRunner  # noqa: E402
from async_durable_execution_runner.strategies import durable_scenarios  # noqa: E402


def plain_runs_per_second(seconds: float) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        with DurableFunctionTestRunner(function_under_test) as runner:
            runner.run(input="input str", timeout=10)
        count += 1
    return count / (time.perf_counter() - start)


def scenarios_per_second(seconds: float, *, faults: bool = True) -> tuple[float, int]:
    count = 0
    options = (
        {}
        if faults
        else {
            "faults": __import__(
                "async_durable_execution_runner.strategies", fromlist=["fault_plans"]
            ).fault_plans(max_faults=0)
        }
    )

    @settings(
        max_examples=1_000_000,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(durable_scenarios(function_under_test, **options))
    def property_test(scenario: object) -> None:
        nonlocal count
        outcome = scenario.run()  # type: ignore[attr-defined]
        outcome.check()
        count += 1
        if time.perf_counter() - start > seconds:
            raise _Done

    start = time.perf_counter()
    with contextlib.suppress(_Done):
        property_test()
    return count / (time.perf_counter() - start), count


class _Done(Exception):
    pass


def breakdown(examples: int) -> list[tuple[str, float]]:
    """CPU milliseconds per default example, by part, on the seed workflow: the campaign as
    a whole, then the same (derandomized) scenarios again, part by part. CPU time of every
    thread of the process, so that other processes on a shared machine weigh less."""
    from async_durable_execution_runner.scenarios import Scenario, Timings

    cpu = time.process_time
    scenarios: list[Scenario] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(durable_scenarios(function_under_test))
    def property_test(scenario: Scenario) -> None:
        scenario.run().check()
        scenarios.append(scenario)

    start = cpu()
    for _ in range(examples):
        with DurableFunctionTestRunner(function_under_test) as runner:
            runner.run(input="input str", timeout=10)
    plain = cpu() - start
    start = cpu()
    property_test()
    campaign = cpu() - start
    # Baselines are remembered across examples: forget them to run each again.
    sys.modules[Scenario.__module__]._BASELINES.clear()  # type: ignore[attr-defined]
    start = cpu()
    outcomes = [scenario.run() for scenario in scenarios]
    runs = cpu() - start
    start = cpu()
    with_baseline = sum(1 for outcome in outcomes if outcome.baseline() is not None)
    baselines = cpu() - start
    start = cpu()
    for outcome in outcomes:
        outcome.check()
    oracles = cpu() - start
    # The same runs with default timings, then without faults either: what the timing
    # choices cost, and what the harness's own seams (recorder, detectors, hooks) cost.
    start = cpu()
    for scenario in scenarios:
        dataclasses.replace(scenario, timings=Timings()).run()
    default_timings = cpu() - start
    start = cpu()
    for scenario in scenarios:
        dataclasses.replace(scenario, timings=Timings(), faults=()).run()
    bare = cpu() - start
    n = len(scenarios)
    invocations = sum(len(outcome.invocations) for outcome in outcomes) / n
    rest = campaign - runs - baselines - oracles
    return [
        ("plain runner execution (2 invocations)", 1000 * plain / examples),
        ("a default example, all in", 1000 * campaign / n),
        (f"its run, replayed ({invocations:.2f} invocations on average)", 1000 * runs / n),
        (f"its baseline ({with_baseline} of {n} examples need one)", 1000 * baselines / n),
        ("every oracle but the baseline's run", 1000 * oracles / n),
        ("the rest: Hypothesis drawing and placing faults", 1000 * rest / n),
        ("its run again, default timings", 1000 * default_timings / n),
        ("its run again, default timings and no faults", 1000 * bare / n),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--markdown", help="also write the table, with context, to this file")
    parser.add_argument(
        "--breakdown",
        type=int,
        metavar="N",
        help="instead, where a default example's CPU goes, over N derandomized examples",
    )
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    if args.breakdown:
        plain_runs_per_second(0.5)
        print("| part (seed workflow, CPU per example) | ms |")
        print("|---|---:|")
        for label, ms in breakdown(args.breakdown):
            print(f"| {label} | {ms:.2f} |")
        return
    plain_runs_per_second(0.5)  # warm up imports and worker threads
    plain = plain_runs_per_second(args.seconds)
    with_faults, n1 = scenarios_per_second(args.seconds)
    without, n2 = scenarios_per_second(args.seconds, faults=False)
    label = f"scenarios, default fault plans ({n1} examples)"
    table = "\n".join(
        [
            "| measure (seed workflow) | per second | ratio to plain runs |",
            "|---|---:|---:|",
            f"| plain runner executions | {plain:.1f} | 1.00 |",
            f"| {label} | {with_faults:.1f} | {with_faults / plain:.2f} |",
            f"| scenarios, no faults ({n2} examples) | {without:.1f} | {without / plain:.2f} |",
        ]
    )
    print(table)
    if args.markdown:
        import datetime as dt
        import platform

        # Later sections of the file (fault landing, bursts) belong to other scripts: keep them.
        target = Path(args.markdown)
        previous = target.read_text() if target.exists() else ""
        rest = previous[previous.find("\n## ") :] if "\n## " in previous else ""
        target.write_text(
            "# Harness throughput\n\n"
            "Scenarios per second under `durable_scenarios()` on the seed workflow, next to plain\n"
            "runner executions per second measured in the same run "
            f"(`python benchmarks/harness.py --seconds {args.seconds:g}`).\n"
            "A scenario draws a fault plan and timings, runs the execution under them and runs\n"
            "every oracle; with masked faults the fault-tolerance oracle also needs the\n"
            "fault-free run of the same scenario (remembered across examples), and faults add\n"
            "invocations (a crash means one more).\n\n"
            f"{table}\n\n"
            f"Measured {dt.date.today().isoformat()} on {platform.platform()}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}.\n" + rest
        )


if __name__ == "__main__":
    main()
