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
    honest = honest_networks(rng, pop, p, ips)
    fraud = fraud_networks(rng, None, pop, p, ips, honest)
    return pop, account_records(rng, pop, fraud, honest, p)


def test_agency_contractors_are_paid_into_shared_accounts_honest_people_apart():
    pop, rec = _records(WorldParams(honest_mix={**HONEST_MIX, "agency_contractor": 0.1}))
    agency = pop.persona == "agency_contractor"
    counts = np.unique(rec.payout[agency], return_counts=True)[1]
    assert counts[:-1].min() >= 3
    others = ~agency & ~pop.fraud
    assert len(np.unique(rec.payout[others])) == others.sum()


def test_households_share_one_phone_when_the_share_is_one_and_none_otherwise():
    family_mix = {**HONEST_MIX, "shared_device": 0.2}
    for share in (1.0, 0.0):
        pop, rec = _records(WorldParams(honest_mix=family_mix, shared_phone_share=share))
        family = pop.persona == "shared_device"
        honest_alone = ~family & ~pop.fraud
        assert len(np.unique(rec.phone[honest_alone])) == honest_alone.sum()
        counts = np.unique(rec.phone[family], return_counts=True)[1]
        if share:
            assert counts.max() <= 3 and (counts > 1).sum() > 10
        else:
            assert counts.max() == 1


def test_every_operator_shares_payout_ids_when_the_share_rate_is_one():
    pop, rec = _records(WorldParams(share_rate_low=1.0, share_rate_high=1.0))
    assert len(np.unique(rec.payout[pop.fraud])) <= 2 * pop.operators


def test_device_zones_one_per_device():
    pop, rec = _records(WorldParams())
    assert len(rec.device_tz) == 2 * len(pop.persona) + pop.operators
