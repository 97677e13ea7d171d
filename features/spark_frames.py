"""Frames between pandas and Spark: the Spark types of our tables, and conversions that keep
timestamps as int64 nanoseconds (Spark's timestamps stop at microseconds) and text as plain
Python objects (PySpark cannot take pandas 3's Arrow strings)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.arrays import timestamps_ns
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.features.travel import FASTEST_HOP_COLUMNS

# working columns: the source file and row of a raw event, its reason when set aside, the hash
# bucket a row is grouped by, and whether an account has a record
FILE, ROW_NO, BAD, BUCKET, HAS_RECORD = "_file", "_row", "_reason", "_bucket", "_has_record"
SPARK_TYPES = {"string": "string", "timestamp": "long", "float": "double", "int": "long",
               "bool": "boolean", "country": "string", "timezone": "string"}


def ddl(columns: list[tuple[str, str]]) -> str:
    """A Spark schema string of (name, type) pairs."""
    return ", ".join(f"`{name}` {kind}" for name, kind in columns)


EVENT_TYPES = [(c.name, SPARK_TYPES[c.kind]) for c in s.EVENT_COLUMNS]
ACCOUNT_TYPES = [(c.name, SPARK_TYPES[c.kind]) for c in s.ACCOUNT_COLUMNS
                 if c.name not in s.TRAINING_ONLY]
FEATURE_TYPES = [(s.ACCOUNT_ID, "string"), (s.AS_OF, "long"),
                 *[(name, "double") for name in FEATURE_NAMES],
                 *zip(FASTEST_HOP_COLUMNS, ("string", "string", "double"), strict=True)]


def to_spark_frame(df: pd.DataFrame, types: list[tuple[str, str]]) -> pd.DataFrame:
    """A canonical frame as Spark takes it: timestamps as int64 ns, missing values as None."""
    out = pd.DataFrame(index=df.index)
    for name, kind in types:
        col = df[name] if name in df else pd.Series(None, index=df.index, dtype=object)
        if pd.api.types.is_datetime64_any_dtype(col):
            col = pd.Series(np.where(col.isna(), None, timestamps_ns(col).astype(object)),
                            index=df.index, dtype=object)
        elif kind == "string":
            col = col.astype(object).where(col.notna(), None)
        out[name] = col
    return out


def objects(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with text columns as plain Python objects."""
    text = [c for c in df.columns if pd.api.types.is_string_dtype(df[c])]
    return df.astype(dict.fromkeys(text, object)).where(df.notna(), None) if text else df
