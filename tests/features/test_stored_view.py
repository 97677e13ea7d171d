"""Stored columns as of T: later events, records and pairs do not exist; the cross-account
signals come from the stored pairs and records."""

from __future__ import annotations

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.allow import AllowList
from persona_risk.features.point_in_time import AsOf
from persona_risk.features.reuse import (
    CLUSTER_SIZE,
    DEVICE,
    REUSE_COUNT,
    SHARED_ID_COUNT,
    reuse_keys,
)
from persona_risk.features.stored_rows import (
    ACCOUNT_NAMES,
    EVENT_NAMES,
    columns_of,
    event_array,
    frame_to_records,
)
from persona_risk.features.stored_view import StoredView, first_times, key_firsts
from persona_risk.features.validate import validate_accounts, validate_events

NOW = pd.Timestamp("2026-06-01", tz="UTC")
T = AsOf.of("2026-02-15")


def ns(text: str) -> int:
    return pd.Timestamp(text, tz="UTC").value


def test_first_times_keep_the_pairs_that_exist_as_of_t_once():
    rows = [(DEVICE, "d", "a", ns("2026-02-01")), (DEVICE, "d", "b", ns("2026-03-01")),
            (DEVICE, "d", "a", ns("2026-02-01")), (DEVICE, "e", "c", ns("2026-02-15"))]
    assert first_times(rows, T) == {("d", "a"): ns("2026-02-01"), ("e", "c"): ns("2026-02-15")}
    assert first_times([], T) == {}


def test_key_firsts_sort_each_keys_first_times_and_count_a_pair_read_twice_once():
    rows = [(DEVICE, "d", "b", ns("2026-03-01")), (DEVICE, "d", "a", ns("2026-02-01")),
            (DEVICE, "d", "a", ns("2026-02-01")), (DEVICE, "e", "c", ns("2026-02-15"))]
    got = key_firsts(rows)
    assert sorted(got) == ["d", "e"]
    assert got["d"].tolist() == [ns("2026-02-01"), ns("2026-03-01")]
    assert got["e"].tolist() == [ns("2026-02-15")]
    assert key_firsts([]) == {}


def _columns():
    events, _ = validate_events(pd.DataFrame([
        {s.EVENT_ID: "x1", s.ACCOUNT_ID: "a", s.TS: "2026-02-01", s.DEVICE_ID: "d"},
        {s.EVENT_ID: "x2", s.ACCOUNT_ID: "a", s.TS: "2026-03-01", s.DEVICE_ID: "d"},
        {s.EVENT_ID: "x3", s.ACCOUNT_ID: "b", s.TS: "2026-02-10", s.DEVICE_ID: "d"}]), now=NOW)
    records = validate_accounts(pd.DataFrame([
        {s.ACCOUNT_ID: "a", s.CREATED_AT: "2026-01-01", s.PAYOUT_ID: "p1"},
        {s.ACCOUNT_ID: "b", s.CREATED_AT: "2026-01-02", s.PAYOUT_ID: "p1"},
        {s.ACCOUNT_ID: "c", s.CREATED_AT: "2026-03-01", s.PAYOUT_ID: "p1"}]))
    return ({name: event_array(name, values) for name, values in columns_of(
        frame_to_records(events, EVENT_NAMES), EVENT_NAMES).items()},
            columns_of(frame_to_records(records, ACCOUNT_NAMES), ACCOUNT_NAMES))


def test_a_view_holds_what_exists_as_of_t_and_counts_from_it():
    events, records = _columns()
    view = StoredView(T, ["a", "b", "c"], events, records)
    assert view.account_ids.tolist() == ["a", "b"]  # c's record is created after T
    assert list(view.ev.event_ids()) == ["x1", "x3"]  # x2 happens after T
    device = [(DEVICE, "d", "a", ns("2026-02-01")), (DEVICE, "d", "b", ns("2026-02-10")),
              (DEVICE, "d", "z", ns("2026-03-01"))]
    firsts = {kind: {} for kind in REUSE_COUNT} | {DEVICE: key_firsts(device)}
    counts, shared = view.cross(reuse_keys(view.ev, AllowList()), firsts, device)
    np.testing.assert_array_equal(counts[REUSE_COUNT[DEVICE]], [1, 2])  # z is later than T
    np.testing.assert_array_equal(shared[SHARED_ID_COUNT[s.PAYOUT_ID]], [2, 2])  # not c
    np.testing.assert_array_equal(shared[CLUSTER_SIZE], [2, 2])
