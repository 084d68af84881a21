"""The runner's work-around for CPython's spurious AST recursion-depth ``SystemError``
(gh-106905, before 3.11.8 / 3.12.2): found by a random-program campaign, where a cold
sandbox's re-import of the handler's module (compiled by pytest's assertion rewriting)
failed with it and took the whole run down."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from tests.integration import crash_handlers as h

from async_durable_execution_runner._runner.local import DurableFunctionTestRunner
from async_durable_execution_runner._sandbox import cpython_bugs
from async_durable_execution_runner._sandbox.cpython_bugs import retrying_ast_depth_mismatch
from async_durable_execution_runner._service.seams import SandboxPolicy

SPURIOUS = "AST constructor recursion depth mismatch (before=69, after=119)"


def failing(times: int, error: BaseException, value: Any = "done") -> Any:
    calls: list[int] = []

    def fn() -> Any:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return value

    fn.calls = calls  # type: ignore[attr-defined]
    return fn


def test_the_spurious_error_is_retried_until_the_call_succeeds() -> None:
    fn = failing(cpython_bugs.ATTEMPTS - 1, SystemError(SPURIOUS))
    assert retrying_ast_depth_mismatch(fn) == "done"
    assert len(fn.calls) == cpython_bugs.ATTEMPTS


def test_a_repeatable_failure_still_surfaces() -> None:
    fn = failing(cpython_bugs.ATTEMPTS, SystemError(SPURIOUS))
    with pytest.raises(SystemError, match="recursion depth mismatch"):
        retrying_ast_depth_mismatch(fn)
    assert len(fn.calls) == cpython_bugs.ATTEMPTS


@pytest.mark.parametrize(
    "error", [SystemError("error return without exception set"), ImportError("no module")]
)
def test_any_other_error_is_raised_at_once(error: BaseException) -> None:
    fn = failing(1, error)
    with pytest.raises(type(error)):
        retrying_ast_depth_mismatch(fn)
    assert len(fn.calls) == 1


class _Cold(SandboxPolicy):
    def environment(self, execution_arn: str, invocation_index: int) -> str:
        return "cold"


def test_a_cold_reimport_that_trips_the_bug_once_is_imported_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = importlib.import_module
    tripped: list[str] = []

    def import_module(name: str, package: str | None = None) -> Any:
        if name == h.step_wait_step.__module__ and not tripped:
            tripped.append(name)
            raise SystemError(SPURIOUS)
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", import_module)
    with DurableFunctionTestRunner(h.step_wait_step, sandbox_policy=_Cold()) as runner:
        result = runner.run(1, timeout=30)

    assert tripped == [h.step_wait_step.__module__]
    assert result.result_value == 3
    assert [i.environment for i in result.invocations] == ["cold", "cold"]
