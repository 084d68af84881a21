"""``DurableFunctionCloudTestRunner``: the local runner's API against a real endpoint.

It drives a deployed durable function through Lambda's public API with boto3: ``Invoke``
(``InvocationType=Event``, ``DurableExecutionName``) starts an execution;
``GetDurableExecution`` and ``GetDurableExecutionHistory`` follow it; the
``SendDurableExecutionCallback*`` operations answer its callbacks. The endpoint is AWS
(``endpoint_url=None``: boto3's usual endpoint and credential resolution) or any server
speaking the same API, such as ``DurableServiceServer`` on loopback.

Results are the local runner's :class:`DurableFunctionTestResult`. A real service exposes no
operation state without a checkpoint token, so the operations are rebuilt from the history
events, which name every operation's id, parent, type, name and outcome.

Waiting polls (the public API has no push): every ``poll_interval`` seconds, doubling up to
``max_poll_interval``, until the wall-clock ``timeout``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from async_durable_execution import InvocationStatus

from async_durable_execution_runner._models import (
    ErrorObject,
    Event,
    EventType,
    Operation,
)
from async_durable_execution_runner._models._time import parse_timestamp
from async_durable_execution_runner._runner.result import (
    DurableFunctionTestResult,
    build_views,
    invocation_status,
)
from async_durable_execution_runner._service.clock import real_monotonic
from async_durable_execution_runner._service.execution import ExecutionStatus
from async_durable_execution_runner._service.history_fold import fold_history
from async_durable_execution_runner._service.seams import InvocationInfo
from async_durable_execution_runner.errors import DurableRunnerError, ExecutionNotFinishedError

__all__ = [
    "CLOUD_ENDPOINT_ENV",
    "CLOUD_FUNCTION_ENV",
    "CLOUD_REGION_ENV",
    "DurableFunctionCloudTestRunner",
    "cloud_runner_from_env",
    "cloud_skip_reason",
    "operations_from_events",
]

#: The deployed durable function (name, partial ARN or ARN, with its qualifier) a test's cloud
#: leg drives; unset: there is no cloud leg.
CLOUD_FUNCTION_ENV = "DURABLE_CLOUD_FUNCTION"
#: An endpoint to use instead of AWS's (any server speaking Lambda's API); unset: AWS's.
CLOUD_ENDPOINT_ENV = "DURABLE_CLOUD_ENDPOINT"
#: The region (default: boto3's usual resolution: ``AWS_REGION``, ``~/.aws/config``...).
CLOUD_REGION_ENV = "DURABLE_CLOUD_REGION"


def cloud_skip_reason(environ: Mapping[str, str] | None = None) -> str | None:
    """Why a test's cloud leg cannot run (``None`` when it is configured)."""
    env = os.environ if environ is None else environ
    if env.get(CLOUD_FUNCTION_ENV):
        return None
    return (
        f"no cloud function configured: set {CLOUD_FUNCTION_ENV} to a deployed durable "
        f"function (name or ARN with its qualifier), and {CLOUD_REGION_ENV} or "
        f"{CLOUD_ENDPOINT_ENV} as needed, to run this test against it too"
    )


def cloud_runner_from_env(
    environ: Mapping[str, str] | None = None,
) -> DurableFunctionCloudTestRunner | None:
    """The cloud runner the environment configures (see ``CLOUD_*_ENV``), or ``None``."""
    env = os.environ if environ is None else environ
    if cloud_skip_reason(env) is not None:
        return None
    return DurableFunctionCloudTestRunner(
        function_name=env[CLOUD_FUNCTION_ENV],
        endpoint_url=env.get(CLOUD_ENDPOINT_ENV) or None,
        region=env.get(CLOUD_REGION_ENV) or None,
    )


_EXECUTION_ENDS = {
    EventType.EXECUTION_SUCCEEDED,
    EventType.EXECUTION_FAILED,
    EventType.EXECUTION_TIMED_OUT,
    EventType.EXECUTION_STOPPED,
}
_CALLBACK_ENDS = {
    EventType.CALLBACK_SUCCEEDED,
    EventType.CALLBACK_FAILED,
    EventType.CALLBACK_TIMED_OUT,
}


