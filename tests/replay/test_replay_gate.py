"""The replay gate: recorded histories replayed against today's code.

Refactors that keep the operation sequence pass; changes that break executions in flight
fail, each at the event where the history and the code part, naming the handler's line.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import agents
import asyncio_ecosystem
import batches
import blocking
import chains
import credentials
import data_stores
import dataframes
import errors
import everyday
import flows
import habits
import lambda_runtime
import nondeterministic
import observability
import orm
import powertools
import processes
import pytest
import resilience
import sandbox_lifecycle
import scale
import serdes_extensions
import structures
import timekeeping
import tooling
from corpus import scenarios
from hypothesis import HealthCheck, Phase, given, settings
from tests.replay import handlers as h
from tests.replay import ticket_office

from async_durable_execution_runner import (
    DurableFunctionTestRunner,
    ReplayDivergenceError,
    ReplayReport,
    _sdk_adapter,
    replay,
)
from async_durable_execution_runner._replay.corpus import (
    Triage,
    corpus_files,
    load,
    replay_file,
    save_history,
)
from async_durable_execution_runner._replay.state import HistoryFormatError
from async_durable_execution_runner.scenarios import (
    Scenario,
    Timings,
    checkpoint_error,
    duplicate_invocation,
    step_exception,
)
from async_durable_execution_runner.strategies import durable_scenarios

CORPUS = Path(__file__).parent / "corpus"
SHIPPING = CORPUS / "shipping.json"


def _line_of(handler: Callable[..., Any], text: str) -> int:
    """The line of ``handler``'s source that contains ``text``."""
    source, first = inspect.getsourcelines(handler)
    for offset, line in enumerate(source):
        if text in line:
            return first + offset
    raise AssertionError(f"{text!r} not in {handler.__name__}")


# --- the committed corpus ---------------------------------------------------------------


@pytest.mark.parametrize("path", corpus_files(CORPUS), ids=lambda p: p.name)
def test_committed_corpus_replays_clean(path: Path) -> None:
    handler = "tests.replay.handlers:shipping" if path.name.endswith("_cli_export.json") else None
    report = replay_file(path, handler=handler)
    assert report.ok
    assert report.invocations >= 2  # every file crosses at least one invocation boundary
    assert report.operations_checked >= 5


# --- changes that keep the operation sequence -------------------------------------------


@pytest.mark.parametrize("handler", [h.refactor_helpers, h.refactor_retry_policy])
def test_refactors_that_keep_the_operations_pass(handler: Callable[..., Any]) -> None:
    report = replay_file(SHIPPING, handler=handler)
    assert report.ok, str(report)
    assert report.invocations == 3


# --- changes that break executions in flight --------------------------------------------


BREAKING = [
    # handler, event id, event type, event name, what the handler did, its line
    (
        h.changed_renamed_step,
        20,
        "StepStarted",
        "label",
        "asked for STEP 'print-label' in its place",
        'name="print-label"',
    ),
    (
        h.changed_reordered_wait,
        4,
        "ContextStarted",
        "pack",
        "started WAIT 'cool-off' in its place",
        "moved before the packing",
    ),
    (
        h.changed_removed_branch,
        7,
        "StepStarted",
        "tape",
        "never asked for it",
        (h.pack_box_only, 'name="box"'),
    ),
    (
        h.changed_new_step_first,
        2,
        "StepStarted",
        "tracking-id",
        "asked for STEP 'audit' in its place",
        'name="audit"',
    ),
    (
        h.changed_new_step_after_wait,
        13,
        "ContextStarted",
        "pickup",
        "started STEP 'check-weather' in its place",
        'name="check-weather"',
    ),
]


@pytest.mark.parametrize(
    ("handler", "event_id", "event_type", "name", "did", "line_text"),
    BREAKING,
    ids=[case[0].__name__ for case in BREAKING],
)
def test_breaking_changes_fail_at_the_right_event(
    handler: Callable[..., Any],
    event_id: int,
    event_type: str,
    name: str,
    did: str,
    line_text: str | tuple[Callable[..., Any], str],
) -> None:
    where, text_on_line = line_text if isinstance(line_text, tuple) else (handler, line_text)
    line = _line_of(where, text_on_line)
    with pytest.raises(ReplayDivergenceError) as caught:
        replay_file(SHIPPING, handler=handler)
    divergence = caught.value.report.divergence
    assert divergence is not None
    assert divergence.event is not None
    assert divergence.event.event_id == event_id
    assert divergence.event.event_type.value == event_type
    assert divergence.event.name == name
    assert did in divergence.actual
    assert divergence.location is not None
    assert divergence.location.endswith(f"handlers.py:{line} in {where.__name__}")
    text = str(caught.value)
    assert f"event #{event_id} {event_type} '{name}'" in text
    assert f"handlers.py:{line} in {where.__name__}" in text


