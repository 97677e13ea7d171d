"""The plain baseline a data scientist would fit first: LightGBM on the raw columns.

Per account, simple aggregates of the raw event columns and the raw account columns, with none
of our signals (no travel speed, no zone offsets, no point-in-time reuse, no clusters): what our
features add is measured against it on the same test accounts.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.geo import SECONDS_PER_DAY
from persona_risk.features.point_in_time import AsOf

PREFIX = "raw."
DISTINCT = (s.IP, s.DEVICE_ID, s.COUNTRY, s.USER_AGENT, s.DEVICE_TZ, s.ASN)
SHARES = (s.SUCCESS, s.INTERACTIVE, s.ANONYMIZER)


def raw_columns(events: pd.DataFrame, accounts: pd.DataFrame | None,
                as_of: pd.Timestamp) -> pd.DataFrame:
    """Per account (index): event count, distinct values of the raw event columns, shares of
    the boolean ones, median UTC hour, mean location, account age in days and claimed
    country as a category code; events after `as_of` are left out."""
    ev = AsOf.of(as_of).events(events)
    group = ev.groupby(s.ACCOUNT_ID, observed=True, sort=True)
    out = pd.DataFrame({"events": group.size()})
    for col in DISTINCT:
        out[f"{col}_distinct"] = group[col].nunique()
    for col in SHARES:
        out[f"{col}_share"] = group[col].mean()
    out["hour_utc_median"] = ev[s.TS].dt.hour.groupby(ev[s.ACCOUNT_ID], observed=True).median()
    out["lat_mean"], out["lon_mean"] = group[s.LAT].mean(), group[s.LON].mean()
    if accounts is not None:
        record = accounts.set_index(s.ACCOUNT_ID).reindex(out.index)
        out["age_days"] = (as_of - record[s.CREATED_AT]).dt.total_seconds() / SECONDS_PER_DAY
        out["claimed_country"] = record[s.CLAIMED_COUNTRY].astype("category").cat.codes
    out.index = out.index.astype(str)
    return out.add_prefix(PREFIX)


def raw_names(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.startswith(PREFIX)]


def fit_raw_lightgbm(train: pd.DataFrame, seed: int = 0) -> lgb.Booster:
    """LightGBM with its default parameters on the raw columns of `train`."""
    names = raw_names(train)
    params = {"objective": "binary", "seed": seed, "deterministic": True,
              "force_row_wise": True, "num_threads": 2, "verbose": -1}
    return lgb.train(params, lgb.Dataset(train[names].to_numpy(np.float64),
                                         train[s.LABEL].to_numpy()), num_boost_round=100)


def raw_scores(booster: lgb.Booster, test: pd.DataFrame) -> np.ndarray:
    return booster.predict(test[raw_names(test)].to_numpy(np.float64))
