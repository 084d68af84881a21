"""The durable-execution part of botocore's Lambda service model, as JSON Schemas and HTTP routes.

Ground truth for the emulator's wire format is the Lambda service model that botocore ships
(``botocore/data/lambda/2015-03-31/service-2.json.gz``).  This module reads it and derives:

* :func:`shape_to_json_schema`: a JSON Schema (draft 2020-12) for any shape of the model;
* :data:`DURABLE_SHAPES`: the shapes we ship schemas for, in ``schemas/<Shape>.schema.json``
  (package data, read back with :func:`load_schema`; reading them needs no botocore);
* :func:`durable_routes`: the HTTP binding (method, URI template, where each input member lives)
  of every durable-execution operation;
* :func:`error_shapes`: the HTTP status code and members of every error those operations return.

Regenerate the shipped schemas after upgrading botocore with::

    python -m async_durable_execution_runner._botocore_model --write

How the schemas map the model
-----------------------------
Validation happens on *JSON-ready* dicts (what travels on the wire or what ``json.loads``
returns), never on dicts holding ``datetime`` or ``bytes`` objects: the project's own code converts
datetimes to ISO-8601 strings or epoch numbers before validating.

* ``structure``: ``type: object`` with ``properties``, ``required`` and
  ``additionalProperties: false`` (a union structure also gets exactly one property).
* ``string``: ``minLength`` / ``maxLength`` / ``enum`` / ``pattern``.  botocore patterns must match
  the whole value, so they are anchored as ``^(?:...)$`` (the group keeps a top-level alternation
  inside the anchors).  They are ECMA-262 compatible as written, including ``\\x21``-style escapes.
  Caveat of the Python validator only: :mod:`jsonschema` evaluates ``pattern`` with
  :func:`re.search`, whose ``$`` also matches before one trailing ``"\\n"`` and whose ``\\d``
  matches non-ASCII digits; the schema itself means the ECMA-262 semantics.
* ``integer`` / ``long``: ``type: integer`` with ``minimum`` / ``maximum``; ``float`` / ``double``:
  ``type: number``.
* ``boolean``: ``type: boolean``.
* ``timestamp``: either a number (epoch seconds, as rest-json puts it in a body) or an ISO-8601
  date-time string with seconds and an explicit offset (``Z`` or ``+hh:mm``), which is what
  ``datetime.isoformat()`` produces for an aware datetime.
* ``blob``: a base64 string (``contentEncoding: base64``); the model's byte-length limits become
  the matching base64 length limits.
* ``list``: ``type: array`` with ``items`` / ``minItems`` / ``maxItems``; ``map``: ``type: object``
  with ``propertyNames`` / ``additionalProperties`` / ``minProperties`` / ``maxProperties``.

Every named shape other than the root is in ``$defs`` under its botocore name and referenced with
``$ref`` (a reference back to the root is ``#``).  A request shape's schema covers all its members,
including those that travel in the URI, query string or headers: :func:`durable_routes` tells where
each one lives.
"""

from __future__ import annotations

import argparse
import copy
import functools
import gzip
import importlib.metadata
import importlib.resources
import json
import math
import re
import sys
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "DURABLE_OPERATIONS",
    "DURABLE_SHAPES",
    "JSON_SCHEMA_DIALECT",
    "MemberLocation",
    "Route",
    "botocore_version",
    "durable_routes",
    "error_shapes",
    "load_schema",
    "load_service_model",
    "outdated_schemas",
    "render_schema",
    "route_for",
    "schema_filename",
    "shape_to_json_schema",
    "write_schemas",
]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_MODEL_RESOURCE = ("data", "lambda", "2015-03-31", "service-2.json.gz")
_REGENERATE_COMMAND = "python -m async_durable_execution_runner._botocore_model --write"

DURABLE_OPERATIONS: tuple[str, ...] = (
    "CheckpointDurableExecution",
    "GetDurableExecution",
    "GetDurableExecutionHistory",
    "GetDurableExecutionState",
    "ListDurableExecutionsByFunction",
    "SendDurableExecutionCallbackFailure",
    "SendDurableExecutionCallbackHeartbeat",
    "SendDurableExecutionCallbackSuccess",
    "StopDurableExecution",
)
"""The durable-execution operations of the Lambda API, in the model's (alphabetical) order."""

