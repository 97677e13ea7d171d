"""Parameters of the feature definitions, shared by batch and online computation."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from persona_risk.features.allow import AllowList


@dataclass(frozen=True)
class FeatureConfig:
    """Thresholds of the signals (the `[features]` section of the settings file) and the
    allow-list (its `[[allow]]` entries, `features.allow`).

    geo_floor_km: two sign-ins closer than this (km) are the same place (geo-IP accuracy).
    impossible_kmh: a hop faster than this (km/h) is impossible travel.
    min_hop_hours: elapsed time is floored at this many hours when computing a speed.
    speed_quantile: the high quantile of hop speed reported per account (`speed_p95_kmh`).
    high_risk_countries: ISO codes whose sign-ins are counted as high-risk.
    night_start_hour, night_end_hour: the night window in claimed local time (hours).
    shared_device_accounts: accounts on one device from which the shared-device rule fires.
    retention_days: the history window (days): events older than `as_of` minus this do not
        exist for the features (`features.point_in_time.AsOf`), and the online stores drop
        them; None keeps everything.

    The thresholds are stored with a model and hashed into its feature contract; the
    allow-list is not (it is the operator's live list, applied when features are computed).
    """

    geo_floor_km: float = 50.0
    impossible_kmh: float = 900.0
    min_hop_hours: float = 1 / 60
    speed_quantile: float = 0.95
    high_risk_countries: tuple[str, ...] = ("CN", "RU", "KP")
    night_start_hour: float = 22.0
    night_end_hour: float = 6.0
    shared_device_accounts: int = 3
    retention_days: float | None = None
    allow: AllowList = AllowList()

    def settings(self) -> dict:
        """The thresholds as plain JSON-safe data (no allow-list): what a model stores. No
        retention is left out, so that the contracts of models made before it stay valid."""
        kinds = {"float": float, "int": int, "tuple[str, ...]": list, "float | None": float}
        return {f.name: kinds[f.type](getattr(self, f.name))
                for f in dataclasses.fields(self)
                if f.name != "allow" and getattr(self, f.name) is not None}

    @classmethod
    def from_settings(cls, settings: dict, allow: AllowList = AllowList()) -> FeatureConfig:
        """The config of stored thresholds (`settings()` output) with an allow-list."""
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}
        return cls(**values, allow=allow)
