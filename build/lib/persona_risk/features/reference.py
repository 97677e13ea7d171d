"""The account feature contract: every feature's stable name, unit and meaning.

The model is trained on `FEATURE_NAMES` in this order; `FEATURE_CONTRACT_VERSION` changes whenever
a definition changes, so that a model trained on older definitions refuses to load.
"""

from __future__ import annotations

FEATURE_CONTRACT_VERSION = "1"

# name: (family, unit, meaning)
FEATURES: dict[str, tuple[str, str, str]] = {
    "speed_max_kmh": ("travel", "km/h", "fastest hop between consecutive eligible sign-ins"),
    "speed_p95_kmh": ("travel", "km/h", "95th percentile of hop speed"),
    "impossible_hops": ("travel", "count", "hops faster than 900 km/h"),
    "impossible_hop_share": ("travel", "share", "impossible hops / all hops"),
    "countries_distinct": ("travel", "count", "distinct sign-in countries"),
    "high_risk_country_share": ("travel", "share", "sign-ins from CN, RU or KP (configurable)"),
    "anonymizer_share": ("travel", "share", "sign-ins from IPs flagged VPN, proxy, Tor, hosting"),
    "home_distance_km": ("travel", "km", "claimed home to the median eligible sign-in location"),
    "night_share": ("timezone", "share", "events between 22:00 and 06:00 claimed local time"),
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


def reference_markdown() -> str:
    """The feature reference as a Markdown table (name, family, unit, meaning)."""
    rows = ["| feature | family | unit | meaning |", "| --- | --- | --- | --- |"]
    rows += [f"| `{n}` | {f} | {u} | {m} |" for n, (f, u, m) in FEATURES.items()]
    return "\n".join(rows)
