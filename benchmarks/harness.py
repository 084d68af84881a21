"""Scenarios per second under ``durable_scenarios()`` next to plain runner executions per second.

    python benchmarks/harness.py [--seconds 5]
    python benchmarks/harness.py --breakdown 200   # where a default example's CPU goes

Both are measured on the seed workflow in the same run and reported as a ratio, by the wall
clock and by the process's CPU time (steadier on a shared machine). A scenario
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
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]

from seed import function_under_test  # noqa: E402

from async_durable_execution_runner import DurableFunctionTestRunner  # noqa: E402
from async_durable_execution_runner.strategies import durable_scenarios  # noqa: E402


@dataclasses.dataclass
class Rate:
    """How many a second, by the wall clock and by the process's CPU time (every thread):
    on a machine shared with other work the CPU rate moves much less."""

    count: int
    wall: float
    cpu: float

    @property
    def per_second(self) -> float:
        return self.count / self.wall

    @property
    def per_cpu_second(self) -> float:
        return self.count / self.cpu


def plain_runs_per_second(seconds: float) -> Rate:
    count, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        with DurableFunctionTestRunner(function_under_test) as runner:
            runner.run(input="input str", timeout=10)
        count += 1
    return Rate(count, time.perf_counter() - start, time.process_time() - cpu_start)


def scenarios_per_second(
    seconds: float, *, faults: bool = True, reuse_drawing_run: bool = False
) -> Rate:
    count = 0
    options: dict[str, Any] = (
        {}
        if faults
        else {
            "faults": __import__(
                "async_durable_execution_runner.strategies", fromlist=["fault_plans"]
            ).fault_plans(max_faults=0)
        }
    )
    options["reuse_drawing_run"] = reuse_drawing_run

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

    start, cpu_start = time.perf_counter(), time.process_time()
    with contextlib.suppress(_Done):
        property_test()
    return Rate(count, time.perf_counter() - start, time.process_time() - cpu_start)


class _Done(Exception):
    pass


def breakdown(examples: int) -> list[tuple[str, float]]:
    """CPU milliseconds per default example, by part, on the seed workflow, measured inside
    one campaign of ``examples`` derandomized examples (CPU time of every thread of the
    process, so that other processes on a shared machine weigh less); then the same
    scenarios run again with default timings, and without faults either."""
    from async_durable_execution_runner._harness.oracles import builtin as oracles
    from async_durable_execution_runner._harness.scenario import strategies as scenario_strategies
    from async_durable_execution_runner.scenarios import Scenario, Timings

    cpu = time.process_time
    spent: dict[str, float] = {}
    scenarios: list[Scenario] = []
    invocations: list[int] = []

    def timed(part: str, fn: Any) -> Any:
        def measured(*args: Any, **kwargs: Any) -> Any:
            begin = cpu()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[part] = spent.get(part, 0.0) + cpu() - begin

        return measured

    # The parts are measured where they run (the public facades import these names, so
    # they are wrapped where they are looked up at run time).
    saved = (scenario_strategies.with_plan, Scenario.baseline, dict(oracles.ORACLES))
    scenario_strategies.with_plan = timed("placing", scenario_strategies.with_plan)
    Scenario.baseline = timed("baseline", Scenario.baseline)  # type: ignore[method-assign]
    for name, check in list(oracles.ORACLES.items()):
        oracles.ORACLES[name] = timed(f"oracle {name}", check)

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
        # The test's own run: by default the plan again, in the world the body set up
        # (``reuse_drawing_run=True`` hands back the run that placed it instead).
        begin = cpu()
        outcome = scenario.run()
        spent["test run"] = spent.get("test run", 0.0) + cpu() - begin
        outcome.check()
        scenarios.append(scenario)
        invocations.append(len(outcome.invocations))
        # The same run again, then with default timings, then without faults either: what
        # placing costs, what the timing choices cost, and what the faults cost. Run here,
        # next to the example, since runs measured in a loop after the campaign come out
        # cheaper than the same runs amid Hypothesis's work; not counted in the example.
        for part, again in (
            ("again", dataclasses.replace(scenario)),
            ("default timings", dataclasses.replace(scenario, timings=Timings())),
            ("no faults", dataclasses.replace(scenario, timings=Timings(), faults=())),
        ):
            begin = cpu()
            again.run()
            spent[part] = spent.get(part, 0.0) + cpu() - begin

    for _ in range(20):  # warm up
        with DurableFunctionTestRunner(function_under_test) as runner:
            runner.run(input="input str", timeout=10)
    start = cpu()
    for _ in range(examples):
        with DurableFunctionTestRunner(function_under_test) as runner:
            runner.run(input="input str", timeout=10)
    plain = cpu() - start
    # Every cache a campaign fills (schema verdicts, baselines) starts empty, as in a test run.
    oracles._VERDICTS.clear()
    sys.modules[Scenario.__module__]._BASELINES.clear()  # type: ignore[attr-defined]
    try:
        start = cpu()
        property_test()
        campaign = cpu() - start
    finally:
        scenario_strategies.with_plan, Scenario.baseline = saved[0], saved[1]  # type: ignore[method-assign]
        oracles.ORACLES.clear()
        oracles.ORACLES.update(saved[2])
    n = len(scenarios)
    baselines = spent.get("baseline", 0.0)
    every_oracle = sum(v for k, v in spent.items() if k.startswith("oracle "))
    schema = spent.get("oracle schema", 0.0)
    # The fault-tolerance oracle runs the baselines: the oracles' own work is the rest.
    others = every_oracle - schema - baselines
    placing = spent.get("placing", 0.0)
    needing = sum(1 for s in scenarios if any(f.masked for f in s.faults))
    extra = spent.get("again", 0.0) + spent.get("default timings", 0.0) + spent["no faults"]
    campaign -= extra
    test_runs = spent.get("test run", 0.0)
    rest = campaign - placing - test_runs - every_oracle
    return [
        ("plain runner execution (2 invocations)", 1000 * plain / examples),
        ("a default example, all in", 1000 * campaign / n),
        (
            f"its run, which places its faults ({sum(invocations) / n:.2f} invocations on average)",
            1000 * placing / n,
        ),
        (
            "the test's run, `scenario.run()` (its plan replayed in the world the test set up)",
            1000 * test_runs / n,
        ),
        (f"its baseline ({needing} of {n} examples have masked faults)", 1000 * baselines / n),
        ("the schema oracle", 1000 * schema / n),
        ("every other oracle", 1000 * others / n),
        ("the rest: Hypothesis (engine, timings and input draws)", 1000 * rest / n),
        ("its run again, replayed from its plan", 1000 * spent["again"] / n),
        ("its run again, default timings", 1000 * spent["default timings"] / n),
        ("its run again, default timings and no faults", 1000 * spent["no faults"] / n),
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
    with_faults = scenarios_per_second(args.seconds)
    reused = scenarios_per_second(args.seconds, reuse_drawing_run=True)
    without = scenarios_per_second(args.seconds, faults=False)

    def row(label: str, rate: Rate) -> str:
        return (
            f"| {label} | {rate.per_second:.1f} | {rate.per_second / plain.per_second:.2f} "
            f"| {rate.per_cpu_second:.1f} | {rate.per_cpu_second / plain.per_cpu_second:.2f} |"
        )

    table = "\n".join(
        [
            "| measure (seed workflow) | per second | ratio to plain runs "
            "| per CPU second | ratio to plain runs (CPU) |",
            "|---|---:|---:|---:|---:|",
            row("plain runner executions", plain),
            row(f"scenarios, default fault plans ({with_faults.count} examples)", with_faults),
            row(
                f"scenarios, default fault plans, reuse_drawing_run=True ({reused.count} examples)",
                reused,
            ),
            row(f"scenarios, no faults ({without.count} examples)", without),
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
            "invocations (a crash means one more). Placing the faults runs the scenario once\n"
            "while it is drawn; `scenario.run()` runs it again in the test's world, unless\n"
            "`reuse_drawing_run=True` hands that run back.\n\n"
            f"{table}\n\n"
            f"Measured {dt.date.today().isoformat()} on {platform.platform()}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}.\n" + rest
        )


if __name__ == "__main__":
    main()
