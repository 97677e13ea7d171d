"""The batch feature step on Spark: the same feature functions, run on a cluster's partitions.

Each stage is one of our pandas functions applied by Spark:
1. `mapInPandas`: `validate_events` and `locate` batch by batch; bad rows keep file, row and
   reason. Duplicate event ids across batches: the first copy by (file, row) is kept.
2. `mapInPandas`: `reuse_pairs` per batch, merged by (kind, key, account) with the earliest time.
3. `cogroup` of event keys and pairs by a hash bucket of (kind, key): per-event point-in-time
   counts with `accounts_at`.
4. payout and phone sharing with `identity_counts`, grouped by a hash bucket of the id; clusters
   with `cluster_sizes` on the driver (its input is one row per account and device).
5. `cogroup` of events and accounts by a hash bucket of `account_id`: `compute_features` with
   those cross-account signals.
Timestamps travel through Spark as int64 nanoseconds (Spark's own timestamps stop at micro-
seconds), so the results equal the in-process engine's.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from pyspark import SparkConf
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import TimestampNTZType, TimestampType

from persona_risk.features import schema as s
from persona_risk.features.arrays import Keys
from persona_risk.features.config import FeatureConfig
from persona_risk.features.geoip import locate
from persona_risk.features.io import QUARANTINE, read_table, side_file
from persona_risk.features.pipeline import (
    ACCOUNT_REUSE,
    EVENT_REUSE,
    IDENTITY_COLUMNS,
    CrossAccount,
    compute_features,
)
from persona_risk.features.point_in_time import AsOf
from persona_risk.features.reuse import (
    DEVICE,
    FIRST_TS,
    KEY,
    KIND,
    REUSE_COUNT,
    REUSE_KINDS,
    accounts_at,
    cluster_sizes,
    event_keys,
    identity_counts,
    reuse_pairs,
)
from persona_risk.features.spark_frames import (
    ACCOUNT_TYPES,
    EVENT_TYPES,
    FEATURE_TYPES,
    ddl,
    objects,
    to_spark_frame,
)
from persona_risk.features.spark_io import write_dataset, write_quarantine
from persona_risk.features.stored_rows import EVENT_NAMES, typed_accounts, typed_events
from persona_risk.features.validate import DUPLICATE_EVENT, validate_accounts, validate_events

DEFAULT_MASTER = "local[2]"
EVENTS_PER_BUCKET = 500_000
FILE, ROW_NO, BAD, BUCKET, HAS_RECORD = "_file", "_row", "_reason", "_bucket", "_has_record"


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


def _read_events(spark: SparkSession, paths: list[str]) -> tuple[DataFrame, dict[str, str]]:
    """Raw event files with file and row number, their timestamp columns as integers since the
    epoch; returns also each such column's unit. Nanosecond columns Spark reads as int64 (found
    in the first file's schema or, on a filesystem pyarrow cannot open, the timestamp column
    when Spark reads it as int64); Spark's own timestamps become microseconds here, since
    pandas' nanoseconds would not hold the out-of-range ones that validation sets aside."""
    raw = (spark.read.option("recursiveFileLookup", "true").option("pathGlobFilter", "*.parquet")
           .parquet(*paths))
    try:
        schema = pq.read_schema(raw.inputFiles()[0])
        units = {f.name: "ns" for f in schema if str(f.type).startswith("timestamp[ns")}
    except (OSError, ValueError):
        units = {f.name: "ns" for f in raw.schema.fields
                 if f.name == s.TS and f.dataType.simpleString() == "bigint"}
    micros = [f.name for f in raw.schema.fields
              if isinstance(f.dataType, TimestampType | TimestampNTZType)]
    units.update(dict.fromkeys(micros, "us"))
    columns = [F.unix_micros(F.col(f"`{c}`").cast("timestamp")).alias(c) if c in micros
               else F.col(f"`{c}`") for c in raw.columns]
    raw = raw.select(*columns, F.col("_metadata.file_path").alias(FILE),
                     F.col("_metadata.row_index").alias(ROW_NO))
    return raw, units


