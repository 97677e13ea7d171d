"""The labelled fraud-persona simulator: accounts, sign-in events and the ground truth.

Profiles first (accounts, devices, IPs, offices, farms, operators), events from the profiles
second, every step vectorised over arrays. Each archetype leaves the traces described in the
README; `persona` on each account names it, `truth` maps fraud accounts to operator and farm.
The world's structural constants come from `WorldParams`: the reference world, or with
`randomize` one drawn per world (domain randomization), several worlds pooled.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.geo import haversine_km
from persona_risk.training.simulator import world
from persona_risk.training.simulator.params import HONEST_MIX, WorldParams, draw

FRAUD_ARCHETYPES = ("farm", "vpn_operator", "evasive")
OPERATOR_ZONES = ("Asia/Shanghai", "Asia/Pyongyang", "Asia/Vladivostok")
RESIDENTIAL_ASN, CARRIER_ASN, HOSTING_ASN, SATELLITE_ASN = 7922, 21928, 16509, 14593
SECONDS_PER_DAY = 86_400
AIRLINER_KMH, AIRPORT_HOURS = 800.0, 3.0
OFF_HOURS_SHARE = 0.12
WORLD_SIZE_SPREAD = (0.2, 2.0)  # randomized worlds' sizes relative to the mean, drawn uniformly
MISSET_ZONES = ("UTC", "America/Los_Angeles", "Europe/London", "Asia/Kolkata", "Asia/Shanghai")
USER_AGENTS = np.array([
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
])


@dataclass(frozen=True)
class SimConfig:
    """Knobs of a simulated world; the same config and seed give identical tables."""

    accounts: int = 2000
    days: int = 60
    fraud_rate: float = 0.02
    farms: int | None = None  # default: one farm per ~8 fraud personas
    evasion_share: float = 0.2
    start: str = "2026-01-05"
    seed: int = 0
    params: WorldParams | None = None  # None: the reference world (evasion_share as above)
    randomize: bool = False  # draw the params of each world (see `params.draw`)
    worlds: int = 1  # worlds pooled (employers), the accounts split among them


@dataclass
class SimulatedWorld:
    accounts: pd.DataFrame
    events: pd.DataFrame
    truth: pd.DataFrame


def _standard_offset_hours(zones: np.ndarray, at: pd.Timestamp) -> np.ndarray:
    uniq, inverse = np.unique(zones.astype(str), return_inverse=True)
    offsets = np.array([at.astimezone(ZoneInfo(z)).utcoffset().total_seconds() / 3600
                        for z in uniq])
    return offsets[inverse]


def _chunk_sizes(rng: np.random.Generator, total: int, low: int, high: int) -> np.ndarray:
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


def _world_params(cfg: SimConfig) -> list[WorldParams]:
    if cfg.randomize:
        rng = np.random.default_rng([cfg.seed, 1])
        return [draw(rng) for _ in range(cfg.worlds)]
    base = cfg.params or WorldParams(evasion_share=cfg.evasion_share)
    return [base] * cfg.worlds


def simulate(cfg: SimConfig = SimConfig()) -> SimulatedWorld:
    """Simulate accounts, events and truth for `cfg` (timestamps UTC); several worlds are
    simulated apart (no shared infrastructure) and pooled, their ids prefixed `w<k>-`."""
    params = _world_params(cfg)
    if len(params) == 1:
        return _simulate_world(cfg, params[0])
    sizes = _world_sizes(cfg, len(params))
    parts = [_prefixed(_simulate_world(dataclasses.replace(cfg, accounts=int(n),
                                                           seed=cfg.seed * 1000 + k), p), k)
             for k, (n, p) in enumerate(zip(sizes, params, strict=True))]
    events = pd.concat([w.events for w in parts], ignore_index=True)
    events = events.sort_values([s.TS, s.ACCOUNT_ID], kind="stable", ignore_index=True)
    return SimulatedWorld(pd.concat([w.accounts for w in parts], ignore_index=True),
                          _categoricals(events),
                          pd.concat([w.truth for w in parts], ignore_index=True))


def _world_sizes(cfg: SimConfig, k: int) -> np.ndarray:
    """Accounts per pooled world: equal for the reference world; randomized worlds differ in
    size (`WORLD_SIZE_SPREAD` of the mean), since counts of accounts per IP, prefix or office
    grow with an employer's size and must not be a tell of one size."""
    weights = (np.random.default_rng([cfg.seed, 2]).uniform(*WORLD_SIZE_SPREAD, k)
               if cfg.randomize else np.ones(k))
    edges = np.r_[0.0, np.cumsum(weights)] / weights.sum() * cfg.accounts
    return np.diff(edges.round().astype(int))


