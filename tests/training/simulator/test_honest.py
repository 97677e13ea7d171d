"""Honest networks: households share a home, line and device; look-alikes share egress."""

from __future__ import annotations

import numpy as np

from persona_risk.training.simulator import world
from persona_risk.training.simulator.honest import honest_networks
from persona_risk.training.simulator.params import HONEST_MIX, WorldParams
from persona_risk.training.simulator.population import draw_population


def _networks(p: WorldParams):
    rng = np.random.default_rng(3)
    pop = draw_population(rng, 1500, 0.02, 30, p)
    return pop, honest_networks(rng, pop, p, world.IpTable.empty())


def test_households_share_home_line_and_device_with_no_stranger():
    pop, net = _networks(WorldParams())
    family = pop.persona == "shared_device"
    devices, counts = np.unique(net.device[family], return_counts=True)
    assert counts.max() <= 3 and (counts == 1).sum() <= 1  # the last family may be one
    for d in devices[:20]:
        members = family & (net.device == d)
        assert len(np.unique(pop.home[members])) == 1
        assert len(np.unique(net.home_ip[members])) == 1
    assert len(np.unique(net.device[~family])) == (~family).sum()


def test_frontline_teams_share_a_workstation_up_to_the_household_size():
    pop, net = _networks(WorldParams(honest_mix={**HONEST_MIX, "shared_device": 0.2},
                                     household_max=12))
    counts = np.unique(net.device[pop.persona == "shared_device"], return_counts=True)[1]
    assert 3 < counts.max() <= 12


def test_corporate_vpn_staff_leave_through_a_few_egress_ips():
    pop, net = _networks(WorldParams(honest_mix={**HONEST_MIX, "corporate_vpn": 0.2}))
    staff = pop.persona == "corporate_vpn"
    assert len(np.unique(net.look_alike_ip["corporate_vpn"][staff])) <= 24 < staff.sum()


def test_remote_first_staff_sign_in_from_their_home_line_not_an_office():
    office_pop, office = _networks(WorldParams())
    remote_pop, remote = _networks(WorldParams(remote_share=1.0))
    staff = office_pop.persona == "office"
    assert (office.office_ip[staff] != office.home_ip[staff, None]).all()
    staff = remote_pop.persona == "office"
    assert (remote.office_ip[staff] == remote.home_ip[staff, None]).all()


def test_office_staff_live_at_the_employers_few_sites_and_share_their_office_ips():
    pop, net = _networks(WorldParams(office_sites=3))
    staff = np.isin(pop.persona, ("office", "new_hire", "traveller"))
    assert len(np.unique(pop.home[staff])) == 3
    assert len(np.unique(net.office_ip[staff])) == 12
    everywhere_pop, _ = _networks(WorldParams())
    everywhere = np.isin(everywhere_pop.persona, ("office", "new_hire", "traveller"))
    assert len(np.unique(everywhere_pop.home[everywhere])) > 50


def test_the_vpn_and_service_networks_have_the_size_drawn():
    p = WorldParams(honest_mix={**HONEST_MIX, "service_account": 0.2}, vpn_exits=15,
                    service_ips_per_region=30)
    pop, net = _networks(p)
    assert len(net.vpn_exits) == 15
    few_pop, few = _networks(WorldParams(honest_mix={**HONEST_MIX, "service_account": 0.2}))
    used = [len(np.unique(n.look_alike_ip["service_account"][q.persona == "service_account"]))
            for q, n in ((pop, net), (few_pop, few))]
    assert used[0] > 5 * used[1]


def test_the_vpn_exits_abroad_are_the_share_drawn_and_nothing_else_moves():
    _, before = _networks(WorldParams(vpn_exits=400))
    _, moved = _networks(WorldParams(vpn_exits=400, vpn_exits_abroad_share=0.6))
    us = world.cities().country.to_numpy() == "US"
    assert us[before.exit_cities].mean() > 0.85  # drawn by city: most exit cities are American
    assert 0.55 < 1 - us[moved.exit_cities].mean() < 0.75  # moved, and the few abroad anyway
    stayed = us[moved.exit_cities]
    assert (moved.exit_cities[stayed] == before.exit_cities[stayed]).all()
    assert (moved.home_ip == before.home_ip).all() and (moved.vpn_ip == before.vpn_ip).all()
