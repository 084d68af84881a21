"""Every workload once per runner: the benchmark still runs and every runner is still right.

No timing assertions. Run with ``pytest benchmarks/test_benchmarks_smoke.py``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.runners import (
    ALL_RUNNERS,
    SDK_SNAPSHOT,
    BenchRunner,
    make_runner,
    quiet_sdk_logging,
    verify,
)
from benchmarks.workloads import WORKLOADS, Workload


@pytest.fixture(scope="module", params=ALL_RUNNERS)
def runner(request: pytest.FixtureRequest) -> Iterator[BenchRunner]:
    quiet_sdk_logging()
    r = make_runner(request.param)
    try:
        yield r
    finally:
        r.close()


@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda w: w.name)
def test_workload_runs_and_is_right(runner: BenchRunner, workload: Workload) -> None:
    outcome = verify(runner, workload)
    if outcome.invocations is not None:
        assert outcome.invocations >= 1


def test_pristine_restores_and_reapplies_patches() -> None:
    make_runner("ours").once(WORKLOADS[0])  # installs our runner's SDK hooks, if it has any
    patched = SDK_SNAPSHOT.patched()
    with SDK_SNAPSHOT.pristine():
        assert SDK_SNAPSHOT.patched() == []
    assert SDK_SNAPSHOT.patched() == patched


def test_run_py_quick_pipeline_writes_markdown(tmp_path, monkeypatch) -> None:
    from benchmarks import run

    tiny = run.Settings(rounds=1, round_seconds=0.0, min_count=1, warmup=0, profile_seconds=0.0)
    monkeypatch.setattr(run, "QUICK", tiny)
    out = tmp_path / "performance.md"
    assert (
        run.main(
            [
                "--quick",
                "--workloads",
                "seed",
                "--profile",
                "--breakdown",
                "--markdown",
                str(out),
            ]
        )
        == 0
    )
    text = out.read_text()
    assert "| seed |" in text
    assert "ours / floor" in text
    assert "| seed | ours |" in text  # bytecodes by owner
    assert "| seed | " in text.split("boundaries both runners share", 1)[1]  # the CPU split
    assert "| invocation: time travel |" in text  # our stages
    assert "| seed | 2 |" in text.split("worker-thread hand-off", 1)[1]  # the hand-off's cost


def test_opcode_counts_see_both_threads_and_split_by_owner() -> None:
    # In a fresh process: a worker thread started before tracing began (by the tests above)
    # would not be traced, and the tool is meant to run as its own process.
    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).parent / "opcodes.py"),
            "--workloads",
            "retry_2",
            "--executions",
            "2",
            "--top",
            "40",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = {
        cells[2]: cells
        for line in done.stdout.splitlines()
        if line.startswith("| retry_2 |")
        for cells in [[c.strip().replace(",", "") for c in line.split("|")]]
    }
    header = [c.strip() for c in done.stdout.splitlines()[0].split("|")]
    ours, floor = rows["ours"], rows["floor"]
    sdk, own = header.index("sdk"), header.index("ours")
    # The SDK runs (nearly) the same bytecodes whoever serves it (the floor answers a checkpoint
    # with every touched operation, ours with fewer); only our runner runs our code, and its
    # invocations (on the worker thread) are counted, not just the caller's hand-off.
    assert float(floor[sdk]) > 1000
    assert abs(float(ours[sdk]) - float(floor[sdk])) < 0.02 * float(floor[sdk])
    assert float(floor[own]) == 0
    assert float(ours[own]) > 1000
    assert "InProcessInvoker" in done.stdout  # worker-side code named in --top


def test_split_accounts_for_the_whole_execution() -> None:
    from benchmarks import split

    medians = split.measure(["retry_2"], ["ours", "floor"], rounds=1, executions=2)
    for runner in ("ours", "floor"):
        parts = {p: medians[("retry_2", runner, p)] for p in split.PARTS}
        assert parts["sdk"] > 0
        assert parts["service calls"] > 0
        assert parts["rest"] > 0
        assert abs(parts["sdk"] + parts["service calls"] + parts["rest"] - parts["total"]) < 1e-6


def test_stages_name_the_runners_stages_and_the_hand_off() -> None:
    # In a process of its own: it wraps the runner's stages for the rest of the process.
    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).parent / "stages.py"),
            "--workloads",
            "retry_2",
            "--rounds",
            "1",
            "--executions",
            "2",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    rows = {
        cells[1]: cells[2]
        for line in done.stdout.splitlines()
        if line.startswith("| ")
        for cells in [[c.strip() for c in line.split("|")]]
    }
    for stage in (
        "sdk (its handler entry)",
        "service calls",
        "invocation: time travel",
        "invocation: service set-up",
        "runner: construction",
    ):
        spent, per_invocation = rows[stage].split(" (")
        assert float(spent.replace(",", "")) > 0, stage
        assert float(per_invocation.rstrip(")").replace(",", "")) > 0, stage
    assert rows["retry_2"] == "3"  # the hand-off table: three invocations


def test_overhead_runs_the_script_under_both_runners_and_puts_ours_back() -> None:
    from async_durable_execution_runner._sandbox.invoker import InProcessInvoker
    from benchmarks import overhead

    entry = InProcessInvoker._entry
    medians = overhead.measure(waits=2, rounds=1, seconds=0.0, warm_up=1)
    assert set(medians) == {
        (runner, workload) for runner in ("ours", "floor") for workload in ("noop", "waits")
    }
    assert all(value > 0 for value in medians.values())
    # Each execution's result was checked inside (the script's waits all done); afterwards the
    # runner hands the SDK's entry out again.
    assert InProcessInvoker._entry is entry
    verify(make_runner("ours"), next(w for w in WORKLOADS if w.name == "retry_2"))


def test_cache_pressure_twins_are_right_and_the_table_has_every_part(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks import cache_pressure, split

    twin = cache_pressure.pressed_retry(1)
    assert twin.name != "retry_2"
    assert cache_pressure.pressed_retry(0).name == "retry_2"
    for name in ("ours", "floor"):
        runner = make_runner(name)
        try:
            assert verify(runner, twin).invocations == 3
        finally:
            runner.close()
    assert cache_pressure.main(["--mib", "0,1", "--rounds", "1", "--executions", "2"]) == 0
    table = capsys.readouterr().out
    for part in split.PARTS:
        assert f"| 0 | {part} |" in table
        assert f"| 1 | {part} |" in table


def test_alarm_stress_interrupts_every_sleep_and_reports_the_count(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from async_durable_execution_runner._sandbox import hang_alarm
    from benchmarks import alarm_stress

    if not hang_alarm.usable():
        pytest.skip("needs SIGALRM on the main thread")
    assert alarm_stress.main(["--iterations", "3", "--burners", "0"]) == 0
    assert "0 of 3 sleeps outlasted the alarm" in capsys.readouterr().out
