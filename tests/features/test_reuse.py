"""Reuse counts are point in time; clusters link accounts through devices and identities."""

from __future__ import annotations

import numpy as np

from persona_risk.features.pipeline import ACCOUNT_REUSE
from persona_risk.features.reuse import CLUSTER_SIZE, SHARED_ID_COUNT
from persona_risk.features.state_schema import SHARED_IDS
from tests.features.helpers import event, run


def test_device_seen_on_a_fifth_account_counts_five_then_and_not_before():
    events = [event(f"a{i}", f"2026-02-0{i + 1}T10:00:00Z", device_id="laptop-1")
              for i in range(5)]
    r = run(events)
    counts = r.signals.sort_values("ts").device_accounts.tolist()
    assert counts == [1, 2, 3, 4, 5]
    f = r.features.set_index("account_id")
    assert f.loc["a4", "device_accounts_max"] == 5 and f.loc["a0", "device_accounts_max"] == 1
    assert (f.cluster_size == 5).all()


def test_ip_and_prefix_counts():
    r = run([event("a", "2026-02-01T10:00:00Z", ip="10.1.2.3"),
             event("b", "2026-02-01T11:00:00Z", ip="10.1.2.4"),
             event("c", "2026-02-01T12:00:00Z", ip="2001:db8::1"),
             event("d", "2026-02-01T13:00:00Z", ip="2001:db8::ffff")])
    sig = r.signals.set_index("account_id")
    assert sig.loc["b", "ip_accounts"] == 1 and sig.loc["b", "prefix_accounts"] == 2
    assert sig.loc["d", "prefix_accounts"] == 2  # same /64


def test_token_refreshes_share_no_ip_but_their_device():
    # a service's refresh address is shared by a whole tenant: no IP or prefix count from it
    r = run([event("a", "2026-02-01T10:00:00Z", ip="10.1.2.3"),
             event("b", "2026-02-01T11:00:00Z", ip="10.1.2.3", interactive=False,
                   device_id="laptop-1"),
             event("c", "2026-02-01T12:00:00Z", ip="10.1.2.3", device_id="laptop-1")])
    sig = r.signals.set_index("account_id")
    assert np.isnan(sig.loc["b", "ip_accounts"]) and np.isnan(sig.loc["b", "prefix_accounts"])
    assert sig.loc["c", "ip_accounts"] == 2 and sig.loc["c", "device_accounts"] == 2
    assert r.features.set_index("account_id").loc["b", "devices_distinct"] == 1


def test_payout_and_phone_sharing_and_clusters():
    accounts = [{"account_id": a, "created_at": "2026-01-01", "payout_id": p, "phone_id": t}
                for a, p, t in [("a", "p1", "t1"), ("b", "p1", None), ("c", None, "t1"),
                                ("d", None, None)]]
    r = run([event(a, "2026-02-01T10:00:00Z") for a in "abcd"], accounts)
    f = r.features.set_index("account_id")
    assert f.payout_accounts.tolist()[:2] == [2, 2] and np.isnan(f.loc["c", "payout_accounts"])
    assert f.loc["a", "cluster_size"] == 3 and f.loc["d", "cluster_size"] == 1


def test_distinct_devices_and_ips_missing_when_column_absent():
    f = run([event("a", "2026-02-01T10:00:00Z")]).features.iloc[0]
    assert np.isnan(f.devices_distinct) and np.isnan(f.ips_distinct)


def test_top_ip_share_is_the_share_of_interactive_sign_ins_on_the_most_used_ip():
    ips = ["10.0.0.1", "10.0.0.1", "10.0.0.1", "172.16.0.9"]
    refreshes = [event("a", f"2026-02-0{i}T12:00:00Z", ip="172.16.0.9", interactive=False)
                 for i in (1, 2, 3)]  # a token refresh shows where the app runs, not the person
    r = run([event("a", f"2026-02-0{i + 1}T10:00:00Z", ip=ip) for i, ip in enumerate(ips)]
            + refreshes + [event("b", "2026-02-01T11:00:00Z")])
    f = r.features.set_index("account_id")
    assert f.loc["a", "top_ip_share"] == 0.75 and np.isnan(f.loc["b", "top_ip_share"])


def test_pairs_of_plain_rows_are_reuse_pairs():
    import pandas as pd

    from persona_risk.features import schema as s
    from persona_risk.features.allow import AllowEntry, AllowList
    from persona_risk.features.reuse import PAIR_COLUMNS, reuse_pairs, row_pairs
    from persona_risk.features.validate import validate_events

    events, _ = validate_events(pd.DataFrame([
        event("a", "2026-02-01T10:00:00Z", device_id="d1", ip="10.1.2.3"),
        event("a", "2026-02-01T09:00:00Z", device_id="d1", ip="10.1.2.4"),
        event("b", "2026-02-01T11:00:00Z", ip="2001:db8::1"),
        event("c", "2026-02-01T12:00:00Z", device_id="d1"),
        event("d", "2026-02-01T13:00:00Z", device_id="d2", ip="10.9.9.9", interactive=False)]))
    rows = [(r[s.ACCOUNT_ID], r[s.TS].value, None if pd.isna(r[s.DEVICE_ID]) else r[s.DEVICE_ID],
             None if pd.isna(r[s.IP]) else r[s.IP], None, r[s.INTERACTIVE])
            for _, r in events.iterrows()]
    expected = sorted(reuse_pairs(events)[PAIR_COLUMNS].itertuples(index=False, name=None))
    assert sorted(row_pairs(rows)) == expected and len(expected) == 8  # d: its device only
    # the allow rule is the same on both paths: 10.1.2.3 (in the range) and d1 make no pair
    allow = AllowList((AllowEntry("cidr", "10.1.2.0/30", "office"),
                       AllowEntry("device", "d1", "kiosk")))
    allowed = sorted(reuse_pairs(events, allow)[PAIR_COLUMNS].itertuples(index=False, name=None))
    assert sorted(row_pairs(rows, allow)) == allowed
    assert sorted((kind, key) for kind, key, *_ in allowed) == [
        ("device", "d2"), ("ip", "10.1.2.4"), ("ip", "2001:db8::1"), ("prefix", "10.1.2.0/24"),
        ("prefix", "2001:db8::/64")]


