"""The feature registry: one declarative entry per account feature, the one place that says
what a feature is.

Each entry gives the feature's stable name, its family (the module that computes it), its unit,
what it means, the reason sentence an analyst reads when it raises a score (with the row context
it quotes), why such a value can mean a remote-worker persona (and whether that speaks of high
or low values), its monotone direction for the
model, and the inputs it needs. The model's feature list and order (`FEATURE_NAMES`), the
monotone constraints, the reason sentences, the feature reference in the README and the feature
contract all derive from `REGISTRY`. Texts are templates: `{v}` is the value, other fields come
from the row (the fastest hop's countries and hours) and from the thresholds the features were
computed with (`features.reference.setting_words`); `{s}` and `{ies}` make a count's plural
("1 account", "2 accounts"; "1 country", "3 countries").

A family's step (`features.families`) computes the family's features together; a feature that
carries its own `compute` is computed by it alone, so that a feature over the loaded columns can
be added by `register` with nothing else touched. The lists derived from the registry are built
when their modules load, so `register` refuses once anything has read `REGISTRY` or `BY_NAME`
(importing `features.reference` does): register before that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from persona_risk.features.families import AccountInputs

EVENTS = "events"  # the account's sign-in events
RECORD = "record"  # the account record (created_at, claimed zone and home, payout, phone)
CROSS = "cross-account"  # what other accounts share with it (devices, IPs, payout, phone)

SPEED_UNIT = "km/h"  # a hop speed: past the impossible-travel speed its reason says so
# features other modules name (the rule baselines of `training.evaluate`)
IMPOSSIBLE_HOPS = "impossible_hops"
DEVICE_ACCOUNTS_MAX = "device_accounts_max"


@dataclass(frozen=True)
class Feature:
    """One account feature (see the module docstring for the fields)."""

    name: str
    family: str  # a step of `features.families`; any name for a feature with its own compute
    unit: str
    meaning: str
    sentence: str
    why: str
    needs: tuple[str, ...]
    monotone: int = 0  # 1: more never lowers the risk (known from the threat)
    # the values `why` speaks of: "high" (the default) or "low" values, or "any"
    why_side: Literal["high", "low", "any"] = "high"
    fallback: str | None = None  # sentence when the row lacks the context `sentence` quotes
    # one value per account of the inputs (`AccountInputs.ev.account_ids`), NaN when unknown;
    # None: the family's step computes it
    compute: Callable[[AccountInputs], np.ndarray] | None = None


_ENTRIES: list[Feature] = [
    Feature("speed_max_kmh", "travel", SPEED_UNIT,
            meaning="fastest hop between consecutive eligible sign-ins",
            sentence="sign-in from {fastest_hop_to_country} {fastest_hop_hours:.1f} h after "
                     "{fastest_hop_from_country}: {v:,.0f} km/h",
            why="a quick jump between distant places: shared logins or remote access",
            needs=(EVENTS,),
            fallback="fastest hop between sign-ins: {v:,.0f} km/h"),
    Feature("speed_p95_kmh", "travel", SPEED_UNIT,
            meaning="{speed_percentile} percentile of hop speed",
            sentence="many fast hops between sign-ins: {speed_percentile} percentile {v:,.0f} km/h",
            why="fast moves are routine: shared logins or remote access, not travel",
            needs=(EVENTS,)),
    Feature(IMPOSSIBLE_HOPS, "travel", "count",
            meaning="hops faster than {impossible_kmh} km/h",
            sentence="{v:.0f} sign-in hop{s} faster than {impossible_kmh} km/h",
            why="each is a trip no one could make: shared logins or remote access",
            needs=(EVENTS,), monotone=1),
    Feature("impossible_hop_share", "travel", "share",
            meaning="impossible hops / all hops",
            sentence="{v:.0%} of sign-in hops faster than {impossible_kmh} km/h",
            why="trips no one could make are a routine, not a one-off",
            needs=(EVENTS,), monotone=1),
    Feature("countries_distinct", "travel", "count",
            meaning="distinct sign-in countries",
            sentence="sign-ins from {v:.0f} countr{ies}",
            why="a worker at home signs in from one or two countries",
            needs=(EVENTS,)),
    Feature("high_risk_country_share", "travel", "share",
            meaning="sign-ins from {high_risk_or} (configurable)",
            sentence="{v:.0%} of sign-ins from high-risk countries ({high_risk})",
            why="sanctioned operators often sign in from these countries",
            needs=(EVENTS,), monotone=1),
    Feature("anonymizer_share", "travel", "share",
            meaning="sign-ins from IPs flagged VPN, proxy, Tor, hosting",
            sentence="{v:.0%} of sign-ins through VPN, proxy or hosting IPs",
            why="hiding the real IP is how operators mask where they are",
            needs=(EVENTS,)),
    Feature("home_distance_km", "travel", "km",
            meaning="claimed home to the median eligible sign-in location",
            sentence="usual sign-in location {v:,.0f} km from the claimed home",
            why="the person may not be where the profile says they live",
            needs=(EVENTS, RECORD)),
    Feature("night_share", "timezone", "share",
            meaning="events between {night_start} and {night_end} claimed local time",
            sentence="{v:.0%} of activity between {night_start} and {night_end} in the "
                     "claimed time zone",
            why="work in the claimed night fits someone living in another zone",
            needs=(EVENTS, RECORD)),
    Feature("location_night_share", "timezone", "share",
            meaning="events between {night_start} and {night_end} local time at the sign-in "
                    "location",
            sentence="{v:.0%} of activity between {night_start} and {night_end} local time "
                     "where it signs in",
            why="night work where the laptop is fits someone driving it from another zone",
            needs=(EVENTS,)),
    Feature("hour_circular_mean", "timezone", "hour",
            meaning="circular mean of the claimed local hour (0-24)",
            sentence="typical activity around {v:.0f}:00 in the claimed time zone",
            why="the working day is centred at an odd hour for the claimed zone",
            needs=(EVENTS, RECORD), why_side="any"),
    Feature("hour_circular_spread_h", "timezone", "hours",
            meaning="circular standard deviation of that hour",
            sentence="activity hours spread over {v:.1f} h",
            why="activity spread over the clock can mean several people",
            needs=(EVENTS, RECORD)),
    Feature("device_claimed_tz_mismatch_share", "timezone", "share",
            meaning="events whose device zone offset differs from the claimed zone",
            sentence="device time zone differs from the claimed one on {v:.0%} of events",
            why="the laptop's clock may be set to where the worker is",
            needs=(EVENTS, RECORD), monotone=1),
    Feature("device_ip_tz_mismatch_share", "timezone", "share",
            meaning="events whose device zone offset differs from the IP location's",
            sentence="device time zone differs from the IP location's on {v:.0%} of events",
            why="device and network disagree: remote desktop or VPN",
            needs=(EVENTS,)),
    Feature("device_claimed_tz_diff_max_h", "timezone", "hours",
            meaning="largest device vs claimed UTC-offset difference at an event",
            sentence="device clock up to {v:.0f} h off the claimed time zone",
            why="the device clock keeps the time of another region",
            needs=(EVENTS, RECORD)),
    Feature("ip_claimed_tz_diff_mean_h", "timezone", "hours",
            meaning="mean IP-location vs claimed UTC-offset difference",
            sentence="sign-in locations on average {v:.1f} h off the claimed zone",
            why="sign-ins come from far off the claimed time zone",
            needs=(EVENTS, RECORD)),
    Feature(DEVICE_ACCOUNTS_MAX, "reuse", "count",
            meaning="most accounts seen on one of its devices",
            sentence="a device it uses was seen on {v:.0f} account{s}",
            why="one laptop behind several accounts is a laptop farm's trace",
            needs=(EVENTS, CROSS), monotone=1),
    Feature("device_accounts_mean", "reuse", "count",
            meaning="mean over events of accounts on the device",
            sentence="its devices carry {v:.1f} accounts on average",
            why="devices shared across accounts are a laptop farm's trace",
            needs=(EVENTS, CROSS)),
    Feature("ip_accounts_max", "reuse", "count",
            meaning="most accounts seen on one of its IPs (interactive sign-ins)",
            sentence="an IP it uses was seen on {v:.0f} account{s}",
            why="one address behind several accounts can be a farm or one operator",
            needs=(EVENTS, CROSS)),
    Feature("ip_accounts_mean", "reuse", "count",
            meaning="mean over interactive events of accounts on the IP",
            sentence="its IPs carry {v:.1f} accounts on average",
            why="addresses shared across accounts can point to one operator",
            needs=(EVENTS, CROSS)),
    Feature("prefix_accounts_max", "reuse", "count",
            meaning="most accounts seen in one of its /24 or /64 (interactive sign-ins)",
            sentence="its network (/24 or /64) was seen on {v:.0f} account{s}",
            why="many accounts from one small network can point to one operator",
            needs=(EVENTS, CROSS)),
    Feature("prefix_accounts_mean", "reuse", "count",
            meaning="mean over interactive events of accounts in the prefix",
            sentence="its networks carry {v:.1f} accounts on average",
            why="networks shared across accounts can point to one operator",
            needs=(EVENTS, CROSS)),
    Feature("payout_accounts", "reuse", "count",
            meaning="accounts sharing its payout id (itself included)",
            sentence="payout account shared by {v:.0f} account{s}",
            why="several workers paid into one account point to one operator",
            needs=(RECORD, CROSS), monotone=1),
    Feature("phone_accounts", "reuse", "count",
            meaning="accounts sharing its phone id (itself included)",
            sentence="phone number shared by {v:.0f} account{s}",
            why="several workers with one phone number point to one operator",
            needs=(RECORD, CROSS), monotone=1),
    Feature("cluster_size", "reuse", "count",
            meaning="accounts linked to it via devices, payout, phone ids",
            sentence="linked to {v:.0f} account{s} through shared devices, payout or phone",
            why="accounts tied by devices, payout or phone can be one operator",
            needs=(EVENTS, RECORD, CROSS), monotone=1),
    Feature("devices_distinct", "reuse", "count",
            meaning="distinct devices it used",
            sentence="{v:.0f} distinct device{s}",
            why="more devices than one worker needs can mean several people",
            needs=(EVENTS,)),
    Feature("ips_distinct", "reuse", "count",
            meaning="distinct IPs it used",
            sentence="{v:.0f} distinct IP{s}",
            why="more addresses than usual can mean proxies or several people",
            needs=(EVENTS,)),
    Feature("top_ip_share", "reuse", "share",
            meaning="share of its interactive sign-ins from its most used IP",
            sentence="{v:.0%} of its interactive sign-ins from its most used IP",
            why="rotating VPN or proxy exits spread a persona's sign-ins thin, and a farm's "
                "line keeps them on one; people mostly sign in from a few places",
            needs=(EVENTS,), why_side="any"),
    Feature("account_age_days", "age", "days",
            meaning="age of the account at as_of",
            sentence="account is {v:.0f} day{s} old",
            why="new accounts carry most of the fraud",
            needs=(RECORD,), why_side="low"),
    Feature("first_signin_delay_h", "age", "hours",
            meaning="creation to first sign-in (unknown when the first sign-in came first)",
            sentence="first sign-in {v:,.0f} h after the account was created",
            why="the delay before the first sign-in is unlike honest hires'",
            needs=(EVENTS, RECORD), why_side="any"),
    Feature("events_per_active_day", "age", "events/day",
            meaning="events per UTC day with activity",
            sentence="{v:.1f} events per active day",
            why="the sign-in rhythm is unlike a single worker's",
            needs=(EVENTS,), why_side="any"),
    Feature("events_total", "age", "count",
            meaning="events up to as_of",
            sentence="{v:.0f} event{s} so far",
            why="the activity level is unlike a single worker's",
            needs=(EVENTS,), why_side="any"),
]

REGISTRY: tuple[Feature, ...]  # every feature, in the model's order (set when first read)
BY_NAME: dict[str, Feature]  # the same by name


def register(feature: Feature) -> None:
    """Add `feature` (with its `compute`) after the registry's entries, before anything reads
    the registry; raises ValueError for a name taken and RuntimeError once it was read."""
    if "REGISTRY" in globals():
        raise RuntimeError(f"register({feature.name!r}): the feature registry was already read "
                           "(feature list, contract, reasons derive from it at import); register "
                           "before importing persona_risk.features.reference or its users")
    if feature.compute is None:
        raise ValueError(f"register({feature.name!r}): a registered feature needs its compute")
    if any(f.name == feature.name for f in _ENTRIES):
        raise ValueError(f"register({feature.name!r}): a feature of that name exists")
    _ENTRIES.append(feature)


def __getattr__(name: str):
    """`REGISTRY` and `BY_NAME`, fixed at their first read (after which `register` refuses)."""
    if name not in ("REGISTRY", "BY_NAME"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()["REGISTRY"] = tuple(_ENTRIES)
    globals()["BY_NAME"] = {f.name: f for f in _ENTRIES}
    return globals()[name]
