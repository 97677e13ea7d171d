"""Request coalescing: work that arrives while the previous batch runs is handled as one batch.

The feature pipeline costs about the same for one account as for a few dozen, so under load
one worker thread takes everything queued (up to a limit), runs it together and answers each
caller with its own result. An idle service answers a lone request at once: nothing waits for
a batch to fill. When a batch fails, each of its items is run again alone, so one item's fault
never reaches the others (`handle` must therefore be safe to repeat: storage is idempotent).

With a time budget, no caller waits longer than `budget_s` from its submission: a batch that runs
past it (or an item queued behind one) answers `OverBudget` at the deadline instead of holding
every caller. The late batch still runs to its end (a thread cannot be stopped), so what it
stores is stored; items that expired while queued are dropped without running.

With `prepare`, each submitted item is first turned into what `handle` takes (a request's
validation) on the worker thread too, so a request crosses threads once, in and out; an item
whose preparation raises gets that exception and the batch goes on without it.

`handle` may answer one item with `Failed(error)`: that item's caller gets `error` raised, the
other items of the batch their results (a refusal of one request, not a fault of the batch).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")
Raw = TypeVar("Raw")
Result = TypeVar("Result")


class OverBudget(Exception):
    """An item's batch did not answer within the coalescer's time budget (seconds)."""

    def __init__(self, budget_s: float):
        self.budget_s = budget_s
        super().__init__(f"not answered within the batch time budget of {budget_s:g} s")


@dataclass(frozen=True)
class Failed:
    """One item's own failure in `handle`'s results: its caller gets `error` raised."""

    error: Exception


def _settle(future: Future, result=None, error: BaseException | None = None) -> None:
    """Answer `future` unless it is answered already (expired, or given up by its caller)."""
    try:
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
    except InvalidStateError:
        pass


def _answer(future: Future, result) -> None:
    """Settle `future` with an item's result from `handle`: raised when it is `Failed`."""
    if isinstance(result, Failed):
        _settle(future, error=result.error)
    else:
        _settle(future, result)


def _same(item):
    return item


class Coalescer(Generic[Raw, Item, Result]):
    """Runs `handle(items) -> results` (one result per item, same order; `Failed` for an item
    refused alone) on one worker thread over whatever has been submitted, each submitted item
    `prepare`d first on that thread; a batch takes no more items once their `weight` reaches
    `max_weight` (a single heavier item runs alone). With `budget_s`, a caller not answered
    `budget_s` seconds after its submission gets `OverBudget`."""

    def __init__(self, handle: Callable[[list[Item]], list[Result]],
                 weight: Callable[[Item], int] = lambda _: 1, max_weight: int = 64,
                 budget_s: float | None = None, prepare: Callable[[Raw], Item] = _same):
        self.handle, self.weight, self.max_weight = handle, weight, max_weight
        self.prepare = prepare
        self.budget_s = budget_s
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._deadlines: deque[tuple[float, Future]] = deque()  # in submission order
        self._clock = threading.Condition()
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="coalescer", daemon=True)
        self._worker.start()
        if budget_s is not None:
            threading.Thread(target=self._expire, name="coalescer-budget", daemon=True).start()

    def submit(self, item: Raw) -> Future:
        """Queue `item`; the future gets its result, the exception its preparation or its run
        alone raised, or `OverBudget`."""
        future: Future = Future()
        if self.budget_s is not None:
            with self._clock:
                self._deadlines.append((time.monotonic() + self.budget_s, future))
                if len(self._deadlines) == 1:  # else it waits for an earlier deadline
                    self._clock.notify()
        self._queue.put((item, future))
        return future

    def close(self) -> None:
        """Stop the worker once the queued work is done."""
        self._queue.put(None)
        self._worker.join()
        with self._clock:
            self._closed = True
            self._clock.notify()

    def _expire(self) -> None:
        """Answer `OverBudget` to every caller still waiting at its deadline."""
        with self._clock:
            while not self._closed:
                if not self._deadlines:
                    self._clock.wait()
                    continue
                deadline, future = self._deadlines[0]
                wait = deadline - time.monotonic()
                if future.done() or wait <= 0:
                    self._deadlines.popleft()
                    _settle(future, error=OverBudget(self.budget_s))
                else:
                    self._clock.wait(wait)

    def _prepared(self, entry) -> tuple | None:
        """(prepared item, future) of a queued entry; None when nobody waits for it any more
        (expired while queued) or its preparation failed (then its caller gets the error)."""
        raw, future = entry
        if future.done():
            return None
        try:
            return self.prepare(raw), future
        except Exception as err:
            _settle(future, error=err)
            return None

    def _next_batch(self, first) -> tuple[list, bool]:
        batch, total = [first], self.weight(first[0])
        while total < self.max_weight:
            try:
                entry = self._queue.get_nowait()
            except queue.Empty:
                return batch, False
            if entry is None:
                return batch, True
            entry = self._prepared(entry)
            if entry is not None:
                batch.append(entry)
                total += self.weight(entry[0])
        return batch, False

    def _run(self) -> None:
        closing = False
        while not closing:
            first = self._queue.get()
            if first is None:
                return
            first = self._prepared(first)
            if first is None:
                continue
            batch, closing = self._next_batch(first)
            try:
                results = self.handle([item for item, _ in batch])
            except Exception as err:
                if len(batch) == 1:
                    _settle(batch[0][1], error=err)
                else:  # find whose fault it was: each item alone, if still awaited
                    for entry in batch:
                        if not entry[1].done():
                            self._run_alone(*entry)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                _answer(future, result)

    def _run_alone(self, item: Item, future: Future) -> None:
        try:
            _answer(future, self.handle([item])[0])
        except Exception as err:
            _settle(future, error=err)
