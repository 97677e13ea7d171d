"""The ingest engine shared by every source: stream records, map each to the contract, set
aside what cannot be mapped, validate in chunks (an event_id of an earlier chunk or file set
aside as a duplicate, as one validation of the whole would), and write canonical tables
atomically."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from persona_risk.features import schema as s
from persona_risk.features.adapters import ACCOUNT_FIELDS
from persona_risk.features.adapters.reading import Unreadable, records
from persona_risk.features.geoip import locate
from persona_risk.features.hashing import SeenIds
from persona_risk.features.io import (
    expand_files,
    remove_stale_temps,
    temp_folder,
    write_quarantine,
    write_table,
)
from persona_risk.features.validate import (
    DUPLICATE_EVENT,
    SchemaError,
    clean_rows,
    validate_accounts,
    validate_events,
)

CHUNK = 50_000
EVENTS, ACCOUNTS = "events", "accounts"
RECORD = "record"  # the quarantine column holding a set-aside record as JSON
RECORD_CHARS = 2000  # a set-aside record's JSON is cut at this many characters


class Skip(Exception):
    """A record of another kind (not a sign-in): skipped and counted, not an error."""


class BadRecord(ValueError):
    """A record with a broken field; the message names the field."""


class WrongFormat(ValueError):
    """A file that is not what it should be: an export not of the named source's format, an
    empty hash key file."""


@dataclass
class Options:
    """How identities are taken: `account_field` picks the source's user identifier;
    `hash_key` (bytes) replaces user and device ids with a keyed hash (HMAC-SHA256)."""

    account_field: str = ACCOUNT_FIELDS[0]
    hash_key: bytes | None = None


class Source:
    """A vendor format: subclasses set `name`, `table`, `expected`, and implement `looks_like`
    and `to_row`."""

    name = ""
    table = EVENTS
    expected = ""
    id_columns: tuple[str, ...] = (s.ACCOUNT_ID, s.DEVICE_ID)

    def __init__(self, options: Options):
        self.options = options

    def looks_like(self, record: dict) -> bool:
        raise NotImplementedError

    def to_row(self, record: dict) -> dict:
        raise NotImplementedError

    def skip_file(self, path: Path) -> str | None:
        """Why a file the source delivers beside its logs is no log (skipped, not read); None
        for a log file."""
        return None


@dataclass
class IngestSummary:
    source: str
    files: int = 0
    records: int = 0
    mapped: int = 0
    skipped: int = 0
    quarantined: int = 0
    skipped_files: list = field(default_factory=list)  # "path: why", not read
    output: str = ""
    quarantine: str | None = None
    reasons: dict = field(default_factory=dict)


def keyed_hash(key: bytes, value: str | None) -> str | None:
    """HMAC-SHA256 of an identifier under `key`, 24 hex digits; the same across runs."""
    if value is None:
        return None
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:24]


def hash_key_from_env(path: Path | None) -> bytes | None:
    """The privacy key from a file, else from `PERSONA_RISK_HASH_KEY`; None when neither.
    An empty key file is refused (`WrongFormat`): hashing with no key would not hide ids."""
    if path is not None:
        key = path.read_bytes().strip()
        if not key:
            raise WrongFormat(f"--hash-key-file {path}: the key file is empty")
        return key
    value = os.environ.get("PERSONA_RISK_HASH_KEY")
    return value.encode() if value else None


def _set_aside(number: int, record, reason: str) -> dict:
    """A quarantine row: the record's number in the run, the reason, the record as JSON."""
    return {s.ROW: number, s.REASON: reason,
            RECORD: json.dumps(record, default=str)[:RECORD_CHARS]}


def _map_chunk(source: Source, chunk: list[tuple[int, dict]], summary: IngestSummary,
               bad: list[dict]) -> tuple[pd.DataFrame, list[tuple[int, dict]]]:
    """Mapped rows and the (number, record) each came from."""
    rows, kept = [], []
    for number, record in chunk:
        try:
            row = source.to_row(record)
        except Skip:
            summary.skipped += 1
            continue
        except BadRecord as err:
            bad.append(_set_aside(number, record, str(err)))
            continue
        if source.options.hash_key is not None:
            for col in source.id_columns:
                row[col] = keyed_hash(source.options.hash_key, row.get(col))
        rows.append(row)
        kept.append((number, record))
    return pd.DataFrame(rows), kept


