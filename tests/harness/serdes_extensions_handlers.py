"""Handlers for ``test_serdes_extensions_corpus.py``: wrong twins of
``examples/serdes_extensions.py``'s ``report_on_shared_disk``, which files its payloads under
a directory its own module makes at import (Lambda's ``/tmp``: one per sandbox), and of
``offloaded_to_bucket``, whose SerDes stamps the value it reads back with the time."""

from __future__ import annotations

import json
import tempfile
import time
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


class StampedBucketSerDes(corpus.BucketSerDes):
    """Stamps what it reads back with the time it was read: a deserializer runs on every
    replay, so the value differs from one invocation to the next."""

    async def deserialize(self, data: str) -> Any:
        value = await super().deserialize(data)
        return {**value, "read_at": time.time()}


@durable_execution
async def report_stamped_when_read(event: Any) -> dict[str, Any]:
    bucket = StampedBucketSerDes()
    report = await step(
        lambda: corpus._build_report(event["day"], event["rows"]),
        name="build-report",
        serdes=bucket,
    )
    await wait(3600, name="until-close")
    return {"rows": len(report["rows"]), "read": json.dumps(report["read_at"])}
