"""What the employer's records say of each account: the claimed home (the HR record lags
some honest moves), the time zone each device reports, and the payout and phone ids (an
operator's pool for fraud, an agency's one account for its contractors)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from persona_risk.training.simulator import world
from persona_risk.training.simulator.fraud import FraudNetworks
from persona_risk.training.simulator.honest import HonestNetworks
from persona_risk.training.simulator.params import WorldParams
from persona_risk.training.simulator.population import Population, chunk_sizes

MISSET_ZONES = ("UTC", "America/Los_Angeles", "Europe/London", "Asia/Kolkata", "Asia/Shanghai")


@dataclass
class Records:
    """Per account except `device_tz`, which is per device (two per account, then one per
    operator)."""

    claimed_city: np.ndarray  # row of `world.cities()`
    device_tz: np.ndarray
    payout: np.ndarray  # integer ids, unique unless shared
    phone: np.ndarray

    @staticmethod
    def laptop(n: int) -> np.ndarray:
        """Each account's first device (its laptop) among the devices."""
        return 2 * np.arange(n)


def account_records(rng: np.random.Generator, pop: Population, fraud: FraudNetworks,
                    honest: HonestNetworks, p: WorldParams) -> Records:
    """Claimed homes, device zones and payout/phone ids of the world's accounts."""
    n = len(pop.persona)
    cities = world.cities()
    us = world.city_indices(("US",))
    is_fraud = pop.fraud
    op = np.maximum(pop.operator, 0)
    # honest people move, or their ISP geolocates to a regional hub: the HR record lags
    claimed_city = pop.home.copy()
    abroad = ~np.isin(pop.home, us)
    moved = ~is_fraud & ~abroad & (rng.random(n) < p.claim_elsewhere_share)
    claimed_city[moved] = world.nearby_city(rng, pop.home[moved], us, 80, 1200)

    # devices: one table of ids and reported zones
    device_tz = np.concatenate([np.repeat(pop.claimed_tz, 2), fraud.op_zone]).astype(object)
    laptop = Records.laptop(n)
    laptop_tz_claimed = rng.random(n) < p.device_tz_claimed_share
    # honest devices are not all set right: some report UTC or another zone
    misset = ~is_fraud & (rng.random(n) < p.misset_device_tz_share)
    device_tz[laptop[misset] + rng.integers(0, 2, misset.sum())] = rng.choice(
        MISSET_ZONES, misset.sum())
    vpn_op = (pop.persona == "vpn_operator") & (rng.random(n) >= p.vpn_tz_claimed_share)
    device_tz[laptop[vpn_op]] = fraud.op_zone[op[vpn_op]]
    farm_local = (pop.persona == "farm") & ~laptop_tz_claimed
    device_tz[laptop[farm_local]] = cities.tz.to_numpy()[fraud.farm_city[fraud.farm[farm_local]]]

    # payout and phone: unique for most honest accounts, drawn from the operator's pool for
    # fraud; an agency pays its contractors into one account
    payout = np.arange(n) + 10 * n
    phone = np.arange(n) + 20 * n
    share = is_fraud & (rng.random(n) < fraud.op_share_rate[op])
    payout[share] = op[share] * 2 + rng.integers(0, 2, share.sum())
    phone[share] = op[share] * 2 + rng.integers(0, 2, share.sum()) + 5 * n
    agency = np.flatnonzero(pop.persona == "agency_contractor")
    agency_sizes = chunk_sizes(rng, len(agency), 3, 20)
    payout[agency] = 25 * n + np.repeat(np.arange(len(agency_sizes)), agency_sizes)
    if p.shared_phone_share > 0:  # drawn only when used: the reference world keeps its stream
        members = np.flatnonzero(pop.persona == "shared_device")
        _, first, household = np.unique(honest.device[members], return_index=True,
                                        return_inverse=True)  # a household shares its device
        one = (rng.random(len(first)) < p.shared_phone_share)[household]
        phone[members[one]] = phone[members[first][household[one]]]
    return Records(claimed_city, device_tz, payout, phone)