def test_each_event_has_its_own_pairs_and_the_first_time_wins_across_them():
    from persona_risk.features.reuse import event_pairs, first_pairs

    rows = [("a", 20, "d1", "10.1.2.3", None, True), ("a", 10, "d1", None, None, True),
            ("b", 30, None, "10.1.2.3", None, False)]
    each = event_pairs(rows)
    assert each == [[("device", "d1", "a", 20), ("ip", "10.1.2.3", "a", 20),
                     ("prefix", "10.1.2.0/24", "a", 20)], [("device", "d1", "a", 10)], []]
    assert sorted(first_pairs(each)) == [("device", "d1", "a", 10), ("ip", "10.1.2.3", "a", 20),
                                         ("prefix", "10.1.2.0/24", "a", 20)]


def test_cross_index_of_all_accounts_answers_any_subset_as_computed_on_it():
    import pandas as pd

    from persona_risk.features import schema as s
    from persona_risk.features.arrays import Keys
    from persona_risk.features.reuse import (
        DEVICE,
        KIND,
        CrossIndex,
        accounts_at,
        cluster_sizes,
        identity_counts,
        reuse_pairs,
    )
    from persona_risk.features.validate import validate_accounts, validate_events

    events, _ = validate_events(pd.DataFrame([
        event("a", "2026-02-01T10:00:00Z", device_id="d1", ip="10.1.2.3"),
        event("b", "2026-02-02T10:00:00Z", device_id="d1", ip="10.1.2.4"),
        event("c", "2026-02-03T10:00:00Z", device_id="d2", ip="10.9.9.9"),
        event("d", "2026-02-04T10:00:00Z", device_id="d3")]))
    identities = validate_accounts(pd.DataFrame(
        [{"account_id": a, "created_at": "2026-01-01", "payout_id": p, "phone_id": None}
         for a, p in [("a", None), ("c", "p1"), ("d", "p1"), ("e", None)]]))
    pairs = reuse_pairs(events)
    index = CrossIndex.of(pairs, identities)
    ids = np.array(["b", "c", "e", "zz"], dtype=object)  # one partition's accounts, one unknown
    got = index.account_counts(ids)
    device = pairs[pairs[KIND] == DEVICE]
    assert np.array_equal(got[CLUSTER_SIZE], cluster_sizes(ids, device, identities))
    assert got[CLUSTER_SIZE].tolist() == [2, 2, 1, 1]  # a-b by d1, c-d by p1
    for column in (s.PAYOUT_ID, s.PHONE_ID):
        assert np.array_equal(got[SHARED_ID_COUNT[column]],
                              identity_counts(ids, identities, column), equal_nan=True)
    keys = Keys.of(pd.Series(["d1", None, "d3", "d9"], dtype=object))
    ts = pd.to_datetime(["2026-02-03", "2026-02-03", "2026-02-03", "2026-02-03"], utc=True)
    ts_ns = ts.as_unit("ns").asi8
    counts = index.event_counts(dict.fromkeys(index.kinds, keys), ts_ns)["device_accounts"]
    assert np.array_equal(counts, accounts_at(keys, ts_ns, device), equal_nan=True)
    assert np.array_equal(counts, [2, np.nan, 0, np.nan], equal_nan=True)


def test_the_account_level_reuse_names_are_the_registry_s():
    """Every engine and store names the per-account cross-account signals from
    `SHARED_ID_COUNT` and `CLUSTER_SIZE`: they must be exactly the registry's entries, one per
    shared id of the stored state."""
    assert sorted([*SHARED_ID_COUNT.values(), CLUSTER_SIZE]) == sorted(ACCOUNT_REUSE)
    assert set(SHARED_ID_COUNT) == set(SHARED_IDS)


def test_component_sizes_equal_scipy_connected_components():
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from persona_risk.features.reuse import component_sizes

    rng = np.random.default_rng(0)
    for n_accounts, n_nodes, n_edges in [(1, 1, 0), (5, 9, 4), (300, 500, 350), (50, 60, 200)]:
        left = rng.integers(0, n_accounts, n_edges)
        right = rng.integers(n_accounts, n_nodes, n_edges) if n_nodes > n_accounts else left
        graph = coo_matrix((np.ones(n_edges), (left, right)), (n_nodes, n_nodes))
        label = connected_components(graph, directed=False)[1][:n_accounts]
        expected = np.bincount(label)[label]
        assert component_sizes(n_accounts, n_nodes, left, right).tolist() == expected.tolist()
