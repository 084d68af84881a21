"""Bytecodes per execution, by who runs them: a count that machine load cannot move.

    python benchmarks/opcodes.py [--workloads seed,retry_2] [--runners ours,floor] [--top 30]

Time on a shared machine moves by tens of percent from minute to minute; valgrind's
instruction counts (``instructions.py``) do not, but take a minute a cell and say nothing
about which Python code ran. This counts, with ``sys.settrace`` opcode events (from Python 3.12,
``sys.monitoring``'s instruction events), every bytecode
each runner executes per execution (all threads, the invocation worker included), split by
where the code lives: ``ours`` (this package), ``sdk`` (async-durable-execution), ``asyncio``,
``generated`` (code compiled at run time: dataclass ``__init__``/``__replace__``, namedtuple
``__new__``, ``_sdk_adapter``'s fillers) and ``stdlib`` (everything else). ``--top`` lists the
runner's own functions (and the generated code it calls) with the most bytecodes.

A bytecode is not a unit of time: a ``CALL`` costs more than a ``LOAD_FAST``, and the same
bytecodes run slower when other code has evicted them from the caches. It is the deterministic
measure to find and compare the work each runner does; ``run.py`` measures what it costs.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.runners import make_runner, quiet_sdk_logging  # noqa: E402
from benchmarks.workloads import BY_NAME  # noqa: E402

CATEGORIES = ("ours", "sdk", "asyncio", "generated", "stdlib", "bench")


def category(code: CodeType) -> str:
    name = code.co_filename
    if "async_durable_execution_runner" in name:
        return "ours"
    if "async_durable_execution" in name:
        return "sdk"
    if "/asyncio/" in name:
        return "asyncio"
    if name.startswith("<") and not name.startswith("<frozen"):
        return "generated"
    if "/benchmarks/" in name:
        return "bench"
    return "stdlib"


def _label(code: CodeType) -> str:
    tail = "/".join(Path(code.co_filename).parts[-2:])
    return f"{tail}:{code.co_firstlineno}:{code.co_qualname}"


class OpcodeCounter:
    """Opcode events per code object, in every thread, while this counter is active.

    Threads keep the trace function they started with (our runner keeps its worker thread
    across runners), so one module-level trace function serves whichever counter is active.
    """

    def __init__(self) -> None:
        self.counts: collections.Counter[CodeType] = collections.Counter()
        #: generated code -> the code that called it, so ``--top`` can say whose it is
        self.callers: dict[CodeType, collections.Counter[CodeType]] = {}

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        global _active  # noqa: PLW0603 - the one counter the trace function feeds
        _active = self
        if _MONITORING is not None:
            with _monitored(self):
                yield
            _active = None
            return
        threading.settrace(_trace)
        sys.settrace(_trace)
        try:
            yield
        finally:
            sys.settrace(None)
            threading.settrace(None)  # type: ignore[arg-type]
            _active = None


#: ``sys.monitoring`` (Python 3.12 on), where ``sys.settrace`` gives no opcode events on
#: 3.12 (setting ``f_trace_opcodes`` from a trace function has no effect there). Its
#: instruction events come from every thread, as the trace function's did.
_MONITORING: Any = getattr(sys, "monitoring", None)


@contextlib.contextmanager
def _monitored(counter: OpcodeCounter) -> Iterator[None]:
    monitoring = _MONITORING
    tool = monitoring.PROFILER_ID
    events = monitoring.events
    counts = counter.counts
    callers = counter.callers

    def instruction(code: CodeType, offset: int) -> None:
        counts[code] += 1

    def started(code: CodeType, offset: int) -> None:
        if category(code) == "generated":
            caller = sys._getframe(1).f_back
            if caller is not None:
                callers.setdefault(code, collections.Counter())[caller.f_code] += 1

    monitoring.use_tool_id(tool, "benchmarks/opcodes.py")
    try:
        monitoring.register_callback(tool, events.INSTRUCTION, instruction)
        monitoring.register_callback(tool, events.PY_START, started)
        monitoring.set_events(tool, events.INSTRUCTION | events.PY_START)
        yield
    finally:
        monitoring.set_events(tool, events.NO_EVENTS)
        monitoring.register_callback(tool, events.INSTRUCTION, None)
        monitoring.register_callback(tool, events.PY_START, None)
        monitoring.free_tool_id(tool)


_active: OpcodeCounter | None = None


def _trace(frame: FrameType, event: str, arg: Any) -> Any:
    counter = _active
    if counter is None:
        return None
    frame.f_trace_opcodes = True
    code = frame.f_code
    counts = counter.counts
    if category(code) == "generated" and frame.f_back is not None:
        counter.callers.setdefault(code, collections.Counter())[frame.f_back.f_code] += 1

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "opcode":
            counts[code] += 1
        return local

    return local


def measure(runner_name: str, workload_name: str, executions: int) -> OpcodeCounter:
    """Bytecodes of ``executions`` executions (after warm-up) of one runner on one workload.

    Our runner's worker thread is started while tracing is active (it is kept across runners
    afterwards), so its bytecodes are counted too."""
    quiet_sdk_logging()
    workload = BY_NAME[workload_name]
    runner = make_runner(runner_name)
    counter = OpcodeCounter()
    try:
        with runner.batch(), counter.active():
            for _ in range(3):
                runner.once(workload)
            counter.counts.clear()
            counter.callers.clear()
            for _ in range(executions):
                runner.once(workload)
    finally:
        runner.close()
    return counter


def by_category(counter: OpcodeCounter, executions: int) -> dict[str, float]:
    totals = dict.fromkeys(CATEGORIES, 0.0)
    for code, n in counter.counts.items():
        totals[category(code)] += n / executions
    return totals


def own_functions(counter: OpcodeCounter, executions: int) -> list[tuple[float, str]]:
    """The runner's own code and the generated code it calls, most bytecodes first."""
    rows: list[tuple[float, str]] = []
    for code, n in counter.counts.items():
        kind = category(code)
        if kind == "ours":
            rows.append((n / executions, _label(code)))
        elif kind == "generated":
            callers = counter.callers.get(code)
            if callers is None:
                continue
            caller, _ = callers.most_common(1)[0]
            if category(caller) in ("ours", "generated"):
                rows.append((n / executions, f"{code.co_qualname} (from {_label(caller)})"))
    rows.sort(reverse=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="seed,steps_100,map_20,waits_10h,retry_2")
    parser.add_argument("--runners", default="ours,floor")
    parser.add_argument("--executions", type=int, default=10)
    parser.add_argument("--top", type=int, default=0, help="list the first runner's top N")
    args = parser.parse_args(argv)
    runners = args.runners.split(",")
    print("| workload | runner | total | " + " | ".join(CATEGORIES) + " | total / first runner's |")
    print("|---|---|" + "---:|" * (len(CATEGORIES) + 2))
    for workload in args.workloads.split(","):
        first_total = None
        tops: list[tuple[float, str]] = []
        for name in runners:
            counter = measure(name, workload, args.executions)
            cats = by_category(counter, args.executions)
            total = sum(cats.values())
            if first_total is None:
                first_total = total
                tops = own_functions(counter, args.executions)
            cells = " | ".join(f"{cats[c]:,.0f}" for c in CATEGORIES)
            print(
                f"| {workload} | {name} | {total:,.0f} | {cells} | {total / first_total:.2f} |",
                flush=True,
            )
        for n, label in tops[: args.top]:
            print(f"    {n:9,.0f}  {label}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
