"""Events as sorted numpy arrays, one contiguous segment per account: the input of every signal."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features import schema as s
from features.geo import ip_prefix
from features.segments import segment_starts


@dataclass
class EventArrays:
    """Events sorted by account, time and event id.

    seg: account number of each event (0..n_accounts-1), `starts` its segment boundaries;
    ts_ns: nanoseconds since the epoch, UTC; lat/lon in degrees (NaN when unknown);
    *_code: factorized keys (-1 when missing); zones as IANA names (None when missing).
    """

    account_ids: np.ndarray
    seg: np.ndarray
    starts: np.ndarray
    ts_ns: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    country: np.ndarray
    ip_code: np.ndarray
    prefix_code: np.ndarray
    device_code: np.ndarray
    device_tz: np.ndarray
    success: np.ndarray
    interactive: np.ndarray
    anonymizer: np.ndarray
    frame: pd.DataFrame

    @property
    def n_accounts(self) -> int:
        return len(self.account_ids)


def timestamps_ns(series: pd.Series) -> np.ndarray:
    """UTC timestamps as int64 nanoseconds since the epoch (NaT as the minimum int64)."""
    return pd.DatetimeIndex(series).as_unit("ns").asi8


def sort_events(events: pd.DataFrame, account_ids: np.ndarray) -> pd.DataFrame:
    """Events ordered by `account_ids` order, then time, then event id; unknown accounts dropped."""
    seg = pd.Index(account_ids).get_indexer(events[s.ACCOUNT_ID])
    ts = timestamps_ns(events[s.TS])
    order = np.lexsort((ts, seg))
    seg_o, ts_o = seg[order], ts[order]
    tied = np.zeros(len(order), bool)
    if len(order) > 1:
        same = (seg_o[1:] == seg_o[:-1]) & (ts_o[1:] == ts_o[:-1])
        tied[1:] |= same
        tied[:-1] |= same
    if tied.any():  # ties in (account, time) are broken by event id, whatever the input order
        ids = events[s.EVENT_ID].to_numpy()[order]
        rank = np.zeros(len(order), np.int64)
        rank[tied] = pd.Series(ids[tied]).rank(method="first").to_numpy().astype(np.int64)
        order = order[np.lexsort((rank, ts_o, seg_o))]
    order = order[seg[order] >= 0]
    return events.iloc[order].reset_index(drop=True)


def _codes(series: pd.Series) -> np.ndarray:
    return pd.factorize(series)[0].astype(np.int64)


def to_arrays(events: pd.DataFrame, account_ids: np.ndarray) -> EventArrays:
    """Sort canonical events and lay them out as arrays for the signal functions."""
    ev = sort_events(events, account_ids)
    seg = pd.Index(account_ids).get_indexer(ev[s.ACCOUNT_ID]).astype(np.int64)
    ip = ev[s.IP]
    return EventArrays(
        account_ids=np.asarray(account_ids), seg=seg,
        starts=segment_starts(seg, len(account_ids)),
        ts_ns=timestamps_ns(ev[s.TS]),
        lat=ev[s.LAT].to_numpy(float), lon=ev[s.LON].to_numpy(float),
        country=ev[s.COUNTRY].to_numpy(object),
        ip_code=_codes(ip), prefix_code=_codes(ip_prefix(ip)),
        device_code=_codes(ev[s.DEVICE_ID]),
        device_tz=ev[s.DEVICE_TZ].to_numpy(object),
        success=ev[s.SUCCESS].to_numpy(bool), interactive=ev[s.INTERACTIVE].to_numpy(bool),
        anonymizer=ev[s.ANONYMIZER].to_numpy(bool), frame=ev,
    )
