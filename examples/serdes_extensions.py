"""Correct handlers built on the SDK's least-travelled public API (the session-25 false-flag
audit L): file-system serdes stages, payload previews, composable serdes, the extension API,
``terminal_scope``, ``recurse`` and summary generators.

- ``report_on_shared_disk``: a 300 KB report built by a step whose serdes is a pipeline
  (``create_serdes_pipeline(ExtendedTypeSerDes(), create_file_system_serdes_stage(mount))``,
  ``FileSystemSerDesMode.ALWAYS``, ``FileSystemPathEncoding.URI``): the checkpoint holds an
  envelope naming a file on the shared mount; an hour's wait later the next invocation
  replays the step, reading the report back from the file, and posts its total;
- ``overflow_batches``: ``FileSystemSerDesMode.OVERFLOW`` with ``FileSystemPathEncoding.HASH``:
  batches of 5, 500 and 5,000 rows, the small ones inline in the envelope, the big one
  (about 400 KB) on disk, a wait between batches;
- ``masked_preview``: an order record of 260 KB filed on disk (``JsonSerDes`` then the file
  stage) with a ``PreviewConfig``
  (``PreviewMode.EXCLUDE_ALL``, ``include`` of three fields, ``mask`` of the card number
  anywhere and of ``customer.email`` by ``FieldMatchMode.PATH``) that writes a preview into
  the envelope; the handler also returns ``build_preview`` of the record under the same
  config (a pure function of the record);
- ``generated_preview``: a child context's 270 KB catalogue filed on disk with an async
  ``PreviewGenerator`` that reads the ``SerDesContext`` it is given (operation name and type);
- ``compressed_then_filed``: a value codec of the user's (a ``SerDes`` that stamps the
  operation name from ``get_serdes_context()`` and checks it on the way back), a zlib
  ``SerDesStage`` of the user's, and a file-system stage in ``OVERFLOW`` mode; the file
  stage is appended with ``.then`` when ``is_composable_serdes`` says the serdes is already
  a pipeline, with ``create_serdes_pipeline`` otherwise;
- ``map_items_on_disk``: a ``map`` of 12 shards of 30 KB, 4 at a time, whose item results
  are filed on disk (``item_serdes``); the whole ``BatchResult`` (over 256 KB) is
  checkpointed as the handler's own ``summary_generator``'s summary and rebuilt on replay;
- ``parallel_summary``: a ``parallel`` of four 80 KB branches with a ``summary_generator``;
- ``child_summary``: a child context of three steps whose 300 KB result is checkpointed as
  its ``summary_generator``'s summary (stamped with an id and the time it was made), a wait,
  then a step that uses the result;
- ``extension_export_poll``: an extension-authored operation
  (``get_extension_context().reserve(...).step(...)``, an ``ExtensionStepFunction``) that
  starts an export and polls it, checkpointing its state with ``ExtensionStepResult.retry``
  every 30 s until it is done, under its own ``ExtensionStepRetryStrategy`` (the export API
  throttles the third attempt; any error is retried 10 s later, at most six attempts);
- ``extension_lease``: a small library of the user's on the extension API: a lease taken by
  an extension step, work in an extension child context, an approval callback, a cooldown
  wait and a release, each reservation with a ``local_operation_id`` so that its identity
  does not depend on reservation order;
- ``saga_compensated``: a trip booked in a ``terminal_scope`` (hotel, car, then a flight that
  is sold out); the compensations registered through ``DurableTerminalActions`` cancel the
  car and the hotel in reverse order, a cleanup releases the lock, and the handler catches
  the body's failure;
- ``saga_completed``: the same trip with a flight left: no compensation runs, the cleanup
  does (``TerminalScopeConfig(cleanup_on_cancellation=True)``), and the scope's 280 KB
  itinerary is filed on disk by the scope's ``serdes``;
- ``saga_refund_rejected``: a compensation the supplier refuses (a non-refundable booking):
  the handler catches the ``TerminalScopeError`` and reports its ``TerminalFailure``\\ s;
- ``recursive_merge_sort``: a merge sort whose halves are sorted by the function itself
  through ``recurse(..., with_recursive_level=True)``, two levels down;
- ``offloaded_to_bucket``: a SerDes of the user's that offloads a payload past 1 KiB to an
  object store under a fresh uuid key (the upload handed to a pool, where the store stamps it
  with an ETag and the time), a wait, then the report read back on replay; a child context's
  small summary stays inline.

Why these are correct: every call to a fake service is in a step body (or a terminal action,
or an extension step, which are steps), and every fake answers from its arguments (bookings
and exports are idempotent by their ids), so a body run again gets the answer the real
service would give. Every payload a handler builds is a function of its input. What is
computed outside steps (digests, previews, summaries, merges) is a pure function of step
results. The mount is a temporary directory made once per process by
``serdes_extensions_services.mount()`` (the stand-in for an EFS mount, as the SDK asks: never
Lambda's ``/tmp``, which is per sandbox; here the process's temporary directory is shared by
every sandbox the runner makes) and swept of files older than ten minutes by ``before_run``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import time
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import serdes_extensions_services as services
from async_durable_execution import (
    CallableRuntimeError,
    DurableTerminalActions,
    ExtendedTypeSerDes,
    ExtensionStepResult,
    FieldMatchMode,
    FileSystemPathEncoding,
    FileSystemSerDesMode,
    FileSystemSerDesStageConfig,
    JsonSerDes,
    PreviewConfig,
    PreviewField,
    PreviewMode,
    SerDes,
    SerDesContext,
    TerminalScopeConfig,
    TerminalScopeError,
    build_preview,
    create_file_system_serdes_stage,
    create_serdes_pipeline,
    durable_execution,
    get_extension_context,
    get_serdes_context,
    get_step_context,
    is_composable_serdes,
    parallel,
    recurse,
    run_in_child_context,
    step,
    terminal_scope,
    wait,
)
from async_durable_execution import map as durable_map

# --- helpers: payloads, digests, serdes ------------------------------------------------


def _rows(prefix: str, n: int, width: int = 40) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}-{i:05d}",
            "qty": i % 7,
            "cents": (i * 37) % 1000,
            "note": (prefix * width)[:width],
        }
        for i in range(n)
    ]


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def _on_disk(config: FileSystemSerDesStageConfig | None = None) -> SerDes[Any]:
    """A serdes that files every payload on the shared mount."""
    return create_serdes_pipeline(
        ExtendedTypeSerDes(), create_file_system_serdes_stage(services.mount(), config)
    )


async def _value(value: Any) -> Any:
    return value


def setup() -> None:
    """Every entry's ``before_run``: the mount exists, old payloads are swept, the fakes are
    empty."""
    services.mount()
    services.sweep()
    services.reset_bookings()
    services.reset_ledger()


# --- file-system serdes ------------------------------------------------------------------


async def _build_report(day: str, rows: int) -> dict[str, Any]:
    return {"day": day, "rows": _rows(day, rows)}


async def _post_total(day: str, report: dict[str, Any]) -> str:
    total = sum(row["cents"] * row["qty"] for row in report["rows"])
    return services.post(f"report-{day}", total)


@durable_execution
async def report_on_shared_disk(event: Any) -> dict[str, Any]:
    disk = _on_disk(FileSystemSerDesStageConfig(storage_mode=FileSystemSerDesMode.ALWAYS))
    report = await step(
        lambda: _build_report(event["day"], event["rows"]), name="build-report", serdes=disk
    )
    await wait(3600, name="let-it-settle")
    posted = await step(lambda: _post_total(event["day"], report), name="post-total")
    return {"rows": len(report["rows"]), "posted": posted, "digest": _digest(report)}


@durable_execution
async def overflow_batches(event: Any) -> dict[str, Any]:
    disk = _on_disk(
        FileSystemSerDesStageConfig(
            storage_mode=FileSystemSerDesMode.OVERFLOW,
            path_encoding=FileSystemPathEncoding.HASH,
        )
    )
    digests = []
    for index, size in enumerate(event["sizes"]):
        batch = await step(
            lambda index=index, size=size: _value(_rows(f"b{index}", size)),
            name=f"batch-{index}",
            serdes=disk,
        )
        digests.append({"rows": len(batch), "digest": _digest(batch)})
        await wait(60, name=f"between-{index}")
    return {"batches": digests}


ORDER_PREVIEW = PreviewConfig(
    mode=PreviewMode.EXCLUDE_ALL,
    include=(PreviewField("id"), PreviewField("status"), PreviewField("total")),
    mask=(PreviewField("card"), PreviewField("customer.email", FieldMatchMode.PATH)),
    max_preview_bytes=1024,
)


async def _load_order(order_id: str, lines: int) -> dict[str, Any]:
    return {
        "id": order_id,
        "status": "PAID",
        "total": sum(row["cents"] for row in _rows(order_id, lines)),
        "card": "4111111111111111",
        "customer": {"name": "Ada", "email": "ada@example.com", "card": "5500000000000004"},
        "lines": _rows(order_id, lines),
    }


@durable_execution
async def masked_preview(event: Any) -> dict[str, Any]:
    # JsonSerDes, not the default ExtendedTypeSerDes: the preview is built from the value
    # codec's output, which ExtendedTypeSerDes wraps in type tags (SDK finding 15).
    disk = create_serdes_pipeline(
        JsonSerDes(),
        create_file_system_serdes_stage(
            services.mount(), FileSystemSerDesStageConfig(preview_config=ORDER_PREVIEW)
        ),
    )
    order = await step(
        lambda: _load_order(event["order"], event["lines"]), name="load-order", serdes=disk
    )
    await wait(30, name="fraud-hold")
    receipt = await step(lambda: _value(f"receipt-{order['id']}-{order['total']}"), name="receipt")
    return {"receipt": receipt, "preview": build_preview(order, ORDER_PREVIEW)}


async def _size_preview(value: str, context: SerDesContext) -> dict[str, Any]:
    await asyncio.sleep(0)
    kind = context.operation_type.value if context.operation_type is not None else None
    return {"name": context.operation_name, "type": kind, "bytes": len(value.encode())}


async def _catalogue_part(part: int, rows: int) -> list[dict[str, Any]]:
    return _rows(f"p{part}", rows)


@durable_execution
async def generated_preview(event: Any) -> dict[str, Any]:
    disk = _on_disk(FileSystemSerDesStageConfig(generate_preview=_size_preview))

    async def catalogue() -> list[dict[str, Any]]:
        parts = []
        for part in range(event["parts"]):
            parts.extend(
                await step(
                    lambda part=part: _catalogue_part(part, event.get("rows", 1200)),
                    name=f"part-{part}",
                )
            )
        return parts

    items = await run_in_child_context(catalogue, name="catalogue", serdes=disk)
    await wait(120, name="publish-window")
    published = await step(lambda: _value(f"published-{len(items)}"), name="publish")
    return {"published": published, "digest": _digest(items)}


class StampedJson(SerDes[Any]):
    """The user's value codec: JSON stamped with the operation it belongs to, checked on the
    way back (a payload read for another operation is a bug)."""

    async def serialize(self, value: Any) -> str:
        return json.dumps({"op": get_serdes_context().operation_name, "value": value})

    async def deserialize(self, data: str) -> Any:
        stamped = json.loads(data)
        expected = get_serdes_context().operation_name
        if stamped["op"] != expected:
            raise ValueError(f"payload of {stamped['op']!r} read for {expected!r}")
        return stamped["value"]


class ZlibStage:
    """The user's string stage: zlib and base85, recognised by its prefix."""

    PREFIX = "zlib85:"

    async def serialize(self, value: str, context: SerDesContext) -> str:
        import base64

        return self.PREFIX + base64.b85encode(zlib.compress(value.encode(), 6)).decode()

    async def deserialize(self, data: str, context: SerDesContext) -> str:
        import base64

        if not data.startswith(self.PREFIX):
            return data
        return zlib.decompress(base64.b85decode(data[len(self.PREFIX) :])).decode()


