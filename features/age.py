"""Account age: how young the account is at each event and at `as_of`, and how fast it started."""

from __future__ import annotations

import numpy as np

from persona_risk.features.arrays import EventArrays
from persona_risk.features.geo import NS_PER_DAY, NS_PER_HOUR
from persona_risk.features.segments import seg_count, seg_nunique_sorted

ACCOUNT_AGE_DAYS = "account_age_days"


def event_age(ev: EventArrays, created_ns: np.ndarray) -> dict[str, np.ndarray]:
    """Per event: age of the account in days at the event (NaN when creation is unknown).
    `created_ns` holds each account's creation time in ns since the epoch (NaN when unknown)."""
    return {ACCOUNT_AGE_DAYS: (ev.ts_ns - created_ns[ev.seg]) / NS_PER_DAY}


def account_age(ev: EventArrays, created_ns: np.ndarray, as_of_ns: int) -> dict[str, np.ndarray]:
    """Per account: age in days at `as_of`, hours from creation to the first event, and events
    per active day (UTC days with at least one event); NaN where unknown. A first event before
    the record's creation (a record written later, as back-filled HR records are) has no
    delay to measure: NaN, not a negative delay no training world shows."""
    starts = ev.starts
    n_events = seg_count(np.ones(len(ev.ts_ns), bool), starts)
    has = n_events > 0
    first_ts = np.full(len(has), np.nan)
    first_ts[has] = ev.ts_ns[starts[:-1][has]]
    active_days = seg_nunique_sorted(ev.ts_ns // NS_PER_DAY, starts)  # sorted by time
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "account_age_days": (as_of_ns - created_ns) / NS_PER_DAY,
            "first_signin_delay_h": np.where(first_ts >= created_ns,
                                             (first_ts - created_ns) / NS_PER_HOUR, np.nan),
            "events_per_active_day": np.where(has, n_events / active_days, np.nan),
            "events_total": n_events,
        }
