"""Correct handlers that block, use threads, processes and signals (the session-20 audit E).

Real handlers are not all ``await``: they call blocking client libraries, hand work to
threads and pools, shell out, talk to sockets and set their own timers. These do:

- ``time.sleep`` in step bodies and between steps (on every replay);
- ``asyncio.to_thread`` racing an ``asyncio.sleep`` (a live lookup against a cached answer)
  and, in a ``parallel`` that needs one branch, a durable one-hour ``wait``,
  and ``loop.run_in_executor`` on the default executor and on a ``ThreadPoolExecutor`` of
  the step's own;
- a ``concurrent.futures`` pool made at import and shared by every invocation of the sandbox,
  awaited through ``asyncio.wrap_future`` and ``run_in_executor``, under ``asyncio.wait_for``;
- a ``threading.Thread`` started and joined inside a step, and a worker thread that draws its
  request id and reads the clock in the step's service;
- ``subprocess.run`` of a Python one-liner in a step, and asyncio's own child processes and
  sockets under ``asyncio.wait_for``;
- blocking socket round trips to a loopback echo server (started by ``before_run``, and one
  the step serves itself);
- a ``SIGALRM`` time limit around a slow call in a step (``signal.signal`` and
  ``signal.setitimer``, put back afterwards): one call finishes within it, one is cut short;
- a step body busy on the CPU for about 20 ms;
- ``parallel`` branches and ``map`` items whose steps do executor work;
- a ``wait_for_condition`` whose check asks a status endpoint from a thread;
- logging from worker threads inside steps;
- a background worker thread the handler's code starts outside steps (on first use, as
  clients start theirs), which stamps the steps' documents with receipt ids and times;
- a listen for cancellation notices in a step, for half a second of wall-clock time, each
  poll a ``queue.Queue.get`` with a time-out on the loop's own thread (a blocking client's
  poll), before shipping and again after a wait (until runner bug 36 only ``time.sleep``
  moved the clock there: the listen never ended, and with the step re-run by a duplicate
  delivery, on a thread no signal reaches, the execution was reported hung).

Every one is correct durable code: ids, random draws and the clock only inside steps (or in
the threads those steps start and wait for); whatever runs outside a step is the same on
every replay; results are JSON. No oracle may flag any of them under any fault plan or timing
(``tests/harness/test_blocking_corpus.py`` at CI size; ``benchmarks/same_world.py --corpus
blocking`` is the long campaign).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import logging
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import blocking_services as services
from async_durable_execution import (
    CompletionConfig,
    durable_execution,
    parallel,
    step,
    wait,
    wait_for_condition,
)
from async_durable_execution import map as durable_map

reset = services.reset

#: One pool per sandbox, made at import as users make their HTTP pools: every invocation the
#: sandbox serves shares it (a cold sandbox makes its own).
POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="blocking-pool")

log = logging.getLogger("blocking")


class _ShipLines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        services.LOG_LINES.append(f"{record.threadName}: {record.getMessage()}")


# Loggers are process-wide and outlive a cold re-import of this module: one handler, found
# by name (a re-import defines another ``_ShipLines`` class, which ``isinstance`` would not
# recognise: every cold start would add a handler, and keep its module and pool alive).
if not any(h.get_name() == "blocking-shipper" for h in log.handlers):
    _shipper = _ShipLines()
    _shipper.set_name("blocking-shipper")
    log.addHandler(_shipper)
log.setLevel(logging.INFO)
log.propagate = False


# --- time.sleep in step bodies and between steps --------------------------------------------


async def _sleepy_fetch(sku: str) -> dict[str, Any]:
    time.sleep(0.005)  # a blocking client library's round trip
    return {"sku": sku, "stock": services.STOCK[sku], "ref": uuid.uuid4().hex[:8]}


@durable_execution
async def sleepy_steps(event: Any) -> dict[str, Any]:
    """Blocking sleeps in every step and between them (a crude rate limit, replayed)."""
    skus = list((event or {}).get("skus", ["lamp", "mug"]))
    fetched = []
    for sku in skus:
        fetched.append(await step(lambda s=sku: _sleepy_fetch(s), name=f"fetch-{sku}"))
        time.sleep(0.005)
    await wait(5, name="settle")
    time.sleep(0.005)
    return {"stock": {f["sku"]: f["stock"] for f in fetched}, "refs": len(fetched)}


# --- asyncio.to_thread racing asyncio.sleep ---------------------------------------------------


async def _live_or_cached(sku: str) -> dict[str, Any]:
    """The live inventory if it answers within two seconds, else the cached figure."""
    live = asyncio.ensure_future(asyncio.to_thread(services.lookup_stock, sku))
    budget = asyncio.ensure_future(asyncio.sleep(2.0))
    done, _ = await asyncio.wait({live, budget}, return_when=asyncio.FIRST_COMPLETED)
    budget.cancel()
    if live in done:
        return {"sku": sku, "stock": live.result(), "source": "live"}
    live.cancel()
    return {"sku": sku, "stock": 0, "source": "cache"}


@durable_execution
async def live_or_cached(event: Any) -> dict[str, Any]:
    """A live lookup in a thread races a two-second budget; it answers in 5 ms."""
    sku = (event or {}).get("sku", "lamp")
    first = await step(lambda: _live_or_cached(sku), name="first-look")
    await wait(60, name="recheck-later")
    second = await step(lambda: _live_or_cached(sku), name="second-look")
    return {"first": first, "second": second}


# --- run_in_executor: the default executor and a pool of the step's own -----------------------


def _digest(text: str) -> str:
    time.sleep(0.003)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


async def _digests(lines: list[str]) -> dict[str, str]:
    loop = asyncio.get_running_loop()
    default = [loop.run_in_executor(None, _digest, line) for line in lines]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as own:
        mine = [loop.run_in_executor(own, _digest, line.upper()) for line in lines]
        lower, upper = await asyncio.gather(asyncio.gather(*default), asyncio.gather(*mine))
    return {line: f"{a}/{b}" for line, a, b in zip(lines, lower, upper, strict=True)}


@durable_execution
async def executor_digests(event: Any) -> dict[str, Any]:
    """Hashes lines on the default executor and on a pool the step makes and shuts down."""
    lines = list((event or {}).get("lines", ["alpha", "beta", "gamma"]))
    digests = await step(lambda: _digests(lines), name="digest")
    await wait(2, name="publish-window")
    receipt = await step(lambda: asyncio.to_thread(_digest, json.dumps(digests)), name="receipt")
    return {"digests": digests, "receipt": receipt}


# --- a module-level pool shared across invocations -----------------------------------------


def _price(sku: str) -> dict[str, Any]:
    time.sleep(0.004)
    # The pricing service stamps its answer: the clock and a quote id, read in the pool's
    # thread, on behalf of the step that submitted the call and waits for it.
    return {"sku": sku, "cents": 100 * services.STOCK[sku] + 99, "quote": uuid.uuid4().hex[:8]}


async def _quote_all(skus: list[str]) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    wrapped = [asyncio.wrap_future(POOL.submit(_price, s)) for s in skus[:1]]
    run = [loop.run_in_executor(POOL, _price, s) for s in skus[1:]]
    return list(await asyncio.wait_for(asyncio.gather(*wrapped, *run), timeout=10.0))


@durable_execution
async def shared_pool_quotes(event: Any) -> dict[str, Any]:
    """Quotes through the sandbox's pool, in two invocations (a wait between): a warm
    sandbox reuses the pool's threads, a cold one makes a pool of its own."""
    skus = list((event or {}).get("skus", ["lamp", "sofa", "mug"]))
    morning = await step(lambda: _quote_all(skus), name="morning-quotes")
    await wait(3600, name="until-afternoon")
    afternoon = await step(lambda: _quote_all(skus), name="afternoon-quotes")
    return {"morning": sum(q["cents"] for q in morning), "afternoon": len(afternoon)}


