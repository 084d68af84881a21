"""Differential mode: one test, several backends, histories compared event by event.

The same test function runs against the in-process runner and against an endpoint (the local
server, or AWS) through :class:`DurableFunctionCloudTestRunner`; both speak the same API
(``start``, ``wait_for_callback``, ``send_callback_*``, ``wait_for_result``...). The histories
must agree event by event once what differs by design is set aside: timestamps, request ids,
execution names and ARNs, callback ids (the service makes them), and operation ids (compared
by the order they first appear, so the parent/child structure still counts). Every
disagreement is a :class:`FidelityFinding`: the emulator and the endpoint disagree about what
the service does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DifferentialReport",
    "FidelityError",
    "FidelityFinding",
    "compare_histories",
    "run_differential",
]

#: Keys whose values differ between backends by design.
_VOLATILE = frozenset(
    {
        "EventTimestamp",
        "StartTimestamp",
        "EndTimestamp",
        "ScheduledEndTimestamp",
        "RequestId",
        "CallbackId",
        "DurableExecutionArn",
        "EventId",
    }
)


class FidelityError(AssertionError):
    """Two backends disagree about an execution's history."""


@dataclass(frozen=True)
class FidelityFinding:
    """One disagreement: at event ``index`` (0-based), ``path`` differs."""

    index: int
    path: str
    expected: Any
    actual: Any
    backend: str = ""

    def __str__(self) -> str:
        where = f"{self.backend}: " if self.backend else ""
        return (
            f"{where}event {self.index} {self.path}: reference has {self.expected!r}, "
            f"this backend has {self.actual!r}"
        )


@dataclass
class DifferentialReport:
    """The outcome of :func:`run_differential`: each backend's result and the findings."""

    results: dict[str, Any] = field(default_factory=dict)
    findings: list[FidelityFinding] = field(default_factory=list)

    @property
    def agreed(self) -> bool:
        return not self.findings

    def raise_for_findings(self) -> None:
        if self.findings:
            shown = "\n  ".join(str(f) for f in self.findings[:20])
            more = len(self.findings) - 20
            tail = f"\n  ... and {more} more" if more > 0 else ""
            msg = (
                f"fidelity findings: the backends disagree on {len(self.findings)} point(s):"
                f"\n  {shown}{tail}"
            )
            raise FidelityError(msg)


def _normalise(events: Sequence[Mapping[str, Any]]) -> list[Any]:
    ordinals: dict[str, str] = {}

    def ordinal(raw: str) -> str:
        return ordinals.setdefault(raw, f"op#{len(ordinals)}")

    def clean(value: Any, key: str = "") -> Any:
        if isinstance(value, Mapping):
            return {k: clean(v, k) for k, v in value.items() if k not in _VOLATILE}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        if key in ("Id", "ParentId") and isinstance(value, str):
            return ordinal(value)
        return value

    out = []
    for event in events:
        cleaned = clean(event)
        if str(event.get("EventType", "")).startswith("Execution"):
            # The execution's own name is the caller's choice, not the service's behaviour.
            cleaned.pop("Name", None)
        out.append(cleaned)
    return out


def _diff(expected: Any, actual: Any, path: str, index: int, out: list[FidelityFinding]) -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            _diff(expected.get(key), actual.get(key), f"{path}.{key}" if path else key, index, out)
    elif isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for position, (a, b) in enumerate(zip(expected, actual, strict=True)):
            _diff(a, b, f"{path}[{position}]", index, out)
    elif expected != actual:
        out.append(FidelityFinding(index, path or "(event)", expected, actual))


def compare_histories(
    reference: Sequence[Mapping[str, Any]],
    other: Sequence[Mapping[str, Any]],
    *,
    backend: str = "",
) -> list[FidelityFinding]:
    """Event-by-event differences between two histories (boto3's event dicts), what differs
    by design set aside (see the module docstring)."""
    expected, actual = _normalise(reference), _normalise(other)
    findings: list[FidelityFinding] = []
    for index in range(max(len(expected), len(actual))):
        a = expected[index] if index < len(expected) else None
        b = actual[index] if index < len(actual) else None
        if a is None or b is None:
            findings.append(
                FidelityFinding(
                    index,
                    "EventType",
                    a and a.get("EventType"),
                    b and b.get("EventType"),
                )
            )
            continue
        _diff(a, b, "", index, findings)
    return [FidelityFinding(f.index, f.path, f.expected, f.actual, backend) for f in findings]


def run_differential(
    test: Callable[[Any], Any],
    backends: Mapping[str, Any],
    *,
    check: bool = True,
) -> DifferentialReport:
    """Run ``test(runner)`` against every backend; compare each history with the first's.

    ``test`` takes a runner (local or cloud: the same methods) and returns the
    ``DurableFunctionTestResult`` of the execution to compare. With ``check`` (the default) a
    disagreement raises :class:`FidelityError` listing the findings; without, the report
    carries them.
    """
    if len(backends) < 2:
        msg = f"run_differential needs at least two backends to compare, got {list(backends)}"
        raise ValueError(msg)
    report = DifferentialReport()
    reference_name: str | None = None
    for name, runner in backends.items():
        result = test(runner)
        report.results[name] = result
        if reference_name is None:
            reference_name = name
            continue
        report.findings.extend(
            compare_histories(
                report.results[reference_name].history,
                result.history,
                backend=f"{name} vs {reference_name}",
            )
        )
    if check:
        report.raise_for_findings()
    return report