DURABLE_SHAPES: tuple[str, ...] = (
    "OperationUpdate",
    "Operation",
    "Event",
    "ErrorObject",
    "Execution",
    *(
        f"{operation}{suffix}"
        for operation in DURABLE_OPERATIONS
        for suffix in ("Request", "Response")
    ),
)
"""Shapes shipped as ``schemas/<Shape>.schema.json``: the checkpoint/state/history building blocks
and the request and response shape of every operation in :data:`DURABLE_OPERATIONS`."""

# ISO-8601 date-time as produced by ``datetime.isoformat()`` on an aware datetime (or with ``Z``).
_ISO_8601_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})$"
)

Location = Literal["uri", "querystring", "header", "body", "payload"]


# --------------------------------------------------------------------------------------- the model


def botocore_version() -> str:
    """The version of the installed botocore distribution."""
    return importlib.metadata.version("botocore")


@functools.cache
def load_service_model() -> dict[str, Any]:
    """The Lambda service model of the installed botocore, parsed (cached; do not mutate it)."""
    resource = importlib.resources.files("botocore")
    for part in _MODEL_RESOURCE:
        resource = resource / part
    with resource.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        model: dict[str, Any] = json.load(text)
    return model


def _shapes() -> dict[str, Any]:
    shapes: dict[str, Any] = load_service_model()["shapes"]
    return shapes


def _shape(name: str) -> dict[str, Any]:
    try:
        shape: dict[str, Any] = _shapes()[name]
    except KeyError:
        raise KeyError(
            f"shape {name!r} is not in botocore {botocore_version()}'s Lambda model"
        ) from None
    return shape


def _operation(name: str) -> dict[str, Any]:
    try:
        operation: dict[str, Any] = load_service_model()["operations"][name]
    except KeyError:
        raise KeyError(
            f"operation {name!r} is not in botocore {botocore_version()}'s Lambda model"
        ) from None
    return operation


# ----------------------------------------------------------------------------------- JSON Schemas


def _anchor(pattern: str) -> str:
    """Anchor a botocore (full-match) pattern for JSON Schema's search semantics."""
    return f"^(?:{pattern})$"


def _base64_length(byte_count: int) -> int:
    return 4 * math.ceil(byte_count / 3)


