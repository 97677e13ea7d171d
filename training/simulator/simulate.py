"""The labelled fraud-persona simulator: accounts, sign-in events and the ground truth.

Profiles first (accounts, devices, IPs, offices, farms, operators), events from the profiles
second, every step vectorised over arrays. Each archetype leaves the traces described in the
README; `persona` on each account names it, `truth` maps fraud accounts to operator and farm.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from features import schema as s
from features.geo import haversine_km
from training.simulator import world

HONEST_MIX = {
    "office": 0.38, "traveller": 0.12, "vpn_user": 0.10, "mobile": 0.12, "night_shift": 0.07,
    "new_hire": 0.08, "shared_device": 0.07, "contractor_abroad": 0.06,
}
FRAUD_ARCHETYPES = ("farm", "vpn_operator", "evasive")
OPERATOR_ZONES = ("Asia/Shanghai", "Asia/Pyongyang", "Asia/Vladivostok")
RESIDENTIAL_ASN, CARRIER_ASN, HOSTING_ASN = 7922, 21928, 16509
AIRLINER_KMH, AIRPORT_HOURS = 800.0, 3.0
OFF_HOURS_SHARE = 0.12
CGNAT_SHARE = 0.12
HONEST_CLAIM_ELSEWHERE = 0.15
FARM_NEAR_CLAIM_SHARE = 0.35
HONEST_MISSET_DEVICE_TZ = 0.05
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


def _archetypes(rng: np.random.Generator, cfg: SimConfig) -> tuple[np.ndarray, np.ndarray]:
    """Archetype per account and operator per fraud account (-1 for honest)."""
    n_fraud = int(round(cfg.accounts * cfg.fraud_rate))
    honest = rng.choice(list(HONEST_MIX), cfg.accounts - n_fraud, p=list(HONEST_MIX.values()))
    sizes = _chunk_sizes(rng, n_fraud, 3, 12)
    evasive_p = cfg.evasion_share
    kinds = rng.choice(FRAUD_ARCHETYPES, len(sizes),
                       p=[(1 - evasive_p) * 0.65, (1 - evasive_p) * 0.35, evasive_p])
    fraud = np.repeat(kinds, sizes)
    operator = np.concatenate([np.full(cfg.accounts - n_fraud, -1), np.repeat(np.arange(len(sizes)),
                                                                               sizes)])
    persona = np.concatenate([honest, fraud]).astype(object)
    order = rng.permutation(cfg.accounts)
    return persona[order], operator[order]


def simulate(cfg: SimConfig = SimConfig()) -> SimulatedWorld:
    """Simulate accounts, events and truth for `cfg` (timestamps UTC)."""
    rng = np.random.default_rng(cfg.seed)
    cities = world.cities()
    start = pd.Timestamp(cfg.start, tz="UTC")
    n = cfg.accounts
    persona, operator = _archetypes(rng, cfg)
    fraud = operator >= 0
    n_ops = int(operator.max()) + 1 if fraud.any() else 0

    us = world.city_indices(("US",))
    home = rng.choice(us, n)
    abroad = persona == "contractor_abroad"
    home[abroad] = rng.choice(world.city_indices(world.CONTRACTOR_COUNTRIES, exclude_us=True),
                              abroad.sum())
    claimed_tz = cities.tz.to_numpy()[home]

    # creation: old honest accounts, recent new hires, young fraud
    window_days = cfg.days * 0.85
    created_days = -rng.uniform(60, 1500, n)
    recent = (persona == "new_hire") | (~fraud & (rng.random(n) < 0.06))
    created_days[recent] = rng.uniform(-30, window_days, recent.sum())
    created_days[fraud] = rng.uniform(-45, window_days, fraud.sum())
    created_at = start + pd.to_timedelta(created_days * 86400, unit="s").round("s")

    ips = world.IpTable.empty()
    home_ip = ips.add(rng, home, world.random_prefixes(rng, n), RESIDENTIAL_ASN)
    # carrier-grade NAT: some honest homes share one public IP per city with strangers
    cgnat = ~fraud & (rng.random(n) < CGNAT_SHARE)
    cgnat_city = np.unique(home[cgnat])
    cgnat_ip = ips.add(rng, cgnat_city, world.random_prefixes(rng, len(cgnat_city)), CARRIER_ASN)
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

    # fraud infrastructure: farms in US cities, operators abroad with their own devices
    n_farms = cfg.farms or max(1, int(np.ceil(fraud.sum() / 8)))
    farm_city = rng.choice(us, n_farms)
    farm_ips = ips.add(rng, np.repeat(farm_city, 3), np.repeat(
        world.random_prefixes(rng, n_farms), 3), RESIDENTIAL_ASN, jitter_km=3).reshape(-1, 3)
    op_farm = rng.integers(0, n_farms, max(n_ops, 1))
    op_city = rng.choice(world.city_indices(world.OPERATOR_COUNTRIES), max(n_ops, 1))
    op_direct_ip = ips.add(rng, op_city, world.random_prefixes(rng, len(op_city)), 4134)
    op_zone = rng.choice(OPERATOR_ZONES, max(n_ops, 1))
    op_hosting = rng.choice(vpn_exits[world.cities().country.to_numpy()[exit_cities] == "US"],
                            (max(n_ops, 1), 3))
    op_device = 2 * n + np.arange(max(n_ops, 1))
    # operators differ in care: how often they slip, share ids, keep Asian hours
    op_direct_rate = rng.uniform(0.0, 0.06, max(n_ops, 1))
    op_device_rate = rng.uniform(0.0, 0.25, max(n_ops, 1))
    op_share_rate = rng.uniform(0.2, 0.9, max(n_ops, 1))
    op_asian_share = rng.uniform(0.6, 1.0, max(n_ops, 1))
    evasive_ops = np.unique(operator[persona == "evasive"])
    op_asian_share[evasive_ops] = rng.uniform(0.0, 0.35, len(evasive_ops))
    op = np.maximum(operator, 0)
    farm = np.where(np.isin(persona, ("farm", "evasive")), op_farm[op], -1)
    # some facilitators live near the persona's claimed home
    near = (farm >= 0) & (rng.random(n) < FARM_NEAR_CLAIM_SHARE)
    home[near] = world.nearby_city(rng, farm_city[farm[near]], us, 0, 300)
    claimed_tz[near] = cities.tz.to_numpy()[home[near]]
    # honest people move, or their ISP geolocates to a regional hub: the HR record lags
    claimed_city = home.copy()
    moved = ~fraud & ~abroad & (rng.random(n) < HONEST_CLAIM_ELSEWHERE)
    claimed_city[moved] = world.nearby_city(rng, home[moved], us, 80, 1200)

    # devices: one table of ids and reported zones
    device_tz = np.concatenate([np.repeat(claimed_tz, 2), op_zone]).astype(object)
    laptop = 2 * np.arange(n)
    laptop_tz_claimed = rng.random(n) < 0.7
    # honest devices are not all set right: some report UTC or another zone
    misset = ~fraud & (rng.random(n) < HONEST_MISSET_DEVICE_TZ)
    device_tz[laptop[misset] + rng.integers(0, 2, misset.sum())] = rng.choice(
        MISSET_ZONES, misset.sum())
    device_tz[laptop[persona == "vpn_operator"]] = op_zone[op[persona == "vpn_operator"]]
    farm_local = (persona == "farm") & ~laptop_tz_claimed
    device_tz[laptop[farm_local]] = cities.tz.to_numpy()[farm_city[farm[farm_local]]]

    # payout and phone: unique for honest accounts, drawn from the operator's pool for fraud
    payout = np.arange(n) + 10 * n
    phone = np.arange(n) + 20 * n
    share = fraud & (rng.random(n) < op_share_rate[op])
    payout[share] = op[share] * 2 + rng.integers(0, 2, share.sum())
    phone[share] = op[share] * 2 + rng.integers(0, 2, share.sum()) + 5 * n

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
    p = persona_code[acc]  # small integer codes: no per-event Python strings

    def is_(codes: np.ndarray, *kinds: str) -> np.ndarray:
        return np.isin(codes, pd.Index(names).get_indexer(list(kinds)))

    asian = is_(p, *FRAUD_ARCHETYPES) & (rng.random(m) < op_asian_share[op[acc]])
    offset = np.where(asian, _standard_offset_hours(op_zone, start)[op[acc]],
                      _standard_offset_hours(claimed_tz, start)[acc])
    hour_mean = np.where(is_(p, "night_shift"), 1.5, 13.0)
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
    at_office = is_(p, "office", "new_hire", "traveller") & weekday & (u < 0.6)
    ip[at_office] = office_ip[acc[at_office], rng.integers(0, 4, at_office.sum())]
    on_vpn = is_(p, "vpn_user") & (u < 0.35)
    ip[on_vpn] = vpn_ip[acc[on_vpn], rng.integers(0, 2, on_vpn.sum())]
    on_carrier = is_(p, "mobile") & (u < 0.45)
    ip[on_carrier] = carrier_ip[acc[on_carrier], rng.integers(0, 64, on_carrier.sum())]

    farmed = is_(p, "farm", "evasive")
    ip[farmed] = farm_ips[farm[acc[farmed]], rng.integers(0, 3, farmed.sum())]
    u_op = rng.random(m)
    op_dev_use = (is_(p, "farm") & (u_op < op_device_rate[op[acc]])) | (
        is_(p, "vpn_operator") & (u_op < 0.75))
    dev = np.where(is_(p, *FRAUD_ARCHETYPES), laptop[acc], dev)
    dev[op_dev_use] = op_device[op[acc[op_dev_use]]]
    hosted = is_(p, "vpn_operator")
    ip[hosted] = op_hosting[op[acc[hosted]], rng.integers(0, 3, hosted.sum())]
    direct = is_(p, "farm", "vpn_operator") & (u > 1 - op_direct_rate[op[acc]])
    ip[direct] = op_direct_ip[op[acc[direct]]]
    dev[direct] = op_device[op[acc[direct]]]

    keep = np.ones(m, bool)
    zone_codes, zones = pd.factorize(np.concatenate([device_tz, cities.tz.to_numpy()]))
    ev_tz = zone_codes[:len(device_tz)][dev]  # zone codes; travellers' change below
    city_zone = zone_codes[len(device_tz):]
    ip, ev_tz, keep = _trips(rng, cfg, ips, home, acc, is_(p, "traveller"), ts_days, ip,
                             ev_tz, keep, city_zone)

    ipf = ips.frame()
    ts_s = np.round(ts_days * 86400).astype(np.int64)
    del day, weekday, asian, offset, hour_mean, local_hour, off_hours, ts_days, u, p
    del u_op, op_dev_use, at_office, on_vpn, on_carrier, farmed, hosted, direct
    order = np.flatnonzero(keep)
    order = order[np.lexsort((acc[order], ts_s[order]))]  # by time, then account
    acc, ip, dev, ts_s, ev_tz = acc[order], ip[order], dev[order], ts_s[order], ev_tz[order]
    success, interactive = rng.random(m)[order] < 0.97, rng.random(m)[order] < 0.85
    events = pd.DataFrame({
        s.EVENT_ID: _id_array("evt", len(order)),
        s.ACCOUNT_ID: _categorical(acc, _ids("acct", n)),
        s.TS: (start + pd.to_timedelta(ts_s, unit="s")).as_unit("ns"),
        s.IP: _categorical(ip, ipf.ip.to_numpy()),
        s.LAT: np.round(ipf.lat.to_numpy()[ip], 4), s.LON: np.round(ipf.lon.to_numpy()[ip], 4),
        s.COUNTRY: pd.Categorical(ipf.country.to_numpy()[ip]),
        s.DEVICE_ID: _categorical(dev, _ids("dev", 2 * n + max(n_ops, 1))),
        s.DEVICE_TZ: _categorical(ev_tz, np.asarray(zones, dtype=object)),
        s.USER_AGENT: _categorical(dev % len(USER_AGENTS), USER_AGENTS),
        s.SUCCESS: success, s.INTERACTIVE: interactive,
        s.ASN: ipf.asn.to_numpy()[ip], s.ANONYMIZER: ipf.anonymizer.to_numpy()[ip],
        s.GEO_SOURCE: pd.Categorical.from_codes(np.zeros(len(order), np.int8), ["log"]),
    })

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
        s.OPERATOR_ID: _ids("op", max(n_ops, 1))[op[fraud]],
        s.FARM_ID: np.where(farm[fraud] >= 0, _ids("farm", n_farms)[np.maximum(farm[fraud], 0)],
                            None),
    }).astype("str")
    return SimulatedWorld(accounts, events, truth)


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
