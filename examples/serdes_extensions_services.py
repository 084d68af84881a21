"""The outside world of ``serdes_extensions.py``'s handlers: the shared file system the
file-system serdes stages write to (a temporary directory standing in for an EFS mount),
a booking service, an export service, a ledger and an object store.

They live in a module of their own, as the other corpora's fakes do: a cold sandbox
re-imports the handler's module, not this one, so the mount point and the services survive
a cold start as the real ones would.

Every fake answers a call from its arguments (a booking id is derived from the trip and the
item; a cancellation of an unknown or already cancelled booking is a no-op, as idempotent
APIs are), so a step body run again by a crash, a duplicate delivery or a retry gets the
answer it would get from the real service.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

# --- the shared file system ------------------------------------------------------------

_ROOT: list[Path] = []
_LOCK = threading.Lock()

#: How long (in real seconds) a payload file is kept after it was written: the "history
#: retention" of the shared mount. A run, its fault-free baseline and a replay of its history
#: take seconds; the campaigns write tens of thousands of files.
RETENTION_SECONDS = 600.0


def mount() -> Path:
    """The shared mount's root, made once per process under the system's temporary
    directory (never in the repository) and removed when the process exits."""
    with _LOCK:
        if not _ROOT:
            root = Path(tempfile.mkdtemp(prefix="durable-fs-serdes-"))
            atexit.register(shutil.rmtree, root, True)
            _ROOT.append(root)
        return _ROOT[0]


def sweep() -> None:
    """Delete payload files older than the retention (as a lifecycle policy on the mount
    would); keep the mount itself, whose path every checkpointed envelope names."""
    root = mount()
    marker = root / ".now"
    marker.touch()
    now = marker.stat().st_mtime
    for directory, _subdirs, files in os.walk(root):
        for name in files:
            if not name.endswith(".payload"):
                continue
            path = Path(directory) / name
            try:
                if now - path.stat().st_mtime > RETENTION_SECONDS:
                    path.unlink()
            except FileNotFoundError:
                pass


# --- a booking service (idempotent by booking id) --------------------------------------


class SoldOut(Exception):
    """The supplier has nothing left for these dates."""


class RefundRejected(Exception):
    """The supplier refuses to refund a non-refundable booking."""


BOOKINGS: dict[str, dict[str, Any]] = {}
CANCELLED: set[str] = set()
RELEASED: set[str] = set()


def reset_bookings() -> None:
    BOOKINGS.clear()
    CANCELLED.clear()
    RELEASED.clear()


def book(trip: str, kind: str, what: str) -> dict[str, Any]:
    if what.startswith("sold-out"):
        raise SoldOut(f"no {kind} {what!r} left for trip {trip}")
    booking_id = f"{kind}-{trip}-{hashlib.sha256(what.encode()).hexdigest()[:8]}"
    if "nonrefundable" in what:
        booking_id += "-nonrefundable"
    booking = {"id": booking_id, "kind": kind, "what": what}
    BOOKINGS[booking_id] = booking
    return booking


def cancel(booking_id: str) -> None:
    if booking_id.endswith("-nonrefundable"):
        raise RefundRejected(f"{booking_id} is not refundable")
    CANCELLED.add(booking_id)


def release(lock: str) -> None:
    RELEASED.add(lock)


# --- an export service (a job polled until it is done) ---------------------------------


class ExportThrottled(Exception):
    """The export API's rate limit."""


def start_export(dataset: str) -> str:
    """Start (or find: idempotent by dataset) an export job."""
    return f"export-{hashlib.sha256(dataset.encode()).hexdigest()[:10]}"


def export_status(job: str, poll: int, rows: int) -> dict[str, Any]:
    """The job is done from its ``rows // 1000``-th poll on (the service's progress, as the
    caller counts its polls)."""
    if poll < max(1, rows // 1000):
        return {"job": job, "status": "RUNNING", "progress": poll}
    return {"job": job, "status": "DONE", "rows": rows, "url": f"s3://exports/{job}.csv"}


# --- a ledger (append-only, idempotent by entry key) -----------------------------------

LEDGER: dict[str, int] = {}


def reset_ledger() -> None:
    LEDGER.clear()


def post(key: str, cents: int) -> str:
    LEDGER[key] = cents
    return f"posted-{key}"


# --- an object store (the S3 an offloading SerDes writes to) ---------------------------------

#: Objects by key, oldest first: the store keeps the newest ``OBJECTS_KEPT`` (a run, its
#: baseline and a replay of its history read back what they wrote seconds before; the
#: campaigns write tens of thousands).
OBJECTS: OrderedDict[str, dict[str, Any]] = OrderedDict()
OBJECTS_KEPT = 5000


def put_object(key: str, body: str) -> str:
    """Store ``body`` under ``key``, stamped as the store stamps it (an ETag of its own, the
    time it was written); its ETag."""
    stored = {"body": body, "etag": uuid.uuid4().hex, "written": time.time()}
    with _LOCK:
        OBJECTS[key] = stored
        while len(OBJECTS) > OBJECTS_KEPT:
            OBJECTS.popitem(last=False)
    return str(stored["etag"])


def get_object(key: str) -> str:
    with _LOCK:
        return str(OBJECTS[key]["body"])