def test_a_different_outcome_fails_at_the_execution_end() -> None:
    report = replay_file(SHIPPING, handler=h.changed_outcome, raise_on_divergence=False)
    divergence = report.divergence
    assert divergence is not None and divergence.event is not None
    assert divergence.event.event_type.value == "ExecutionSucceeded"
    assert divergence.invocation == 3
    assert divergence.actual == "the execution ended FAILED with ValueError"


def test_a_different_result_from_recorded_step_results_fails() -> None:
    from tests.replay.handlers import changed_result

    report = replay_file(SHIPPING, handler=changed_result, raise_on_divergence=False)
    divergence = report.divergence
    assert divergence is not None and divergence.event is not None
    assert divergence.event.event_type.value == "ExecutionSucceeded"
    assert divergence.expected.startswith("result {")
    assert '"carrier": "UPS"' in divergence.actual


# --- no false flags ---------------------------------------------------------------------


def test_a_crashed_invocation_may_branch_otherwise_on_a_fresh_step_result() -> None:
    # Invocation 1 crashed before it checkpointed anything; invocation 2 drew ticket 2 and
    # waited on the even branch. Replayed, invocation 1 runs the ticket step again (the
    # history holds nothing of it there), gets a fresh ticket and takes the odd branch: the
    # gate held that against the even wait recorded later (a false flag on a correct
    # handler, found by the session-16 audit on habits.reused_names). Invocation 2, handed
    # the recorded ticket, is still checked.
    from async_durable_execution_runner.scenarios import crash

    ticket_office.TICKETS.clear()
    outcome = Scenario(handler=h.branch_on_ticket, faults=(crash(invocation=1, call=1),)).run()
    assert [e.event_type.value for e in outcome.result.events][2:4] == [
        "StepStarted",
        "StepSucceeded",
    ]
    assert outcome.result.get_wait("even") is not None
    report = replay(h.branch_on_ticket, outcome.result, raise_on_divergence=False)
    assert ticket_office.TICKETS == [1, 2, 3]  # the replay of invocation 1 drew ticket 3 (odd)
    assert report.ok, str(report)
    assert report.operations_checked >= 2


