"""The SQLite feature store: look-ups over more values than one statement may bind; the stored
schema layout (same, older and additive, anything else); the retention window (in memory too).
"""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.features.memory_store import OnlineFeatureState
from persona_risk.features.reuse import DEVICE
from persona_risk.features.state_schema import CURRENT, StateLayout, StateVersionError
from persona_risk.features.stored_rows import EVENT_NAMES
from persona_risk.serving.sqlite_store import IN_BATCH, MERGE_PARTS, SqliteFeatureStore
from tests.histories import plain


def test_lookups_over_more_values_than_one_statement_binds(tmp_path):
    n = 2 * IN_BATCH + 7
    events = pd.DataFrame({
        s.EVENT_ID: [f"e{i}" for i in range(n)], s.ACCOUNT_ID: [f"a{i}" for i in range(n)],
        s.TS: pd.date_range("2026-02-01", periods=n, freq="min", tz="UTC"),
        s.DEVICE_ID: [f"d{i}" for i in range(n)]})
    store = SqliteFeatureStore(tmp_path / "state.sqlite")
    for i in range(n):
        store.upsert_account({s.ACCOUNT_ID: f"a{i}", s.CREATED_AT: "2026-01-01T00:00:00Z",
                              s.PAYOUT_ID: "shared"})
    store.add_events(events)
    accounts, ids = events[s.ACCOUNT_ID].tolist(), events[s.EVENT_ID].tolist()
    assert sorted(store.histories(accounts)[s.EVENT_ID]) == sorted(ids)
    assert sorted(store.account_rows(accounts)[s.ACCOUNT_ID]) == sorted(accounts)
    store.add_events(events)  # every id known: more of them than one query asks at a time
    assert len(store.histories(accounts)[s.EVENT_ID]) == n
    assert len(store.pairs_for(DEVICE, events[s.DEVICE_ID].tolist())) == n
    assert sorted(store.accounts_sharing({s.PAYOUT_ID: ["shared"]})) == sorted(accounts)


def _filled(path) -> SqliteFeatureStore:
    return _with_x1(SqliteFeatureStore(path))


def _with_x1(store):
    store.upsert_account({s.ACCOUNT_ID: "a", s.CREATED_AT: "2026-01-01T00:00:00Z"})
    store.add_events(pd.DataFrame([{s.EVENT_ID: "x1", s.ACCOUNT_ID: "a", s.USER_AGENT: "ua",
                                    s.TS: pd.Timestamp("2026-02-01", tz="UTC")}]))
    return store


def _set_layout(path, layout: StateLayout) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'layout'", (layout.to_json(),))


def test_a_state_of_this_layout_opens_as_it_is(tmp_path):
    before = _filled(tmp_path / "s.sqlite").features("a").features
    pd.testing.assert_frame_equal(SqliteFeatureStore(tmp_path / "s.sqlite").features("a").features,
                                  before)


def test_an_older_state_without_an_optional_column_is_migrated(tmp_path):
    path = tmp_path / "s.sqlite"
    _filled(path)
    with sqlite3.connect(path) as conn:
        for table in ("events", "history"):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {s.USER_AGENT}")
    _set_layout(path, StateLayout(0, tuple(c for c in CURRENT.events if c != s.USER_AGENT),
                                  CURRENT.accounts))
    store = SqliteFeatureStore(path)
    assert plain(store.history("a"))[s.USER_AGENT] == [None]
    assert store.features("a").features["events_total"].iloc[0] == 1
    with sqlite3.connect(path) as conn:
        stored = conn.execute("SELECT value FROM meta WHERE key = 'layout'").fetchone()[0]
    assert StateLayout.from_json(stored) == CURRENT


def test_a_state_written_before_the_history_table_gets_one_built_from_its_events(tmp_path):
    path = tmp_path / "s.sqlite"
    before = _filled(path)
    before.add_events(pd.DataFrame([{s.EVENT_ID: "x2", s.ACCOUNT_ID: "a", s.ASN: 64500,
                                     s.TS: pd.Timestamp("2026-02-02", tz="UTC")}]))
    history = plain(before.history("a"))
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE history")
    reopened = SqliteFeatureStore(path)
    assert plain(reopened.history("a")) == history
    assert history[s.EVENT_ID] == ["x1", "x2"] and history[s.ASN] == [None, 64500]
    assert history[s.SUCCESS] == [True, True]


