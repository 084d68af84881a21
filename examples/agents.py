"""Correct AI-agent handlers: the loops people put on durable functions (the session-43
false-flag audit).

An agent calls a model that samples, acts on the tool calls it asks for, and feeds the results
back until the model answers. Every model answer differs from run to run (wording, and a
fresh random id for every tool call), and agents name their durable operations after those
ids, fan tool calls out concurrently, wait for a human, stream, and carry a conversation that
grows by large tool results. Each model call is a step, so every replay acts on the answer
that was checkpointed:

- ``react_trip_planner``: the classic loop (think, call the tools asked for, think again),
  the conversation's id drawn with the SDK's own ``uuid()``, each reply validated with
  ``pydantic`` and each tool call a step named after the call's random id;
- ``parallel_tool_calls_in_a_map``: one reply asking for three tools at once, run by
  ``map`` with an ``item_namer`` that names each item after its call id;
- ``gathered_tool_calls``: the same three calls as concurrent steps under
  ``asyncio.gather`` in the root context;
- ``refund_after_human_approval``: a refund the model asks for waits for a human's approval
  (``wait_for_callback``, an hour's time-out, the request posted to an inbox under the
  callback's id), then runs with the tool call's id as the payments API's idempotency key;
  unapproved or timed out, the model is told so;
- ``rate_limited_model``: the model API refuses a new conversation for its first 12 s on the
  wall clock; the think step's own retries (5 s, then 7.5 s) wait it out;
- ``research_with_summaries``: five 12 KB documents read into the conversation; when it
  passes its token budget a summarising step shortens the old tool results;
- ``streamed_answer``: the final answer streamed chunk by chunk inside a step (an
  ``asyncio.timeout`` around it, a pause per chunk, each chunk pushed to the client as it
  comes);
- ``remembers_preferences``: facts written to a long-term memory as upserts keyed by the
  conversation and the fact, then recalled;
- ``researchers_in_parallel``: an orchestrator that invokes a researcher agent (a durable
  function of its own) per city, in ``parallel``;
- ``sampled_prompt_variant``: an A/B prompt variant and the conversation's start time drawn
  outside steps with the SDK's checkpointed ``random()`` and ``now()``;
- ``turns_in_child_contexts``: each turn of the loop a child context of its own
  (``run_in_child_context``, named after the turn), the conversation passed between them;
- ``batch_inference_job``: prompts submitted as a batch job (a new job id per submission),
  polled with ``wait_for_condition`` on the handler's own back-off until the job completes
  40 s later on the wall clock;
- ``slow_tool_with_a_deadline``: a search tool whose latency is drawn (0.5 to 3 s) run under
  ``asyncio.wait_for(..., 2)`` inside the step; a search that misses its deadline is answered
  from a cached fallback, so the step's value depends on the draw;
- ``openai_tool_loop``: the loop through the ``openai`` package's ``AsyncOpenAI`` client, made
  at import and kept by a warm sandbox (its ``httpx`` pool reused across steps and
  invocations), against a chat-completions API on loopback (``agents_model_server.py``) that
  refuses each conversation's first two requests with ``429``: the client's own retries
  (``Retry-After: 1``) get through within one step attempt;
- ``openai_streamed_reply``: the final reply streamed (``stream=True``: server-sent events
  over chunked HTTP, real milliseconds apart) and read with ``async for`` inside a step;
- ``openai_429_by_durable_retries``: a client without retries of its own (``max_retries=0``):
  the ``RateLimitError`` fails the step's attempt, and the step's durable retries, 2 s apart,
  get through.

Every one is correct durable code: what each returns is a function of its input and of the
answers it checkpointed, and every effect on a partner is keyed (refunds, memory) or only
shown to a user (streamed chunks). No oracle may flag any of them under any fault plan or
timing (``tests/harness/test_agents_corpus.py`` at CI size; ``benchmarks/same_world.py
--corpus agents`` is the long campaign).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any, Literal

import agents_model_server as model_api
import agents_services as services
from agents_services import ContentFiltered, RateLimited
from async_durable_execution import (
    CallbackError,
    JitterStrategy,
    RetryStrategy,
    durable_execution,
    get_wait_for_callback_context,
    get_wait_for_condition_check_context,
    invoke,
    now,
    parallel,
    run_in_child_context,
    step,
    wait_for_callback,
    wait_for_condition,
)
from async_durable_execution import map as durable_map
from async_durable_execution import random as durable_random
from async_durable_execution import uuid as durable_uuid
from openai import AsyncOpenAI, RateLimitError
from pydantic import BaseModel, Field

__all__ = ["CORPUS", "reset"]

reset = services.reset


class ToolCall(BaseModel):
    id: str = Field(pattern=r"^call_[0-9a-f]{24}$")
    name: Literal["weather", "calculator", "refund", "read", "remember", "recall"]
    arguments: dict[str, Any]


class AssistantMessage(BaseModel):
    role: Literal["assistant"]
    content: str
    tool_calls: list[ToolCall]
    temperature: float


def _think(conversation: str, messages: list[dict[str, Any]], *, limited: bool = False) -> Any:
    """A step body: the model's next message (its dict: what the step checkpoints)."""

    async def body() -> dict[str, Any]:
        # The model reads the conversation as it stands when it is called: a copy, since the
        # caller goes on appending to it.
        sent = [dict(message) for message in messages]
        if limited:
            return services.complete_rate_limited(conversation, sent)
        return services.complete(conversation, sent)

    return body