def _shape_body(name: str, ref: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """The schema of shape ``name`` itself; ``ref(target)`` gives the schema referencing a shape."""
    shape = _shape(name)
    kind = shape["type"]
    schema: dict[str, Any]
    if kind == "structure":
        members: dict[str, Any] = shape.get("members", {})
        schema = {
            "type": "object",
            "properties": {member: ref(spec["shape"]) for member, spec in members.items()},
            "additionalProperties": False,
        }
        if shape.get("required"):
            schema["required"] = list(shape["required"])
        if shape.get("union"):
            schema["minProperties"] = 1
            schema["maxProperties"] = 1
    elif kind == "string":
        schema = {"type": "string"}
        if "enum" in shape:
            schema["enum"] = list(shape["enum"])
        if "min" in shape:
            schema["minLength"] = shape["min"]
        if "max" in shape:
            schema["maxLength"] = shape["max"]
        if "pattern" in shape:
            schema["pattern"] = _anchor(shape["pattern"])
    elif kind in ("integer", "long", "float", "double"):
        schema = {"type": "integer" if kind in ("integer", "long") else "number"}
        if "min" in shape:
            schema["minimum"] = shape["min"]
        if "max" in shape:
            schema["maximum"] = shape["max"]
    elif kind == "boolean":
        schema = {"type": "boolean"}
    elif kind == "timestamp":
        schema = {
            "anyOf": [
                {"type": "number", "$comment": "epoch seconds"},
                {"type": "string", "format": "date-time", "pattern": _ISO_8601_PATTERN},
            ]
        }
    elif kind == "blob":
        schema = {"type": "string", "contentEncoding": "base64"}
        if "min" in shape:
            schema["minLength"] = _base64_length(shape["min"])
        if "max" in shape:
            schema["maxLength"] = _base64_length(shape["max"])
        if "min" in shape or "max" in shape:
            schema["$comment"] = (
                f"{shape.get('min', 0)}..{shape.get('max', 'unbounded')} bytes, base64-encoded"
            )
    elif kind == "list":
        schema = {"type": "array", "items": ref(shape["member"]["shape"])}
        if "min" in shape:
            schema["minItems"] = shape["min"]
        if "max" in shape:
            schema["maxItems"] = shape["max"]
    elif kind == "map":
        schema = {
            "type": "object",
            "propertyNames": ref(shape["key"]["shape"]),
            "additionalProperties": ref(shape["value"]["shape"]),
        }
        if "min" in shape:
            schema["minProperties"] = shape["min"]
        if "max" in shape:
            schema["maxProperties"] = shape["max"]
    elif kind == "document":
        schema = {}
    else:
        raise ValueError(f"shape {name!r} has unsupported botocore type {kind!r}")
    return schema


def shape_to_json_schema(name: str) -> dict[str, Any]:
    """A self-contained JSON Schema (draft 2020-12) for botocore shape ``name``.

    The root is the shape itself (with ``title`` set to its name); every other shape it reaches,
    through structure members, list members and map keys/values, is in ``$defs`` under its
    botocore name.  See the module docstring for how each botocore type maps; in short:
    validate JSON-ready dicts, where a timestamp is epoch seconds (number) or an ISO-8601 string
    with an offset, and a blob is a base64 string.  Documentation strings are not copied.
    """
    defs: dict[str, dict[str, Any]] = {}
    pending: list[str] = []

    def ref(target: str) -> dict[str, Any]:
        if target == name:
            return {"$ref": "#"}
        if target not in defs:
            defs[target] = {}  # placeholder: breaks cycles, filled below
            pending.append(target)
        return {"$ref": f"#/$defs/{target}"}

    root = _shape_body(name, ref)
    while pending:
        target = pending.pop()
        defs[target] = _shape_body(target, ref)
    schema: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT, "title": name, **root}
    if defs:
        schema["$defs"] = dict(sorted(defs.items()))
    return schema


def schema_filename(name: str) -> str:
    """The file name of the shipped schema for shape ``name``."""
    return f"{name}.schema.json"


def render_schema(name: str) -> str:
    """The exact text :func:`write_schemas` writes for shape ``name``.

    It is :func:`shape_to_json_schema` plus a ``$comment`` naming the botocore version.
    """
    schema = {
        "$comment": (
            "Generated from the Lambda service model (2015-03-31) of "
            f"botocore {botocore_version()} by `{_REGENERATE_COMMAND}`. Do not edit."
        ),
        **shape_to_json_schema(name),
    }
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _default_schema_directory() -> Path:
    return Path(__file__).resolve().parent / "schemas"


def write_schemas(directory: str | Path | None = None) -> list[Path]:
    """Write ``<Shape>.schema.json`` for every shape of :data:`DURABLE_SHAPES` into ``directory``.

    ``directory`` defaults to this package's ``schemas/`` folder (created if needed).  Output is
    deterministic: sorted keys, two-space indent, a trailing newline.  Stale ``*.schema.json``
    files of shapes no longer in :data:`DURABLE_SHAPES` are removed.  Returns the written paths.
    """
    target = Path(directory) if directory is not None else _default_schema_directory()
    target.mkdir(parents=True, exist_ok=True)
    wanted = {schema_filename(name) for name in DURABLE_SHAPES}
    for stale in target.glob("*.schema.json"):
        if stale.name not in wanted:
            stale.unlink()
    written = []
    for name in DURABLE_SHAPES:
        path = target / schema_filename(name)
        path.write_text(render_schema(name), encoding="utf-8", newline="\n")
        written.append(path)
    return written


