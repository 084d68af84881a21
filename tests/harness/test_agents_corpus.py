"""The session-43 false-flag audit: correct AI-agent handlers (``examples/agents.py``: a model
that samples, tool calls with random ids that name the steps, tool calls fanned out in a
``map`` and under ``asyncio.gather``, a human's approval with an hour's time-out, a
rate-limited model waited out by the step's retries, a conversation outgrowing its context,
streaming, long-term memory, sub-agents invoked in ``parallel``, draws through the SDK's
``random()``, ``uuid()`` and ``now()``) are flagged by no oracle, warm or cold, under every
fault kind.

``DURABLE_AGENTS_EXAMPLES=300`` runs the campaign (or ``benchmarks/same_world.py --corpus
agents --plans all``).
"""

from __future__ import annotations

import os
import re
from typing import Any

import agents
import agents_model_server as model_api
import agents_services as services
import pytest
from corpus import check_every, fault_free, returns_fault_free_warm_and_cold, scenarios, step_events

from async_durable_execution_runner.scenarios import (
    Outcome,
    Scenario,
    Timings,
    callback_timeout,
    crash,
)
from async_durable_execution_runner.strategies import fault_plans

CORPUS = agents.CORPUS
weather = services.weather
CITIES = ["Oslo", "Rome", "Cairo"]
WARMEST = max(CITIES, key=lambda city: (weather(city)["celsius"], city))

#: What each entry returns without faults: a function of its input only, however the model
#: words its answers and whatever ids it gives its tool calls.
EXPECTED: dict[str, Any] = {
    "react_trip_planner": {
        "tools": ["weather", "calculator"],
        "celsius": weather("Lisbon")["celsius"],
        "budget": 405,
        "answered": True,
    },
    "parallel_tool_calls_in_a_map": {"warmest": WARMEST, "cities": CITIES},
    "gathered_tool_calls": {"warmest": WARMEST, "cities": CITIES},
    "refund_after_human_approval": {
        "refunded": True,
        "cents": services.order_total("ord-77"),
        "reason": "approved",
    },
    "rate_limited_model": {"celsius": weather("Quito")["celsius"], "turns": 3},
    "research_with_summaries": {"read": 5, "summaries": 2, "first": "[solar-0] 9e4118031b"},
    "streamed_answer": {"ends": f"{weather('Nairobi')['celsius']} degrees.", "conversation": 36},
    "remembers_preferences": {"recalled": ["flies from LIS", "vegetarian", "window seat"]},
    "researchers_in_parallel": {"warmest": WARMEST, "budgets": [405, 405, 405]},
    "sampled_prompt_variant": {
        "variant": "concise or detailed",
        "celsius": weather("Lima")["celsius"],
        "conversation_has_start": True,
    },
    "turns_in_child_contexts": {"turns": 3, "celsius": weather("Hanoi")["celsius"]},
    "batch_inference_job": {
        "answers": ["29d5fcb5", "03b4970f", "33207990"],
        "job_is_ours": True,
    },
    "slow_tool_with_a_deadline": {"source": "live or cache", "hits": 3, "asked_for": ["weather"]},
    "openai_tool_loop": {"celsius": weather("Lisbon")["celsius"], "budget": 405, "turns": 3},
    "openai_streamed_reply": {"warmest": WARMEST, "streamed": True},
    "openai_429_by_durable_retries": {"celsius": weather("Quito")["celsius"], "budget": 405},
}


def _same_but_the_variant(expected: Any, value: Any) -> bool:
    """The A/B variant is drawn (through the SDK's ``random()``): either is right."""
    return value["variant"] in ("concise", "detailed") and {**value, "variant": None} == {
        **expected,
        "variant": None,
    }


def _live_or_cached(expected: Any, value: Any) -> bool:
    """The search's latency is drawn: in time, three live hits; too late, the cached one."""
    hits = {"live": 3, "cache": 1}.get(value["source"])
    return value["hits"] == hits and value["asked_for"] == expected["asked_for"]


#: Entries whose value is compared otherwise than by ``==``.
SAME: dict[str, Any] = {
    "sampled_prompt_variant": _same_but_the_variant,
    "slow_tool_with_a_deadline": _live_or_cached,
}