class DurableFunctionCloudTestRunner:
    """Run and inspect executions of ``function_name`` on a Lambda API endpoint.

    ``client`` (a boto3 Lambda client) overrides ``endpoint_url``/``region``. Against the
    local server: ``DurableFunctionCloudTestRunner(function_name="orders",
    endpoint_url=server.url, region="us-east-1")`` (any credentials do; placeholders are used
    when boto3 finds none).
    """

    def __init__(
        self,
        function_name: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
        poll_interval: float = 0.02,
        max_poll_interval: float = 2.0,
    ) -> None:
        if client is None:
            import boto3  # type: ignore[import-untyped]

            session = boto3.session.Session()
            credentials: dict[str, str] = {}
            if endpoint_url is not None and session.get_credentials() is None:
                # A local server accepts any signature; AWS itself needs real credentials.
                credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
            client = session.client(
                "lambda", region_name=region, endpoint_url=endpoint_url, **credentials
            )
            self._owns_client = True
        else:
            self._owns_client = False
        self.client = client
        self.function_name = function_name
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval

    # --- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> DurableFunctionCloudTestRunner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- executions --------------------------------------------------------------------

    def start(self, input: Any = None, *, execution_name: str | None = None) -> str:
        """Start an execution (an asynchronous ``Invoke``); returns its ARN."""
        params: dict[str, Any] = {
            "FunctionName": self.function_name,
            "InvocationType": "Event",
            "Payload": json.dumps(input).encode(),
        }
        if execution_name is not None:
            params["DurableExecutionName"] = execution_name
        answer = self.client.invoke(**params)
        answer["Payload"].read()  # an unread stream would hold its connection
        arn = answer.get("DurableExecutionArn")
        if not arn:
            msg = (
                f"Invoke of {self.function_name!r} named no durable execution (no "
                "X-Amz-Durable-Execution-Arn header): is it a durable function?"
            )
            raise DurableRunnerError(msg)
        return str(arn)

    def run(
        self, input: Any = None, timeout: float = 60, *, execution_name: str | None = None
    ) -> DurableFunctionTestResult:
        deadline = real_monotonic() + timeout
        arn = self.start(input, execution_name=execution_name)
        return self.wait_for_result(arn, max(0.0, deadline - real_monotonic()))

    def get_status(self, execution_arn: str) -> InvocationStatus:
        """The SDK's ``InvocationStatus`` now: PENDING while the execution runs."""
        return invocation_status(self.get_execution_status(execution_arn))

    def get_execution_status(self, execution_arn: str) -> ExecutionStatus:
        """``GetDurableExecution``'s ``Status`` now: RUNNING, ..., TIMED_OUT or STOPPED."""
        described = self.client.get_durable_execution(DurableExecutionArn=execution_arn)
        return ExecutionStatus(described["Status"])

    def wait_for_result(self, execution_arn: str, timeout: float = 60) -> DurableFunctionTestResult:
        if not self._poll(
            lambda: self.get_status(execution_arn) is not InvocationStatus.PENDING, timeout
        ):
            msg = (
                f"execution {execution_arn} did not finish within {timeout:g}s of wall-clock "
                "time; it is still RUNNING"
            )
            raise ExecutionNotFinishedError(msg)
        return self.get_result(execution_arn)

    def get_result(self, execution_arn: str) -> DurableFunctionTestResult:
        described = self.client.get_durable_execution(DurableExecutionArn=execution_arn)
        events = tuple(Event.from_dict(e) for e in self.get_history(execution_arn))
        error = described.get("Error")
        status = described["Status"]
        return DurableFunctionTestResult(
            execution_arn=execution_arn,
            execution_status=ExecutionStatus(status),
            result=described.get("Result"),
            error=ErrorObject.from_dict(error) if error else None,
            operations=build_views(operations_from_events(events)),
            events=events,
            invocations=invocations_from_events(execution_arn, events),
        )

    def get_history(self, execution_arn: str) -> list[dict[str, Any]]:
        """Every event so far (all pages), in ``GetDurableExecutionHistory``'s shape."""
        events: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "DurableExecutionArn": execution_arn,
            "IncludeExecutionData": True,
        }
        while True:
            page = self.client.get_durable_execution_history(**params)
            events.extend(page.get("Events", ()))
            marker = page.get("NextMarker")
            if not marker:
                return events
            params["Marker"] = marker

    def stop_execution(self, execution_arn: str, error: ErrorObject | None = None) -> None:
        params: dict[str, Any] = {"DurableExecutionArn": execution_arn}
        if error is not None:
            params["Error"] = error.to_dict()
        self.client.stop_durable_execution(**params)

    # --- callbacks ---------------------------------------------------------------------

    def wait_for_callback(
        self, execution_arn: str, name: str | None = None, timeout: float = 60
    ) -> str:
        """The id of a pending callback (by operation name, or the only pending one), once the
        execution waits for it: as with the local runner, the invocation that created it has
        returned (an ``InvocationCompleted`` follows its ``CallbackStarted``), so the answer
        lands at the same point of the history on every backend."""
        found: list[str] = []

        def ready() -> bool:
            events = [Event.from_dict(e) for e in self.get_history(execution_arn)]
            if any(e.event_type in _EXECUTION_ENDS for e in events):
                found[:] = pending_callbacks(events, name)
                return True
            found[:] = pending_callbacks(events, name) if _suspended(events) else []
            return bool(found)

        self._poll(ready, timeout)
        if len(found) == 1:
            return found[0]
        label = f"named {name!r}" if name else "pending"
        if found:
            msg = f"{len(found)} callbacks are {label} in {execution_arn}; pass name= to pick one"
        else:
            msg = f"no callback {label} appeared in {execution_arn} within {timeout:g}s"
        raise DurableRunnerError(msg)

    def send_callback_success(self, callback_id: str, result: str | bytes | None = None) -> None:
        payload = result.encode() if isinstance(result, str) else (result or b"")
        self.client.send_durable_execution_callback_success(CallbackId=callback_id, Result=payload)

    def send_callback_failure(
        self, callback_id: str, error: ErrorObject | Mapping[str, Any] | None = None
    ) -> None:
        err = ErrorObject.from_dict(error) if isinstance(error, Mapping) else error
        params: dict[str, Any] = {"CallbackId": callback_id}
        if err is not None:
            params["Error"] = err.to_dict()
        self.client.send_durable_execution_callback_failure(**params)

    def send_callback_heartbeat(self, callback_id: str) -> None:
        self.client.send_durable_execution_callback_heartbeat(CallbackId=callback_id)

    # --- polling -----------------------------------------------------------------------

    def _poll(self, done: Any, timeout: float) -> bool:
        deadline = real_monotonic() + timeout
        interval = self.poll_interval
        while True:
            if done():
                return True
            left = deadline - real_monotonic()
            if left <= 0:
                return False
            time.sleep(min(interval, left))
            interval = min(interval * 2, self.max_poll_interval)