def with_disk(serdes: SerDes[Any], config: FileSystemSerDesStageConfig) -> SerDes[Any]:
    """Append the file-system stage to ``serdes``, a pipeline already or a plain codec."""
    stage = create_file_system_serdes_stage(services.mount(), config)
    if is_composable_serdes(serdes):
        return serdes.then(stage)
    return create_serdes_pipeline(serdes, stage)


async def _dump(name: str, rows: int) -> list[dict[str, Any]]:
    # Rows that do not compress well (digests), so that the largest still overflows.
    return [{"n": i, "h": hashlib.sha256(f"{name}-{i}".encode()).hexdigest()} for i in range(rows)]


@durable_execution
async def compressed_then_filed(event: Any) -> dict[str, Any]:
    overflow = FileSystemSerDesStageConfig(
        storage_mode=FileSystemSerDesMode.OVERFLOW, checkpoint_envelope_limit_bytes=64 * 1024
    )
    compressed = with_disk(StampedJson().then(ZlibStage()), overflow)
    plain = with_disk(StampedJson(), overflow)
    out = {}
    for name, rows in event["dumps"].items():
        for label, serdes in (("compressed", compressed), ("plain", plain)):
            dump = await step(
                lambda name=name, rows=rows: _dump(name, rows),
                name=f"{label}-{name}",
                serdes=serdes,
            )
            out[f"{label}-{name}"] = _digest(dump)
        await wait(10, name=f"after-{name}")
    return out


