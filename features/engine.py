"""The feature engine interface: event files (and account records) in, the account feature table
out, written beside its quarantine.

Three engines turn the same inputs into the same table: in memory
(`features.memory_engine.InMemoryEngine`), partitioned by account and streamed
(`serving.partitions.PartitionedEngine`, past memory), and on Spark
(`features.spark_engine.SparkEngine`, optional). All run `features.pipeline.account_features`;
they differ in how they read, where the cross-account signals come from
(`features.pipeline.CrossAccount`) and how much they hold at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd

from persona_risk.features.config import FeatureConfig


@dataclass(frozen=True)
class FeatureRun:
    """What a run wrote: accounts (rows of the table), clean events read, rows set aside."""

    accounts: int
    events: int
    quarantined: int


class FeatureEngine(Protocol):
    """Writes the account feature table of event files."""

    def write_features(self, events: list[Path | str], out: Path | str,
                       accounts: list[Path | str] | None = None,
                       as_of: pd.Timestamp | None = None, cfg: FeatureConfig = FeatureConfig(),
                       geoip_db: Path | None = None, now: pd.Timestamp | None = None
                       ) -> FeatureRun:
        """The features of `events` and `accounts` (table files or folders; Spark takes the
        paths and URIs it reaches) as of `as_of` (UTC; default: the last event) with `cfg`'s
        thresholds, written at `out`; the rows set aside (validation against `now`, default the
        clock) beside it, or none: an earlier run's quarantine file is removed."""
        ...
