"""The online state gives the batch pipeline's features over the same history."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persona_risk.features import schema as s
from persona_risk.features.online import (
    EVENT_NAMES,
    OnlineFeatureState,
    canonical_rows,
    frame_to_records,
)
from persona_risk.features.pipeline import compute_features
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.validate import validate_accounts, validate_events

START = pd.Timestamp("2026-03-01", tz="UTC")
PLACES = [(40.71, -74.01, "US"), (42.36, -71.06, "US"), (31.23, 121.47, "CN"),
          (55.75, 37.62, "RU"), (51.51, -0.13, "GB"), (None, None, None)]
ZONES = ["America/New_York", "Asia/Shanghai", "Europe/London", None]


@st.composite
def event_streams(draw):
    n_accounts = draw(st.integers(1, 4))
    accounts = pd.DataFrame({
        s.ACCOUNT_ID: [f"a{i}" for i in range(n_accounts)],
        s.CREATED_AT: [START - pd.Timedelta(days=draw(st.integers(0, 40)))
                       for _ in range(n_accounts)],
        s.CLAIMED_TIMEZONE: [draw(st.sampled_from(ZONES)) for _ in range(n_accounts)],
        s.CLAIMED_LAT: 40.71, s.CLAIMED_LON: -74.01,
        s.PAYOUT_ID: [draw(st.sampled_from(["p1", "p2", None])) for _ in range(n_accounts)],
        s.PHONE_ID: [draw(st.sampled_from(["t1", None])) for _ in range(n_accounts)],
    })
    rows = []
    for i in range(draw(st.integers(1, 25))):
        lat, lon, country = draw(st.sampled_from(PLACES))
        rows.append({
            s.EVENT_ID: f"e{draw(st.integers(0, 30))}" if draw(st.booleans()) else f"u{i}",
            s.ACCOUNT_ID: f"a{draw(st.integers(0, n_accounts - 1))}",
            s.TS: START + pd.Timedelta(minutes=draw(st.integers(0, 60 * 24 * 3))),
            s.IP: draw(st.sampled_from(["1.2.3.4", "1.2.3.9", "5.6.7.8", "2001:db8::1", None])),
            s.LAT: lat, s.LON: lon, s.COUNTRY: country,
            s.DEVICE_ID: draw(st.sampled_from(["d1", "d2", "d3", None])),
            s.DEVICE_TZ: draw(st.sampled_from(ZONES)),
            s.SUCCESS: draw(st.booleans()), s.INTERACTIVE: draw(st.booleans()),
            s.ANONYMIZER: draw(st.booleans()),
        })
    events = pd.DataFrame(rows)
    chunks = draw(st.lists(st.integers(1, 5), min_size=1, max_size=10))
    return accounts, events, chunks


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(event_streams())
def test_online_equals_batch(stream):
    accounts, events, chunks = stream
    state = OnlineFeatureState()
    for record in accounts.to_dict("records"):
        state.upsert_account(record)
    pos, k = 0, 0
    while pos < len(events):  # arrive in chunks, out of order and with duplicates
        size = chunks[k % len(chunks)]
        state.add_events(events.iloc[pos:pos + size], now=START + pd.Timedelta(days=10))
        pos, k = pos + size, k + 1

    clean, _ = validate_events(events, now=START + pd.Timedelta(days=10))
    batch = compute_features(clean, validate_accounts(accounts)).features.set_index(s.ACCOUNT_ID)
    as_of = batch["as_of"].iloc[0]
    for account_id in clean[s.ACCOUNT_ID].unique():
        online = state.features(account_id, as_of).features.set_index(s.ACCOUNT_ID)
        a = online.loc[account_id, FEATURE_NAMES].to_numpy(float)
        b = batch.loc[account_id, FEATURE_NAMES].to_numpy(float)
        differ = ~np.isclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True)
        assert not differ.any(), {n: (x, y) for n, x, y in zip(
            np.array(FEATURE_NAMES)[differ], a[differ], b[differ], strict=True)}


def test_state_round_trips_through_plain_data(small_world):
    import json

    world, accounts, events = small_world
    state = OnlineFeatureState()
    for record in accounts.head(20).to_dict("records"):
        state.upsert_account(record)
    state.add_events(events[events[s.ACCOUNT_ID].isin(accounts[s.ACCOUNT_ID].head(20))])
    again = OnlineFeatureState.from_dict(json.loads(json.dumps(state.to_dict())))
    account = accounts[s.ACCOUNT_ID].iloc[0]
    a = state.features(account).features[FEATURE_NAMES].to_numpy(float)
    b = again.features(account).features[FEATURE_NAMES].to_numpy(float)
    np.testing.assert_array_equal(a, b)


def test_retried_event_is_not_counted_twice():
    state = OnlineFeatureState()
    event = pd.DataFrame([{s.EVENT_ID: "x1", s.ACCOUNT_ID: "a", s.TS: START,
                           s.LAT: 40.7, s.LON: -74.0}])
    state.add_events(event, now=START)
    state.add_events(event, now=START)
    assert state.features("a").features["events_total"].iloc[0] == 1


def _chunked(events: pd.DataFrame, sizes: list[int]) -> list[pd.DataFrame]:
    bounds = np.minimum(np.cumsum([0, *sizes]), len(events))
    parts = [events.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    return [*parts, events.iloc[bounds[-1]:]] if bounds[-1] < len(events) else parts


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(event_streams(), st.lists(st.integers(0, 30), max_size=4))
def test_batches_added_together_equal_batches_added_one_after_another(stream, broken):
    accounts, events, chunks = stream
    events = events.copy()
    for i in broken:  # impossible coordinates: quarantined, row numbers per batch
        events.loc[i % len(events), s.LAT] = 999.0
    batches = _chunked(events, chunks)
    one_by_one, together = OnlineFeatureState(), OnlineFeatureState()
    for state in (one_by_one, together):
        for record in accounts.to_dict("records"):
            state.upsert_account(record)
    now = START + pd.Timedelta(days=10)
    expected = [one_by_one.add_events(batch, now=now) for batch in batches]
    got = together.add_event_batches(pd.concat(batches), [len(b) for b in batches], now=now)

    assert [touched for touched, _ in got] == [touched for touched, _ in expected]
    for (_, q_got), (_, q_expected) in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(q_got[[s.ROW, s.REASON]], q_expected[[s.ROW, s.REASON]])
    assert together.to_dict() == one_by_one.to_dict()
    if one_by_one.watermark() is None:
        return
    ids = sorted(one_by_one.events)
    joint = together.features_of(ids).features.set_index(s.ACCOUNT_ID)
    for account_id in ids:
        alone = one_by_one.features(account_id).features.set_index(s.ACCOUNT_ID)
        np.testing.assert_allclose(joint.loc[[account_id], FEATURE_NAMES].to_numpy(float),
                                   alone[FEATURE_NAMES].to_numpy(float), rtol=0, atol=1e-9)


@st.composite
def request_events(draw):
    """Event dicts as the request model dumps them, some not canonical (blanks around text,
    lower-case countries, unknown zones, half coordinates, no id, repeated ids, future)."""
    texts = st.sampled_from([None, "x", " x", "", "1.2.3.4", "d1"])
    events = []
    for i in range(draw(st.integers(1, 6))):
        lat = draw(st.sampled_from([None, 40.7, -33.9, 91.0, float("nan")]))
        events.append({
            s.EVENT_ID: draw(st.sampled_from([f"e{i}", "e0", None, " e9"])),
            s.ACCOUNT_ID: draw(st.sampled_from(["a", "b", " a", ""])),
            s.TS: (START + pd.Timedelta(minutes=draw(st.integers(-60, 60 * 24 * 20)))
                   ).to_pydatetime().replace(tzinfo=draw(st.sampled_from([None, START.tzinfo]))),
            s.IP: draw(texts), s.DEVICE_ID: draw(texts), s.USER_AGENT: draw(texts),
            s.LAT: lat, s.LON: draw(st.sampled_from([None, -74.0, 121.5])) if lat is not None
            else draw(st.sampled_from([None, None, 3.0])),
            s.COUNTRY: draw(st.sampled_from([None, "US", "us", "U1"])),
            s.DEVICE_TZ: draw(st.sampled_from([None, "Asia/Shanghai", "Mars/Base"])),
            s.ASN: draw(st.sampled_from([None, 0, 13335])),
            **{col: draw(st.sampled_from([None, True, False])) for col in s.BOOL_DEFAULTS},
        })
    return events


@settings(max_examples=200, deadline=None, derandomize=True)
@given(request_events())
def test_canonical_rows_are_what_the_batch_validator_keeps(events):
    now = START + pd.Timedelta(days=10)
    rows = canonical_rows(events, now)
    clean, quarantine = validate_events(pd.DataFrame(events), now=now)
    if rows is None:  # left to the batch validator, which decides row by row
        return
    assert quarantine.empty
    assert rows == frame_to_records(clean, EVENT_NAMES)


def test_canonical_events_are_stored_without_the_batch_validator():
    state, again = OnlineFeatureState(), OnlineFeatureState()
    event = {s.EVENT_ID: "x1", s.ACCOUNT_ID: "a", s.TS: START.to_pydatetime(), s.LAT: 40.7,
             s.LON: -74.0, s.DEVICE_ID: "d"}
    assert canonical_rows([event], START) is not None
    got = state.add_event_records([event, event], [1, 1], now=START)
    expected = again.add_event_batches(pd.DataFrame([event, event]), [1, 1], now=START)
    assert [t for t, _ in got] == [t for t, _ in expected] == [["a"], ["a"]]
    assert state.to_dict() == again.to_dict()
