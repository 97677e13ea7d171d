"""Who is who in one simulated world: each account's archetype and operator, the city its
person signs in from, the time zone it claims and the day it was created."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from persona_risk.training.simulator import world
from persona_risk.training.simulator.params import WorldParams

FRAUD_ARCHETYPES = ("farm", "vpn_operator", "evasive")
# is_(codes, *archetypes): which events' persona codes are among the archetypes
ArchetypeTest = Callable[..., np.ndarray]


@dataclass
class Population:
    """Per account (arrays of the world's length); later steps move some homes."""

    persona: np.ndarray  # archetype name
    operator: np.ndarray  # operator of a fraud account, -1 for honest
    home: np.ndarray  # row of `world.cities()` the person signs in from
    claimed_tz: np.ndarray  # IANA zone of the claimed home
    created_days: np.ndarray  # creation, in days from the world's start (negative: before)

    @property
    def fraud(self) -> np.ndarray:
        return self.operator >= 0

    @property
    def operators(self) -> int:
        """Operators in the world (at least one, so per-operator arrays are never empty)."""
        return max(int(self.operator.max()) + 1 if self.fraud.any() else 0, 1)


def chunk_sizes(rng: np.random.Generator, total: int, low: int, high: int) -> np.ndarray:
    """Sizes of groups of `low` to `high` members (the last smaller) that add up to `total`."""
    sizes = []
    while total > 0:
        size = min(int(rng.integers(low, high + 1)), total)
        sizes.append(size)
        total -= size
    return np.array(sizes, dtype=np.int64)


def _archetypes(rng: np.random.Generator, n: int, fraud_rate: float,
                p: WorldParams) -> tuple[np.ndarray, np.ndarray]:
    """Archetype per account and operator per fraud account (-1 for honest). With a tenant
    share below 1 the operators are larger than the personas this employer sees of them."""
    n_fraud = int(round(n * fraud_rate))
    mix = np.array(list(p.honest_mix.values()), float)
    honest = rng.choice(list(p.honest_mix), n - n_fraud, p=mix / mix.sum())
    sizes, total = [], 0
    while total < n_fraud:  # the personas this employer sees of each operator
        full = int(rng.integers(p.personas_min, p.personas_max + 1))
        seen = full if p.tenant_share >= 1 else max(1, int(rng.binomial(full, p.tenant_share)))
        sizes.append(min(seen, n_fraud - total))
        total += sizes[-1]
    sizes = np.array(sizes, dtype=np.int64)
    e = p.evasion_share
    kinds = rng.choice(FRAUD_ARCHETYPES, len(sizes), p=[(1 - e) * 0.65, (1 - e) * 0.35, e])
    fraud = np.repeat(kinds, sizes)
    operator = np.concatenate([np.full(n - n_fraud, -1), np.repeat(np.arange(len(sizes)),
                                                                   sizes)])
    persona = np.concatenate([honest, fraud]).astype(object)
    order = rng.permutation(n)
    return persona[order], operator[order]


def draw_population(rng: np.random.Generator, n: int, fraud_rate: float, days: int,
                    p: WorldParams) -> Population:
    """`n` accounts of world `p` over `days` days: US homes (contractors and some agency
    contractors abroad), old honest accounts, recent new hires, young fraud (some bought or
    aged)."""
    cities = world.cities()
    persona, operator = _archetypes(rng, n, fraud_rate, p)
    fraud = operator >= 0
    home = rng.choice(world.city_indices(("US",)), n)
    abroad = persona == "contractor_abroad"
    if p.agency_abroad_share:  # drawn only when used: the reference world keeps its stream
        abroad |= (persona == "agency_contractor") & (rng.random(n) < p.agency_abroad_share)
    home[abroad] = rng.choice(world.city_indices(world.CONTRACTOR_COUNTRIES, exclude_us=True),
                              abroad.sum())
    claimed_tz = cities.tz.to_numpy()[home]

    window_days = days * 0.85
    created_days = -rng.uniform(60, 1500, n)
    recent = (persona == "new_hire") | (~fraud & (rng.random(n) < 0.06))
    created_days[recent] = rng.uniform(-30, window_days, recent.sum())
    aged = fraud & (rng.random(n) < p.aged_account_share)
    young = fraud & ~aged
    created_days[young] = rng.uniform(-p.fraud_tenure_days, window_days, young.sum())
    created_days[aged] = -rng.uniform(120, 1500, aged.sum())
    return Population(persona, operator, home, claimed_tz, created_days)