def _suspended(events: list[Event]) -> bool:
    """Whether the execution's last invocation has returned since its last callback began."""
    for event in reversed(events):
        if event.event_type is EventType.INVOCATION_COMPLETED:
            return True
        if event.event_type is EventType.CALLBACK_STARTED:
            return False
    return False


def pending_callbacks(events: list[Event], name: str | None) -> list[str]:
    """Ids of callbacks started and not yet ended, by name (or the callback's parent's)."""
    names = {e.id: e.name for e in events if e.id is not None}
    ended = {e.id for e in events if e.event_type in _CALLBACK_ENDS}
    out = []
    for event in events:
        if event.event_type is not EventType.CALLBACK_STARTED or event.id in ended:
            continue
        parent_name = names.get(event.parent_id) if event.parent_id else None
        if name is None or name in (event.name, parent_name):
            out.append(str(event.details.get("CallbackId")))
    return out


def _error(details: Mapping[str, Any]) -> ErrorObject | None:
    value = details.get("Error")
    if isinstance(value, Mapping) and isinstance(value.get("Payload"), Mapping):
        return ErrorObject.from_dict(value["Payload"])
    return None


def operations_from_events(events: tuple[Event, ...] | list[Event]) -> list[Operation]:
    """The operations an execution's history describes, in order of first appearance."""
    return fold_history(events)


def invocations_from_events(arn: str, events: tuple[Event, ...]) -> tuple[InvocationInfo, ...]:
    """The invocations ``InvocationCompleted`` events record."""
    out: list[InvocationInfo] = []
    for event in events:
        if event.event_type is not EventType.INVOCATION_COMPLETED:
            continue
        details = event.details
        error = _error(details)
        start = details.get("StartTimestamp")
        end = details.get("EndTimestamp")
        out.append(
            InvocationInfo(
                execution_arn=arn,
                index=len(out) + 1,
                request_id=str(details.get("RequestId", "")),
                start=parse_timestamp(start) if start is not None else event.event_timestamp,
                end=parse_timestamp(end) if end is not None else None,
                error_type=error.error_type if error else None,
                error_message=error.error_message if error else None,
            )
        )
    return tuple(out)
