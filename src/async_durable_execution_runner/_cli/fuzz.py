"""``fuzz MODULE:HANDLER``: a Hypothesis campaign from the command line.

Each example is a scenario (an input, a fault plan, timings) for the handler, run on the
emulator and judged by every built-in oracle. Progress goes to stderr; on a failure the
shrunk, minimal scenario is printed as a standalone pytest test. Exit status: 0 when every
example passed, 1 when one failed, 2 for a usage error.

What the handler and the SDK log during the campaign goes to a file, not the terminal: a
campaign runs the handler thousands of times, and the SDK logs every failed step attempt with
its traceback, so a correct handler that retries would bury the verdict under tens of thousands
of lines.
"""

from __future__ import annotations

import argparse
import logging
import re
import shlex
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from async_durable_execution_runner._cli.functions import UsageError, load_handler, parse_functions
from async_durable_execution_runner._service.clock import real_monotonic


class _Progress:
    """One status line, rewritten in place on a terminal, every tenth example otherwise."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.done = 0
        #: The example that first failed; the runs after it are Hypothesis shrinking it.
        self.failed_at: int | None = None
        self.started = real_monotonic()
        self.tty = stream.isatty()

    def failed(self) -> None:
        if self.failed_at is None:
            self.failed_at = self.done

    @property
    def shrinking_runs(self) -> int:
        return 0 if self.failed_at is None else self.done - self.failed_at

    def tick(self) -> None:
        self.done += 1
        if not self.tty and self.done % 10 and self.done != self.total:
            return
        rate = self.done / max(1e-9, real_monotonic() - self.started)
        if self.failed_at is None:
            line = f"examples run: {self.done} (max {self.total}) at {rate:.1f}/s"
        else:
            line = (
                f"example {self.failed_at} failed; shrinking it: {self.shrinking_runs} run(s) "
                f"at {rate:.1f}/s"
            )
        self.stream.write(f"\r{line}" if self.tty else f"{line}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


class _CampaignLog(logging.Handler):
    """Writes the campaign's log records to a file (opened on the first record) and counts them."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.records = 0
        self.errors = 0
        self._file: TextIO | None = None
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self._file is None:
                self._file = self.path.open("w", encoding="utf-8")
            self.records += 1
            self.errors += record.levelno >= logging.ERROR
            self._file.write(self.format(record) + "\n")
        except Exception:  # a logging handler must never break the campaign
            self.handleError(record)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        super().close()

    def summary(self) -> str:
        return (
            f"the handler and the SDK logged {self.records} record(s) ({self.errors} at ERROR or"
            f" above) during the campaign: {self.path} (--show-logs prints them instead)"
        )


#: Where ``Outcome.report()`` starts its reproducer.
_REPORT_REPRODUCER = "\nReproduce with:\n"
#: The order statuses are listed in; any other comes last.
_STATUS_ORDER = ("SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED", "RUNNING")
#: Distinct errors listed under the tally (the rest are counted in one line).
_ERRORS_SHOWN = 5


