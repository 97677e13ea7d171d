"""Geometry and time-zone primitives over arrays: distances (km), IP prefixes, zones, offsets."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import numpy as np
import pandas as pd

EARTH_RADIUS_KM = 6371.0088
TZ_GRID_DEGREES = 0.01  # zone look-ups are cached on this grid (about 1 km)


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (broadcasts)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@lru_cache(maxsize=1_000_000)
def _prefix_of(ip: str) -> str | None:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    bits = 24 if addr.version == 4 else 64
    return str(ipaddress.ip_network(f"{addr}/{bits}", strict=False))


def ip_prefix(ips: pd.Series) -> pd.Series:
    """The /24 (IPv4) or /64 (IPv6) network of each IP, as text; missing for unreadable IPs."""
    codes, uniques = pd.factorize(ips)
    prefixes = np.array([_prefix_of(u) for u in uniques] + [None], dtype=object)
    return pd.Series(prefixes[codes], index=ips.index, dtype="str")


@lru_cache(maxsize=500_000)
def _zone_at(lat_cell: int, lon_cell: int) -> str | None:
    import tzfpy

    zone = tzfpy.get_tz(lon_cell * TZ_GRID_DEGREES, lat_cell * TZ_GRID_DEGREES)
    return zone or None


def timezone_at(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """IANA zone at each location (offline polygons from tzfpy); None where lat/lon is missing."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    out = np.full(len(lat), None, dtype=object)
    ok = ~(np.isnan(lat) | np.isnan(lon))
    if not ok.any():
        return out
    cells = np.stack([np.round(lat[ok] / TZ_GRID_DEGREES), np.round(lon[ok] / TZ_GRID_DEGREES)], 1)
    uniq, inverse = np.unique(cells.astype(np.int64), axis=0, return_inverse=True)
    zones = np.array([_zone_at(int(a), int(b)) for a, b in uniq], dtype=object)
    out[ok] = zones[inverse.ravel()]
    return out


def utc_offset_hours(zones: np.ndarray, ts_ns: np.ndarray) -> np.ndarray:
    """UTC offset in hours of each zone at each instant (ns since epoch, UTC), DST included.

    NaN where the zone is missing.
    """
    codes, uniques = pd.factorize(pd.Series(zones, dtype="str"))
    out = np.full(len(codes), np.nan)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    for code, zone in enumerate(uniques):
        rows = order[bounds[code]:bounds[code + 1]]
        utc = pd.DatetimeIndex(ts_ns[rows].astype("datetime64[ns]"), tz="UTC")
        local_ns = utc.tz_convert(zone).tz_localize(None).asi8
        out[rows] = (local_ns - ts_ns[rows]) / 3.6e12
    return out
