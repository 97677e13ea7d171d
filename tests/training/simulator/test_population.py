"""Who is who: archetype counts, operators, creation days."""

from __future__ import annotations

import dataclasses

import numpy as np

from persona_risk.training.simulator import world
from persona_risk.training.simulator.params import HONEST_MIX, WorldParams
from persona_risk.training.simulator.population import (
    FRAUD_ARCHETYPES,
    chunk_sizes,
    draw_population,
)


def test_chunks_add_up_and_stay_in_their_range_but_the_last():
    sizes = chunk_sizes(np.random.default_rng(0), 101, 3, 20)
    assert sizes.sum() == 101
    assert ((sizes[:-1] >= 3) & (sizes[:-1] <= 20)).all()


def test_fraud_rate_operators_and_young_fraud():
    pop = draw_population(np.random.default_rng(1), 2000, 0.05, 30, WorldParams())
    assert pop.fraud.sum() == 100
    assert set(pop.persona[pop.fraud]) <= set(FRAUD_ARCHETYPES)
    assert (pop.operator[~pop.fraud] == -1).all()
    assert pop.operators == len(np.unique(pop.operator[pop.fraud]))
    # without aged accounts every fraud account is created in its tenure before the log
    assert (pop.created_days[pop.fraud] >= -WorldParams().fraud_tenure_days).all()


def test_personas_with_a_long_tenure_were_hired_long_before_the_log():
    p = dataclasses.replace(WorldParams(), fraud_tenure_days=600.0)
    pop = draw_population(np.random.default_rng(1), 4000, 0.05, 30, p)
    created = pop.created_days[pop.fraud]
    assert (created >= -600).all() and (created < -300).mean() > 0.3


def test_a_smaller_tenant_share_shows_fewer_personas_per_operator():
    full = draw_population(np.random.default_rng(2), 4000, 0.05, 30, WorldParams())
    tenant = draw_population(np.random.default_rng(2), 4000, 0.05, 30,
                             dataclasses.replace(WorldParams(), tenant_share=0.2))
    assert tenant.operators > 1.5 * full.operators


def test_some_agency_contractors_live_abroad_when_the_agency_is_an_employer_of_record():
    p = WorldParams(honest_mix={**HONEST_MIX, "agency_contractor": 0.3}, agency_abroad_share=0.5)
    pop = draw_population(np.random.default_rng(2), 2000, 0.02, 30, p)
    us = world.city_indices(("US",))
    agency = pop.persona == "agency_contractor"
    assert 0.3 < (~np.isin(pop.home[agency], us)).mean() < 0.7
    assert np.isin(pop.home[pop.persona == "office"], us).all()