def test_every_entry_has_an_expected_result() -> None:
    assert sorted(EXPECTED) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_entry_returns_its_result_fault_free_warm_and_cold(name: str) -> None:
    returns_fault_free_warm_and_cold(CORPUS[name], EXPECTED[name], SAME.get(name))


def _tool_step_names(outcome: Outcome) -> list[str]:
    return [
        event["Name"]
        for event in outcome.history
        if event["EventType"] == "StepStarted" and event.get("Name", "").startswith("tool-")
    ]


def _call_ids_in_replies(outcome: Outcome) -> list[str]:
    """The tool-call ids of every model reply the history checkpointed, in order."""
    ids = []
    for event in outcome.history:
        if event["EventType"] == "StepSucceeded" and event.get("Name", "").startswith("think-"):
            payload = event["StepSucceededDetails"]["Result"]["Payload"]
            ids.extend(re.findall(r"call_[0-9a-f]{24}", payload))
    return ids


def test_tool_steps_are_named_after_the_checkpointed_reply_s_random_ids() -> None:
    """Every run draws new ids; the steps of a run carry the ids of the replies that run
    checkpointed, so a replay finds every tool step where the first run left it."""
    first = fault_free(CORPUS["react_trip_planner"]).run()
    second = fault_free(CORPUS["react_trip_planner"]).run()
    names = _tool_step_names(first)
    assert names == [f"tool-{call}" for call in _call_ids_in_replies(first)]
    assert len(names) == 2
    assert names != _tool_step_names(second)  # the model sampled afresh


@pytest.mark.parametrize("call", [1, 2, 3])
def test_a_sandbox_lost_after_a_reply_replays_the_checkpointed_ids(call: int) -> None:
    """The sandbox dies with the k-th checkpoint call; the next invocation replays the replies
    checkpointed before it (their ids name the tool steps) and draws afresh only what was
    lost: the history still names each tool step after a checkpointed reply's call."""
    spec = CORPUS["react_trip_planner"]
    outcome = Scenario(
        handler=spec["handler"],
        input=spec["input"],
        faults=(crash(invocation=1, call=call),),
        before_run=spec["before_run"],
    ).run()
    assert outcome.value == EXPECTED["react_trip_planner"]
    assert set(_tool_step_names(outcome)) <= {f"tool-{c}" for c in _call_ids_in_replies(outcome)}
    outcome.check()


def test_the_map_names_each_item_after_its_tool_call() -> None:
    outcome = fault_free(CORPUS["parallel_tool_calls_in_a_map"]).run()
    contexts = [
        event["Name"]
        for event in outcome.history
        if event["EventType"] == "ContextStarted" and event.get("Name", "").startswith("tool-")
    ]
    assert contexts == [f"tool-{call}" for call in _call_ids_in_replies(outcome)]
    outcome.check()


def test_the_think_step_s_own_retries_wait_out_the_rate_limit() -> None:
    """The model API refuses the conversation for 12 s: the first think step's attempts at 0,
    5 and 12.5 s, the third answered; later turns go straight through."""
    outcome = fault_free(CORPUS["rate_limited_model"]).run()
    assert step_events(outcome, "think-0") == [
        "StepStarted",
        "StepFailed",
        "StepStarted",
        "StepFailed",
        "StepStarted",
        "StepSucceeded",
    ]
    assert step_events(outcome, "think-1") == ["StepStarted", "StepSucceeded"]
    outcome.check()


def _one_refund_at_most(outcome: Outcome) -> None:
    refunds = list(services.REFUNDS.values())
    if outcome.value is not None and outcome.value["refunded"]:
        assert len(refunds) == 1, refunds
        assert refunds[0]["cents"] == outcome.value["cents"]
    else:
        assert refunds == []


def test_the_refund_is_made_once_from_every_crash_point() -> None:
    """A refund step run again after its sandbox died sends the same idempotency key (the
    checkpointed tool call's id): the payments API makes one refund whatever crashed where."""
    spec = CORPUS["refund_after_human_approval"]
    Scenario(
        handler=spec["handler"],
        input=spec["input"],
        callback_payloads={k: (v,) for k, v in spec["callbacks"].items()},
        before_run=spec["before_run"],
    ).crash_points(budget=None, invariant=_one_refund_at_most).check()


