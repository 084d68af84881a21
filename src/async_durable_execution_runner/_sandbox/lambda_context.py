"""The context object Lambda passes a handler, and the names of the log group and stream its
function's execution environment writes to."""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LocalLambdaContext:
    """The Lambda context object the handler receives."""

    aws_request_id: str
    function_name: str
    invoked_function_arn: str
    deadline: float | None = None  # a ``time.monotonic()`` instant, the handler's
    function_version: str = "$LATEST"
    memory_limit_in_mb: str = "128"
    log_group_name: str | None = None
    log_stream_name: str | None = None
    tenant_id: str | None = None
    client_context: Any | None = None
    identity: Any | None = None
    logs: list[str] = field(default_factory=list)

    def get_remaining_time_in_millis(self) -> int:
        if self.deadline is None:
            return 900_000
        # The reader's ``time.monotonic()``: in the invocation, it counts the seconds the
        # loop skipped (``handler_clock``), as the deadline does.
        return max(0, int((self.deadline - time.monotonic()) * 1000))

    def log(self, msg: str) -> None:
        self.logs.append(str(msg))


def lambda_context(
    aws_request_id: str,
    function_name: str,
    invoked_function_arn: str,
    deadline: float | None,
    log_stream_name: str | None = None,
) -> LocalLambdaContext:
    """``LocalLambdaContext(...)`` with its other fields at their defaults, built without the
    generated ``__init__``'s call with keywords (one context per invocation): the same object,
    as ``tests/unit/test_lambda_context.py`` checks."""
    context = _new_context(LocalLambdaContext)
    _set_field(
        context,
        "__dict__",
        {
            "aws_request_id": aws_request_id,
            "function_name": function_name,
            "invoked_function_arn": invoked_function_arn,
            "deadline": deadline,
            "function_version": "$LATEST",
            "memory_limit_in_mb": "128",
            "log_group_name": log_group_name(function_name),
            "log_stream_name": log_stream_name,
            "tenant_id": None,
            "client_context": None,
            "identity": None,
            "logs": [],
        },
    )
    return context


_new_context = object.__new__
_set_field = object.__setattr__


def log_group_name(function_name: str) -> str:
    """The CloudWatch log group Lambda writes a function's logs to."""
    return f"/aws/lambda/{function_name}"


def log_stream_name(function_name: str, sandbox: int, started: _dt.datetime) -> str:
    """The log stream of a function's ``sandbox``-th execution environment, started at
    ``started``: Lambda names it by date, version and an id of the environment (here made
    from the function and the count, so that runs repeat)."""
    environment = _environment_id(function_name, sandbox)
    return f"{started.year:04d}/{started.month:02d}/{started.day:02d}/[$LATEST]{environment}"


@functools.lru_cache(maxsize=256)
def _environment_id(function_name: str, sandbox: int) -> str:
    # A digest, not a uuid5, and remembered: one per runner, and commonly a runner per
    # execution, whose first sandbox has the same id as every other runner's.
    return hashlib.md5(
        f"lambda-sandbox:{function_name}:{sandbox}".encode(), usedforsecurity=False
    ).hexdigest()
