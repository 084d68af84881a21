"""The command line, run for real: snapshots of --help, user mistakes without tracebacks, a
served function driven through invoke/history/callback, and a fuzz campaign."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from async_durable_execution_runner.cli import main

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).parent / "snapshots"
ENV = {**os.environ, "COLUMNS": "100", "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'examples'}"}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "async_durable_execution_runner", *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def check_snapshot(name: str, text: str) -> None:
    snapshot = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        snapshot.write_text(text)
    assert text == snapshot.read_text()


def test_help_matches_its_snapshot() -> None:
    done = cli("--help")  # the real entry point, in a process of its own
    assert done.returncode == 0
    check_snapshot("help-main", done.stdout)


@pytest.mark.parametrize("command", ["run", "serve", "invoke", "history", "callback", "fuzz"])
def test_command_help_matches_its_snapshot(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    check_snapshot(f"help-{command}", capsys.readouterr().out)


def test_user_mistakes_are_one_line_errors_without_tracebacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad_spec = cli("run", "no-colon-here")
    assert bad_spec.returncode == 2
    assert bad_spec.stderr.strip() == (
        "error: expected FILE.py:HANDLER or MODULE:HANDLER, got 'no-colon-here'"
    )
    assert "Traceback" not in bad_spec.stderr + bad_spec.stdout
    mistakes = [
        (["run", "examples/seed.py:function_under_test", "--input", "input str"], "--input must"),
        (["run", "examples/nowhere.py:handler"], "no such file"),
        (["run", "examples/seed.py:no_such_handler"], "has no attribute 'no_such_handler'"),
        (["serve", "--config", "missing.toml", "--port", "0"], "cannot read the config file"),
        (["fuzz", "examples/seed.py:function_under_test", "--partner", "gateway"], "NAME=PATTERN"),
        (
            ["fuzz", "examples/seed.py:function_under_test", "--partner", "gateway=charge"],
            "has no 'outage'",
        ),
        (["fuzz", "examples/seed.py:function_under_test", "--callback", "approval"], "NAME=JSON"),
        (
            ["fuzz", "examples/seed.py:function_under_test", "--callback", "approval={yes"],
            "the answer must be JSON text",
        ),
    ]
    for argv, expected in mistakes:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ")
        assert expected in err


def test_errors_from_the_service_and_the_network_are_reported_plainly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["history", "not-an-arn", "--endpoint", "http://127.0.0.1:9"]) == 1
    assert "error: Could not connect to the endpoint URL" in capsys.readouterr().err
    assert main(["serve", "--port", "0"]) == 2
    assert "no functions to serve" in capsys.readouterr().err


def test_without_an_endpoint_or_credentials_nothing_is_sent_to_aws(tmp_path: Path) -> None:
    # Placeholder credentials are for a local server only: towards AWS itself the command
    # must say that there are none, not send a request signed with a made-up key.
    env = {k: v for k, v in ENV.items() if not k.startswith("AWS_")}
    missing = str(tmp_path / "missing")
    env |= {
        "AWS_SHARED_CREDENTIALS_FILE": missing,
        "AWS_CONFIG_FILE": missing,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "async_durable_execution_runner",
            "history",
            "arn:x",
            "--endpoint",
            "",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Unable to locate credentials" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_reader_that_goes_away_ends_the_command_without_a_traceback() -> None:
    # ``run ... --json | head -c 10``: the pipe closes while the history is printed.
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "async_durable_execution_runner",
            "run",
            "examples/seed.py:function_under_test",
            "--json",
        ],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the command writes anything
    with process.stderr:
        err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_serve_names_the_functions_with_a_canned_result_too(tmp_path: Path) -> None:
    config = tmp_path / "functions.toml"
    config.write_text(
        f'[functions.approval]\nhandler = "{ROOT / "tests" / "server" / "handlers.py"}:approval"\n'
        "\n[functions.payments]\nresult = '{\"paid\": true}'\n"
    )
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "async_durable_execution_runner", "serve"),
            *("--config", str(config), "--port", "0", "--skip-time"),
        ],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        first = process.stdout.readline()
        assert first.startswith("serving the Lambda durable-execution API on"), (
            first + process.stderr.read()
        )
        banner = process.stdout.readline().strip()
        assert banner == "functions: approval, payments (canned result)"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()


@pytest.fixture
def served() -> Iterator[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "async_durable_execution_runner",
            "serve",
            "approval=tests.server.handlers:approval",
            "tests.server.handlers:pricing",
            "--port",
            "0",
            "--skip-time",
        ],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # blocks until the server listens
    assert first.startswith("serving the Lambda durable-execution API on http://127.0.0.1:"), (
        first + (process.stderr.read() if process.stderr else "")
    )
    assert process.stdout.readline().strip() == "functions: approval, pricing"
    try:
        yield first.rsplit(" ", 1)[1].strip()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()


def test_serve_invoke_history_callback(served: str, capsys: pytest.CaptureFixture[str]) -> None:
    endpoint = ["--endpoint", served]
    assert main(["invoke", "approval", "--async", "--name", "a1", "--payload", "1", *endpoint]) == 0
    started = json.loads(capsys.readouterr().out)
    assert started["StatusCode"] == 202
    arn = started["DurableExecutionArn"]

    # An asynchronous invoke answers before the execution has run: its first invocation
    # reaches the callback soon after, on the server's own thread.
    deadline = time.monotonic() + 30
    while True:
        assert main(["history", arn, "--json", *endpoint]) == 0
        events = json.loads(capsys.readouterr().out)
        callbacks = [e for e in events if e["EventType"] == "CallbackStarted"]
        if callbacks or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert len(callbacks) == 1, events
    (callback,) = callbacks
    callback_id = callback["CallbackStartedDetails"]["CallbackId"]

    assert main(["callback", "heartbeat", callback_id, *endpoint]) == 0
    assert main(["callback", "success", callback_id, "--result", '"yes"', *endpoint]) == 0
    capsys.readouterr()
    # The same name and payload: the (now finished) execution answers.
    assert main(["invoke", "approval", "--name", "a1", "--payload", "1", *endpoint]) == 0
    assert json.loads(capsys.readouterr().out)["Payload"] == '"yes"'
    assert main(["history", arn, *endpoint]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("status: SUCCEEDED")
    assert "CallbackSucceeded" in printed

    assert main(["invoke", "pricing", "--payload", '{"quantity": 4}', *endpoint]) == 0
    assert json.loads(capsys.readouterr().out)["Payload"] == 8
    assert main(["callback", "success", callback_id, *endpoint]) == 1
    assert "error: CallbackTimeoutException" in capsys.readouterr().err


def test_fuzz_passes_a_correct_handler(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["fuzz", "tests.server.handlers:pricing", "--input", '{"quantity": 2}', "--examples", "5"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.out
    assert "passed: 5 example(s), every oracle held" in captured.out
    # (A fault may fail an execution: a non-retryable checkpoint error does.)
    ended = r"^ended: (\d SUCCEEDED|\d FAILED|\d SUCCEEDED, \d FAILED)$"
    assert re.search(ended, captured.out, re.M)
    assert "note:" not in captured.out  # it never fails on its own
    assert "examples run: 5" in captured.err


def test_fuzz_says_how_the_executions_ended_and_that_the_handler_failed_on_its_own(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # No oracle flags a failed execution: a handler that fails on every run passes them all,
    # and the summary is where the user learns it.
    code = main(
        [
            "fuzz",
            "tests.server.handlers:failing",
            "--examples",
            "5",
            "--max-faults",
            "0",
            "--log-file",
            str(tmp_path / "campaign.log"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "passed: 5 example(s), every oracle held" in out
    assert "ended: 5 FAILED\n      5  FAILED  ValueError: this function always fails\n" in out
    assert "note: 5 example(s) with no fault injected did not succeed" in out
    assert "`python -m async_durable_execution_runner run tests.server.handlers:failing`" in out
    assert "--expect-status SUCCEEDED" in out


def test_run_and_the_fuzz_note_take_the_functions_a_handler_invokes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    module = tmp_path / "invoking_for_cli.py"
    module.write_text(
        "from async_durable_execution import durable_execution, invoke\n"
        "\n"
        "@durable_execution\n"
        "async def caller(event):\n"
        "    return await invoke('doubler', event, name='double')\n"
        "\n"
        "@durable_execution\n"
        "async def doubler(event):\n"
        "    return event['n'] * 2\n"
        "\n"
        "@durable_execution\n"
        "async def broken(event):\n"
        "    raise ValueError('broken on purpose')\n"
    )
    caller = f"{module}:caller"
    assert (
        main(["run", caller, "--input", '{"n": 2}', "--function", f"doubler={module}:doubler"]) == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("status: SUCCEEDED\nresult: 4\n"), out
    # The note's command runs the example again as the campaign ran it: with its functions.
    broken = f"doubler={module}:broken"
    log_file = str(tmp_path / "campaign.log")
    fuzz_args = ["fuzz", caller, "--input", '{"n": 2}', "--function", broken, "--max-faults", "0"]
    code = main([*fuzz_args, "--examples", "3", "--log-file", log_file])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"run {caller} --input '{{\"n\": 2}}' --function {broken}`" in out
    sys.path.remove(str(tmp_path))
    del sys.modules["invoking_for_cli"]


def test_fuzz_answers_callbacks_with_the_answers_given(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    answers = tmp_path / "approval_answers.py"
    answers.write_text(
        "import json\n"
        "SEEN = set()\n"
        "def answered(outcome):\n"
        "    SEEN.add(json.loads(outcome.value)['approved'])\n"
    )
    code = main(
        [
            "fuzz",
            "tests.server.handlers:approval",
            "--callback",
            'approval={"approved": true}',
            "--callback",
            'approval={"approved": false}',
            "--faults",
            "crash",
            "--fixed-timings",
            "--expect-status",
            "SUCCEEDED",
            "--property",
            f"{answers}:answered",
            "--examples",
            "30",
            "--seed",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ended: 30 SUCCEEDED\n" in out
    # Each example drew one of the answers given; over the campaign, both.
    seen = sys.modules["approval_answers"].SEEN
    assert seen == {True, False}
    sys.path.remove(str(tmp_path))
    del sys.modules["approval_answers"]


def test_fuzz_finds_shrinks_and_prints_a_repro(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "fuzz",
            "buggy.side_effect_outside_step:buggy",
            "--before-run",
            "buggy.side_effect_outside_step:reset",
            "--input",
            '{"id": "order-1"}',
            "--faults",
            "crash,invocation_lost",
            "--max-faults",
            "2",
            "--fixed-timings",
            "--examples",
            "60",
            "--seed",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    # The example that failed, not the shrinking runs after it, is what the campaign took.
    found = re.search(r"FAILED at example (\d+) \(then (\d+) shrinking run\(s\)\)", out)
    assert found, out
    assert 1 <= int(found[1]) <= 60
    assert "FaultNotMasked" in out
    assert "minimal reproduction (a standalone pytest test):" in out
    assert "faults=(crash(invocation=1, call=1),)" in out  # shrunk to one fault
    assert out.count("def test_regression") == 1  # the report's own is left out
    assert "Reproduce with:" not in out
    assert "Timeline (open in a browser):" in out  # the rest of the report is kept


def _warehouse_campaign(*partners: str) -> list[str]:
    """An outage campaign over ``buggy.compensation_in_outage:released_at_the_warehouse``,
    whose promise holds when one partner is down at a time."""
    module = "buggy.compensation_in_outage"
    args = [
        "fuzz",
        f"{module}:released_at_the_warehouse",
        "--before-run",
        f"{module}:reset",
        "--property",
        f"{module}:no_stock_held_unpaid",
        "--input",
        '{"id": "order-1"}',
        "--faults",
        "outage",
        "--max-faults",
        "1",
        "--fixed-timings",
        "--examples",
        "40",
        "--seed",
        "1",
    ]
    for partner in partners:
        args += ["--partner", partner]
    return args


def test_fuzz_partners_aim_each_outage_at_one_partners_steps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An outage of every step fails the warehouse's release too, which an outage of the
    # gateway alone never reaches.
    assert main(_warehouse_campaign()) == 1
    out = capsys.readouterr().out
    assert "holding stock it never paid for" in out
    assert main(_warehouse_campaign("gateway=gateway-*", "warehouse=warehouse-*")) == 0
    assert "passed: 40 example(s)" in capsys.readouterr().out


def _interrupted_step_campaign(variant: str) -> list[str]:
    """A crash-only campaign over ``buggy.interrupted_step_caught_by_class``'s ``variant``."""
    return [
        "fuzz",
        f"buggy.interrupted_step_caught_by_class:{variant}",
        "--before-run",
        "buggy.fakes:reset",
        "--input",
        '{"id": "order-1"}',
        "--faults",
        "crash",
        "--fixed-timings",
        "--examples",
        "40",
        "--seed",
        "1",
    ]


