"""Validation of `accounts` and `events` against the contract in `features.schema`.

`validate_accounts` raises `SchemaError` naming the column and the first offending rows.
`validate_events` raises only for table-level problems (a missing required column); rows with a
problem are set aside in a quarantine table with a `reason` and their input `row` number, so one
bad row never sinks a nightly run. Both return frames with canonical dtypes: strings as `str`
(an events column read as categorical, as Parquet dictionary columns are, stays categorical
over cleaned categories), timestamps as `datetime64[ns, UTC]`, floats as float64, booleans
filled with their defaults.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.checks import bad_ips, country_codes, known_timezones, text_flaws
from persona_risk.features.hashing import repeated
from persona_risk.features.parsing import (
    as_float,
    boolean_column,
    canonical_ips,
    missing,
    parse_timestamps,
    present,
    quarantine_of,
    stripped_text,
    text_column,
    unknown_values,
    upper_text,
)
from persona_risk.features.point_in_time import utc_now

MAX_ROWS_IN_MESSAGE = 5
FUTURE_TOLERANCE = pd.Timedelta(minutes=5)
EARLIEST = pd.Timestamp("1970-01-01", tz="UTC")  # older times are a broken upstream, not a log
MAX_ID_CHARS = 200  # ids: account, event, device, payout, phone
MAX_TEXT_CHARS = 1000  # other free text: user agent, geo source
MAX_ASN = 2**32 - 1  # autonomous system numbers are 32-bit
DUPLICATE_EVENT = f"{s.EVENT_ID}: duplicate event_id (first copy kept)"


class SchemaError(ValueError):
    """A table does not follow the contract; names the table, column and first offending rows."""

    def __init__(self, table: str, column: str, problem: str, rows: list[int] | None = None):
        self.table, self.column, self.problem, self.rows = table, column, problem, rows or []
        where = f" (first offending rows: {self.rows[:MAX_ROWS_IN_MESSAGE]})" if rows else ""
        super().__init__(f"{table}.{column}: {problem}{where}")


def _no_text(index: pd.Index) -> pd.Series:
    """A text column of missing values, for a column the input does not have."""
    return pd.Series(None, index=index, dtype="str")


def _timestamps(series: pd.Series, column: str,
                now: pd.Timestamp) -> tuple[pd.Series, list[tuple[str, np.ndarray, str]]]:
    """Timestamps as `datetime64[ns, UTC]`, missing outside `EARLIEST` .. `now` plus
    `FUTURE_TOLERANCE`, and the problems found (unreadable, too early, in the future)."""
    ts = parse_timestamps(series)
    early = (ts < EARLIEST).to_numpy()
    future = (ts > now + FUTURE_TOLERANCE).to_numpy()
    numbers = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    problems = [(column, numbers & series.notna().to_numpy(),
                 "a number, not an ISO-8601 timestamp"),
                (column, ts.isna().to_numpy(), "missing or unparsable timestamp"),
                (column, early, f"timestamp before {EARLIEST:%Y-%m-%d}"),
                (column, future, "timestamp in the future")]
    return ts.where(~(early | future)).dt.as_unit("ns"), problems


def _text_problems(column: str, text: pd.Series, max_chars: int) -> list[tuple]:
    too_long, unprintable = text_flaws(text, max_chars)
    return [(column, too_long, f"longer than {max_chars} characters"),
            (column, unprintable, "control, format or unassigned characters")]



def _row_numbers(mask: np.ndarray) -> list[int]:
    """Every offending row (the message shows the first few), so a caller can set them aside."""
    return np.flatnonzero(mask).tolist()


def _require(df: pd.DataFrame, table: str, columns: tuple[s.Column, ...]) -> None:
    for name in s.required(columns):
        if name not in df.columns:
            raise SchemaError(table, name, "required column is missing")


def _coordinate_problems(lat: pd.Series, lon: pd.Series, raw_lat, raw_lon) -> list[tuple]:
    return [
        (s.LAT, present(raw_lat) & lat.isna().to_numpy(), "not a number"),
        (s.LON, present(raw_lon) & lon.isna().to_numpy(), "not a number"),
        (s.LAT, (lat.abs() > 90).to_numpy(), "latitude outside [-90, 90]"),
        (s.LON, (lon.abs() > 180).to_numpy(), "longitude outside [-180, 180]"),
        (s.LAT, (lat.isna() != lon.isna()).to_numpy(), "latitude and longitude must come together"),
    ]


def validate_accounts(accounts: pd.DataFrame) -> pd.DataFrame:
    """Check and canonicalise an `accounts` table; raises `SchemaError` on the first problem."""
    table = "accounts"
    _require(accounts, table, s.ACCOUNT_COLUMNS)
    df = pd.DataFrame(index=pd.RangeIndex(len(accounts)))
    raw = accounts.reset_index(drop=True)

    ids = raw[s.ACCOUNT_ID]
    if missing(ids).any():
        raise SchemaError(table, s.ACCOUNT_ID, "missing id", _row_numbers(missing(ids)))
    df[s.ACCOUNT_ID] = stripped_text(ids)
    for col in (s.CLAIMED_COUNTRY, s.CLAIMED_TIMEZONE, s.PAYOUT_ID, s.PHONE_ID, s.PERSONA):
        df[col] = stripped_text(raw[col]) if col in raw else _no_text(df.index)
    for col in (s.ACCOUNT_ID, s.PAYOUT_ID, s.PHONE_ID):
        for _, mask, problem in _text_problems(col, df[col], MAX_ID_CHARS):
            if mask.any():
                raise SchemaError(table, col, problem, _row_numbers(mask))
    dup = df[s.ACCOUNT_ID].duplicated(keep="first").to_numpy()
    if dup.any():
        raise SchemaError(table, s.ACCOUNT_ID, "duplicate account_id", _row_numbers(dup))

    created, problems = _timestamps(raw[s.CREATED_AT], s.CREATED_AT, utc_now())
    for _, mask, problem in problems:
        if mask.any():
            raise SchemaError(table, s.CREATED_AT, problem, _row_numbers(mask))
    df[s.CREATED_AT] = created

    if s.CLAIMED_COUNTRY in raw:
        df[s.CLAIMED_COUNTRY] = df[s.CLAIMED_COUNTRY].str.upper()
        bad = unknown_values(df[s.CLAIMED_COUNTRY], country_codes())
        if bad.any():
            raise SchemaError(table, s.CLAIMED_COUNTRY, "not an ISO 3166-1 alpha-2 code",
                              _row_numbers(bad))
    bad_tz = unknown_values(df[s.CLAIMED_TIMEZONE], known_timezones())
    if bad_tz.any():
        raise SchemaError(table, s.CLAIMED_TIMEZONE, "unknown time-zone name", _row_numbers(bad_tz))

    nan = pd.Series(np.nan, index=df.index)
    raw_lat, raw_lon = raw.get(s.CLAIMED_LAT, nan), raw.get(s.CLAIMED_LON, nan)
    df[s.CLAIMED_LAT], df[s.CLAIMED_LON] = as_float(raw_lat), as_float(raw_lon)
    for col, mask, problem in _coordinate_problems(df[s.CLAIMED_LAT], df[s.CLAIMED_LON],
                                                    raw_lat, raw_lon):
        if mask.any():
            name = s.CLAIMED_LAT if col == s.LAT else s.CLAIMED_LON
            raise SchemaError(table, name, problem, _row_numbers(mask))

    if s.LABEL in raw:
        number, unknown = as_float(raw[s.LABEL]), missing(raw[s.LABEL])
        flag, unreadable = boolean_column(raw[s.LABEL], False)  # true/false text as 1/0
        label = number.where(number.notna(), flag.astype(float).where(~unreadable))
        bad = ~(label.isin([0.0, 1.0]) | unknown).to_numpy()
        if bad.any():
            raise SchemaError(table, s.LABEL, "label must be 0, 1, true, false or empty "
                              "(unknown)", _row_numbers(bad))
        df[s.LABEL] = label.where(~unknown)  # float: NaN = not labelled
    if s.LABELLED_AT in raw:  # may be empty: not every account is labelled
        labelled_at, problems = _timestamps(raw[s.LABELLED_AT], s.LABELLED_AT, utc_now())
        given = ~missing(raw[s.LABELLED_AT])
        for _, mask, problem in problems:
            if (mask & given).any():
                raise SchemaError(table, s.LABELLED_AT, problem, _row_numbers(mask & given))
        df[s.LABELLED_AT] = labelled_at
    return df


def fill_event_ids(events: pd.DataFrame, given: pd.Series | None) -> pd.Series:
    """Event ids: `given` where present, else a hash of every field of the canonical event
    (stable across runs and processes, so a retried event without an id is still recognised,
    while a failed and a successful sign-in in the same second stay two events)."""
    ids = _no_text(events.index) if given is None else stripped_text(given)
    absent = ids.isna().to_numpy()
    if absent.any():
        content = sorted(c for c in events.columns if c != s.EVENT_ID)
        hashed = pd.util.hash_pandas_object(events.loc[absent, content], index=False).to_numpy()
        ids[absent] = [f"h{h:016x}" for h in hashed.tolist()]
    return ids


def clean_rows(n_rows: int, quarantine: pd.DataFrame) -> np.ndarray:
    """Input row number of each row of `clean`, for a `validate_events` of `n_rows` rows."""
    return np.setdiff1d(np.arange(n_rows), quarantine[s.ROW].to_numpy())


def validate_events(
    events: pd.DataFrame, now: pd.Timestamp | None = None, groups: np.ndarray | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check and canonicalise an `events` table.

    Returns `(clean, quarantine)`. `clean` holds every readable row once (duplicates of an
    `event_id` dropped, the first kept), in input order. `quarantine` holds the set-aside
    input rows as text with a `reason` naming the field and a `row` number. Timestamps later
    than `now` (default: the wall clock) plus five minutes are set aside as future. `groups`,
    when given, labels each row's batch (coalesced requests): duplicates are then looked for
    within a batch only, as if each had been validated alone.
    """
    table = "events"
    _require(events, table, s.EVENT_COLUMNS)
    raw = events.reset_index(drop=True)
    n = len(raw)
    df = pd.DataFrame(index=pd.RangeIndex(n))
    problems: list[tuple[str, np.ndarray, str]] = []

    df[s.ACCOUNT_ID] = text_column(raw[s.ACCOUNT_ID])
    problems.append((s.ACCOUNT_ID, df[s.ACCOUNT_ID].isna().to_numpy(), "missing account_id"))
    problems += _text_problems(s.ACCOUNT_ID, df[s.ACCOUNT_ID], MAX_ID_CHARS)
    df[s.TS], ts_problems = _timestamps(raw[s.TS], s.TS, utc_now(now))
    problems += ts_problems

    for col in (s.IP, s.COUNTRY, s.DEVICE_ID, s.DEVICE_TZ, s.USER_AGENT, s.GEO_SOURCE):
        df[col] = text_column(raw[col]) if col in raw else _no_text(df.index)
    problems.append((s.IP, bad_ips(df[s.IP]), "not an IPv4 or IPv6 address"))
    df[s.IP] = canonical_ips(df[s.IP])
    df[s.COUNTRY] = upper_text(df[s.COUNTRY])
    problems.append((s.COUNTRY, unknown_values(df[s.COUNTRY], country_codes()),
                     "not an ISO 3166-1 alpha-2 code"))
    problems.append((s.DEVICE_TZ, unknown_values(df[s.DEVICE_TZ], known_timezones()),
                     "unknown time-zone name"))
    problems += _text_problems(s.DEVICE_ID, df[s.DEVICE_ID], MAX_ID_CHARS)
    for col in (s.USER_AGENT, s.GEO_SOURCE):
        problems += _text_problems(col, df[col], MAX_TEXT_CHARS)

    nan = pd.Series(np.nan, index=df.index)
    raw_lat, raw_lon = raw.get(s.LAT, nan), raw.get(s.LON, nan)
    df[s.LAT], df[s.LON] = as_float(raw_lat), as_float(raw_lon)
    problems.extend(_coordinate_problems(df[s.LAT], df[s.LON], raw_lat, raw_lon))
    has_geo = df[s.LAT].notna()
    if s.GEO_SOURCE not in raw:
        df[s.GEO_SOURCE] = pd.Series(np.where(has_geo, "log", None), dtype="str")

    raw_asn = raw.get(s.ASN, nan)
    asn = as_float(raw_asn)
    bad_asn = present(raw_asn) & ~(asn.between(0, MAX_ASN) & (asn % 1 == 0)).to_numpy()
    problems.append((s.ASN, bad_asn, f"not an integer from 0 to {MAX_ASN}"))
    df[s.ASN] = asn.astype("Int64") if not bad_asn.any() else asn.where(~bad_asn).astype("Int64")

    for col, default in s.BOOL_DEFAULTS.items():
        if col in raw:
            df[col], bad = boolean_column(raw[col], default)
            problems.append((col, bad, "not a boolean"))
        else:
            df[col] = default
    df[s.EVENT_ID] = fill_event_ids(df, raw.get(s.EVENT_ID))
    problems += _text_problems(s.EVENT_ID, df[s.EVENT_ID], MAX_ID_CHARS)

    first_problem = np.full(n, -1)  # the first problem found names the row's reason
    for i, (_, mask, _) in enumerate(problems):
        first_problem[(first_problem < 0) & mask] = i
    bad_row = first_problem >= 0
    texts = np.array([f"{col}: {problem}" for col, _, problem in problems] + [""], dtype=object)
    reason = texts[first_problem]
    dup = repeated(df[s.EVENT_ID], groups, skip=bad_row)
    reason[dup] = DUPLICATE_EVENT
    set_aside = bad_row | dup

    quarantine = quarantine_of(raw, np.flatnonzero(set_aside), reason[set_aside])
    clean = df.loc[~set_aside, s.names(s.EVENT_COLUMNS)] if set_aside.any() else df[
        s.names(s.EVENT_COLUMNS)]
    return clean.reset_index(drop=True), quarantine
