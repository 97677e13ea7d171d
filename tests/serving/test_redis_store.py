"""Online state in a real redis-server: the SQLite store's results, shared by two server
processes, and no acknowledged event lost when Redis is killed and restarted."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
import redis

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.features.reuse import DEVICE
from persona_risk.features.state_schema import CURRENT, StateLayout, StateVersionError
from persona_risk.serving import redis_store as redis_module
from persona_risk.serving.redis_store import BLOBS_SINCE, PREFIX, RedisFeatureStore
from persona_risk.serving.sqlite_store import SqliteFeatureStore
from tests.histories import plain
from tests.serving.conftest import free_port
from tests.serving.test_sqlite_store import _compaction_race, _retention_story, _stored_first
from tests.system import system_program

pytestmark = pytest.mark.slow


class RedisServer:
    """Debian's redis-server on a free loopback port, persistence on (fsync every write)."""

    def __init__(self, folder: Path, *extra: str):
        self.binary = system_program("redis-server")
        self.folder, self.port, self.extra = folder, free_port(), extra
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.folder), "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             *self.extra],
            stdout=(self.folder / "redis.log").open("a"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url).ping():
                    return self
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start: " + (self.folder / "redis.log").read_text())

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


@pytest.fixture()
def redis_server(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    if server.proc.poll() is None:
        server.kill()


def test_a_redis_that_refuses_config_is_used_and_checked_through_info(tmp_path, caplog):
    """Managed Redis services disable CONFIG; the store opens all the same, and warns only
    when INFO says the append-only file is off."""
    server = RedisServer(tmp_path, "--rename-command", "CONFIG", "").start()
    try:
        with pytest.raises(redis.ResponseError):
            redis.Redis.from_url(server.url).config_get("appendonly")
        with caplog.at_level("INFO", logger="persona_risk.redis"):
            store = RedisFeatureStore(server.url)
        assert store.writable()
        assert "may be lost" not in caplog.text
    finally:
        server.kill()


def _filled(url: str) -> RedisFeatureStore:
    store = RedisFeatureStore(url)
    store.db.flushdb()
    store = RedisFeatureStore(url)
    store.upsert_account({s.ACCOUNT_ID: "a", s.CREATED_AT: "2026-01-01T00:00:00Z"})
    store.add_events(pd.DataFrame([{s.EVENT_ID: "x1", s.ACCOUNT_ID: "a", s.USER_AGENT: "ua",
                                    s.TS: pd.Timestamp("2026-02-01", tz="UTC")}]))
    return store


def test_stored_layouts_are_used_migrated_or_refused(redis_server):
    store = _filled(redis_server.url)
    before = store.features("a").features
    pd.testing.assert_frame_equal(RedisFeatureStore(redis_server.url).features("a").features,
                                  before)
    old = StateLayout(0, tuple(c for c in CURRENT.events if c != s.USER_AGENT), CURRENT.accounts)
    store.db.delete(f"{PREFIX}history:a:{s.USER_AGENT}")
    store.db.set(PREFIX + "layout", old.to_json())
    migrated = RedisFeatureStore(redis_server.url)
    assert plain(migrated.history("a"))[s.USER_AGENT] == [None]
    assert StateLayout.from_json(store.db.get(PREFIX + "layout")) == CURRENT
    pd.testing.assert_frame_equal(migrated.features("a").features, before)
    store.db.set(PREFIX + "layout",
                 StateLayout(CURRENT.version + 1, CURRENT.events, CURRENT.accounts).to_json())
    with pytest.raises(StateVersionError, match=f"version {CURRENT.version + 1}.*expects "
                                                f"version {CURRENT.version}.*replay"):
        RedisFeatureStore(redis_server.url)
    store.db.delete(PREFIX + "layout")
    with pytest.raises(StateVersionError, match="without a schema version"):
        RedisFeatureStore(redis_server.url)


def test_a_state_of_event_lists_is_converted_to_history_blobs_on_open(redis_server):
    store = _filled(redis_server.url)
    before, history = store.features("a").features, plain(store.history("a"))
    for key in store.db.scan_iter(match=f"{PREFIX}history:a:*"):
        store.db.delete(key)
    rows = [dict(zip(history, values, strict=True))
            for values in zip(*history.values(), strict=True)]
    store.db.rpush(f"{PREFIX}events:a", *[json.dumps({k: v for k, v in r.items()
                                                      if k != s.USER_AGENT}) for r in rows])
    before_blobs = dataclasses.replace(CURRENT, version=BLOBS_SINCE - 1)
    store.db.set(PREFIX + "layout", before_blobs.to_json())
    converted = RedisFeatureStore(redis_server.url)
    assert plain(converted.history("a")) == {**history, s.USER_AGENT: [None]}
    assert not store.db.exists(f"{PREFIX}events:a")
    pd.testing.assert_frame_equal(converted.features("a").features, before)


def test_an_event_another_process_stored_first_is_not_appended_twice(redis_server):
    _stored_first(_filled(redis_server.url))


def test_compaction_leaves_an_account_written_since_it_was_read(redis_server, monkeypatch):
    store = _filled(redis_server.url)
    first = pd.Timestamp("2026-01-31", tz="UTC")
    store.add_events(pd.DataFrame([{s.EVENT_ID: "x0", s.ACCOUNT_ID: "a", s.DEVICE_ID: "d1",
                                    s.TS: first}]))
    other = RedisFeatureStore(redis_server.url)
    read = store._read

    def read_then_written(account_ids, columns):
        stale = read(account_ids, columns)
        other.add_events(pd.DataFrame([{s.EVENT_ID: "x2", s.ACCOUNT_ID: "a",
                                        s.TS: pd.Timestamp("2026-02-02", tz="UTC")}]))
        return stale

    monkeypatch.setattr(store, "_read", read_then_written)
    store.drop_before(pd.Timestamp("2026-03-01", tz="UTC").value, ["a"])
    assert store.history("a")[s.EVENT_ID].tolist() == ["x1", "x0", "x2"]  # nothing lost yet
    assert [p[2:] for p in store.pairs_for(DEVICE, ["d1"])] == [("a", first.value)]  # nor links
    monkeypatch.setattr(store, "_read", read)
    store.drop_before(pd.Timestamp("2026-02-02", tz="UTC").value, ["a"])
    assert store.history("a")[s.EVENT_ID].tolist() == ["x2"]
    assert store.pairs_for(DEVICE, ["d1"]) == []


def _events(n: int, account: str = "busy") -> list[dict]:
    return [{"event_id": f"burst-{i}", "account_id": account,
             "ts": f"2026-02-01T1{i // 60 % 10}:{i % 60:02d}:00Z", "device_id": f"d{i % 5}",
             "ip": f"203.0.113.{i % 7}", "lat": 40.7, "lon": -74.0} for i in range(n)]


def test_redis_store_gives_the_sqlite_stores_features(redis_server, small_world, tmp_path):
    world, accounts, events = small_world
    chosen = accounts[s.ACCOUNT_ID].head(40)
    mine = events[events[s.ACCOUNT_ID].isin(chosen)].reset_index(drop=True)
    stores = [SqliteFeatureStore(tmp_path / "state.sqlite"), RedisFeatureStore(redis_server.url)]
    for store in stores:
        for record in accounts[accounts[s.ACCOUNT_ID].isin(chosen)].to_dict("records"):
            store.upsert_account(record)
        for start in range(0, len(mine), 500):  # batches, with a retried batch
            store.add_events(mine.iloc[start:start + 500])
        store.add_events(mine.iloc[:100])
        moved = accounts[accounts[s.ACCOUNT_ID] == chosen.iloc[0]].to_dict("records")[0]
        store.upsert_account({**moved, s.PAYOUT_ID: "shared-payout"})
        store.upsert_account({**accounts[accounts[s.ACCOUNT_ID] == chosen.iloc[1]].to_dict(
            "records")[0], s.PAYOUT_ID: "shared-payout"})
    sqlite_store, redis_store = stores
    assert redis_store.watermark() == sqlite_store.watermark()
    for account in chosen.head(12):
        a = sqlite_store.features(account).features
        b = redis_store.features(account).features
        pd.testing.assert_frame_equal(a, b)
    first = redis_store.features(chosen.iloc[0]).features
    assert first["payout_accounts"].iloc[0] == 2
    assert len(redis_store.history(chosen.iloc[0])[s.EVENT_ID]) == (
        mine[s.ACCOUNT_ID] == chosen.iloc[0]).sum()


def test_a_bulk_load_is_written_a_chunk_a_script(redis_server, monkeypatch, tmp_path):
    """Tens of thousands of events in one `add_events` were one script call, which held Redis
    (every replica waited) and outlasted redis-py's socket timeout; now `PUT_CHUNK` a call,
    with the same state as one call would leave."""
    monkeypatch.setattr(redis_module, "PUT_CHUNK", 10)
    store, reference = RedisFeatureStore(redis_server.url), SqliteFeatureStore(tmp_path / "s.db")
    events = pd.DataFrame(_events(45) + _events(8, "quiet"))

    def scripts() -> int:
        return store.db.info("commandstats").get("cmdstat_evalsha", {"calls": 0})["calls"]

    before = scripts()
    for state in (store, reference):
        state.add_events(events)
        state.add_events(events.head(12))  # a retry across two chunks stores nothing twice
    assert scripts() - before == 6 + 2
    assert len(store.history("busy")[s.EVENT_ID]) == 45
    for account in ("busy", "quiet"):
        pd.testing.assert_frame_equal(store.features(account).features,
                                      reference.features(account).features)


def test_two_servers_share_one_redis_and_a_burst_loses_nothing(redis_server, server_factory):
    servers = [server_factory(redis_server.url).wait_ready() for _ in range(2)]
    events = _events(64)

    def send(i: int) -> int:
        with servers[i % 2].client() as c:
            return c.post("/v1/events", json={"events": [events[i % 64]]}).status_code

    with ThreadPoolExecutor(16) as pool:  # each event twice, once through each server
        codes = list(pool.map(send, range(128)))
    assert codes == [200] * 128
    store = RedisFeatureStore(redis_server.url)
    stored = store.history("busy")[s.EVENT_ID]
    assert sorted(stored) == sorted(e["event_id"] for e in events)
    with servers[1].client() as c:
        reply = c.post("/v1/events", json={"events": events[:1]}).json()
    assert reply["scores"][0]["account_id"] == "busy"
    assert store.features("busy").features["device_accounts_max"].iloc[0] == 1
    assert len(store.history("busy")[s.EVENT_ID]) == 64


def test_acknowledged_events_survive_a_redis_crash(redis_server, server_factory):
    server = server_factory(redis_server.url).wait_ready()
    with server.client() as c:
        for event in _events(20, "a1"):
            assert c.post("/v1/events", json={"events": [event]}).status_code == 200
    redis_server.kill()  # SIGKILL right after the last acknowledged reply
    redis_server.start()
    db = redis.Redis.from_url(redis_server.url, decode_responses=True)
    assert len(RedisFeatureStore(redis_server.url).history("a1")[s.EVENT_ID]) == 20
    assert db.scard(f"{PREFIX}event_ids") == 20


def test_the_redis_store_drops_state_older_than_the_retention_window(redis_server):
    _retention_story(RedisFeatureStore(redis_server.url, FeatureConfig(retention_days=1)))


def test_an_event_stored_while_its_account_is_compacted_keeps_its_pairs(redis_server):
    cfg = FeatureConfig(retention_days=1)
    _compaction_race(RedisFeatureStore(redis_server.url, cfg),
                     RedisFeatureStore(redis_server.url, cfg))
