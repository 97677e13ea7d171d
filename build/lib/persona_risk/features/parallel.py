"""Running independent steps on a few threads when the input is large.

The heavy steps (numpy gathers and reductions, the compiled kernels) release the GIL, so two
threads use both cores of a small machine; below `PARALLEL_MIN_ROWS` rows threads cost more than
they save (the online path scores one account at a time) and the steps run in turn.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

PARALLEL_MIN_ROWS = 200_000
THREADS = max(1, min(4, os.cpu_count() or 1))

T = TypeVar("T")
R = TypeVar("R")


def map_steps(step: Callable[[T], R], items: Iterable[T], n_rows: int) -> list[R]:
    """`[step(item) for item in items]`, on `THREADS` threads when `n_rows` is large; results in
    the order of `items`, so the outcome does not depend on the threads."""
    items = list(items)
    if n_rows < PARALLEL_MIN_ROWS or THREADS == 1:
        return [step(item) for item in items]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(step, items))