#: Correct handlers that do what users do (ids and random draws in steps, callbacks near
#: their timeouts, quorums, retries with jitter, chained invokes, serdes), from the oracles'
#: false-flag audits.
USER_CORPUS = {
    **{f"nondeterministic.{k}": v for k, v in nondeterministic.CORPUS.items()},
    **{f"everyday.{k}": v for k, v in everyday.CORPUS.items()},
    **{f"flows.{k}": v for k, v in flows.CORPUS.items()},
    # The 100-item maps replay every invocation's hundred branches (seconds per example);
    # their campaigns and the corpus test judge them.
    **{f"habits.{k}": v for k, v in habits.CORPUS.items() if not k.startswith("big_map")},
    **{f"processes.{k}": v for k, v in processes.CORPUS.items()},
    **{f"timekeeping.{k}": v for k, v in timekeeping.CORPUS.items()},
    **{f"chains.{k}": v for k, v in chains.CORPUS.items()},
    # The invoked functions as roots: only there do crashes and lost invocations reach them.
    **{f"chains.targets.{k}": v for k, v in chains.TARGETS.items()},
    **{f"blocking.{k}": v for k, v in blocking.CORPUS.items()},
    **{f"errors.{k}": v for k, v in errors.CORPUS.items()},
    **{f"structures.{k}": v for k, v in structures.CORPUS.items()},
    **{f"lambda_runtime.{k}": v for k, v in lambda_runtime.CORPUS.items()},
    # Handlers under a test's own tooling (mocks, Stubber), whose before_run starts patches.
    **{f"tooling.{k}": v for k, v in tooling.CORPUS.items()},
    # Production-scale habits at their smallest sizes (the campaigns run them full size).
    **{f"scale.{k}": {**v, "input": scale.SMALL[k]} for k, v in scale.CORPUS.items()},
    # File-system serdes, previews, the extension API, terminal_scope, recurse; the big
    # payloads at their smallest sizes (the campaigns file, overflow and summarise them).
    **{
        f"serdes_extensions.{k}": {**v, "input": serdes_extensions.SMALL.get(k, v["input"])}
        for k, v in serdes_extensions.CORPUS.items()
    },
    # Module state per sandbox: caches, clients, flags, configuration read at import.
    **{f"sandbox_lifecycle.{k}": v for k, v in sandbox_lifecycle.CORPUS.items()},
    # asyncio's own tools in step bodies: context variables, task groups, time-outs, queues.
    **{f"asyncio_ecosystem.{k}": v for k, v in asyncio_ecosystem.CORPUS.items()},
    # Systems of record in real files: sqlite, JSON by rename, CSV, shelve (reset per run).
    **{f"data_stores.{k}": v for k, v in data_stores.CORPUS.items()},
    # Powertools for AWS Lambda: Logger and Metrics layers, idempotency, Parser, parameters.
    **{f"powertools.{k}": v for k, v in powertools.CORPUS.items()},
    # Custom and first-success completion, all-or-none batches, the map item context.
    **{f"batches.{k}": v for k, v in batches.CORPUS.items()},
    # Retries, back-off, rate limits, breakers and TTL caches, some kept in module state.
    **{f"resilience.{k}": v for k, v in resilience.CORPUS.items()},
    # Agent loops: a sampling model whose random tool-call ids name the steps, fan-outs, a
    # human's approval, a rate-limited model, streaming, memory, sub-agents.
    **{f"agents.{k}": v for k, v in agents.CORPUS.items()},
    # Telemetry: spans, metrics and log lines, random trace ids and a sampler's coin outside
    # every step, exporter threads of their own, a step named after a checkpointed trace id.
    **{f"observability.{k}": v for k, v in observability.CORPUS.items()},
    # Credentials: JWT expiry and not-before claims, Fernet tokens, signed receipts checked
    # against a tolerance, idempotency keys from the execution ARN, signed requests.
    **{f"credentials.{k}": v for k, v in credentials.CORPUS.items()},
    # Data crunching: pandas and polars frames in steps, numpy draws from fresh entropy and
    # from a sandbox's generator, numpy arrays and msgspec structs through SerDes of the user's.
    **{f"dataframes.{k}": v for k, v in dataframes.CORPUS.items()},
    # SQLAlchemy: a pooled engine in module state, version conflicts, a flush listener,
    # thread-local sessions, the asyncio extension on aiosqlite.
    **{f"orm.{k}": v for k, v in orm.CORPUS.items()},
}


@pytest.mark.parametrize("name", sorted(USER_CORPUS))
def test_correct_handlers_replay_clean_against_their_own_faulted_histories(name: str) -> None:
    # Histories recorded under faults and timings (crashes, lost invocations, retries, late
    # answers); the code did not change, so the gate must never flag one.
    spec = USER_CORPUS[name]
    strategy = scenarios(spec)

    @settings(
        max_examples=4,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink],
    )
    @given(strategy)
    def replays_clean(scenario: Scenario) -> None:
        outcome = scenario.run()
        if spec.get("before_run"):
            spec["before_run"]()  # the fakes start from where the recorded run started
        report = replay(spec["handler"], outcome.result, raise_on_divergence=False)
        assert report.ok, f"{report}\n{outcome.report()}"

    try:
        replays_clean()
    finally:
        tooling.stop_patches()  # no test's patch outlives it


@given(durable_scenarios())
def test_random_programs_replay_clean_against_their_own_history(scenario: Scenario) -> None:
    # Random durable programs (maps, parallels, callbacks, invokes, retries, unawaited
    # operations) under random faults and timings: the code did not change, so the gate must
    # never flag it, whatever the world did to the recorded run.
    outcome = scenario.run()
    report = replay(scenario.handler, outcome.result, raise_on_divergence=False)
    assert report.ok, f"{report}\n{outcome.report()}"


