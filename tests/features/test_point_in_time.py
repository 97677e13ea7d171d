"""The point-in-time rule: each fact exists from its own time, and batch and online agree."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.memory_store import OnlineFeatureState
from persona_risk.features.pipeline import compute_features
from persona_risk.features.point_in_time import AsOf, utc_now
from persona_risk.features.reuse import FIRST_TS, reuse_pairs
from persona_risk.features.stored_rows import canonical_rows
from persona_risk.features.validate import validate_accounts, validate_events

NOW = pd.Timestamp("2026-06-01", tz="UTC")
T = pd.Timestamp("2026-02-15", tz="UTC")


def test_facts_at_t_exist_and_later_ones_do_not():
    at = AsOf.of("2026-02-15")  # naive: UTC
    assert at.at == T and at.ns == T.value
    events, _ = validate_events(pd.DataFrame({
        s.EVENT_ID: ["e1", "e2"], s.ACCOUNT_ID: ["a", "b"],
        s.TS: ["2026-02-15T00:00:00Z", "2026-02-15T00:00:00.000000001Z"],
        s.DEVICE_ID: ["d", "d"]}), now=NOW)
    records = validate_accounts(pd.DataFrame({
        s.ACCOUNT_ID: ["a", "c", "d"],
        s.CREATED_AT: ["2026-02-15T00:00:00Z", "2026-03-01T00:00:00Z", "2026-01-01T00:00:00Z"]}))
    assert at.events(events)[s.EVENT_ID].tolist() == ["e1"]
    assert at.records(records)[s.ACCOUNT_ID].tolist() == ["a", "d"]
    assert at.pairs(reuse_pairs(events))[FIRST_TS].max() == T.value
    assert at.accounts(at.events(events), at.records(records)).tolist() == ["a", "d"]
    assert at.keeps(np.array([T.value, T.value + 1])).tolist() == [True, False]


def _hand_example() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A created 1 January; B's record says 1 March, but B signed in on A's device on
    1 February."""
    accounts = pd.DataFrame({s.ACCOUNT_ID: ["A", "B"], s.PAYOUT_ID: [None, "p"],
                             s.CREATED_AT: ["2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"]})
    events = pd.DataFrame({
        s.EVENT_ID: ["a1", "b1", "a2"], s.ACCOUNT_ID: ["A", "B", "A"],
        s.TS: ["2026-01-20T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-10T00:00:00Z"],
        s.IP: ["198.51.100.1", "198.51.100.2", "198.51.100.3"], s.DEVICE_ID: ["d", "d", "d"]})
    return accounts, events


def test_account_signed_in_before_its_record_counts_alike_in_batch_and_online():
    accounts, events = _hand_example()
    clean, _ = validate_events(events, now=NOW)
    batch = compute_features(clean, validate_accounts(accounts), T).features
    state = OnlineFeatureState()
    for record in accounts.to_dict("records"):
        state.upsert_account(record)
    state.add_events(events, now=NOW)
    online = state.features_of(["A", "B"], T).features
    columns = ["device_accounts_max", "cluster_size", "payout_accounts", "account_age_days"]
    pd.testing.assert_frame_equal(batch.set_index(s.ACCOUNT_ID)[columns],
                                  online.set_index(s.ACCOUNT_ID)[columns])
    a = batch.set_index(s.ACCOUNT_ID).loc["A"]
    b = batch.set_index(s.ACCOUNT_ID).loc["B"]
    assert a["device_accounts_max"] == 2 and a["cluster_size"] == 2  # B's sign-in on d counts
    assert np.isnan(b["account_age_days"]) and np.isnan(b["payout_accounts"])  # record: later


def test_record_fields_count_from_created_at():
    accounts, events = _hand_example()
    clean, _ = validate_events(events, now=NOW)
    later = compute_features(clean, validate_accounts(accounts),
                             pd.Timestamp("2026-03-02", tz="UTC")).features.set_index(s.ACCOUNT_ID)
    assert later.loc["B", "account_age_days"] == 1.0
    assert later.loc["B", "payout_accounts"] == 1.0
    assert np.isnan(later.loc["B", "first_signin_delay_h"])  # signed in before its record


def test_only_event_before_its_record_is_scored_online():
    state = OnlineFeatureState()
    state.upsert_account({s.ACCOUNT_ID: "C", s.CREATED_AT: "2026-03-01T00:00:00Z"})
    touched, _ = state.add_events(pd.DataFrame({
        s.EVENT_ID: ["c1"], s.ACCOUNT_ID: ["C"], s.TS: ["2026-02-01T00:00:00Z"],
        s.IP: ["198.51.100.7"]}), now=NOW)
    assert touched == ["C"]
    features = state.features("C").features  # as of the watermark: 1 February
    assert features[s.ACCOUNT_ID].tolist() == ["C"] and features["events_total"].iloc[0] == 1
    assert np.isnan(features["account_age_days"].iloc[0])


def test_as_of_before_every_event_gives_the_records_alone():
    accounts, events = _hand_example()
    clean, _ = validate_events(events, now=NOW)
    features = compute_features(clean, validate_accounts(accounts),
                                pd.Timestamp("2026-01-10", tz="UTC")).features
    assert features[s.ACCOUNT_ID].tolist() == ["A"]
    assert features["events_total"].iloc[0] == 0 and features["account_age_days"].iloc[0] == 9


def test_now_is_utc_whatever_it_is_given_as():
    assert utc_now("2026-06-01 12:00") == pd.Timestamp("2026-06-01 12:00", tz="UTC")
    paris = utc_now(pd.Timestamp("2026-06-01 14:00", tz="Europe/Paris"))
    assert paris == pd.Timestamp("2026-06-01 12:00", tz="UTC") and str(paris.tz) == "UTC"
    before = pd.Timestamp.now(tz="UTC")
    assert before <= utc_now() <= pd.Timestamp.now(tz="UTC")


def test_a_naive_now_is_utc_in_the_validator_and_the_row_codec():
    event = {s.EVENT_ID: "e1", s.ACCOUNT_ID: "a", s.TS: datetime(2026, 6, 1, 12, 4, tzinfo=UTC),
             s.IP: "203.0.113.7", s.DEVICE_ID: "d1"}
    for now, kept in (("2026-06-01 12:00", True), ("2026-06-01 11:00", False)):
        _, bad = validate_events(pd.DataFrame([event]), now=pd.Timestamp(now))
        assert bad.empty is kept
        assert (canonical_rows([event], now=pd.Timestamp(now)) is not None) is kept
