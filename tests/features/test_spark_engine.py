"""The Spark engine gives the in-process engine's features and quarantine on the same files."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from persona_risk.features import schema as s
from persona_risk.features.engine import FeatureRun
from persona_risk.features.memory_engine import build_features, load_inputs
from persona_risk.features.spark_engine import SparkEngine

pytestmark = pytest.mark.slow
NOW = pd.Timestamp("2026-12-01", tz="UTC")


def dirty_files(world, folder):
    """The world's events in two Parquet files with bad rows and duplicates, one of them
    across the files; the accounts in one file."""
    events = world.events.astype({s.LAT: object, s.DEVICE_TZ: object})
    first, second = events.iloc[: len(events) // 2].copy(), events.iloc[len(events) // 2:].copy()
    first.loc[first.index[3], s.LAT] = 123.0
    first.loc[first.index[4], s.DEVICE_TZ] = "Mars/Base"
    second.loc[second.index[5], s.TS] = pd.Timestamp("2099-01-01", tz="UTC")
    second = pd.concat([second, first.iloc[[10]], second.iloc[[7]]], ignore_index=True)
    (folder / "events").mkdir()
    first.to_parquet(folder / "events" / "part-a.parquet")
    second.to_parquet(folder / "events" / "part-b.parquet")
    world.accounts.to_parquet(folder / "accounts.parquet")
    return folder / "events", folder / "accounts.parquet"


def assert_same_table(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    assert got[s.ACCOUNT_ID].tolist() == expected[s.ACCOUNT_ID].tolist()
    for col in expected.columns:
        a, b = expected[col], got[col]
        if pd.api.types.is_float_dtype(a):
            np.testing.assert_allclose(b.to_numpy(float), a.to_numpy(float), rtol=0, atol=1e-9,
                                       err_msg=col)
        elif pd.api.types.is_datetime64_any_dtype(a):
            assert (b.dt.as_unit("ns") == a.dt.as_unit("ns")).all(), col
        else:
            assert b.astype(str).tolist() == a.astype(str).tolist(), col


@pytest.mark.parametrize("as_of", [None, "2026-01-20T12:00:00Z"])
def test_spark_features_equal_in_process_features(spark, small_world, tmp_path, as_of):
    world, _, _ = small_world
    events, accounts = dirty_files(world, tmp_path)
    as_of = pd.Timestamp(as_of) if as_of else None
    inputs = load_inputs(events, accounts, now=NOW)
    expected = build_features(inputs, as_of).features
    run = SparkEngine(spark).write_features([events], tmp_path / "f", [accounts], as_of,
                                            now=NOW)
    got = pd.read_parquet(tmp_path / "f")
    assert_same_table(expected, got)
    assert run == FeatureRun(len(expected), len(inputs.events), len(inputs.quarantine))
    # reuse features are exercised, not all missing: laptop farms share devices
    assert got["device_accounts_max"].max() > 1 and got["cluster_size"].max() > 1


def test_spark_quarantine_names_file_row_and_reason(spark, small_world, tmp_path):
    world, _, _ = small_world
    events, accounts = dirty_files(world, tmp_path)
    inputs = load_inputs(events, accounts, now=NOW)
    SparkEngine(spark).write_features([events], tmp_path / "f", [accounts], now=NOW)
    got = pd.read_csv(tmp_path / "f.quarantine.csv")
    expected = inputs.quarantine
    assert sorted(zip(got[s.EVENT_ID], got[s.REASON], strict=True)) == sorted(
        zip(expected[s.EVENT_ID], expected[s.REASON], strict=True))
    half = len(world.events) // 2
    places = set(zip(got["file"].str.rsplit("/", n=1).str[-1], got[s.ROW], strict=True))
    assert places == {("part-a.parquet", 3), ("part-a.parquet", 4), ("part-b.parquet", 5),
                      ("part-b.parquet", len(world.events) - half),
                      ("part-b.parquet", len(world.events) - half + 1)}


def test_hostile_values_are_quarantined_on_spark_as_in_process(spark, tmp_path):
    """Out-of-range timestamps (a `timestamp[us]` column, which Spark reads as its own
    timestamps), bad IPs and huge integers: each set aside with file, row and reason, as the
    in-process batch does, and the good rows kept; a clean rerun leaves no quarantine file."""
    us = pa.timestamp("us", tz="UTC")
    ts = [datetime(2026, 1, 5, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC),
          datetime(1, 1, 1, tzinfo=UTC), datetime(1677, 9, 21, 0, 12, 44, tzinfo=UTC),
          datetime(2026, 1, 6, tzinfo=UTC), datetime(2026, 1, 7, tzinfo=UTC),
          datetime(2026, 1, 8, tzinfo=UTC)]
    table = pa.table({
        s.EVENT_ID: [f"h-{i}" for i in range(7)], s.ACCOUNT_ID: ["a"] * 4 + ["b"] * 3,
        s.TS: pa.array(ts, us),
        s.IP: ["203.0.113.9", "203.0.113.9", None, None, "999.1.1.1", "198.51.100.8",
               "198.51.100.7"],
        s.ASN: pa.array([7922, None, None, None, None, 2**63 - 1, 2**32 - 1], pa.int64())})
    (tmp_path / "events").mkdir()
    pq.write_table(table, tmp_path / "events" / "hostile.parquet")
    inputs = load_inputs(tmp_path / "events", now=NOW)
    engine = SparkEngine(spark)
    run = engine.write_features([tmp_path / "events"], tmp_path / "f", now=NOW)
    got = pd.read_csv(tmp_path / "f.quarantine.csv")
    expected = inputs.quarantine
    assert sorted(zip(got[s.ROW], got[s.REASON], strict=True)) == sorted(
        zip(expected[s.ROW], expected[s.REASON], strict=True))
    assert {r.split(":")[0] for r in got[s.REASON]} == {s.TS, s.IP, s.ASN}
    assert set(got["file"].str.rsplit("/", n=1).str[-1]) == {"hostile.parquet"}
    assert run == FeatureRun(accounts=2, events=2, quarantined=5)
    pq.write_table(table.take([0, 6]), tmp_path / "events" / "hostile.parquet")  # now clean
    assert engine.write_features([tmp_path / "events"], tmp_path / "f",
                                 now=NOW).quarantined == 0
    assert not (tmp_path / "f.quarantine.csv").exists()  # the earlier run's is gone
