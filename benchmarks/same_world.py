"""No false flags on correct code: every oracle over the corpus of correct handlers with
nondeterministic steps (``examples/nondeterministic.py``), many examples each.

    python benchmarks/same_world.py [--examples 500] [--plans masked|all|KIND,...]
                                    [--only NAME ...]
                                    [--corpus nondeterministic|everyday|habits|processes|
                                              timekeeping|payloads|chains|chains-targets|
                                              blocking|structures|errors|errors-targets|
                                              races|lambda-runtime|tooling|scale|
                                              asyncio-ecosystem|data-stores|powertools|
                                              batches|aws-clients|http-clients|
                                              resilience|agents|observability|
                                              credentials|dataframes|orm]
                                    [--seed N] [--crash-points] [--bursts SEEDS] [--strict-replay]
                                    [--drive main|async|thread]

For each handler it runs a Hypothesis campaign of ``--examples`` scenarios with fault plans
from ``fault_plans(kinds=<every masked kind>)`` (``--plans all``: every kind, ``outage`` too,
which the default ``durable_scenarios`` leaves out; ``--plans body_crash,aws_call_crash``:
those kinds alone) and the
default ``timings()``, and runs ``outcome.check()`` on
each. It prints, per handler, the examples run, those in which any fault and a masked fault
was applied (the fault-tolerance oracle then runs its same-world baseline), the faults drawn
and applied, the examples in which a burst of injected step failures used up a retry budget
(a correlated fault reached), the faults applied by kind (and, after them, the kinds of the
faults drawn but not applied: a fault placed while the scenario was drawn that the run did not
meet again), and the flags: any flag is a false
flag, shrunk, with its report. Examples that met a known SDK issue (which ``check()`` labels
with a ``KnownSdkIssueWarning`` instead of failing) are counted below the row.
``--corpus everyday`` runs ``examples/everyday.py`` (the session-15 audit's handlers)
instead, ``--corpus habits`` ``examples/habits.py`` (the session-16 audit's), ``--corpus
processes`` ``examples/processes.py`` (the session-18 audit A's), ``--corpus timekeeping``
``examples/timekeeping.py`` (the session-18 audit B's), ``--corpus payloads``
``examples/payloads.py`` (the session-18 audit C's), ``--corpus chains``
``examples/chains.py`` (the session-19 audit D's, chained invokes), ``--corpus
chains-targets`` the functions those handlers invoke, each as a scenario's own handler
(``chains.TARGETS``: checkpoint, invocation and step faults and crash points reach only a
scenario's root execution), ``--corpus blocking`` ``examples/blocking.py`` (the
session-20 audit E's, threads and blocking code), ``--corpus structures``
``examples/structures.py`` (the session-23 audit G's, code structured as production teams
structure it), ``--corpus errors`` ``examples/errors.py`` (the session-23 audit F's,
exceptions and error handling) and ``--corpus errors-targets`` the function it invokes as a
scenario's own handler (``errors.TARGETS``), ``--corpus races`` ``examples/races.py`` (the
session-23 audit H's, races, time-outs and cancellation around durable operations),
``--corpus lambda-runtime`` ``examples/lambda_runtime.py`` (the session-24 audit J's, the
Lambda context, the runtime's environment and event-source shapes),
``--corpus tooling`` ``examples/tooling.py`` (the session-24 audit I's, handlers under the
test tooling users bring: ``unittest.mock``, botocore's ``Stubber``, captured logs),
``--corpus scale`` ``examples/scale.py`` (the session-25 audit K's, correct handlers at
production scale), ``--corpus asyncio-ecosystem`` ``examples/asyncio_ecosystem.py`` (the
session-26 audit N's, asyncio's own tools in step bodies and around durable operations),
``--corpus data-stores`` ``examples/data_stores.py`` (the session-27 audit O's, systems of
record in sqlite, JSON, CSV and shelve files), ``--corpus powertools``
``examples/powertools.py`` (the session-30 audit P's, Powertools for AWS Lambda),
``--corpus batches`` ``examples/batches.py`` (the session-31 audit Q's, custom and
first-success completion, all-or-none batches and the map item context), ``--corpus
aws-clients`` ``examples/aws_clients.py`` (the session-32 audit R's, step bodies calling AWS
through boto3, synchronously), ``--corpus http-clients`` ``examples/http_clients.py`` (the
session-41 audit's, steps talking HTTP to a real server on loopback with ``requests`` and
``aiohttp``), ``--corpus resilience`` ``examples/resilience.py`` (the session-42 audit's,
retry, back-off, rate-limit, circuit-breaker and TTL-cache code: ``tenacity``, ``backoff``,
``stamina``, ``aiolimiter``, ``cachetools``), ``--corpus agents`` ``examples/agents.py``
(the session-43 audit's, AI-agent loops: a sampling model whose tool calls get random ids
that name the steps, tool calls fanned out, a human's approval, a rate-limited model, a
conversation outgrowing its context, streaming, long-term memory, sub-agents),
``--corpus observability`` ``examples/observability.py`` (the session-44 audit's,
OpenTelemetry traces and metrics exported by threads of their own, a sampler's coin, W3C
trace headers, ``structlog`` with per-invocation request ids), ``--corpus credentials``
``examples/credentials.py`` (the same audit's second round: JWT expiry and not-before claims,
Fernet tokens sealed between steps, HMAC-signed receipts checked against a tolerance,
idempotency keys derived from the execution ARN, Ed25519-signed requests), ``--corpus
dataframes`` ``examples/dataframes.py`` (the session-45 audit's: pandas and polars frames in
steps, numpy draws from fresh entropy and from a sandbox's generator, numpy arrays and
msgspec structs through SerDes of the user's, a window read with pandas' clock), ``--corpus
orm`` ``examples/orm.py`` (its second round: SQLAlchemy's ORM with a pooled engine in module
state, version-column conflicts retried, ``ON CONFLICT`` inserts over ``map``, a flush
listener's audit trail, thread-local sessions, the asyncio extension on aiosqlite);
``--seed`` makes a campaign repeatable.
``--crash-points`` runs ``Scenario.crash_points()`` of each handler instead (warm and cold
sandboxes), every point judged by ``check()``. ``--bursts SEEDS`` asks, for each handler with
a retry budget, whether ``fault_plans(kinds={"step_exception"})`` finds a burst that uses it
up within ``--examples`` examples, for seeds 0 to SEEDS-1, and what it shrinks to.
``--strict-replay`` draws the campaign's scenarios with ``strict_replay=True`` (a replay
divergence fails the execution, as the sync AWS SDK does). ``--drive async`` calls each
scenario (its run and its check) inside a running event loop, drawn outside it, as
pytest-asyncio runs an async Hypothesis test (the runner sets the loop aside and drives on
the main thread); ``--drive thread`` runs the whole test on a thread of its own, where the
runner hands its drive to a worker thread with no ``SIGALRM`` deadline alarm (the hang report
and the time a blocked handler spends come from the ticker thread instead).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import logging
import platform
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]

# The runner before the corpora, as pytest's plugin imports it before a test module: a clock
# function a library binds at import (``cachetools.TTLCache``'s default timer is
# ``time.monotonic`` itself) is then the handler's (a trap in the findings).
import async_durable_execution_runner  # noqa: E402, F401, I001
import agents  # noqa: E402
import asyncio_ecosystem  # noqa: E402
import aws_clients  # noqa: E402
import batches  # noqa: E402
import blocking  # noqa: E402
import chains  # noqa: E402
import credentials  # noqa: E402
import dataframes  # noqa: E402
import orm  # noqa: E402
import data_stores  # noqa: E402
import errors  # noqa: E402
import everyday  # noqa: E402
import habits  # noqa: E402
import http_clients  # noqa: E402
import lambda_runtime  # noqa: E402
import nondeterministic  # noqa: E402
import observability  # noqa: E402
import payloads  # noqa: E402
import powertools  # noqa: E402
import processes  # noqa: E402
import races  # noqa: E402
import resilience  # noqa: E402
import sandbox_lifecycle  # noqa: E402
import scale  # noqa: E402
import serdes_extensions  # noqa: E402
import structures  # noqa: E402
import timekeeping  # noqa: E402
import tooling  # noqa: E402
from corpus import scenarios  # noqa: E402

from async_durable_execution_runner.oracles import KnownSdkIssueWarning  # noqa: E402
from async_durable_execution_runner.scenarios import FAULT_KINDS, Scenario  # noqa: E402
from async_durable_execution_runner.strategies import (  # noqa: E402
    fault_plans,
)

#: The fault kinds the service and the SDK mask (checkpoint_error and lost_response with a
#: retryable error; with another they are unmasked and the fault-tolerance oracle stands aside).
MASKED_KINDS = {
    "crash",
    "body_crash",
    "aws_call_crash",
    "invocation_lost",
    "checkpoint_error",
    "lost_response",
    "duplicate_invocation",
}


CORPORA = {
    "nondeterministic": nondeterministic.CORPUS,
    "everyday": everyday.CORPUS,
    "habits": habits.CORPUS,
    "processes": processes.CORPUS,
    "timekeeping": timekeeping.CORPUS,
    "payloads": payloads.CORPUS,
    "chains": chains.CORPUS,
    "chains-targets": chains.TARGETS,
    "blocking": blocking.CORPUS,
    "structures": structures.CORPUS,
    "errors": errors.CORPUS,
    "errors-targets": errors.TARGETS,
    "races": races.CORPUS,
    "scale": scale.CORPUS,
    "lambda-runtime": lambda_runtime.CORPUS,
    "tooling": tooling.CORPUS,
    "serdes-extensions": serdes_extensions.CORPUS,
    "sandbox-lifecycle": sandbox_lifecycle.CORPUS,
    "asyncio-ecosystem": asyncio_ecosystem.CORPUS,
    "data-stores": data_stores.CORPUS,
    "powertools": powertools.CORPUS,
    "batches": batches.CORPUS,
    "aws-clients": aws_clients.CORPUS,
    "http-clients": http_clients.CORPUS,
    "resilience": resilience.CORPUS,
    "agents": agents.CORPUS,
    "observability": observability.CORPUS,
    "credentials": credentials.CORPUS,
    "dataframes": dataframes.CORPUS,
    "orm": orm.CORPUS,
}


def exhausted_by_burst(history: list[dict[str, Any]]) -> bool:
    """Whether injected failures of consecutive attempts (a burst) used up a step's retry
    budget: its last attempt, not the first, failed with an injected error and was not retried."""
    for event in history:
        details = event.get("StepFailedDetails")
        if details is None:
            continue
        retry = details.get("RetryDetails") or {}
        error = (details.get("Error") or {}).get("Payload") or {}
        if (
            "NextAttemptDelaySeconds" not in retry
            and retry.get("CurrentAttempt", 1) > 1
            # InjectedStepError, or Injected<T> for a step that retries some types only.
            and str(error.get("ErrorType", "")).startswith("Injected")
        ):
            return True
    return False


def campaign(
    spec: dict[str, Any],
    examples: int,
    plans: str,
    seed: int | None = None,
    strict_replay: bool = False,
    drive: str = "main",
) -> dict[str, Any]:
    if plans == "masked":
        faults = fault_plans(kinds=MASKED_KINDS)
    elif plans == "all":  # every kind, those asked for by name too
        faults = fault_plans(kinds=set(FAULT_KINDS))
    else:  # the kinds named, comma-separated (``--plans body_crash,aws_call_crash``)
        faults = fault_plans(kinds=set(plans.split(",")))
    strategy = scenarios(spec, faults=faults, strict_replay=strict_replay)
    stats: dict[str, Any] = {
        "examples": 0,
        "masked": 0,
        "drawn": 0,
        "applied": 0,
        "exercised": 0,
        "exhausted": 0,
        "kinds": collections.Counter(),
        "missed": collections.Counter(),
        "invoked": 0,
        "flag": None,
        "known": 0,
    }

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(scenario: Scenario) -> None:
        if drive == "async":
            # As pytest-asyncio runs an async Hypothesis test: each example's body in a
            # running loop, the drawing outside it.
            asyncio.run(_in_a_loop(lambda: judge(scenario)))
        else:
            judge(scenario)

    def judge(scenario: Scenario) -> None:
        outcome = scenario.run()
        stats["examples"] += 1
        stats["drawn"] += len(scenario.faults)
        stats["applied"] += len(outcome.faults_applied)
        stats["exercised"] += bool(outcome.faults_applied)
        # (In any execution of the run: a burst placed inside an invoked function counts.)
        stats["exhausted"] += any(
            exhausted_by_burst([event.to_dict() for event in events])
            for events in outcome.recorder.events.values()
        )
        if any(f.masked for f in outcome.faults_applied):
            stats["masked"] += 1
        stats["kinds"].update(f.kind for f in outcome.faults_applied)
        stats["invoked"] += sum(getattr(f, "execution", 0) > 0 for f in outcome.faults_applied)
        stats["missed"].update(f.kind for f in scenario.faults if f not in outcome.faults_applied)
        with warnings.catch_warnings(record=True) as labelled:
            warnings.simplefilter("always", KnownSdkIssueWarning)
            outcome.check()
        stats["known"] += any(issubclass(w.category, KnownSdkIssueWarning) for w in labelled)

    started = time.perf_counter()
    try:
        test = run if seed is None else __import__("hypothesis").seed(seed)(run)
        if drive == "thread":
            on_a_thread(test)
        else:
            test()
    # An oracle's flag, or anything else that went wrong (Hypothesis reports several
    # distinct failures as a group, a BaseExceptionGroup if one of them is not an Exception).
    except (Exception, BaseExceptionGroup) as failure:
        stats["flag"] = f"{type(failure).__name__}: {failure}"
    stats["seconds"] = time.perf_counter() - started
    return stats


async def _in_a_loop(call: Callable[[], None]) -> None:
    call()


def on_a_thread(call: Callable[[], None]) -> None:
    """``call()`` on a thread of its own (as a test run by a thread of the test runner's),
    its exception raised here."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            call()
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=target, name="test-thread")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def crash_point_rows(corpus: dict[str, dict[str, Any]], names: list[str]) -> int:
    from async_durable_execution_runner.scenarios import Timings

    print("| handler | sandboxes | points | explored | failing | s |")
    print("|---|---|---:|---:|---:|---:|")
    failing = 0
    for name in names:
        spec = corpus[name]
        for sandboxes in ((), ("cold", "cold", "cold", "cold")):
            scenario = Scenario(
                handler=spec["handler"],
                input=spec.get("input"),
                timings=Timings(sandboxes=sandboxes),
                callback_payloads={k: (v,) for k, v in spec.get("callbacks", {}).items()},
                functions=spec.get("functions", {}),
                before_run=spec.get("before_run"),
                **(
                    {"execution_timeout": spec["execution_timeout"]}
                    if "execution_timeout" in spec
                    else {}
                ),
            )
            started = time.perf_counter()
            report = scenario.crash_points(budget=120.0)
            seconds = time.perf_counter() - started
            failing += len(report.failures)
            print(
                f"| {name} | {'cold' if sandboxes else 'warm'} | {len(report.points)} "
                f"| {len(report.explored)} | {len(report.failures)} | {seconds:.1f} |",
                flush=True,
            )
            for failure in report.failures:
                print(f"\nFLAG at {failure.fault!r}:\n{failure.error}\n", flush=True)
    return failing


