"""Allow-lists: one rule for which events are on allowed infrastructure, and what it leaves out
of the features, equally in batch and online."""

from __future__ import annotations

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.allow import AllowEntry, AllowList
from persona_risk.features.arrays import Keys
from persona_risk.features.config import FeatureConfig
from persona_risk.features.memory_store import OnlineFeatureState
from persona_risk.features.pipeline import compute_features
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.validate import validate_events
from persona_risk.serving.sqlite_store import SqliteFeatureStore
from tests.features.helpers import BOSTON, NEW_YORK, NOW, event

LONDON, PARIS = (51.5074, -0.1278), (48.8566, 2.3522)
OFFICE = AllowList((AllowEntry("cidr", "198.51.100.0/24", "corporate VPN egress"),))


def test_the_first_matching_entry_of_each_kind_is_the_match():
    allow = AllowList((AllowEntry("asn", "64500", "remote desktop"),
                       AllowEntry("cidr", "10.0.0.0/8", "office"),
                       AllowEntry("cidr", "10.1.0.0/16", "lab"),
                       AllowEntry("cidr", "2001:db8::/32", "v6 office"),
                       AllowEntry("device", "kiosk", "lobby kiosk")))
    ip = Keys.of(pd.Series(["10.1.2.3", "10.1.2.3", "192.0.2.1", "2001:db8::5", "not-an-ip",
                            None]))
    asn = np.array([np.nan, 64500, 64500, np.nan, np.nan, np.nan])
    assert allow.network_match(ip, asn).tolist() == [1, 0, 0, 3, -1, -1]
    device = Keys.of(pd.Series(["kiosk", "laptop", None, "kiosk", None, None]))
    assert allow.device_match(device).tolist() == [4, -1, -1, 4, -1, -1]
    nothing = AllowList()
    assert not nothing and nothing.network_match(ip, asn).tolist() == [-1] * 6


def _events() -> pd.DataFrame:
    """a and b sign in through the office egress (198.51.100.7, located in London) between
    their homes in the US; c and d share a Paris IP outside the range."""
    office = {"ip": "198.51.100.7", "device_tz": "America/New_York"}
    rows = [
        event("a", "2026-03-02T08:00:00Z", NEW_YORK, ip="192.0.2.10", device_id="da"),
        event("a", "2026-03-02T09:00:00Z", LONDON, device_id="da", **office),
        event("a", "2026-03-02T11:00:00Z", NEW_YORK, ip="192.0.2.10", device_id="da"),
        event("b", "2026-03-02T10:00:00Z", LONDON, device_id="db", **office),
        event("b", "2026-03-02T12:00:00Z", BOSTON, ip="192.0.2.20", device_id="db"),
        event("c", "2026-03-02T08:00:00Z", PARIS, ip="203.0.113.5", device_id="dc"),
        event("c", "2026-03-02T18:00:00Z", BOSTON, ip="192.0.2.30", device_id="dc"),
        event("d", "2026-03-02T09:00:00Z", PARIS, ip="203.0.113.5", device_id="dd"),
    ]
    for i, row in enumerate(rows):
        row[s.EVENT_ID] = f"e{i}"
    clean, quarantine = validate_events(pd.DataFrame(rows), now=NOW)
    assert quarantine.empty
    return clean


def _batch(events: pd.DataFrame, allow: AllowList) -> pd.DataFrame:
    return compute_features(events, None, None, FeatureConfig(allow=allow),
                            with_signals=False).features.set_index(s.ACCOUNT_ID)


def _online(store, events: pd.DataFrame) -> pd.DataFrame:
    store.add_events(events, now=NOW)
    return store.features_of(["a", "b", "c", "d"]).features.set_index(s.ACCOUNT_ID)


def _differ(x: pd.DataFrame, y: pd.DataFrame) -> pd.DataFrame:
    a, b = x[FEATURE_NAMES].to_numpy(float), y.loc[x.index, FEATURE_NAMES].to_numpy(float)
    return pd.DataFrame(~np.isclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True),
                        index=x.index, columns=FEATURE_NAMES)


def test_an_allowed_range_changes_reuse_and_hops_of_exactly_its_users_in_batch_and_online(
        tmp_path):
    events = _events()
    before, after = _batch(events, AllowList()), _batch(events, OFFICE)
    changed = _differ(before, after)
    assert sorted(changed.index[changed.any(axis=1)]) == ["a", "b"]  # the range's users
    assert set(changed.columns[changed.any()]) <= {
        "speed_max_kmh", "speed_p95_kmh", "impossible_hops", "impossible_hop_share",
        "home_distance_km", "ip_accounts_max", "ip_accounts_mean", "prefix_accounts_max",
        "prefix_accounts_mean"}
    assert before.loc["a", "impossible_hops"] == 2 and after.loc["a", "impossible_hops"] == 0
    assert before.loc["b", "ip_accounts_max"] == 2 and after.loc["b", "ip_accounts_max"] == 1
    assert np.isnan(after.loc["b", "speed_max_kmh"])  # one hop end left: no hop
    assert after.loc[["c", "d"], "ip_accounts_max"].tolist() == [1, 2]  # not in the range
    assert after.loc["a", "ips_distinct"] == 2  # allowed sign-ins still count as its own
    for store in (OnlineFeatureState(FeatureConfig(allow=OFFICE)),
                  SqliteFeatureStore(tmp_path / "state.sqlite", FeatureConfig(allow=OFFICE))):
        assert not _differ(_online(store, events), after).to_numpy().any()
    assert not _differ(_online(OnlineFeatureState(), events), before).to_numpy().any()


def test_an_allowed_device_links_no_accounts():
    events = _events()
    shared = events.assign(**{s.DEVICE_ID: events[s.DEVICE_ID].where(
        ~events[s.ACCOUNT_ID].isin(["c", "d"]), "kiosk")})
    kiosk = AllowList((AllowEntry("device", "kiosk", "lobby kiosk"),))
    before, after = _batch(shared, AllowList()), _batch(shared, kiosk)
    assert before.loc[["c", "d"], "device_accounts_max"].tolist() == [2, 2]
    assert before.loc[["c", "d"], "cluster_size"].tolist() == [2, 2]
    assert np.isnan(after.loc[["c", "d"], "device_accounts_max"]).all()
    assert after.loc[["c", "d"], "cluster_size"].tolist() == [1, 1]
    online = _online(OnlineFeatureState(FeatureConfig(allow=kiosk)), shared)
    assert not _differ(online, after).to_numpy().any()