# --- summary generators ------------------------------------------------------------------


def _batch_summary(result: Any) -> str:
    return json.dumps(
        {
            "total": result.total_count,
            "ok": result.success_count,
            "failed": result.failure_count,
            "reason": result.completion_reason.value,
        }
    )


async def _shard(index: int, rows: int) -> list[dict[str, Any]]:
    return _rows(f"s{index}", rows)


@durable_execution
async def map_items_on_disk(event: Any) -> dict[str, Any]:
    async def shard(index: int) -> dict[str, Any]:
        rows = await step(lambda: _shard(index, event.get("rows", 400)), name=f"shard-{index}")
        return {"index": index, "rows": rows}

    result = await durable_map(
        shard,
        range(event["shards"]),
        name="shards",
        max_concurrency=4,
        item_serdes=_on_disk(),
        summary_generator=_batch_summary,
    )
    shards = result.get_results()
    await wait(60, name="before-totals")
    totals = await step(
        lambda: _value([sum(row["cents"] for row in s["rows"]) for s in shards]), name="totals"
    )
    return {"shards": len(shards), "totals": totals, "digest": _digest(shards)}


async def _branch_rows(label: str, rows: int) -> list[dict[str, Any]]:
    return _rows(label, rows)


@durable_execution
async def parallel_summary(event: Any) -> dict[str, Any]:
    def branch(label: str) -> Callable[[], Any]:
        async def run() -> list[dict[str, Any]]:
            return await step(
                lambda: _branch_rows(label, event.get("rows", 1100)), name=f"rows-{label}"
            )

        return run

    result = await parallel(
        [branch(label) for label in event["branches"]],
        name="regions",
        summary_generator=_batch_summary,
    )
    await wait(60, name="cool-down")
    regions = result.get_results()
    counted = await step(lambda: _value([len(r) for r in regions]), name="count")
    return {"counted": counted, "digest": _digest(regions)}


