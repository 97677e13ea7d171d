"""The stored pairs of the keys a connection read lately, kept ready for the reuse counts.

A key many accounts share (a corporate egress IP, a mobile carrier's /24) has as many pairs,
and each request on it would read and sort them all again. A `PairCache` keeps each key's pairs
(account -> first time, ns) and their first times sorted, for one SQLite connection: it is
valid while no other connection has written (SQLite's `data_version`, which a connection's own
commits leave alone) and follows the connection's own writes (`merged`). A pair's first time
only moves earlier and a key gains an account rarely, so a shared key's sorted times are
mostly read, not made. Only the reads without a retention window use it (with one, stale
pairs are made again from the events in the window).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from persona_risk.features.stored_view import KeyFirsts, sorted_firsts

# past this many pairs (and keys) held, the cache starts over: about 30 MiB a thread
MAX_PAIRS = 250_000


class PairCache:
    """Pairs by (kind, key), for one connection whose `data_version` was `version`."""

    def __init__(self) -> None:
        self.version: int | None = None
        self._accounts: dict[tuple[str, str], dict[str, int]] = {}
        self._sorted: dict[tuple[str, str], np.ndarray] = {}
        self._held = 0

    def checked(self, version: int) -> PairCache:
        """This cache, emptied when the connection's `data_version` is no longer `version`
        (another connection has written since)."""
        if version != self.version:
            self.clear()
            self.version = version
        return self

    def clear(self) -> None:
        self._accounts.clear()
        self._sorted.clear()
        self._held = 0

    def firsts(self, kind: str, keys: list[str],
               read: Callable[[str, list[str]], list[tuple]]) -> KeyFirsts:
        """Sorted first times of the pairs of each key (keys without pairs left out), the keys
        not held read with `read(kind, keys)` (stored pair rows: kind, key, account, time)."""
        if self._held > MAX_PAIRS:
            self.clear()
        missing = [key for key in dict.fromkeys(keys) if (kind, key) not in self._accounts]
        if missing:
            fresh: dict[tuple[str, str], dict[str, int]] = {(kind, key): {} for key in missing}
            for _, key, account, first in read(kind, missing):
                fresh[kind, key][account] = first
            self._accounts.update(fresh)
            self._held += len(fresh) + sum(map(len, fresh.values()))
        out = {}
        for key in keys:
            times = self._sorted.get((kind, key))
            if times is None:
                times = sorted_firsts(self._accounts[kind, key])
                self._sorted[kind, key] = times
            if len(times):
                out[key] = times
        return out

    def writing(self) -> int | None:
        """Before a write of this connection: the version to give back (`version`) once the
        write is committed and `merged`; until then, a read starts the cache over."""
        held, self.version = self.version, None
        return held

    def merged(self, pairs: list[tuple]) -> None:
        """Follow pairs (kind, key, account, first time) this connection has committed, each
        keeping its earliest time, as the store merges them."""
        for kind, key, account, first in pairs:
            seen = self._accounts.get((kind, key))
            if seen is not None and first < seen.get(account, first + 1):
                self._held += account not in seen
                seen[account] = first
                self._sorted.pop((kind, key), None)
