"""The structural constants of a simulated world, and the ranges they are drawn from.

A model trained on one configuration learns its artifacts (every farm with three IPs, a shared
payout id always fraud). Domain randomization draws every constant per world from a wide range,
so that training sees many worlds and no constant is a tell. `WorldParams()` is the fixed
reference world; `draw(rng)` a random one; `RANGES` documents each range.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

# honest archetypes and their shares of honest accounts in the reference world; the last six
# are the look-alikes that public incident reports and detection-rule issues name
HONEST_MIX = {
    "office": 0.38, "traveller": 0.12, "vpn_user": 0.10, "mobile": 0.12, "night_shift": 0.07,
    "new_hire": 0.08, "shared_device": 0.07, "contractor_abroad": 0.06,
    "agency_contractor": 0.0, "corporate_vpn": 0.0, "coworking": 0.0, "relay_user": 0.0,
    "satellite": 0.0, "remote_desktop": 0.0, "service_account": 0.0,
}
LOOK_ALIKES = ("agency_contractor", "corporate_vpn", "coworking", "relay_user", "satellite",
               "remote_desktop", "service_account")


@dataclass(frozen=True)
class WorldParams:
    """One world's structure. Shares are of accounts (or events where said), in [0, 1]."""

    honest_mix: dict[str, float] = field(default_factory=lambda: dict(HONEST_MIX))
    personas_min: int = 3  # personas per operator, drawn uniformly in [min, max]
    personas_max: int = 12
    evasion_share: float = 0.2  # of operators: US hours, claimed zone, few slips
    farm_ips: int = 3  # residential IPs of a laptop farm
    personas_per_farm: int = 8
    household_max: int = 3  # shared-device households (or frontline teams) of 2 to this many
    shared_phone_share: float = 0.0  # of those households: one MFA phone for all
    own_line_share: float = 0.0  # farm personas with a residential line of their own
    farm_near_claim_share: float = 0.35  # farm personas claiming a home near the farm
    device_tz_claimed_share: float = 0.7  # farm laptops set to the claimed zone
    vpn_tz_claimed_share: float = 0.0  # VPN operators' laptops set to the claimed zone
    vpn_operator_device_rate: float = 0.75  # VPN operators' events on their own device
    direct_rate_max: float = 0.06  # per operator, share of events straight from Asia
    operator_device_rate_max: float = 0.25  # farm events on the operator's own device
    share_rate_low: float = 0.2  # per operator, share of personas on its payout/phone pool
    share_rate_high: float = 0.9
    asian_hours_low: float = 0.6  # non-evasive operators: share of work in Asian daytime
    evasive_asian_max: float = 0.35
    proxy_share: float = 0.0  # of operators: rotating residential proxies instead of a farm
    proxy_local_share: float = 0.0  # of proxy operators: exits picked in the claimed home city
    aged_account_share: float = 0.0  # fraud accounts bought or aged (created long ago)
    tenant_share: float = 1.0  # of an operator's personas that work at this employer
    honest_hour: float = 13.0  # mean local hour of honest activity
    cgnat_share: float = 0.12
    claim_elsewhere_share: float = 0.15  # honest HR records that lag a move
    misset_device_tz_share: float = 0.05
    geo_jitter_km: float = 20.0
    ipv6_share: float = 0.0  # of residential lines: dual-stack, IPv6 privacy addresses (rotating)
    no_device_id_share: float = 0.0  # of events (Okta, CloudTrail logs carry none)
    no_device_tz_share: float = 0.0  # of events
    no_location_share: float = 0.0  # of events: no lat/lon in the log (the IP's country stays)
    # of honest staff: fully remote, never on an office network (alone on their home line)
    remote_share: float = 0.0
    # two shifted test conditions, not drawn in training (see docs/robustness.md: drawn, they
    # did not help on average, or cost careful personas): of farm personas' sign-ins, the share
    # through their operator's VPN exits (laptops at a farm running Astrill, Mandiant 2025) and
    # the share through the corporate VPN egress that `corporate_vpn` staff use (meaningful
    # only in a world with such staff; drawn per sign-in, so part of them still shows the farm)
    farm_vpn_share: float = 0.0
    farm_corporate_share: float = 0.0
    # the fields below are drawn in training again
    agency_abroad_share: float = 0.0  # of agency contractors: living abroad (an employer of record)
    abroad_overlap_share: float = 0.0  # of honest people abroad: working US hours (their night)
    # an employer's office sites (staff who go in live in a site's city); 0: one in every city
    office_sites: int = 0
    # spread (log-normal sigma) of each account's own sign-in rate around the mean; 0: all alike
    activity_spread: float = 0.0
    # people keep their own hours: each account's mean local hour is drawn around the world's
    # with this sd (hours), its own spread around `hour_spread_h` (log-normal, sigma a fifth
    # of this sd)
    hour_habit_sd: float = 0.0
    hour_spread_h: float = 2.6  # sd of a person's local sign-in hour, hours
    off_hours_share: float = 0.12  # of events at any hour: evening e-mail, weekend fixes
    vpn_exits: int = 200  # commercial VPN exits in the world: fewer, more people on each
    # of those exits: moved to a city of `world.VPN_EXIT_COUNTRIES` outside the US (exits are
    # drawn by city, and 198 of the 211 cities of those countries are American); a test
    # condition of `training.robustness`, not in `RANGES`: drawn in training it cost worlds 6-9
    # two points
    vpn_exits_abroad_share: float = 0.0
    operator_vpn_exits: int = 3  # exits each VPN operator signs in through
    # of those exits: outside the US, from the VPN's exits abroad (few unless
    # `vpn_exits_abroad_share` moves some there, so operators crowd onto those few)
    operator_vpn_abroad_share: float = 0.0
    service_zone_share: float = 0.0  # of service accounts: their host reports zone UTC
    service_ips_per_region: int = 2  # cloud IPs per region that service accounts sign in from
    fraud_tenure_days: float = 45.0  # fraud personas hired up to this many days before the log