def _run_tool(conversation: str, call: ToolCall) -> Any:
    """A step body that runs one tool call."""

    async def body() -> Any:
        args = call.arguments
        if call.name == "weather":
            return services.weather(args["city"])
        if call.name == "calculator":
            return services.calculator(args["expression"])
        if call.name == "read":
            return services.read_document(args["document"])
        if call.name == "remember":
            fact = args["fact"]
            digest = hashlib.sha256(fact.encode()).hexdigest()[:12]
            services.remember(f"{conversation}:preferences:{digest}", fact)
            return "ok"
        if call.name == "recall":
            return services.recall(f"{conversation}:{args['topic']}")
        msg = f"no tool {call.name!r} runs unattended"
        raise ContentFiltered(msg)

    return body


def _tool_message(call: ToolCall, result: Any) -> dict[str, Any]:
    return {
        "role": "tool",
        "tool_call_id": call.id,
        "name": call.name,
        "content": result if isinstance(result, str) else json.dumps(result),
    }


async def _agent_loop(
    conversation: str,
    task: str,
    *,
    max_turns: int = 8,
    limited: bool = False,
) -> tuple[list[dict[str, Any]], AssistantMessage]:
    """Think, run the tools asked for (one step each, named after the call), until the model
    answers: the conversation and the answer."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": task}]
    for turn in range(max_turns):
        reply = AssistantMessage.model_validate(
            await step(
                _think(conversation, messages, limited=limited),
                name=f"think-{turn}",
                retry_strategy=MODEL_RETRIES if limited else None,
            )
        )
        messages.append(reply.model_dump())
        if not reply.tool_calls:
            return messages, reply
        for call in reply.tool_calls:
            result = await step(_run_tool(conversation, call), name=f"tool-{call.id}")
            messages.append(_tool_message(call, result))
    msg = f"no answer after {max_turns} turns"
    raise RuntimeError(msg)


def _tool_results(messages: list[dict[str, Any]], name: str) -> list[Any]:
    return [json.loads(m["content"]) for m in messages if m["role"] == "tool" and m["name"] == name]


# --- the loop ---------------------------------------------------------------------------------


@durable_execution
async def react_trip_planner(event: Any) -> dict[str, Any]:
    conversation = str(await durable_uuid(name="conversation"))
    messages, answer = await _agent_loop(conversation, f"trip:{event['city']}")
    (forecast,) = _tool_results(messages, "weather")
    (budget,) = _tool_results(messages, "calculator")
    return {
        "tools": [m["name"] for m in messages if m["role"] == "tool"],
        "celsius": forecast["celsius"],
        "budget": budget,
        "answered": bool(answer.content),
    }


# --- tool calls at once -----------------------------------------------------------------------


async def _first_reply(conversation: str, task: str) -> tuple[list[dict[str, Any]], list[ToolCall]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": task}]
    reply = AssistantMessage.model_validate(
        await step(_think(conversation, messages), name="think-0")
    )
    messages.append(reply.model_dump())
    return messages, reply.tool_calls


async def _final_reply(conversation: str, messages: list[dict[str, Any]]) -> AssistantMessage:
    return AssistantMessage.model_validate(
        await step(_think(conversation, messages), name="think-final")
    )


def _warmest(forecasts: list[dict[str, Any]]) -> str:
    return str(max(forecasts, key=lambda f: (f["celsius"], f["city"]))["city"])


@durable_execution
async def parallel_tool_calls_in_a_map(event: Any) -> dict[str, Any]:
    conversation = str(await durable_uuid(name="conversation"))
    messages, calls = await _first_reply(conversation, "compare:" + ",".join(event["cities"]))

    async def run(call: ToolCall) -> Any:
        return await step(_run_tool(conversation, call), name="run")

    batch = await durable_map(
        run,
        calls,
        name="tools",
        max_concurrency=2,
        item_namer=lambda call, index: f"tool-{call.id}",
    )
    forecasts = batch.get_results()
    for call, forecast in zip(calls, forecasts, strict=True):
        messages.append(_tool_message(call, forecast))
    await _final_reply(conversation, messages)
    return {"warmest": _warmest(forecasts), "cities": [f["city"] for f in forecasts]}


@durable_execution
async def gathered_tool_calls(event: Any) -> dict[str, Any]:
    conversation = str(await durable_uuid(name="conversation"))
    messages, calls = await _first_reply(conversation, "compare:" + ",".join(event["cities"]))
    forecasts = await asyncio.gather(
        *(step(_run_tool(conversation, call), name=f"tool-{call.id}") for call in calls)
    )
    for call, forecast in zip(calls, forecasts, strict=True):
        messages.append(_tool_message(call, forecast))
    await _final_reply(conversation, messages)
    return {"warmest": _warmest(list(forecasts)), "cities": [f["city"] for f in forecasts]}


# --- a human in the loop ----------------------------------------------------------------------


def _ask_for_approval(call: ToolCall) -> Any:
    async def submit() -> str:
        services.post_approval(
            get_wait_for_callback_context().callback_id,
            {
                "tool_call": call.id,
                "order": call.arguments["order"],
                "cents": call.arguments["cents"],
            },
        )
        return "posted"

    return submit


@durable_execution
async def refund_after_human_approval(event: Any) -> dict[str, Any]:
    conversation = str(await durable_uuid(name="conversation"))
    messages, calls = await _first_reply(conversation, f"refund:{event['order']}")
    (call,) = calls
    try:
        answer = await wait_for_callback(
            _ask_for_approval(call), name="approve-refund", timeout=3600
        )
        approved = bool(json.loads(answer).get("approved")) if answer else False
        reason = "approved" if approved else "declined"
    except CallbackError as error:
        approved, reason = False, type(error).__name__
    if approved:

        async def make_refund() -> dict[str, Any]:
            return services.refund(
                call.arguments["order"], call.arguments["cents"], idempotency_key=call.id
            )

        receipt = await step(make_refund, name=f"tool-{call.id}")
        messages.append(_tool_message(call, receipt))
    else:
        messages.append(_tool_message(call, {"error": f"not approved: {reason}"}))
    await _final_reply(conversation, messages)
    return {
        "refunded": approved,
        "cents": call.arguments["cents"] if approved else 0,
        "reason": reason,
    }


# --- a rate-limited model ---------------------------------------------------------------------

#: The think step's own retries wait out the model API's 12 s quota window: 5 s, then 7.5 s.
MODEL_RETRIES = RetryStrategy(
    max_attempts=6,
    initial_delay=5,
    backoff_rate=1.5,
    jitter_strategy=JitterStrategy.NONE,
    retryable_error_types=[RateLimited],
)


@durable_execution
async def rate_limited_model(event: Any) -> dict[str, Any]:
    conversation = str(await durable_uuid(name="conversation"))
    messages, _ = await _agent_loop(conversation, f"trip:{event['city']}", limited=True)
    (forecast,) = _tool_results(messages, "weather")
    turns = sum(m["role"] == "assistant" for m in messages)
    return {"celsius": forecast["celsius"], "turns": turns}


# --- a conversation that outgrows its context -------------------------------------------------

#: About four characters a token; the budget is about 6,000 tokens.
TOKEN_BUDGET = 6_000


def _tokens(messages: list[dict[str, Any]]) -> int:
    return sum(len(m["content"]) for m in messages) // 4


def _summarise(messages: list[dict[str, Any]]) -> Any:
    async def body() -> list[dict[str, Any]]:
        # The model's summary of each document read so far: its first line and a digest.
        shortened = []
        for message in messages:
            content = message["content"]
            if message["role"] == "tool" and len(content) > 200:
                digest = hashlib.sha256(content.encode()).hexdigest()[:16]
                shortened.append({**message, "content": content[:60] + f"... ({digest})"})
            else:
                shortened.append(message)
        return shortened

    return body


@durable_execution
async def research_with_summaries(event: Any) -> dict[str, Any]:
    conversation = str(await durable_uuid(name="conversation"))
    messages: list[dict[str, Any]] = [{"role": "user", "content": f"research:{event['topic']}"}]
    summaries = 0
    for turn in range(10):
        if _tokens(messages) > TOKEN_BUDGET:
            messages = await step(_summarise(messages), name=f"summarise-{turn}")
            summaries += 1
        reply = AssistantMessage.model_validate(
            await step(_think(conversation, messages), name=f"think-{turn}")
        )
        messages.append(reply.model_dump())
        if not reply.tool_calls:
            break
        for call in reply.tool_calls:
            document = await step(_run_tool(conversation, call), name=f"tool-{call.id}")
            messages.append(_tool_message(call, document))
    read = [m["content"][:60] for m in messages if m["role"] == "tool"]
    return {"read": len(read), "summaries": summaries, "first": read[0][:20]}


# --- streaming --------------------------------------------------------------------------------


def _stream_answer(conversation: str, messages: list[dict[str, Any]], celsius: int) -> Any:
    async def body() -> str:
        reply = services.complete(conversation, [dict(m) for m in messages])
        text = f"{reply['content']} It will be {celsius} degrees."
        received = []
        async with asyncio.timeout(30):
            for chunk in services.stream_chunks(text):
                await asyncio.sleep(0.05)  # the next chunk's latency
                services.push(conversation, chunk)
                received.append(chunk)
        return "".join(received)

    return body


@durable_execution
async def streamed_answer(event: Any) -> dict[str, Any]:
    conversation = str(await durable_uuid(name="conversation"))
    messages: list[dict[str, Any]] = [{"role": "user", "content": f"trip:{event['city']}"}]
    reply = AssistantMessage.model_validate(
        await step(_think(conversation, messages), name="think-0")
    )
    messages.append(reply.model_dump())
    (call,) = reply.tool_calls
    forecast = await step(_run_tool(conversation, call), name=f"tool-{call.id}")
    messages.append(_tool_message(call, forecast))
    text = await step(
        _stream_answer(conversation, messages, forecast["celsius"]), name="stream-answer"
    )
    return {"ends": text.rsplit(" It will be ", 1)[1], "conversation": len(conversation)}


# --- long-term memory -------------------------------------------------------------------------


@durable_execution
async def remembers_preferences(event: Any) -> dict[str, Any]:
    conversation = str(await durable_uuid(name="conversation"))
    messages, _ = await _agent_loop(conversation, "remember:" + ";".join(event["facts"]))
    (recalled,) = _tool_results(messages, "recall")
    return {"recalled": recalled}


# --- sub-agents -------------------------------------------------------------------------------


@durable_execution
async def researcher(event: Any) -> dict[str, Any]:
    """A sub-agent: plans a trip to one city (weather, then the budget)."""
    conversation = str(await durable_uuid(name="conversation"))
    messages, _ = await _agent_loop(conversation, f"trip:{event['city']}")
    (forecast,) = _tool_results(messages, "weather")
    (budget,) = _tool_results(messages, "calculator")
    return {"city": event["city"], "celsius": forecast["celsius"], "budget": budget}


@durable_execution
async def researchers_in_parallel(event: Any) -> dict[str, Any]:
    def ask(city: str) -> Any:
        async def branch() -> Any:
            return await invoke("researcher", {"city": city}, name=f"research-{city}")

        return branch

    batch = await parallel([ask(city) for city in event["cities"]], name="researchers")
    findings = batch.get_results()

    async def pick() -> str:
        return _warmest(findings)

    return {"warmest": await step(pick, name="pick"), "budgets": [f["budget"] for f in findings]}


# --- draws outside steps, through the SDK -----------------------------------------------------


@durable_execution
async def sampled_prompt_variant(event: Any) -> dict[str, Any]:
    variant = "concise" if await durable_random(name="variant") < 0.5 else "detailed"
    started = await now(name="started")
    conversation = f"{variant}-{started:%Y%m%dT%H%M%S}"
    messages, _ = await _agent_loop(conversation, f"trip:{event['city']}")
    (forecast,) = _tool_results(messages, "weather")
    return {
        "variant": variant,
        "celsius": forecast["celsius"],
        "conversation_has_start": conversation.endswith(f"{started:%H%M%S}"),
    }


# --- a turn per child context -----------------------------------------------------------------


@durable_execution
async def turns_in_child_contexts(event: Any) -> dict[str, Any]:
    conversation = str(await durable_uuid(name="conversation"))
    messages: list[dict[str, Any]] = [{"role": "user", "content": f"trip:{event['city']}"}]

    def turn(number: int, sent: list[dict[str, Any]]) -> Any:
        async def body() -> dict[str, Any]:
            reply = AssistantMessage.model_validate(
                await step(_think(conversation, sent), name="think")
            )
            added = [reply.model_dump()]
            for call in reply.tool_calls:
                result = await step(_run_tool(conversation, call), name=f"tool-{call.id}")
                added.append(_tool_message(call, result))
            return {"added": added, "done": not reply.tool_calls}

        return body

    for number in range(6):
        outcome = await run_in_child_context(turn(number, list(messages)), name=f"turn-{number}")
        messages.extend(outcome["added"])
        if outcome["done"]:
            break
    (forecast,) = _tool_results(messages, "weather")
    return {"turns": number + 1, "celsius": forecast["celsius"]}


# --- a batch job polled to completion ---------------------------------------------------------


async def _job_status(state: Any) -> Any:
    attempt = get_wait_for_condition_check_context().attempt
    return {**services.batch_status(state["job"]), "polls": attempt}


def _until_completed(state: Any, attempt: int) -> int | None:
    if state["status"] == "completed":
        return None
    return min(5 * 2 ** (attempt - 1), 20)


@durable_execution
async def batch_inference_job(event: Any) -> dict[str, Any]:
    prompts = [f"summarise {doc}" for doc in event["documents"]]

    async def submit() -> str:
        return services.submit_batch(prompts)

    job = await step(submit, name="submit-batch")
    final = await wait_for_condition(
        _job_status,
        initial_state={"job": job, "status": "submitted"},
        name="batch-status",
        polling_strategy=_until_completed,
    )
    return {"answers": final["answers"], "job_is_ours": final["job"] == job}


# --- a tool with a deadline -------------------------------------------------------------------


@durable_execution
async def slow_tool_with_a_deadline(event: Any) -> dict[str, Any]:
    query = event["query"]

    async def search() -> dict[str, Any]:
        try:
            hits = await asyncio.wait_for(services.slow_search(query), 2)
            return {"hits": hits, "source": "live"}
        except TimeoutError:
            return {"hits": [f"{query}-cached"], "source": "cache"}

    found = await step(search, name="search")
    conversation = str(await durable_uuid(name="conversation"))
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": f"trip:{query}"},
        {"role": "tool", "name": "search", "tool_call_id": "-", "content": json.dumps(found)},
    ]
    reply = AssistantMessage.model_validate(
        await step(_think(conversation, messages), name="think-0")
    )
    return {
        "source": found["source"],
        "hits": len(found["hits"]),
        "asked_for": [call.name for call in reply.tool_calls],
    }


# --- the openai client ------------------------------------------------------------------------

#: Made at import, as handlers make their clients: a warm sandbox keeps it (and its pool).
MODEL = AsyncOpenAI(base_url=model_api.base_url(), api_key="sk-test", max_retries=2)
#: The same API without the client's own retries: a 429 fails the step's attempt.
MODEL_NO_RETRIES = AsyncOpenAI(base_url=model_api.base_url(), api_key="sk-test", max_retries=0)

TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"the {name} tool",
            "parameters": {"type": "object", "properties": {}, "additionalProperties": True},
        },
    }
    for name in ("weather", "calculator")
]


def _openai_think(
    conversation: str, messages: list[dict[str, Any]], client: AsyncOpenAI = MODEL
) -> Any:
    async def body() -> dict[str, Any]:
        response = await client.chat.completions.create(
            model="gpt-test",
            messages=[dict(m) for m in messages],
            tools=TOOLS,
            extra_headers={"X-Conversation": conversation},
        )
        return response.choices[0].message.model_dump(exclude_none=True)

    return body


async def _openai_loop(
    conversation: str,
    task: str,
    client: AsyncOpenAI = MODEL,
    retry_strategy: Any = None,
) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": task}]
    for turn in range(6):
        reply = await step(
            _openai_think(conversation, messages, client),
            name=f"think-{turn}",
            retry_strategy=retry_strategy,
        )
        messages.append(reply)
        calls = reply.get("tool_calls") or []
        if not calls:
            return messages
        for wire in calls:
            call = ToolCall(
                id=wire["id"],
                name=wire["function"]["name"],
                arguments=json.loads(wire["function"]["arguments"]),
            )
            result = await step(_run_tool(conversation, call), name=f"tool-{call.id}")
            messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}
            )
    msg = "no answer after 6 turns"
    raise RuntimeError(msg)


def _answers_of(messages: list[dict[str, Any]]) -> list[Any]:
    return [json.loads(m["content"]) for m in messages if m["role"] == "tool"]


@durable_execution
async def openai_tool_loop(event: Any) -> dict[str, Any]:
    conversation = str(await durable_uuid(name="conversation"))
    messages = await _openai_loop(conversation, f"trip:{event['city']}")
    forecast, budget = _answers_of(messages)
    return {"celsius": forecast["celsius"], "budget": budget, "turns": len(messages) // 2}


def _streamed(conversation: str, messages: list[dict[str, Any]]) -> Any:
    async def body() -> str:
        parts = []
        async with asyncio.timeout(30):
            stream = await MODEL.chat.completions.create(
                model="gpt-test",
                messages=[dict(m) for m in messages],
                stream=True,
                extra_headers={"X-Conversation": conversation},
            )
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    parts.append(chunk.choices[0].delta.content)
        return "".join(parts)

    return body


@durable_execution
async def openai_streamed_reply(event: Any) -> dict[str, Any]:
    conversation = str(await durable_uuid(name="conversation"))
    messages = await _openai_loop(conversation, f"compare:{','.join(event['cities'])}")
    forecasts = _answers_of(messages)
    # The answer again, streamed to the user this time.
    text = await step(_streamed(conversation, messages[:-1]), name="stream-reply")
    return {"warmest": _warmest(forecasts), "streamed": bool(text)}


#: The step's own retries, 2 s apart, for a client that does not retry.
RETRY_429 = RetryStrategy(
    max_attempts=5,
    initial_delay=2,
    backoff_rate=1,
    jitter_strategy=JitterStrategy.NONE,
    retryable_error_types=[RateLimitError],
)


@durable_execution
async def openai_429_by_durable_retries(event: Any) -> dict[str, Any]:
    conversation = str(await durable_uuid(name="conversation"))
    messages = await _openai_loop(
        conversation, f"trip:{event['city']}", MODEL_NO_RETRIES, retry_strategy=RETRY_429
    )
    forecast, budget = _answers_of(messages)
    return {"celsius": forecast["celsius"], "budget": budget}


def reset_all() -> None:
    services.reset()
    model_api.reset()


CORPUS: dict[str, dict[str, Any]] = {
    "react_trip_planner": {
        "handler": react_trip_planner,
        "input": {"city": "Lisbon"},
        "before_run": reset,
    },
    "parallel_tool_calls_in_a_map": {
        "handler": parallel_tool_calls_in_a_map,
        "input": {"cities": ["Oslo", "Rome", "Cairo"]},
        "before_run": reset,
    },
    "gathered_tool_calls": {
        "handler": gathered_tool_calls,
        "input": {"cities": ["Oslo", "Rome", "Cairo"]},
        "before_run": reset,
    },
    "refund_after_human_approval": {
        "handler": refund_after_human_approval,
        "input": {"order": "ord-77"},
        "callbacks": {"approve-refund": {"approved": True}},
        "before_run": reset,
    },
    "rate_limited_model": {
        "handler": rate_limited_model,
        "input": {"city": "Quito"},
        "before_run": reset,
    },
    "research_with_summaries": {
        "handler": research_with_summaries,
        "input": {"topic": "solar"},
        "before_run": reset,
    },
    "streamed_answer": {
        "handler": streamed_answer,
        "input": {"city": "Nairobi"},
        "before_run": reset,
    },
    "remembers_preferences": {
        "handler": remembers_preferences,
        "input": {"facts": ["window seat", "vegetarian", "flies from LIS"]},
        "before_run": reset,
    },
    "researchers_in_parallel": {
        "handler": researchers_in_parallel,
        "input": {"cities": ["Oslo", "Rome", "Cairo"]},
        "functions": {"researcher": researcher},
        "before_run": reset,
    },
    "sampled_prompt_variant": {
        "handler": sampled_prompt_variant,
        "input": {"city": "Lima"},
        "before_run": reset,
    },
    "turns_in_child_contexts": {
        "handler": turns_in_child_contexts,
        "input": {"city": "Hanoi"},
        "before_run": reset,
    },
    "batch_inference_job": {
        "handler": batch_inference_job,
        "input": {"documents": ["q1", "q2", "q3"]},
        "before_run": reset,
    },
    "slow_tool_with_a_deadline": {
        "handler": slow_tool_with_a_deadline,
        "input": {"query": "Porto"},
        "before_run": reset,
    },
    "openai_tool_loop": {
        "handler": openai_tool_loop,
        "input": {"city": "Lisbon"},
        "before_run": reset_all,
    },
    "openai_streamed_reply": {
        "handler": openai_streamed_reply,
        "input": {"cities": ["Oslo", "Rome", "Cairo"]},
        "before_run": reset_all,
    },
    "openai_429_by_durable_retries": {
        "handler": openai_429_by_durable_retries,
        "input": {"city": "Quito"},
        "before_run": reset_all,
    },
}