def _inventory_summary(parts: dict[str, Any]) -> str:
    """What the checkpoint keeps of an inventory too big for it, stamped as reports are: an
    id of its own and the time it was made (the SDK makes it once; on replay it runs the
    children again and returns their result)."""
    made = {"summary": uuid.uuid4().hex[:12], "made_at": time.time()}
    return json.dumps({"warehouses": sorted(parts), **made})


@durable_execution
async def child_summary(event: Any) -> dict[str, Any]:
    async def gather_inventory() -> dict[str, Any]:
        parts = {}
        for warehouse in event["warehouses"]:
            parts[warehouse] = await step(
                lambda warehouse=warehouse: _value(_rows(warehouse, event.get("rows", 1300))),
                name=f"inventory-{warehouse}",
            )
        return parts

    inventory = await run_in_child_context(
        gather_inventory, name="inventory", summary_generator=_inventory_summary
    )
    await wait(300, name="reconcile-later")
    reconciled = await step(
        lambda: _value({w: len(rows) for w, rows in inventory.items()}), name="reconcile"
    )
    return {"reconciled": reconciled, "digest": _digest(inventory)}


# --- the extension API -------------------------------------------------------------------


def _export_poller(dataset: str, rows: int) -> Callable[[Any], Any]:
    async def poll(state: dict[str, Any] | None) -> ExtensionStepResult[dict[str, Any]]:
        if state is None:
            job = services.start_export(dataset)
            return ExtensionStepResult.retry({"job": job, "polls": 0}, 30)
        if get_step_context().attempt == 3:
            raise services.ExportThrottled("slow down")
        polls = state["polls"] + 1
        status = services.export_status(state["job"], polls, rows)
        if status["status"] == "DONE":
            return ExtensionStepResult.succeed({**status, "polls": polls})
        return ExtensionStepResult.retry({**state, "polls": polls}, 30)

    return poll


