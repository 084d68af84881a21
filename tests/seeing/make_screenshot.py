"""Regenerate ``docs/timeline.png`` and ``docs/timeline.html`` (by hand; needs chromium).

The order workflow of ``examples/orders.py``: a reservation, an approval callback answered
after ten minutes, a chained invoke of the pricing function, a charge whose first attempt is
made to fail by an injected fault, a one-hour wait, and a crash injected in one invocation.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]

from orders import order_workflow, pricing_handler  # noqa: E402

from async_durable_execution_runner.scenarios import (  # noqa: E402
    Scenario,
    Timings,
    crash,
    step_exception,
)


def main() -> None:
    scenario = Scenario(
        handler=order_workflow,
        input={"id": 1, "quantity": 3},
        functions={"pricing": pricing_handler},
        faults=(step_exception(step=4, attempt=1), crash(invocation=4, call=1)),
        timings=Timings(callback_delays=(600.0,)),
    )
    result = scenario.run().result
    page = ROOT / "docs" / "timeline.html"
    result.to_html(page)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is needed for the screenshot")
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={ROOT / 'docs' / 'timeline.png'}",
            "--window-size=1300,560",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
    )
    print(result)


if __name__ == "__main__":
    main()
