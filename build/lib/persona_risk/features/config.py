"""Parameters of the feature definitions, shared by batch and online computation."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeatureConfig:
    """Thresholds of the signals.

    geo_floor_km: two sign-ins closer than this (km) are the same place (geo-IP accuracy).
    impossible_kmh: a hop faster than this (km/h) is impossible travel.
    min_hop_hours: elapsed time is floored at this many hours when computing a speed.
    speed_quantile: the high quantile of hop speed reported per account.
    high_risk_countries: ISO codes whose sign-ins are counted as high-risk.
    night_start_hour, night_end_hour: the night window in claimed local time (hours).
    shared_device_accounts: accounts on one device from which the shared-device rule fires.
    """

    geo_floor_km: float = 50.0
    impossible_kmh: float = 900.0
    min_hop_hours: float = 1 / 60
    speed_quantile: float = 0.95
    high_risk_countries: tuple[str, ...] = ("CN", "RU", "KP")
    night_start_hour: float = 22.0
    night_end_hour: float = 6.0
    shared_device_accounts: int = 3
