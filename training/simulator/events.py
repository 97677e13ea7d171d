"""Sign-in events from the profiles: when each account signs in (local working hours, Asian
daytime for operators who slip), from which IP and device, and what real log exports lack or
change; the tables' compact id and categorical columns."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.geo import SECONDS_PER_DAY, SECONDS_PER_HOUR
from persona_risk.training.simulator import world
from persona_risk.training.simulator.fraud import FraudNetworks, route_fraud
from persona_risk.training.simulator.honest import HonestNetworks, route_honest, trips
from persona_risk.training.simulator.params import HONEST_MIX, WorldParams
from persona_risk.training.simulator.population import FRAUD_ARCHETYPES, Population
from persona_risk.training.simulator.records import Records
from persona_risk.training.simulator.world import RESIDENTIAL_ASN

SIGN_INS_PER_WORKDAY = 2.6
# a dual-stack line signs in over IPv6 this share of the time (Happy Eyeballs prefers it)
IPV6_PREFERRED = 0.9
# a service account (a script, an integration) signs in around the clock, mostly without a
# person: token requests, no device, an HTTP library's user agent
SERVICE_RATE_FACTOR, SERVICE_INTERACTIVE_SHARE = 3.0, 0.05
SERVICE_USER_AGENT = "python-requests/2.32.3"
USER_AGENTS = np.array([
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
])


def _standard_offset_hours(zones: np.ndarray, at: pd.Timestamp) -> np.ndarray:
    uniq, inverse = np.unique(zones.astype(str), return_inverse=True)
    offsets = np.array([at.astimezone(ZoneInfo(z)).utcoffset().total_seconds() / SECONDS_PER_HOUR
                        for z in uniq])
    return offsets[inverse]


def sign_ins(rng: np.random.Generator, start: pd.Timestamp, days: int, p: WorldParams,
             pop: Population, ips: world.IpTable, honest: HonestNetworks,
             fraud: FraudNetworks, records: Records) -> pd.DataFrame:
    """The world's sign-in events over `days` days from `start` (UTC), ordered by time, then
    account."""
    n, n_op = len(pop.persona), pop.operators
    created_days, op = pop.created_days, np.maximum(pop.operator, 0)
    first_day = np.maximum(created_days + rng.uniform(0, 3, n), 0)
    span = np.maximum(days - first_day, 0)
    service_account = pop.persona == "service_account"
    rate = np.where(service_account, SERVICE_RATE_FACTOR, 1.0) * (SIGN_INS_PER_WORKDAY * 5 / 7)
    if p.activity_spread:  # drawn only when used: the reference world keeps its random stream
        sigma = p.activity_spread
        rate = rate * rng.lognormal(-sigma**2 / 2, sigma, n)  # mean one: the mean rate stays
    counts = rng.poisson(rate * span)
    acc = np.repeat(np.arange(n), counts)
    m = len(acc)
    day = np.floor(first_day[acc] + rng.random(m) * span[acc])
    weekday = (start.dayofweek + day) % 7 < 5
    day = np.where(~weekday & (rng.random(m) < 0.7), np.maximum(day - 2, first_day[acc] // 1), day)

    names = np.array(list(HONEST_MIX) + list(FRAUD_ARCHETYPES), dtype=object)
    persona_code = pd.Index(names).get_indexer(pop.persona).astype(np.int8)
    pc = persona_code[acc]  # small integer codes: no per-event Python strings

    def is_(codes: np.ndarray, *kinds: str) -> np.ndarray:
        return np.isin(codes, pd.Index(names).get_indexer(list(kinds)))

    asian = is_(pc, *FRAUD_ARCHETYPES) & (rng.random(m) < fraud.op_asian_share[op[acc]])
    offset = np.where(asian, _standard_offset_hours(fraud.op_zone, start)[op[acc]],
                      _standard_offset_hours(pop.claimed_tz, start)[acc])
    night = is_(pc, "night_shift")
    if p.abroad_overlap_share:  # drawn only when used: the reference world keeps its stream
        abroad = ~pop.fraud & ~np.isin(pop.home, world.city_indices(("US",)))
        overlap = abroad & (rng.spawn(1)[0].random(n) < p.abroad_overlap_share)
        night |= overlap[acc]
    hour_mean, spread = np.where(night, 1.5, p.honest_hour), p.hour_spread_h
    if p.hour_habit_sd:  # drawn only when used: the reference world keeps its random stream
        habit_rng = rng.spawn(1)[0]
        hour_mean = hour_mean + habit_rng.normal(0, p.hour_habit_sd, n)[acc]
        spread = spread * habit_rng.lognormal(0, p.hour_habit_sd / 5, n)[acc]
    local_hour = np.mod(rng.normal(hour_mean, spread), 24)
    off_hours = rng.random(m) < p.off_hours_share  # evening e-mail, weekend fixes, insomnia
    local_hour[off_hours] = rng.uniform(0, 24, off_hours.sum())
    service = service_account[acc]
    if service.any():  # drawn only when used: the reference world keeps its random stream
        local_hour[service] = rng.uniform(0, 24, service.sum())
    ts_days = day + (local_hour - offset) / 24
    ts_days = np.maximum(ts_days, np.maximum(created_days[acc], 0) + 0.01)
    ts_days = np.minimum(ts_days, days - 1e-6)
    del asian, offset, night, hour_mean, spread, local_hour, off_hours

    u = rng.random(m)
    ip, dev = route_honest(rng, honest, pc, acc, u, weekday, is_)
    ip, dev = route_fraud(rng, fraud, p, op, Records.laptop(n), pc, acc, day, u, ip, dev, is_)
    del weekday, u

    keep = np.ones(m, bool)
    zone_codes, zones = pd.factorize(np.concatenate([records.device_tz,
                                                     world.cities().tz.to_numpy()]))
    ev_tz = zone_codes[:len(records.device_tz)][dev]  # zone codes; travellers' change below
    city_zone = zone_codes[len(records.device_tz):]
    ip, ev_tz, keep = trips(rng, days, ips, pop.home, acc, is_(pc, "traveller"), ts_days, ip,
                            ev_tz, keep, city_zone)

    ipf = ips.frame()
    ts_s = np.round(ts_days * SECONDS_PER_DAY).astype(np.int64)
    del ts_days
    order = np.flatnonzero(keep)
    order = order[np.lexsort((acc[order], ts_s[order]))]  # by time, then account
    acc, ip, dev, ts_s, ev_tz = acc[order], ip[order], dev[order], ts_s[order], ev_tz[order]
    day = day[order]
    success, interactive = rng.random(m)[order] < 0.97, rng.random(m)[order] < 0.85
    service = service[order]
    if service.any():
        interactive[service] = rng.random(service.sum()) < SERVICE_INTERACTIVE_SHARE
    agent = np.where(service, len(USER_AGENTS), dev % len(USER_AGENTS))
    events = pd.DataFrame({
        s.EVENT_ID: id_array("evt", len(order)),
        s.ACCOUNT_ID: categorical(acc, ids("acct", n)),
        s.TS: (start + pd.to_timedelta(ts_s, unit="s")).as_unit("ns"),
        s.IP: categorical(ip, ipf.ip.to_numpy()),
        s.LAT: np.round(ipf.lat.to_numpy()[ip], 4), s.LON: np.round(ipf.lon.to_numpy()[ip], 4),
        s.COUNTRY: pd.Categorical(ipf.country.to_numpy()[ip]),
        s.DEVICE_ID: categorical(dev, ids("dev", 2 * n + n_op)),
        s.DEVICE_TZ: categorical(ev_tz, np.asarray(zones, dtype=object)),
        s.USER_AGENT: categorical(agent, np.append(USER_AGENTS, SERVICE_USER_AGENT)),
        s.SUCCESS: success, s.INTERACTIVE: interactive,
        s.ASN: ipf.asn.to_numpy()[ip], s.ANONYMIZER: ipf.anonymizer.to_numpy()[ip],
        s.GEO_SOURCE: pd.Categorical.from_codes(np.zeros(len(order), np.int8), ["log"]),
    })
    for col in (s.DEVICE_ID, s.DEVICE_TZ):  # no device behind a script
        events[col] = events[col].where(~service)
    if p.service_zone_share:  # some hosts report their zone, UTC (drawn only when used)
        utc = service & (rng.spawn(1)[0].random(n) < p.service_zone_share)[acc]
        zone = events[s.DEVICE_TZ]
        if "UTC" not in zone.cat.categories:
            zone = zone.cat.add_categories(["UTC"])
        events[s.DEVICE_TZ] = zone.mask(utc, "UTC")
    return _log_gaps(rng, p, events, ipf.address.to_numpy()[ip],
                     ipf.asn.to_numpy()[ip] == RESIDENTIAL_ASN, acc, day)


def _log_gaps(rng: np.random.Generator, p: WorldParams, events: pd.DataFrame,
              address: np.ndarray, residential: np.ndarray, acc: np.ndarray,
              day: np.ndarray) -> pd.DataFrame:
    """What real exports lack or change: IPv6 privacy addresses on dual-stack residential
    lines (a share `ipv6_share` of lines, which sign in over IPv6 `IPV6_PREFERRED` of the
    time; a new interface id each day inside the line's /64, numbered from the line's IPv4
    `address`, so that pooled worlds share no /64), no device id, no device zone, no
    coordinates."""
    m = len(events)
    # a line is dual-stack or not, by its address (no draw: the random stream stays)
    dual_stack = (address.astype(np.uint64) * np.uint64(2654435761) % np.uint64(2**32)
                  ) / 2**32 < p.ipv6_share  # unsigned: the product wraps, by design
    v6 = residential & dual_stack & (rng.random(m) < IPV6_PREFERRED)
    if v6.any():
        iid = (acc[v6].astype(np.int64) * 2654435761 + day[v6].astype(np.int64) * 40503) % 2**32
        pairs, inverse = np.unique(np.c_[address[v6], iid], axis=0,
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
    # a row without geo fields keeps its country: loading fills it from the IP offline
    # (`features.geoip`), which finds a real address's country but would give the simulator's
    # invented addresses a random one (honest people "in" China)
    gone = rng.random(m) < p.no_location_share
    if gone.any():
        for col in (s.LAT, s.LON):
            events[col] = events[col].where(~gone)
    return events


def categorical(codes: np.ndarray, values: np.ndarray) -> pd.Categorical:
    """Per-row values as codes into the values actually used (compact in memory and Parquet)."""
    used, inverse = np.unique(codes, return_inverse=True)
    value_codes, distinct = pd.factorize(np.asarray(values, dtype=object)[used])
    return pd.Categorical.from_codes(value_codes[inverse.ravel()],
                                     np.asarray(distinct, dtype=str))


def id_array(prefix: str, count: int) -> pd.arrays.ArrowStringArray:
    """Unique ids `prefix-00000001`... built in Arrow (no Python string per row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(count)), pa.string()), 8, "0")
    return pd.array(pc.binary_join_element_wise(prefix, digits, "-"), dtype="str")


def ids(prefix: str, count: int) -> np.ndarray:
    """Ids `prefix-000000`... for integer codes 0..count-1."""
    return np.char.add(f"{prefix}-", np.char.zfill(np.arange(count).astype(str), 6)).astype(object)
