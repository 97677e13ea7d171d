"""Events as sorted numpy arrays, one contiguous segment per account: the input of every signal.

Text columns become integer codes into their distinct values once, so that sorting and every
signal work on numbers; only the distinct values are ever handled as Python strings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from persona_risk.features import schema as s
from persona_risk.features.geo import ip_prefix, prefix_of
from persona_risk.features.parallel import map_steps
from persona_risk.features.segments import order_by_segment, segment_starts
from persona_risk.features.text import factorize_values

KEY_COLUMNS = (s.IP, s.DEVICE_ID, s.DEVICE_TZ, s.COUNTRY)
FEW_IPS = 1_000  # distinct IPs up to which prefixes come from the cache
FEW_TIES = 1_000  # tied events up to which ids are ordered by numpy, not by a pandas call


@dataclass
class Keys:
    """A factorized text column: `codes` (int32, half the memory of int64 on ten million rows)
    into `values` (-1 when missing). Widen the codes before multiplying them."""

    codes: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, series: pd.Series) -> Keys:
        codes, uniques = pd.factorize(series)
        return cls(codes.astype(np.int32), np.asarray(uniques, dtype=object))

    @classmethod
    def of_values(cls, values) -> Keys:
        """`of` a sequence of text values (None, NaN or NA missing), without a pandas call
        (`text.factorize_values`)."""
        return cls(*factorize_values(values))

    def used(self) -> np.ndarray:
        """The values some row has (missing ones aside), in code order."""
        return self.values[np.unique(self.codes[self.codes >= 0])]

    def strings(self, rows: np.ndarray) -> np.ndarray:
        """The values of `rows` (None where `rows` is -1 or the value is missing)."""
        codes = np.where(rows >= 0, self.codes[rows], -1)
        return np.append(self.values, None)[codes]


@dataclass
class EventArrays:
    """Events sorted by account, time and event id.

    seg: account number of each event (0..n_accounts-1), `starts` its segment boundaries;
    ts_ns: nanoseconds since the epoch, UTC; lat/lon in degrees, asn (NaN when unknown);
    keys: factorized text columns (ip, prefix, device, device_tz, country); row: the input row
    of each event, into `input_event_ids` (the ids as they came: unique, so factorizing them would
    buy nothing, and only the event-level table and the Spark engine's join need them sorted).
    """

    account_ids: np.ndarray
    seg: np.ndarray
    starts: np.ndarray
    ts_ns: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    asn: np.ndarray
    success: np.ndarray
    interactive: np.ndarray
    anonymizer: np.ndarray
    ip: Keys
    prefix: Keys
    device: Keys
    device_tz: Keys
    country: Keys
    row: np.ndarray
    input_event_ids: ExtensionArray

    @property
    def n_accounts(self) -> int:
        return len(self.account_ids)

    def event_ids(self) -> ExtensionArray:
        """The event id of each event, in sorted order."""
        return self.input_event_ids.take(self.row)


def shows_person(ev: EventArrays) -> np.ndarray:
    """Events that show where and when the person is: interactive sign-ins. A non-interactive
    one (a token refresh, a service's sign-in) comes from wherever the app or the service runs,
    often a cloud address shared by a whole tenant, at any hour of the day."""
    return ev.interactive


def timestamps_ns(series: pd.Series) -> np.ndarray:
    """UTC timestamps as int64 nanoseconds since the epoch (NaT as the minimum int64)."""
    return pd.DatetimeIndex(series).as_unit("ns").asi8


def prefix_keys(ip: Keys) -> Keys:
    """The /24 (IPv4) or /64 (IPv6) prefix of each IP, factorized; only distinct IPs are read
    (a few, as online, one at a time through a cache)."""
    if len(ip.values) <= FEW_IPS:
        codes, uniques = factorize_values([prefix_of(v) for v in ip.values])
    else:
        codes, uniques = pd.factorize(ip_prefix(pd.Series(ip.values, dtype=object)))
    return Keys(np.append(codes, -1).astype(np.int32)[ip.codes], np.asarray(uniques, dtype=object))


def account_numbers(events: pd.DataFrame, account_ids: np.ndarray) -> np.ndarray:
    """Position of each event's account in `account_ids` (-1 when absent)."""
    keys = Keys.of(events[s.ACCOUNT_ID])
    return np.append(pd.Index(account_ids).get_indexer(keys.values), -1)[keys.codes]


def event_order(seg: np.ndarray, ts_ns: np.ndarray, event_ids: ExtensionArray,
                n_accounts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row order by account number, time, then event id (ties only), whatever the input order,
    and the account numbers and times in that order; rows whose account number is -1 are left
    out. Sorts by time (about linear on logs that come in time order), then groups by account
    with a stable counting sort; only the rows tied on account and time have their ids compared.
    """
    by_time = np.argsort(ts_ns, kind="stable")
    order = by_time[order_by_segment(seg[by_time], n_accounts)]
    seg_o, ts_o = seg[order], ts_ns[order]
    same = (seg_o[1:] == seg_o[:-1]) & (ts_o[1:] == ts_o[:-1])
    if same.any():
        tied = np.zeros(len(order), bool)
        tied[1:] |= same
        tied[:-1] |= same
        at = np.flatnonzero(tied)
        group = np.cumsum(np.concatenate([[True], (np.diff(at) > 1) | ~same[at[:-1]]]))
        tied_ids = event_ids.take(order[at])
        ids = np.unique(np.asarray(tied_ids, dtype=object), return_inverse=True)[1] \
            if len(at) <= FEW_TIES else pd.Series(tied_ids).rank(method="first").to_numpy()
        order[at] = order[at][np.lexsort((ids, group))]
    return order, seg_o, ts_o


def to_arrays(events: pd.DataFrame, account_ids: np.ndarray) -> EventArrays:
    """Sort canonical events and lay them out as arrays; events of other accounts are dropped."""
    return lay_out(account_numbers(events, account_ids), timestamps_ns(events[s.TS]),
                   events[s.EVENT_ID].array, {col: Keys.of(events[col]) for col in KEY_COLUMNS},
                   {col: events[col].to_numpy(float, na_value=np.nan)
                    for col in (s.LAT, s.LON, s.ASN)},
                   {col: events[col].to_numpy(bool) for col in (s.SUCCESS, s.INTERACTIVE,
                                                                s.ANONYMIZER)}, account_ids)


def lay_out(seg: np.ndarray, ts: np.ndarray, event_id: ExtensionArray | np.ndarray,
            keys: dict[str, Keys], floats: dict[str, np.ndarray], flags: dict[str, np.ndarray],
            account_ids: np.ndarray) -> EventArrays:
    """`EventArrays` from columns in input order: account numbers (-1: dropped), times (ns),
    event ids, the factorized `KEY_COLUMNS`, lat/lon/asn (float) and the three flags."""
    order, seg, ts = event_order(seg, ts, event_id, len(account_ids))
    columns = {**{col: keys[col].codes for col in KEY_COLUMNS}, **floats, **flags}
    ordered = dict(zip(columns, map_steps(lambda a: a[order], columns.values(), len(order)),
                       strict=True))
    key = {col: Keys(ordered[col], keys[col].values) for col in KEY_COLUMNS}
    return EventArrays(
        account_ids=np.asarray(account_ids), seg=seg,
        starts=segment_starts(seg, len(account_ids)), ts_ns=ts,
        lat=ordered[s.LAT], lon=ordered[s.LON], asn=ordered[s.ASN], success=ordered[s.SUCCESS],
        interactive=ordered[s.INTERACTIVE], anonymizer=ordered[s.ANONYMIZER],
        ip=key[s.IP], prefix=prefix_keys(key[s.IP]), device=key[s.DEVICE_ID],
        device_tz=key[s.DEVICE_TZ], country=key[s.COUNTRY], row=order, input_event_ids=event_id,
    )