def test_an_approval_that_never_comes_tells_the_model_and_refunds_nothing() -> None:
    spec = CORPUS["refund_after_human_approval"]
    outcome = Scenario(
        handler=spec["handler"],
        input=spec["input"],
        faults=(callback_timeout(callback=1),),
        before_run=spec["before_run"],
    ).run()
    assert outcome.value == {"refunded": False, "cents": 0, "reason": "CallbackError"}
    assert services.REFUNDS == {}
    assert len(services.INBOX) == 1  # the human was asked once
    outcome.check()


def test_the_conversation_is_summarised_when_it_outgrows_its_budget() -> None:
    outcome = fault_free(CORPUS["research_with_summaries"]).run()
    summarised = [
        event["Name"]
        for event in outcome.history
        if event["EventType"] == "StepSucceeded" and event["Name"].startswith("summarise-")
    ]
    assert len(summarised) == 2
    outcome.check()


def test_every_streamed_chunk_reaches_the_client() -> None:
    outcome = fault_free(CORPUS["streamed_answer"]).run()
    ((conversation, chunks),) = services.PUSHED.items()
    assert "".join(chunks).endswith(EXPECTED["streamed_answer"]["ends"])
    assert len(conversation) == 36  # the SDK's checkpointed uuid
    outcome.check()


def test_the_batch_job_is_polled_until_it_completes() -> None:
    """Submitted once; polled at once and at 5, 15 and 35 s (in progress), then at 55 s
    (completed): the job takes 40 s on the wall clock, which the waits move."""
    outcome = fault_free(CORPUS["batch_inference_job"]).run()
    assert len(services.JOBS) == 1
    assert step_events(outcome, "batch-status") == ["StepStarted", "StepSucceeded"] * 5
    outcome.check()


def test_a_search_too_slow_for_its_deadline_is_answered_from_the_cache() -> None:
    """Both branches of the step occur over the draws the harness makes."""
    spec = CORPUS["slow_tool_with_a_deadline"]
    sources = set()
    for seed in range(12):
        outcome = Scenario(
            handler=spec["handler"],
            input=spec["input"],
            before_run=spec["before_run"],
            timings=Timings(seed=seed),
        ).run()
        assert _live_or_cached(EXPECTED["slow_tool_with_a_deadline"], outcome.value)
        sources.add(outcome.value["source"])
        outcome.check()
    assert sources == {"live", "cache"}


def test_the_openai_client_s_own_retries_absorb_the_429s() -> None:
    """The API refuses a conversation's first two requests; the client retries after each
    ``Retry-After: 1`` (on the loop's virtual clock) inside the first think step's attempt."""
    outcome = fault_free(CORPUS["openai_tool_loop"]).run()
    assert step_events(outcome, "think-0") == ["StepStarted", "StepSucceeded"]
    assert [status for _, _, status in model_api.REQUESTS] == [429, 429, 200, 200, 200]
    outcome.check()


def test_a_429_the_client_does_not_retry_is_the_step_s_durable_retry() -> None:
    outcome = fault_free(CORPUS["openai_429_by_durable_retries"]).run()
    assert step_events(outcome, "think-0") == [
        "StepStarted",
        "StepFailed",
        "StepStarted",
        "StepFailed",
        "StepStarted",
        "StepSucceeded",
    ]
    outcome.check()


def test_the_streamed_reply_arrives_over_server_sent_events() -> None:
    outcome = fault_free(CORPUS["openai_streamed_reply"]).run()
    assert [streaming for _, streaming, status in model_api.REQUESTS if status == 200] == [
        False,
        False,
        True,
    ]
    outcome.check()


@pytest.mark.parametrize(
    "name",
    [
        "openai_tool_loop",
        "openai_streamed_reply",
        "react_trip_planner",
        "gathered_tool_calls",
        "streamed_answer",
        "turns_in_child_contexts",
        "batch_inference_job",
    ],
)
def test_every_crash_point_passes(name: str) -> None:
    spec = CORPUS[name]
    Scenario(
        handler=spec["handler"], input=spec["input"], before_run=spec["before_run"]
    ).crash_points(budget=None).check()


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_AGENTS_EXAMPLES", "0"))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_default_fault_plan_flags_an_agent(name: str) -> None:
    strategy = scenarios(CORPUS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)
