"""Time-zone mismatch: device zone, IP-location zone and claimed zone, compared at each instant.

Offsets are the real UTC offsets at the event's instant (DST included), so differences are in
hours and not wrapped: Asia/Shanghai against America/New_York is 13 h in winter, 12 h in summer.
"""

from __future__ import annotations

import numpy as np

from persona_risk.features.arrays import EventArrays, Keys, shows_person
from persona_risk.features.config import FeatureConfig
from persona_risk.features.geo import (
    HOURS_PER_DAY,
    NS_PER_DAY,
    NS_PER_HOUR,
    timezone_at,
    utc_offset_hours,
)
from persona_risk.features.segments import seg_max, seg_mean

DEVICE_IP_TZ_DIFF_H = "device_ip_tz_diff_h"
DEVICE_CLAIMED_TZ_DIFF_H = "device_claimed_tz_diff_h"
IP_CLAIMED_TZ_DIFF_H = "ip_claimed_tz_diff_h"
CLAIMED_LOCAL_HOUR = "claimed_local_hour"
LOCATION_LOCAL_HOUR = "location_local_hour"


def local_hour(ts_ns: np.ndarray, offset_h: np.ndarray) -> np.ndarray:
    """The local hour of day (0-24, fractional) of UTC instants (ns) at UTC offsets (hours);
    NaN where the offset is unknown."""
    return np.mod((ts_ns % NS_PER_DAY) / NS_PER_HOUR + offset_h, HOURS_PER_DAY)


def is_night(hour: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Whether each local hour falls in `cfg`'s night window, from its start hour up to its end
    hour, past midnight when the start is the later (False for NaN)."""
    start, end = cfg.night_start_hour, cfg.night_end_hour
    if start <= end:  # within one day, 0:00-6:00 say
        return (hour >= start) & (hour < end)
    return (hour >= start) | (hour < end)


def event_timezones(ev: EventArrays, claimed_tz: np.ndarray) -> dict[str, np.ndarray]:
    """Per event: absolute offset differences (hours) device-IP, device-claimed and IP-claimed,
    and the local hour of the event (0-24, fractional) in the claimed zone and in the zone of
    the sign-in location; NaN when a zone is unknown, and the IP's zone and both local hours
    NaN for events that do not show the person (`shows_person`). `claimed_tz` holds the
    claimed zone of each account (None when unknown)."""
    ip_codes, ip_zones = timezone_at(ev.lat, ev.lon)
    claimed = Keys.of_values(claimed_tz)
    device = utc_offset_hours(ev.device_tz.codes, ev.device_tz.values, ev.ts_ns)
    person = shows_person(ev)
    ip = utc_offset_hours(np.where(person, ip_codes, -1), ip_zones, ev.ts_ns)  # -1: no zone
    claimed = utc_offset_hours(claimed.codes[ev.seg], claimed.values, ev.ts_ns)
    return {
        DEVICE_IP_TZ_DIFF_H: np.abs(device - ip),
        DEVICE_CLAIMED_TZ_DIFF_H: np.abs(device - claimed),
        IP_CLAIMED_TZ_DIFF_H: np.abs(ip - claimed),
        CLAIMED_LOCAL_HOUR: local_hour(ev.ts_ns, np.where(person, claimed, np.nan)),
        LOCATION_LOCAL_HOUR: local_hour(ev.ts_ns, ip),
    }


def circular_hour_stats(hours: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Circular mean hour (0-24) and circular spread (hours, the circular standard deviation)
    of the non-NaN hours of each segment."""
    angle = hours / HOURS_PER_DAY * 2 * np.pi
    c, s = seg_mean(np.cos(angle), starts), seg_mean(np.sin(angle), starts)
    mean = np.mod(np.arctan2(s, c) / (2 * np.pi) * HOURS_PER_DAY, HOURS_PER_DAY)
    r = np.clip(np.hypot(c, s), 1e-12, 1.0)
    r = np.where(r > 1 - 1e-12, 1.0, r)  # rounding must not turn identical hours into spread
    spread = np.sqrt(-2 * np.log(r)) / (2 * np.pi) * HOURS_PER_DAY
    return mean, np.where(np.isnan(c), np.nan, spread)


def account_timezones(ev: EventArrays, sig: dict[str, np.ndarray],
                      cfg: FeatureConfig) -> dict[str, np.ndarray]:
    """Per account: night share (events between the night hours) in claimed local time and in
    local time at the sign-in location, circular mean and spread of the claimed local hour
    (hours), share of events whose device zone differs from the claimed zone, share whose
    device zone differs from the IP zone, and the mean offset differences (hours)."""
    starts = ev.starts
    hour = sig[CLAIMED_LOCAL_HOUR]
    mean, spread = circular_hour_stats(hour, starts)

    def night_share(local: np.ndarray) -> np.ndarray:
        return seg_mean(np.where(np.isnan(local), np.nan, is_night(local, cfg)), starts)

    dev_claim = sig[DEVICE_CLAIMED_TZ_DIFF_H]
    dev_ip = sig[DEVICE_IP_TZ_DIFF_H]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "night_share": night_share(hour),
            "location_night_share": night_share(sig[LOCATION_LOCAL_HOUR]),
            "hour_circular_mean": mean,
            "hour_circular_spread_h": spread,
            "device_claimed_tz_mismatch_share": seg_mean(
                np.where(np.isnan(dev_claim), np.nan, dev_claim > 0), starts),
            "device_ip_tz_mismatch_share": seg_mean(
                np.where(np.isnan(dev_ip), np.nan, dev_ip > 0), starts),
            "device_claimed_tz_diff_max_h": seg_max(dev_claim, starts),
            "ip_claimed_tz_diff_mean_h": seg_mean(sig[IP_CLAIMED_TZ_DIFF_H], starts),
        }
