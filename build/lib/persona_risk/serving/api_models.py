"""Request and response bodies of the online service (pydantic): the contract's columns in JSON
types, with the coordinate, number and size limits checked before anything touches the store
(finite numbers only: NaN and infinities are refused). Row-level checks (timestamps' range,
IPs, characters of ids) are `features.validate`'s."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from persona_risk.features import schema as s
from persona_risk.features.validate import MAX_ASN, MAX_ID_CHARS, MAX_TEXT_CHARS

MAX_EVENTS_PER_REQUEST = 1000


class EventIn(BaseModel):
    """One sign-in event; timestamps ISO-8601 (UTC when no offset is given)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    event_id: str | None = Field(None, max_length=MAX_ID_CHARS)
    account_id: str = Field(..., min_length=1, max_length=MAX_ID_CHARS)
    ts: datetime
    ip: str | None = Field(None, max_length=64)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    country: str | None = Field(None, min_length=2, max_length=2)
    device_id: str | None = Field(None, max_length=MAX_ID_CHARS)
    device_tz: str | None = Field(None, max_length=64)
    user_agent: str | None = Field(None, max_length=MAX_TEXT_CHARS)
    success: bool | None = None
    interactive: bool | None = None
    asn: int | None = Field(None, ge=0, le=MAX_ASN)
    anonymizer: bool | None = None


class AccountIn(BaseModel):
    """An account record; `account_id` comes from the path."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    created_at: datetime
    claimed_country: str | None = Field(None, min_length=2, max_length=2)
    claimed_timezone: str | None = Field(None, max_length=64)
    claimed_lat: float | None = Field(None, ge=-90, le=90)
    claimed_lon: float | None = Field(None, ge=-180, le=180)
    payout_id: str | None = Field(None, max_length=MAX_ID_CHARS)
    phone_id: str | None = Field(None, max_length=MAX_ID_CHARS)


class EventsIn(BaseModel):
    events: list[EventIn] = Field(..., min_length=1, max_length=MAX_EVENTS_PER_REQUEST)


class ScoreIn(BaseModel):
    account: AccountIn | None = None
    events: list[EventIn] = Field(..., min_length=1, max_length=MAX_EVENTS_PER_REQUEST)


class Reason(BaseModel):
    code: str
    value: float | None
    contribution: float
    text: str


class AccountScore(BaseModel):
    account_id: str
    score: float
    band: str
    reasons: list[Reason]
    model_version: str
    as_of: datetime


class Rejected(BaseModel):
    row: int
    reason: str


class ScoresOut(BaseModel):
    scores: list[AccountScore]
    rejected: list[Rejected] = []


def events_json(events: pd.DataFrame) -> list[dict]:
    """Canonical events as request bodies: ISO-8601 timestamps, absent values left out."""
    out = events.drop(columns=[s.GEO_SOURCE], errors="ignore").copy()
    out[s.TS] = out[s.TS].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if s.ASN in out:
        out[s.ASN] = out[s.ASN].astype(object)
    return [{k: v for k, v in row.items() if not (v is None or v is pd.NA or (
        isinstance(v, float) and np.isnan(v)))} for row in out.to_dict("records")]


def account_json(record: pd.Series) -> dict:
    """A canonical account record as a `PUT /v1/accounts/{id}` body."""
    fields = (s.CLAIMED_COUNTRY, s.CLAIMED_TIMEZONE, s.CLAIMED_LAT, s.CLAIMED_LON, s.PAYOUT_ID,
              s.PHONE_ID)
    body = {k: record[k] for k in fields if k in record and pd.notna(record[k])}
    return {**body, s.CREATED_AT: record[s.CREATED_AT].isoformat()}


class DecisionIn(BaseModel):
    """An analyst's decision on an account; `account_id` comes from the path."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["fraud", "legit"]
    analyst: str = Field(..., min_length=1, max_length=200)
    note: str = Field("", max_length=2000)
