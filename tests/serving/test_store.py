"""The SQLite feature store: look-ups over more values than one statement may bind."""

from __future__ import annotations

import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.online import EVENT_NAMES
from persona_risk.features.reuse import DEVICE
from persona_risk.serving.store import IN_BATCH, SqliteFeatureStore


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
    history = store.histories(accounts)
    id_col = EVENT_NAMES.index(s.EVENT_ID)
    assert sorted(row[id_col] for row in history) == sorted(ids)
    assert store.known_event_ids([*ids, "unknown"]) == set(ids)
    assert len(store.pairs_for(DEVICE, events[s.DEVICE_ID].tolist())) == n
    assert sorted(store.accounts_sharing(s.PAYOUT_ID, ["shared"])) == sorted(accounts)
