"""Batch scoring: partitions do not change scores, bad rows are set aside, output is atomic."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from features import schema as s
from features.pipeline import compute_features
from features.validate import DUPLICATE_EVENT
from models.risk_model import RiskModel
from serving.batch import OUTPUT_COLUMNS, SeenIds, partition_of, score_events


@pytest.fixture()
def files(labelled, tmp_path):
    inputs, _ = labelled
    keep = inputs.accounts[s.ACCOUNT_ID].head(600)
    events = inputs.events[inputs.events[s.ACCOUNT_ID].isin(keep)]
    accounts = inputs.accounts[inputs.accounts[s.ACCOUNT_ID].isin(keep)]
    events.to_parquet(tmp_path / "events.parquet")
    accounts.to_parquet(tmp_path / "accounts.parquet")
    return tmp_path, events, accounts


def test_same_scores_in_one_partition_or_many(files, trained):
    folder, events, accounts = files
    one = score_events([folder / "events.parquet"], trained.model, "v1", folder / "one.parquet",
                       [folder / "accounts.parquet"], partitions=1)
    many = score_events([folder / "events.parquet"], trained.model, "v1",
                        folder / "many.parquet", [folder / "accounts.parquet"], partitions=5)
    a, b = pd.read_parquet(folder / "one.parquet"), pd.read_parquet(folder / "many.parquet")
    assert list(a.columns) == OUTPUT_COLUMNS
    pd.testing.assert_frame_equal(a, b)
    assert one.accounts_scored == many.accounts_scored == accounts[s.ACCOUNT_ID].nunique()
    # and the same as the unpartitioned pipeline
    direct = trained.model.score(compute_features(events, accounts).features)
    np.testing.assert_allclose(a["score"], direct.sort_values(s.ACCOUNT_ID)["score"], atol=1e-12)
    summary = json.loads((folder / "many.summary.json").read_text())
    assert summary["partitions"] == 5 and sum(summary["per_band"].values()) == len(b)


def test_bad_rows_are_quarantined_and_no_good_row_is_lost(files, trained):
    folder, events, accounts = files
    raw = events.astype({s.LAT: object, s.DEVICE_TZ: object})
    raw = pd.concat([raw, raw.head(2)], ignore_index=True)  # two duplicates
    raw.loc[3, s.LAT] = 123.0
    raw.loc[4, s.DEVICE_TZ] = "Mars/Base"
    raw.loc[5, s.TS] = pd.Timestamp("2099-01-01", tz="UTC")
    csv = folder / "events.csv"
    raw.assign(**{s.TS: raw[s.TS].dt.strftime("%Y-%m-%dT%H:%M:%SZ")}).to_csv(csv, index=False)
    summary = score_events([csv], trained.model, "v1", folder / "scores.csv",
                           [folder / "accounts.parquet"], partitions=3)
    quarantine = pd.read_csv(summary.quarantine)
    assert sorted(quarantine[s.ROW]) == [3, 4, 5, len(events), len(events) + 1]
    assert set(quarantine[s.REASON]) == {
        "lat: latitude outside [-90, 90]", "device_tz: unknown time-zone name",
        "ts: timestamp in the future", "event_id: duplicate event_id (first copy kept)"}
    assert summary.events == len(events) - 3
    scores = pd.read_csv(folder / "scores.csv")
    assert len(scores) == accounts[s.ACCOUNT_ID].nunique()


class FailingModel(RiskModel):
    """A real model that fails on its second partition: an injected crash mid-run."""

    calls = 0

    def score(self, features, reasons=True):
        FailingModel.calls += 1
        if FailingModel.calls == 2:
            raise RuntimeError("injected failure")
        return super().score(features, reasons)


def test_output_is_atomic_under_an_injected_failure(files, trained):
    folder, _, _ = files
    out = folder / "scores.parquet"
    score_events([folder / "events.parquet"], trained.model, "v1", out,
                 [folder / "accounts.parquet"], partitions=2)
    before = out.read_bytes()
    failing = FailingModel(**{k: getattr(trained.model, k) for k in (
        "booster_text", "platt_a", "platt_b", "thresholds", "feature_names")})
    with pytest.raises(RuntimeError, match="injected"):
        score_events([folder / "events.parquet"], failing, "v2", out,
                     [folder / "accounts.parquet"], partitions=2)
    assert out.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []


def test_partition_is_stable():
    ids = np.array(["a", "b", "acct-000001"], dtype=object)
    assert partition_of(ids, 7).tolist() == partition_of(ids.copy(), 7).tolist()
    assert partition_of(ids, 1).tolist() == [0, 0, 0]


def _score_two_files(folder, first: pd.DataFrame, second: pd.DataFrame, model: RiskModel,
                     partitions: int):
    """Score events given as two Parquet files; returns the summary and the quarantine."""
    first.to_parquet(folder / "a.parquet")
    second.to_parquet(folder / "b.parquet")
    summary = score_events([folder / "a.parquet", folder / "b.parquet"], model, "v1",
                           folder / "scores.parquet", [folder / "accounts.parquet"],
                           partitions=partitions)
    return summary, pd.read_csv(summary.quarantine)


def test_quarantine_rows_count_within_each_file(files, trained):
    folder, events, _ = files
    half = len(events) // 2
    first, second = events.iloc[:half], events.iloc[half:].astype({s.LAT: object}).copy()
    second.loc[second.index[2], s.LAT] = 95.0
    summary, quarantine = _score_two_files(folder, first, second, trained.model, partitions=2)
    assert quarantine[["file", s.ROW]].values.tolist() == [[str(folder / "b.parquet"), 2]]
    assert summary.events == len(events) - 1


def test_a_repeated_event_id_keeps_its_first_copy_across_files_and_accounts(files, trained):
    folder, events, _ = files
    first = events.iloc[:100]
    second = events.iloc[100:].copy()
    second.iloc[7, second.columns.get_loc(s.EVENT_ID)] = first[s.EVENT_ID].iloc[0]
    assert second[s.ACCOUNT_ID].iloc[7] != first[s.ACCOUNT_ID].iloc[0]  # another partition
    summary, quarantine = _score_two_files(folder, first, second, trained.model, partitions=4)
    assert quarantine[["file", s.ROW, s.REASON]].values.tolist() == [
        [str(folder / "b.parquet"), 7, DUPLICATE_EVENT]]
    assert summary.events == len(events) - 1


def test_seen_ids_match_repeats_only():
    seen = SeenIds()
    assert seen.add(pd.Series(["e1", "e2", ""], dtype="str")).tolist() == [False, False, False]
    again = seen.add(pd.Series(["E1", "e2", "e3", "e1"], dtype="str"))
    assert again.tolist() == [False, True, False, True]
    assert len(seen.first) == len(seen.second) == 5 and (np.diff(seen.first) > 0).all()