def _retry_a_little(
    error: Exception, state: dict[str, Any] | None, attempt: int
) -> ExtensionStepResult[dict[str, Any]] | None:
    if attempt >= 12:
        return None
    return ExtensionStepResult.retry(state, 10)


@durable_execution
async def extension_export_poll(event: Any) -> dict[str, Any]:
    export = await (
        get_extension_context()
        .reserve("export-orders")
        .step(
            _export_poller(event["dataset"], event["rows"]),
            sub_type="ExportPoll",
            retry_strategy=_retry_a_little,
        )
    )
    await wait(60, name="before-notify")
    note = await step(lambda: _value(f"export ready at {export['url']}"), name="notify")
    return {"export": export, "note": note}


async def _acquire(state: Any) -> ExtensionStepResult[dict[str, Any]]:
    return ExtensionStepResult.succeed({"lease": "lease-1", "holder": "me"})


def _releaser(lease: str) -> Callable[[Any], Any]:
    async def release(state: Any) -> ExtensionStepResult[str]:
        services.release(lease)
        return ExtensionStepResult.succeed(f"released-{lease}")

    return release


async def with_lease(resource: str, work: Callable[[], Any]) -> dict[str, Any]:
    """The user's library: a lease, work under it, an approval, a cooldown, the release.

    Every reservation is made before the first is used, as the SDK requires of reservations
    with a ``local_operation_id``."""
    ext = get_extension_context()
    acquire, work_op, approval_op, cooldown, release = (
        ext.reserve(f"{step_name}-{resource}", local_operation_id=f"{step_name}:{resource}")
        for step_name in ("lease", "work", "approval", "cooldown", "release")
    )
    lease = await acquire.step(_acquire, sub_type="LeaseAcquire")
    done = await work_op.run_in_child_context(work, sub_type="LeaseWork")
    callback = await approval_op.create_callback(sub_type="LeaseApproval", timeout=300)
    approval = await callback.result()
    await cooldown.wait(5, sub_type="LeaseCooldown")
    released = await release.step(_releaser(lease["lease"]), sub_type="LeaseRelease")
    return {"work": done, "approval": approval, "released": released}


@durable_execution
async def extension_lease(event: Any) -> dict[str, Any]:
    async def reindex() -> list[str]:
        return [
            await step(lambda s=s: _value(f"indexed-{s}"), name=f"index-{s}")
            for s in event["shards"]
        ]

    return await with_lease(event["resource"], reindex)


# --- terminal_scope ----------------------------------------------------------------------


async def _book(trip: str, kind: str, what: str) -> dict[str, Any]:
    return services.book(trip, kind, what)


async def _cancel(booking_id: str) -> None:
    services.cancel(booking_id)


async def _release(lock: str) -> None:
    services.release(lock)


def _no_retry_when_sold_out(error: Exception, attempt: int) -> int | None:
    if isinstance(error, services.SoldOut) or attempt >= 3:
        return None
    return 5


