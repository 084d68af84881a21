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

Client polling sleeps 5 ms between reads (load, not synchronisation: the numbers are what
the server answered, however often it was asked).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "examples"), str(ROOT / "src")]

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from orders import order_workflow, pricing_handler  # noqa: E402

from async_durable_execution_runner import (  # noqa: E402
    DurableFunctionTestRunner,
    DurableServiceServer,
    Event,
)
from async_durable_execution_runner._harness.oracles.builtin import check_history_events  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--markdown", help="append the report to this file")
    args = parser.parse_args()

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
        f"`benchmarks/server_load.py --executions {args.executions} --clients {args.clients}`: "
        f"{args.executions} order executions (invoke, callback, chained invoke, an hour's "
        f"wait on the virtual clock) driven by {args.clients} concurrent clients.",
        "",
        f"- throughput: **{args.executions / elapsed:.1f} executions/s** "
        f"({elapsed:.1f} s wall clock)",
        f"- well-formed histories: {args.executions - len(failures)} of {args.executions}",
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
            time.sleep(0.005)
    client.send_durable_execution_callback_success(
        CallbackId=callback_id, Result=b'{"approved": true}'
    )
    while client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "RUNNING":
        time.sleep(0.005)
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