class _Endings:
    """How the campaign's executions ended.

    The verdict is the oracles', and a failed execution breaks none of their rules: a handler
    that fails on every example (a ``TypeError`` on a batch result it unpacks, say) passes
    them all. So the summary says how the executions ended, by status and error type, and
    which failures came with no fault injected, where the handler failed on its own."""

    def __init__(self) -> None:
        self.statuses: Counter[str] = Counter()
        #: (status, error type) -> its messages (first lines), counted.
        self.errors: dict[tuple[str, str], Counter[str]] = {}
        self.unprovoked: Counter[tuple[str, str]] = Counter()

    def count(self, outcome: Any) -> None:
        status: str = outcome.execution_status.value
        self.statuses[status] += 1
        if status == "SUCCEEDED":
            return
        error = outcome.error
        kind = "(no error recorded)" if error is None else str(error.type)
        lines = ((error.message or "") if error is not None else "").strip().splitlines()
        message = lines[0] if lines else ""
        if len(message) > 100:
            message = message[:97] + "..."
        self.errors.setdefault((status, kind), Counter())[message] += 1
        if not outcome.faults_applied:
            self.unprovoked[(status, kind)] += 1

    def _line(self, status: str, kind: str) -> str:
        messages = self.errors[(status, kind)]
        message, _ = messages.most_common(1)[0]
        text = f"{status}  {kind}" + (f": {message}" if message else "")
        if len(messages) > 1:
            text += f" (and {len(messages) - 1} other message(s))"
        return text

    def summary(self, handler_spec: str, input_text: str | None, functions: list[str]) -> list[str]:
        if not self.statuses:
            return []
        order = {status: i for i, status in enumerate(_STATUS_ORDER)}
        statuses = sorted(self.statuses, key=lambda s: (order.get(s, len(order)), s))
        lines = ["ended: " + ", ".join(f"{self.statuses[s]} {s}" for s in statuses)]
        ranked = sorted(self.errors, key=lambda key: -sum(self.errors[key].values()))
        for key in ranked[:_ERRORS_SHOWN]:
            lines.append(f"  {sum(self.errors[key].values()):>5}  {self._line(*key)}")
        rest = sum(sum(self.errors[key].values()) for key in ranked[_ERRORS_SHOWN:])
        if rest:
            lines.append(f"  {rest:>5}  with {len(ranked) - _ERRORS_SHOWN} other error type(s)")
        unprovoked = sum(self.unprovoked.values())
        if unprovoked:
            (status, kind), _ = self.unprovoked.most_common(1)[0]
            rerun = f"python -m async_durable_execution_runner run {shlex.quote(handler_spec)}"
            if input_text is not None:
                rerun += f" --input {shlex.quote(input_text)}"
            for spec in functions:
                rerun += f" --function {shlex.quote(spec)}"
            lines.append(
                f"note: {unprovoked} example(s) with no fault injected did not succeed (the "
                f"most common: {self._line(status, kind)}). No oracle flags a failed "
                "execution, but here the handler failed on its own: see such a run with "
                f"`{rerun}`, or add --expect-status SUCCEEDED to make it a failure with a "
                "reproduction."
            )
        return lines


def _default_log_path(handler_spec: str) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", handler_spec).strip("-") or "handler"
    return Path(tempfile.gettempdir()) / f"durable-fuzz-{name}.log"


def fuzz(args: argparse.Namespace) -> int:
    from hypothesis import given, seed
    from hypothesis import strategies as st

    from async_durable_execution_runner.coverage import campaign as coverage_campaign
    from async_durable_execution_runner.coverage import observe
    from async_durable_execution_runner.strategies import (
        Timings,
        durable_scenarios,
        fault_plans,
        scenario_settings,
    )

    handler = load_handler(args.handler)
    before_run = load_handler(args.before_run) if args.before_run else None
    functions: dict[str, Any] = (
        dict(parse_functions(args.functions, None)) if args.functions else {}
    )
    properties = [(spec, load_handler(spec)) for spec in args.properties]
    expected_status = args.expect_status
    inputs = st.just(_json_input(args.input))
    kinds = set(args.faults.split(",")) if args.faults else None
    partners = _partners(args.partners)
    callbacks = _callbacks(args.callbacks)
    try:
        faults = fault_plans(kinds=kinds, max_faults=args.max_faults, partners=partners)
        strategy = durable_scenarios(
            handler,
            inputs=inputs,
            faults=faults,
            timings=st.just(Timings()) if args.fixed_timings else None,
            callbacks={name: st.sampled_from(answers) for name, answers in callbacks.items()},
            functions=functions,
            before_run=before_run,
            # The command sets nothing up around each run (``--before-run`` is run again).
            reuse_drawing_run=True,
        )
        strategy.validate()
    except Exception as exc:  # hypothesis.errors.InvalidArgument, mostly
        msg = f"cannot build scenarios for {args.handler}: {exc}"
        raise UsageError(msg) from exc
    progress = _Progress(args.examples, sys.stderr)
    endings = _Endings()
    failing: list[Any] = []

    @scenario_settings(
        max_examples=args.examples,
        database=None,
        print_blob=False,
        report_multiple_bugs=False,  # one minimal repro, found sooner
    )
    @given(strategy)
    def campaign(scenario: Any) -> None:
        progress.tick()
        failing[:] = [scenario]
        try:
            outcome = scenario.run()
            observe(outcome)  # counted even when an oracle then fails
            if progress.failed_at is None:  # (not the shrinking runs)
                endings.count(outcome)
            outcome.check()
            try:
                if expected_status is not None:
                    _expect_status(outcome, expected_status)
                for _, prop in properties:
                    prop(outcome)
            except AssertionError as failed:
                # What the oracles' reports show, for a property's failure too.
                raise AssertionError(f"{failed}\n\n{outcome.report()}") from None
        except Exception:
            progress.failed()
            raise

    if args.seed is not None:
        campaign = seed(args.seed)(campaign)
    failure: Exception | None = None
    log: _CampaignLog | None = None
    if not args.show_logs:
        path = Path(args.log_file) if args.log_file else _default_log_path(args.handler)
        log = _CampaignLog(path)
        logging.getLogger().addHandler(log)
    try:
        with coverage_campaign(f"fuzz {args.handler}", check=False) as covered:
            try:
                campaign()
            except Exception as error:
                failure = error
    finally:
        if log is not None:
            logging.getLogger().removeHandler(log)
            log.close()
    progress.close()
    if log is not None and log.records:
        print(log.summary(), file=sys.stderr, flush=True)
    if failure is not None:
        scenario = failing[0] if failing else None
        when = (
            f"at example {progress.failed_at} (then {progress.shrinking_runs} shrinking run(s))"
            if progress.failed_at is not None
            else f"after {progress.done} example(s)"
        )
        print(f"FAILED {when}: {type(failure).__name__}", flush=True)
        text = str(failure).strip()
        # The outcome's report ends with its own reproducer; the one printed below carries
        # the campaign's checks too (--expect-status, --property): one is enough.
        text = text.split(_REPORT_REPRODUCER, 1)[0].rstrip()
        print(text[:4000])
        if scenario is not None:
            print("\nminimal reproduction (a standalone pytest test):\n")
            print(scenario.to_pytest(then=_then(expected_status, properties)))
    else:
        held = "every oracle held"
        if expected_status is not None or properties:
            held = "every oracle and property held"
        print(f"passed: {progress.done} example(s), {held}")
        for line in endings.summary(args.handler, args.input, args.functions):
            print(line)
    if args.coverage:
        print(covered.summary())
    return 1 if failure is not None else 0