def outdated_schemas(directory: str | Path | None = None) -> list[str]:
    """Shapes of :data:`DURABLE_SHAPES` whose file in ``directory`` is missing or differs from
    what the installed botocore generates, ignoring the ``$comment`` (which names the botocore
    version): a botocore upgrade that leaves the shapes alone is not a difference.
    """
    target = Path(directory) if directory is not None else _default_schema_directory()
    outdated = []
    for name in DURABLE_SHAPES:
        path = target / schema_filename(name)
        if not path.is_file():
            outdated.append(name)
            continue
        shipped = json.loads(path.read_text(encoding="utf-8"))
        shipped.pop("$comment", None)
        if shipped != shape_to_json_schema(name):
            outdated.append(name)
    return outdated


@functools.cache
def _load_schema_text(name: str) -> str:
    resource = importlib.resources.files("async_durable_execution_runner") / "schemas"
    resource = resource / schema_filename(name)
    try:
        return resource.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no shipped schema for shape {name!r}; shipped shapes are {', '.join(DURABLE_SHAPES)}"
            f" (regenerate with `{_REGENERATE_COMMAND}`)"
        ) from None


def load_schema(name: str) -> dict[str, Any]:
    """The shipped JSON Schema for shape ``name`` (one of :data:`DURABLE_SHAPES`); a fresh copy.

    Reads package data, so it works from an installed wheel and does not need botocore.
    """
    schema: dict[str, Any] = json.loads(_load_schema_text(name))
    return schema


# ------------------------------------------------------------------------------------------ routes


@dataclass(frozen=True)
class MemberLocation:
    """Where one member of an operation's input travels in the HTTP request.

    ``location`` is ``uri`` (a ``{label}`` of the URI template), ``querystring``, ``header``,
    ``body`` (a key of the JSON body object) or ``payload`` (the member *is* the whole HTTP body:
    the JSON of a structure, or the raw bytes of a blob).  ``location_name`` is the label, query
    parameter, header or JSON key name.  ``shape``/``type`` are the member's botocore shape name and
    type, so a server can coerce URI and query-string text (e.g. ``integer``, ``boolean``,
    ``timestamp`` as ISO-8601, ``list`` as a repeated query parameter).
    """

    name: str
    location: Location
    location_name: str
    shape: str
    type: str
    required: bool
    idempotency_token: bool = False


@dataclass(frozen=True)
class Route:
    """The HTTP binding of one operation (rest-json protocol)."""

    operation: str
    method: str
    uri: str
    """The request URI template, such as
    ``/2025-12-01/durable-executions/{DurableExecutionArn}/state``."""
    response_code: int
    input_shape: str | None
    output_shape: str | None
    errors: tuple[str, ...]
    members: tuple[MemberLocation, ...]
    """Every input member, in model order."""

    @property
    def path_template(self) -> str:
        """The path part of :attr:`uri` (a model URI may carry a literal query after ``?``)."""
        return self.uri.split("?", 1)[0]

    @property
    def payload_member(self) -> str | None:
        """The input member that is the whole HTTP body, if the input shape has a ``payload``."""
        for member in self.members:
            if member.location == "payload":
                return member.name
        return None

    def members_in(self, location: Location) -> tuple[MemberLocation, ...]:
        """The input members that travel in ``location``."""
        return tuple(member for member in self.members if member.location == location)

    def match(self, raw_path: str) -> dict[str, str] | None:
        """Match a *raw* (still percent-encoded) request path; return the decoded URI labels.

        botocore percent-encodes a label's ``/`` as ``%2F`` (a durable execution ARN contains
        slashes), so match before decoding.  Returns ``None`` when the path does not match.
        """
        found = _path_regex(self.path_template).fullmatch(raw_path)
        if found is None:
            return None
        return {label: urllib.parse.unquote(value) for label, value in found.groupdict().items()}


@functools.cache
def _path_regex(template: str) -> re.Pattern[str]:
    parts: list[str] = []
    position = 0
    for label in re.finditer(r"\{([^{}]+)\}", template):
        parts.append(re.escape(template[position : label.start()]))
        name = label.group(1)
        if name.endswith("+"):
            parts.append(f"(?P<{name[:-1]}>.+)")
        else:
            parts.append(f"(?P<{name}>[^/]+)")
        position = label.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts))