def _trip_body(event: Any) -> Callable[[DurableTerminalActions], Any]:
    trip = event["trip"]

    async def body(actions: DurableTerminalActions) -> dict[str, Any]:
        actions.cleanup(lambda: _release(f"lock-{trip}"), name="release-lock")
        booked = []
        for kind in ("hotel", "car", "flight"):
            booking = await step(
                lambda kind=kind: _book(trip, kind, event[kind]),
                name=f"book-{kind}",
                retry_strategy=_no_retry_when_sold_out,
            )
            actions.compensate(
                lambda booking_id=booking["id"]: _cancel(booking_id),
                name=f"cancel-{kind}",
                retry_strategy=lambda error, attempt: None,
            )
            booked.append(booking["id"])
            await wait(10, name=f"confirm-{kind}")
        return {"booked": booked, "itinerary": _rows(trip, event.get("itinerary", 0))}

    return body


@durable_execution
async def saga_compensated(event: Any) -> dict[str, Any]:
    try:
        trip = await terminal_scope(_trip_body(event), name="trip")
    except CallableRuntimeError as error:
        return {"status": "compensated", "error": error.error_type}
    return {"status": "booked", "booked": trip["booked"]}


@durable_execution
async def saga_completed(event: Any) -> dict[str, Any]:
    trip = await terminal_scope(
        _trip_body(event),
        name="trip",
        config=TerminalScopeConfig(cleanup_on_cancellation=True),
        serdes=_on_disk(),
    )
    return {"booked": trip["booked"], "itinerary": _digest(trip["itinerary"])}


@durable_execution
async def saga_refund_rejected(event: Any) -> dict[str, Any]:
    try:
        await terminal_scope(_trip_body(event), name="trip")
    except TerminalScopeError as error:
        return {
            "status": "partly compensated",
            "body": error.body_failure.error_type if error.body_failure else None,
            "failures": [[f.phase.value, f.name, f.error_type] for f in error.action_failures],
        }
    return {"status": "booked"}


# --- recurse -----------------------------------------------------------------------------


async def _merge(left: list[int], right: list[int]) -> list[int]:
    merged: list[int] = []
    i = j = 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            merged.append(left[i])
            i += 1
        else:
            merged.append(right[j])
            j += 1
    return merged + left[i:] + right[j:]


@durable_execution
async def recursive_merge_sort(event: Any) -> list[int]:
    xs = event["xs"]
    level = get_extension_context().recursive_level
    if len(xs) <= 3 or level >= 2:
        return await step(lambda: _value(sorted(xs)), name="sort-leaf")
    mid = len(xs) // 2
    left, right = await asyncio.gather(
        recurse({"xs": xs[:mid]}, name="left", with_recursive_level=True),
        recurse({"xs": xs[mid:]}, name="right", with_recursive_level=True),
    )
    return await step(lambda: _merge(left, right), name="merge")


# --- a SerDes that offloads big payloads to an object store ----------------------------------

#: The uploads' pool, made at import (a sandbox's, shared by its invocations).
_UPLOADS = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="uploads")


class BucketSerDes(SerDes[Any]):
    """JSON, offloaded to the object store past 1 KiB, as offloading libraries do: the
    checkpoint holds the object's key, a fresh uuid for every value it stores, and the upload
    is handed to a pool (the store stamps it). On replay the SDK deserializes what was
    checkpointed: the key drawn when the value was first serialized is read back."""

    async def serialize(self, value: Any) -> str:
        body = json.dumps(value, sort_keys=True)
        if len(body) <= 1024:
            return json.dumps({"inline": value})
        key = f"payloads/{uuid.uuid4()}"
        loop = asyncio.get_running_loop()
        etag = await loop.run_in_executor(_UPLOADS, services.put_object, key, body)
        return json.dumps({"object": key, "etag": etag})

    async def deserialize(self, data: str) -> Any:
        envelope = json.loads(data)
        if "inline" in envelope:
            return envelope["inline"]
        return json.loads(await asyncio.to_thread(services.get_object, envelope["object"]))


