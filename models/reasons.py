"""Reason codes: for each feature, a stable code and a sentence a person understands."""

from __future__ import annotations

import math

import pandas as pd

from persona_risk.features.config import FeatureConfig
from persona_risk.features.reference import setting_words

# feature -> sentence template; `{v}` is the feature's value, other fields come from the row and
# from the thresholds the model's features were computed with (`setting_words`)
SENTENCES: dict[str, str] = {
    "speed_max_kmh": "sign-in from {fastest_hop_to_country} {fastest_hop_hours:.1f} h after "
                     "{fastest_hop_from_country}: {v:,.0f} km/h",
    "speed_p95_kmh": "many fast hops between sign-ins: {speed_percentile} percentile "
                     "{v:,.0f} km/h",
    "impossible_hops": "{v:.0f} sign-in hops faster than {impossible_kmh} km/h",
    "impossible_hop_share": "{v:.0%} of sign-in hops faster than {impossible_kmh} km/h",
    "countries_distinct": "sign-ins from {v:.0f} countries",
    "high_risk_country_share": "{v:.0%} of sign-ins from high-risk countries ({high_risk})",
    "anonymizer_share": "{v:.0%} of sign-ins through VPN, proxy or hosting IPs",
    "home_distance_km": "usual sign-in location {v:,.0f} km from the claimed home",
    "night_share": "{v:.0%} of activity between {night_start} and {night_end} in the "
                   "claimed time zone",
    "hour_circular_mean": "typical activity around {v:.0f}:00 in the claimed time zone",
    "hour_circular_spread_h": "activity hours spread over {v:.1f} h",
    "device_claimed_tz_mismatch_share": "device time zone differs from the claimed one on "
                                        "{v:.0%} of events",
    "device_ip_tz_mismatch_share": "device time zone differs from the IP location's on "
                                   "{v:.0%} of events",
    "device_claimed_tz_diff_max_h": "device clock up to {v:.0f} h off the claimed time zone",
    "ip_claimed_tz_diff_mean_h": "sign-in locations on average {v:.1f} h off the claimed zone",
    "device_accounts_max": "a device it uses was seen on {v:.0f} accounts",
    "device_accounts_mean": "its devices carry {v:.1f} accounts on average",
    "ip_accounts_max": "an IP it uses was seen on {v:.0f} accounts",
    "ip_accounts_mean": "its IPs carry {v:.1f} accounts on average",
    "prefix_accounts_max": "its network (/24 or /64) was seen on {v:.0f} accounts",
    "prefix_accounts_mean": "its networks carry {v:.1f} accounts on average",
    "payout_accounts": "payout account shared by {v:.0f} accounts",
    "phone_accounts": "phone number shared by {v:.0f} accounts",
    "cluster_size": "linked to {v:.0f} accounts through shared devices, payout or phone",
    "devices_distinct": "{v:.0f} distinct devices",
    "ips_distinct": "{v:.0f} distinct IPs",
    "account_age_days": "account is {v:.0f} days old",
    "first_signin_delay_h": "first sign-in {v:,.0f} h after the account was created",
    "events_per_active_day": "{v:.1f} events per active day",
    "events_total": "{v:.0f} events so far",
}

FALLBACKS = {"speed_max_kmh": "fastest hop between sign-ins: {v:,.0f} km/h"}


def reason_code(feature: str) -> str:
    """The stable reason code of a feature."""
    return feature.upper()


def sentence(feature: str, value: float, context: pd.Series | dict | None = None,
             cfg: FeatureConfig = FeatureConfig()) -> str:
    """The sentence for a known value of a feature (a missing value is never a reason) computed
    with the thresholds of `cfg`; falls back to a plain one when context is missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise ValueError(f"{feature}: a missing value has no reason sentence")
    fields = {k: v for k, v in (dict(context) if context is not None else {}).items()
              if v is not None and not (isinstance(v, float) and math.isnan(v))}
    fields.update(setting_words(cfg))
    for template in (SENTENCES.get(feature), FALLBACKS.get(feature)):
        try:
            return template.format(v=value, **fields)
        except (AttributeError, KeyError, ValueError, TypeError):
            continue
    return f"{feature.replace('_', ' ')} = {value:,.2f}"

# feature -> why a value that raises the score can mean a remote-worker persona; shown beside the
# sentence. Speeds say "impossible" only past the impossible-travel speed (`impossible_kmh`).
WHY: dict[str, str] = {
    "speed_max_kmh": "a quick jump between distant places: shared logins or remote access",
    "speed_p95_kmh": "fast moves are routine: shared logins or remote access, not travel",
    "impossible_hops": "each is a trip no one could make: shared logins or remote access",
    "impossible_hop_share": "trips no one could make are a routine, not a one-off",
    "countries_distinct": "a worker at home signs in from one or two countries",
    "high_risk_country_share": "sanctioned operators often sign in from these countries",
    "anonymizer_share": "hiding the real IP is how operators mask where they are",
    "home_distance_km": "the person may not be where the profile says they live",
    "night_share": "work in the claimed night fits someone living in another zone",
    "hour_circular_mean": "the working day is centred at an odd hour for the claimed zone",
    "hour_circular_spread_h": "activity spread over the clock can mean several people",
    "device_claimed_tz_mismatch_share": "the laptop's clock may be set to where the worker is",
    "device_ip_tz_mismatch_share": "device and network disagree: remote desktop or VPN",
    "device_claimed_tz_diff_max_h": "the device clock keeps the time of another region",
    "ip_claimed_tz_diff_mean_h": "sign-ins come from far off the claimed time zone",
    "device_accounts_max": "one laptop behind several accounts is a laptop farm's trace",
    "device_accounts_mean": "devices shared across accounts are a laptop farm's trace",
    "ip_accounts_max": "one address behind several accounts can be a farm or one operator",
    "ip_accounts_mean": "addresses shared across accounts can point to one operator",
    "prefix_accounts_max": "many accounts from one small network can point to one operator",
    "prefix_accounts_mean": "networks shared across accounts can point to one operator",
    "payout_accounts": "several workers paid into one account point to one operator",
    "phone_accounts": "several workers with one phone number point to one operator",
    "cluster_size": "accounts tied by devices, payout or phone can be one operator",
    "devices_distinct": "more devices than one worker needs can mean several people",
    "ips_distinct": "more addresses than usual can mean proxies or several people",
    "account_age_days": "new accounts carry most of the fraud",
    "first_signin_delay_h": "the delay before the first sign-in is unlike honest hires'",
    "events_per_active_day": "the sign-in rhythm is unlike a single worker's",
    "events_total": "the activity level is unlike a single worker's",
}
IMPOSSIBLE_WHY = "faster than {impossible_kmh} km/h: one person cannot make that trip"


def why(feature: str, value: float | None = None, cfg: FeatureConfig = FeatureConfig()) -> str:
    """Why a feature that raises a score can be suspicious, in a few words ('' when unknown),
    with the impossible-travel speed of `cfg`."""
    if feature in ("speed_max_kmh", "speed_p95_kmh") and value is not None and (
            value > cfg.impossible_kmh):
        return IMPOSSIBLE_WHY.format(**setting_words(cfg))
    return WHY.get(feature, "")
