"""CHAINED_INVOKE: START asks the service to run another durable function."""

from __future__ import annotations

from async_durable_execution_runner._models import (
    ChainedInvokeDetails,
    EventType,
    Operation,
    OperationAction,
    OperationStatus,
    OperationUpdate,
)
from async_durable_execution_runner._models.operations import with_status
from async_durable_execution_runner._service.checkpoint.processors.base import (
    CancelInvoke,
    PendingEvent,
    ProcessContext,
    Processed,
    RequestInvoke,
    new_operation,
)


class ChainedInvokeProcessor:
    def process(
        self, update: OperationUpdate, current: Operation | None, ctx: ProcessContext
    ) -> Processed:
        if update.action is OperationAction.START:
            options = update.chained_invoke_options
            # The validator requires the options and the function name.
            assert options is not None
            assert options.function_name
            op = new_operation(update, ctx, chained_invoke_details=ChainedInvokeDetails())
            details: dict[str, object] = {"FunctionName": options.function_name}
            if options.tenant_id is not None:
                details["TenantId"] = options.tenant_id
            details["Input"] = {"Payload": update.payload or "", "Truncated": False}
            effect = RequestInvoke(
                update.id, options.function_name, update.payload, options.tenant_id
            )
            return Processed(
                op, (PendingEvent(EventType.CHAINED_INVOKE_STARTED, details),), (effect,)
            )
        assert current is not None
        op = with_status(current, OperationStatus.CANCELLED, ctx.now)
        return Processed(op, (), (CancelInvoke(update.id),))
