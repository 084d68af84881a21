"""Every workload once per runner: the benchmark still runs and every runner is still right.

No timing assertions. Run with ``pytest benchmarks/test_benchmarks_smoke.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

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
    assert run.main(["--quick", "--workloads", "seed", "--profile", "--markdown", str(out)]) == 0
    text = out.read_text()
    assert "| seed |" in text
    assert "ours / floor" in text


def test_opcode_counts_see_both_threads_and_split_by_owner() -> None:
    from benchmarks import opcodes

    ours = opcodes.measure("ours", "retry_2", 2)
    floor = opcodes.measure("floor", "retry_2", 2)
    ours_cats, floor_cats = opcodes.by_category(ours, 2), opcodes.by_category(floor, 2)
    # The SDK runs (nearly) the same bytecodes whoever serves it (the floor answers a checkpoint
    # with every touched operation, ours with fewer); only our runner runs our code, and its
    # invocations (on the worker thread) are counted, not just the caller's hand-off.
    assert floor_cats["sdk"] > 1000
    assert abs(ours_cats["sdk"] - floor_cats["sdk"]) < 0.02 * floor_cats["sdk"]
    assert floor_cats["ours"] == 0
    assert ours_cats["ours"] > 1000
    assert any("Commits" in label for _, label in opcodes.own_functions(ours, 2))
