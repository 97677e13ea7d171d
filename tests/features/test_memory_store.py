"""The online state in memory: plain-data round trip, retries, batches, saved layouts (that it
gives the batch pipeline's features over any stream is tests/test_conformance.py, for every
store; the row codec it stores is tests/features/test_stored_rows.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persona_risk.features import schema as s
from persona_risk.features.memory_store import OnlineFeatureState
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.state_schema import CURRENT, StateLayout, StateVersionError
from tests.histories import plain
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
    assert plain(state.history("a"))[s.USER_AGENT] == [None]
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


def test_a_replaced_payout_id_shares_no_more_and_the_index_survives_a_round_trip():
    state = OnlineFeatureState()
    for account, payout in (("a", "p1"), ("b", "p1"), ("c", None), ("a", "p2")):
        state.upsert_account({s.ACCOUNT_ID: account, s.CREATED_AT: START, s.PAYOUT_ID: payout})
    assert state.accounts_sharing({s.PAYOUT_ID: ["p1"]}) == ["b"]
    again = OnlineFeatureState.from_dict(state.to_dict())
    assert again.accounts_sharing({s.PAYOUT_ID: ["p1", "p2"]}) == ["a", "b"]


def test_a_history_read_before_an_event_arrives_is_read_anew_after_it():
    state = OnlineFeatureState()
    for i, event_id in enumerate(("x1", "x2")):
        state.add_events(pd.DataFrame([{s.EVENT_ID: event_id, s.ACCOUNT_ID: "a",
                                        s.TS: START + pd.Timedelta(hours=i)}]), now=NOW)
        assert state.history("a")[s.EVENT_ID].tolist() == ["x1", "x2"][:i + 1]


def test_a_history_read_before_compaction_is_read_anew_after_it():
    state = OnlineFeatureState()
    state.add_events(pd.DataFrame([{s.EVENT_ID: f"x{i}", s.ACCOUNT_ID: "a",
                                    s.TS: START + pd.Timedelta(days=i)} for i in range(3)]),
                     now=NOW)
    assert state.history("a")[s.EVENT_ID].tolist() == ["x0", "x1", "x2"]
    state.drop_before(int((START + pd.Timedelta(days=1)).value), ["a"])
    assert state.history("a")[s.EVENT_ID].tolist() == ["x1", "x2"]


def test_a_state_rebuilt_from_another_writes_into_its_own_lists():
    state = OnlineFeatureState()
    event = {s.EVENT_ID: "x1", s.ACCOUNT_ID: "a", s.TS: START}
    state.add_events(pd.DataFrame([event]), now=NOW)
    again = OnlineFeatureState.from_dict(state.to_dict())
    again.add_events(pd.DataFrame([{**event, s.EVENT_ID: "x2"}]), now=NOW)
    assert state.history("a")[s.EVENT_ID].tolist() == ["x1"]
    assert again.history("a")[s.EVENT_ID].tolist() == ["x1", "x2"]


def test_an_account_asked_twice_counts_once():
    state = OnlineFeatureState()
    for account in ("a", "b"):
        state.upsert_account({s.ACCOUNT_ID: account, s.CREATED_AT: START, s.PAYOUT_ID: "p1"})
    state.add_events(pd.DataFrame([{s.EVENT_ID: "x1", s.ACCOUNT_ID: "a", s.TS: START}]), now=NOW)
    once = state.features_of(["a"]).features
    twice = state.features_of(["a", "a"]).features
    assert once["payout_accounts"].tolist() == twice["payout_accounts"].tolist() == [2.0]
