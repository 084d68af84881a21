"""Which retired sandboxes wait for a burial (``_sandbox/retired.py``): only those whose
module state holds something that may say it was never closed; a burial costs two full
collections, and most handlers' modules hold data and configuration only. And which of a
retired sandbox's threads end with it: those its module state holds, and the test process's
module does not."""

from __future__ import annotations

import socket
import tempfile
import threading
import types
from typing import Any

from async_durable_execution_runner._sandbox.retired import end_threads, holds_resources


class _Pool:
    def __init__(self, item: Any) -> None:
        self.slots = [{"item": item}]


def test_data_and_configuration_are_no_resource() -> None:
    state = {"CONFIG": {"region": "eu-west-1", "retries": [1, 2, 3]}, "CACHE": {}, "N": 3}
    assert not holds_resources(state)


def test_a_socket_deep_in_a_client_is_one() -> None:
    with socket.socket() as sock:
        assert holds_resources({"CLIENT": _Pool(_Pool(sock))})


def test_an_object_with_a_finaliser_is_one() -> None:
    with tempfile.TemporaryFile() as file:
        assert holds_resources({"LOG": _Pool(file)})

    class Session:
        def __del__(self) -> None:
            pass

    assert holds_resources({"SESSION": Session()})


def test_module_dunders_and_shared_code_are_not_searched() -> None:
    # The module's own attributes (its loader, its builtins) and functions, classes and
    # modules it binds are shared code, not its state.
    assert not holds_resources({"__builtins__": __builtins__, "socket": socket, "f": print})


# --- a retired sandbox's threads (``end_threads``) ------------------------------------------


class _Worker:
    """A client's worker thread, woken by ``stop`` or every 10 ms."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(0.01):
            pass


def _gone(thread: threading.Thread) -> bool:
    thread.join(timeout=5)
    return not thread.is_alive()


def test_a_thread_the_sandbox_s_state_holds_is_ended() -> None:
    worker = _Worker()
    ended = end_threads({"CLIENT": _Pool(worker)}, [worker.thread])
    assert ended == [worker.thread]
    assert _gone(worker.thread)


def test_a_thread_at_work_is_ended_once_it_parks() -> None:
    """A flusher that has not reached its first wait when its sandbox is retired (the
    import had just started it) is looked at again, and ended once it parks."""
    go = threading.Event()
    worker = _Worker.__new__(_Worker)
    worker.stopped = threading.Event()

    def run() -> None:
        while not go.is_set():  # at work: not parked
            pass
        while not worker.stopped.wait(0.01):
            pass

    worker.thread = threading.Thread(target=run, daemon=True)
    worker.thread.start()
    assert end_threads({"CLIENT": _Pool(worker)}, [worker.thread]) == []
    assert worker.thread.is_alive()
    go.set()
    assert _gone(worker.thread)


def test_a_thread_the_test_s_own_module_holds_too_is_left_alone() -> None:
    worker = _Worker()
    shared = _Pool(worker)
    try:
        assert end_threads({"CLIENT": shared}, [worker.thread], {"CLIENT": shared}) == []
        assert worker.thread.is_alive()
    finally:
        worker.stopped.set()


def test_a_thread_the_sandbox_s_state_does_not_hold_is_left_alone() -> None:
    worker = _Worker()
    try:
        assert end_threads({"CONFIG": {"region": "eu-west-1"}}, [worker.thread]) == []
        assert worker.thread.is_alive()
    finally:
        worker.stopped.set()


def test_the_calling_thread_is_never_ended() -> None:
    me = threading.current_thread()
    assert end_threads({"ME": _Pool(me)}, [me]) == []


def test_a_thread_a_module_of_the_user_s_holds_is_left_alone() -> None:
    """A fake of a partner kept the sandbox's client to shut it down later."""
    worker = _Worker()
    fake = types.ModuleType("partner_fake")
    fake.__file__ = "/project/tests/partner_fake.py"
    fake.CLIENTS = [worker]  # type: ignore[attr-defined]
    try:
        assert end_threads({"partner_fake": fake, "CLIENT": worker}, [worker.thread]) == []
        assert worker.thread.is_alive()
    finally:
        worker.stopped.set()


def test_threads_that_may_never_wake_are_left_alone_with_their_fellows() -> None:
    """A pool's handler blocked until woken would never end, and its fellows' ending would
    leave it waiting for them: none is ended."""
    worker = _Worker()
    blocked = threading.Event()
    sleeper = threading.Thread(target=blocked.wait, daemon=True)
    sleeper.start()
    try:
        pool = _Pool([worker, sleeper])
        assert end_threads({"POOL": pool}, [worker.thread, sleeper]) == []
        assert worker.thread.is_alive()
        assert sleeper.is_alive()
    finally:
        worker.stopped.set()
        blocked.set()
