"""The accepted-checkpoints oracle: the service takes every checkpoint for its content."""

from __future__ import annotations

from typing import TYPE_CHECKING

from async_durable_execution_runner._harness.oracles.base import CheckpointRefused, oracle
from async_durable_execution_runner._service.tokens import STALE_TOKEN_PREFIX

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome


@oracle("checkpoints-accepted")
def check_checkpoints_accepted(outcome: Outcome) -> None:
    """No checkpoint of any execution of the run was refused for what it asked (a stale
    token, which a duplicate delivery's calls get, is not a refusal of their content).

    The SDK sends what the handler asks for without checking all the service checks: an
    operation name that is not 1 to 256 printable ASCII characters (SDK finding 9) is sent,
    refused with ``InvalidParameterValueException``, and the SDK fails the execution with
    ``CheckpointError`` at once, whether or not anything was left open. Over the corpora of
    correct handlers under every fault kind, no checkpoint was refused so."""
    for rejection in outcome.recorder.rejections:
        error = rejection.error
        if error.message.startswith(STALE_TOKEN_PREFIX):
            continue
        which = (
            "the execution"
            if rejection.execution_arn == outcome.recorder.root_arn
            else f"execution {rejection.execution_arn}"
        )
        asked = ", ".join(
            f"{u.action.value} {u.type.value} {u.id}" + (f" ({u.name!r})" if u.name else "")
            for u in rejection.updates
        )
        msg = (
            f"the service refused a checkpoint of {which} ({asked}): {error.code}: "
            f"{error.message}. The SDK fails the execution when that happens (CheckpointError): "
            "the handler asked for something the service does not take (operation names are 1 "
            "to 256 printable ASCII characters, which the SDK does not check: SDK finding 9)"
        )
        raise CheckpointRefused(msg)
