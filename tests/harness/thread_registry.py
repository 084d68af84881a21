"""A library's process-wide worker thread, which every sandbox of ``thread_handlers`` shares
(this module is not re-imported by a cold start, as a third-party library is not): started
lazily by whichever sandbox submits first, in that sandbox's invocation."""

from __future__ import annotations

import queue
import threading


class Registry:
    """A library's global client, whose worker thread starts on first use."""

    def __init__(self) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        self.worker: threading.Thread | None = None
        self.done: list[str] = []

    def _work(self) -> None:
        while True:
            try:
                self.done.append(self.queue.get(timeout=0.05))
            except queue.Empty:
                continue

    def submit(self, item: str) -> None:
        if self.worker is None:
            self.worker = threading.Thread(target=self._work, name="shared-worker", daemon=True)
            self.worker.start()
        self.queue.put(item)


#: The process's one registry (a library's module-level singleton).
REGISTRY = Registry()
