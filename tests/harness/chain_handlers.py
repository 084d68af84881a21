"""Handlers for ``test_chains_corpus.py``: a wrong twin of ``chains.check_or_deadline``."""

from __future__ import annotations

from typing import Any

from async_durable_execution import CompletionConfig, durable_execution, invoke, parallel, wait

#: Invocations this sandbox ran: module state carried across invocations (the bug).
INVOCATIONS: list[int] = []


@durable_execution
async def race_counting_invocations(event: Any) -> dict[str, Any]:
    """``chains.check_or_deadline`` that also reports how many times its code ran, counted
    outside any step: a crash's re-invocation changes that, whichever branch wins."""
    INVOCATIONS.append(1)

    async def ask() -> dict[str, Any]:
        return {"by": "partner", **await invoke("partner", {"case": "c-1"}, name="partner")}

    async def deadline() -> dict[str, Any]:
        await wait(30, name="deadline")
        return {"by": "deadline", "ok": None}

    batch = await parallel(
        [ask, deadline], name="race", completion_config=CompletionConfig(min_successful=1)
    )
    winners = [r for r in batch.get_results() if r]
    return {"decided": winners[0] if winners else None, "ran": len(INVOCATIONS)}
