"""A bounded loopback load test of ``DurableServiceServer``.

Many clients at once, each with its own boto3 client, drive one order execution end to end
over HTTP: ``Invoke`` (``Event``, a unique ``DurableExecutionName``), history reads until its
approval callback appears, ``SendDurableExecutionCallbackSuccess``, ``GetDurableExecution``
until it ends, and a final full history read, which is checked to be well formed (the
harness's history oracle). The server runs the handlers in-process on the virtual clock,
driven by its own thread (``drive=True``), so the hour-long wait costs nothing.

Reports executions per second and, per route, the server-side latency (from the request's
arrival at the dispatcher to its answer) as p50 and p99::

    .venv/bin/python benchmarks/server_load.py --executions 200 --clients 16
    .venv/bin/python benchmarks/server_load.py --markdown docs/performance.md   # appends

Client polling sleeps 20 ms between reads, as the cloud runner's first poll does (load, not
synchronisation: the numbers are what the server answered, however often it was asked). The
clients share the server's process (and its GIL): polling much faster starves the thread
that drives the executions and measures that instead.

Then the SDK's own Lambda client checkpointing over HTTP from a worker process
(``sdk_over_http=True``), against the same worker over its pipe: time per checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "examples"), str(ROOT / "src"), str(ROOT / "benchmarks")]

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from orders import order_workflow, pricing_handler  # noqa: E402
from workloads import sequential_steps  # noqa: E402

from async_durable_execution_runner import (  # noqa: E402
    DurableFunctionTestRunner,
    DurableServiceServer,
    Event,
)
from async_durable_execution_runner._harness.oracles.builtin import check_history_events  # noqa: E402

POLL = 0.02  # seconds between a client's status reads


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--markdown", help="append the report to this file")
    parser.add_argument(
        "--checkpoint-rounds", type=int, default=5, help="executions per checkpoint-latency cell"
    )
    args = parser.parse_args()

    load_at_start = os.getloadavg()[0]
    latencies: dict[str, list[float]] = defaultdict(list)
    record_lock = threading.Lock()
    with (
        DurableFunctionTestRunner(
            order_workflow, function_name="orders", functions={"pricing": pricing_handler}
        ) as runner,
        DurableServiceServer(runner, drive=True) as server,
    ):
        original = server.handle

        def timed(method: str, target: str, body: bytes, headers: Any = None) -> Any:
            started = time.perf_counter()
            reply = original(method, target, body, headers)
            elapsed = time.perf_counter() - started
            route, _ = server.route(method, target.split("?", 1)[0])
            with record_lock:
                latencies[route.operation].append(elapsed)
            return reply

        server.handle = timed  # type: ignore[method-assign]
        session = boto3.session.Session()
        failures: list[str] = []
        names = iter(range(args.executions))
        names_lock = threading.Lock()

        def client_loop() -> None:
            client = session.client(
                "lambda",
                region_name="us-east-1",
                endpoint_url=server.url,
                aws_access_key_id="load",
                aws_secret_access_key="load",
                config=Config(retries={"max_attempts": 0}, max_pool_connections=2),
            )
            try:
                while True:
                    with names_lock:
                        n = next(names, None)
                    if n is None:
                        return
                    try:
                        one_execution(client, n)
                    except Exception as error:  # reported, not raised: the run goes on
                        failures.append(f"execution {n}: {type(error).__name__}: {error}")
            finally:
                client.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=client_loop) for _ in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started

    lines = [
        "## Server under load (loopback HTTP, real boto3 clients)",
        "",
        f"`.venv/bin/python benchmarks/server_load.py --executions {args.executions} "
        f"--clients {args.clients} --markdown docs/performance.md` (rewrites this section "
        f"only): {args.executions} order executions (`examples/orders.py`: a step, a child "
        "context with a callback and a chained invoke, a charge, an hour's wait on the "
        f"virtual clock) driven over HTTP by {args.clients} concurrent boto3 clients, polling "
        f"every {POLL * 1000:.0f} ms, against one `DurableServiceServer(drive=True)` in the "
        "same process. Latencies are server-side, from the dispatcher receiving the request "
        "to its answer.",
        "",
        f"- throughput: **{args.executions / elapsed:.1f} executions/s** "
        f"({elapsed:.1f} s wall clock); one driver thread runs every invocation (5 per order "
        "execution, plus the chained `pricing` execution's) and shares the GIL with the "
        "clients, so throughput is bounded by invocations, not by the HTTP layer",
        "- well-formed histories (the harness's history oracle on every final history): "
        f"{args.executions - len(failures)} of {args.executions}",
        f"- machine: {os.cpu_count()} cores, load average {load_at_start:.1f} when it "
        "started (other work shares the cores: compare ratios measured in one run)",
        "",
        "| route | requests | p50 (ms) | p99 (ms) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for operation in sorted(latencies):
        values = latencies[operation]
        lines.append(
            f"| {operation} | {len(values)} | {statistics.median(values) * 1000:.2f} "
            f"| {percentile(values, 0.99) * 1000:.2f} |"
        )
    lines.append("")
    lines.extend(checkpoint_latency(args.checkpoint_rounds))
    report = "\n".join(lines)
    print(report)
    for failure in failures[:10]:
        print(failure, file=sys.stderr)
    if args.markdown:
        path = Path(args.markdown)
        text = path.read_text() if path.exists() else ""
        marker = "## Server under load"
        if marker in text:
            text = text.split(marker, 1)[0].rstrip() + "\n\n"
        path.write_text(text + report)
    return 1 if failures else 0


def checkpoint_latency(rounds: int) -> list[str]:
    """A handler's checkpoints over HTTP through the SDK's own Lambda client (a worker process,
    ``sdk_over_http=True``), against the same worker talking over its pipe: end-to-end time
    per checkpoint (the SDK's wait for an answer included) and the server's time per request."""
    steps = 100  # workloads.sequential_steps
    checkpoints = 2 * steps + 1  # per-update: START and SUCCEED per step, then the result
    cells: dict[str, tuple[float, list[float]]] = {}
    for mode in ("pipe", "http"):
        with DurableFunctionTestRunner(
            sequential_steps,
            function_name="steps",
            isolation="process",
            checkpoint_batching="per_update",
        ) as runner:
            server = DurableServiceServer(runner, sdk_over_http=mode == "http").start()
            served: list[float] = []
            original = server.handle

            def timed(
                method: str,
                target: str,
                body: bytes,
                headers: Any = None,
                original: Any = original,
                served: list[float] = served,
            ) -> Any:
                started = time.perf_counter()
                reply = original(method, target, body, headers)
                served.append(time.perf_counter() - started)
                return reply

            server.handle = timed  # type: ignore[method-assign]
            runner.run({"n": 1}, timeout=600)  # the worker is up and warm
            served.clear()
            per_checkpoint = []
            for _ in range(rounds):
                started = time.perf_counter()
                runner.run({"n": 1}, timeout=600)
                per_checkpoint.append((time.perf_counter() - started) / checkpoints)
            server.close()
        cells[mode] = (statistics.median(per_checkpoint), served)
    pipe, _ = cells["pipe"]
    http, served = cells["http"]
    return [
        "### Checkpoints over HTTP (the SDK's own client, a worker process)",
        "",
        f"`sdk_over_http=True`, {steps} sequential steps with per-update checkpoints "
        f"({checkpoints} checkpoints per execution), median of {rounds} executions, against "
        "the same worker process checkpointing over its pipe in the same run:",
        "",
        "| transport | ms per checkpoint (end to end) | ratio to the pipe |",
        "| --- | ---: | ---: |",
        f"| worker pipe | {pipe * 1000:.2f} | 1.00 |",
        f"| HTTP (SDK's Lambda client -> server) | {http * 1000:.2f} | {http / pipe:.2f} |",
        "",
        f"Server time per HTTP request (validation, lock, checkpoint, answer): p50 "
        f"{statistics.median(served) * 1000:.2f} ms, p99 {percentile(served, 0.99) * 1000:.2f} "
        f"ms over {len(served)} requests.",
        "",
    ]


def one_execution(client: Any, n: int) -> None:
    arn = client.invoke(
        FunctionName="orders",
        InvocationType="Event",
        DurableExecutionName=f"load-{n}",
        Payload=json.dumps({"id": n, "quantity": 1 + n % 3}).encode(),
    )["DurableExecutionArn"]
    callback_id = None
    while callback_id is None:
        for event in client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]:
            if event["EventType"] == "CallbackStarted":
                callback_id = event["CallbackStartedDetails"]["CallbackId"]
        if callback_id is None:
            time.sleep(POLL)
    client.send_durable_execution_callback_success(
        CallbackId=callback_id, Result=b'{"approved": true}'
    )
    while client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "RUNNING":
        time.sleep(POLL)
    events = [
        Event.from_dict(e)
        for e in client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
    ]
    invocations = sum(1 for e in events if e.event_type.value == "InvocationCompleted")
    check_history_events(events, invocations, True, arn)
    if events[-1].event_type.value != "ExecutionSucceeded":
        raise AssertionError(f"{arn} ended with {events[-1].event_type.value}")


if __name__ == "__main__":
    raise SystemExit(main())
