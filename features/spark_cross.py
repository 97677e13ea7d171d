"""Spark stages 2-4, the cross-account signals grouped by key: reuse pairs merged by (kind, key,
account) with the earliest time; per-event point-in-time counts by a hash bucket of (kind, key);
payout and phone sharing by a hash bucket of the id; clusters on the driver (one row per account
and device)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from persona_risk.features import schema as s
from persona_risk.features.arrays import Keys
from persona_risk.features.config import FeatureConfig
from persona_risk.features.pipeline import IDENTITY_COLUMNS
from persona_risk.features.reuse import (
    CLUSTER_SIZE,
    DEVICE,
    FIRST_TS,
    KEY,
    KIND,
    REUSE_COUNT,
    REUSE_KINDS,
    SHARED_ID_COUNT,
    accounts_at,
    cluster_sizes,
    event_keys,
    identity_counts,
    reuse_pairs,
)
from persona_risk.features.spark_frames import (
    ACCOUNT_TYPES,
    BUCKET,
    HAS_RECORD,
    ddl,
    objects,
    to_spark_frame,
)
from persona_risk.features.stored_rows import typed_events


def spark_reuse_pairs(events: DataFrame, cfg: FeatureConfig) -> DataFrame:
    """Stage 2: first time (ns) each account was seen on each device, IP and prefix (not
    allowed)."""
    def pairs(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield objects(reuse_pairs(typed_events(batch), cfg.allow))

    partial = events.mapInPandas(pairs, f"{KIND} string, {KEY} string, "
                                        f"{s.ACCOUNT_ID} string, {FIRST_TS} long")
    return partial.groupBy(KIND, KEY, s.ACCOUNT_ID).agg(F.min(FIRST_TS).alias(FIRST_TS))


def event_counts(events: DataFrame, pairs: DataFrame, buckets: int,
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


def identity_counts_by_id(accounts: DataFrame, column: str, name: str, buckets: int) -> DataFrame:
    """Stage 4: accounts sharing each account's payout or phone id, grouped by id bucket."""
    def count(group: pd.DataFrame) -> pd.DataFrame:
        ids = group[s.ACCOUNT_ID].to_numpy(object)
        return objects(pd.DataFrame({s.ACCOUNT_ID: ids,
                                     name: identity_counts(ids, group, column)}))

    return (accounts.select(s.ACCOUNT_ID, column)
            .groupBy(F.pmod(F.hash(column), F.lit(buckets)))
            .applyInPandas(count, f"{s.ACCOUNT_ID} string, {name} double"))


def account_side(spark: SparkSession, events: DataFrame, accounts: pd.DataFrame | None,
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
                             CLUSTER_SIZE: cluster_sizes(ids, device_pairs, identities)})
    side = spark.createDataFrame(clusters, f"{s.ACCOUNT_ID} string, {CLUSTER_SIZE} double")
    if accounts is None:
        return side.select("*", *[F.lit(None).cast("double").alias(name)
                                  for name in SHARED_ID_COUNT.values()],
                           F.lit(False).alias(HAS_RECORD),
                           *[F.lit(None).cast(kind).alias(name) for name, kind in ACCOUNT_TYPES
                             if name != s.ACCOUNT_ID])
    records = spark.createDataFrame(to_spark_frame(accounts, ACCOUNT_TYPES),
                                    ddl(ACCOUNT_TYPES)).withColumn(HAS_RECORD, F.lit(True))
    for column, name in SHARED_ID_COUNT.items():
        side = side.join(identity_counts_by_id(records, column, name, buckets), s.ACCOUNT_ID,
                         "left")
    side = side.join(records, s.ACCOUNT_ID, "left")
    return side.fillna(False, subset=[HAS_RECORD])
