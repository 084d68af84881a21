"""The environment variables Lambda's Python runtime sets for a function.

The runner does not set them itself: a handler's module reads them when it is imported (a
client made at module level, ``REGION = os.environ["AWS_REGION"]``), which happens when the
test imports it, before any invocation, and again in every cold sandbox. Set only around
invocations, a warm and a cold sandbox would see different values. They belong in the test
process from its start: ``lambda_environment()`` gives them, for a ``conftest.py`` or the
pytest plugin's ``durable_lambda_environment`` ini key.
"""

from __future__ import annotations

import sys

from async_durable_execution_runner._sandbox.lambda_context import log_group_name
from async_durable_execution_runner._service.names import DEFAULT_REGION
from async_durable_execution_runner.errors import DurableRunnerError


def lambda_environment(
    function_name: str = "test-function",
    *,
    region: str = DEFAULT_REGION,
    memory_size: int = 128,
    version: str = "$LATEST",
    handler: str = "app.handler",
) -> dict[str, str]:
    """The variables Lambda's runtime sets for every invocation of ``function_name`` (those
    that stay the same across invocations; the per-invocation ``_X_AMZN_TRACE_ID`` is not
    among them, nor ``TZ``, which would move the test process's local time, nor
    credentials). ``os.environ.update(lambda_environment())`` in a ``conftest.py`` gives a
    handler ported from an ordinary Lambda function what it reads."""
    if not function_name:
        msg = "function_name is the Lambda function's name; got an empty string"
        raise DurableRunnerError(msg)
    if isinstance(memory_size, bool) or not 128 <= memory_size <= 10_240:
        msg = f"memory_size is in MB, 128 to 10240 as Lambda allows; got {memory_size!r}"
        raise DurableRunnerError(msg)
    python = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{python}",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": log_group_name(function_name),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": handler,
    }
