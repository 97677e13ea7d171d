"""Travel speed between consecutive successful interactive sign-ins of an account.

A hop joins a sign-in to the account's previous eligible one: successful, interactive, located,
and not from an anonymizer or hosting IP (those are counted separately, not used for speed) nor
from an allowed network (`features.allow`: a corporate egress is not where the person is).
Two sign-ins from the same IP, or closer than the geo-IP floor, are no travel (speed 0).
"""

from __future__ import annotations

import numpy as np

from persona_risk.features.arrays import EventArrays, shows_person
from persona_risk.features.config import FeatureConfig
from persona_risk.features.geo import NS_PER_HOUR, haversine_km
from persona_risk.features.registry import IMPOSSIBLE_HOPS
from persona_risk.features.segments import (
    previous_in_segment,
    seg_argmax,
    seg_count,
    seg_max,
    seg_mean,
    seg_nunique,
    seg_quantile,
)

HOP_KM = "hop_km"
HOP_HOURS = "hop_hours"
HOP_SPEED_KMH = "hop_speed_kmh"
HOP_FROM_COUNTRY = "hop_from_country"
# context for reason sentences, not model features: the account's fastest hop
FASTEST_HOP_COLUMNS = ("fastest_hop_from_country", "fastest_hop_to_country", "fastest_hop_hours")


def travel_speed_kmh(distance_km: np.ndarray, elapsed_h: np.ndarray,
                     min_hours: float) -> np.ndarray:
    """Speed in km/h; elapsed time is floored at `min_hours` hours."""
    return distance_km / np.maximum(elapsed_h, min_hours)


def eligible_for_travel(ev: EventArrays, cfg: FeatureConfig) -> np.ndarray:
    """Sign-ins that count for travel: successful, interactive, located, not anonymized, not
    from an allowed network."""
    eligible = ev.success & shows_person(ev) & ~np.isnan(ev.lat) & ~ev.anonymizer
    if cfg.allow:
        eligible &= cfg.allow.network_match(ev.ip, ev.asn) < 0
    return eligible


def event_travel(ev: EventArrays, cfg: FeatureConfig) -> dict[str, np.ndarray]:
    """Per event: hop distance (km), elapsed time (hours) and speed (km/h) from the previous
    eligible sign-in of the account, and that sign-in's country (text, None when unknown); NaN
    for ineligible events and the first one."""
    eligible = eligible_for_travel(ev, cfg)
    prev = previous_in_segment(eligible, ev.seg)
    hop = eligible & (prev >= 0)
    p = prev[hop]
    km = np.full(len(eligible), np.nan)
    hours = np.full(len(eligible), np.nan)
    km[hop] = haversine_km(ev.lat[p], ev.lon[p], ev.lat[hop], ev.lon[hop])
    hours[hop] = (ev.ts_ns[hop] - ev.ts_ns[p]) / NS_PER_HOUR
    same_place = np.zeros(len(eligible), bool)
    same_place[hop] = ((ev.ip.codes[p] == ev.ip.codes[hop]) & (ev.ip.codes[hop] >= 0)) | (
        km[hop] < cfg.geo_floor_km)
    km[same_place] = 0.0
    speed = travel_speed_kmh(km, hours, cfg.min_hop_hours)
    from_country = ev.country.strings(np.where(hop, prev, -1))
    return {HOP_KM: km, HOP_HOURS: hours, HOP_SPEED_KMH: speed, HOP_FROM_COUNTRY: from_country}


def account_travel(ev: EventArrays, sig: dict[str, np.ndarray], claimed_lat: np.ndarray,
                   claimed_lon: np.ndarray, cfg: FeatureConfig) -> dict[str, np.ndarray]:
    """Per account: speed max and high quantile (km/h), impossible hops (count, share of hops),
    distinct countries, high-risk-country share and anonymizer share (of the events that show
    the person, `shows_person`), and the distance (km) from the claimed home to the typical
    (median) location of eligible sign-ins."""
    starts = ev.starts
    speed = sig[HOP_SPEED_KMH]
    hops = seg_count(~np.isnan(speed), starts)
    impossible = seg_count(speed > cfg.impossible_kmh, starts)
    person = shows_person(ev)
    country = np.where(person, ev.country.codes, -1)
    high_risk = np.append(np.isin(ev.country.values, cfg.high_risk_countries), False)[country]
    n_country = seg_count(country >= 0, starts)
    eligible = eligible_for_travel(ev, cfg)
    typical_lat = seg_quantile(np.where(eligible, ev.lat, np.nan), starts, 0.5)
    typical_lon = seg_quantile(np.where(eligible, ev.lon, np.nan), starts, 0.5)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "speed_max_kmh": seg_max(speed, starts),
            "speed_p95_kmh": seg_quantile(speed, starts, cfg.speed_quantile),
            IMPOSSIBLE_HOPS: impossible,
            "impossible_hop_share": np.where(hops > 0, impossible / hops, np.nan),
            "countries_distinct": seg_nunique(country, starts),
            "high_risk_country_share": np.where(
                n_country > 0, seg_count(high_risk, starts) / n_country, np.nan),
            "anonymizer_share": seg_mean(np.where(person, ev.anonymizer, np.nan), starts),
            "home_distance_km": haversine_km(claimed_lat, claimed_lon, typical_lat, typical_lon),
        }


def fastest_hop(ev: EventArrays, sig: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per account: countries (from, to) and elapsed hours of its fastest hop; None/NaN when no
    hop. Context for reason sentences, not model features."""
    best = seg_argmax(sig[HOP_SPEED_KMH], ev.starts)
    has = best >= 0
    out_from = np.full(ev.n_accounts, None, dtype=object)
    out_to = np.full(ev.n_accounts, None, dtype=object)
    hours = np.full(ev.n_accounts, np.nan)
    out_from[has] = sig[HOP_FROM_COUNTRY][best[has]]
    out_to[has] = ev.country.strings(best[has])
    hours[has] = sig[HOP_HOURS][best[has]]
    return dict(zip(FASTEST_HOP_COLUMNS, (out_from, out_to, hours), strict=True))