# name: (low, high, why the range is this wide); integers are drawn as integers
RANGES: dict[str, tuple[float, float, str]] = {
    "personas_min": (1, 4, "GTIG: one worker ran at least 12 personas; some run one"),
    "personas_max": (4, 16, "one facilitator kept 13 jobs alive (DOJ 2025)"),
    "evasion_share": (0.1, 0.8, "deployments see mostly careful operators"),
    "farm_ips": (1, 8, "one home line to a small office block"),
    "personas_per_farm": (2, 30, "29 farms searched in 2025, from a few laptops to dozens"),
    "household_max": (3, 12, "frontline teams share kiosk workstations"),
    "shared_phone_share": (0.0, 0.6, "families and shift teams share one MFA phone"),
    "own_line_share": (0.0, 0.8, "farms that buy a residential line per persona"),
    "farm_near_claim_share": (0.0, 0.9, "facilitators recruited near the claimed home"),
    "device_tz_claimed_share": (0.3, 1.0, "careful operators set the claimed zone"),
    "vpn_tz_claimed_share": (0.0, 0.8, ""),
    "vpn_operator_device_rate": (0.1, 0.9, ""),
    "direct_rate_max": (0.0, 0.08, "some never log in from Asia directly"),
    "operator_device_rate_max": (0.0, 0.4, "IP-KVM and remote tools hide the operator device"),
    "share_rate_low": (0.0, 0.4, "operators that keep payouts apart"),
    "share_rate_high": (0.4, 1.0, ""),
    "asian_hours_low": (0.3, 0.9, ""),
    "evasive_asian_max": (0.0, 0.5, "evasive operators keep US hours"),
    "proxy_share": (0.0, 0.5, "rotating residential proxies (Secureworks, Mandiant)"),
    "proxy_local_share": (0.0, 1.0, "proxy services sell exits by city: the claimed one"),
    "aged_account_share": (0.0, 0.5, "bought or aged accounts"),
    "tenant_share": (0.15, 1.0, "an employer sees only its own personas of an operator"),
    "honest_hour": (10.0, 15.0, ""),
    "cgnat_share": (0.02, 0.35, "mobile-first and fibre-poor regions"),
    "claim_elsewhere_share": (0.0, 0.35, ""),
    "misset_device_tz_share": (0.0, 0.15, ""),
    "geo_jitter_km": (3.0, 120.0, "free geo-IP databases are coarse"),
    "ipv6_share": (0.0, 0.6, "dual-stack homes and carriers"),
    "no_device_id_share": (0.0, 1.0, "Okta and CloudTrail exports carry no device id"),
    "no_device_tz_share": (0.0, 1.0, "many logs report no device zone"),
    "no_location_share": (0.0, 0.3, "rows without geo fields"),
    "agency_abroad_share": (0.0, 0.8, "employer-of-record agencies pay contractors abroad"),
    "abroad_overlap_share": (0.0, 0.6, "offshore support and engineering keep US hours"),
    "office_sites": (1, 40, "one headquarters to dozens of branches: hundreds per office IP"),
    "activity_spread": (0.2, 1.2, "dormant, part-time and heavy users: a few sign-ins a month "
                        "to dozens a day, so a count of events is no tell of a young account"),
    "hour_habit_sd": (0.0, 2.5, "early risers and late starters keep their own hours"),
    "hour_spread_h": (1.2, 3.5, "fixed shifts to scattered hours"),
    "off_hours_share": (0.02, 0.25, ""),
    "vpn_exits": (15, 400, "a small VPN's few exits carry dozens of users each"),
    "operator_vpn_exits": (1, 12, ""),
    "operator_vpn_abroad_share": (0.0, 0.8, "commercial VPNs (often Astrill, Mandiant UNC5267) "
                                  "exit in many countries"),
    "service_zone_share": (0.0, 1.0, "servers report UTC"),
    "service_ips_per_region": (1, 40, "a shared NAT gateway to an address per workload"),
    "remote_share": (0.0, 0.7, "hybrid and fully remote staff: many never sign in from an "
                     "office, alone on their home line in the employer's log"),
    "fraud_tenure_days": (30.0, 180.0, "personas are new hires, weeks to months in the job "
                          "(older ones: bought or aged accounts)"),
}
# each look-alike's share of honest accounts is drawn in [0, LOOK_ALIKE_MAX]
LOOK_ALIKE_MAX = 0.08
# the operators' knobs and which end of the range is the harder to detect (+1 high, -1 low)
HARD_END = {
    "evasion_share": 1, "farm_ips": -1, "own_line_share": 1, "farm_near_claim_share": 1,
    "device_tz_claimed_share": 1, "vpn_tz_claimed_share": 1, "direct_rate_max": -1,
    "operator_device_rate_max": -1, "share_rate_low": -1, "share_rate_high": -1,
    "asian_hours_low": -1, "evasive_asian_max": -1, "proxy_share": 1, "proxy_local_share": 1,
    "aged_account_share": 1, "tenant_share": -1, "personas_per_farm": -1,
    "vpn_exits": -1, "fraud_tenure_days": 1,
}
CAREFUL_SHARE = 0.35
INTEGERS = ("personas_min", "personas_max", "farm_ips", "personas_per_farm", "household_max",
            "office_sites", "vpn_exits", "operator_vpn_exits", "service_ips_per_region")