def _member_locations(shape_name: str) -> tuple[MemberLocation, ...]:
    shape = _shape(shape_name)
    required = set(shape.get("required", ()))
    payload = shape.get("payload")
    locations = []
    for member, spec in shape.get("members", {}).items():
        location: Location
        if "location" in spec:
            location = spec["location"]
        elif member == payload:
            location = "payload"
        else:
            location = "body"
        locations.append(
            MemberLocation(
                name=member,
                location=location,
                location_name=spec.get("locationName", member),
                shape=spec["shape"],
                type=_shape(spec["shape"])["type"],
                required=member in required,
                idempotency_token=bool(spec.get("idempotencyToken", False)),
            )
        )
    return tuple(locations)


def route_for(operation: str) -> Route:
    """The :class:`Route` of any operation of the Lambda model."""
    spec = _operation(operation)
    http = spec["http"]
    input_shape = spec.get("input", {}).get("shape")
    return Route(
        operation=operation,
        method=http["method"],
        uri=http["requestUri"],
        response_code=int(http.get("responseCode", 200)),
        input_shape=input_shape,
        output_shape=spec.get("output", {}).get("shape"),
        errors=tuple(error["shape"] for error in spec.get("errors", ())),
        members=_member_locations(input_shape) if input_shape is not None else (),
    )


def durable_routes() -> list[Route]:
    """The :class:`Route` of every operation in :data:`DURABLE_OPERATIONS`, in that order."""
    return [route_for(operation) for operation in DURABLE_OPERATIONS]


# ------------------------------------------------------------------------------------------ errors


def error_shapes() -> dict[str, dict[str, Any]]:
    """Every error shape the durable operations can return, keyed by shape name (sorted).

    Each value is ``{"code": ..., "httpStatusCode": int, "senderFault": bool, "fault": bool,
    "members": {member: {"shape", "type", "location", "locationName"}}}``: ``code`` is the error
    code AWS puts in the ``x-amzn-ErrorType`` header (the shape name unless the ``error`` trait
    overrides it); ``fault`` is true for server-side faults; a member's ``location`` is ``header``
    (e.g. ``Retry-After``) or ``body`` (a key of the JSON error body).  Note that the members'
    spelling is the model's: some errors say ``message``, others ``Message``.
    """
    names = sorted({error for route in durable_routes() for error in route.errors})
    result: dict[str, dict[str, Any]] = {}
    for name in names:
        shape = _shape(name)
        trait: dict[str, Any] = shape.get("error", {})
        members = {
            member.name: {
                "shape": member.shape,
                "type": member.type,
                "location": member.location,
                "locationName": member.location_name,
            }
            for member in _member_locations(name)
        }
        result[name] = {
            "code": trait.get("code", name),
            "httpStatusCode": int(trait.get("httpStatusCode", 500 if shape.get("fault") else 400)),
            "senderFault": bool(trait.get("senderFault", False)),
            "fault": bool(shape.get("fault", False)),
            "members": members,
        }
    return copy.deepcopy(result)


# -------------------------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--write [DIR]`` regenerates the shipped schemas; ``--check`` reports
    :func:`outdated_schemas` (exit status 1 if any)."""
    parser = argparse.ArgumentParser(
        prog="python -m async_durable_execution_runner._botocore_model",
        description=(
            "Generate JSON Schemas for the durable-execution shapes of botocore's Lambda model."
        ),
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--write",
        nargs="?",
        const="",
        metavar="DIR",
        help="write the schemas (default: the package's schemas/ directory)",
    )
    group.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if the shipped schemas differ from what the installed botocore generates"
        " (ignoring the $comment that names the botocore version)",
    )
    args = parser.parse_args(argv)
    if args.check:
        outdated = outdated_schemas()
        for name in outdated:
            print(f"out of date: {schema_filename(name)}", file=sys.stderr)
        if outdated:
            print(f"regenerate with `{_REGENERATE_COMMAND}`", file=sys.stderr)
        return 1 if outdated else 0
    paths = write_schemas(args.write or None)
    print(f"wrote {len(paths)} schemas from botocore {botocore_version()} to {paths[0].parent}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
