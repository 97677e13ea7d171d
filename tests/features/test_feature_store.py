"""What every online store shares (`features.feature_store.FeatureStore`): storing events once,
and what a request hears about an event id that is stored already."""

from __future__ import annotations

import pandas as pd
import pytest

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.features.memory_store import OnlineFeatureState
from persona_risk.features.validate import DUPLICATE_EVENT
from persona_risk.serving.redis_store import RedisFeatureStore
from persona_risk.serving.sqlite_store import SqliteFeatureStore
from tests.serving.test_redis_store import RedisServer

NOW = pd.Timestamp("2026-03-01", tz="UTC")
START = pd.Timestamp("2026-02-01T03:00:00", tz="UTC")


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "memory":
        yield OnlineFeatureState()
    elif request.param == "sqlite":
        yield SqliteFeatureStore(tmp_path / "state.sqlite")
    else:
        server = RedisServer(tmp_path).start()
        yield RedisFeatureStore(server.url)
        server.kill()


def event(event_id: str, account_id: str, **more) -> dict:
    return {s.EVENT_ID: event_id, s.ACCOUNT_ID: account_id, s.TS: START} | more


def test_an_id_stored_for_another_account_is_refused_by_name_and_the_first_copy_kept(store):
    store.add_events(pd.DataFrame([event("e1", "a", ip="203.0.113.7")]), now=NOW)
    touched, quarantine = store.add_events(pd.DataFrame([
        event("e2", "c"), event("e1", "b")]), now=NOW)
    assert touched == ["c"]
    assert quarantine[[s.ROW, s.REASON]].values.tolist() == [[1, DUPLICATE_EVENT]]
    assert quarantine[s.ACCOUNT_ID].tolist() == ["b"]  # the input, as text, beside it
    assert store.history("b")[s.EVENT_ID].tolist() == []
    assert store.history("a")[s.EVENT_ID].tolist() == ["e1"]


def test_a_retried_event_of_the_account_is_silent_and_its_account_scored_again(store):
    first = store.add_events(pd.DataFrame([event("e1", "a")]), now=NOW)
    again = store.add_events(pd.DataFrame([event("e1", "a", ip="198.51.100.1")]), now=NOW)
    assert first[0] == again[0] == ["a"] and again[1].empty
    assert store.history("a")[s.IP].tolist() == [None]  # the first copy stays


def test_requests_stored_together_hear_of_their_own_refused_rows_only(store):
    store.add_events(pd.DataFrame([event("e1", "a")]), now=NOW)
    rows = [[event("e1", "b")], [event("e3", "c"), event("e1", "a")]]
    got = store.add_event_batches(pd.DataFrame([e for batch in rows for e in batch]),
                                  [len(batch) for batch in rows], now=NOW)
    assert [touched for touched, _ in got] == [[], ["a", "c"]]
    assert got[0][1][[s.ROW, s.REASON]].values.tolist() == [[0, DUPLICATE_EVENT]]
    assert got[1][1].empty


def test_an_event_past_the_retention_window_sent_twice_together_is_refused_as_alone(tmp_path):
    """A review: the second copy was scored when the two requests were coalesced, refused when
    they came one after the other."""
    cfg = FeatureConfig(retention_days=1)
    one_by_one, together = OnlineFeatureState(cfg), OnlineFeatureState(cfg)
    for state in (one_by_one, together):
        state.add_events(pd.DataFrame([event("new", "a", ts=START + pd.Timedelta(days=5))]),
                         now=NOW)
    old = pd.DataFrame([event("old", "a")])
    alone = [one_by_one.add_events(old, now=NOW), one_by_one.add_events(old, now=NOW)]
    both = together.add_event_batches(pd.concat([old, old]), [1, 1], now=NOW)
    assert [t for t, _ in both] == [t for t, _ in alone] == [["a"], []]
    assert [len(q) for _, q in both] == [len(q) for _, q in alone] == [0, 1]
