"""Geometry and time-zone primitives over arrays: distances (km), IP prefixes, zones, offsets."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit, vectorize

from persona_risk.features.text import factorize_values, take_text

EARTH_RADIUS_KM = 6371.0088
# the time units, named once
NS_PER_SECOND = 10**9
SECONDS_PER_HOUR = 3_600
SECONDS_PER_DAY = 24 * SECONDS_PER_HOUR
NS_PER_HOUR = SECONDS_PER_HOUR * NS_PER_SECOND
NS_PER_DAY = SECONDS_PER_DAY * NS_PER_SECOND
HOURS_PER_DAY = 24.0
TZ_GRID_DEGREES = 0.01  # zone look-ups are cached on this grid (about 1 km)
# a grid cell as one integer: row (latitude) times the number of columns plus column (longitude)
_LAT_HALF_CELLS = round(90 / TZ_GRID_DEGREES)
_LON_HALF_CELLS = round(180 / TZ_GRID_DEGREES)
_LON_CELLS = 2 * _LON_HALF_CELLS + 1
IPV4_PATTERN = r"^(?P<a>[0-9]{1,3})\.(?P<b>[0-9]{1,3})\.(?P<c>[0-9]{1,3})\.(?P<d>[0-9]{1,3})$"
OFFSET_STEP_NS = NS_PER_HOUR // 4  # zone offsets change on quarter hours
DENSE_CELLS = 20_000_000  # zones x quarter hours indexed directly up to this many cells
FEW_ROWS = 10_000  # rows up to which offsets are read zone by zone (one account, online)
SPAN_MARGIN = 4 * 24 * 7  # quarter hours (a week) a zone's cached span grows by past those asked
MAX_ZONE_QUARTERS = 400_000  # quarter hours (about 11 years) up to which a zone's are cached
MAX_CACHED_QUARTERS = 4_000_000  # the cache starts over past this many (32 MB)
# zone -> (its first cached quarter hour, the steady offset in h of it and each one after)
_SPANS: dict[str, tuple[int, np.ndarray]] = {}


@vectorize(["float64(float64, float64, float64, float64)"], cache=True)
def _haversine(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(max(a, 0.0), 1.0)))


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (broadcasts; NaN where a
    coordinate is NaN). One compiled pass, no temporary arrays."""
    with np.errstate(invalid="ignore"):  # NaN coordinates are expected, not an error
        return _haversine(lat1, lon1, lat2, lon2)


def _prefix_of(ip) -> str | None:
    if not isinstance(ip, str):
        return None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    bits = 24 if addr.version == 4 else 64
    network = ipaddress.IPv4Network if addr.version == 4 else ipaddress.IPv6Network
    host_bits = addr.max_prefixlen - bits  # from the parsed number: no second text parse
    return str(network((int(addr) >> host_bits << host_bits, bits)))


