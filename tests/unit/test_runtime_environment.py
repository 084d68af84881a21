"""``lambda_environment()``: the variables Lambda's Python runtime sets for a function."""

from __future__ import annotations

import sys

import pytest

from async_durable_execution_runner import DurableRunnerError, lambda_environment


def test_the_runtime_variables_of_a_function() -> None:
    env = lambda_environment("orders", region="eu-west-1", memory_size=512)
    python = f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert env == {
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{python}",
        "AWS_LAMBDA_FUNCTION_NAME": "orders",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/orders",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": "app.handler",
    }
    # Nothing that would change the test process beyond the handler's reads.
    assert not {"TZ", "AWS_ACCESS_KEY_ID", "_X_AMZN_TRACE_ID"} & set(lambda_environment())


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"function_name": ""}, "function's name"),
        ({"memory_size": 64}, "128 to 10240"),
        ({"memory_size": True}, "128 to 10240"),
    ],
)
def test_bad_arguments_say_what_was_expected(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(DurableRunnerError, match=fragment):
        lambda_environment(**kwargs)  # type: ignore[arg-type]
