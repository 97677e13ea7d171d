"""Zone offsets at instants, around every DST change, against pandas row by row, whether read
from the table of many rows or zone by zone for a few."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from persona_risk.features import geo
from persona_risk.features.geo import utc_offset_hours

ZONES = np.array(["America/New_York", "Asia/Kolkata", "America/St_Johns", "Australia/Lord_Howe",
                  "Asia/Kathmandu", None, "Europe/London", "Pacific/Chatham"], dtype=object)


def _row_by_row(codes, ts_ns, zones=ZONES):
    out = np.full(len(codes), np.nan)
    for code, zone in enumerate(zones):
        rows = codes == code
        if zone is None or not rows.any():
            continue
        utc = pd.DatetimeIndex(ts_ns[rows].astype("datetime64[ns]"), tz="UTC")
        out[rows] = (utc.tz_convert(zone).tz_localize(None).asi8 - ts_ns[rows]) / 3.6e12
    return out


@pytest.mark.parametrize("few_rows", [0, 10**9])
def test_offsets_match_pandas_at_every_instant_around_transitions(monkeypatch, few_rows):
    monkeypatch.setattr(geo, "FEW_ROWS", few_rows)
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


@pytest.mark.parametrize("few_rows", [0, 10**9])
def test_offsets_off_the_quarter_hour_and_over_spans_too_long_for_the_table(monkeypatch,
                                                                            few_rows):
    monkeypatch.setattr(geo, "FEW_ROWS", few_rows)
    zones = np.array(["Europe/Amsterdam", "America/New_York"], dtype=object)
    # Amsterdam went from +01:19:32 to +01:20 on 1937-07-01 at 00:00 local, off any quarter
    # hour of UTC
    day = pd.Timestamp("1937-06-30 12:00", tz="UTC").value + np.arange(0, 86_400, 3) * 10**9
    rng = np.random.default_rng(1)
    ts_ns = np.concatenate([day, rng.integers(pd.Timestamp("1900-01-01").value,
                                              pd.Timestamp("2030-01-01").value, 2_000)])
    quarter = (day // geo.OFFSET_STEP_NS) * geo.OFFSET_STEP_NS
    assert (geo._offsets_at("Europe/Amsterdam", day) != geo._offsets_at(
        "Europe/Amsterdam", quarter)).any()  # the data holds such a quarter hour
    codes = rng.integers(0, 2, len(ts_ns))
    expected = _row_by_row(codes, ts_ns, zones)
    assert len(np.unique(expected[codes == 0])) > 2
    assert np.array_equal(utc_offset_hours(codes, zones, ts_ns), expected, equal_nan=True)
    monkeypatch.setattr(geo, "DENSE_CELLS", 0)
    assert np.array_equal(utc_offset_hours(codes, zones, ts_ns), expected, equal_nan=True)


def test_offsets_are_nan_when_no_row_has_a_named_zone():
    ts_ns = np.array([0, 10**15], dtype=np.int64)
    assert np.isnan(utc_offset_hours(np.array([-1, 5]), ZONES, ts_ns)).all()
    assert np.isnan(utc_offset_hours(np.array([], np.int64), ZONES, ts_ns[:0])).all()


@pytest.mark.parametrize("few_rows", [0, 10**9])
def test_offsets_cached_per_zone_span_equal_the_uncached_ones(monkeypatch, few_rows):
    monkeypatch.setattr(geo, "FEW_ROWS", few_rows)
    rng = np.random.default_rng(2)
    zones = np.array(["Europe/Amsterdam", "America/New_York", "Asia/Kolkata"], dtype=object)
    around = pd.Timestamp("2025-03-30 01:00", tz="UTC").value  # Amsterdam's spring change
    ts_ns = around + rng.integers(-3_600, 3_600, 300) * 10**9
    codes = rng.integers(0, 3, len(ts_ns))
    expected = _row_by_row(codes, ts_ns, zones)
    geo._SPANS.clear()
    assert np.array_equal(utc_offset_hours(codes, zones, ts_ns), expected, equal_nan=True)
    assert set(geo._SPANS) == set(zones)  # filled, then read
    assert np.array_equal(utc_offset_hours(codes, zones, ts_ns), expected, equal_nan=True)
    later, earlier = ts_ns + 40 * 24 * 3_600 * 10**9, ts_ns - 200 * 24 * 3_600 * 10**9
    for moved in (later, earlier):  # the cached spans grow on either side
        assert np.array_equal(utc_offset_hours(codes, zones, moved),
                              _row_by_row(codes, moved, zones), equal_nan=True)
    first, span = geo._SPANS["Europe/Amsterdam"]
    assert first <= earlier.min() // geo.OFFSET_STEP_NS
    assert first + len(span) > later.max() // geo.OFFSET_STEP_NS
    monkeypatch.setattr(geo, "MAX_ZONE_QUARTERS", 0)  # too long to cache: looked up directly
    geo._SPANS.clear()
    assert np.array_equal(utc_offset_hours(codes, zones, ts_ns), expected, equal_nan=True)
    assert not geo._SPANS


def test_prefix_of_one_ip_is_ip_prefix():
    ips = ["198.51.100.7", "01.2.3.4", "2001:db8::1", "::ffff:1.2.3.4", "300.1.1.1", "x"]
    expected = geo.ip_prefix(pd.Series(ips, dtype=object))
    assert [geo.prefix_of(ip) for ip in ips] == [None if pd.isna(p) else p for p in expected]


def test_the_time_units_agree_with_pandas():
    assert geo.NS_PER_SECOND == pd.Timedelta(seconds=1).value
    assert geo.NS_PER_HOUR == pd.Timedelta(hours=1).value
    assert geo.NS_PER_DAY == pd.Timedelta(days=1).value
    assert geo.SECONDS_PER_HOUR * 24 == geo.SECONDS_PER_DAY == pd.Timedelta(days=1).total_seconds()
    assert geo.HOURS_PER_DAY == 24.0
