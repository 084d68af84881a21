"""Handlers whose loop waits for the world outside it (``test_outside_waits.py``)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from async_durable_execution import durable_execution, step

#: Set by the tests once a run is over: a stalled call the run gave up on returns.
release = threading.Event()


def _stalled_lookup(name: str) -> str:
    release.wait()  # a partner that stalls: no sleep, no answer
    return f"{name}: found"


@durable_execution
async def stalled_call_bounded(event: Any) -> dict[str, Any]:
    """A blocking lookup in a thread, bounded by ``asyncio.wait_for``; the partner stalls,
    so the fallback answers."""

    async def look_up() -> str:
        try:
            return await asyncio.wait_for(asyncio.to_thread(_stalled_lookup, "ada"), 0.5)
        except TimeoutError:
            return "ada: fallback"

    started = time.time()
    answer = await step(look_up, name="look-up")
    return {"answer": answer, "took": time.time() - started}


@durable_execution
async def silent_partner_bounded(event: Any) -> dict[str, Any]:
    """A question to a partner over TCP, the read bounded by ``asyncio.wait_for``; the
    partner accepts and says nothing, so the fallback answers."""

    async def ask() -> str:
        reader, writer = await asyncio.open_connection("127.0.0.1", event["port"])
        try:
            writer.write(b"stock of lamp?\n")
            await writer.drain()
            try:
                return (await asyncio.wait_for(reader.readline(), 0.5)).decode().strip()
            except TimeoutError:
                return "fallback"
        finally:
            writer.close()

    started = time.time()
    answer = await step(ask, name="ask")
    return {"answer": answer, "took": time.time() - started}


def _quick(x: int) -> int:
    return x + 1


@durable_execution
async def quick_thread_jobs(event: Any) -> list[float]:
    """Steps whose bodies hand quick jobs to a thread, each reading the clock after."""
    stamps = []
    for i in range(3):

        async def job(i: int = i) -> float:
            await asyncio.to_thread(_quick, i)
            return time.time()

        stamps.append(await step(job, name=f"job-{i}"))
    return stamps


@durable_execution
async def thread_reports_through_the_loop(event: Any) -> str:
    """A thread the handler starts reports through ``call_soon_threadsafe`` (as a library's
    callback thread does), awaited under a 30 s bound."""

    async def transfer() -> str:
        loop = asyncio.get_running_loop()
        done = asyncio.Event()

        def work() -> None:
            time.sleep(0.05)
            loop.call_soon_threadsafe(done.set)

        threading.Thread(target=work, daemon=True).start()
        await asyncio.wait_for(done.wait(), 30)
        return "sent"

    return await step(transfer, name="transfer")


class _Uploader:
    """A client whose ``start()`` spawns its own I/O thread and returns at once; the thread
    reports through ``call_soon_threadsafe``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, done: asyncio.Event) -> None:
        self._loop = loop
        self._done = done

    def start(self) -> str:
        def work() -> None:
            time.sleep(0.05)  # the upload
            self._loop.call_soon_threadsafe(self._done.set)

        threading.Thread(target=work, daemon=True).start()
        return "started"


@durable_execution
async def thread_started_by_a_job(event: Any) -> str:
    """The client's ``start()`` runs in a thread (``asyncio.to_thread`` when
    ``event["how"] == "to_thread"``, ``run_in_executor`` otherwise), and the thread it
    starts is awaited under a 30 s bound."""

    async def upload() -> str:
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        client = _Uploader(loop, done)
        if event["how"] == "to_thread":
            await asyncio.to_thread(client.start)
        else:
            await loop.run_in_executor(None, client.start)
        await asyncio.wait_for(done.wait(), 30)
        return "uploaded"

    return await step(upload, name="upload")


@durable_execution
async def pool_then_five_minutes(event: Any) -> float:
    """A job for the default thread pool, then five minutes of ``asyncio.sleep`` in the same step:
    the pool's idle worker is not a thread the loop waits for."""

    async def body() -> float:
        await asyncio.to_thread(_quick, 1)
        started = time.time()
        await asyncio.sleep(300)
        return time.time() - started

    return await step(body, name="five-minutes")


#: A pool of the handler's own, made at import and kept by warm invocations.
_POOL = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="handler-pool")


def _upload(*, seconds: float) -> str:
    time.sleep(seconds)  # the upload
    return "uploaded"


@durable_execution
async def pool_job_reports_through_a_done_callback(event: Any) -> str:
    """A job given to the handler's own pool (``submit``, with a keyword argument), heard
    back from through a done callback's ``call_soon_threadsafe``, under a 30 s bound."""

    async def upload() -> str:
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        job = _POOL.submit(_upload, seconds=0.05)
        job.add_done_callback(lambda _: loop.call_soon_threadsafe(done.set))
        await asyncio.wait_for(done.wait(), 30)
        return job.result()

    return await step(upload, name="upload")


