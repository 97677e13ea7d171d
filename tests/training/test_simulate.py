"""The simulator: deterministic, the archetype mix, and the traces each archetype leaves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import schema as s
from features.geo import haversine_km
from features.validate import validate_accounts, validate_events
from training.simulator import world
from training.simulator.simulate import FRAUD_ARCHETYPES, HONEST_MIX, SimConfig, simulate


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
    assert set(HONEST_MIX) <= personas and set(FRAUD_ARCHETYPES) <= personas
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
