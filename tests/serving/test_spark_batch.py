"""Batch scoring on Spark gives the in-process job's scores, bands, reasons and quarantine."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from persona_risk.features import schema as s
from persona_risk.serving.batch import OUTPUT_COLUMNS, score_events
from persona_risk.serving.spark_batch import spark_score

pytestmark = pytest.mark.slow
NOW = pd.Timestamp("2026-12-01", tz="UTC")


def test_spark_scores_equal_in_process_scores(spark, labelled, trained, tmp_path):
    inputs, _ = labelled
    keep = inputs.accounts[s.ACCOUNT_ID].head(800)
    events = inputs.events[inputs.events[s.ACCOUNT_ID].isin(keep)].reset_index(drop=True)
    events = events.astype({s.LAT: object})
    events.loc[3, s.LAT] = -95.0
    events = pd.concat([events, events.iloc[[20]]], ignore_index=True)
    events.to_parquet(tmp_path / "events.parquet")
    inputs.accounts[inputs.accounts[s.ACCOUNT_ID].isin(keep)].to_parquet(
        tmp_path / "accounts.parquet")
    args = {"accounts": [tmp_path / "accounts.parquet"], "now": NOW}

    local = score_events([tmp_path / "events.parquet"], trained.model, "7",
                         tmp_path / "local.parquet", partitions=3, **args)
    remote = spark_score(spark, [str(tmp_path / "events.parquet")], trained.model, "7",
                         str(tmp_path / "spark"), **args)

    a, b = pd.read_parquet(tmp_path / "local.parquet"), pd.read_parquet(tmp_path / "spark")
    assert list(b.columns) == OUTPUT_COLUMNS
    assert b[s.ACCOUNT_ID].tolist() == a[s.ACCOUNT_ID].tolist()
    np.testing.assert_allclose(b["score"], a["score"], rtol=0, atol=1e-9)
    for col in ("band", "reason_1_code", "reason_1", "reason_3", "model_version"):
        assert b[col].tolist() == a[col].tolist(), col
    assert (b["as_of"] == a["as_of"]).all()
    assert (remote.accounts_scored, remote.events, remote.rows_quarantined, remote.per_band) == (
        local.accounts_scored, local.events, local.rows_quarantined, local.per_band)
    quarantine = pd.read_csv(remote.quarantine)
    assert sorted(quarantine[s.REASON]) == ["event_id: duplicate event_id (first copy kept)",
                                            "lat: latitude outside [-90, 90]"]
    summary = json.loads((tmp_path / "spark.summary.json").read_text())
    assert summary["accounts_scored"] == len(a) and summary["model_version"] == "7"