def test_events_stored_one_at_a_time_are_read_back_whole_from_merged_parts(tmp_path):
    path = tmp_path / "s.sqlite"
    store = SqliteFeatureStore(path)
    n = 2 * MERGE_PARTS + 3
    for i in range(n):
        store.add_events(pd.DataFrame([{s.EVENT_ID: f"x{i}", s.ACCOUNT_ID: "a", s.ASN: i,
                                        s.TS: pd.Timestamp("2026-02-01", tz="UTC")
                                        + pd.Timedelta(minutes=i)}]))
    history = plain(store.history("a"))
    assert history[s.EVENT_ID] == [f"x{i}" for i in range(n)]
    assert history[s.ASN] == list(range(n))
    with sqlite3.connect(path) as conn:
        parts = conn.execute("SELECT count(*) FROM history").fetchone()[0]
    assert parts < MERGE_PARTS


def _stored_first(store) -> None:
    """An event whose id is stored already (by this process or another): `put` stores neither
    the event nor its pairs again (a copy on another device links the account to nothing)."""
    history = plain(store.history("a"))
    row = [history[name][0] for name in EVENT_NAMES]
    row[EVENT_NAMES.index(s.DEVICE_ID)] = "d9"
    assert store.put([row], [[(DEVICE, "d9", "a", history[s.TS][0])]]) == set()
    assert plain(store.history("a")) == history
    assert store.pairs_for(DEVICE, ["d9"]) == []


def test_an_event_another_process_stored_first_is_not_appended_twice(tmp_path):
    _stored_first(_filled(tmp_path / "s.sqlite"))
    _stored_first(_with_x1(OnlineFeatureState()))


def test_a_newer_or_unversioned_state_is_refused_with_both_versions(tmp_path):
    path = tmp_path / "s.sqlite"
    _filled(path)
    _set_layout(path, StateLayout(CURRENT.version + 1, CURRENT.events, CURRENT.accounts))
    with pytest.raises(StateVersionError, match=f"version {CURRENT.version + 1}.*expects "
                                                f"version {CURRENT.version}.*replay"):
        SqliteFeatureStore(path)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE meta")
    with pytest.raises(StateVersionError, match="without a schema version"):
        SqliteFeatureStore(path)


def _retention_story(store) -> None:
    """Account a signs in on d1 on 1 February, then on d2 three days later, with a window of one
    day: the first event and a's pair on d1 are dropped, its id stays known, features hold."""
    store.upsert_account({s.ACCOUNT_ID: "a", s.CREATED_AT: "2026-01-01T00:00:00Z"})
    store.add_events(pd.DataFrame([{s.EVENT_ID: "old", s.ACCOUNT_ID: "a", s.DEVICE_ID: "d1",
                                    s.IP: "1.2.3.4", s.TS: pd.Timestamp("2026-02-01", tz="UTC")}]))
    assert store.histories(["a"])[s.EVENT_ID].tolist() == ["old"]
    store.add_events(pd.DataFrame([{s.EVENT_ID: "new", s.ACCOUNT_ID: "a", s.DEVICE_ID: "d2",
                                    s.IP: "1.2.3.4", s.TS: pd.Timestamp("2026-02-04", tz="UTC")}]))
    assert store.histories(["a"])[s.EVENT_ID].tolist() == ["new"]
    assert store.pairs_for(DEVICE, ["d1"]) == []
    assert [p[2:] for p in store.pairs_for(DEVICE, ["d2"])] == [
        ("a", pd.Timestamp("2026-02-04", tz="UTC").value)]
    store.add_events(pd.DataFrame([{s.EVENT_ID: "old", s.ACCOUNT_ID: "a", s.DEVICE_ID: "d3",
                                    s.TS: pd.Timestamp("2026-02-04", tz="UTC")}]))
    assert store.histories(["a"])[s.EVENT_ID].tolist() == ["new"]  # a dropped id repeated
    assert store.features("a").features["devices_distinct"].tolist() == [1.0]


def test_the_store_drops_state_older_than_the_retention_window(tmp_path):
    _retention_story(SqliteFeatureStore(tmp_path / "state.sqlite",
                                        FeatureConfig(retention_days=1)))
    _retention_story(OnlineFeatureState(FeatureConfig(retention_days=1)))


