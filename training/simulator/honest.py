"""Honest archetypes' networks and where their sign-ins come from: home lines (some behind
carrier-grade NAT), households sharing a device, offices, mobile carriers, commercial VPNs,
the look-alikes' shared egress, and travellers' trips."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from persona_risk.features.geo import haversine_km
from persona_risk.training.simulator import world
from persona_risk.training.simulator.params import WorldParams
from persona_risk.training.simulator.population import ArchetypeTest, Population, chunk_sizes
from persona_risk.training.simulator.world import (
    CARRIER_ASN,
    HOSTING_ASN,
    RESIDENTIAL_ASN,
    SATELLITE_ASN,
)

AIRLINER_KMH, AIRPORT_HOURS = 800.0, 3.0
HOTEL_ASN = 3356  # a transit network that hotel Wi-Fi often leaves through
# share of a look-alike's events that leave through its special IPs
OFFICE_GOERS = ("office", "new_hire", "traveller")
LOOK_ALIKE_EVENT_SHARE = {"corporate_vpn": 0.9, "coworking": 0.6, "relay_user": 0.5,
                          "satellite": 0.7, "remote_desktop": 0.95, "service_account": 1.0}


@dataclass
class HonestNetworks:
    """Per account: IP indices (into the world's `IpTable`) and device indices."""

    home_ip: np.ndarray
    device: np.ndarray  # the main device
    second_device: np.ndarray  # -1 for none
    office_ip: np.ndarray  # n x 4
    carrier_ip: np.ndarray  # n x 64
    vpn_ip: np.ndarray  # n x 2
    vpn_exits: np.ndarray  # every commercial VPN exit
    exit_cities: np.ndarray  # their cities
    look_alike_ip: dict[str, np.ndarray]  # n x 4 per look-alike archetype in the world


def honest_networks(rng: np.random.Generator, pop: Population, p: WorldParams,
                    ips: world.IpTable) -> HonestNetworks:
    """The honest infrastructure of the world, added to `ips`; members of a household move
    to its head's home."""
    n = len(pop.persona)
    cities = world.cities()
    us = world.city_indices(("US",))
    home, jitter = pop.home, p.geo_jitter_km
    if p.office_sites:  # drawn only when used: the reference world keeps its random stream
        _move_to_office_sites(rng, pop, p.office_sites, us)
    home_ip = ips.add(rng, home, world.random_prefixes(rng, n), RESIDENTIAL_ASN, jitter_km=jitter)
    # carrier-grade NAT: some honest homes share one public IP per city with strangers
    cgnat = ~pop.fraud & (rng.random(n) < p.cgnat_share)
    cgnat_city = np.unique(home[cgnat])
    cgnat_ip = ips.add(rng, cgnat_city, world.random_prefixes(rng, len(cgnat_city)), CARRIER_ASN,
                       jitter_km=jitter)
    home_ip[cgnat] = cgnat_ip[np.searchsorted(cgnat_city, home[cgnat])]

    # households: shared-device accounts live in families of 2-3 with one home, IP and device
    device = np.arange(n) * 2
    second_device = np.where(rng.random(n) < 0.6, np.arange(n) * 2 + 1, -1)
    family = np.flatnonzero(pop.persona == "shared_device")
    sizes = chunk_sizes(rng, len(family), 2, p.household_max)
    heads = np.repeat(family[np.cumsum(sizes) - sizes], sizes)
    home[family], home_ip[family], device[family] = home[heads], home_ip[heads], device[heads]
    pop.claimed_tz[family] = cities.tz.to_numpy()[home[family]]

    # offices: colleagues in one city share four office IPs in a /24
    office_city = np.unique(home)
    office_block = ips.add(rng, np.repeat(office_city, 4), np.repeat(
        world.random_prefixes(rng, len(office_city)), 4), RESIDENTIAL_ASN, jitter_km=5)
    office_ip = office_block.reshape(-1, 4)[np.searchsorted(office_city, home)]
    if p.remote_share > 0:  # drawn only when used: the reference world keeps its random stream
        remote = rng.random(n) < p.remote_share
        office_ip[remote] = home_ip[remote, None]  # a remote worker's "office" is the home line

    # mobile carriers: a hub city 200-900 km from home, 64 carrier IPs per hub
    hubs = world.nearby_city(rng, home, us, 200, 900)
    hub_city = np.unique(hubs)
    hub_ips = ips.add(rng, np.repeat(hub_city, 64), np.repeat(
        world.random_prefixes(rng, len(hub_city)), 64), CARRIER_ASN).reshape(-1, 64)
    carrier_ip = hub_ips[np.searchsorted(hub_city, hubs)]

    # commercial VPN exits: some flagged as anonymizers, many not
    k = p.vpn_exits
    exit_cities = rng.choice(world.city_indices(world.VPN_EXIT_COUNTRIES), k)
    if p.vpn_exits_abroad_share:  # drawn only when used: worlds without it stay as they were
        abroad_rng = rng.spawn(1)[0]
        abroad = abroad_rng.random(k) < p.vpn_exits_abroad_share
        exit_cities[abroad] = abroad_rng.choice(
            world.city_indices(world.VPN_EXIT_COUNTRIES, exclude_us=True), abroad.sum())
    vpn_exits = ips.add(rng, exit_cities, world.random_prefixes(rng, k), HOSTING_ASN,
                        anonymizer=rng.random(k) < 0.4)
    vpn_ip = rng.choice(vpn_exits, (n, 2))
    look_alike_ip = _look_alike_ips(rng, ips, pop.persona, home, us, p.service_ips_per_region)
    return HonestNetworks(home_ip, device, second_device, office_ip, carrier_ip, vpn_ip,
                          vpn_exits, exit_cities, look_alike_ip)


def _move_to_office_sites(rng: np.random.Generator, pop: Population, sites: int,
                          us: np.ndarray) -> None:
    """Staff who go to an office live in the city of one of the employer's `sites` (sizes
    falling with rank: a headquarters and branches), so an office IP serves all of them."""
    goers = np.flatnonzero(np.isin(pop.persona, OFFICE_GOERS))
    site = rng.choice(us, sites, replace=False)
    weight = 1 / np.arange(1, sites + 1)
    pop.home[goers] = rng.choice(site, len(goers), p=weight / weight.sum())
    pop.claimed_tz[goers] = world.cities().tz.to_numpy()[pop.home[goers]]


def _look_alike_ips(rng: np.random.Generator, ips: world.IpTable, persona: np.ndarray,
                    home: np.ndarray, us: np.ndarray,
                    service_ips_per_region: int) -> dict[str, np.ndarray]:
    """Per account, the IPs its look-alike archetype signs in through (n x 4 each)."""
    n = len(persona)
    c = world.cities()
    # full-tunnel corporate egress: an employer's staff leave through 2-4 IPs in one distant
    # city (Zscaler-style), hundreds of people per IP
    employers = rng.choice(us, 6)
    egress = ips.add(rng, np.repeat(employers, 4), np.repeat(world.random_prefixes(rng, 6), 4),
                     HOSTING_ASN, jitter_km=5).reshape(6, 4)
    # coworking spaces and universities: many unrelated people behind two IPs per city
    cities_used = np.unique(home)
    cowork = ips.add(rng, np.repeat(cities_used, 2), np.repeat(
        world.random_prefixes(rng, len(cities_used)), 2), RESIDENTIAL_ASN, jitter_km=3)
    cowork = cowork.reshape(-1, 2)[np.searchsorted(cities_used, home)]
    # privacy relays: anonymizer egress in a region near home, rotating
    relay_city = world.nearby_city(rng, home, us, 0, 600)
    relay = ips.add(rng, np.repeat(relay_city, 4), world.random_prefixes(rng, 4 * n),
                    HOSTING_ASN, anonymizer=True).reshape(n, 4)
    # satellite links geolocate to a ground station, often in another country
    ground = rng.choice(world.city_indices(("US", "CA", "MX", "GB", "DE")), 12)
    station = ips.add(rng, ground, world.random_prefixes(rng, 12), SATELLITE_ASN, jitter_km=50)
    # remote-desktop and cloud-PC workers: every sign-in from a cloud region
    regions = c.index[c.name.isin(["Ashburn", "Boardman", "San Jose", "Columbus", "Dallas"])]
    regions = regions.to_numpy() if len(regions) else rng.choice(us, 3)
    cloud = ips.add(rng, np.repeat(regions, 8), world.random_prefixes(rng, 8 * len(regions)),
                    HOSTING_ASN, jitter_km=5)
    picks = {
        "corporate_vpn": egress[rng.integers(0, 6, n)],
        "coworking": np.c_[cowork, cowork],
        "relay_user": relay,
        "satellite": rng.choice(station, (n, 4)),
        "remote_desktop": rng.choice(cloud, (n, 4)),
    }
    # service accounts: scripts and integrations running in the employer's cloud, flagged as
    # hosting by some IP-intelligence sources (drawn only when used: the reference world keeps
    # its random stream)
    if (persona == "service_account").any():
        k = service_ips_per_region * len(regions)
        service = ips.add(rng, np.repeat(regions, service_ips_per_region),
                          world.random_prefixes(rng, k), HOSTING_ASN,
                          anonymizer=rng.random(k) < 0.6, jitter_km=5)
        picks["service_account"] = rng.choice(service, (n, 4))
    return picks


def route_honest(rng: np.random.Generator, net: HonestNetworks, pc: np.ndarray,
                 acc: np.ndarray, u: np.ndarray, weekday: np.ndarray,
                 is_: ArchetypeTest) -> tuple[np.ndarray, np.ndarray]:
    """IP and device of each event (`acc`: its account, `pc`: its persona code, `u`: its
    uniform draw) as honest people sign in: from home, the office on weekdays, a VPN, a
    carrier, a look-alike's egress."""
    ip = net.home_ip[acc].copy()
    dev = np.where((net.second_device[acc] >= 0) & (rng.random(len(acc)) < 0.25),
                   net.second_device[acc], net.device[acc])
    at_office = is_(pc, *OFFICE_GOERS) & weekday & (u < 0.6)
    ip[at_office] = net.office_ip[acc[at_office], rng.integers(0, 4, at_office.sum())]
    on_vpn = is_(pc, "vpn_user") & (u < 0.35)
    ip[on_vpn] = net.vpn_ip[acc[on_vpn], rng.integers(0, 2, on_vpn.sum())]
    on_carrier = is_(pc, "mobile") & (u < 0.45)
    ip[on_carrier] = net.carrier_ip[acc[on_carrier], rng.integers(0, 64, on_carrier.sum())]
    for kind, look_alike_ip in net.look_alike_ip.items():
        on = is_(pc, kind) & (u < LOOK_ALIKE_EVENT_SHARE[kind])
        ip[on] = look_alike_ip[acc[on], rng.integers(0, 4, on.sum())]
    return ip, dev


def trips(rng: np.random.Generator, days: int, ips: world.IpTable, home: np.ndarray,
          acc: np.ndarray, is_trav: np.ndarray, ts_days: np.ndarray, ip: np.ndarray,
          ev_tz: np.ndarray, keep: np.ndarray,
          city_zone: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Travellers fly to real cities at airliner speed; their device zone lags the trip.

    Per event: `ts_days` its time in days, `ip`, `ev_tz` (zone code) and `keep` as routed so
    far; returns them with hotel IPs while away, lagging zones, and in-flight events dropped
    (`city_zone`: zone code per city)."""
    cities = world.cities()
    travellers = np.unique(acc[is_trav])
    if len(travellers) == 0:
        return ip, ev_tz, keep
    dest = rng.choice(world.city_indices(), (len(travellers), 2))
    dist = haversine_km(cities.lat.to_numpy()[home[travellers]][:, None],
                        cities.lon.to_numpy()[home[travellers]][:, None],
                        cities.lat.to_numpy()[dest], cities.lon.to_numpy()[dest])
    flight_days = (dist / AIRLINER_KMH + AIRPORT_HOURS) / 24
    half = max(days / 2, 12.0)
    depart = np.stack([rng.uniform(2, half - 10, len(travellers)),
                       rng.uniform(half, max(half, days - 10), len(travellers))], 1)
    arrive = depart + flight_days
    back_depart = arrive + rng.uniform(2, 8, depart.shape)
    back_arrive = back_depart + flight_days
    lag_days = rng.uniform(2, 24, depart.shape) / 24
    hotel = ips.add(rng, dest.ravel(), world.random_prefixes(rng, dest.size),
                    HOTEL_ASN).reshape(-1, 2)
    row = np.searchsorted(travellers, acc)
    for k in range(2):
        t = ts_days
        r = np.where(is_trav, row, 0)
        in_flight = is_trav & (((t >= depart[r, k]) & (t < arrive[r, k]))
                               | ((t >= back_depart[r, k]) & (t < back_arrive[r, k])))
        away = is_trav & (t >= arrive[r, k]) & (t < back_depart[r, k])
        keep &= ~in_flight
        ip = np.where(away, hotel[r, k], ip)
        shifted = away & (t >= arrive[r, k] + lag_days[r, k])
        ev_tz[shifted] = city_zone[dest[r[shifted], k]]
        # on the way home the device keeps the destination zone for the same lag
        back_lag = is_trav & (t >= back_arrive[r, k]) & (t < back_arrive[r, k] + lag_days[r, k])
        ev_tz[back_lag] = city_zone[dest[r[back_lag], k]]
    return ip, ev_tz, keep
