"""Any CSV or Parquet table with a mapping file (YAML or TOML) from its columns to ours.

    table: events            # or accounts
    columns: {account_id: user, ts: time, ip: src_ip, lat: latitude, lon: longitude}
    timestamp_format: "%d/%m/%Y %H:%M:%S"   # optional; default ISO-8601 only
    timezone: Europe/Berlin                 # zone of naive source timestamps; default UTC

Every timestamp column mapped (`ts`; `created_at`, `labelled_at`) is read with the format and
zone. A naive time the zone's clock skips (the DST gap) or shows twice (the DST overlap) is not
one instant: its record is set aside naming the column, never guessed.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import yaml

from persona_risk.features import schema as s
from persona_risk.features.adapters.base import ACCOUNTS, EVENTS, BadRecord, Source
from persona_risk.features.checks import known_timezones

KEYS = ("table", "columns", "timestamp_format", "timezone")
ISO = "ISO8601"  # without a timestamp_format: no day/month order guessed row by row
# the ISO-8601 forms Python's own parser reads as pandas does (calendar dates, microseconds)
COMMON_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?"
                        r"(?:Z|[+-]\d{2}(?::?\d{2})?)?")
DST_GAP = "nonexistent local time in the DST gap"
DST_OVERLAP = "ambiguous local time in the DST overlap"


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names the file and the key."""


@dataclass
class Mapping:
    table: str
    columns: dict[str, str]
    timestamp_format: str | None = None
    timezone: str = "UTC"

    @classmethod
    def read(cls, path: Path) -> Mapping:
        """The mapping in `path` (TOML by extension, else YAML); `MappingError` naming the file
        and key when it is unreadable or a key's value cannot be used."""
        try:
            text = path.read_text()
            raw = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
        except (yaml.YAMLError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            mark = getattr(err, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            problem = getattr(err, "problem", None) or str(err)
            raise MappingError(f"{path}{where}: not a readable mapping ({problem})") from err
        if not isinstance(raw, dict):
            raise MappingError(f"{path}: a mapping is a table of keys {', '.join(KEYS)}")
        unknown = sorted(set(raw) - set(KEYS))
        if unknown:
            raise MappingError(f"{path}: unknown key(s) {unknown}; the keys are {list(KEYS)}")
        table = raw.get("table", EVENTS)
        if table not in (EVENTS, ACCOUNTS):
            raise MappingError(f"{path}: table: {table!r} is not events or accounts")
        columns = raw.get("columns") or {}
        if not isinstance(columns, dict) or not all(
                isinstance(v, str) for v in columns.values()):
            raise MappingError(f"{path}: columns: must map our column names to yours, as "
                               f"{{account_id: user, ts: time}}; got {columns!r:.80}")
        known = s.names(s.EVENT_COLUMNS if table == EVENTS else s.ACCOUNT_COLUMNS)
        unknown = sorted(set(columns) - set(known))
        if unknown:
            raise MappingError(f"{path}: columns: {unknown} are not columns of {table}")
        fmt, zone = raw.get("timestamp_format"), raw.get("timezone", "UTC")
        if fmt is not None and not isinstance(fmt, str):
            raise MappingError(f"{path}: timestamp_format: {fmt!r} is not strftime text")
        if not isinstance(zone, str) or zone not in known_timezones():
            raise MappingError(f"{path}: timezone: unknown time-zone name {zone!r}")
        return cls(table, columns, fmt, zone)


class MappedTable(Source):
    name = "csv"

    def __init__(self, options, mapping: Mapping):
        super().__init__(options)
        self.mapping = mapping
        self.table = mapping.table
        self.expected = f"a table with columns {sorted(mapping.columns.values())}"
        self.time_columns = [c for c in mapping.columns if s.KIND[c] == "timestamp"]

    def looks_like(self, record: dict) -> bool:
        return set(self.mapping.columns.values()) <= set(record)

    def to_row(self, record: dict) -> dict:
        row = {ours: record.get(theirs) for ours, theirs in self.mapping.columns.items()}
        for col in self.time_columns:
            row[col] = self._timestamp(row[col], col)
        return row

    def _timestamp(self, value, column: str) -> str | None:
        """`value` read with the mapping's format (a naive one in its zone) as ISO-8601 UTC;
        None when empty; `BadRecord` naming `column` when unreadable or not one instant."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        unreadable = f"{column}: unparsable timestamp {value!r}" + (
            "" if self.mapping.timestamp_format else " (not ISO-8601, no timestamp_format)")
        if isinstance(value, int | float):  # a number is read by the format, never an epoch
            value = str(value)
        quick = self._quick_utc(value)
        if quick is not None:
            return quick
        try:
            ts = pd.to_datetime(value, format=self.mapping.timestamp_format or ISO)
        except (ValueError, TypeError) as err:
            raise BadRecord(unreadable) from err
        if ts is pd.NaT:  # 'NaT', 'nan'
            raise BadRecord(unreadable)
        ts = self._localized(ts, value, column) if ts.tzinfo is None else ts
        return ts.tz_convert("UTC").isoformat()

    def _quick_utc(self, value) -> str | None:
        """ISO-8601 UTC of `value` read by Python's own parser, for the common case (about a
        tenth of pandas' time per value); None for anything else (a value it cannot read, a
        naive time in a DST gap or overlap), which the pandas path then reads or refuses."""
        if not isinstance(value, str):
            return None
        fmt = self.mapping.timestamp_format
        if not fmt and not COMMON_ISO.fullmatch(value):  # week dates, nanoseconds: pandas'
            return None
        try:
            ts = datetime.strptime(value, fmt) if fmt else datetime.fromisoformat(value)
        except ValueError:
            return None
        if ts.tzinfo is None:
            zone = ZoneInfo(self.mapping.timezone)
            early, late = ts.replace(tzinfo=zone), ts.replace(tzinfo=zone, fold=1)
            if early.utcoffset() != late.utcoffset():  # the clock skips it or shows it twice
                return None
            ts = early
        return ts.astimezone(UTC).isoformat()

    def _localized(self, ts: pd.Timestamp, value, column: str) -> pd.Timestamp:
        """A naive time on the mapping zone's clock; `BadRecord` when the clock skips it (DST
        gap) or shows it twice (DST overlap: which of the two instants is not guessed)."""
        zone = self.mapping.timezone
        local = ts.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        if local is pd.NaT:
            gap = ts.tz_localize(zone, ambiguous=True, nonexistent="NaT") is pd.NaT
            raise BadRecord(f"{column}: {DST_GAP if gap else DST_OVERLAP} of {zone} ({value!r})")
        return local
