"""Batch scoring: partitions do not change scores, bad rows are set aside, output is atomic."""

from __future__ import annotations

import json
import os
import stat
import time

import numpy as np
import pandas as pd
import pytest

from persona_risk.features import schema as s
from persona_risk.features.pipeline import compute_features
from persona_risk.features.validate import DUPLICATE_EVENT
from persona_risk.models.risk_model import RiskModel
from persona_risk.serving.batch import (
    OUTPUT_COLUMNS,
    BatchSummary,
    batch_scores,
    finish_summary,
    score_events,
)


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


def test_reasons_only_above_the_low_band_unless_all_are_asked(files, trained):
    _, events, accounts = files
    features = compute_features(events, accounts, with_signals=False).features
    full = trained.model.score(features)
    pd.testing.assert_frame_equal(batch_scores(trained.model, features, all_reasons=True), full)
    some = batch_scores(trained.model, features)
    reasons = [c for c in OUTPUT_COLUMNS if c.startswith("reason_")]
    assert sorted(some.columns) == sorted(full.columns)
    low = (some["band"] == "low").to_numpy()
    assert 0 < low.sum() < len(some)
    pd.testing.assert_frame_equal(some[~low], full.loc[~low, some.columns])
    assert some.loc[low, reasons].isna().all().all()
    assert full.loc[low, "reason_1_code"].notna().any()  # there was something to leave out


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


def test_a_few_rows_outside_the_timestamp_range_never_sink_the_run(files, trained):
    """Finding 8: ten such rows among good ones (CSV, string Parquet) or one year-3000 value in
    a `timestamp[us]` column made `score` exit with "Out of bounds nanosecond timestamp"."""
    folder, events, accounts = files
    text = events.assign(**{s.TS: events[s.TS].dt.strftime("%Y-%m-%dT%H:%M:%SZ")})
    text = text.reset_index(drop=True)
    text.loc[:4, s.TS] = "0001-01-01T00:00:00Z"
    text.loc[5:9, s.TS] = "1677-09-21T00:12:44Z"
    wide = events.reset_index(drop=True).astype({s.TS: "datetime64[us, UTC]"})
    wide.loc[3, s.TS] = pd.Timestamp("3000-01-01", tz="UTC").as_unit("us")
    for name, table, bad in [("events.csv", text, 10), ("text.parquet", text, 10),
                             ("wide.parquet", wide, 1)]:
        path = folder / name
        table.to_csv(path, index=False) if name.endswith(".csv") else table.to_parquet(path)
        summary = score_events([path], trained.model, "v1", folder / "scores.parquet",
                               [folder / "accounts.parquet"], partitions=2)
        quarantine = pd.read_csv(summary.quarantine)
        assert summary.events == len(events) - bad and len(quarantine) == bad
        assert set(quarantine[s.REASON]) <= {"ts: timestamp before 1970-01-01",
                                             "ts: timestamp in the future"}
        assert quarantine["file"].eq(str(path)).all()


def test_epoch_numbers_and_empty_files_get_a_clear_error_and_a_quarantine_file(files, trained):
    """Finding 9: an epoch-integer `ts` column wrote no quarantine file; a zero-row Parquet
    file gave "No objects to concatenate"."""
    folder, events, _ = files
    epoch = events.head(50).assign(**{s.TS: events[s.TS].head(50).astype("int64") // 10**9})
    epoch.to_parquet(folder / "epoch.parquet")
    out = folder / "scores.parquet"
    with pytest.raises(ValueError, match="no readable rows.*50 rows set aside") as err:
        score_events([folder / "epoch.parquet"], trained.model, "v1", out)
    quarantine = pd.read_csv(folder / "scores.quarantine.csv")
    assert str(folder / "scores.quarantine.csv") in str(err.value) and len(quarantine) == 50
    assert set(quarantine[s.REASON]) == {"ts: a number, not an ISO-8601 timestamp"}
    events.head(0).to_parquet(folder / "empty.parquet")
    with pytest.raises(ValueError, match="no readable rows; nothing to score$"):
        score_events([folder / "empty.parquet"], trained.model, "v1", out)
    summary = score_events([folder / "empty.parquet", folder / "events.parquet"],
                           trained.model, "v1", out, [folder / "accounts.parquet"])
    assert summary.events == len(events)


def test_stale_temps_and_quarantine_go_and_outputs_follow_the_umask(files, trained):
    """Finding 9: SIGKILL left `.spill-*` folders and temp files behind, a clean run left the
    old quarantine file beside the new output, and outputs were created 0600."""
    folder, events, _ = files
    dead = 2**22 + 12345  # above the default pid_max: no such process
    stale_file = folder / f".scores.parquet.{dead}.0123456789abcdef"
    stale_dir = folder / f".spill.{dead}.fedcba9876543210"
    live_file = folder / f".scores.parquet.{os.getpid()}.00000000000000aa"
    stale_file.write_bytes(b"half a file")
    (stale_dir / "p0").mkdir(parents=True)
    live_file.write_bytes(b"being written")
    (folder / "scores.quarantine.csv").write_text("row,reason\n1,old\n")
    old_umask = os.umask(0o022)
    try:
        summary = score_events([folder / "events.parquet"], trained.model, "v1",
                               folder / "scores.parquet", [folder / "accounts.parquet"])
    finally:
        os.umask(old_umask)
    assert not stale_file.exists() and not stale_dir.exists() and live_file.exists()
    assert summary.quarantine is None and not (folder / "scores.quarantine.csv").exists()
    for name in ("scores.parquet", "scores.summary.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o644
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == [live_file.name]


@pytest.mark.parametrize(("rows", "where"), [(0, None), (2, "out.quarantine.csv")])
def test_a_run_finishes_with_its_quarantine_its_time_and_its_summary(rows, where):
    written = {}
    quarantine = pd.DataFrame({s.ROW: range(rows), s.REASON: ["ts: missing"] * rows})
    summary = finish_summary(
        BatchSummary(rows_quarantined=rows), time.perf_counter() - 2.0, quarantine,
        lambda q: written.setdefault("quarantine", len(q)) and where,
        lambda text: written.setdefault("summary", json.loads(text)))
    assert written["quarantine"] == rows and summary.quarantine == where
    assert 2.0 <= summary.duration_s < 60
    assert written["summary"]["quarantine"] == where
    assert written["summary"]["duration_s"] == summary.duration_s


def test_the_nightly_command_logs_to_mlflow_only_when_the_user_points_it_there(
        files, registry, monkeypatch):
    """A probe: loading the model set MLFLOW_TRACKING_URI, so every local run was logged."""
    from typer.testing import CliRunner

    from persona_risk.cli import app

    folder, _, _ = files
    monkeypatch.chdir(registry["folder"])  # its mlflow.db is the default store
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    args = ["score", "--events", str(folder / "events.parquet"), "--accounts",
            str(folder / "accounts.parquet"), "--model", registry["uri"]]
    result = CliRunner().invoke(app, [*args, "--out", str(folder / "out" / "a.parquet")])
    assert result.exit_code == 0, result.output
    assert "MLflow run" not in result.output
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry["env"]["MLFLOW_TRACKING_URI"])
    result = CliRunner().invoke(app, [*args, "--out", str(folder / "out" / "b.parquet")])
    assert "MLflow run" in result.output, result.output