def test_fuzz_expect_status_finds_what_no_oracle_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An interrupted at-most-once step may change the outcome by design, so no oracle flags
    # the handler that catches its class only (SDK finding 16): the user's promise does.
    args = _interrupted_step_campaign("buggy")
    assert main(args) == 0
    assert "every oracle held" in capsys.readouterr().out
    assert main([*args, "--expect-status", "SUCCEEDED"]) == 1
    out = capsys.readouterr().out
    assert "the execution ended FAILED (CallableRuntimeError" in out
    assert "--expect-status says it always ends SUCCEEDED" in out
    assert "History:" in out  # the outcome's report, as an oracle's failure has
    assert "faults=(crash(invocation=1, call=2),)" in out
    assert "    assert outcome.execution_status.value == 'SUCCEEDED', outcome.error\n" in out
    # The fixed twin keeps the promise.
    fixed = _interrupted_step_campaign("fixed")
    assert main([*fixed, "--expect-status", "SUCCEEDED"]) == 0
    assert "every oracle and property held" in capsys.readouterr().out


def test_fuzz_property_of_the_users_own_is_checked_and_reproduced(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    checks = tmp_path / "order_checks.py"
    checks.write_text(
        "def receipt_sent(outcome):\n"
        "    assert outcome.value == {'charge': 'charge-order-1'}, outcome.error\n"
    )
    code = main([*_interrupted_step_campaign("buggy"), "--property", f"{checks}:receipt_sent"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "FAILED at example" in out and "AssertionError" in out
    assert "faults=(crash(invocation=1, call=2),)" in out
    assert "from order_checks import receipt_sent\n" in out
    assert "    receipt_sent(outcome)\n" in out


def test_fuzz_keeps_the_handlers_logs_out_of_the_terminal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The SDK logs every failed execution with its traceback; a campaign runs it many times.
    log_file = tmp_path / "campaign.log"
    code = main(
        ["fuzz", "tests.server.handlers:failing", "--examples", "5", "--log-file", str(log_file)]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.out
    assert "Traceback" not in captured.err + captured.out
    assert f"during the campaign: {log_file}" in captured.err
    logged = log_file.read_text()
    assert "ERROR async_durable_execution._core.execution: Execution failed" in logged
    assert "ValueError: this function always fails" in logged


def test_fuzz_show_logs_prints_them_on_stderr() -> None:
    done = cli("fuzz", "tests.server.handlers:failing", "--examples", "3", "--show-logs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ValueError: this function always fails" in done.stderr
    assert "during the campaign" not in done.stderr


def test_a_file_in_a_package_is_the_module_its_package_imports(tmp_path: Path) -> None:
    from async_durable_execution_runner.cli import load_handler

    package = tmp_path / "shop_for_cli"
    package.mkdir()
    (package / "__init__.py").write_text("def describe():\n    return 'shop'\n")
    (package / "fakes.py").write_text("LEDGER: list[str] = []\n")
    (package / "orders.py").write_text(
        "from async_durable_execution import durable_execution, step\n"
        "from .fakes import LEDGER  # a relative import: only a package's module has one\n"
        "\n"
        "async def _book(order):\n"
        "    LEDGER.append(order)\n"
        "    return len(LEDGER)\n"
        "\n"
        "@durable_execution\n"
        "async def handler(event):\n"
        "    return await step(lambda: _book(event['id']), name='book')\n"
        "\n"
        "def reset():\n"
        "    LEDGER.clear()\n"
    )
    try:
        handler = load_handler(f"{package / 'orders.py'}:handler")
        reset = load_handler("shop_for_cli.orders:reset")
        # One module, whichever way it is named: --before-run resets the handler's fakes.
        assert handler.__module__ == "shop_for_cli.orders"
        assert sys.modules["shop_for_cli.orders"].reset is reset
        described = load_handler(f"{package / '__init__.py'}:describe")
        assert described.__module__ == "shop_for_cli"  # the package, not a module "__init__"
    finally:
        for name in [m for m in sys.modules if m.startswith("shop_for_cli")]:
            del sys.modules[name]
        sys.path.remove(str(tmp_path))
