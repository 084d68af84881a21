"""A module that defines its handler and runs a scenario when it is imported (a script, a
notebook cell, a docs block): a cold sandbox imports the handler's module afresh, and with
it runs that scenario again, inside the first one. It used to wait for the first one's
lock forever; the nested run now fails at once, and says why, where the user reads it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_scenario_run_by_a_cold_import_fails_at_once_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "script_style.py").write_text(
        textwrap.dedent(
            """
            from async_durable_execution import durable_execution, step
            from async_durable_execution_runner.scenarios import Scenario, crash


            async def _one():
                return 1


            @durable_execution
            async def handler(event):
                return await step(lambda: _one(), name="one")


            # The crash makes the service re-invoke in a cold sandbox, which imports this
            # module afresh, and so runs this line again.
            OUTCOME = Scenario(handler=handler, faults=(crash(invocation=1, call=1),)).run()
            """
        )
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import script_style as s; print([i.error_message for i in s.OUTCOME.invocations])",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "src")])},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "a scenario was run while another one runs on this thread" in done.stdout
    assert "Run scenarios from test functions" in done.stdout