def _prefixed(w: SimulatedWorld, k: int) -> SimulatedWorld:
    def prefix(df: pd.DataFrame, cols) -> pd.DataFrame:
        return df.assign(**{c: (f"w{k}-" + df[c].astype(str)).where(df[c].notna())
                            for c in cols if c in df})
    ids = (s.ACCOUNT_ID, s.PAYOUT_ID, s.PHONE_ID, s.EVENT_ID, s.DEVICE_ID, s.OPERATOR_ID,
           s.FARM_ID)
    return SimulatedWorld(prefix(w.accounts, ids), prefix(w.events, ids), prefix(w.truth, ids))


def _categoricals(events: pd.DataFrame) -> pd.DataFrame:
    for col in (s.ACCOUNT_ID, s.IP, s.COUNTRY, s.DEVICE_ID, s.DEVICE_TZ, s.USER_AGENT,
                s.GEO_SOURCE):
        events[col] = events[col].astype("category")
    return events


def _simulate_world(cfg: SimConfig, p: WorldParams) -> SimulatedWorld:
    """One world of `cfg.accounts` accounts with the structure `p`."""
    rng = np.random.default_rng(cfg.seed)
    cities = world.cities()
    start = pd.Timestamp(cfg.start, tz="UTC")
    n = cfg.accounts
    persona, operator = _archetypes(rng, n, cfg.fraud_rate, p)
    fraud = operator >= 0
    n_ops = int(operator.max()) + 1 if fraud.any() else 0
    n_op = max(n_ops, 1)

    us = world.city_indices(("US",))
    home = rng.choice(us, n)
    abroad = persona == "contractor_abroad"
    home[abroad] = rng.choice(world.city_indices(world.CONTRACTOR_COUNTRIES, exclude_us=True),
                              abroad.sum())
    claimed_tz = cities.tz.to_numpy()[home]

    # creation: old honest accounts, recent new hires, young fraud (some bought or aged)
    window_days = cfg.days * 0.85
    created_days = -rng.uniform(60, 1500, n)
    recent = (persona == "new_hire") | (~fraud & (rng.random(n) < 0.06))
    created_days[recent] = rng.uniform(-30, window_days, recent.sum())
    aged = fraud & (rng.random(n) < p.aged_account_share)
    young = fraud & ~aged
    created_days[young] = rng.uniform(-45, window_days, young.sum())
    created_days[aged] = -rng.uniform(120, 1500, aged.sum())
    created_at = start + pd.to_timedelta(created_days * SECONDS_PER_DAY, unit="s").round("s")

    ips = world.IpTable.empty()
    jitter = p.geo_jitter_km
    home_ip = ips.add(rng, home, world.random_prefixes(rng, n), RESIDENTIAL_ASN, jitter_km=jitter)
    # carrier-grade NAT: some honest homes share one public IP per city with strangers
    cgnat = ~fraud & (rng.random(n) < p.cgnat_share)
    cgnat_city = np.unique(home[cgnat])
    cgnat_ip = ips.add(rng, cgnat_city, world.random_prefixes(rng, len(cgnat_city)), CARRIER_ASN,
                       jitter_km=jitter)
    home_ip[cgnat] = cgnat_ip[np.searchsorted(cgnat_city, home[cgnat])]

    # households: shared-device accounts live in families of 2-3 with one home, IP and device
    device = np.arange(n) * 2
    second_device = np.where(rng.random(n) < 0.6, np.arange(n) * 2 + 1, -1)
    family = np.flatnonzero(persona == "shared_device")
    sizes = _chunk_sizes(rng, len(family), 2, 3)
    heads = np.repeat(family[np.cumsum(sizes) - sizes], sizes)
    home[family], home_ip[family], device[family] = home[heads], home_ip[heads], device[heads]
    claimed_tz[family] = cities.tz.to_numpy()[home[family]]

    # offices: colleagues in one city share four office IPs in a /24
    office_city = np.unique(home)
    office_block = ips.add(rng, np.repeat(office_city, 4), np.repeat(
        world.random_prefixes(rng, len(office_city)), 4), RESIDENTIAL_ASN, jitter_km=5)
    office_ip = office_block.reshape(-1, 4)[np.searchsorted(office_city, home)]

    # mobile carriers: a hub city 200-900 km from home, 64 carrier IPs per hub
    hubs = world.nearby_city(rng, home, us, 200, 900)
    hub_city = np.unique(hubs)
    hub_ips = ips.add(rng, np.repeat(hub_city, 64), np.repeat(
        world.random_prefixes(rng, len(hub_city)), 64), CARRIER_ASN).reshape(-1, 64)
    carrier_ip = hub_ips[np.searchsorted(hub_city, hubs)]

    # commercial VPN exits: some flagged as anonymizers, many not
    exit_cities = rng.choice(world.city_indices(world.VPN_EXIT_COUNTRIES), 200)
    vpn_exits = ips.add(rng, exit_cities, world.random_prefixes(rng, 200), HOSTING_ASN,
                        anonymizer=rng.random(200) < 0.4)
    vpn_ip = rng.choice(vpn_exits, (n, 2))
    lookalike_ip = _look_alike_ips(rng, ips, persona, home, us)

    # fraud infrastructure: farms in US cities, operators abroad with their own devices
    n_farms = cfg.farms or max(1, int(np.ceil(fraud.sum() / p.personas_per_farm)))
    farm_city = rng.choice(us, n_farms)
    farm_ips = ips.add(rng, np.repeat(farm_city, p.farm_ips), np.repeat(
        world.random_prefixes(rng, n_farms), p.farm_ips), RESIDENTIAL_ASN,
        jitter_km=min(jitter, 3)).reshape(-1, p.farm_ips)
    op_farm = rng.integers(0, n_farms, n_op)
    op_city = rng.choice(world.city_indices(world.OPERATOR_COUNTRIES), n_op)
    op_direct_ip = ips.add(rng, op_city, world.random_prefixes(rng, len(op_city)), 4134)
    op_zone = rng.choice(OPERATOR_ZONES, n_op)
    op_hosting = rng.choice(vpn_exits[world.cities().country.to_numpy()[exit_cities] == "US"],
                            (n_op, 3))
    op_device = 2 * n + np.arange(n_op)
    # operators differ in care: how often they slip, share ids, keep Asian hours
    op_direct_rate = rng.uniform(0.0, p.direct_rate_max, n_op)
    op_device_rate = rng.uniform(0.0, p.operator_device_rate_max, n_op)
    op_share_rate = rng.uniform(p.share_rate_low, p.share_rate_high, n_op)
    op_asian_share = rng.uniform(p.asian_hours_low, 1.0, n_op)
    op_proxy = rng.random(n_op) < p.proxy_share
    evasive_ops = np.unique(operator[persona == "evasive"])
    op_asian_share[evasive_ops] = rng.uniform(0.0, p.evasive_asian_max, len(evasive_ops))
    op = np.maximum(operator, 0)
    farm = np.where(np.isin(persona, ("farm", "evasive")), op_farm[op], -1)
    # some facilitators live near the persona's claimed home
    near = (farm >= 0) & (rng.random(n) < p.farm_near_claim_share)
    home[near] = world.nearby_city(rng, farm_city[farm[near]], us, 0, 300)
    claimed_tz[near] = cities.tz.to_numpy()[home[near]]
    # some farms give each persona a residential line of its own
    own_line = (farm >= 0) & (rng.random(n) < p.own_line_share)
    line_ip = ips.add(rng, farm_city[np.maximum(farm, 0)], world.random_prefixes(rng, n),
                      RESIDENTIAL_ASN, jitter_km=min(jitter, 3))
    # rotating residential proxies: exits in many US cities, a fresh one most days
    proxy_pool = ips.add(rng, rng.choice(us, 400), world.random_prefixes(rng, 400),
                         RESIDENTIAL_ASN, jitter_km=jitter)
    # honest people move, or their ISP geolocates to a regional hub: the HR record lags
    claimed_city = home.copy()
    moved = ~fraud & ~abroad & (rng.random(n) < p.claim_elsewhere_share)
    claimed_city[moved] = world.nearby_city(rng, home[moved], us, 80, 1200)

    # devices: one table of ids and reported zones
    device_tz = np.concatenate([np.repeat(claimed_tz, 2), op_zone]).astype(object)
    laptop = 2 * np.arange(n)
    laptop_tz_claimed = rng.random(n) < p.device_tz_claimed_share
    # honest devices are not all set right: some report UTC or another zone
    misset = ~fraud & (rng.random(n) < p.misset_device_tz_share)
    device_tz[laptop[misset] + rng.integers(0, 2, misset.sum())] = rng.choice(
        MISSET_ZONES, misset.sum())
    vpn_op = (persona == "vpn_operator") & (rng.random(n) >= p.vpn_tz_claimed_share)
    device_tz[laptop[vpn_op]] = op_zone[op[vpn_op]]
    farm_local = (persona == "farm") & ~laptop_tz_claimed
    device_tz[laptop[farm_local]] = cities.tz.to_numpy()[farm_city[farm[farm_local]]]

    # payout and phone: unique for most honest accounts, drawn from the operator's pool for
    # fraud; an agency pays its contractors into one account
    payout = np.arange(n) + 10 * n
    phone = np.arange(n) + 20 * n
    share = fraud & (rng.random(n) < op_share_rate[op])
    payout[share] = op[share] * 2 + rng.integers(0, 2, share.sum())
    phone[share] = op[share] * 2 + rng.integers(0, 2, share.sum()) + 5 * n
    agency = np.flatnonzero(persona == "agency_contractor")
    agency_sizes = _chunk_sizes(rng, len(agency), 3, 20)
    payout[agency] = 25 * n + np.repeat(np.arange(len(agency_sizes)), agency_sizes)

    # --- events ---------------------------------------------------------------------------
    first_day = np.maximum(created_days + rng.uniform(0, 3, n), 0)
    span = np.maximum(cfg.days - first_day, 0)
    rate = np.full(n, 2.6 * 5 / 7)
    counts = rng.poisson(rate * span)
    acc = np.repeat(np.arange(n), counts)
    m = len(acc)
    day = np.floor(first_day[acc] + rng.random(m) * span[acc])
    weekday = (start.dayofweek + day) % 7 < 5
    day = np.where(~weekday & (rng.random(m) < 0.7), np.maximum(day - 2, first_day[acc] // 1), day)

    names = np.array(list(HONEST_MIX) + list(FRAUD_ARCHETYPES), dtype=object)
    persona_code = pd.Index(names).get_indexer(persona).astype(np.int8)
    pc = persona_code[acc]  # small integer codes: no per-event Python strings

    def is_(codes: np.ndarray, *kinds: str) -> np.ndarray:
        return np.isin(codes, pd.Index(names).get_indexer(list(kinds)))

    asian = is_(pc, *FRAUD_ARCHETYPES) & (rng.random(m) < op_asian_share[op[acc]])
    offset = np.where(asian, _standard_offset_hours(op_zone, start)[op[acc]],
                      _standard_offset_hours(claimed_tz, start)[acc])
    hour_mean = np.where(is_(pc, "night_shift"), 1.5, p.honest_hour)
    local_hour = np.mod(rng.normal(hour_mean, 2.6), 24)
    off_hours = rng.random(m) < OFF_HOURS_SHARE  # evening e-mail, weekend fixes, insomnia
    local_hour[off_hours] = rng.uniform(0, 24, off_hours.sum())
    ts_days = day + (local_hour - offset) / 24
    ts_days = np.maximum(ts_days, np.maximum(created_days[acc], 0) + 0.01)
    ts_days = np.minimum(ts_days, cfg.days - 1e-6)

    u = rng.random(m)
    ip = home_ip[acc].copy()
    dev = np.where((second_device[acc] >= 0) & (rng.random(m) < 0.25), second_device[acc],
                   device[acc])
    at_office = is_(pc, "office", "new_hire", "traveller") & weekday & (u < 0.6)
    ip[at_office] = office_ip[acc[at_office], rng.integers(0, 4, at_office.sum())]
    on_vpn = is_(pc, "vpn_user") & (u < 0.35)
    ip[on_vpn] = vpn_ip[acc[on_vpn], rng.integers(0, 2, on_vpn.sum())]
    on_carrier = is_(pc, "mobile") & (u < 0.45)
    ip[on_carrier] = carrier_ip[acc[on_carrier], rng.integers(0, 64, on_carrier.sum())]
    ip = _look_alike_events(rng, pc, acc, u, ip, lookalike_ip, is_)

    farmed = is_(pc, "farm", "evasive")
    ip[farmed] = farm_ips[farm[acc[farmed]], rng.integers(0, p.farm_ips, farmed.sum())]
    lined = farmed & own_line[acc]
    ip[lined] = line_ip[acc[lined]]
    proxied = is_(pc, *FRAUD_ARCHETYPES) & op_proxy[op[acc]]
    ip[proxied] = proxy_pool[(acc[proxied] * 7919 + day[proxied].astype(np.int64) * 104729
                              + (rng.random(proxied.sum()) < 0.3)) % len(proxy_pool)]
    u_op = rng.random(m)
    op_dev_use = (is_(pc, "farm") & (u_op < op_device_rate[op[acc]])) | (
        is_(pc, "vpn_operator") & (u_op < p.vpn_operator_device_rate))
    dev = np.where(is_(pc, *FRAUD_ARCHETYPES), laptop[acc], dev)
    dev[op_dev_use] = op_device[op[acc[op_dev_use]]]
    hosted = is_(pc, "vpn_operator") & ~op_proxy[op[acc]]
    ip[hosted] = op_hosting[op[acc[hosted]], rng.integers(0, 3, hosted.sum())]
    direct = is_(pc, "farm", "vpn_operator") & (u > 1 - op_direct_rate[op[acc]])
    ip[direct] = op_direct_ip[op[acc[direct]]]
    dev[direct] = op_device[op[acc[direct]]]

    keep = np.ones(m, bool)
    zone_codes, zones = pd.factorize(np.concatenate([device_tz, cities.tz.to_numpy()]))
    ev_tz = zone_codes[:len(device_tz)][dev]  # zone codes; travellers' change below
    city_zone = zone_codes[len(device_tz):]
    ip, ev_tz, keep = _trips(rng, cfg, ips, home, acc, is_(pc, "traveller"), ts_days, ip,
                             ev_tz, keep, city_zone)

    ipf = ips.frame()
    ts_s = np.round(ts_days * SECONDS_PER_DAY).astype(np.int64)
    del weekday, asian, offset, hour_mean, local_hour, off_hours, ts_days, u
    del u_op, op_dev_use, at_office, on_vpn, on_carrier, farmed, hosted, direct
    order = np.flatnonzero(keep)
    order = order[np.lexsort((acc[order], ts_s[order]))]  # by time, then account
    acc, ip, dev, ts_s, ev_tz = acc[order], ip[order], dev[order], ts_s[order], ev_tz[order]
    day, pc = day[order], pc[order]
    success, interactive = rng.random(m)[order] < 0.97, rng.random(m)[order] < 0.85
    events = pd.DataFrame({
        s.EVENT_ID: _id_array("evt", len(order)),
        s.ACCOUNT_ID: _categorical(acc, _ids("acct", n)),
        s.TS: (start + pd.to_timedelta(ts_s, unit="s")).as_unit("ns"),
        s.IP: _categorical(ip, ipf.ip.to_numpy()),
        s.LAT: np.round(ipf.lat.to_numpy()[ip], 4), s.LON: np.round(ipf.lon.to_numpy()[ip], 4),
        s.COUNTRY: pd.Categorical(ipf.country.to_numpy()[ip]),
        s.DEVICE_ID: _categorical(dev, _ids("dev", 2 * n + n_op)),
        s.DEVICE_TZ: _categorical(ev_tz, np.asarray(zones, dtype=object)),
        s.USER_AGENT: _categorical(dev % len(USER_AGENTS), USER_AGENTS),
        s.SUCCESS: success, s.INTERACTIVE: interactive,
        s.ASN: ipf.asn.to_numpy()[ip], s.ANONYMIZER: ipf.anonymizer.to_numpy()[ip],
        s.GEO_SOURCE: pd.Categorical.from_codes(np.zeros(len(order), np.int8), ["log"]),
    })
    events = _log_gaps(rng, p, events, ip, ipf.asn.to_numpy()[ip] == RESIDENTIAL_ASN, acc, day)

    accounts = pd.DataFrame({
        s.ACCOUNT_ID: _ids("acct", n), s.CREATED_AT: created_at.as_unit("ns"),
        s.CLAIMED_COUNTRY: cities.country.to_numpy()[claimed_city],
        s.CLAIMED_TIMEZONE: cities.tz.to_numpy()[claimed_city],
        s.CLAIMED_LAT: cities.lat.to_numpy()[claimed_city],
        s.CLAIMED_LON: cities.lon.to_numpy()[claimed_city],
        s.PAYOUT_ID: _ids("pay", 30 * n)[payout], s.PHONE_ID: _ids("tel", 30 * n)[phone],
        s.LABEL: fraud.astype("int64"), s.PERSONA: persona,
    })
    for col in (s.ACCOUNT_ID, s.CLAIMED_COUNTRY, s.CLAIMED_TIMEZONE, s.PAYOUT_ID, s.PHONE_ID,
                s.PERSONA):
        accounts[col] = accounts[col].astype("str")
    truth = pd.DataFrame({
        s.ACCOUNT_ID: accounts[s.ACCOUNT_ID][fraud].to_numpy(), s.PERSONA: persona[fraud],
        s.OPERATOR_ID: _ids("op", n_op)[op[fraud]],
        s.FARM_ID: np.where(farm[fraud] >= 0, _ids("farm", n_farms)[np.maximum(farm[fraud], 0)],
                            None),
    }).astype("str")
    return SimulatedWorld(accounts, events, truth)


def _look_alike_ips(rng: np.random.Generator, ips: world.IpTable, persona: np.ndarray,
                    home: np.ndarray, us: np.ndarray) -> dict[str, np.ndarray]:
    """Per account, the IPs its look-alike archetype signs in through (n x 4 each)."""
    n = len(persona)
    c = world.cities()
    # full-tunnel corporate egress: an employer's staff leave through 2-4 IPs in one distant
    # city (Zscaler-style), hundreds of people per IP
    employers = rng.choice(us, 6)
    egress = ips.add(rng, np.repeat(employers, 4), np.repeat(world.random_prefixes(rng, 6), 4),
                     HOSTING_ASN, jitter_km=5).reshape(6, 4)
    # coworking spaces and universities: many unrelated people behind two IPs per city
    cities_used = np.unique(home)
    cowork = ips.add(rng, np.repeat(cities_used, 2), np.repeat(
        world.random_prefixes(rng, len(cities_used)), 2), RESIDENTIAL_ASN, jitter_km=3)
    cowork = cowork.reshape(-1, 2)[np.searchsorted(cities_used, home)]
    # privacy relays: anonymizer egress in a region near home, rotating
    relay_city = world.nearby_city(rng, home, us, 0, 600)
    relay = ips.add(rng, np.repeat(relay_city, 4), world.random_prefixes(rng, 4 * n),
                    HOSTING_ASN, anonymizer=True).reshape(n, 4)
    # satellite links geolocate to a ground station, often in another country
    ground = rng.choice(world.city_indices(("US", "CA", "MX", "GB", "DE")), 12)
    station = ips.add(rng, ground, world.random_prefixes(rng, 12), SATELLITE_ASN, jitter_km=50)
    # remote-desktop and cloud-PC workers: every sign-in from a cloud region
    regions = c.index[c.name.isin(["Ashburn", "Boardman", "San Jose", "Columbus", "Dallas"])]
    regions = regions.to_numpy() if len(regions) else rng.choice(us, 3)
    cloud = ips.add(rng, np.repeat(regions, 8), world.random_prefixes(rng, 8 * len(regions)),
                    HOSTING_ASN, jitter_km=5)
    return {
        "corporate_vpn": egress[rng.integers(0, 6, n)],
        "coworking": np.c_[cowork, cowork],
        "relay_user": relay,
        "satellite": rng.choice(station, (n, 4)),
        "remote_desktop": rng.choice(cloud, (n, 4)),
    }


# share of a look-alike's events that leave through its special IPs
LOOK_ALIKE_EVENT_SHARE = {"corporate_vpn": 0.9, "coworking": 0.6, "relay_user": 0.5,
                          "satellite": 0.7, "remote_desktop": 0.95}


def _look_alike_events(rng, pc, acc, u, ip, lookalike_ip, is_) -> np.ndarray:
    for kind, event_share in LOOK_ALIKE_EVENT_SHARE.items():
        on = is_(pc, kind) & (u < event_share)
        ip[on] = lookalike_ip[kind][acc[on], rng.integers(0, 4, on.sum())]
    return ip


def _log_gaps(rng: np.random.Generator, p: WorldParams, events: pd.DataFrame, ip: np.ndarray,
              residential: np.ndarray, acc: np.ndarray, day: np.ndarray) -> pd.DataFrame:
    """What real exports lack or change: IPv6 privacy addresses on residential lines (a new
    interface id each day inside the line's /64), no device id, no device zone, no location."""
    m = len(events)
    v6 = residential & (rng.random(m) < p.ipv6_share)
    if v6.any():
        iid = (acc[v6].astype(np.int64) * 2654435761 + day[v6].astype(np.int64) * 40503) % 2**32
        pairs, inverse = np.unique(np.c_[ip[v6].astype(np.int64), iid], axis=0,
                                   return_inverse=True)  # one string per line and day
        text = np.array([f"2600:{(x >> 16) & 0xffff:x}:{x & 0xffff:x}:{(x * 31) & 0xffff:x}::"
                         f"{(i >> 16):x}:{i & 0xffff:x}" for x, i in pairs.tolist()], dtype=object)
        addr = np.array(events[s.IP].astype(object), dtype=object)
        addr[v6] = text[inverse.ravel()]
        events[s.IP] = pd.Categorical(addr)
    for col, share in ((s.DEVICE_ID, p.no_device_id_share), (s.DEVICE_TZ, p.no_device_tz_share)):
        gone = rng.random(m) < share
        if gone.any():
            events[col] = events[col].where(~gone)
    gone = rng.random(m) < p.no_location_share
    if gone.any():
        for col in (s.LAT, s.LON, s.COUNTRY):
            events[col] = events[col].where(~gone)
    return events


def _trips(rng, cfg, ips, home, acc, is_trav, ts_days, ip, ev_tz, keep, city_zone):
    """Travellers fly to real cities at airliner speed; their device zone lags the trip."""
    cities = world.cities()
    travellers = np.unique(acc[is_trav])
    if len(travellers) == 0:
        return ip, ev_tz, keep
    dest = rng.choice(world.city_indices(), (len(travellers), 2))
    dist = haversine_km(cities.lat.to_numpy()[home[travellers]][:, None],
                        cities.lon.to_numpy()[home[travellers]][:, None],
                        cities.lat.to_numpy()[dest], cities.lon.to_numpy()[dest])
    flight_days = (dist / AIRLINER_KMH + AIRPORT_HOURS) / 24
    half = max(cfg.days / 2, 12.0)
    depart = np.stack([rng.uniform(2, half - 10, len(travellers)),
                       rng.uniform(half, max(half, cfg.days - 10), len(travellers))], 1)
    arrive = depart + flight_days
    back_depart = arrive + rng.uniform(2, 8, depart.shape)
    back_arrive = back_depart + flight_days
    lag_days = rng.uniform(2, 24, depart.shape) / 24
    hotel = ips.add(rng, dest.ravel(), world.random_prefixes(rng, dest.size), 3356).reshape(-1, 2)
    row = np.searchsorted(travellers, acc)
    for k in range(2):
        t = ts_days
        r = np.where(is_trav, row, 0)
        in_flight = is_trav & (((t >= depart[r, k]) & (t < arrive[r, k]))
                               | ((t >= back_depart[r, k]) & (t < back_arrive[r, k])))
        away = is_trav & (t >= arrive[r, k]) & (t < back_depart[r, k])
        keep &= ~in_flight
        ip = np.where(away, hotel[r, k], ip)
        shifted = away & (t >= arrive[r, k] + lag_days[r, k])
        ev_tz[shifted] = city_zone[dest[r[shifted], k]]
        # on the way home the device keeps the destination zone for the same lag
        back_lag = is_trav & (t >= back_arrive[r, k]) & (t < back_arrive[r, k] + lag_days[r, k])
        ev_tz[back_lag] = city_zone[dest[r[back_lag], k]]
    return ip, ev_tz, keep


def _categorical(codes: np.ndarray, values: np.ndarray) -> pd.Categorical:
    """Per-row values as codes into the values actually used (compact in memory and Parquet)."""
    used, inverse = np.unique(codes, return_inverse=True)
    value_codes, distinct = pd.factorize(np.asarray(values, dtype=object)[used])
    return pd.Categorical.from_codes(value_codes[inverse.ravel()],
                                     np.asarray(distinct, dtype=str))


def _id_array(prefix: str, count: int) -> pd.arrays.ArrowStringArray:
    """Unique ids `prefix-00000001`... built in Arrow (no Python string per row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(count)), pa.string()), 8, "0")
    return pd.array(pc.binary_join_element_wise(prefix, digits, "-"), dtype="str")


def _ids(prefix: str, count: int) -> np.ndarray:
    return np.char.add(f"{prefix}-", np.char.zfill(np.arange(count).astype(str), 6)).astype(object)
