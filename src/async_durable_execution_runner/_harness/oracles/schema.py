"""The schema oracle: every update, operation and event validates against botocore's Lambda
model."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from functools import cache
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator

from async_durable_execution_runner._botocore_model import load_schema
from async_durable_execution_runner._harness.oracles.base import SchemaViolation, _label, oracle

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    # These shapes are not recursive, so inlining every $ref is finite; it spares jsonschema
    # the reference lookups that dominate its validation time.
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


@cache
def _validator(shape: str) -> Draft202012Validator:
    schema = load_schema(shape)
    return Draft202012Validator(_inline_refs(schema, schema.get("$defs", {})))


_VERDICTS: dict[tuple[str, bytes], str | None] = {}
_MAX_VERDICTS = 100_000


def _first_error(shape: str, document: Any, *, timeless: bool = False) -> str | None:
    """The first way ``document`` breaks ``shape``, if any; ``timeless``: its timestamps
    only need to be numbers."""
    # Runs of one handler repeat the same documents (virtual time, deterministic ids), so
    # remember verdicts by content; the key is made without copying the document, which a
    # verdict found needs no more than that.
    # A digest of the text, not the text: documents carry step results (10 KB each for a
    # handler with megabytes of state), and a verdict is kept for the whole session.
    text = json.dumps(document, sort_keys=True, default=_timeless_key if timeless else str)
    key = (shape, hashlib.blake2b(text.encode(), digest_size=16).digest())
    if key in _VERDICTS:
        return _VERDICTS[key]
    checked = _timeless(document) if timeless else document
    error = next(iter(_validator(shape).iter_errors(checked)), None)
    verdict = None
    if error is not None:
        path = "/".join(str(p) for p in error.absolute_path) or "(root)"
        verdict = f"{path}: {error.message}"
    if len(_VERDICTS) >= _MAX_VERDICTS:
        _VERDICTS.clear()
    _VERDICTS[key] = verdict
    return verdict


def _timeless(value: Any) -> Any:
    # Timestamps only need to be numbers on the wire; giving them all one value lets runs
    # that differ only in their clock share schema verdicts.
    if isinstance(value, _dt.datetime):
        return 0.0
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_timeless(v) for v in value]
    return value


def _timeless_key(value: Any) -> Any:
    # What json.dumps cannot write, in a verdict's key: a timestamp as _timeless has it,
    # anything else as text.
    return 0.0 if isinstance(value, _dt.datetime) else str(value)


@oracle("schema")
def check_schemas(outcome: Outcome) -> None:
    """Every update, operation and event validates against botocore's Lambda model."""
    for t in outcome.recorder.transitions:
        problem = _first_error("OperationUpdate", t.update.to_dict())
        if problem:
            what = f"update {t.update.action.value} for {_label(t.update.id, t.update.name)}"
            msg = f"{what} breaks OperationUpdate: {problem}"
            raise SchemaViolation(msg)
        problem = _first_error("Operation", t.operation.to_dict(), timeless=True)
        if problem:
            msg = (
                f"operation {_label(t.operation.id, t.operation.name)} breaks Operation: {problem}"
            )
            raise SchemaViolation(msg)
    for arn, events in outcome.recorder.events.items():
        for e in events:
            problem = _first_error("Event", e.to_dict(), timeless=True)
            if problem:
                msg = f"event {e.event_id} ({e.event_type.value}) of {arn} breaks Event: {problem}"
                raise SchemaViolation(msg)
