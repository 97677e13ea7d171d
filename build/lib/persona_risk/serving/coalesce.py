"""Request coalescing: work that arrives while the previous batch runs is handled as one batch.

The feature pipeline costs about the same for one account as for a few dozen, so under load
one worker thread takes everything queued (up to a limit), runs it together and answers each
caller with its own result. An idle service answers a lone request at once: nothing waits for
a batch to fill. When a batch fails, each of its items is run again alone, so one item's fault
never reaches the others (`handle` must therefore be safe to repeat: storage is idempotent).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Coalescer(Generic[Item, Result]):
    """Runs `handle(items) -> results` (one result per item, same order) on one worker thread
    over whatever has been submitted; a batch takes no more items once their `weight` reaches
    `max_weight` (a single heavier item runs alone)."""

    def __init__(self, handle: Callable[[list[Item]], list[Result]],
                 weight: Callable[[Item], int] = lambda _: 1, max_weight: int = 64):
        self.handle, self.weight, self.max_weight = handle, weight, max_weight
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._run, name="coalescer", daemon=True)
        self._worker.start()

    def submit(self, item: Item) -> Future:
        """Queue `item`; the future gets its result, or the exception it raised run alone."""
        future: Future = Future()
        self._queue.put((item, future))
        return future

    def close(self) -> None:
        """Stop the worker once the queued work is done."""
        self._queue.put(None)
        self._worker.join()

    def _next_batch(self, first) -> tuple[list, bool]:
        batch, total = [first], self.weight(first[0])
        while total < self.max_weight:
            try:
                entry = self._queue.get_nowait()
            except queue.Empty:
                return batch, False
            if entry is None:
                return batch, True
            batch.append(entry)
            total += self.weight(entry[0])
        return batch, False

    def _run(self) -> None:
        closing = False
        while not closing:
            first = self._queue.get()
            if first is None:
                return
            batch, closing = self._next_batch(first)
            try:
                results = self.handle([item for item, _ in batch])
            except Exception as err:
                if len(batch) == 1:
                    batch[0][1].set_exception(err)
                else:  # find whose fault it was: each item alone
                    for entry in batch:
                        self._run_alone(*entry)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)

    def _run_alone(self, item: Item, future: Future) -> None:
        try:
            future.set_result(self.handle([item])[0])
        except Exception as err:
            future.set_exception(err)