def _validated(raw: DataFrame, units: dict[str, str], now: pd.Timestamp,
               geoip_db: str | None) -> DataFrame:
    """Stage 1: every raw row once, canonical when clean, else with its reason and text."""
    columns = [*EVENT_TYPES, (FILE, "string"), (ROW_NO, "long"), (BAD, "string"),
               ("_record", "string")]

    def validate(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            raw_rows = batch.drop(columns=[FILE, ROW_NO])
            for col, unit in units.items():
                raw_rows[col] = pd.to_datetime(raw_rows[col], unit=unit, utc=True)
            clean, bad = validate_events(raw_rows, now=now)
            clean = locate(clean, geoip_db)
            keep = np.ones(len(batch), bool)
            keep[bad[s.ROW].to_numpy(int)] = False
            good = to_spark_frame(clean, EVENT_TYPES)
            good[FILE] = batch[FILE].to_numpy()[keep]
            good[ROW_NO] = batch[ROW_NO].to_numpy()[keep]
            good[BAD], good["_record"] = None, None
            at = bad[s.ROW].to_numpy(int)
            text = bad.drop(columns=[s.ROW, s.REASON])
            rejected = pd.DataFrame({name: None for name, _ in EVENT_TYPES}, index=bad.index)
            rejected[FILE] = batch[FILE].to_numpy()[at]
            rejected[ROW_NO] = batch[ROW_NO].to_numpy()[at]
            rejected[BAD] = bad[s.REASON].to_numpy()
            rejected["_record"] = [json.dumps(r) for r in text.to_dict("records")]
            yield objects(pd.concat([good, rejected], ignore_index=True))

    return raw.mapInPandas(validate, ddl(columns))


def _split_duplicates(validated: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Clean events (first copy of each event id by file and row) and the later copies."""
    clean = validated.filter(F.col(BAD).isNull())
    first = Window.partitionBy(s.EVENT_ID).orderBy(FILE, ROW_NO)
    numbered = clean.withColumn("_copy", F.row_number().over(first))
    return (numbered.filter("_copy = 1").drop("_copy", BAD, "_record"),
            numbered.filter("_copy > 1").drop("_copy"))


def _quarantine(validated: DataFrame, duplicates: DataFrame) -> pd.DataFrame:
    """The set-aside rows, collected: file, row, reason and the row's fields as text."""
    bad = validated.filter(F.col(BAD).isNotNull()).select(FILE, ROW_NO, BAD, "_record")
    rows = bad.orderBy(FILE, ROW_NO).toPandas()
    text = pd.DataFrame([json.loads(r) for r in rows["_record"]])
    dups = duplicates.orderBy(FILE, ROW_NO).toPandas()
    dup_text = typed_events(dups).astype("str") if len(dups) else pd.DataFrame()
    frames = [
        pd.concat([rows[[FILE, ROW_NO, BAD]].reset_index(drop=True), text.astype("str")], axis=1),
        pd.concat([dups[[FILE, ROW_NO]].assign(**{BAD: DUPLICATE_EVENT}).reset_index(drop=True),
                   dup_text.reset_index(drop=True)], axis=1),
    ]
    out = pd.concat(frames, ignore_index=True).rename(
        columns={FILE: "file", ROW_NO: s.ROW, BAD: s.REASON})
    return out.astype({s.ROW: "int64"}) if len(out) else out


def _pairs(events: DataFrame, cfg: FeatureConfig) -> DataFrame:
    """Stage 2: first time (ns) each account was seen on each device, IP and prefix (not
    allowed)."""
    def pairs(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield objects(reuse_pairs(typed_events(batch), cfg.allow))

    partial = events.mapInPandas(pairs, f"{KIND} string, {KEY} string, "
                                        f"{s.ACCOUNT_ID} string, {FIRST_TS} long")
    return partial.groupBy(KIND, KEY, s.ACCOUNT_ID).agg(F.min(FIRST_TS).alias(FIRST_TS))


def _event_counts(events: DataFrame, pairs: DataFrame, buckets: int,
                  cfg: FeatureConfig) -> DataFrame:
    """Stage 3: per event id, accounts seen so far on its device, IP and prefix."""
    def keys(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            canonical = typed_events(batch)
            for kind, values in event_keys(canonical, cfg.allow).items():
                known = values.notna().to_numpy()
                yield objects(pd.DataFrame({
                    KIND: kind, KEY: values[known].to_numpy(object),
                    s.EVENT_ID: batch[s.EVENT_ID].to_numpy()[known],
                    s.TS: batch[s.TS].to_numpy()[known]}))

    def counts(ev: pd.DataFrame, known: pd.DataFrame) -> pd.DataFrame:
        out = []
        for kind in REUSE_KINDS:
            mine = ev[ev[KIND] == kind]
            n = accounts_at(Keys.of(mine[KEY]), mine[s.TS].to_numpy(np.int64),
                            known[known[KIND] == kind])
            out.append(pd.DataFrame({s.EVENT_ID: mine[s.EVENT_ID].to_numpy(), KIND: kind,
                                     "n": n}))
        return objects(pd.concat(out, ignore_index=True))

    by_key = F.pmod(F.hash(KIND, KEY), F.lit(buckets))
    event_keys_df = events.mapInPandas(
        keys, f"{KIND} string, {KEY} string, {s.EVENT_ID} string, {s.TS} long")
    long = (event_keys_df.groupBy(by_key.alias(BUCKET))
            .cogroup(pairs.groupBy(by_key.alias(BUCKET)))
            .applyInPandas(counts, f"{s.EVENT_ID} string, {KIND} string, n double"))
    wide = long.groupBy(s.EVENT_ID).pivot(KIND, list(REUSE_KINDS)).agg(F.first("n"))
    return wide.select(s.EVENT_ID, *[F.col(k).alias(REUSE_COUNT[k]) for k in REUSE_KINDS])


def _identity_counts(accounts: DataFrame, column: str, name: str, buckets: int) -> DataFrame:
    """Stage 4: accounts sharing each account's payout or phone id, grouped by id bucket."""
    def count(group: pd.DataFrame) -> pd.DataFrame:
        ids = group[s.ACCOUNT_ID].to_numpy(object)
        return objects(pd.DataFrame({s.ACCOUNT_ID: ids,
                                     name: identity_counts(ids, group, column)}))

    return (accounts.select(s.ACCOUNT_ID, column)
            .groupBy(F.pmod(F.hash(column), F.lit(buckets)))
            .applyInPandas(count, f"{s.ACCOUNT_ID} string, {name} double"))


def _account_side(spark: SparkSession, events: DataFrame, accounts: pd.DataFrame | None,
                  pairs: DataFrame, buckets: int) -> DataFrame:
    """Every account (with or without record) with its record and its account-level
    cross-account signals."""
    ids = events.select(s.ACCOUNT_ID).distinct().toPandas()[s.ACCOUNT_ID].to_numpy(object)
    identities = (accounts[IDENTITY_COLUMNS] if accounts is not None
                  else pd.DataFrame(columns=IDENTITY_COLUMNS))
    if accounts is not None:
        ids = pd.unique(np.concatenate([ids, accounts[s.ACCOUNT_ID].to_numpy(object)]))
    device_pairs = pairs.filter(F.col(KIND) == DEVICE).select(s.ACCOUNT_ID, KEY).toPandas()
    clusters = pd.DataFrame({s.ACCOUNT_ID: ids,
                             "cluster_size": cluster_sizes(ids, device_pairs, identities)})
    side = spark.createDataFrame(clusters, f"{s.ACCOUNT_ID} string, cluster_size double")
    if accounts is None:
        return side.select("*", F.lit(None).cast("double").alias("payout_accounts"),
                           F.lit(None).cast("double").alias("phone_accounts"),
                           F.lit(False).alias(HAS_RECORD),
                           *[F.lit(None).cast(kind).alias(name) for name, kind in ACCOUNT_TYPES
                             if name != s.ACCOUNT_ID])
    records = spark.createDataFrame(to_spark_frame(accounts, ACCOUNT_TYPES),
                                    ddl(ACCOUNT_TYPES)).withColumn(HAS_RECORD, F.lit(True))
    for column, name in ((s.PAYOUT_ID, "payout_accounts"), (s.PHONE_ID, "phone_accounts")):
        side = side.join(_identity_counts(records, column, name, buckets), s.ACCOUNT_ID, "left")
    side = side.join(records, s.ACCOUNT_ID, "left")
    return side.fillna(False, subset=[HAS_RECORD])


def _account_features(events: DataFrame, side: DataFrame, as_of: pd.Timestamp,
                      cfg: FeatureConfig, buckets: int) -> DataFrame:
    """Stage 5: `compute_features` on account buckets with the cross-account signals."""
    def featurise(ev: pd.DataFrame, acc: pd.DataFrame) -> pd.DataFrame:
        records = acc[acc[HAS_RECORD].astype(bool)]
        cross = CrossAccount(
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
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    raw, units = _read_events(spark, [str(p) for p in events])
    validated = _validated(raw, units, now, geoip_db).persist()
    clean, duplicates = _split_duplicates(validated)
    quarantine = _quarantine(validated, duplicates)
    last = clean.agg(F.max(s.TS), F.count(F.lit(1))).first()
    if not last[1]:
        validated.unpersist()
        raise ValueError("events: no readable rows")
    at = AsOf.of(int(last[0]) if as_of is None else as_of)
    as_of = at.at
    buckets = buckets or max(2 * spark.sparkContext.defaultParallelism,
                             math.ceil(last[1] / EVENTS_PER_BUCKET))

    clean = clean.filter(at.keeps(F.col(s.TS)))
    if accounts is not None:
        accounts = at.records(accounts)
    clean = clean.select(*EVENT_NAMES).persist()
    pairs = _pairs(clean, cfg).persist()
    counted = clean.join(_event_counts(clean, pairs, buckets, cfg), s.EVENT_ID, "left")
    side = _account_side(spark, clean, accounts, pairs, buckets)
    # One row per account, kept: sorting the output samples it before writing it.
    features = _account_features(counted, side, as_of, cfg, buckets).persist()
    return SparkFeatures(features=features, events_read=last[1], quarantine=quarantine,
                         as_of=as_of, buckets=buckets,
                         cached=[validated, clean, pairs, features])


def features_table(spark: SparkSession, events: list[str], out: str,
                   accounts: list[Path] | None = None, as_of: pd.Timestamp | None = None,
                   geoip_db: str | None = None, now: pd.Timestamp | None = None,
                   cfg: FeatureConfig = FeatureConfig()) -> tuple[int, int, int]:
    """Write the account feature table on Spark as a Parquet dataset at `out` (quarantine
    beside it, or none: an earlier run's is removed); returns accounts, clean events and
    quarantined rows."""
    acc = validate_accounts(read_table(accounts)) if accounts else None
    result = spark_features(spark, events, acc, as_of, cfg, geoip_db, now)
    table = result.features.withColumn(
        s.AS_OF, F.timestamp_micros(F.floor(F.col(s.AS_OF) / 1000))).orderBy(s.ACCOUNT_ID)
    write_dataset(spark, table, out)
    n_accounts = result.features.count()  # cached
    result.release()
    write_quarantine(spark, result.quarantine, side_file(out, QUARANTINE))  # or remove a stale one
    return n_accounts, result.events_read, len(result.quarantine)
