"""Spark stage 1: the raw event files read with file and row number, validated and located batch
by batch with our pandas functions (`mapInPandas`); bad rows keep file, row and reason, and of
repeated event ids across batches the first copy by (file, row) is kept."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import TimestampNTZType, TimestampType

from persona_risk.features import schema as s
from persona_risk.features.geoip import locate
from persona_risk.features.spark_frames import (
    BAD,
    EVENT_TYPES,
    FILE,
    ROW_NO,
    ddl,
    objects,
    to_spark_frame,
)
from persona_risk.features.stored_rows import typed_events
from persona_risk.features.validate import DUPLICATE_EVENT, validate_events


def read_events(spark: SparkSession, paths: list[str]) -> tuple[DataFrame, dict[str, str]]:
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


def validated_events(raw: DataFrame, units: dict[str, str], now: pd.Timestamp,
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


def split_duplicates(validated: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Clean events (first copy of each event id by file and row) and the later copies."""
    clean = validated.filter(F.col(BAD).isNull())
    first = Window.partitionBy(s.EVENT_ID).orderBy(FILE, ROW_NO)
    numbered = clean.withColumn("_copy", F.row_number().over(first))
    return (numbered.filter("_copy = 1").drop("_copy", BAD, "_record"),
            numbered.filter("_copy > 1").drop("_copy"))


def quarantine_rows(validated: DataFrame, duplicates: DataFrame) -> pd.DataFrame:
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
        columns={FILE: s.FILE, ROW_NO: s.ROW, BAD: s.REASON})
    return out.astype({s.ROW: "int64"}) if len(out) else out
