"""One set of properties over every implementation of the features: the online state in memory,
in SQLite and in Redis, the partitioned batch job and Spark all give the in-process batch
pipeline's features (to 1e-9) on the same streams.

The streams have events out of time order and repeated event ids, shared devices, IPs, payout
and phone ids, accounts that sign in before their record's `created_at` or are created after
`as_of`, (online) account records that arrive between the events, late, and an allow-list of IP
ranges (one that covers part of a /24), ASNs and devices.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persona_risk.features import schema as s
from persona_risk.features.allow import AllowEntry, AllowList
from persona_risk.features.config import FeatureConfig
from persona_risk.features.geoip import locate
from persona_risk.features.online import FeatureStore, OnlineFeatureState
from persona_risk.features.pipeline import IDENTITY_COLUMNS, compute_features
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.reuse import reuse_pairs
from persona_risk.features.validate import validate_accounts, validate_events
from persona_risk.serving.batch import partition_of, score_events
from persona_risk.serving.redis_store import RedisFeatureStore
from persona_risk.serving.store import SqliteFeatureStore
from tests.serving.test_redis_store import RedisServer

pytestmark = pytest.mark.slow
START = pd.Timestamp("2026-03-01", tz="UTC")
NOW = START + pd.Timedelta(days=10)
PLACES = [(40.71, -74.01, "US"), (42.36, -71.06, "US"), (31.23, 121.47, "CN"),
          (55.75, 37.62, "RU"), (51.51, -0.13, "GB"), (None, None, None)]
ZONES = ["America/New_York", "Asia/Shanghai", "Europe/London", None]
ALLOWED = [AllowEntry("cidr", "1.2.3.0/29", "office"), AllowEntry("cidr", "2001:db8::/48", "v6"),
           AllowEntry("asn", "64500", "remote desktop"), AllowEntry("device", "d3", "kiosk")]
EXAMPLES = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@st.composite
def streams(draw) -> dict:
    """Accounts, raw events (in arrival order), `as_of` (None: the last event) and, per
    account record, the number of events that arrive before it (online)."""
    n_accounts = draw(st.integers(1, 5))
    hours = 24 * 3  # events fall in three days from START
    accounts = pd.DataFrame({
        s.ACCOUNT_ID: [f"a{i}" for i in range(n_accounts)],
        # before the events, between them (signed in before the record) or after them all
        s.CREATED_AT: [START + pd.Timedelta(hours=draw(st.integers(-24 * 40, hours + 24)))
                       for _ in range(n_accounts)],
        s.CLAIMED_TIMEZONE: [draw(st.sampled_from(ZONES)) for _ in range(n_accounts)],
        s.CLAIMED_LAT: 40.71, s.CLAIMED_LON: -74.01,
        s.PAYOUT_ID: [draw(st.sampled_from(["p1", "p2", None])) for _ in range(n_accounts)],
        s.PHONE_ID: [draw(st.sampled_from(["t1", "t2", None])) for _ in range(n_accounts)],
    })
    rows = []
    for i in range(draw(st.integers(1, 25))):
        lat, lon, country = draw(st.sampled_from(PLACES))
        rows.append({
            s.EVENT_ID: f"e{draw(st.integers(0, 30))}" if draw(st.booleans()) else f"u{i}",
            s.ACCOUNT_ID: f"a{draw(st.integers(0, n_accounts))}",  # a{n}: no record at all
            s.TS: START + pd.Timedelta(minutes=draw(st.integers(0, 60 * hours))),
            s.IP: draw(st.sampled_from(["1.2.3.4", "1.2.3.9", "5.6.7.8", "2001:db8::1", None])),
            s.LAT: lat, s.LON: lon, s.COUNTRY: country,
            s.DEVICE_ID: draw(st.sampled_from(["d1", "d2", "d3", None])),
            s.DEVICE_TZ: draw(st.sampled_from(ZONES)),
            s.SUCCESS: draw(st.booleans()), s.INTERACTIVE: draw(st.booleans()),
            s.ANONYMIZER: draw(st.booleans()),
            s.ASN: draw(st.sampled_from([None, 64500, 64501])),
        })
    events = pd.DataFrame(rows)
    as_of = draw(st.none() | st.integers(0, 60 * hours).map(
        lambda m: START + pd.Timedelta(minutes=m)))
    arrive_after = [draw(st.integers(0, len(events))) for _ in range(n_accounts)]
    chunks = draw(st.lists(st.integers(1, 5), min_size=1, max_size=10))
    allow = AllowList(tuple(draw(st.lists(st.sampled_from(ALLOWED), max_size=3, unique=True))))
    return {"accounts": accounts, "events": events, "as_of": as_of,
            "arrive_after": arrive_after, "chunks": chunks, "cfg": FeatureConfig(allow=allow)}


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
    store = RedisFeatureStore(redis_url, stream["cfg"])
    store.db.flushdb()
    check_online(store, stream)


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
                              stream["cfg"], pairs=reuse_pairs(clean, stream["cfg"].allow),
                              identities=accounts[IDENTITY_COLUMNS],
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
    assert (got.loc[expected.index, "reason_1_code"] == expected["reason_1_code"]).all()


@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(streams())
def test_spark_equals_batch(spark, tmp_path, stream):
    from persona_risk.features.spark_engine import spark_features

    clean, _ = validate_events(stream["events"], now=NOW)
    if clean.empty:
        return
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    stream["events"].to_parquet(folder / "events.parquet")
    result = spark_features(spark, [str(folder / "events.parquet")],
                            validate_accounts(stream["accounts"]), stream["as_of"],
                            stream["cfg"], now=NOW)
    got = result.features.toPandas()
    result.release()
    got["as_of"] = pd.to_datetime(got["as_of"], unit="ns", utc=True)
    assert_same_features(got.set_index(s.ACCOUNT_ID), reference(stream, located=True))
