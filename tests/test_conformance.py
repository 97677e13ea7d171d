"""One set of properties over every implementation of the features: the online state in memory,
in SQLite and in Redis, and every feature engine (`features.engine.FeatureEngine`: in memory,
partitioned, Spark) all give the in-process batch pipeline's features (to 1e-9) on the same
streams.

The streams have events out of time order and repeated event ids, shared devices, IPs, payout
and phone ids, accounts that sign in before their record's `created_at` or are created after
`as_of`, (online) account records that arrive between the events, late, and an allow-list of IP
ranges (one that covers part of a /24), ASNs and devices.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persona_risk.features import schema as s
from persona_risk.features.engine import FeatureEngine
from persona_risk.features.feature_store import FeatureStore
from persona_risk.features.geoip import locate
from persona_risk.features.memory_engine import InMemoryEngine
from persona_risk.features.memory_store import OnlineFeatureState
from persona_risk.features.pipeline import IDENTITY_COLUMNS, CrossAccount, compute_features
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.reuse import reuse_pairs
from persona_risk.features.validate import validate_accounts, validate_events
from persona_risk.serving.batch import score_events
from persona_risk.serving.partitions import PartitionedEngine, partition_of
from persona_risk.serving.redis_store import RedisFeatureStore
from persona_risk.serving.sqlite_store import SqliteFeatureStore
from tests.serving.test_redis_store import RedisServer
from tests.streams import NOW, streams

pytestmark = pytest.mark.slow
EXAMPLES = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


def reference(stream: dict, located: bool = False) -> pd.DataFrame:
    """The in-process batch pipeline's features, by account id; `located`: with events
    without a location geolocated from their IP first, as the batch jobs do (online, events
    come located or not at all)."""
    clean, _ = validate_events(stream["events"], now=NOW)
    clean = locate(clean, None) if located else clean
    return compute_features(clean, validate_accounts(stream["accounts"]), stream["as_of"],
                            stream["cfg"], with_signals=False).features.set_index(s.ACCOUNT_ID)


def assert_same_features(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert sorted(got.index) == sorted(expected.index)
    a = got.loc[expected.index, FEATURE_NAMES].to_numpy(float)
    b = expected[FEATURE_NAMES].to_numpy(float)
    differ = ~np.isclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True)
    assert not differ.any(), {
        (acc, name): (x, y) for acc, name, x, y in zip(
            np.array(expected.index)[differ.nonzero()[0]], np.array(FEATURE_NAMES)[
                differ.nonzero()[1]], a[differ], b[differ], strict=True)}
    assert (got.loc[expected.index, "as_of"] == expected["as_of"]).all()


def feed(store: FeatureStore, stream: dict) -> None:
    """The stream into an online store: events in chunks, each record after its events."""
    events, records = stream["events"], stream["accounts"].to_dict("records")
    bounds = np.cumsum([0, *stream["chunks"] * len(events)])
    bounds = [int(b) for b in bounds[bounds < len(events)]] + [len(events)]
    arrivals = sorted(set(bounds) | set(stream["arrive_after"]))
    for lo, hi in zip(arrivals[:-1], arrivals[1:], strict=True):
        for record, after in zip(records, stream["arrive_after"], strict=True):
            if after == lo:
                store.upsert_account(record)
        store.add_events(events.iloc[lo:hi], now=NOW)
    for record, after in zip(records, stream["arrive_after"], strict=True):
        if after == len(events):
            store.upsert_account(record)


def check_online(store: FeatureStore, stream: dict) -> None:
    feed(store, stream)
    expected = reference(stream)
    got = store.features_of(sorted(expected.index), stream["as_of"]).features
    assert_same_features(got.set_index(s.ACCOUNT_ID), expected)


@EXAMPLES
@given(streams())
def test_memory_state_equals_batch(stream):
    check_online(OnlineFeatureState(stream["cfg"]), stream)


@EXAMPLES
@given(streams())
def test_sqlite_store_equals_batch(stream):
    with tempfile.TemporaryDirectory() as folder:
        check_online(SqliteFeatureStore(Path(folder) / "state.sqlite", stream["cfg"]), stream)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.kill()


@EXAMPLES
@given(streams())
def test_redis_store_equals_batch(redis_url, stream):
    RedisFeatureStore(redis_url).db.flushdb()  # then opened empty: the layout written anew
    check_online(RedisFeatureStore(redis_url, stream["cfg"]), stream)


def with_retention(stream: dict, days: float | None) -> dict:
    """The stream with a retention window of `days` (None: keep everything)."""
    return {**stream, "cfg": dataclasses.replace(stream["cfg"], retention_days=days)}


@EXAMPLES
@given(streams(), st.sampled_from([0.25, 0.5, 1.0, 2.0]))
def test_every_store_equals_batch_with_a_retention_window(redis_url, stream, days):
    """With a retention window (days) the stores drop what falls out of it as they write, and
    still give batch's features as of their latest event, where the window ends."""
    stream = {**with_retention(stream, days), "as_of": None}
    expected = reference(stream)
    RedisFeatureStore(redis_url).db.flushdb()
    with tempfile.TemporaryDirectory() as folder:
        cfg = stream["cfg"]
        for store in (OnlineFeatureState(cfg), RedisFeatureStore(redis_url, cfg),
                      SqliteFeatureStore(Path(folder) / "state.sqlite", cfg)):
            feed(store, stream)
            got = store.features_of(sorted(expected.index)).features
            assert_same_features(got.set_index(s.ACCOUNT_ID), expected)