def ingest(source: Source, inputs: Iterable[Path], out: Path,
           geoip_db: Path | None = None, say: Callable[[str], None] = lambda _: None
           ) -> IngestSummary:
    """Map every record of `inputs` to canonical rows of `source.table` and write them to `out`
    (Parquet, or CSV by extension); set-aside records go to `<out>.quarantine.csv`."""
    summary = IngestSummary(source.name)
    bad: list[dict] = []
    seen = SeenIds()  # event ids written so far
    frames: list[pd.DataFrame] = []
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out.parent)
    with temp_folder(out.parent, "ingest") as tmp_dir:
        writer, spill = None, tmp_dir / "part.parquet"
        for path in expand_files(inputs):
            why = source.skip_file(path)
            if why is not None:
                summary.skipped_files.append(f"{path}: {why}")
                continue
            summary.files += 1
            chunk: list[tuple[int, dict]] = []
            checked = False
            for record in records(path):
                summary.records += 1
                if isinstance(record, Unreadable):
                    bad.append(_set_aside(summary.records - 1, record.text, record.reason))
                    continue
                if not checked and not source.looks_like(record):
                    keys = ", ".join(map(str, list(record)[:8]))
                    raise WrongFormat(f"{path}: not a {source.name} export (the first record's "
                                      f"fields: {keys}); expected {source.expected}")
                checked = True
                chunk.append((summary.records - 1, record))
                if len(chunk) == CHUNK:
                    writer = _flush(source, chunk, summary, bad, seen, frames, writer, spill,
                                    geoip_db)
                    chunk = []
                    say(f"{summary.records:,} records")
            writer = _flush(source, chunk, summary, bad, seen, frames, writer, spill, geoip_db)
        if summary.records == 0:
            read = ", ".join(str(p) for p in expand_files(inputs)) or "the inputs"
            raise WrongFormat(f"{read}: no records found; expected {source.expected}")
        if writer is not None:
            writer.close()
            table = pd.read_parquet(spill)
        else:
            table = pd.concat(frames, ignore_index=True) if frames else _empty(source.table)
        if source.table == ACCOUNTS and len(table):
            table = table.drop_duplicates(s.ACCOUNT_ID, keep="last")
        write_table(table, out)
    summary.mapped, summary.quarantined, summary.output = len(table), len(bad), str(out)
    quarantine = pd.DataFrame(bad, columns=[s.ROW, s.REASON, RECORD]).sort_values(
        s.ROW, kind="stable")
    summary.reasons = quarantine[s.REASON].str.split(":").str[0].value_counts().to_dict()
    written = write_quarantine(quarantine, out)  # or remove an earlier run's
    summary.quarantine = None if written is None else str(written)
    return summary


def _empty(table: str) -> pd.DataFrame:
    """No rows, with the table's canonical columns and types (every record skipped or set
    aside: the output still reads as a table of its kind)."""
    if table == ACCOUNTS:
        return validate_accounts(pd.DataFrame(columns=s.required(s.ACCOUNT_COLUMNS)))
    return validate_events(pd.DataFrame(columns=s.required(s.EVENT_COLUMNS)))[0]


def _valid_accounts(mapped: pd.DataFrame, kept: list[tuple[int, dict]], bad: list[dict]
                    ) -> pd.DataFrame:
    """A chunk's accounts as validation takes them; the rows it refuses set aside in `bad` with
    their records, as events are (a missing column still raises: no row is to blame)."""
    while True:
        try:
            return validate_accounts(mapped)
        except SchemaError as err:
            if not err.rows:
                raise
            refused = set(err.rows)
            for row in err.rows:
                bad.append(_set_aside(*kept[row], f"{err.column}: {err.problem}"))
            kept = [k for row, k in enumerate(kept) if row not in refused]
            mapped = mapped.drop(index=mapped.index[err.rows]).reset_index(drop=True)


def _new_events(mapped: pd.DataFrame, kept: list[tuple[int, dict]], seen: SeenIds,
                bad: list[dict]) -> pd.DataFrame:
    """A chunk's valid events whose event_id no earlier chunk had (`seen` learns them); the
    others set aside in `bad` with their records."""
    clean, quarantine = validate_events(mapped)
    for row, reason in zip(quarantine[s.ROW], quarantine[s.REASON], strict=True):
        bad.append(_set_aside(*kept[row], reason))
    repeat = seen.add(clean[s.EVENT_ID])
    for row in clean_rows(len(mapped), quarantine)[repeat]:
        bad.append(_set_aside(*kept[row], DUPLICATE_EVENT))
    return clean[~repeat].reset_index(drop=True)


def _flush(source, chunk, summary, bad, seen, frames, writer, spill, geoip_db):
    if not chunk:
        return writer
    mapped, kept = _map_chunk(source, chunk, summary, bad)
    if mapped.empty:
        return writer
    if source.table == ACCOUNTS:
        frames.append(_valid_accounts(mapped, kept, bad))
        return writer
    clean = locate(_new_events(mapped, kept, seen, bad), geoip_db)
    arrow = pa.Table.from_pandas(clean, preserve_index=False)
    if writer is None:
        writer = pq.ParquetWriter(spill, arrow.schema)
    writer.write_table(arrow.cast(writer.schema))
    return writer
