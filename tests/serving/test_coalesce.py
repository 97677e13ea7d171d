"""The coalescer batches work queued while it is busy and answers each caller."""

from __future__ import annotations

import threading
import time

import pytest

from persona_risk.serving.coalesce import Coalescer, Failed, OverBudget


def test_work_queued_while_busy_runs_as_one_batch_in_order():
    release, batches = threading.Event(), []

    def handle(items):
        release.wait(10)
        batches.append(list(items))
        return [item * 10 for item in items]

    coalescer = Coalescer(handle, max_weight=100)
    first = coalescer.submit(1)
    while coalescer._queue.qsize():  # the worker has taken the first item and waits
        pass
    rest = [coalescer.submit(i) for i in (2, 3, 4)]
    release.set()
    assert [f.result(10) for f in (first, *rest)] == [10, 20, 30, 40]
    coalescer.close()
    assert batches == [[1], [2, 3, 4]]


def test_a_batch_stops_at_its_weight_and_a_heavy_item_runs_alone():
    release, batches = threading.Event(), []

    def handle(items):
        release.wait(10)
        batches.append(list(items))
        return items

    coalescer = Coalescer(handle, weight=lambda item: item, max_weight=5)
    futures = [coalescer.submit(1)]
    while coalescer._queue.qsize():
        pass
    futures += [coalescer.submit(i) for i in (2, 3, 9, 1)]
    release.set()
    assert [f.result(10) for f in futures] == [1, 2, 3, 9, 1]
    coalescer.close()
    assert batches == [[1], [2, 3], [9], [1]]


def test_a_failing_batch_fails_each_of_its_callers_and_the_worker_goes_on():
    def handle(items):
        if "bad" in items:
            raise ValueError("store unavailable")
        return items

    coalescer = Coalescer(handle)
    with pytest.raises(ValueError, match="store unavailable"):
        coalescer.submit("bad").result(10)
    assert coalescer.submit("good").result(10) == "good"
    coalescer.close()


def test_a_failing_item_fails_alone_and_its_batch_mates_get_their_results():
    """Finding 3: one bad request failed every request of its coalesced batch."""
    release, calls = threading.Event(), []

    def handle(items):
        release.wait(10)
        calls.append(list(items))
        if "bad" in items:
            raise ValueError("bad item")
        return [item.upper() for item in items]

    coalescer = Coalescer(handle, max_weight=100)
    first = coalescer.submit("first")
    while coalescer._queue.qsize():
        pass
    rest = [coalescer.submit(item) for item in ("a", "bad", "b")]
    release.set()
    assert first.result(10) == "FIRST"
    assert [rest[0].result(10), rest[2].result(10)] == ["A", "B"]
    with pytest.raises(ValueError, match="bad item"):
        rest[1].result(10)
    coalescer.close()
    assert calls == [["first"], ["a", "bad", "b"], ["a"], ["bad"], ["b"]]


def test_an_item_answered_failed_raises_to_its_own_caller_only_without_a_rerun():
    release, calls = threading.Event(), []

    def handle(items):
        release.wait(10)
        calls.append(list(items))
        return [Failed(LookupError(f"refused {item}")) if item.startswith("no") else item.upper()
                for item in items]

    coalescer = Coalescer(handle, max_weight=100)
    first = coalescer.submit("first")
    while coalescer._queue.qsize():
        pass
    rest = [coalescer.submit(item) for item in ("a", "no-1", "b", "no-2")]
    release.set()
    assert first.result(10) == "FIRST"
    assert [rest[0].result(10), rest[2].result(10)] == ["A", "B"]
    for future, item in ((rest[1], "no-1"), (rest[3], "no-2")):
        with pytest.raises(LookupError, match=f"refused {item}$"):
            future.result(10)
    coalescer.close()
    assert calls == [["first"], ["a", "no-1", "b", "no-2"]]  # a refusal is no batch fault


def test_a_batch_past_its_time_budget_answers_over_budget_and_the_worker_goes_on():
    """A batch that runs past the budget answers its callers, and those queued behind it, at
    their deadlines instead of holding them; what is still queued then is dropped, not run."""
    release, batches = threading.Event(), []

    def handle(items):
        batches.append(list(items))
        if "slow" in items:
            release.wait(10)
        return items

    coalescer = Coalescer(handle, max_weight=100, budget_s=0.2)
    slow = coalescer.submit("slow")
    while coalescer._queue.qsize():
        pass
    queued = coalescer.submit("queued")
    started = time.monotonic()
    for future in (slow, queued):
        with pytest.raises(OverBudget, match="0.2 s"):
            future.result(5)
    assert time.monotonic() - started < 2  # not held until the slow batch ends
    release.set()
    assert coalescer.submit("next").result(5) == "next"
    coalescer.close()
    assert batches == [["slow"], ["next"]]


def test_items_are_prepared_on_the_worker_and_a_failed_preparation_fails_only_its_caller():
    threads, batches = set(), []

    def prepare(raw):
        threads.add(threading.current_thread().name)
        if raw == "unreadable":
            raise ValueError("event_id: missing")
        return raw.upper()

    def handle(items):
        batches.append(list(items))
        return items

    coalescer = Coalescer(handle, prepare=prepare)
    futures = [coalescer.submit(raw) for raw in ("a", "unreadable", "b")]
    assert futures[0].result(10) == "A" and futures[2].result(10) == "B"
    with pytest.raises(ValueError, match="event_id: missing"):
        futures[1].result(10)
    coalescer.close()
    assert threads == {"coalescer"}
    assert [item for batch in batches for item in batch] == ["A", "B"]