@EXAMPLES
@given(streams(), st.integers(2, 4))
def test_partitions_with_global_pairs_equal_batch(stream, partitions):
    """What the partitioned job computes in each partition (its events and records, the pairs
    and identities of all) makes the whole pipeline's features."""
    clean, _ = validate_events(stream["events"], now=NOW)
    accounts = validate_accounts(stream["accounts"])
    expected = reference(stream)
    if clean.empty:
        return
    as_of = expected["as_of"].iloc[0]
    event_part = partition_of(clean[s.ACCOUNT_ID], partitions)
    record_part = partition_of(accounts[s.ACCOUNT_ID], partitions)
    parts = [compute_features(clean[event_part == p], accounts[record_part == p], as_of,
                              stream["cfg"], cross=CrossAccount.from_pairs(
                                  reuse_pairs(clean, stream["cfg"].allow),
                                  accounts[IDENTITY_COLUMNS]),
                              with_signals=False).features for p in range(partitions)]
    assert_same_features(pd.concat(parts).set_index(s.ACCOUNT_ID), expected)


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(streams(), st.integers(2, 4))
def test_partitioned_job_scores_equal_batch_scores(trained, tmp_path, stream, partitions):
    clean, _ = validate_events(stream["events"], now=NOW)
    if clean.empty:
        return
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    stream["events"].to_parquet(folder / "events.parquet")
    stream["accounts"].to_parquet(folder / "accounts.parquet")
    score_events([folder / "events.parquet"], trained.model, "1", folder / "out.parquet",
                 [folder / "accounts.parquet"], stream["as_of"], partitions, now=NOW,
                 allow=stream["cfg"].allow)
    got = pd.read_parquet(folder / "out.parquet").set_index(s.ACCOUNT_ID)
    expected = trained.model.score(reference(stream, located=True).reset_index()).set_index(
        s.ACCOUNT_ID)
    assert sorted(got.index) == sorted(expected.index)
    np.testing.assert_allclose(got.loc[expected.index, "score"], expected["score"], rtol=0,
                               atol=1e-9)
    above = expected.index[expected["band"] != "low"]  # batch gives the low band no reasons
    assert (got.loc[above, "reason_1_code"] == expected.loc[above, "reason_1_code"]).all()
    assert got.loc[got["band"] == "low", "reason_1_code"].isna().all()


def check_engine(engine: FeatureEngine, folder: Path, stream: dict) -> None:
    """The engine's table, written from the stream's files, holds the batch pipeline's
    features (the events without a location geolocated, as every engine does)."""
    stream["events"].to_parquet(folder / "events.parquet")
    stream["accounts"].to_parquet(folder / "accounts.parquet")
    out = folder / "features.parquet"
    run = engine.write_features([folder / "events.parquet"], out, [folder / "accounts.parquet"],
                                stream["as_of"], stream["cfg"], now=NOW)
    got = pd.read_parquet(out).set_index(s.ACCOUNT_ID)
    assert_same_features(got, reference(stream, located=True))
    assert run.accounts == len(got)


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(streams(), st.integers(1, 3), st.sampled_from([None, 0.5, 2.0]))
def test_in_memory_and_partitioned_engines_equal_batch(tmp_path, stream, partitions, days):
    stream = with_retention(stream, days)
    if validate_events(stream["events"], now=NOW)[0].empty:
        return
    for engine in (InMemoryEngine(), PartitionedEngine(partitions)):
        check_engine(engine, Path(tempfile.mkdtemp(dir=tmp_path)), stream)


@pytest.mark.parametrize("days", [None, 1.0])
@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(streams())
def test_spark_engine_equals_batch(spark, tmp_path, days, stream):
    from persona_risk.features.spark_engine import SparkEngine

    stream = with_retention(stream, days)
    if validate_events(stream["events"], now=NOW)[0].empty:
        return
    check_engine(SparkEngine(spark), Path(tempfile.mkdtemp(dir=tmp_path)), stream)
