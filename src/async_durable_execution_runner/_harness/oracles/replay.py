"""The replay-determinism oracle: a re-invocation asks for what the checkpoint holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from async_durable_execution_runner._harness.oracles.base import ReplayDivergence, oracle

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome


@oracle("replay-determinism")
def check_replay(outcome: Outcome) -> None:
    """On every re-invocation, each operation the handler asks for whose id is checkpointed
    has the checkpointed (type, sub type, name, parent id)."""
    for r in outcome.recorder.requests:
        if r.checkpointed is not None and r.checkpointed != r.identity:
            cp_type, cp_sub, cp_name, cp_parent = r.checkpointed
            msg = (
                f"invocation {r.invocation_index} asked for operation {r.operation_id[:12]}... as "
                f"{r.type}/{r.sub_type} {r.name!r} (parent {r.parent_id and r.parent_id[:12]}), "
                "but "
                f"the checkpoint holds {cp_type}/{cp_sub} {cp_name!r} (parent "
                f"{cp_parent and cp_parent[:12]}): the handler does not replay deterministically"
            )
            raise ReplayDivergence(msg)
