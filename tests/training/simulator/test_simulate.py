"""The simulator: deterministic, the archetype mix, and the traces each archetype leaves."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from persona_risk.features import schema as s
from persona_risk.features.geo import haversine_km, ip_prefix
from persona_risk.features.validate import validate_accounts, validate_events
from persona_risk.training.simulator import world
from persona_risk.training.simulator.params import (
    HONEST_MIX,
    LOOK_ALIKES,
    RANGES,
    WorldParams,
    draw,
    shifted,
)
from persona_risk.training.simulator.population import FRAUD_ARCHETYPES
from persona_risk.training.simulator.simulate import (
    WORLD_ACCOUNTS,
    SimConfig,
    _world_sizes,
    simulate,
    worlds_for,
)


@pytest.fixture(scope="module")
def sim():
    w = simulate(SimConfig(accounts=1500, days=45, fraud_rate=0.08, seed=3))
    return w, w.events.merge(w.accounts[[s.ACCOUNT_ID, s.PERSONA]], on=s.ACCOUNT_ID)


def test_same_seed_same_tables():
    a = simulate(SimConfig(accounts=200, days=20, seed=11))
    b = simulate(SimConfig(accounts=200, days=20, seed=11))
    c = simulate(SimConfig(accounts=200, days=20, seed=12))
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.accounts, b.accounts)
    assert not a.events[s.TS].equals(c.events[s.TS])


def test_output_follows_the_contract(sim):
    w, _ = sim
    validate_accounts(w.accounts)
    clean, quarantine = validate_events(w.events)
    assert quarantine.empty and len(clean) == len(w.events)
    assert set(w.truth[s.ACCOUNT_ID]) == set(w.accounts.loc[w.accounts[s.LABEL] == 1,
                                                            s.ACCOUNT_ID])


def test_world_has_real_cities():
    cities = world.cities()
    assert len(cities) >= 200
    ny = cities[(cities.name == "New York City") & (cities.country == "US")].iloc[0]
    assert abs(ny.lat - 40.71) < 0.1 and ny.tz == "America/New_York"


def test_archetype_mix(sim):
    w, _ = sim
    personas = set(w.accounts[s.PERSONA])
    assert {k for k, v in HONEST_MIX.items() if v > 0} <= personas
    assert set(FRAUD_ARCHETYPES) <= personas
    assert w.accounts[s.LABEL].mean() == pytest.approx(0.08, abs=0.01)
    fraud = w.accounts[s.LABEL] == 1
    assert set(w.accounts.loc[fraud, s.PERSONA]) == set(FRAUD_ARCHETYPES)


def test_farm_personas_share_ips_with_their_farm(sim):
    w, ev = sim
    farm_ev = ev[ev[s.PERSONA] == "farm"].merge(w.truth[[s.ACCOUNT_ID, s.FARM_ID]])
    per_ip = farm_ev.groupby(s.IP)[s.ACCOUNT_ID].nunique()
    assert per_ip.max() >= 3
    direct = farm_ev[farm_ev[s.COUNTRY].isin(["CN", "RU"])]
    assert len(direct) > 0 and direct[s.DEVICE_TZ].str.startswith("Asia/").all()


def _max_speed(events: pd.DataFrame) -> pd.Series:
    ev = events.sort_values([s.ACCOUNT_ID, s.TS])
    same = ev[s.ACCOUNT_ID].eq(ev[s.ACCOUNT_ID].shift())
    km = haversine_km(ev[s.LAT].shift(), ev[s.LON].shift(), ev[s.LAT], ev[s.LON])
    hours = (ev[s.TS] - ev[s.TS].shift()).dt.total_seconds() / 3600
    moved = same & ev[s.IP].ne(ev[s.IP].shift()) & (km > 50)
    speed = np.where(moved, km / np.maximum(hours, 1 / 60), 0.0)
    return pd.Series(speed, index=ev.index).groupby(ev[s.ACCOUNT_ID]).max()


def test_travellers_never_exceed_airliner_speed_but_vpn_users_do(sim):
    _, ev = sim
    travellers = ev[ev[s.PERSONA] == "traveller"]
    assert travellers[s.COUNTRY].ne("US").any()  # they do travel abroad
    assert _max_speed(travellers).max() < 900
    assert (_max_speed(ev[ev[s.PERSONA] == "vpn_user"]) > 900).mean() > 0.5


def test_fraud_is_young_but_not_all_young_accounts_are_fraud(sim):
    w, _ = sim
    end = pd.Timestamp("2026-01-05", tz="UTC") + pd.Timedelta(days=45)
    young = (end - w.accounts[s.CREATED_AT]).dt.days < 90
    assert young[w.accounts[s.LABEL] == 1].all()
    assert (young & (w.accounts[s.LABEL] == 0)).sum() > young[w.accounts[s.LABEL] == 1].sum()


def test_operators_reuse_devices_and_payouts(sim):
    w, ev = sim
    vpn_ops = ev[ev[s.PERSONA] == "vpn_operator"]
    assert vpn_ops.groupby(s.DEVICE_ID)[s.ACCOUNT_ID].nunique().max() >= 3
    fraud = w.accounts[w.accounts[s.LABEL] == 1]
    assert fraud[s.PAYOUT_ID].duplicated().any()
    honest = w.accounts[w.accounts[s.LABEL] == 0]
    assert not honest[s.PAYOUT_ID].duplicated().any()


def test_world_structure_follows_its_params():
    """One IP per farm, no device ids, IPv6 privacy addresses: each knob shows in the logs."""
    import ipaddress

    params = shifted("farm_ips", 1)
    params = dataclasses.replace(params, no_device_id_share=1.0, ipv6_share=0.5)
    w = simulate(SimConfig(accounts=800, days=20, fraud_rate=0.1, seed=5, params=params))
    ev = w.events.merge(w.truth[[s.ACCOUNT_ID, s.FARM_ID]])
    farm = ev[ev[s.ACCOUNT_ID].isin(w.truth.loc[w.truth[s.PERSONA] == "evasive", s.ACCOUNT_ID])]
    v4 = farm[~farm[s.IP].astype(str).str.contains(":")]
    assert v4.groupby(s.FARM_ID)[s.IP].nunique().max() == 1
    assert w.events[s.DEVICE_ID].isna().all()
    v6 = w.events[s.IP].astype(str)
    v6 = v6[v6.str.contains(":")]
    assert len(v6) > 0 and all(ipaddress.ip_address(a).version == 6 for a in v6.unique())
    clean, quarantine = validate_events(w.events)
    assert quarantine.empty


def test_agency_contractors_share_a_payout_account_and_are_honest():
    params = shifted("agency_contractor", 0.2)
    w = simulate(SimConfig(accounts=1000, days=15, seed=6, params=params))
    agency = w.accounts[w.accounts[s.PERSONA] == "agency_contractor"]
    assert (agency[s.LABEL] == 0).all()
    assert agency.groupby(s.PAYOUT_ID).size().max() >= 3


def test_service_accounts_sign_in_around_the_clock_without_a_person():
    w = simulate(SimConfig(accounts=1000, days=15, seed=6,
                           params=shifted("service_account", 0.1)))
    service = w.accounts.loc[w.accounts[s.PERSONA] == "service_account", s.ACCOUNT_ID]
    assert len(service) > 50 and (w.accounts.loc[service.index, s.LABEL] == 0).all()
    ev = w.events[w.events[s.ACCOUNT_ID].isin(service)]
    assert ev[s.DEVICE_ID].isna().all() and ev[s.DEVICE_TZ].isna().all()
    assert ev[s.INTERACTIVE].mean() < 0.15 and ev[s.ANONYMIZER].any()
    night = ev[s.TS].dt.tz_convert("America/New_York").dt.hour.isin(range(0, 6))
    assert 0.15 < night.mean() < 0.35  # a quarter of the day, not a person's hours
    per_account = ev.groupby(s.ACCOUNT_ID, observed=True).size().mean()
    others = w.events.groupby(s.ACCOUNT_ID, observed=True).size().mean()
    assert per_account > 2 * others
    assert "service_account" not in set(simulate(SimConfig(
        accounts=1000, days=15, seed=6)).accounts[s.PERSONA])


def test_activity_spread_makes_some_people_rare_and_some_busy_at_the_same_mean():
    """With every account at one rate, a count of events told a young account (fraud) from an
    old one; an employer has dormant, part-time and heavy users."""
    def counts(spread: float) -> pd.Series:
        w = simulate(SimConfig(accounts=1000, days=30, seed=6,
                               params=WorldParams(activity_spread=spread)))
        return w.events.groupby(s.ACCOUNT_ID, observed=True).size()
    even, uneven = counts(0.0), counts(1.2)
    spread = [c.quantile(0.9) / c.quantile(0.1) for c in (even, uneven)]
    assert spread[1] > 3 * spread[0]
    assert uneven.sum() == pytest.approx(even.sum(), rel=0.25)


def test_randomized_worlds_draw_every_constant_in_its_range_and_pool_apart():
    rng = np.random.default_rng(0)
    drawn = [draw(rng) for _ in range(20)]
    for name, (low, high, _) in RANGES.items():
        values = [getattr(p, name) for p in drawn]
        assert all(low <= v <= high for v in values), name
        assert len(set(values)) > 1, name
    a = simulate(SimConfig(accounts=900, days=15, seed=2, randomize=True, worlds=3))
    b = simulate(SimConfig(accounts=900, days=15, seed=2, randomize=True, worlds=3))
    pd.testing.assert_frame_equal(a.events, b.events)
    assert len(a.accounts) == 900
    worlds = a.accounts[s.ACCOUNT_ID].str.split("-").str[0]
    assert set(worlds) == {"w0", "w1", "w2"}
    sizes = worlds.value_counts()
    assert sizes.max() > 1.2 * sizes.min()  # employers differ in size: counts are no tell
    assert list(_world_sizes(SimConfig(accounts=900, seed=2, worlds=3), 3)) == [300] * 3
    validate_accounts(a.accounts)
    assert validate_events(a.events)[1].empty
    assert set(LOOK_ALIKES) & set(a.accounts[s.PERSONA])


def test_pooled_worlds_share_no_network():
    """Pooled worlds are employers simulated apart: a /24 or an IPv6 line's /64 belongs to one
    world (IPv6 lines were numbered within their world, so pooled worlds reused each other's
    /64s and every honest account seemed to share its network with strangers)."""
    w = simulate(SimConfig(accounts=900, days=15, seed=2, worlds=3,
                           params=WorldParams(ipv6_share=0.5)))
    prefix = ip_prefix(w.events[s.IP].astype(str))
    world_of = w.events[s.ACCOUNT_ID].astype(str).str.split("-").str[0]
    assert prefix.str.contains(":").mean() > 0.1
    assert pd.DataFrame({"net": prefix, "world": world_of}).groupby("net")["world"].nunique(
    ).max() == 1


def test_pooled_worlds_have_about_world_accounts_each():
    assert worlds_for(64_000) == 64_000 // WORLD_ACCOUNTS == 16
    assert worlds_for(1) == 1 and worlds_for(5_000) == 1 and worlds_for(7_000) == 2
    assert worlds_for(10_000) == 3  # halves round up
    sizes = _world_sizes(SimConfig(accounts=64_000, randomize=True, worlds=worlds_for(64_000)), 16)
    assert sizes.sum() == 64_000 and sizes.min() < WORLD_ACCOUNTS < sizes.max()
