"""Fake partners for ``agents.py``: a chat-completion API that samples its answers, the tools
an agent calls (a weather service, a document store, a payments API that honours idempotency
keys, a long-term memory), and an approvals inbox a human answers.

They live in a module of their own because a partner outlives the Lambda sandbox (a cold
re-invocation re-imports the handler's module, not the world it talks to).

The model is what makes agents hard to replay: like a real one it samples. Its wording is
drawn with ``random``, and every tool call it asks for gets a fresh id (``call_`` and 24 hex
digits, as OpenAI's do). What it decides to do is a function of the conversation so far (the
plan below), so a run's *shape* is fixed by its input while every id and word differs from
run to run. A correct agent makes each model call a step: the answer it acts on is the
checkpointed one, on every replay.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from typing import Any


class RateLimited(Exception):
    """The model API's 429: try again later."""


class ContentFiltered(Exception):
    """The model API refused the prompt (not worth retrying)."""


#: Conversation key -> the wall-clock instant the model API first saw it.
FIRST_SEEN: dict[str, float] = {}
#: Every model call answered: (conversation key, number of messages sent).
COMPLETIONS: list[tuple[str, int]] = []
#: Idempotency key -> the refund it made (the payments API makes one per key).
REFUNDS: dict[str, dict[str, Any]] = {}
#: Callback id -> the approval request the inbox shows a human.
INBOX: dict[str, dict[str, Any]] = {}
#: Memory key -> fact (an upsert per key).
MEMORY: dict[str, str] = {}
#: Chunks pushed to the client's websocket, per conversation (what the user saw stream by).
PUSHED: dict[str, list[str]] = {}
#: Batch job id -> (the wall-clock instant it was submitted, its prompts).
JOBS: dict[str, tuple[float, list[str]]] = {}

#: How long a batch inference job takes, in wall-clock seconds.
JOB_SECONDS = 40.0

#: How long the model API refuses a new conversation with a 429, in wall-clock seconds.
RATE_LIMIT_WINDOW = 12.0


def reset() -> None:
    """A fresh deployment of every fake partner."""
    FIRST_SEEN.clear()
    COMPLETIONS.clear()
    REFUNDS.clear()
    INBOX.clear()
    MEMORY.clear()
    PUSHED.clear()
    JOBS.clear()


def _call_id() -> str:
    return "call_" + uuid.uuid4().hex[:24]


def _say(*choices: str) -> str:
    return random.choice(choices)


def _tool_call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"id": _call_id(), "name": name, "arguments": arguments}