def _expect_status(outcome: Any, expected: str) -> None:
    """``--expect-status``: the execution ends with this status, whatever the plan did."""
    status = outcome.execution_status.value
    if status != expected:
        error = outcome.error
        why = f" ({error.type}: {error.message})" if error is not None else ""
        msg = (
            f"the execution ended {status}{why}; --expect-status says it always ends "
            f"{expected} (limit --faults to the kinds it must survive)"
        )
        raise AssertionError(msg)


def _then(
    expected_status: str | None, properties: list[tuple[str, Any]]
) -> list[tuple[str | None, str]]:
    """The reproducer's assertions after the oracles: the same checks the campaign made."""
    then: list[tuple[str | None, str]] = []
    if expected_status is not None:
        then.append(
            (None, f"assert outcome.execution_status.value == {expected_status!r}, outcome.error")
        )
    for spec, prop in properties:
        target, _, attr = spec.rpartition(":")
        # Named as the handler is: by the module it was loaded as (a file's, by its stem).
        module = getattr(prop, "__module__", None) or Path(target).stem
        then.append((f"from {module} import {attr.split('.')[0]}", f"{attr}(outcome)"))
    return then


def _partners(specs: list[str]) -> dict[str, list[str]] | None:
    """``--partner NAME=PATTERN,...`` arguments, as ``fault_plans``'s ``partners``."""
    partners: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, patterns = spec.partition("=")
        steps = [p for p in patterns.split(",") if p]
        if not sep or not name or not steps:
            msg = (
                f"--partner must be NAME=PATTERN[,PATTERN...], such as "
                f"gateway=charge*,refund; got {spec!r}"
            )
            raise UsageError(msg)
        if name in partners:
            msg = f"partner {name!r} is named twice; give all its step patterns in one --partner"
            raise UsageError(msg)
        partners[name] = steps
    return partners or None


def _callbacks(specs: list[str]) -> dict[str, list[Any]]:
    """``--callback NAME=JSON`` arguments: each name's answers, in the order given."""
    import json

    answers: dict[str, list[Any]] = {}
    for spec in specs:
        name, sep, text = spec.partition("=")
        if not sep or not name:
            example = "payment='{\"paid\": true}'"
            msg = f"--callback must be NAME=JSON, such as {example}; got {spec!r}"
            raise UsageError(msg)
        try:
            answer = json.loads(text)
        except json.JSONDecodeError as exc:
            msg = f"--callback {name}: the answer must be JSON text, got {text!r} ({exc.msg})"
            raise UsageError(msg) from exc
        answers.setdefault(name, []).append(answer)
    return answers


def _json_input(text: str | None) -> Any:
    import json

    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"--input must be JSON text, got {text!r} ({exc.msg})"
        raise UsageError(msg) from exc