# --- a thread started and joined inside a step --------------------------------------------


async def _checksum_in_thread(blob: str) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def work() -> None:
        time.sleep(0.003)
        out["sha"] = hashlib.sha1(blob.encode()).hexdigest()[:10]
        out["run"] = uuid.uuid4().hex[:8]
        out["at"] = time.time()

    worker = threading.Thread(target=work, name="checksum")
    worker.start()
    worker.join()
    return out


@durable_execution
async def joined_thread(event: Any) -> dict[str, Any]:
    """A worker thread computes a checksum (and draws a run id) while the step joins it."""
    blob = (event or {}).get("blob", "payload-" * 20)
    first = await step(lambda: _checksum_in_thread(blob), name="checksum")
    await wait(1, name="cool")
    again = await step(lambda: _checksum_in_thread(blob[::-1]), name="checksum-reversed")
    return {"sha": first["sha"], "reversed": again["sha"], "runs": 2}


# --- a subprocess in a step ------------------------------------------------------------------

_SCRIPT = "import json, sys; print(json.dumps({'n': len(sys.argv) - 1, 'args': sys.argv[1:]}))"


async def _render(args: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


@durable_execution
async def subprocess_report(event: Any) -> dict[str, Any]:
    """Renders a report by running a Python one-liner (a CLI tool) in a child process."""
    args = list((event or {}).get("args", ["q3", "eu"]))
    rendered = await step(lambda: _render(args), name="render")
    await wait(10, name="upload-window")
    return {"rendered": rendered}


# --- blocking sockets: a server from before_run, and one the step serves itself -------------


def _serve_once(server: socket.socket) -> None:
    conn, _ = server.accept()
    with conn:
        data = conn.recv(4096)
        conn.sendall(data[::-1])


async def _self_served(text: str) -> str:
    with socket.create_server(("127.0.0.1", 0)) as server:
        helper = threading.Thread(target=_serve_once, args=(server,), name="self-echo")
        helper.start()
        with socket.create_connection(server.getsockname()[:2], timeout=5) as conn:
            conn.sendall(text.encode())
            reply = conn.recv(4096)
        helper.join()
    return reply.decode()


@durable_execution
async def socket_round_trips(event: Any) -> dict[str, Any]:
    """Round trips over blocking sockets: to the echo service, and to a one-shot server
    the step starts on a thread and joins."""
    text = (event or {}).get("text", "hello durable")
    shouted = await step(lambda: asyncio.to_thread(services.echo_round_trip, text), name="echo")
    await wait(1, name="between")
    direct = await step(
        lambda: _as_async(services.echo_round_trip, f"{text} again"), name="echo-blocking"
    )
    mirrored = await step(lambda: _self_served(text), name="mirror")
    return {"shouted": shouted, "direct": direct, "mirrored": mirrored}


async def _as_async(fn: Any, *args: Any) -> Any:
    return fn(*args)


# --- a SIGALRM time limit inside a step --------------------------------------------------------


class Overrun(Exception):
    """The time limit around a slow call ran out."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """The classic Unix time limit: SIGALRM after ``seconds``; both the handler and the timer
    are put back afterwards."""

    def on_alarm(signum: int, frame: Any) -> None:
        raise Overrun(f"over {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


async def _parse_within(limit: float, work: float) -> dict[str, Any]:
    try:
        with time_limit(limit):
            time.sleep(work)  # a parser that may take too long on a hostile document
            return {"parsed": True}
    except Overrun as overrun:
        return {"parsed": False, "why": str(overrun)}


@durable_execution
async def alarm_time_limits(event: Any) -> dict[str, Any]:
    """One parse finishes within its limit, one is cut short by it; both keep the result."""
    quick = await step(lambda: _parse_within(2.0, 0.005), name="parse-small")
    slow = await step(lambda: _parse_within(0.02, 0.5), name="parse-hostile")
    await wait(30, name="quarantine")
    after = await step(lambda: _parse_within(1.0, 0.002), name="parse-after")
    return {"quick": quick, "slow": slow, "after": after}


# --- asyncio.wait_for around executor work ---------------------------------------------------


def _geocode(address: str) -> dict[str, Any]:
    time.sleep(0.005)
    return {"address": address, "lat": round(len(address) * 1.5, 1), "lon": -len(address)}


async def _geocode_within(address: str, timeout: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(loop.run_in_executor(None, _geocode, address), timeout)
    except TimeoutError:
        return {"address": address, "lat": None, "lon": None}


async def _geocode_pool_within(address: str, timeout: float) -> dict[str, Any]:
    try:
        return await asyncio.wait_for(asyncio.wrap_future(POOL.submit(_geocode, address)), timeout)
    except TimeoutError:
        return {"address": address, "lat": None, "lon": None}


@durable_execution
async def geocode_with_timeouts(event: Any) -> dict[str, Any]:
    """Geocodes with a three-second timeout through the default executor and the sandbox's
    pool; the geocoder answers in 5 ms, so neither times out."""
    address = (event or {}).get("address", "1 Infinite Loop")
    home = await step(lambda: _geocode_within(address, 3.0), name="geocode-home")
    work = await step(lambda: _geocode_pool_within(address + " B", 3.0), name="geocode-work")
    return {"home": home, "work": work, "both": home["lat"] is not None and work["lat"] is not None}


# --- a CPU-busy step ----------------------------------------------------------------------------


async def _crunch(seed: str) -> dict[str, Any]:
    digest = seed.encode()
    rounds = 0
    started = time.perf_counter()
    while time.perf_counter() - started < 0.02:  # about 20 ms of hashing
        for _ in range(200):
            digest = hashlib.sha256(digest).digest()
        rounds += 200
    return {"digest": digest.hex()[:16], "enough": rounds > 0}


@durable_execution
async def cpu_busy(event: Any) -> dict[str, Any]:
    """A step that hashes for about 20 ms of CPU, before and after a wait."""
    seed = (event or {}).get("seed", "blocking")
    first = await step(lambda: _crunch(seed), name="crunch")
    await wait(1, name="breathe")
    second = await step(lambda: _crunch(seed + "!"), name="crunch-again")
    return {"first": first["enough"], "second": second["enough"]}


# --- parallel branches and map items doing executor work -------------------------------------


@durable_execution
async def fan_out_to_threads(event: Any) -> dict[str, Any]:
    """Three ``parallel`` branches look stock up in threads; then a ``map`` over the skus
    (two at a time) prices each through the sandbox's pool."""
    skus = list((event or {}).get("skus", ["lamp", "sofa", "mug"]))

    def branch(sku: str) -> Any:
        async def run() -> int:
            return int(
                await step(
                    lambda: asyncio.to_thread(services.lookup_stock, sku), name=f"stock-{sku}"
                )
            )

        return run

    stocks = await parallel([branch(s) for s in skus], name="stocks")

    async def price(sku: str) -> int:
        async def in_pool() -> int:
            loop = asyncio.get_running_loop()
            return int((await loop.run_in_executor(POOL, _price, sku))["cents"])

        await wait(1 + len(sku) % 2, name="throttle")
        return await step(in_pool, name="price")

    prices = await durable_map(
        price,
        skus,
        name="prices",
        max_concurrency=2,
        completion_config=CompletionConfig(tolerated_failure_count=0),
    )
    return {"stock": stocks.get_results(), "cents": prices.get_results()}


# --- wait_for_condition whose check uses a thread ----------------------------------------------


async def _check_job(state: Any) -> dict[str, Any]:
    job = state["job"]
    status = await asyncio.to_thread(services.job_status, job)
    return {"job": job, "status": status, "polls": state["polls"] + 1}


def _every_10s(state: Any, attempt: int) -> int | None:
    return None if state["status"] == "done" or attempt >= 10 else 10


@durable_execution
async def poll_in_thread(event: Any) -> dict[str, Any]:
    """Starts a job (its id drawn in the step) and polls its status from a thread until done."""

    async def start() -> dict[str, Any]:
        return {"job": f"job-{uuid.uuid4().hex[:8]}", "status": "queued", "polls": 0}

    started = await step(start, name="start-job")
    final = await wait_for_condition(
        _check_job, initial_state=started, name="await-job", polling_strategy=_every_10s
    )
    return {"status": final["status"], "polls": final["polls"]}


# --- logging from threads ------------------------------------------------------------------------


def _load(part: int) -> int:
    log.info("loading part %d", part)
    time.sleep(0.002)
    return part * part


async def _load_parts(parts: int) -> int:
    loop = asyncio.get_running_loop()
    loaded = await asyncio.gather(*(loop.run_in_executor(POOL, _load, p) for p in range(parts)))
    log.info("loaded %d parts", parts)
    return sum(loaded)


@durable_execution
async def logged_from_threads(event: Any) -> dict[str, Any]:
    """Worker threads log as they load parts (the record carries their thread's name); the
    handler logs outside its steps too, on every replay."""
    parts = int((event or {}).get("parts", 4))
    log.info("load of %d parts starting", parts)
    total = await step(lambda: _load_parts(parts), name="load")
    await wait(5, name="index")
    log.info("load done: %d", total)
    return {"total": total}


# --- a worker thread with its own clock and ids, reporting through a queue ---------------------


async def _batch_upload(files: list[str]) -> dict[str, Any]:
    """Uploads in a producer thread that stamps each receipt; the step waits for all of them
    on a queue, without blocking the loop (``to_thread`` of ``queue.get``)."""
    import queue

    receipts: queue.Queue[dict[str, Any]] = queue.Queue()

    def uploader() -> None:
        for name in files:
            time.sleep(0.002)
            receipts.put({"file": name, "etag": random.getrandbits(32), "at": time.time()})

    threading.Thread(target=uploader, name="uploader", daemon=True).start()
    got = [await asyncio.to_thread(receipts.get, True, 10) for _ in files]
    return {"files": [r["file"] for r in got], "etags": len({r["etag"] for r in got})}


@durable_execution
async def uploads_through_a_queue(event: Any) -> dict[str, Any]:
    files = list((event or {}).get("files", ["a.csv", "b.csv", "c.csv"]))
    uploaded = await step(lambda: _batch_upload(files), name="upload")
    await wait(2, name="replicate")
    return {"uploaded": uploaded["files"]}


# --- asyncio's own subprocesses and sockets, under a timeout ---------------------------------

_SLOW_TOOL = "import sys, time; time.sleep(0.02); print(sys.argv[1][::-1])"


async def _tool(arg: str) -> str:
    """Runs a slow command-line tool (20 ms) under a 10 s timeout, and its exit alone under
    another."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _SLOW_TOOL, arg, stdout=asyncio.subprocess.PIPE
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=10)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return "tool timed out"
    quiet = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(0.02)"
    )
    try:
        await asyncio.wait_for(quiet.wait(), timeout=10)
    except TimeoutError:
        quiet.kill()
        await quiet.wait()
        return "exit timed out"
    return out.decode().strip()


async def _ask_echo(text: str) -> str:
    host, port = services.echo_address()
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=5)
    try:
        writer.write(text.encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout=5)
    except TimeoutError:
        return "echo timed out"
    finally:
        writer.close()
        await writer.wait_closed()
    return line.decode().strip()


@durable_execution
async def async_io_with_timeouts(event: Any) -> dict[str, Any]:
    """A child process and a socket driven by asyncio itself, each under ``wait_for``: they
    answer within milliseconds, so nothing times out."""
    text = (event or {}).get("text", "stressed")
    reversed_ = await step(lambda: _tool(text), name="tool")
    await wait(5, name="between")
    echoed = await step(lambda: _ask_echo(text), name="echo")
    return {"reversed": reversed_, "echoed": echoed}


# --- executor work racing a durable wait ----------------------------------------------------------


@durable_execution
async def export_or_deadline(event: Any) -> dict[str, Any]:
    """An export in a thread races a one-hour durable deadline in a ``parallel`` that needs
    one branch; the export wins in milliseconds and the deadline is abandoned."""
    rows = int((event or {}).get("rows", 500))

    def export() -> dict[str, Any]:
        time.sleep(0.01)
        body = "\n".join(f"{i},{i * i}" for i in range(rows))
        return {"rows": rows, "sha": hashlib.sha256(body.encode()).hexdigest()[:12]}

    async def exporting() -> dict[str, Any]:
        return await step(lambda: asyncio.to_thread(export), name="export")

    async def deadline() -> dict[str, Any]:
        await wait(3600, name="deadline")
        return {"rows": 0, "sha": None}

    raced = await parallel(
        [exporting, deadline],
        name="export-or-deadline",
        completion_config=CompletionConfig(min_successful=1),
    )
    return {"winner": raced.get_results()[0]}


# --- a listen bounded by the wall clock, blocking in Queue.get ----------------------------------

#: Cancellation notices a listener thread would deliver; none arrive in these runs.
NOTICES: queue.Queue[str] = queue.Queue()


def _listen(seconds: float) -> list[str]:
    deadline = time.time() + seconds
    heard = []
    while time.time() < deadline:
        try:
            heard.append(NOTICES.get(timeout=0.05))
        except queue.Empty:
            continue
    return sorted(heard)


async def _cancellations(seconds: float) -> list[str]:
    return _listen(seconds)


async def _shipping(cancelled: list[str]) -> bool:
    return not cancelled


@durable_execution
async def cancellation_window(event: Any) -> dict[str, Any]:
    """Listen for cancellation notices for half a second of wall-clock time before shipping,
    and again before invoicing after an hour's wait; each listen is a blocking poll on the
    loop's own thread."""
    before = await step(lambda: _cancellations(0.5), name="listen-before-shipping")
    shipped = await step(lambda: _shipping(before), name="ship")
    await wait(3600, name="an-hour")
    after = await step(lambda: _cancellations(0.5), name="listen-before-invoicing")
    return {"shipped": shipped, "cancelled": before + after}


# --- a background worker the handler's code starts outside steps ------------------------------


class _Stamper:
    """A worker thread that stamps documents (a content hash, a receipt id, the time), started
    on first use and kept while it has work, as clients keep their background threads: the
    handler's code makes sure it runs, and the steps hand it their documents."""

    def __init__(self) -> None:
        self.jobs: queue.Queue[tuple[str, queue.Queue[dict[str, Any]]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="stamper", daemon=True)
                self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                doc, reply = self.jobs.get(timeout=2.0)
            except queue.Empty:
                return  # idle: the next ensure_started() starts another
            sha = hashlib.sha256(doc.encode()).hexdigest()[:10]
            reply.put({"sha": sha, "receipt": uuid.uuid4().hex[:8], "at": time.time()})

    def stamp(self, doc: str) -> dict[str, Any]:
        self.ensure_started()  # (it may have gone idle since the handler's check)
        reply: queue.Queue[dict[str, Any]] = queue.Queue()
        self.jobs.put((doc, reply))
        return reply.get(timeout=10)


STAMPER = _Stamper()


async def _stamp(doc: str) -> dict[str, Any]:
    return await asyncio.to_thread(STAMPER.stamp, doc)


@durable_execution
async def background_stamper(event: Any) -> dict[str, Any]:
    """The handler's code makes sure its stamping worker runs (outside steps, on every
    replay: a sandbox with a live worker starts none), and each step has a document stamped
    through it: the receipt ids and times the worker draws are the steps' results."""
    STAMPER.ensure_started()
    docs = list((event or {}).get("docs", ["invoice-7", "delivery-note-7"]))
    invoice = await step(lambda: _stamp(docs[0]), name="stamp-invoice")
    await wait(60, name="countersign")
    note = await step(lambda: _stamp(docs[1]), name="stamp-note")
    receipts = {invoice["receipt"], note["receipt"]}
    return {"invoice": invoice["sha"], "note": note["sha"], "receipts": len(receipts)}


#: The corpus: each entry as ``corpus.scenarios`` takes it (see ``examples/corpus.py``).
CORPUS: dict[str, dict[str, Any]] = {
    "sleepy_steps": {"handler": sleepy_steps},
    "live_or_cached": {"handler": live_or_cached, "input": {"sku": "sofa"}},
    "executor_digests": {"handler": executor_digests},
    "shared_pool_quotes": {"handler": shared_pool_quotes},
    "joined_thread": {"handler": joined_thread},
    "subprocess_report": {"handler": subprocess_report, "input": {"args": ["q3", "eu", "pdf"]}},
    "socket_round_trips": {"handler": socket_round_trips, "before_run": reset},
    "alarm_time_limits": {"handler": alarm_time_limits},
    "geocode_with_timeouts": {"handler": geocode_with_timeouts},
    "cpu_busy": {"handler": cpu_busy},
    "fan_out_to_threads": {"handler": fan_out_to_threads},
    "poll_in_thread": {"handler": poll_in_thread, "before_run": reset},
    "logged_from_threads": {"handler": logged_from_threads, "before_run": reset},
    "uploads_through_a_queue": {"handler": uploads_through_a_queue},
    "async_io_with_timeouts": {"handler": async_io_with_timeouts, "before_run": reset},
    "export_or_deadline": {"handler": export_or_deadline},
    "cancellation_window": {"handler": cancellation_window},
    "background_stamper": {"handler": background_stamper},
}