def _compaction_race(store, other) -> None:
    """While `store` compacts account a, `other` (another process on the same state) stores an
    event of a on the device of a's dropped event: the device's pair of a stays, with the new
    event's time."""
    store.add_events(pd.DataFrame([{s.EVENT_ID: "old", s.ACCOUNT_ID: "a", s.DEVICE_ID: "d1",
                                    s.TS: pd.Timestamp("2026-02-01", tz="UTC")}]))
    store.add_events(pd.DataFrame([{s.EVENT_ID: "new", s.ACCOUNT_ID: "b", s.DEVICE_ID: "d2",
                                    s.TS: pd.Timestamp("2026-02-04", tz="UTC")}]))
    read = store.histories
    later = pd.Timestamp("2026-02-05", tz="UTC")

    def read_then_written(account_ids, columns):  # once: compaction's first read
        store.histories = read
        found = read(account_ids, columns)
        other.add_events(pd.DataFrame([{s.EVENT_ID: "meanwhile", s.ACCOUNT_ID: "a",
                                        s.DEVICE_ID: "d1", s.TS: later}]))
        return found

    store.histories = read_then_written
    store._compact(["a"])  # as `add_events` does after an event of a, b's moved the window
    del store.histories
    assert store.histories(["a"])[s.EVENT_ID].tolist() == ["meanwhile"]
    assert [p[2:] for p in store.pairs_for(DEVICE, ["d1"])] == [("a", later.value)]


def test_an_event_stored_while_its_account_is_compacted_keeps_its_pairs(tmp_path):
    cfg = FeatureConfig(retention_days=1)
    _compaction_race(SqliteFeatureStore(tmp_path / "s.sqlite", cfg),
                     SqliteFeatureStore(tmp_path / "s.sqlite", cfg))


def test_without_a_window_nothing_is_dropped(tmp_path):
    store = SqliteFeatureStore(tmp_path / "state.sqlite")
    store.add_events(pd.DataFrame([{s.EVENT_ID: f"e{d}", s.ACCOUNT_ID: "a", s.DEVICE_ID: "d1",
                                    s.TS: pd.Timestamp("2026-02-01", tz="UTC") + pd.Timedelta(
                                        days=30 * d)} for d in range(3)]))
    assert sorted(store.histories(["a"])[s.EVENT_ID]) == ["e0", "e1", "e2"]


def _on_one_ip(store, event_id: str, account_id: str, ts: str) -> None:
    store.add_events(pd.DataFrame([{s.EVENT_ID: event_id, s.ACCOUNT_ID: account_id,
                                    s.TS: pd.Timestamp(ts, tz="UTC"), s.IP: "198.51.100.7"}]))


def test_ip_counts_follow_every_write_of_this_and_another_connection(tmp_path):
    """The pairs cache (`serving.pair_cache`) behind the reuse counts: each answer equals a
    state in memory fed the same events, whichever connection wrote them."""
    store, other = (SqliteFeatureStore(tmp_path / "s.sqlite") for _ in range(2))
    memory = OnlineFeatureState()
    steps = [(store, "e1", "a", "2026-02-01"), (store, "e2", "b", "2026-02-03"),
             (other, "e3", "c", "2026-02-02"), (store, "e4", "c", "2026-01-30"),
             (other, "e5", "b", "2026-01-29"), (store, "e6", "d", "2026-02-04")]
    for writer, *event in steps:
        _on_one_ip(writer, *event)
        _on_one_ip(memory, *event)
        got = store.features_of(["a", "b", "c", "d"]).features
        want = memory.features_of(["a", "b", "c", "d"]).features
        pd.testing.assert_frame_equal(got, want)
    assert got["ip_accounts_max"].tolist() == [3.0, 3.0, 3.0, 4.0]


def test_ip_counts_read_without_a_window_follow_the_windows_compaction(tmp_path):
    """A store that compacts (a retention window) read by a model without one: the pairs the
    compaction removes leave the cache too (`drop_before`)."""
    windowed = FeatureConfig(retention_days=1)
    store = SqliteFeatureStore(tmp_path / "s.sqlite", windowed)
    memory = OnlineFeatureState(windowed)
    for state in (store, memory):
        _on_one_ip(state, "e1", "a", "2026-02-01")
        _on_one_ip(state, "e2", "b", "2026-02-01T01:00")
        state.features_of(["b"], cfg=FeatureConfig())  # the cache holds a and b on the IP
        state.add_events(pd.DataFrame([{s.EVENT_ID: "e3", s.ACCOUNT_ID: "a",
                                        s.TS: pd.Timestamp("2026-02-04", tz="UTC"),
                                        s.IP: "192.0.2.9"}]))  # a's first event is dropped
    got = store.features_of(["b"], cfg=FeatureConfig()).features
    pd.testing.assert_frame_equal(got, memory.features_of(["b"], cfg=FeatureConfig()).features)
    assert got["ip_accounts_max"].tolist() == [1.0]
