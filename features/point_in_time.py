"""The point-in-time rule, once: what exists as of a time T.

Every fact exists from its own time: an event from its `ts`, an account record from its
`created_at`, a reuse pair (an account seen on a device, IP or prefix) from its `first_ts`, the
time of the event that made it. An account exists as of T when it has an event or a record at
or before T. So an account whose first sign-in comes before its record (HR records back-filled
later) is counted from that sign-in, on its devices and IPs as everywhere, only without the
record's fields (age, claimed zone, home, payout and phone) until `created_at`.

With a retention window R (`FeatureConfig.retention_days`), an event exists only from its `ts`
until R after it: as of T, the events of [T - R, T]. Records do not expire. A reuse pair then
exists from the first time its account was seen on its key within the window, so pairs are
made from the events that exist (`happened`), never kept from before the window.

Batch (`features.pipeline`, `serving.batch`), Spark (`features.spark_engine`) and the online
stores all ask `AsOf`; none writes the comparison itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.arrays import timestamps_ns
from persona_risk.features.reuse import FIRST_TS

T = TypeVar("T")


def utc(as_of: pd.Timestamp | str | int) -> pd.Timestamp:
    """`as_of` as a UTC timestamp (a naive one is taken as UTC; an int as ns since the epoch)."""
    ts = pd.Timestamp(as_of, unit="ns") if isinstance(as_of, int | np.integer) \
        else pd.Timestamp(as_of)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def utc_now(now: pd.Timestamp | str | None = None) -> pd.Timestamp:
    """The time validation takes as now (nothing may happen after it): `now` as UTC (a naive
    one is taken as UTC), or the clock's when None."""
    return pd.Timestamp.now(tz="UTC") if now is None else utc(now)


@dataclass(frozen=True)
class AsOf:
    """The time T (UTC) features are computed at."""

    at: pd.Timestamp
    retention: pd.Timedelta | None = None  # events older than T minus this do not exist

    @classmethod
    def of(cls, as_of: pd.Timestamp | str | int, retention_days: float | None = None) -> AsOf:
        return cls(utc(as_of), None if retention_days is None
                   else pd.Timedelta(days=retention_days))

    @property
    def ns(self) -> int:
        """T in ns since the epoch."""
        return int(self.at.as_unit("ns").value)

    @property
    def since_ns(self) -> int | None:
        """Start of the retention window (ns since the epoch): events before it do not exist;
        None without a window."""
        return None if self.retention is None else self.ns - int(self.retention.value)

    def happened(self, ts_ns: T) -> T:
        """Which events with these times (int ns since the epoch: numpy, pandas or a Spark
        column) exist as of T: at or before it, and within the retention window."""
        since = self.since_ns
        return self.keeps(ts_ns) if since is None else (ts_ns <= self.ns) & (ts_ns >= since)

    def keeps(self, times_ns: T) -> T:
        """Which facts with these times (int ns since the epoch: numpy, pandas or a Spark
        column) exist as of T: those at or before it."""
        return times_ns <= self.ns

    def events(self, events: pd.DataFrame) -> pd.DataFrame:
        """The events that exist as of T (the frame itself when all do: no copy)."""
        seen = self.happened(timestamps_ns(events[s.TS]))
        return events if seen.all() else events[seen]

    def records(self, accounts: pd.DataFrame) -> pd.DataFrame:
        """The account records that exist as of T (`created_at` at or before it)."""
        known = (accounts[s.CREATED_AT] <= self.at).to_numpy()
        return accounts if known.all() else accounts[known]

    def pairs(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """The reuse pairs that exist as of T (`first_ts` at or before it)."""
        known = self.keeps(pairs[FIRST_TS].to_numpy(np.int64))
        return pairs if known.all() else pairs[known]

    def accounts(self, events: pd.DataFrame, records: pd.DataFrame) -> np.ndarray:
        """Sorted ids of the accounts that exist as of T, from the events and records that
        do (as returned by `events` and `records`)."""
        return np.sort(pd.unique(np.concatenate([
            records[s.ACCOUNT_ID].to_numpy(object),
            np.asarray(events[s.ACCOUNT_ID].unique(), dtype=object)])))
