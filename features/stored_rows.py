"""The canonical-row codec of the online path: events and account records as plain rows
(timestamps as int ns, missing values as None, columns in contract order), the fast check that
one request's events are already what the batch validator would keep, and back to typed frames.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.checks import canonical_ip, country_codes, is_ip
from persona_risk.features.geo import NS_PER_DAY, NS_PER_SECOND
from persona_risk.features.point_in_time import utc_now
from persona_risk.features.validate import (
    FUTURE_TOLERANCE,
    MAX_ID_CHARS,
    known_timezones,
    validate_events,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EVENT_NAMES = s.names(s.EVENT_COLUMNS)
ACCOUNT_NAMES = [c.name for c in s.ACCOUNT_COLUMNS if c.name not in s.TRAINING_ONLY]
# where each column sits in a stored event row (rows are lists in EVENT_NAMES order)
EVENT_POSITION: dict[str, int] = {name: i for i, name in enumerate(EVENT_NAMES)}
ID_AT, ACCOUNT_AT, TS_AT = (EVENT_POSITION[c] for c in (s.EVENT_ID, s.ACCOUNT_ID, s.TS))
Columns = dict[str, list]  # column name -> its values, one per row
Arrays = dict[str, np.ndarray]  # event column name -> its typed array (`event_array`)
# kind -> the array type of an event column and the value standing for a missing one
ARRAY_TYPES: dict[str, tuple[type, object]] = {
    "timestamp": (np.int64, np.iinfo(np.int64).min), "float": (np.float64, np.nan),
    "int": (np.float64, np.nan), "bool": (np.bool_, False)}


def columns_of(rows: list[list], names: list[str] | tuple[str, ...]) -> Columns:
    """Rows (values in `names` order) as named columns."""
    if not rows:
        return {name: [] for name in names}
    return dict(zip(names, map(list, zip(*rows, strict=True)), strict=True))


def event_array(name: str, values) -> np.ndarray:
    """One stored event column (values, None where missing) as the typed array the feature core
    reads: times int64 ns, numbers float64 (integers such as the ASN below 2**53, exact; missing:
    NaN), flags bool (missing: False, as the core reads a flag), text object (None)."""
    if s.KIND[name] in ARRAY_TYPES:
        dtype, missing = ARRAY_TYPES[s.KIND[name]]
        return np.array([missing if v is None else v for v in values], dtype)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _plain(value):
    """A JSON-safe scalar: timestamps as int ns, NaN/NA as None, numpy scalars as Python ones."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return int(value.as_unit("ns").value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def frame_to_records(df: pd.DataFrame, columns: list[str]) -> list[list]:
    """Rows of `df` as lists of JSON-safe values in `columns` order."""
    return [[_plain(v) for v in row] for row in df[columns].itertuples(index=False, name=None)]


def typed_events(df: pd.DataFrame) -> pd.DataFrame:
    """Canonical events from plain columns (timestamps as int ns, missing values as None), as
    stored online and as Spark batches carry them."""
    out = df[EVENT_NAMES].copy()
    out[s.TS] = pd.to_datetime(out[s.TS].astype("int64"), unit="ns", utc=True)
    for col in (s.LAT, s.LON):
        out[col] = out[col].astype("float64")
    for col in (s.SUCCESS, s.INTERACTIVE, s.ANONYMIZER):
        out[col] = out[col].astype(bool)
    out[s.ASN] = out[s.ASN].astype("Int64")
    for col in (s.EVENT_ID, s.ACCOUNT_ID, s.IP, s.COUNTRY, s.DEVICE_ID, s.DEVICE_TZ,
                s.USER_AGENT, s.GEO_SOURCE):
        out[col] = out[col].astype("str")
    return out


def typed_accounts(df: pd.DataFrame) -> pd.DataFrame:
    """Canonical account records (validated before) from plain columns, as `typed_events`."""
    out = df[ACCOUNT_NAMES].copy()
    out[s.CREATED_AT] = pd.to_datetime(out[s.CREATED_AT].astype("int64"), unit="ns", utc=True)
    for col in (s.CLAIMED_LAT, s.CLAIMED_LON):
        out[col] = out[col].astype("float64")
    for col in (s.ACCOUNT_ID, s.CLAIMED_COUNTRY, s.CLAIMED_TIMEZONE, s.PAYOUT_ID, s.PHONE_ID):
        out[col] = out[col].astype("str")
    return out


