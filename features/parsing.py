"""Raw column values read into the contract's dtypes: text (stripped, blank as missing; a
categorical column kept categorical), UTC timestamps, floats and booleans, each value read once
where values repeat. Nothing here raises on a value: what cannot be read becomes missing or is
returned as a mask of bad rows, for `features.validate` to name or set aside.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.checks import canonical_ip, dotted, utf8_safe
from persona_risk.features.text import take_text

_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n"}


def stripped_text(series: pd.Series) -> pd.Series:
    """Text with surrounding blanks stripped; blank and absent values become missing (NaN)."""
    if isinstance(series.dtype, pd.CategoricalDtype):  # clean the categories, then expand
        clean = text_column(series)
        return take_text(clean.cat.categories, clean.cat.codes.to_numpy(), series.index)
    text = utf8_safe(series)[0].astype("str").str.strip()
    return text.mask(text.eq("").fillna(False).to_numpy(bool))


def _recode(series: pd.Series, categories: pd.Series) -> pd.Series:
    """A categorical `series` over new `categories` (one per old category, missing allowed,
    repeats merged): the rows keep their codes."""
    codes, uniques = pd.factorize(categories)
    rows = series.cat.codes.to_numpy()
    if not np.array_equal(codes, np.arange(len(codes))):  # else the rows' codes stand as they are
        rows = np.append(codes, -1).astype(rows.dtype)[rows]
    return pd.Series(pd.Categorical.from_codes(rows, categories=pd.Index(uniques, dtype="str"),
                                               validate=False), index=series.index)


def text_column(series: pd.Series) -> pd.Series:
    """`stripped_text` for an events column: a categorical one (Parquet's dictionary columns) stays
    categorical, so ten million rows are never expanded to ten million strings."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return _recode(series, stripped_text(pd.Series(series.cat.categories)))
    return stripped_text(series)


def canonical_ips(series: pd.Series) -> pd.Series:
    """IP text in one spelling (`checks.canonical_ip`); dotted IPv4 text is left as it is, the
    rest read once per distinct value (a categorical column: per category)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return _recode(series, canonical_ips(pd.Series(series.cat.categories, dtype="str")))
    other = ~dotted(series)
    if not other.any():
        return series
    codes, uniques = pd.factorize(series[other])
    out = series.copy()
    out[other] = np.array([canonical_ip(u) for u in uniques], dtype=object)[codes]
    return out


def upper_text(series: pd.Series) -> pd.Series:
    """Text in upper case (a categorical column over upper-cased categories)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return _recode(series, pd.Series(series.cat.categories, dtype="str").str.upper())
    return series.str.upper()


def missing(series: pd.Series) -> np.ndarray:
    """True where a value is absent: NaN, None or a blank string."""
    return stripped_text(series).isna().to_numpy()


def parse_timestamps(series: pd.Series) -> pd.Series:
    """UTC timestamps in the unit pandas picks for them (so that no value overflows before its
    range is checked); NaT where unreadable. Numbers are not read as epochs: their unit
    (seconds, milliseconds, ...) would be a guess."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(series):
        return series.dt.tz_localize("UTC")
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns, UTC]")
    text = stripped_text(series)
    ts = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    retry = (ts.isna() & text.notna()).to_numpy()
    if retry.any():  # zone written as a trailing " UTC" (BigQuery's exports), read once more
        utc = text[retry].str.replace(r"\s+UTC$", "+00:00", regex=True)
        ts[retry] = pd.to_datetime(utc, utc=True, errors="coerce", format="ISO8601")
    return ts


def present(series: pd.Series) -> np.ndarray:
    """True where a value is given: not NaN, None or a blank string."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return series.notna().to_numpy()
    return ~missing(series)


def as_float(series: pd.Series) -> pd.Series:
    """Numbers as float64; what is not a number becomes NaN."""
    return pd.to_numeric(series, errors="coerce").astype("float64")


def parse_boolean(value) -> bool | None:
    """A bool, the number 0 or 1, or true/false text (stripped, any case) as a bool; None when
    it is none of these. Numbers are read as numbers: `pd.factorize` merges 0.0, 0 and False,
    whose text differs."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.number):
        return bool(value) if value in (0, 1) else None
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def boolean_column(series: pd.Series, default: bool) -> tuple[pd.Series, np.ndarray]:
    """Booleans from bool, 0/1 or true/false text; blank and missing values get `default`;
    returns values and a mask of unreadable ones. Each distinct value is read once."""
    if pd.api.types.is_bool_dtype(series):
        return series.fillna(default).astype(bool), np.zeros(len(series), bool)
    codes, uniques = pd.factorize(series)
    read = [parse_boolean(u) for u in uniques]
    blank = np.array([isinstance(u, str) and not u.strip() for u in uniques] + [True], bool)
    bad = np.array([r is None for r in read] + [False], bool)[codes] & ~blank[codes]
    values = np.array([bool(r) for r in read] + [default], bool)[codes]
    return pd.Series(np.where(bad | blank[codes], default, values), index=series.index,
                     dtype=bool), bad


def unknown_values(series: pd.Series, allowed) -> np.ndarray:
    """Mask of present values not in `allowed`, checked once per distinct value."""
    codes, uniques = pd.factorize(series)
    bad_unique = np.array([u not in allowed for u in uniques], dtype=bool)
    return np.append(bad_unique, False)[codes]  # code -1 (missing) maps to the appended False


def quarantine_of(raw: pd.DataFrame, rows, reasons) -> pd.DataFrame:
    """A quarantine table: the input `rows` (numbers) of `raw` as text, after their `row` and
    `reason`; input columns named like a quarantine's own (`file`, `row`, `reason`) are kept as
    `input_<name>`."""
    shown = display_text(raw.iloc[np.asarray(rows, dtype=np.intp)])
    shown.columns = [f"input_{c}" if c in (s.FILE, s.ROW, s.REASON) else c
                     for c in shown.columns]
    shown.insert(0, s.REASON, np.asarray(reasons, dtype=object).astype(str)
                 if np.ndim(reasons) else str(reasons))
    shown.insert(0, s.ROW, np.asarray(rows, dtype=np.int64))
    return shown.reset_index(drop=True)


def display_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Set-aside input rows as text for a quarantine table (unpaired surrogates escaped)."""
    out = {}
    for col in frame.columns:
        values = frame[col]
        if values.dtype == object and utf8_safe(values)[1].any():
            values = values.map(lambda v: v.encode("utf-8", "backslashreplace").decode()
                                if isinstance(v, str) else v)
        out[col] = values.astype("str")
    return pd.DataFrame(out, index=frame.index)  # built once: column by column costs more
