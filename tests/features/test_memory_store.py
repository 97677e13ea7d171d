"""The online state in memory: plain-data round trip, retries, batches, canonical rows (that it
gives the batch pipeline's features over any stream is tests/test_conformance.py, for every
store)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persona_risk.features import schema as s
from persona_risk.features.memory_store import OnlineFeatureState
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.state_schema import CURRENT, StateLayout, StateVersionError
from persona_risk.features.stored_rows import (
    EVENT_NAMES,
    canonical_rows,
    clean_records,
    frame_to_records,
)
from persona_risk.features.validate import validate_events
from tests.streams import NOW, START, streams


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
@given(streams(), st.lists(st.integers(0, 30), max_size=4))
def test_batches_added_together_equal_batches_added_one_after_another(stream, broken):
    accounts, events, chunks = stream["accounts"], stream["events"], stream["chunks"]
    events = events.copy()
    for i in broken:  # impossible coordinates: quarantined, row numbers per batch
        events.loc[i % len(events), s.LAT] = 999.0
    batches = _chunked(events, chunks)
    one_by_one, together = OnlineFeatureState(), OnlineFeatureState()
    for state in (one_by_one, together):
        for record in accounts.to_dict("records"):
            state.upsert_account(record)
    expected = [one_by_one.add_events(batch, now=NOW) for batch in batches]
    got = together.add_event_batches(pd.concat(batches), [len(b) for b in batches], now=NOW)

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


OUT_OF_RANGE = [datetime(1, 1, 1), datetime(1677, 9, 21), datetime(1969, 12, 31, 23, 59),
                datetime(2263, 1, 1), datetime(9999, 12, 31)]


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
            s.TS: draw(st.sampled_from(OUT_OF_RANGE) | st.integers(-60, 60 * 24 * 20).map(
                lambda m: (START + pd.Timedelta(minutes=m)).to_pydatetime())).replace(
                    tzinfo=draw(st.sampled_from([None, START.tzinfo]))),
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
    now = NOW
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
    rows, quarantine = clean_records([event], START)
    assert quarantine.empty
    got = state.add_rows(rows * 2, [1, 1])
    expected = again.add_event_batches(pd.DataFrame([event, event]), [1, 1], now=START)
    assert got == [t for t, _ in expected] == [["a"], ["a"]]
    assert state.to_dict() == again.to_dict()


def _saved_state() -> dict:
    import json

    state = OnlineFeatureState()
    state.upsert_account({s.ACCOUNT_ID: "a", s.CREATED_AT: "2026-01-01T00:00:00Z"})
    state.add_events(pd.DataFrame([{s.EVENT_ID: "x1", s.ACCOUNT_ID: "a", s.TS: START,
                                    s.USER_AGENT: "ua", s.DEVICE_ID: "d"}]), now=START)
    return json.loads(json.dumps(state.to_dict()))


def test_a_state_of_this_layout_is_read_as_it_is():
    data = _saved_state()
    assert OnlineFeatureState.from_dict(data).to_dict() == data


def test_an_older_state_without_an_optional_column_is_migrated():
    data = _saved_state()
    old = StateLayout(0, tuple(c for c in CURRENT.events if c != s.USER_AGENT), CURRENT.accounts)
    data["layout"] = old.to_json()
    for columns in data["events"].values():
        del columns[s.USER_AGENT]
    state = OnlineFeatureState.from_dict(data)
    assert state.history("a")[s.USER_AGENT] == [None]
    assert state.features("a").features["events_total"].iloc[0] == 1


def test_a_newer_or_unversioned_state_is_refused_with_both_versions():
    data = _saved_state()
    data["layout"] = StateLayout(CURRENT.version + 1, CURRENT.events, CURRENT.accounts).to_json()
    with pytest.raises(StateVersionError, match=f"version {CURRENT.version + 1}.*expects "
                                                f"version {CURRENT.version}.*replay"):
        OnlineFeatureState.from_dict(data)
    del data["layout"]
    with pytest.raises(StateVersionError, match="without a schema version"):
        OnlineFeatureState.from_dict(data)
