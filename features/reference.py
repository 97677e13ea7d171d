"""The account feature contract: every feature's stable name, unit and meaning.

The model is trained on `FEATURE_NAMES` in this order; `FEATURE_CONTRACT_VERSION` changes whenever
a definition changes in code. A model's contract, `feature_contract(cfg)`, hashes that version,
the names and the thresholds the features were computed with, so that a model refuses to load on
other definitions. Meanings name the thresholds as `{fields}` of `setting_words`.
"""

from __future__ import annotations

import hashlib
import json

from persona_risk.features.config import FeatureConfig

FEATURE_CONTRACT_VERSION = "1"

# name: (family, unit, meaning)
FEATURES: dict[str, tuple[str, str, str]] = {
    "speed_max_kmh": ("travel", "km/h", "fastest hop between consecutive eligible sign-ins"),
    "speed_p95_kmh": ("travel", "km/h", "{speed_percentile} percentile of hop speed"),
    "impossible_hops": ("travel", "count", "hops faster than {impossible_kmh} km/h"),
    "impossible_hop_share": ("travel", "share", "impossible hops / all hops"),
    "countries_distinct": ("travel", "count", "distinct sign-in countries"),
    "high_risk_country_share": ("travel", "share", "sign-ins from {high_risk_or} (configurable)"),
    "anonymizer_share": ("travel", "share", "sign-ins from IPs flagged VPN, proxy, Tor, hosting"),
    "home_distance_km": ("travel", "km", "claimed home to the median eligible sign-in location"),
    "night_share": ("timezone", "share",
                    "events between {night_start} and {night_end} claimed local time"),
    "hour_circular_mean": ("timezone", "hour", "circular mean of the claimed local hour (0-24)"),
    "hour_circular_spread_h": ("timezone", "hours", "circular standard deviation of that hour"),
    "device_claimed_tz_mismatch_share": (
        "timezone", "share", "events whose device zone offset differs from the claimed zone"),
    "device_ip_tz_mismatch_share": (
        "timezone", "share", "events whose device zone offset differs from the IP location's"),
    "device_claimed_tz_diff_max_h": (
        "timezone", "hours", "largest device vs claimed UTC-offset difference at an event"),
    "ip_claimed_tz_diff_mean_h": (
        "timezone", "hours", "mean IP-location vs claimed UTC-offset difference"),
    "device_accounts_max": ("reuse", "count", "most accounts seen on one of its devices"),
    "device_accounts_mean": ("reuse", "count", "mean over events of accounts on the device"),
    "ip_accounts_max": ("reuse", "count", "most accounts seen on one of its IPs"),
    "ip_accounts_mean": ("reuse", "count", "mean over events of accounts on the IP"),
    "prefix_accounts_max": ("reuse", "count", "most accounts seen in one of its /24 or /64"),
    "prefix_accounts_mean": ("reuse", "count", "mean over events of accounts in the prefix"),
    "payout_accounts": ("reuse", "count", "accounts sharing its payout id (itself included)"),
    "phone_accounts": ("reuse", "count", "accounts sharing its phone id (itself included)"),
    "cluster_size": ("reuse", "count", "accounts linked to it via devices, payout, phone ids"),
    "devices_distinct": ("reuse", "count", "distinct devices it used"),
    "ips_distinct": ("reuse", "count", "distinct IPs it used"),
    "account_age_days": ("age", "days", "age of the account at as_of"),
    "first_signin_delay_h": ("age", "hours", "creation to first sign-in"),
    "events_per_active_day": ("age", "events/day", "events per UTC day with activity"),
    "events_total": ("age", "count", "events up to as_of"),
}
FEATURE_NAMES: list[str] = list(FEATURES)


def _clock(hour: float) -> str:
    minutes = round(hour * 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _ordinal(percent: float) -> str:
    text = f"{percent:g}"
    n = int(text) if text.isdigit() else None
    suffix = ("th" if n is None or 10 <= n % 100 <= 20
              else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th"))
    return text + suffix


def setting_words(cfg: FeatureConfig = FeatureConfig()) -> dict[str, str]:
    """The thresholds of `cfg` as words for meanings and reason sentences."""
    countries = list(cfg.high_risk_countries)
    return {
        "impossible_kmh": f"{cfg.impossible_kmh:,.0f}",
        "high_risk": ", ".join(countries) or "none",
        "high_risk_or": (" or ".join([", ".join(countries[:-1]), countries[-1]])
                         if len(countries) > 1 else (countries or ["none"])[0]),
        "night_start": _clock(cfg.night_start_hour), "night_end": _clock(cfg.night_end_hour),
        "speed_percentile": _ordinal(cfg.speed_quantile * 100),
    }


def meaning(name: str, cfg: FeatureConfig = FeatureConfig()) -> str:
    """What feature `name` means with the thresholds of `cfg`."""
    return FEATURES[name][2].format(**setting_words(cfg))


def feature_contract(cfg: FeatureConfig = FeatureConfig()) -> str:
    """The contract of features computed with `cfg`'s thresholds: the code's version and a
    hash of it, the feature names and the thresholds (not the allow-list)."""
    text = json.dumps({"code": FEATURE_CONTRACT_VERSION, "features": FEATURE_NAMES,
                       "settings": cfg.settings()}, sort_keys=True)
    return f"{FEATURE_CONTRACT_VERSION}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def reference_markdown(cfg: FeatureConfig = FeatureConfig()) -> str:
    """The feature reference as a Markdown table (name, family, unit, meaning) for the
    thresholds of `cfg`."""
    rows = ["| feature | family | unit | meaning |", "| --- | --- | --- | --- |"]
    rows += [f"| `{n}` | {f} | {u} | {meaning(n, cfg)} |" for n, (f, u, _) in FEATURES.items()]
    return "\n".join(rows)
