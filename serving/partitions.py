"""The partitioned passes of the batch, so that it scales past memory.

Pass 1 streams the event files in chunks: validation (bad rows to quarantine; a repeated event
id, whatever its account, chunk or file, keeps its first copy), geolocation, the cross-account
reuse pairs (small: one row per key and account), and a spill of the clean events into
partitions by a stable hash of `account_id` (`Spill`). Pass 2 computes one partition's account
features at a time with the global pairs and identities, so device, IP and identity reuse stay
exact whatever the number of partitions. `PartitionedEngine` is the two passes as a feature
engine; `serving.batch` scores each partition as it comes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

from persona_risk.features import schema as s
from persona_risk.features.allow import AllowList
from persona_risk.features.config import FeatureConfig
from persona_risk.features.engine import FeatureRun
from persona_risk.features.geoip import locate
from persona_risk.features.hashing import SeenIds, text_hashes
from persona_risk.features.io import (
    csv_chunks,
    read_table,
    remove_stale_temps,
    table_files,
    temp_folder,
    write_quarantine,
    write_table,
)
from persona_risk.features.parsing import quarantine_of
from persona_risk.features.pipeline import (
    IDENTITY_COLUMNS,
    CrossAccount,
    compute_features,
    empty_accounts,
)
from persona_risk.features.point_in_time import AsOf
from persona_risk.features.reuse import FIRST_TS, KEY, KIND, PAIR_COLUMNS, reuse_pairs
from persona_risk.features.validate import (
    DUPLICATE_EVENT,
    clean_rows,
    validate_accounts,
    validate_events,
)

CHUNK_ROWS = 1 << 21  # two of pyarrow's default row groups


def partition_of(account_ids: pd.Series | np.ndarray, partitions: int) -> np.ndarray:
    """Stable partition number (0..partitions-1) of each account id (a hash of its bytes, in
    a compiled loop over Arrow's buffers: no Python string per row)."""
    return (text_hashes(account_ids) % np.uint64(partitions)).astype(np.int64)


def _row_group_runs(file: pq.ParquetFile) -> Iterator[list[int]]:
    """Consecutive row groups of at most CHUNK_ROWS rows together (a larger group alone);
    empty groups are left out."""
    run, rows = [], 0
    for g in range(file.num_row_groups):
        n = file.metadata.row_group(g).num_rows
        if n == 0:
            continue
        if run and rows + n > CHUNK_ROWS:
            yield run
            run, rows = [], 0
        run.append(g)
        rows += n
    if run:
        yield run


def _chunks(path: Path) -> Iterator[pd.DataFrame]:
    if not path.name.endswith(".parquet"):
        yield from csv_chunks(path, CHUNK_ROWS)
        return
    # whole row groups together: Parquet's batches stop at every row-group end, and each
    # chunk costs a pass of its own (its reuse pairs repeat the other chunks')
    file = pq.ParquetFile(path)
    for run in _row_group_runs(file):
        if len(run) == 1 and file.metadata.row_group(run[0]).num_rows > CHUNK_ROWS:
            yield from (b.to_pandas() for b in
                        file.iter_batches(batch_size=CHUNK_ROWS, row_groups=run))
        else:
            yield file.read_row_groups(run).to_pandas()


def _merge_pairs(pairs: list[pd.DataFrame]) -> pd.DataFrame:
    if not pairs:
        return pd.DataFrame(columns=PAIR_COLUMNS).astype({FIRST_TS: "int64"})
    if len(pairs) == 1:  # one chunk's pairs, or merged already: one row per key and account
        return pairs[0]
    merged = pd.concat(pairs, ignore_index=True)
    return merged.groupby([KIND, KEY, s.ACCOUNT_ID], as_index=False, sort=False)[FIRST_TS].min()


class Spill:
    """The clean events of each partition, chunk by chunk: Arrow IPC files (uncompressed: a
    tenth of Parquet's time to write and a fifth to read) in `folder`, or Arrow tables in
    memory when there is one partition, which bounds nothing. Read back, a partition equals
    what a Parquet round trip gives (dtypes and categories included)."""

    def __init__(self, folder: Path, partitions: int):
        self.folder, self.partitions = folder, partitions
        self.kept: list[pa.Table] = []  # one partition only

    def add(self, clean: pd.DataFrame, name: str) -> None:
        """Partition one chunk of clean events; `name` orders the chunks when read back."""
        if self.partitions == 1:
            self.kept.append(pa.Table.from_pandas(clean, preserve_index=False))
            return
        part = partition_of(clean[s.ACCOUNT_ID], self.partitions)
        for p in np.unique(part):
            folder = self.folder / f"p{p}"
            folder.mkdir(parents=True, exist_ok=True)
            feather.write_feather(pa.Table.from_pandas(clean[part == p], preserve_index=False),
                                  folder / f"{name}.arrow", compression="uncompressed")

    def read(self, p: int, last: bool = True) -> pd.DataFrame:
        """The events of partition `p`; kept in memory, they are forgotten on the `last` read."""
        if self.partitions == 1:
            tables = self.kept
            if last:
                self.kept = []
        else:
            tables = [feather.read_table(f)
                      for f in sorted((self.folder / f"p{p}").glob("*.arrow"))]
        if not tables:
            return pd.DataFrame(columns=s.names(s.EVENT_COLUMNS))
        return pa.concat_tables(tables).to_pandas()


def spill_events(events: list[Path], spill: Spill, geoip_db: Path | None,
                 now: pd.Timestamp | None, say: Callable[[str], None],
                 allow: AllowList = AllowList()
                 ) -> tuple[pd.DataFrame, pd.DataFrame, int, pd.Timestamp | None]:
    """Pass 1: validate, locate and partition the events into `spill`; returns reuse pairs (of
    what `allow` does not allow), quarantine, the number of clean events and the last event
    time."""
    pairs, quarantine, n_clean, read, last = [], [], 0, 0, None
    seen = SeenIds()
    for file_no, path in enumerate(table_files(events)):
        offset = 0  # row numbers count within each file
        for chunk_no, chunk in enumerate(_chunks(path)):
            clean, bad = validate_events(chunk, now=now)
            again = seen.add(clean[s.EVENT_ID])  # a copy of an event of an earlier chunk or file
            if again.any():
                copies = quarantine_of(chunk, clean_rows(len(chunk), bad)[again], DUPLICATE_EVENT)
                bad = pd.concat([bad, copies], ignore_index=True)
                clean = clean[~again].reset_index(drop=True)
            bad.insert(0, s.FILE, str(path))
            bad[s.ROW] += offset
            offset += len(chunk)
            read += len(chunk)
            quarantine.append(bad)
            clean = locate(clean, geoip_db)
            pairs.append(reuse_pairs(clean, allow))
            spill.add(clean, f"{file_no:06d}-{chunk_no:06d}")
            n_clean += len(clean)
            if len(clean):
                last = max(last, clean[s.TS].max()) if last is not None else clean[s.TS].max()
            say(f"read {read:,} events ({n_clean:,} clean)")
        pairs = [_merge_pairs(pairs)]
    quarantine = (pd.concat(quarantine, ignore_index=True) if quarantine else
                  pd.DataFrame(columns=[s.FILE, s.ROW, s.REASON]))  # zero-row files only
    return _merge_pairs(pairs), quarantine, n_clean, last


@dataclass
class Spilled:
    """Pass 1 done: the quarantine, the number of clean events, the cut, and pass 2 to run inside
    the spill folder: (partition number, its account features) of each partition with events or
    records (the features may have no rows: none of its accounts exists yet as of the cut)."""

    quarantine: pd.DataFrame
    events: int
    as_of: pd.Timestamp
    partitions: Iterator[tuple[int, pd.DataFrame]]


def spilled_features(events: list[Path], acc: pd.DataFrame | None, out: Path, spill: Path,
                     partitions: int, as_of: pd.Timestamp | None, cfg: FeatureConfig,
                     geoip_db: Path | None, now: pd.Timestamp | None,
                     say: Callable[[str], None]) -> Spilled:
    """Pass 1 into `spill` (see `spill_events`), then pass 2 lazily: each partition's features
    as of `as_of` (default: the last event) with the global pairs and identities. With no
    clean event, writes the quarantine beside `out` and raises ValueError."""
    spilled = Spill(spill, partitions)
    pairs, quarantine, n_events, last = spill_events(events, spilled, geoip_db, now, say,
                                                     cfg.allow)
    if n_events == 0:
        written = write_quarantine(quarantine, out)
        where = f" ({len(quarantine):,} rows set aside, reasons in {written})" if written else ""
        raise ValueError(f"events: no readable rows; nothing to score{where}")
    as_of = pd.Timestamp(last if as_of is None else as_of)
    at = AsOf.of(as_of, cfg.retention_days)  # once here: compute_features' filter keeps all
    if at.retention is not None:  # a pair exists from its first event in the window
        pairs = _merge_pairs([reuse_pairs(at.events(spilled.read(p, last=False)), cfg.allow)
                              for p in range(partitions)])
    records = at.records(empty_accounts() if acc is None else acc)  # those of every partition
    cross = CrossAccount.from_pairs(at.pairs(pairs), records[IDENTITY_COLUMNS])

    def each() -> Iterator[tuple[int, pd.DataFrame]]:
        acc_part = partition_of(acc[s.ACCOUNT_ID], partitions) if acc is not None else None
        for p in range(partitions):
            part_events = spilled.read(p)
            part_acc = acc[acc_part == p] if acc is not None else None
            if part_events.empty and (part_acc is None or part_acc.empty):
                continue
            yield p, compute_features(part_events, part_acc, as_of, cfg, cross=cross,
                                      with_signals=False).features

    return Spilled(quarantine, n_events, as_of, each())


@dataclass(frozen=True)
class PartitionedEngine:
    """The feature engine (`features.engine.FeatureEngine`) that streams the event files and
    computes one partition of accounts at a time (`partitions` of them), past memory."""

    partitions: int = 1
    say: Callable[[str], None] = lambda _: None

    def write_features(self, events: list[Path | str], out: Path | str,
                       accounts: list[Path | str] | None = None,
                       as_of: pd.Timestamp | None = None, cfg: FeatureConfig = FeatureConfig(),
                       geoip_db: Path | None = None, now: pd.Timestamp | None = None
                       ) -> FeatureRun:
        """See `features.engine.FeatureEngine.write_features`."""
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(out.parent)
        acc = validate_accounts(read_table(accounts)) if accounts else None
        with temp_folder(out.parent, "spill") as spilled:
            run = spilled_features(events, acc, out, spilled, self.partitions, as_of, cfg,
                                   geoip_db, now, self.say)
            parts = [features for _, features in run.partitions]
        table = pd.concat(parts, ignore_index=True).sort_values(s.ACCOUNT_ID, kind="stable")
        write_table(table.reset_index(drop=True), out)
        write_quarantine(run.quarantine, out)  # or remove an earlier run's
        return FeatureRun(len(table), run.events, len(run.quarantine))