@durable_execution
async def pool_job_reports_through_run_coroutine_threadsafe(event: Any) -> str:
    """A pool job that hands its answer to the loop itself
    (``asyncio.run_coroutine_threadsafe``), awaited under a 30 s bound."""

    async def upload() -> str:
        loop = asyncio.get_running_loop()
        answers: asyncio.Queue[str] = asyncio.Queue()

        def work() -> None:
            asyncio.run_coroutine_threadsafe(answers.put(_upload(seconds=0.05)), loop)

        _POOL.submit(work)
        return await asyncio.wait_for(answers.get(), 30)

    return await step(upload, name="upload")


@durable_execution
async def pool_job_with_a_slow_done_callback(event: Any) -> str:
    """The done callback takes a while before it reports (it logs, it updates metrics):
    the job's future is done well before the loop hears of it."""

    async def upload() -> str:
        loop = asyncio.get_running_loop()
        done = asyncio.Event()

        def report(_: object) -> None:
            time.sleep(0.05)
            loop.call_soon_threadsafe(done.set)

        _POOL.submit(_upload, seconds=0.01).add_done_callback(report)
        await asyncio.wait_for(done.wait(), 30)
        return "uploaded"

    return await step(upload, name="upload")


@durable_execution
async def pool_job_then_five_minutes(event: Any) -> float:
    """A job given to the pool and not waited for, then five minutes of ``asyncio.sleep``:
    once the job is over, the five minutes are a jump, not five minutes."""

    async def body() -> float:
        _POOL.submit(_upload, seconds=0.05)
        started = time.time()
        await asyncio.sleep(300)
        return time.time() - started

    return await step(body, name="five-minutes")


class _Flusher:
    """A client's background thread, started when the client is made (lazily, in a step)
    and alive for good: it idles in ``time.sleep``, in an ``Event.wait`` with a time-out, or
    in a queue's ``get``, and never reports to the loop."""

    def __init__(self, how: str) -> None:
        self._stop = threading.Event()
        self._lines: queue.Queue[str] = queue.Queue()
        target = {"sleep": self._by_sleep, "event": self._by_event, "queue": self._by_queue}[how]
        threading.Thread(target=target, daemon=True, name=f"flusher-{how}").start()

    def _by_sleep(self) -> None:
        while True:
            time.sleep(30)

    def _by_event(self) -> None:
        while not self._stop.wait(30):
            pass

    def _by_queue(self) -> None:
        while True:
            self._lines.get()

    def record(self, line: str) -> None:
        self._lines.put(line)


#: Made by the first step that needs one, per way of idling.
_FLUSHERS: dict[str, _Flusher] = {}


@durable_execution
async def lazy_client_then_ten_minutes(event: Any) -> float:
    """A step makes the client (its flusher thread starts) and then pauses ten minutes with
    ``asyncio.sleep``: the flusher idles and never reports, so the pause is a jump."""

    async def body() -> float:
        how = event["how"]
        flusher = _FLUSHERS.get(how)
        if flusher is None:
            flusher = _FLUSHERS[how] = _Flusher(how)
        flusher.record("paused")
        started = time.time()
        await asyncio.sleep(600)
        return time.time() - started

    return await step(body, name="pause")


@durable_execution
async def thread_polls_then_reports(event: Any) -> str:
    """A thread the handler starts polls a job every 50 ms (``Event.wait(0.05)``, an
    interruptible sleep) and reports through ``call_soon_threadsafe`` on the third poll,
    awaited under a 30 s bound: parked only until its next poll, it is waited for."""

    async def watch() -> str:
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        stop = threading.Event()

        def poll() -> None:
            polls = 0
            while not stop.wait(0.05):
                polls += 1
                if polls == 3:
                    loop.call_soon_threadsafe(done.set)
                    return

        threading.Thread(target=poll, daemon=True).start()
        await asyncio.wait_for(done.wait(), 30)
        return "finished"

    return await step(watch, name="watch")