ALL_OR_NOTHING = ("no_device_id_share", "no_device_tz_share")  # often a whole log lacks them


def draw(rng: np.random.Generator, careful_share: float = CAREFUL_SHARE) -> WorldParams:
    """A random world: every constant drawn from `RANGES`, look-alikes mixed in. Drawn one by
    one, the hard conditions rarely meet; in a `careful_share` of worlds the operators' knobs
    are drawn from the hard end of their ranges together."""
    careful = rng.random() < careful_share
    values = {}
    for name, (low, high, _) in RANGES.items():
        if careful and name in HARD_END:
            toward = HARD_END[name]
            low, high = ((low + (high - low) * 0.6, high) if toward > 0 else
                         (low, low + (high - low) * 0.4))
        if name in INTEGERS:
            values[name] = int(rng.integers(int(round(low)), int(round(high)) + 1))
        else:
            values[name] = float(rng.uniform(low, high))
    for name in ALL_OR_NOTHING:
        values[name] = float(rng.choice([0.0, values[name], 1.0], p=[0.5, 0.2, 0.3]))
    values["personas_max"] = max(values["personas_max"], values["personas_min"])
    mix = {k: v * rng.uniform(0.5, 1.5) for k, v in HONEST_MIX.items()}
    mix.update({k: rng.uniform(0, LOOK_ALIKE_MAX) for k in LOOK_ALIKES})
    return WorldParams(honest_mix=mix, **values)


def shifted(name: str, value) -> WorldParams:
    """The reference world with one constant changed (a look-alike name sets its share)."""
    if name in HONEST_MIX:
        return WorldParams(honest_mix={**HONEST_MIX, name: value})
    return dataclasses.replace(WorldParams(), **{name: value})
