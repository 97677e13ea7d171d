"""The batch feature step on Spark: the same feature functions, run on a cluster's partitions.

Each stage is one of our pandas functions applied by Spark:
1. `mapInPandas`: `validate_events` and `locate` batch by batch; bad rows keep file, row and
   reason. Duplicate event ids across batches: the first copy by (file, row) is kept
   (`features.spark_read`).
2. `mapInPandas`: `reuse_pairs` per batch, merged by (kind, key, account) with the earliest time.
3. `cogroup` of event keys and pairs by a hash bucket of (kind, key): per-event point-in-time
   counts with `accounts_at`.
4. payout and phone sharing with `identity_counts`, grouped by a hash bucket of the id; clusters
   with `cluster_sizes` on the driver (its input is one row per account and device); stages 2-4
   are `features.spark_cross`.
5. `cogroup` of events and accounts by a hash bucket of `account_id`: `compute_features` with
   those cross-account signals (here).
Timestamps travel through Spark as int64 nanoseconds (Spark's own timestamps stop at micro-
seconds), so the results equal the in-process engine's.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pyspark import SparkConf
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.features.engine import FeatureRun
from persona_risk.features.io import QUARANTINE, read_table, side_file
from persona_risk.features.pipeline import (
    ACCOUNT_REUSE,
    EVENT_REUSE,
    CrossAccount,
    compute_features,
)
from persona_risk.features.point_in_time import AsOf, utc_now
from persona_risk.features.spark_cross import account_side, event_counts, spark_reuse_pairs
from persona_risk.features.spark_frames import (
    BUCKET,
    FEATURE_TYPES,
    HAS_RECORD,
    ddl,
    objects,
    to_spark_frame,
)
from persona_risk.features.spark_io import write_dataset, write_quarantine
from persona_risk.features.spark_read import (
    quarantine_rows,
    read_events,
    split_duplicates,
    validated_events,
)
from persona_risk.features.stored_rows import EVENT_NAMES, typed_accounts, typed_events
from persona_risk.features.validate import validate_accounts

DEFAULT_MASTER = "local[2]"
EVENTS_PER_BUCKET = 500_000


def spark_session(master: str | None = None) -> SparkSession:
    """The Spark session: `master` when given, else the one configured (spark-submit,
    spark-defaults.conf), else local[2]. Workers run this Python."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("persona-risk")
    conf = SparkConf()
    if master or not conf.contains("spark.master"):
        builder = builder.master(master or DEFAULT_MASTER)
    if (master or conf.get("spark.master", DEFAULT_MASTER)).startswith("local") and not \
            conf.contains("spark.sql.shuffle.partitions"):
        # One machine: a few shuffle partitions per core, not the cluster default of 200.
        builder = builder.config("spark.sql.shuffle.partitions", str(2 * os.cpu_count()))
    spark = (builder.config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.legacy.parquet.nanosAsLong", "true")
             .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
             .config("spark.sql.execution.arrow.maxRecordsPerBatch", "100000")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@dataclass
class SparkFeatures:
    """Spark results: account features (`as_of` in int64 ns), the number of clean events read,
    the quarantine (collected: it holds only bad rows) and the `as_of` used."""

    features: DataFrame
    events_read: int
    quarantine: pd.DataFrame
    as_of: pd.Timestamp
    buckets: int
    cached: list[DataFrame]

    def release(self) -> None:
        """Drop the cached intermediate tables once the features are written."""
        for df in self.cached:
            df.unpersist()


def _account_features(events: DataFrame, side: DataFrame, as_of: pd.Timestamp,
                      cfg: FeatureConfig, buckets: int) -> DataFrame:
    """Stage 5: `compute_features` on account buckets with the cross-account signals."""
    def featurise(ev: pd.DataFrame, acc: pd.DataFrame) -> pd.DataFrame:
        records = acc[acc[HAS_RECORD].astype(bool)]
        cross = CrossAccount.supplied(
            event_counts=ev.set_index(s.EVENT_ID)[EVENT_REUSE].astype(float),
            account_counts=acc.set_index(s.ACCOUNT_ID)[ACCOUNT_REUSE].astype(float))
        result = compute_features(typed_events(ev),
                                  typed_accounts(records) if len(records) else None,
                                  as_of, cfg, cross=cross, with_signals=False)
        return objects(to_spark_frame(result.features, FEATURE_TYPES))

    by_account = F.pmod(F.hash(s.ACCOUNT_ID), F.lit(buckets)).alias(BUCKET)
    return (events.groupBy(by_account).cogroup(side.groupBy(by_account))
            .applyInPandas(featurise, ddl(FEATURE_TYPES)))


def spark_features(spark: SparkSession, events: list[str], accounts: pd.DataFrame | None,
                   as_of: pd.Timestamp | None = None, cfg: FeatureConfig = FeatureConfig(),
                   geoip_db: str | None = None, now: pd.Timestamp | None = None,
                   buckets: int | None = None) -> SparkFeatures:
    """Account features of Parquet event files (paths Spark reads) and validated `accounts`
    as of `as_of` (UTC; default: the last event), equal to `compute_features` in process.
    `buckets` (default: one per 500,000 events, at least two per core) sets the partitions."""
    now = utc_now(now)
    raw, units = read_events(spark, [str(p) for p in events])
    validated = validated_events(raw, units, now, geoip_db).persist()
    clean, duplicates = split_duplicates(validated)
    quarantine = quarantine_rows(validated, duplicates)
    last = clean.agg(F.max(s.TS), F.count(F.lit(1))).first()
    if not last[1]:
        validated.unpersist()
        raise ValueError("events: no readable rows")
    at = AsOf.of(int(last[0]) if as_of is None else as_of, cfg.retention_days)
    as_of = at.at
    buckets = buckets or max(2 * spark.sparkContext.defaultParallelism,
                             math.ceil(last[1] / EVENTS_PER_BUCKET))

    clean = clean.filter(at.happened(F.col(s.TS)))
    if accounts is not None:
        accounts = at.records(accounts)
    clean = clean.select(*EVENT_NAMES).persist()
    pairs = spark_reuse_pairs(clean, cfg).persist()
    counted = clean.join(event_counts(clean, pairs, buckets, cfg), s.EVENT_ID, "left")
    side = account_side(spark, clean, accounts, pairs, buckets)
    # One row per account, kept: sorting the output samples it before writing it.
    features = _account_features(counted, side, as_of, cfg, buckets).persist()
    return SparkFeatures(features=features, events_read=last[1], quarantine=quarantine,
                         as_of=as_of, buckets=buckets,
                         cached=[validated, clean, pairs, features])


@dataclass(frozen=True)
class SparkEngine:
    """The feature engine (`features.engine.FeatureEngine`) on a Spark session; the table is a
    Parquet dataset (paths Spark reaches: local, HDFS, object stores)."""

    spark: SparkSession

    def write_features(self, events: list[Path | str], out: Path | str,
                       accounts: list[Path | str] | None = None,
                       as_of: pd.Timestamp | None = None, cfg: FeatureConfig = FeatureConfig(),
                       geoip_db: Path | None = None, now: pd.Timestamp | None = None
                       ) -> FeatureRun:
        """See `features.engine.FeatureEngine.write_features`; `events` are Parquet files."""
        acc = validate_accounts(read_table(accounts)) if accounts else None
        result = spark_features(self.spark, [str(p) for p in events], acc, as_of, cfg,
                                str(geoip_db) if geoip_db else None, now)
        table = result.features.withColumn(
            s.AS_OF, F.timestamp_micros(F.floor(F.col(s.AS_OF) / 1000))).orderBy(s.ACCOUNT_ID)
        write_dataset(self.spark, table, str(out))
        n_accounts = result.features.count()  # cached
        result.release()
        # or remove a stale one
        write_quarantine(self.spark, result.quarantine, side_file(str(out), QUARANTINE))
        return FeatureRun(n_accounts, result.events_read, len(result.quarantine))
