"""The feature families as steps of the pipeline: what each family module needs of an account's
inputs, and what it gives back.

A step takes the `AccountInputs` and returns (event signals by name, account features by name).
`FAMILIES` lists the steps in the order their signals appear; `features.pipeline` runs them and
then every registry feature that carries its own `compute`. A new feature of a family is its
family module's output and its registry entry; a new family is its module, its entries and one
step here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.age import account_age, event_age
from persona_risk.features.arrays import EventArrays, timestamps_ns
from persona_risk.features.config import FeatureConfig
from persona_risk.features.reuse import account_reuse
from persona_risk.features.timezones import account_timezones, event_timezones
from persona_risk.features.travel import account_travel, event_travel, fastest_hop

Signals = dict[str, np.ndarray]
# per event the `features.pipeline.EVENT_REUSE` counts, per account the `ACCOUNT_REUSE` ones
CrossSignals = Callable[[EventArrays], tuple[Signals, Signals]]


@dataclass
class Records:
    """Account records aligned with the accounts of an `EventArrays`: creation (ns since the
    epoch, UTC; NaN when unknown), claimed zone (None when unknown) and claimed home (degrees,
    NaN when unknown)."""

    created_ns: np.ndarray
    claimed_tz: np.ndarray
    claimed_lat: np.ndarray
    claimed_lon: np.ndarray

    @classmethod
    def of(cls, accounts: pd.DataFrame, account_ids: np.ndarray) -> Records:
        """The records of `account_ids` from a canonical accounts table (missing: unknown)."""
        record = accounts.set_index(s.ACCOUNT_ID).reindex(account_ids)
        created_ns = timestamps_ns(record[s.CREATED_AT]).astype(float)
        created_ns[record[s.CREATED_AT].isna().to_numpy()] = np.nan
        return cls(created_ns, record[s.CLAIMED_TIMEZONE].to_numpy(object),
                   record[s.CLAIMED_LAT].to_numpy(float), record[s.CLAIMED_LON].to_numpy(float))


@dataclass(frozen=True)
class AccountInputs:
    """What the features of some accounts are computed from: their events and records as of
    `as_of_ns` (ns since the epoch, UTC; already applied), how to find the cross-account
    signals, and the thresholds."""

    ev: EventArrays
    records: Records
    cross: CrossSignals
    as_of_ns: int
    cfg: FeatureConfig


Step = Callable[[AccountInputs], tuple[Signals, Signals]]


def travel(x: AccountInputs) -> tuple[Signals, Signals]:
    sig = event_travel(x.ev, x.cfg)
    return sig, {**account_travel(x.ev, sig, x.records.claimed_lat, x.records.claimed_lon, x.cfg),
                 **fastest_hop(x.ev, sig)}


def timezones(x: AccountInputs) -> tuple[Signals, Signals]:
    sig = event_timezones(x.ev, x.records.claimed_tz)
    return sig, account_timezones(x.ev, sig, x.cfg)


def reuse(x: AccountInputs) -> tuple[Signals, Signals]:
    sig, shared = x.cross(x.ev)
    return sig, {**account_reuse(x.ev, sig), **shared}


def age(x: AccountInputs) -> tuple[Signals, Signals]:
    return (event_age(x.ev, x.records.created_ns),
            account_age(x.ev, x.records.created_ns, x.as_of_ns))


# registry family -> its step, in the order of the signals table
FAMILIES: dict[str, Step] = {"travel": travel, "timezone": timezones, "reuse": reuse, "age": age}
# the order the steps start in on threads, longest first, so that two threads end close together
LONGEST_FIRST = ("reuse", "timezone", "travel", "age")
