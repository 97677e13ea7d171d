"""Fraud infrastructure: farms, own lines, facilitators near the claimed home."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.geo import haversine_km
from persona_risk.training.simulator import world
from persona_risk.training.simulator.fraud import fraud_networks
from persona_risk.training.simulator.honest import honest_networks
from persona_risk.training.simulator.params import HONEST_MIX, WorldParams
from persona_risk.training.simulator.population import draw_population
from persona_risk.training.simulator.simulate import SimConfig, simulate
from persona_risk.training.simulator.world import HOSTING_ASN


def _networks(**changes):
    p = dataclasses.replace(WorldParams(), **changes)
    rng = np.random.default_rng(5)
    pop = draw_population(rng, 2000, 0.08, 30, p)
    ips = world.IpTable.empty()
    return pop, fraud_networks(rng, None, pop, p, ips, honest_networks(rng, pop, p, ips)), p


def test_farms_have_their_ips_and_every_farmed_persona_a_farm():
    pop, net, p = _networks(farm_ips=5)
    assert net.farm_ips.shape == (len(net.farm_city), 5)
    farmed = np.isin(pop.persona, ("farm", "evasive"))
    assert (net.farm[farmed] >= 0).all() and (net.farm[~farmed] == -1).all()


def _farm_km(pop, net) -> np.ndarray:
    c, farmed = world.cities(), net.farm >= 0
    home, farm = pop.home[farmed], net.farm_city[net.farm[farmed]]
    return haversine_km(c.lat.to_numpy()[home], c.lon.to_numpy()[home], c.lat.to_numpy()[farm],
                        c.lon.to_numpy()[farm])


def test_own_lines_and_facilitators_near_the_claimed_home():
    pop, net, _ = _networks(own_line_share=1.0, farm_near_claim_share=1.0)
    farmed = net.farm >= 0
    assert net.own_line[farmed].all() and not net.own_line[~farmed].any()
    far_pop, far_net, _ = _networks(farm_near_claim_share=0.0)
    # near: within 300 km where such a city exists (an isolated farm city falls back)
    assert np.median(_farm_km(pop, net)) < 300 < np.median(_farm_km(far_pop, far_net))


def test_city_targeted_proxies_exit_in_the_claimed_home_city():
    pop, net, _ = _networks(proxy_share=1.0, proxy_local_share=1.0)
    fraud = pop.operator >= 0
    assert (net.local_exits[fraud] >= 0).all() and (net.local_exits[~fraud] == -1).all()
    _, none, _ = _networks(proxy_share=1.0)
    assert (none.local_exits == -1).all()


def test_vpn_operators_exit_abroad_in_the_share_drawn():
    def exit_countries(share: float) -> np.ndarray:
        p = dataclasses.replace(WorldParams(), operator_vpn_exits=6,
                                operator_vpn_abroad_share=share)
        rng = np.random.default_rng(5)
        pop = draw_population(rng, 2000, 0.08, 30, p)
        ips = world.IpTable.empty()
        net = fraud_networks(rng, None, pop, p, ips, honest_networks(rng, pop, p, ips))
        assert net.op_hosting.shape == (pop.operators, 6)
        return ips.frame().country.to_numpy()[net.op_hosting]
    assert (exit_countries(0.0) == "US").all()
    assert (exit_countries(1.0) != "US").all()


def _farm_events(**changes) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sign-ins of the farm personas and of the corporate-VPN staff of a small world."""
    p = WorldParams(honest_mix={**HONEST_MIX, "corporate_vpn": 0.1}, direct_rate_max=0.0,
                    **changes)
    w = simulate(SimConfig(accounts=1500, days=15, seed=3, fraud_rate=0.05, params=p))
    persona = w.events[s.ACCOUNT_ID].map(w.accounts.set_index(s.ACCOUNT_ID)[s.PERSONA])
    return w.events[persona.isin(["farm", "evasive"])], w.events[persona == "corporate_vpn"]


def test_farm_laptops_on_a_corporate_vpn_leave_through_the_employers_egress():
    farm, staff = _farm_events(farm_corporate_share=1.0)
    assert farm[s.IP].isin(set(staff[s.IP])).mean() > 0.95
    farm, _ = _farm_events()
    assert farm[s.ASN].ne(HOSTING_ASN).all()
    farm, staff = _farm_events(farm_vpn_share=1.0)
    assert farm[s.ASN].eq(HOSTING_ASN).mean() > 0.95
    assert not farm[s.IP].isin(set(staff[s.IP])).any()
