"""The HTML timeline: self-contained, and loaded in a real headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.replay import handlers as h

from async_durable_execution_runner import DurableFunctionTestResult, DurableFunctionTestRunner
from async_durable_execution_runner.scenarios import Scenario, crash, step_exception

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")


def _order() -> DurableFunctionTestResult:
    from orders import order_workflow, pricing_handler

    with DurableFunctionTestRunner(order_workflow, functions={"pricing": pricing_handler}) as r:
        arn = r.start({"id": 1, "quantity": 3})
        callback = r.wait_for_callback(arn, "approval")
        r.send_callback_success(callback, json.dumps({"approved": True}))
        return r.wait_for_result(arn)


def _faulty() -> DurableFunctionTestResult:
    scenario = Scenario(
        handler=h.fan_out,
        input={"run": "html"},
        faults=(crash(invocation=2, call=1), step_exception(step=1, attempt=2)),
    )
    return scenario.run().result


def _operations(result: DurableFunctionTestResult) -> int:
    ids = {e.id for e in result.events if not e.event_type.value.startswith("Execution")}
    return len(ids - {None})


def test_the_page_is_self_contained(tmp_path: Path) -> None:
    result = _order()
    page = result.to_html(tmp_path / "order.html")
    assert (tmp_path / "order.html").read_text() == page
    for outside in ("http://", "https://", "<script", "<link", " src=", "@import", "url("):
        assert outside not in page
    timeline = page[page.index('aria-label="execution timeline"') :]
    bars = re.findall(r'<rect class="[^"]*\bbar\b', timeline)
    assert len(bars) == _operations(result) + 1  # a lane per operation, and the execution
    assert 'class="bar callback' in timeline and 'class="bar invoke' in timeline
    assert 'class="bar wait' in timeline and 'class="invocation"' in timeline
    assert timeline.count('class="answer"') == 2  # the approval arrives; the price returns
    assert "<title>step charge" in timeline  # details on hover


def test_retries_and_injected_faults_are_drawn() -> None:
    page = _faulty().to_html()
    timeline = page[page.index('aria-label="execution timeline"') :]
    assert 'class="retry"' in timeline
    assert 'class="invocation died"' in timeline
    assert timeline.count('class="fault"') >= 2  # the crash and the step's injected error


@pytest.mark.skipif(
    BROWSER is None,
    reason="headless Chromium is not installed (.ci/run installs Debian's `chromium` package "
    "with apt-get; where apt-get cannot, this browser test is skipped)",
)
@pytest.mark.parametrize("make", [_order, _faulty], ids=["order", "faults"])
def test_chromium_loads_it_without_console_errors(tmp_path: Path, make: object) -> None:
    assert callable(make)
    result = make()
    page = result.to_html()
    # The probe (added to a copy only) counts the bars the browser laid out.
    probe = (
        "<script>const bars = [...document.querySelectorAll("
        "'svg[aria-label=\"execution timeline\"] rect.bar')]"
        ".filter(b => b.getBBox().width > 0 && b.getBBox().height > 0);"
        "console.log('BARS=' + bars.length);</script>"
    )
    path = tmp_path / "probe.html"
    path.write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    assert BROWSER is not None
    run = subprocess.run(
        [
            BROWSER,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    counted = [line for line in console if '"BARS=' in line]
    assert len(counted) == 1, run.stderr[-3000:]
    assert f'"BARS={_operations(result) + 1}"' in counted[0]
    others = [line for line in console if line not in counted]
    assert not others, others  # no errors (nor anything else) on the console
    assert 'aria-label="execution timeline"' in run.stdout


def test_a_failure_report_carries_the_timeline_path() -> None:
    scenario = Scenario(
        handler=h.fan_out, input={"run": "report"}, faults=(crash(invocation=1, call=1),)
    )
    report = scenario.run().report()
    line = next(x for x in report.splitlines() if x.startswith("Timeline (open in a browser): "))
    path = Path(line.split(": ", 1)[1])
    assert path.suffix == ".html" and path.exists()
    assert 'aria-label="execution timeline"' in path.read_text()