def complete(conversation: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The assistant's next message for ``messages``: tool calls, or a final answer.

    What it asks for depends on the conversation's task (its first message) and on the tool
    results so far; how it words things, and every tool call's id, are drawn afresh."""
    COMPLETIONS.append((conversation, len(messages)))
    task = messages[0]["content"]
    done = [m["name"] for m in messages if m["role"] == "tool"]
    kind = task.split(":", 1)[0]
    plan = _PLANS[kind](task, done, messages)
    if plan is None:
        return {
            "role": "assistant",
            "content": _say("Here is what I found.", "Done.", "All set:", "Summary:"),
            "tool_calls": [],
            "temperature": round(random.uniform(0.2, 1.0), 3),
        }
    return {
        "role": "assistant",
        "content": _say("Let me check.", "One moment.", "", "Looking that up."),
        "tool_calls": plan,
        "temperature": round(random.uniform(0.2, 1.0), 3),
    }


def complete_rate_limited(conversation: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """``complete``, behind a quota that refuses a conversation for its first
    ``RATE_LIMIT_WINDOW`` seconds (on the wall clock, the runner's virtual one in a test)."""
    now = time.time()
    first = FIRST_SEEN.setdefault(conversation, now)
    if now - first < RATE_LIMIT_WINDOW:
        raise RateLimited(f"429: retry after {RATE_LIMIT_WINDOW - (now - first):.1f}s")
    return complete(conversation, messages)


def _trip(task: str, done: list[str], messages: list[dict[str, Any]]) -> Any:
    # One tool at a time: the weather, then the budget's arithmetic, then the answer.
    if "weather" not in done:
        return [_tool_call("weather", city=task.split(":", 1)[1])]
    if "calculator" not in done:
        return [_tool_call("calculator", expression="3 * 120 + 45")]
    return None


def _compare(task: str, done: list[str], messages: list[dict[str, Any]]) -> Any:
    # Every city's weather at once (parallel tool calls), then the answer.
    if not done:
        return [_tool_call("weather", city=city) for city in task.split(":", 1)[1].split(",")]
    return None


def _refund(task: str, done: list[str], messages: list[dict[str, Any]]) -> Any:
    if "refund" not in done:
        order = task.split(":", 1)[1]
        return [_tool_call("refund", order=order, cents=order_total(order))]
    return None


def _research(task: str, done: list[str], messages: list[dict[str, Any]]) -> Any:
    # Read documents until the context is full: each is large.
    read = done.count("read")
    if read < 5:
        return [_tool_call("read", document=f"{task.split(':', 1)[1]}-{read}")]
    return None


def _remember(task: str, done: list[str], messages: list[dict[str, Any]]) -> Any:
    if "remember" not in done:
        facts = task.split(":", 1)[1].split(";")
        return [_tool_call("remember", fact=fact) for fact in facts]
    if "recall" not in done:
        return [_tool_call("recall", topic="preferences")]
    return None


_PLANS = {
    "trip": _trip,
    "compare": _compare,
    "refund": _refund,
    "research": _research,
    "remember": _remember,
}


# --- tools ------------------------------------------------------------------------------------


def weather(city: str) -> dict[str, Any]:
    digest = int(hashlib.sha256(city.encode()).hexdigest()[:4], 16)
    return {"city": city, "celsius": digest % 35 - 5, "rain": digest % 3 == 0}


def calculator(expression: str) -> int:
    left, _, rest = expression.partition(" * ")
    middle, _, right = rest.partition(" + ")
    return int(left) * int(middle) + int(right)


def order_total(order: str) -> int:
    return int(hashlib.sha256(order.encode()).hexdigest()[:4], 16) % 9000 + 1000


def refund(order: str, cents: int, idempotency_key: str) -> dict[str, Any]:
    """One refund per idempotency key: a retried request returns the first one's receipt."""
    made = REFUNDS.get(idempotency_key)
    if made is None:
        made = REFUNDS[idempotency_key] = {
            "refund": "re_" + uuid.uuid4().hex[:12],
            "order": order,
            "cents": cents,
        }
    return made


def read_document(document: str) -> str:
    """A long document (about 12 KB), the same every time it is read."""
    seed = hashlib.sha256(document.encode()).hexdigest()
    return (f"[{document}] " + seed * 24) * 8


def remember(key: str, fact: str) -> None:
    MEMORY[key] = fact


def recall(prefix: str) -> list[str]:
    return sorted(fact for key, fact in MEMORY.items() if key.startswith(prefix))


def post_approval(callback_id: str, request: dict[str, Any]) -> None:
    """The inbox shows a human the request; their answer completes the callback."""
    INBOX[callback_id] = request


def stream_chunks(text: str) -> list[str]:
    return [text[i : i + 7] for i in range(0, len(text), 7)]


def push(conversation: str, chunk: str) -> None:
    PUSHED.setdefault(conversation, []).append(chunk)


def submit_batch(prompts: list[str]) -> str:
    """A batch inference job: a new id for every submission (a resubmitted batch is a new job,
    as the real APIs make it)."""
    job = "batch_" + uuid.uuid4().hex[:16]
    JOBS[job] = (time.time(), list(prompts))
    return job


def batch_status(job: str) -> dict[str, Any]:
    submitted, prompts = JOBS[job]
    if time.time() - submitted < JOB_SECONDS:
        return {"job": job, "status": "in_progress"}
    return {
        "job": job,
        "status": "completed",
        "answers": [hashlib.sha256(p.encode()).hexdigest()[:8] for p in prompts],
    }


async def slow_search(query: str) -> list[str]:
    """A search tool whose latency varies from call to call (0.5 to 3 s)."""
    import asyncio

    await asyncio.sleep(random.uniform(0.5, 3.0))
    digest = hashlib.sha256(query.encode()).hexdigest()
    return [f"{query}-{digest[i : i + 4]}" for i in range(0, 12, 4)]
