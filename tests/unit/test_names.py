"""Names the service derives: the fast version-5 UUIDs equal ``uuid.uuid5``'s."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from async_durable_execution_runner._service import names


@given(st.text())
def test_uuid5_matches_the_standard_library(name: str) -> None:
    assert names._uuid5(name) == str(uuid.uuid5(names._NAMESPACE, name))


def test_request_ids_and_arns_are_deterministic() -> None:
    arn = names.execution_arn("us-east-1", "123456789012", "f", "execution-1")
    assert arn.rsplit("/", 1)[1] == str(uuid.uuid5(names._NAMESPACE, "f/execution-1"))
    assert names.request_id(arn, 2) == str(uuid.uuid5(names._NAMESPACE, f"{arn}#2"))