NO_QUARANTINE = pd.DataFrame({s.ROW: pd.Series(dtype="int64"), s.REASON: pd.Series(dtype="str")})
_BOOLS = tuple(s.BOOL_DEFAULTS.items())
_TEXT = (s.IP, s.COUNTRY, s.DEVICE_ID, s.DEVICE_TZ, s.USER_AGENT)


def _canonical(event: dict, limit_ns: int) -> list | None:
    """The stored row of one event that `validate_events` would keep exactly as given (printable
    ASCII text of at most `MAX_ID_CHARS` without surrounding blanks, a readable IP, an assigned
    country code, a known zone, both coordinates or none, in range, not in the future); None
    for any other event, which the batch validator then decides on."""
    text = {col: event.get(col) for col in (s.EVENT_ID, s.ACCOUNT_ID, *_TEXT)}
    if any(v is not None and (not isinstance(v, str) or not v or v != v.strip()
                              or not (v.isascii() and v.isprintable())
                              or len(v) > MAX_ID_CHARS)
           for v in text.values()) or text[s.EVENT_ID] is None or text[s.ACCOUNT_ID] is None:
        return None
    country, zone, ip = text[s.COUNTRY], text[s.DEVICE_TZ], text[s.IP]
    if country is not None and country not in country_codes():
        return None
    if ip is not None and (not is_ip(ip) or canonical_ip(ip) != ip):
        return None
    if zone is not None and zone not in known_timezones():
        return None
    ts = event.get(s.TS)
    if not isinstance(ts, datetime):
        return None
    since = (ts if ts.tzinfo else ts.replace(tzinfo=UTC)) - EPOCH  # exact, any year
    ts_ns = (since.days * NS_PER_DAY + since.seconds * NS_PER_SECOND
             + since.microseconds * 1_000)  # microseconds to ns
    if ts_ns < 0:  # before 1970: the batch validator says why
        return None
    lat, lon, asn = event.get(s.LAT), event.get(s.LON), event.get(s.ASN)
    if ts_ns > limit_ns or (lat is None) != (lon is None) or (lat is not None and not (
            isinstance(lat, float) and isinstance(lon, float) and abs(lat) <= 90
            and abs(lon) <= 180)):
        return None
    if asn is not None and not (type(asn) is int and 0 <= asn < 2**53):
        return None
    flags = {col: event.get(col) for col, _ in _BOOLS}
    if any(v is not None and not isinstance(v, bool) for v in flags.values()):
        return None
    values = {**text, s.TS: ts_ns, s.LAT: lat, s.LON: lon, s.ASN: asn,
              s.GEO_SOURCE: None if lat is None else "log",
              **{col: default if flags[col] is None else flags[col] for col, default in _BOOLS}}
    return [values[name] for name in EVENT_NAMES]


def canonical_rows(events: list[dict], now: pd.Timestamp | None = None) -> list[list] | None:
    """Stored rows of events given as dicts (as the request model dumps them), when
    `validate_events` would keep every one of them as it is (no repeated id); None otherwise,
    for the batch validator to decide. No table is built."""
    limit_ns = int((utc_now(now) + FUTURE_TOLERANCE).as_unit("ns").value)
    if any(s.GEO_SOURCE in e for e in events):
        return None
    rows = [_canonical(e, limit_ns) for e in events]
    if any(r is None for r in rows) or len({r[ID_AT] for r in rows}) < len(rows):
        return None
    return rows


def clean_records(events: list[dict], now: pd.Timestamp | None = None
                  ) -> tuple[list[list], pd.DataFrame]:
    """One request's events (dicts, as the request model dumps them) as stored rows, with the
    rows set aside and why: an all-canonical request (`canonical_rows`) without building a
    table, any other through the batch validator."""
    rows = canonical_rows(events, now)
    if rows is not None:
        return rows, NO_QUARANTINE
    clean, quarantine = validate_events(pd.DataFrame(events), now=now)
    return frame_to_records(clean, EVENT_NAMES), quarantine