def test_a_context_rebuilt_from_its_children_replays_clean() -> None:
    # A child context whose result is over 256 KB is checkpointed as its summary with
    # ReplayChildren, and the SDK replays its children to rebuild the result. The history's
    # ContextSucceeded carries the summary and not the flag: the gate handed the handler the
    # summary as the result, and called the correct handler divergent (oracle bug 24). A
    # runner's result knows the flag; for the events alone (an AWS export, a saved history)
    # the gate replays a divergent history again with every completed context rebuilt from
    # its children, and says so.
    spec = {**serdes_extensions.CORPUS["child_summary"], "input": {"warehouses": ["a", "b"]}}
    outcome = Scenario(handler=spec["handler"], input=spec["input"]).run()
    [inventory] = [op for op in outcome.result.get_all_operations() if op.raw.name == "inventory"]
    assert inventory.replay_children
    with_flags = replay(spec["handler"], outcome.result, raise_on_divergence=False)
    assert with_flags.ok
    assert not with_flags.notes
    for bare in (outcome.result.history, {"Events": outcome.result.history}):
        events_only = replay(spec["handler"], bare, raise_on_divergence=False)
        assert events_only.ok, str(events_only)
        assert "rebuilt from its children" in str(events_only)


def test_rebuilding_contexts_from_their_children_does_not_hide_a_divergence() -> None:
    # The second chance of a bare history rebuilds every completed context; a handler that
    # changed its decisions after the context still diverges, and the first report stands.
    spec = {**serdes_extensions.CORPUS["child_summary"], "input": {"warehouses": ["a", "b"]}}
    outcome = Scenario(handler=spec["handler"], input=spec["input"]).run()
    report = replay(h.fan_out, outcome.result.history, raise_on_divergence=False)
    assert not report.ok
    assert not report.notes


def test_a_flat_map_replays_clean_and_a_change_in_it_still_diverges() -> None:
    # The items of a NestingType.FLAT map run in virtual child contexts, which the SDK never
    # checkpoints. The SDK adapter reported them as operations the handler asked for, and
    # the gate, finding no such operation in the history, called every FLAT map divergent,
    # fault-free (found by the session-26 audit N, asyncio_ecosystem.scoped_log_context).
    outcome = Scenario(handler=h.flat_map, input={"skus": ["mug", "rug"]}).run()
    assert outcome.value == ["packed-mug", "packed-rug"]
    outcome.check()
    report = replay(h.flat_map, outcome.result, raise_on_divergence=False)
    assert report.ok, str(report)
    changed = replay(h.changed_flat_map, outcome.result, raise_on_divergence=False)
    assert not changed.ok
    assert "box-mug" in str(changed)


def test_replay_accepts_a_result_a_list_and_a_response() -> None:
    with DurableFunctionTestRunner(h.fan_out) as runner:
        result = runner.run({"run": "shapes"})
    for history in (result, result.history, {"Events": result.history}, result.events):
        report = replay(h.fan_out, history)
        assert isinstance(report, ReplayReport)
        assert report.ok


# --- the corpus format ------------------------------------------------------------------


def test_saved_files_round_trip_with_triage(tmp_path: Path) -> None:
    entry = load(SHIPPING)
    triage = Triage(found="2026-12-03", seed="1234", oracle="outcome", fixed_in="abc123")
    path = save_history(
        tmp_path / "found.json",
        entry.events,
        handler="tests.replay.handlers:shipping",
        kind="scenario",
        description="found by a campaign",
        triage=triage,
    )
    again = load(path)
    assert again.events == entry.events
    assert again.triage == triage
    assert again.kind == "scenario"
    data = json.loads(path.read_text())
    assert data["format"] == "async-durable-execution-runner/replay"
    assert data["version"] == 1
    assert data["triage"] == {
        "found": "2026-12-03",
        "seed": "1234",
        "oracle": "outcome",
        "fixed_in": "abc123",
    }
    # Stable: saving again writes the same bytes (a diff shows only real changes).
    before = path.read_text()
    save_history(path, again.events, handler="tests.replay.handlers:shipping", kind="scenario",
         description="found by a campaign", triage=triage)  # fmt: skip
    assert path.read_text() == before
    assert replay_file(path).ok