class _Producer:
    """A client with a sender thread of its own, made at import and kept by warm
    invocations (as batching producers are); each send's delivery is reported to a
    callback from that thread."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[str, Callable[[str], object]]] = queue.SimpleQueue()
        threading.Thread(target=self._send_forever, daemon=True).start()

    def _send_forever(self) -> None:
        while True:
            message, delivered = self._jobs.get()
            time.sleep(0.05)  # the broker's round trip
            delivered(message)

    def send(self, message: str, delivered: Callable[[str], object]) -> None:
        self._jobs.put((message, delivered))


PRODUCER = _Producer()


@durable_execution
async def module_producer_reports_to_the_loop(event: Any) -> str:
    """The delivery report reaches the loop through ``call_soon_threadsafe`` from the
    producer's own thread, which was running before the invocation; awaited under a 10 s
    bound."""

    async def publish() -> str:
        loop = asyncio.get_running_loop()
        delivered = asyncio.Event()
        PRODUCER.send("order-7", lambda _: loop.call_soon_threadsafe(delivered.set))
        await asyncio.wait_for(delivered.wait(), timeout=10)
        return "delivered"

    return await step(publish, name="publish")


@durable_execution
async def module_producer_reports_to_a_future(event: Any) -> str:
    """The same producer, its report settling a ``concurrent.futures.Future`` the step
    awaits through ``asyncio.wrap_future``."""

    async def publish() -> str:
        report: concurrent.futures.Future[str] = concurrent.futures.Future()
        PRODUCER.send("order-7", report.set_result)
        await asyncio.wait_for(asyncio.wrap_future(report), timeout=10)
        return "delivered"

    return await step(publish, name="publish")


class _ModuleUploader:
    """A module-level uploader whose worker thread, running since import, is fed through a
    ``queue.Queue`` (``how="queue"``) or woken by an ``Event`` (``how="event"``), and calls
    each upload's callback from that thread."""

    def __init__(self, how: str) -> None:
        self._how = how
        self._jobs: queue.Queue[tuple[str, Callable[[str], object]]] = queue.Queue()
        self._pending: list[tuple[str, Callable[[str], object]]] = []
        self._ready = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._work_forever, daemon=True, name=f"uploader-{how}").start()

    def _next(self) -> tuple[str, Callable[[str], object]]:
        if self._how == "queue":
            return self._jobs.get()
        while True:
            self._ready.wait()
            with self._lock:
                if self._pending:
                    return self._pending.pop(0)
                self._ready.clear()

    def _work_forever(self) -> None:
        while True:
            key, done = self._next()
            time.sleep(0.02)  # the transfer
            done(f"etag-{key}")

    def upload(self, key: str, done: Callable[[str], object]) -> None:
        if self._how == "queue":
            self._jobs.put((key, done))
            return
        with self._lock:
            self._pending.append((key, done))
        self._ready.set()


UPLOADERS = {how: _ModuleUploader(how) for how in ("queue", "event")}


@durable_execution
async def module_uploader_reports_to_the_loop(event: Any) -> dict[str, Any]:
    """Two uploads through a module-level uploader (``event["how"]``), each heard back from
    through ``call_soon_threadsafe`` under a 10 s bound, then a minute's sleep in the step:
    the worker, idle again, holds no timer."""

    async def upload(key: str) -> str:
        loop = asyncio.get_running_loop()
        uploaded: asyncio.Future[str] = loop.create_future()
        UPLOADERS[event["how"]].upload(
            key, lambda etag: loop.call_soon_threadsafe(uploaded.set_result, etag)
        )
        etag = await asyncio.wait_for(uploaded, timeout=10)
        await asyncio.sleep(60)
        return etag

    return {
        "etags": [await step(functools.partial(upload, key), name=f"upload-{key}") for key in "ab"]
    }


@durable_execution
async def thread_pauses_then_reports(event: Any) -> str:
    """A thread the step starts waits ``event["seconds"]`` of real time (a partner's latency)
    before it reports through ``call_soon_threadsafe``, under a 30 s bound."""

    async def call_partner() -> str:
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[str] = loop.create_future()

        def work() -> None:
            time.sleep(event["seconds"])
            loop.call_soon_threadsafe(answered.set_result, "answered")

        threading.Thread(target=work, daemon=True).start()
        return await asyncio.wait_for(answered, 30)

    return await step(call_partner, name="call-partner")


@durable_execution
async def thread_backs_off_then_reports(event: Any) -> str:
    """A thread the step starts backs off ``event["pauses"]`` seconds of real time, one pause
    after another (a partner's 503s), before it reports through ``call_soon_threadsafe``,
    under a 30 s bound."""

    async def call_partner() -> str:
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[str] = loop.create_future()

        def work() -> None:
            for pause in event["pauses"]:
                time.sleep(pause)
            loop.call_soon_threadsafe(answered.set_result, "answered")

        threading.Thread(target=work, daemon=True).start()
        return await asyncio.wait_for(answered, 30)

    return await step(call_partner, name="call-partner")


#: A ``multiprocessing.pool.ThreadPool`` made on first use and kept (``apply_async``).
THREAD_POOLS: list[Any] = []


def _thread_pool() -> Any:
    from multiprocessing.pool import ThreadPool

    if not THREAD_POOLS:
        THREAD_POOLS.append(ThreadPool(2))
    return THREAD_POOLS[0]


def _squared(n: int) -> int:
    time.sleep(0.05)
    return n * n


@durable_execution
async def thread_pool_callbacks(event: Any) -> list[int]:
    """Each step hands a job to a ``ThreadPool`` made on first use, whose result callback
    reports through ``call_soon_threadsafe`` under a 20 s bound: the pool's task handler
    thread, woken by ``apply_async``, passes the job to a worker in the pool's own code."""

    async def squared(n: int) -> int:
        loop = asyncio.get_running_loop()
        result: asyncio.Future[int] = loop.create_future()
        _thread_pool().apply_async(
            _squared, (n,), callback=lambda r: loop.call_soon_threadsafe(result.set_result, r)
        )
        return await asyncio.wait_for(result, timeout=20)

    return [await step(functools.partial(squared, n), name=f"square-{n}") for n in (2, 3)]
