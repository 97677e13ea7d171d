"""Zone offsets at instants, around every DST change, against pandas row by row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.geo import utc_offset_hours

ZONES = np.array(["America/New_York", "Asia/Kolkata", "America/St_Johns", "Australia/Lord_Howe",
                  "Asia/Kathmandu", None, "Europe/London", "Pacific/Chatham"], dtype=object)


def _row_by_row(codes, ts_ns):
    out = np.full(len(codes), np.nan)
    for code, zone in enumerate(ZONES):
        rows = codes == code
        if zone is None or not rows.any():
            continue
        utc = pd.DatetimeIndex(ts_ns[rows].astype("datetime64[ns]"), tz="UTC")
        out[rows] = (utc.tz_convert(zone).tz_localize(None).asi8 - ts_ns[rows]) / 3.6e12
    return out


def test_offsets_match_pandas_at_every_instant_around_transitions():
    hours = pd.date_range("2023-01-01", "2025-12-31", freq="h", tz="UTC")
    near = []
    for zone in ZONES[ZONES != None]:  # noqa: E711 (elementwise)
        offset = hours.tz_convert(zone).tz_localize(None).asi8 - hours.asi8
        for change in np.flatnonzero(np.diff(offset)):
            near.append(hours.asi8[change] + np.arange(-10, 3_600 * 10**9 + 10, 7 * 10**9 + 3))
    rng = np.random.default_rng(0)
    ts_ns = np.concatenate([*near, rng.integers(hours.asi8[0], hours.asi8[-1], 5_000)])
    codes = rng.integers(-1, len(ZONES), len(ts_ns))
    expected = _row_by_row(codes, ts_ns)
    assert np.array_equal(utc_offset_hours(codes, ZONES, ts_ns), expected, equal_nan=True)
    assert np.isnan(expected[codes == -1]).all()