def test_a_harness_run_saves_as_a_scenario_file(tmp_path: Path) -> None:
    from async_durable_execution_runner import save_outcome
    from async_durable_execution_runner.scenarios import crash

    outcome = Scenario(
        handler=h.fan_out, input={"run": "saved"}, faults=(crash(invocation=2, call=1),)
    ).run()
    path = save_outcome(
        tmp_path / "crash.json", outcome, found="2026-12-03", seed="@seed(1)", oracle="liveness"
    )
    entry = load(path)
    assert entry.kind == "scenario"
    assert entry.handler == "tests.replay.handlers:fan_out"
    assert entry.triage == Triage(found="2026-12-03", seed="@seed(1)", oracle="liveness")
    assert "crash(invocation=2, call=1)" in entry.description
    assert replay_file(path).ok  # the crash was the world's doing: the code replays clean


def test_unknown_versions_and_fields_are_refused(tmp_path: Path) -> None:
    data = json.loads(SHIPPING.read_text())
    data["version"] = 2
    (tmp_path / "v2.json").write_text(json.dumps(data))
    with pytest.raises(HistoryFormatError, match="version 2 is not supported"):
        load(tmp_path / "v2.json")
    data["version"] = 1
    data["triage"]["priority"] = "high"
    (tmp_path / "extra.json").write_text(json.dumps(data))
    with pytest.raises(HistoryFormatError, match="unknown triage field"):
        load(tmp_path / "extra.json")


def test_a_bare_export_needs_a_handler(tmp_path: Path) -> None:
    with pytest.raises(HistoryFormatError, match="no handler to replay against"):
        replay_file(CORPUS / "shipping_cli_export.json")


def test_a_truncated_payload_is_refused_with_advice(tmp_path: Path) -> None:
    data = json.loads(SHIPPING.read_text())
    started = data["history"]["Events"][0]
    started["ExecutionStartedDetails"]["Input"]["Truncated"] = True
    (tmp_path / "truncated.json").write_text(json.dumps(data))
    with pytest.raises(HistoryFormatError, match="IncludeExecutionData=true"):
        replay_file(tmp_path / "truncated.json")


def test_not_a_history_is_refused() -> None:
    with pytest.raises(HistoryFormatError, match="GetDurableExecutionHistory"):
        replay(h.shipping, {"Operations": []})
    with pytest.raises(HistoryFormatError, match="starts with ExecutionStarted"):
        replay(h.shipping, json.loads(SHIPPING.read_text())["history"]["Events"][1:])


def test_a_check_failure_replayed_under_another_type_is_noted_not_judged() -> None:
    # SDK finding 8: the check fails live as its own type (here the injected error), which
    # the handler does not catch, and the execution fails; the gate replays the invocation
    # with the check FAILED, the SDK raises CallableRuntimeError, which the handler catches
    # and reports. The same code: the gate notes it instead of calling it a divergence
    # (found when a new fault kind moved the CI's draws onto this history).
    spec = errors.CORPUS["poll_until_done"]
    outcome = Scenario(
        handler=spec["handler"],
        faults=(step_exception(step=2, attempt=1),),
        before_run=spec["before_run"],
    ).run()
    assert outcome.error is not None and outcome.error.type == "InjectedStepError"
    report = replay(spec["handler"], outcome.result, raise_on_divergence=False)
    assert report.ok, str(report)
    (note,) = report.notes
    assert "'await-job' failed as its own type, seen live there" in note
    assert "SDK findings 8 and 16" in note


def test_a_branch_the_replays_batch_decided_without_is_not_a_divergence() -> None:
    # Ten parcels three at a time, the round over at the third damaged one. In invocation 4
    # parcels 4 and 8 retry at the same instant; live, parcel 8's failure was checkpointed
    # before the batch decided, while the replay, handed both failures from the history,
    # decides at parcel 4's and leaves parcel 8's branch unfinished. Which branches in
    # flight end before a completion rule decides is a race (the mirror of a batch the
    # recorded run cut short); the gate called it a divergence (found when a new timing
    # draw, session 37, made the corpus test draw this scenario).
    spec = batches.CORPUS["shipments_over_budget"]
    outcome = Scenario(
        handler=spec["handler"],
        input=spec["input"],
        faults=(step_exception(step=1, attempt=1, times=2),),
        timings=Timings(seed=3912),
    ).run()
    ended = [e.get("Name") for e in outcome.history if e["EventType"] == "ContextFailed"]
    assert ended[-1] == "map-item-8", ended
    report = replay(spec["handler"], outcome.result, raise_on_divergence=False)
    assert report.ok, str(report)
    # A change inside the branches still diverges.
    renamed = replay(h.renamed_delivery_steps, outcome.result, raise_on_divergence=False)
    assert not renamed.ok
    assert "ship-0" in str(renamed)


