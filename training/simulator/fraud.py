"""Fraud archetypes' infrastructure and where their sign-ins come from: laptop farms in US
cities (some giving each persona a line of its own), operators abroad with their own devices,
hosting and rotating residential proxies, and how careful each operator is."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from persona_risk.training.simulator import world
from persona_risk.training.simulator.honest import HonestNetworks
from persona_risk.training.simulator.params import WorldParams
from persona_risk.training.simulator.population import FRAUD_ARCHETYPES, ArchetypeTest, Population
from persona_risk.training.simulator.world import RESIDENTIAL_ASN

OPERATOR_ZONES = ("Asia/Shanghai", "Asia/Pyongyang", "Asia/Vladivostok")
OPERATOR_ASN = 4134  # a Chinese carrier: the operators' direct sign-ins
PROXY_POOL = 400  # rotating residential proxy exits
LOCAL_EXITS = 8  # a city-targeted proxy's exits in the claimed home city, per persona


@dataclass
class FraudNetworks:
    """Per farm, per operator (`op_*`, indexed by operator) and per account (`farm`,
    `own_line`, `line_ip`: -1 or unused for accounts outside a farm)."""

    farm_city: np.ndarray
    farm_ips: np.ndarray  # farms x `WorldParams.farm_ips`
    farm: np.ndarray  # farm of each farm or evasive persona, -1 otherwise
    own_line: np.ndarray  # farm personas on a residential line of their own
    line_ip: np.ndarray  # that line
    proxy_pool: np.ndarray
    local_exits: np.ndarray  # accounts x `LOCAL_EXITS` proxy exits in the claimed home city
    op_zone: np.ndarray  # the operator's real IANA zone
    op_hosting: np.ndarray  # operators x `WorldParams.operator_vpn_exits` VPN exits
    corporate_ip: np.ndarray  # accounts x 4: the corporate VPN egress of its employer (of six)
    op_device: np.ndarray
    op_direct_ip: np.ndarray
    op_direct_rate: np.ndarray  # share of events straight from Asia
    op_device_rate: np.ndarray  # share of farm events on the operator's own device
    op_share_rate: np.ndarray  # share of personas on the operator's payout/phone pool
    op_asian_share: np.ndarray  # share of work in Asian daytime
    op_proxy: np.ndarray  # on rotating residential proxies instead of a farm or hosting
    op_proxy_local: np.ndarray  # those proxies' exits picked in each persona's claimed city


def fraud_networks(rng: np.random.Generator, farms: int | None, pop: Population,
                   p: WorldParams, ips: world.IpTable, honest: HonestNetworks) -> FraudNetworks:
    """The fraud infrastructure of the world, added to `ips` (`farms`: None for one farm per
    `p.personas_per_farm` fraud personas); personas whose facilitator lives near their
    claimed home move there."""
    n, n_op = len(pop.persona), pop.operators
    cities = world.cities()
    us = world.city_indices(("US",))
    jitter = p.geo_jitter_km
    n_farms = farms or max(1, int(np.ceil(pop.fraud.sum() / p.personas_per_farm)))
    farm_city = rng.choice(us, n_farms)
    farm_ips = ips.add(rng, np.repeat(farm_city, p.farm_ips), np.repeat(
        world.random_prefixes(rng, n_farms), p.farm_ips), RESIDENTIAL_ASN,
        jitter_km=min(jitter, 3)).reshape(-1, p.farm_ips)
    op_farm = rng.integers(0, n_farms, n_op)
    op_city = rng.choice(world.city_indices(world.OPERATOR_COUNTRIES), n_op)
    op_direct_ip = ips.add(rng, op_city, world.random_prefixes(rng, len(op_city)), OPERATOR_ASN)
    op_zone = rng.choice(OPERATOR_ZONES, n_op)
    us_exit = cities.country.to_numpy()[honest.exit_cities] == "US"
    op_hosting = rng.choice(honest.vpn_exits[us_exit], (n_op, p.operator_vpn_exits))
    if p.operator_vpn_abroad_share and (~us_exit).any():  # drawn only when used
        exit_rng = rng.spawn(1)[0]
        abroad = exit_rng.random(op_hosting.shape) < p.operator_vpn_abroad_share
        op_hosting[abroad] = exit_rng.choice(honest.vpn_exits[~us_exit], abroad.sum())
    op_device = 2 * n + np.arange(n_op)
    # operators differ in care: how often they slip, share ids, keep Asian hours
    op_direct_rate = rng.uniform(0.0, p.direct_rate_max, n_op)
    op_device_rate = rng.uniform(0.0, p.operator_device_rate_max, n_op)
    op_share_rate = rng.uniform(p.share_rate_low, p.share_rate_high, n_op)
    op_asian_share = rng.uniform(p.asian_hours_low, 1.0, n_op)
    op_proxy = rng.random(n_op) < p.proxy_share
    local_rng = rng.spawn(1)[0]  # draws of their own: worlds without them stay as they were
    op_proxy_local = op_proxy & (local_rng.random(n_op) < p.proxy_local_share)
    evasive_ops = np.unique(pop.operator[pop.persona == "evasive"])
    op_asian_share[evasive_ops] = rng.uniform(0.0, p.evasive_asian_max, len(evasive_ops))
    op = np.maximum(pop.operator, 0)
    farm = np.where(np.isin(pop.persona, ("farm", "evasive")), op_farm[op], -1)
    # some facilitators live near the persona's claimed home
    near = (farm >= 0) & (rng.random(n) < p.farm_near_claim_share)
    pop.home[near] = world.nearby_city(rng, farm_city[farm[near]], us, 0, 300)
    pop.claimed_tz[near] = cities.tz.to_numpy()[pop.home[near]]
    # some farms give each persona a residential line of its own
    own_line = (farm >= 0) & (rng.random(n) < p.own_line_share)
    line_ip = ips.add(rng, farm_city[np.maximum(farm, 0)], world.random_prefixes(rng, n),
                      RESIDENTIAL_ASN, jitter_km=min(jitter, 3))
    # rotating residential proxies: exits in many US cities, a fresh one most days
    proxy_pool = ips.add(rng, rng.choice(us, PROXY_POOL), world.random_prefixes(rng, PROXY_POOL),
                         RESIDENTIAL_ASN, jitter_km=jitter)
    local = np.flatnonzero((pop.operator >= 0) & op_proxy_local[op])
    local_exits = np.full((n, LOCAL_EXITS), -1)
    local_exits[local] = ips.add(local_rng, np.repeat(pop.home[local], LOCAL_EXITS),
                                 world.random_prefixes(local_rng, len(local) * LOCAL_EXITS),
                                 RESIDENTIAL_ASN, jitter_km=jitter).reshape(-1, LOCAL_EXITS)
    return FraudNetworks(farm_city, farm_ips, farm, own_line, line_ip, proxy_pool, local_exits,
                         op_zone, op_hosting, honest.look_alike_ip["corporate_vpn"], op_device,
                         op_direct_ip, op_direct_rate, op_device_rate, op_share_rate,
                         op_asian_share, op_proxy, op_proxy_local)


def route_fraud(rng: np.random.Generator, net: FraudNetworks, p: WorldParams, op: np.ndarray,
                laptop: np.ndarray, pc: np.ndarray, acc: np.ndarray, day: np.ndarray,
                u: np.ndarray, ip: np.ndarray, dev: np.ndarray,
                is_: ArchetypeTest) -> tuple[np.ndarray, np.ndarray]:
    """`ip` and `dev` of each event with the fraud accounts' events rerouted (`op`: operator
    per account, `laptop`: its laptop; `acc`, `pc`, `day`, `u`: each event's account,
    persona code, day and uniform draw): through the farm or the persona's own line (some
    through the operator's VPN or the employer's corporate VPN), rotating proxies, hosting, and
    now and then straight from Asia on the operator's device."""
    farmed = is_(pc, "farm", "evasive")
    ip[farmed] = net.farm_ips[net.farm[acc[farmed]], rng.integers(0, p.farm_ips, farmed.sum())]
    lined = farmed & net.own_line[acc]
    ip[lined] = net.line_ip[acc[lined]]
    if p.farm_vpn_share or p.farm_corporate_share:  # drawn only when used
        farm_rng = rng.spawn(1)[0]
        u_farm = farm_rng.random(len(acc))
        corporate = farmed & (u_farm < p.farm_corporate_share)
        ip[corporate] = net.corporate_ip[acc[corporate], farm_rng.integers(
            0, net.corporate_ip.shape[1], corporate.sum())]
        on_vpn = farmed & ~corporate & (u_farm < p.farm_corporate_share + p.farm_vpn_share)
        ip[on_vpn] = _operator_exit(farm_rng, net, op[acc[on_vpn]])
    proxied = is_(pc, *FRAUD_ARCHETYPES) & net.op_proxy[op[acc]]
    ip[proxied] = net.proxy_pool[(acc[proxied] * 7919 + day[proxied].astype(np.int64) * 104729
                                  + (rng.random(proxied.sum()) < 0.3)) % len(net.proxy_pool)]
    local = proxied & net.op_proxy_local[op[acc]]
    if local.any():
        ip[local] = net.local_exits[acc[local], rng.integers(0, LOCAL_EXITS, local.sum())]
    u_op = rng.random(len(acc))
    op_dev_use = (is_(pc, "farm") & (u_op < net.op_device_rate[op[acc]])) | (
        is_(pc, "vpn_operator") & (u_op < p.vpn_operator_device_rate))
    dev = np.where(is_(pc, *FRAUD_ARCHETYPES), laptop[acc], dev)
    dev[op_dev_use] = net.op_device[op[acc[op_dev_use]]]
    hosted = is_(pc, "vpn_operator") & ~net.op_proxy[op[acc]]
    ip[hosted] = _operator_exit(rng, net, op[acc[hosted]])
    direct = is_(pc, "farm", "vpn_operator") & (u > 1 - net.op_direct_rate[op[acc]])
    ip[direct] = net.op_direct_ip[op[acc[direct]]]
    dev[direct] = net.op_device[op[acc[direct]]]
    return ip, dev


def _operator_exit(rng: np.random.Generator, net: FraudNetworks, ops: np.ndarray) -> np.ndarray:
    """One of its operator's VPN exits for each event (`ops`: the events' operators)."""
    return net.op_hosting[ops, rng.integers(0, net.op_hosting.shape[1], len(ops))]