@durable_execution
async def offloaded_to_bucket(event: Any) -> dict[str, Any]:
    """A report too big to checkpoint inline goes to the object store through the step's
    SerDes; an hour later the next invocation reads it back to post its total; a child
    context's small summary stays inline."""
    day, rows = event["day"], event["rows"]
    bucket = BucketSerDes()
    report = await step(lambda: _build_report(day, rows), name="build-report", serdes=bucket)
    await wait(3600, name="until-close")
    posted = await step(lambda: _post_total(day, report), name="post-total")

    async def summarise() -> dict[str, Any]:
        return {"rows": len(report["rows"]), "digest": _digest(report)}

    summary = await run_in_child_context(summarise, name="summary", serdes=bucket)
    return {"posted": posted, **summary}


def _entry(handler: Callable[..., Any], **more: Any) -> dict[str, Any]:
    return {"handler": handler, "before_run": setup, **more}


#: Each entry's input at its smallest, for the replay gate and the suite's few examples (the
#: campaigns run the full sizes, whose payloads are filed on disk, overflow and are summarised).
SMALL: dict[str, Any] = {
    "report_on_shared_disk": {"day": "2026-12-01", "rows": 30},
    "overflow_batches": {"sizes": [5, 50]},
    "masked_preview": {"order": "o-42", "lines": 20},
    "generated_preview": {"parts": 2, "rows": 20},
    "compressed_then_filed": {"dumps": {"small": 20}},
    "map_items_on_disk": {"shards": 3, "rows": 20},
    "parallel_summary": {"branches": ["eu", "us"], "rows": 20},
    "child_summary": {"warehouses": ["ber", "dub"], "rows": 20},
    "offloaded_to_bucket": {"day": "2026-12-02", "rows": 30},
}

#: Every handler of this corpus, with what its scenarios need (the shape of
#: ``habits.CORPUS``).
CORPUS: dict[str, dict[str, Any]] = {
    "report_on_shared_disk": _entry(
        report_on_shared_disk, input={"day": "2026-12-01", "rows": 3000}
    ),
    "overflow_batches": _entry(overflow_batches, input={"sizes": [5, 500, 5000]}),
    "masked_preview": _entry(masked_preview, input={"order": "o-42", "lines": 2600}),
    "generated_preview": _entry(generated_preview, input={"parts": 3}),
    "compressed_then_filed": _entry(
        compressed_then_filed, input={"dumps": {"small": 20, "big": 2000}}
    ),
    "map_items_on_disk": _entry(map_items_on_disk, input={"shards": 12}),
    "parallel_summary": _entry(parallel_summary, input={"branches": ["eu", "us", "ap", "sa"]}),
    "child_summary": _entry(child_summary, input={"warehouses": ["ber", "dub", "lis"]}),
    "extension_export_poll": _entry(
        extension_export_poll, input={"dataset": "orders-2026-12", "rows": 4000}
    ),
    "extension_lease": _entry(
        extension_lease,
        input={"resource": "search-index", "shards": ["a", "b", "c"]},
        callbacks={"approval-search-index": {"approved": True}},
    ),
    "saga_compensated": _entry(
        saga_compensated,
        input={"trip": "t1", "hotel": "h-berlin", "car": "c-small", "flight": "sold-out-f1"},
    ),
    "saga_completed": _entry(
        saga_completed,
        input={
            "trip": "t2",
            "hotel": "h-lisbon",
            "car": "c-van",
            "flight": "f-tp123",
            "itinerary": 2500,
        },
    ),
    "saga_refund_rejected": _entry(
        saga_refund_rejected,
        input={
            "trip": "t3",
            "hotel": "h-dublin",
            "car": "c-nonrefundable",
            "flight": "sold-out-f9",
        },
    ),
    "recursive_merge_sort": _entry(
        recursive_merge_sort, input={"xs": [(i * 7919) % 101 for i in range(24)]}
    ),
    "offloaded_to_bucket": _entry(offloaded_to_bucket, input={"day": "2026-12-02", "rows": 300}),
}
