"""The employer's records: agencies' shared payout accounts, operators' id pools."""

from __future__ import annotations

import numpy as np

from persona_risk.training.simulator import world
from persona_risk.training.simulator.fraud import fraud_networks
from persona_risk.training.simulator.honest import honest_networks
from persona_risk.training.simulator.params import HONEST_MIX, WorldParams
from persona_risk.training.simulator.population import draw_population
from persona_risk.training.simulator.records import account_records


def _records(p: WorldParams, seed: int = 0):
    rng = np.random.default_rng(seed)
    pop = draw_population(rng, 1500, 0.08, 30, p)
    ips = world.IpTable.empty()
    fraud = fraud_networks(rng, None, pop, p, ips, honest_networks(rng, pop, p, ips))
    return pop, account_records(rng, pop, fraud, p)


def test_agency_contractors_are_paid_into_shared_accounts_honest_people_apart():
    pop, rec = _records(WorldParams(honest_mix={**HONEST_MIX, "agency_contractor": 0.1}))
    agency = pop.persona == "agency_contractor"
    counts = np.unique(rec.payout[agency], return_counts=True)[1]
    assert counts[:-1].min() >= 3
    others = ~agency & ~pop.fraud
    assert len(np.unique(rec.payout[others])) == others.sum()


def test_every_operator_shares_payout_ids_when_the_share_rate_is_one():
    pop, rec = _records(WorldParams(share_rate_low=1.0, share_rate_high=1.0))
    assert len(np.unique(rec.payout[pop.fraud])) <= 2 * pop.operators


def test_device_zones_one_per_device():
    pop, rec = _records(WorldParams())
    assert len(rec.device_tz) == 2 * len(pop.persona) + pop.operators
