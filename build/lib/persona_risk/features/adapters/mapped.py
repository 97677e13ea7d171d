"""Any CSV or Parquet table with a mapping file (YAML or TOML) from its columns to ours.

    table: events            # or accounts
    columns: {account_id: user, ts: time, ip: src_ip, lat: latitude, lon: longitude}
    timestamp_format: "%d/%m/%Y %H:%M:%S"   # optional; default ISO-8601
    timezone: Europe/Berlin                 # zone of naive source timestamps; default UTC
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from persona_risk.features import schema as s
from persona_risk.features.adapters.base import ACCOUNTS, EVENTS, BadRecord, Source


@dataclass
class Mapping:
    table: str
    columns: dict[str, str]
    timestamp_format: str | None = None
    timezone: str = "UTC"

    @classmethod
    def read(cls, path: Path) -> Mapping:
        text = path.read_text()
        raw = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
        table = raw.get("table", EVENTS)
        columns = raw.get("columns") or {}
        known = s.names(s.EVENT_COLUMNS if table == EVENTS else s.ACCOUNT_COLUMNS)
        unknown = sorted(set(columns) - set(known))
        if table not in (EVENTS, ACCOUNTS) or unknown:
            raise ValueError(f"{path}: mapping must name table events|accounts and our columns; "
                             f"unknown: {unknown or table}")
        return cls(table, columns, raw.get("timestamp_format"), raw.get("timezone", "UTC"))


class MappedTable(Source):
    name = "csv"

    def __init__(self, options, mapping: Mapping):
        super().__init__(options)
        self.mapping = mapping
        self.table = mapping.table
        self.expected = f"a table with columns {sorted(mapping.columns.values())}"
        self.time_columns = [c for c in (s.TS, s.CREATED_AT) if c in mapping.columns]

    def looks_like(self, record: dict) -> bool:
        return set(self.mapping.columns.values()) <= set(record)

    def to_row(self, record: dict) -> dict:
        row = {ours: record.get(theirs) for ours, theirs in self.mapping.columns.items()}
        for col in self.time_columns:
            row[col] = self._timestamp(row[col], col)
        return row

    def _timestamp(self, value, column: str) -> str | None:
        if value in (None, ""):
            return None
        try:
            ts = pd.to_datetime(value, format=self.mapping.timestamp_format)
        except (ValueError, TypeError) as err:
            raise BadRecord(f"{column}: unparsable timestamp {value!r}") from err
        ts = ts.tz_localize(self.mapping.timezone) if ts.tzinfo is None else ts
        return ts.tz_convert("UTC").isoformat()