def burst_rows(
    corpus: dict[str, dict[str, Any]], names: list[str], seeds: int, examples: int
) -> None:
    from hypothesis import find
    from hypothesis.errors import NoSuchExample

    print(
        f"| handler | seeds that found a burst within {examples} examples "
        "| examples to the first | shrunk to |"
    )
    print("|---|---:|---|---|")
    for name in names:
        spec = corpus[name]
        found, firsts, shrunk = 0, [], set()
        for seed in range(seeds):
            tried = [0, None]

            def exhausts(scenario: Scenario, tried: list[Any] = tried) -> bool:
                hit = exhausted_by_burst(scenario.run().history)
                if tried[1] is None:
                    tried[0] += 1
                    if hit:
                        tried[1] = tried[0]
                return hit

            strategy = scenarios(spec, faults=fault_plans(kinds={"step_exception"}))
            try:
                minimal = find(
                    strategy,
                    exhausts,
                    settings=settings(
                        max_examples=examples,
                        database=None,
                        deadline=None,
                        suppress_health_check=list(HealthCheck),
                    ),
                    random=__import__("random").Random(seed),
                )
            except NoSuchExample:
                continue
            found += 1
            firsts.append(tried[1])
            shrunk.add(repr(minimal.faults))
        print(f"| {name} | {found}/{seeds} | {firsts} | {'; '.join(sorted(shrunk))} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=500)
    parser.add_argument(
        "--plans",
        default="masked",
        help="masked (every masked kind), all (every kind), or kinds named, comma-separated",
    )
    parser.add_argument("--only", nargs="*", default=None, help="corpus entries to run")
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="nondeterministic")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default random)")
    parser.add_argument("--crash-points", action="store_true", help="every crash point instead")
    parser.add_argument(
        "--strict-replay", action="store_true", help="scenarios with strict_replay=True"
    )
    parser.add_argument(
        "--drive",
        choices=("main", "async", "thread"),
        default="main",
        help="call each scenario from the main thread, a running event loop or a thread",
    )
    parser.add_argument("--bursts", type=int, default=0, help="burst search over this many seeds")
    args = parser.parse_args()
    corpus = CORPORA[args.corpus]
    if args.bursts:
        logging.disable(logging.CRITICAL)
        burst_rows(corpus, args.only or sorted(corpus), args.bursts, args.examples)
        return
    if args.crash_points:
        logging.disable(logging.CRITICAL)
        sys.exit(1 if crash_point_rows(corpus, args.only or sorted(corpus)) else 0)
    # The SDK logs every injected fault at ERROR; the campaign's verdicts are what matter.
    logging.disable(logging.CRITICAL)
    names = args.only or sorted(corpus)
    print(
        f"{args.examples} examples per handler, {args.plans} fault kinds, default timings"
        f"{', strict replay' if args.strict_replay else ''}"
        f"{'' if args.drive == 'main' else f', driven from {args.drive}'}; "
        f"{platform.platform()}, Python {platform.python_version()}"
    )
    print(
        "| handler | examples | with a fault applied | with a masked fault applied "
        "| faults drawn / applied | retry budget exhausted by a burst | faults applied "
        "| flags | s |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|")
    flags = 0
    for name in names:
        with contextlib.redirect_stderr(sys.stdout):
            stats = campaign(
                corpus[name],
                args.examples,
                args.plans,
                args.seed,
                args.strict_replay,
                args.drive,
            )
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(stats["kinds"].items()))
        if stats["missed"]:
            missed = ", ".join(f"{k} {n}" for k, n in sorted(stats["missed"].items()))
            kinds += f"; drawn, not applied: {missed}"
        if stats["invoked"]:
            kinds += f" ({stats['invoked']} in invoked executions)"
        flagged = 0 if stats["flag"] is None else 1
        flags += flagged
        print(
            f"| {name} | {stats['examples']} | {stats['exercised']} | {stats['masked']} "
            f"| {stats['drawn']} / {stats['applied']} | {stats['exhausted']} | {kinds} | {flagged} "
            f"| {stats['seconds']:.0f} |",
            flush=True,
        )
        if stats["known"]:
            print(
                f"\n{name}: {stats['known']} example(s) met a known SDK issue (labelled by "
                "check(), a KnownSdkIssueWarning, not a flag)\n",
                flush=True,
            )
        if stats["flag"] is not None:
            print(f"\nFLAG on {name}:\n{stats['flag']}\n", flush=True)
    print(f"\n{flags} handler(s) flagged")
    sys.exit(1 if flags else 0)


if __name__ == "__main__":
    main()