def test_a_check_failure_a_duplicate_delivery_saw_live_is_noted_not_judged() -> None:
    # Invocation 2's first delivery runs the status check, which fails for good, and dies;
    # its duplicate, running beside it, ran the check itself and failed the execution with
    # the check's own error. The history splits the duplicate off as invocation 3, handed the
    # check already failed, which the SDK raises as CallableRuntimeError (SDK finding 8): the
    # handler catches it there and asks for "tell-ops". Found by a 15-example gate campaign
    # over the corpora (session 37).
    outcome = Scenario(
        handler=errors.poll_until_broken,
        input={"broken": True},
        faults=(
            step_exception(step=2, attempt=1, times=3),
            checkpoint_error(invocation=1, call=2, error="StaleCheckpointToken"),
            duplicate_invocation(invocation=2, after_call=1),
        ),
        timings=Timings(sandboxes=("warm", "cold", "cold", "cold"), seed=10240),
    ).run()
    assert outcome.error is not None and outcome.error.type == "InjectedStepError"
    report = replay(errors.poll_until_broken, outcome.result, raise_on_divergence=False)
    assert report.ok, str(report)
    assert any("'await-job' failed as its own type" in note for note in report.notes)


def test_what_follows_a_batch_decided_with_branches_in_flight_is_noted_not_judged() -> None:
    # Three rates, one failure tolerated; injected failures end two branches while the
    # first, slower by its turns, is in flight: the batch decides without it (its recorded
    # BatchResult lists it CANCELLED) and the handler returns no rate. The replay is handed
    # the first branch's step as it stood at the invocation's end, succeeded, so the batch
    # decides with it and the handler returns one rate (found by a 15-example gate campaign
    # over the corpora, session 37).
    outcome = Scenario(
        handler=structures.partial_branches,
        faults=(step_exception(step=2, attempt=1), step_exception(step=3, attempt=1)),
        timings=Timings(step_turns=(0, 3, 2, 3, 1, 0), seed=4013),
    ).run()
    assert outcome.value["ok"] == []
    batch = next(
        e for e in outcome.history if e.get("Name") == "rates" and "Succeeded" in e["EventType"]
    )
    payload = batch["ContextSucceededDetails"]["Result"]["Payload"]
    assert _sdk_adapter.batch_item_statuses(payload) == ["CANCELLED", "FAILED", "FAILED"]
    report = replay(structures.partial_branches, outcome.result, raise_on_divergence=False)
    assert report.ok, str(report)
    assert any("after 'rates'" in note for note in report.notes)
    # A change before the decision still diverges.
    renamed = replay(h.partial_branches_renamed, outcome.result, raise_on_divergence=False)
    assert not renamed.ok
    assert "quote-EURUSD" in str(renamed)


def test_a_context_started_where_recorded_but_not_replayed_is_not_a_divergence() -> None:
    # From Python 3.12 on the SDK drops a context's START when the invocation suspends
    # before its checkpoint batcher's first turn (SDK finding 18): `shipping`'s second
    # invocation, handed the pending callback, sends nothing there, where the history
    # recorded on 3.11 holds `ContextStarted 'pickup'`. The replay here runs on this
    # interpreter and is then given the events 3.12's SDK sends: all but that START.
    from async_durable_execution_runner._replay import gate
    from async_durable_execution_runner._replay.state import parse_events, split_invocations

    recorded = split_invocations(parse_events(json.loads(SHIPPING.read_text())["history"]))
    second = recorded.invocations[1]
    got = gate._replay_invocation(
        h.shipping, recorded, second, function_name="test-function", timeout=10
    )
    started = [e for e in got.events if e.event_type.value == "ContextStarted"]
    assert [e.name for e in started] in ([], ["pickup"])  # 3.12 on, 3.11
    got.events = [e for e in got.events if e not in started]
    assert gate._Comparison(recorded, second, got).run() is None
    # Not asked for at all, it still diverges there.
    got.requests = [r for r in got.requests if r.identity[2] != "pickup"]
    divergence = gate._Comparison(recorded, second, got).run()
    assert divergence is not None and divergence.event is not None
    assert divergence.event.name == "pickup"
