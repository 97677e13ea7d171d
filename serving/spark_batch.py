"""Nightly batch scoring on Spark: `features.spark_engine` for the features, the model applied
with `mapInPandas` on the account features (loaded once on the driver, shipped to the workers).

Outputs match the in-process job's: the scores as a Parquet dataset at `out`, the quarantine
and the summary beside it under the same names (`features.io.side_file`: `<stem>.quarantine.csv`,
`<stem>.summary.json`), all atomic.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
from pyspark.sql import SparkSession

from persona_risk.features import schema as s
from persona_risk.features.allow import AllowList
from persona_risk.features.io import QUARANTINE, SUMMARY, read_table, side_file
from persona_risk.features.spark_engine import spark_features
from persona_risk.features.spark_frames import objects
from persona_risk.features.spark_io import write_dataset, write_quarantine, write_text
from persona_risk.features.validate import validate_accounts
from persona_risk.models.risk_model import RiskModel
from persona_risk.serving.batch import (
    OUTPUT_COLUMNS,
    BatchSummary,
    batch_scores,
    finish_summary,
)


def _spark_type(column: str) -> str:
    if column == "score" or column.endswith(("_value", "_shap")):
        return "double"
    return "timestamp" if column == s.AS_OF else "string"


SCORE_TYPES = ", ".join(f"`{c}` {_spark_type(c)}" for c in OUTPUT_COLUMNS)


def spark_score(spark: SparkSession, events: list[str], model: RiskModel, model_version: str,
                out: str, accounts: list[Path] | None = None, as_of: pd.Timestamp | None = None,
                geoip_db: str | None = None, now: pd.Timestamp | None = None,
                allow: AllowList = AllowList(),
                say: Callable[[str], None] = lambda _: None,
                all_reasons: bool = False) -> BatchSummary:
    """Score every account of the Parquet event files (and accounts files) on Spark, as
    `serving.batch.score_events` does in process (the model's thresholds, `allow`, reasons
    above the low band unless `all_reasons`); `out` is a Parquet dataset path."""
    start = time.perf_counter()
    cfg = model.feature_config(allow)
    acc = validate_accounts(read_table(accounts)) if accounts else None
    say("features on Spark")
    result = spark_features(spark, events, acc, as_of, cfg, geoip_db, now)
    as_of = result.as_of

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for features in batches:
            scored = batch_scores(model, features, all_reasons).assign(
                model_version=model_version, as_of=as_of)
            yield objects(scored[OUTPUT_COLUMNS])

    scores = result.features.mapInPandas(score, SCORE_TYPES).persist()
    say("scoring and writing")
    write_dataset(spark, scores.orderBy(s.ACCOUNT_ID), out)
    per_band = {r["band"]: r["count"] for r in scores.groupBy("band").count().collect()}
    scores.unpersist()
    result.release()
    quarantine = result.quarantine
    summary = BatchSummary(
        accounts_scored=sum(per_band.values()), per_band=per_band,
        events=result.events_read, rows_quarantined=len(quarantine),
        model_version=model_version, as_of=str(as_of), partitions=result.buckets,
        output=out)
    return finish_summary(
        summary, start, quarantine,
        lambda q: write_quarantine(spark, q, side_file(out, QUARANTINE)),
        lambda text: write_text(spark, text, side_file(out, SUMMARY)))