def _prefixes(ips: np.ndarray) -> np.ndarray:
    """Prefix text of each distinct IP: dotted IPv4 (octets of up to three digits, below 256, kept
    as written) in one Arrow pass, anything else through `ipaddress`."""
    out = np.full(len(ips), None, dtype=object)
    try:
        text = pa.array(ips, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        text = pa.nulls(len(ips), pa.string())
    parts = pc.extract_regex(text, IPV4_PATTERN)
    octets = [pc.struct_field(parts, name) for name in "abcd"]
    dotted = pc.is_valid(parts)
    for octet in octets:
        dotted = pc.and_(dotted, pc.fill_null(pc.less(pc.cast(octet, pa.int32()), 256), False))
    dotted = dotted.to_numpy(zero_copy_only=False)
    prefix = pc.binary_join_element_wise(*octets[:3], pa.scalar("0/24"), ".")
    out[dotted] = np.asarray(prefix.to_numpy(zero_copy_only=False), dtype=object)[dotted]
    out[~dotted] = [_prefix_of(ip) for ip in ips[~dotted]]
    return out


@lru_cache(maxsize=100_000)
def prefix_of(ip: str) -> str | None:
    """The prefix of one IP as `ip_prefix` gives it, cached: the online path asks for a few
    at a time, mostly the same ones."""
    return _prefixes(np.array([ip], dtype=object))[0]


def ip_prefix(ips: pd.Series) -> pd.Series:
    """The /24 (IPv4) or /64 (IPv6) network of each IP, as text; missing for unreadable IPs."""
    codes, uniques = pd.factorize(ips)
    return take_text(_prefixes(np.asarray(uniques, dtype=object)), codes, ips.index)


@lru_cache(maxsize=500_000)
def _zone_at(lat_cell: int, lon_cell: int) -> str | None:
    import tzfpy

    zone = tzfpy.get_tz(lon_cell * TZ_GRID_DEGREES, lat_cell * TZ_GRID_DEGREES)
    return zone or None


def timezone_at(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IANA zone at each location (offline polygons from tzfpy), as codes into zone names;
    code -1 where lat/lon is missing or no zone is known."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    ok = ~(np.isnan(lat) | np.isnan(lon))
    cells = np.full(len(lat), -1, np.int64)
    lat_cell = np.round(lat[ok] / TZ_GRID_DEGREES).astype(np.int64)
    lon_cell = np.round(lon[ok] / TZ_GRID_DEGREES).astype(np.int64)
    cells[ok] = (lat_cell + _LAT_HALF_CELLS) * _LON_CELLS + (lon_cell + _LON_HALF_CELLS)
    cell_codes, uniq = pd.factorize(cells)
    zones = [_zone_at(int(c // _LON_CELLS) - _LAT_HALF_CELLS,
                      int(c % _LON_CELLS) - _LON_HALF_CELLS) if c >= 0 else None for c in uniq]
    zone_codes, zone_names = factorize_values(zones)
    return zone_codes[cell_codes].astype(np.int64), zone_names


@lru_cache(maxsize=1_000)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _offsets_at(zone: str, ts_ns: np.ndarray) -> np.ndarray:
    utc = pd.DatetimeIndex(ts_ns.astype("datetime64[ns]"), tz="UTC")
    return (utc.tz_convert(_zone(zone)).tz_localize(None).asi8 - ts_ns) / NS_PER_HOUR


def _steady_offsets(zone: str, quarters: np.ndarray) -> np.ndarray:
    """UTC offset (hours) of `zone` in each quarter hour (numbered from the epoch), NaN where it
    differs at the quarter's two ends."""
    start = quarters * OFFSET_STEP_NS
    offset = _offsets_at(zone, start)
    return np.where(offset == _offsets_at(zone, start + OFFSET_STEP_NS - 1), offset, np.nan)


def _quarter_offsets(zone: str, quarters: np.ndarray) -> np.ndarray:
    """`_steady_offsets`, read from a table per zone of every quarter hour of a span (so each
    partition of a batch, and each online request, finds what an earlier one looked up), the
    span grown to cover the quarters asked; past `MAX_ZONE_QUARTERS` looked up directly."""
    lo, hi = int(quarters.min()), int(quarters.max()) + 1
    first, table = _SPANS.get(zone, (lo, np.empty(0)))  # another thread may clear it
    last = first + len(table)
    if lo < first or hi > last:  # grown by a margin: the next partitions or requests fit
        lo = min(lo - SPAN_MARGIN, first) if lo < first or not len(table) else first
        hi = max(hi + SPAN_MARGIN, last) if hi > last else last
        if hi - lo > MAX_ZONE_QUARTERS:
            return _steady_offsets(zone, quarters)
        table = np.concatenate([_steady_offsets(zone, np.arange(lo, first)), table,
                                _steady_offsets(zone, np.arange(last, hi))])
        first = lo
        if sum(len(span) for _, span in list(_SPANS.values())) > MAX_CACHED_QUARTERS:
            _SPANS.clear()
        _SPANS[zone] = (first, table)
    return table[quarters - first]


@njit(cache=True, nogil=True)
def _quarter_hour_cells(codes, named, ts_ns, first, span):
    cell = np.full(len(codes), -1, np.int64)
    used = np.zeros(len(named) * span, np.bool_)
    for i in range(len(codes)):
        c = codes[i]
        if c >= 0 and named[c]:
            cell[i] = c * span + ts_ns[i] // OFFSET_STEP_NS - first
            used[cell[i]] = True
    return cell, used


@njit(cache=True, nogil=True)
def _look_up(cell, table):
    out = np.full(len(cell), np.nan)
    for i in range(len(cell)):
        if cell[i] >= 0:
            out[i] = table[cell[i]]
    return out


def utc_offset_hours(codes: np.ndarray, zones: np.ndarray, ts_ns: np.ndarray) -> np.ndarray:
    """UTC offset in hours at each instant (ns since epoch, UTC) of the zone `zones[code]`,
    DST included; NaN where the code is -1 or the zone None.

    Offsets are looked up once per zone and quarter hour of UTC (zones change offset on quarter
    hours), in a table of every zone and quarter hour of the events' span; a quarter hour whose
    offset differs at its two ends, and a span too long for the table, are looked up row by
    row, zone by zone. A few rows (`FEW_ROWS`) are read zone by zone from the same cached
    spans, without the table."""
    named = np.array([z is not None for z in zones], bool)
    if len(codes) == 0 or not named.any():
        return np.full(len(codes), np.nan)
    if len(codes) <= FEW_ROWS:
        return _by_zone(codes, zones, ts_ns, _span_offsets)
    first = ts_ns.min() // OFFSET_STEP_NS
    span = ts_ns.max() // OFFSET_STEP_NS - first + 1
    if len(zones) * span > DENSE_CELLS:
        return _by_zone(codes, zones, ts_ns, _offsets_at)
    cell, used = _quarter_hour_cells(np.asarray(codes, np.int64), named, ts_ns, first, span)
    cells = np.flatnonzero(used)  # ordered by zone, then time
    table = np.full(len(used), np.nan)
    bounds = np.searchsorted(cells // span, np.arange(len(zones) + 1))
    moving = []
    for code in np.flatnonzero(np.diff(bounds)):
        at = cells[bounds[code]:bounds[code + 1]]
        offset = _quarter_offsets(zones[code], at % span + first)
        steady = ~np.isnan(offset)
        table[at[steady]] = offset[steady]
        moving.append(at[~steady])
    out = _look_up(cell, table)
    unsteady = np.concatenate([np.empty(0, np.int64), *moving])
    if len(unsteady):
        rows = np.flatnonzero(np.isin(cell, unsteady))
        out[rows] = _by_zone(codes[rows], zones, ts_ns[rows], _offsets_at)
    return out


def _by_zone(codes: np.ndarray, zones: np.ndarray, ts_ns: np.ndarray,
             offsets: Callable[[str, np.ndarray], np.ndarray]) -> np.ndarray:
    """`offsets(zone, instants)` of each row's zone, one call per zone (NaN where the code is
    -1 or the zone None)."""
    out = np.full(len(codes), np.nan)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(zones) + 1))
    for code in np.flatnonzero(np.diff(bounds)):
        if zones[code] is not None:
            rows = order[bounds[code]:bounds[code + 1]]
            out[rows] = offsets(zones[code], ts_ns[rows])
    return out


def _span_offsets(zone: str, ts_ns: np.ndarray) -> np.ndarray:
    """UTC offsets (hours) of `zone` at instants (ns) from its cached span, instants in a quarter
    hour whose offset changes within it looked up one by one."""
    out = _quarter_offsets(zone, ts_ns // OFFSET_STEP_NS)
    moving = np.isnan(out)
    if moving.any():
        out[moving] = _offsets_at(zone, ts_ns[moving])
    return out
