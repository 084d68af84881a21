"""Handlers for ``test_serdes_extensions_corpus.py``: a wrong twin of
``examples/serdes_extensions.py``'s ``report_on_shared_disk``, which files its payloads under
a directory its own module makes at import (Lambda's ``/tmp``: one per sandbox)."""

from __future__ import annotations

import tempfile
from typing import Any

import serdes_extensions as corpus
import serdes_extensions_services as services
from async_durable_execution import (
    ExtendedTypeSerDes,
    create_file_system_serdes_stage,
    create_serdes_pipeline,
    durable_execution,
    step,
    wait,
)

#: Made when this module is imported: a cold sandbox makes another (under the shared mount,
#: so that the process's exit removes it).
SANDBOX_TMP = tempfile.mkdtemp(prefix="sandbox-", dir=services.mount())


@durable_execution
async def report_on_sandbox_tmp(event: Any) -> dict[str, Any]:
    """``report_on_shared_disk`` with its report filed under the sandbox's own directory: the
    invocation after the wait, in a new sandbox, cannot read it back."""
    disk = create_serdes_pipeline(
        ExtendedTypeSerDes(), create_file_system_serdes_stage(SANDBOX_TMP)
    )
    report = await step(
        lambda: corpus._build_report(event["day"], event["rows"]),
        name="build-report",
        serdes=disk,
    )
    await wait(3600, name="let-it-settle")
    return {"rows": len(report["rows"])}
