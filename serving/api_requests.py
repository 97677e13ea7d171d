"""Request bodies of the online service (pydantic): the contract's columns in JSON types, with
the coordinate, number and size limits checked before anything touches the store (finite
numbers only: NaN and infinities are refused). Numbers and booleans must be JSON numbers and
booleans (`true` is not a latitude, `"no"` not a boolean), and a field the contract does not
name is refused (a misspelled `deviceTz` would otherwise be lost without a word). Row-level
checks (timestamps' range, IPs, characters of ids) are `features.validate`'s. Field
descriptions come from the contract's column meanings (`features.schema`), so the OpenAPI
document and the contract say one thing.
`events_json` and `account_json` turn canonical tables into these bodies (for clients)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from persona_risk.features import schema as s
from persona_risk.features.validate import MAX_ASN, MAX_ID_CHARS, MAX_TEXT_CHARS
from persona_risk.serving.decisions import MAX_NOTE

MAX_EVENTS_PER_REQUEST = 1000
_EVENT = {c.name: c.meaning for c in s.EVENT_COLUMNS}
_ACCOUNT = {c.name: c.meaning for c in s.ACCOUNT_COLUMNS}
_TS = "ISO-8601; UTC when no offset is given"

EVENT_EXAMPLE = {"event_id": "evt-000123", "account_id": "acct-000042",
                 "ts": "2026-02-01T03:12:00Z", "ip": "203.0.113.9", "lat": 31.23, "lon": 121.47,
                 "country": "CN", "device_id": "dev-7f3a", "device_tz": "Asia/Shanghai",
                 "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "success": True,
                 "interactive": True, "asn": 4134, "anonymizer": False}
ACCOUNT_EXAMPLE = {"created_at": "2026-01-30T00:00:00Z", "claimed_country": "US",
                   "claimed_timezone": "America/New_York", "claimed_lat": 35.78,
                   "claimed_lon": -78.64, "payout_id": "pay-9c1e", "phone_id": "ph-51d0"}


def _not_a_number(value):
    """A timestamp as sent, unless it is an epoch number (or its digits as text), which is
    refused rather than read in some unit, as the batch validator refuses it."""
    if (isinstance(value, int | float) and not isinstance(value, bool)) or _is_number(value):
        raise ValueError("a number, not an ISO-8601 timestamp")
    return value


def _is_number(value) -> bool:
    """True for text that reads as a number ('1700000000', '1.7e9')."""
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


Timestamp = Annotated[datetime, BeforeValidator(_not_a_number)]


class EventIn(BaseModel):
    """One sign-in event; only `account_id` and `ts` are required."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False,
                              json_schema_extra={"examples": [EVENT_EXAMPLE]})

    event_id: str | None = Field(
        None, max_length=MAX_ID_CHARS, examples=["evt-000123"],
        description=f"{_EVENT[s.EVENT_ID]}; when absent, a hash of the event's content")
    account_id: str = Field(..., min_length=1, max_length=MAX_ID_CHARS,
                            description=_EVENT[s.ACCOUNT_ID], examples=["acct-000042"])
    ts: Timestamp = Field(..., description=f"{_EVENT[s.TS]} ({_TS})",
                         examples=["2026-02-01T03:12:00Z"])
    ip: str | None = Field(None, max_length=64, description=_EVENT[s.IP],
                           examples=["203.0.113.9"])
    lat: float | None = Field(None, strict=True, ge=-90, le=90, examples=[31.23],
                              description=f"{_EVENT[s.LAT]}; comes with `lon`")
    lon: float | None = Field(None, strict=True, ge=-180, le=180, examples=[121.47],
                              description=f"{_EVENT[s.LON]}; comes with `lat`")
    country: str | None = Field(None, min_length=2, max_length=2, examples=["CN"],
                                description=f"{_EVENT[s.COUNTRY]} (ISO 3166-1 alpha-2)")
    device_id: str | None = Field(None, max_length=MAX_ID_CHARS, description=_EVENT[s.DEVICE_ID],
                                  examples=["dev-7f3a"])
    device_tz: str | None = Field(None, max_length=64, examples=["Asia/Shanghai"],
                                  description=f"{_EVENT[s.DEVICE_TZ]} (IANA name)")
    user_agent: str | None = Field(None, max_length=MAX_TEXT_CHARS,
                                   description=_EVENT[s.USER_AGENT],
                                   examples=["Mozilla/5.0 (Windows NT 10.0; Win64; x64)"])
    success: bool | None = Field(None, strict=True, description=_EVENT[s.SUCCESS],
                                 examples=[True])
    interactive: bool | None = Field(None, strict=True, description=_EVENT[s.INTERACTIVE],
                                     examples=[True])
    asn: int | None = Field(None, strict=True, ge=0, le=MAX_ASN, description=_EVENT[s.ASN],
                            examples=[4134])
    anonymizer: bool | None = Field(None, strict=True, examples=[False],
                                    description=f"{_EVENT[s.ANONYMIZER]} (default false)")


class AccountIn(BaseModel):
    """An account record; `account_id` comes from the path (or the first event in a score)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False,
                              json_schema_extra={"examples": [ACCOUNT_EXAMPLE]})

    created_at: Timestamp = Field(..., description=f"{_ACCOUNT[s.CREATED_AT]} ({_TS})",
                                 examples=["2026-01-30T00:00:00Z"])
    claimed_country: str | None = Field(
        None, min_length=2, max_length=2, examples=["US"],
        description=f"{_ACCOUNT[s.CLAIMED_COUNTRY]} (ISO 3166-1 alpha-2)")
    claimed_timezone: str | None = Field(None, max_length=64, examples=["America/New_York"],
                                         description=f"{_ACCOUNT[s.CLAIMED_TIMEZONE]} (IANA name)")
    claimed_lat: float | None = Field(None, strict=True, ge=-90, le=90, examples=[35.78],
                                      description=f"{_ACCOUNT[s.CLAIMED_LAT]}; with `claimed_lon`")
    claimed_lon: float | None = Field(None, strict=True, ge=-180, le=180, examples=[-78.64],
                                      description=f"{_ACCOUNT[s.CLAIMED_LON]}; with `claimed_lat`")
    payout_id: str | None = Field(None, max_length=MAX_ID_CHARS, examples=["pay-9c1e"],
                                  description=_ACCOUNT[s.PAYOUT_ID])
    phone_id: str | None = Field(None, max_length=MAX_ID_CHARS, examples=["ph-51d0"],
                                 description=_ACCOUNT[s.PHONE_ID])


_EVENTS_DOC = (f"sign-in events, 1 to {MAX_EVENTS_PER_REQUEST}; each is validated on its own and "
               "unreadable ones come back under `rejected`")


class EventsIn(BaseModel):
    """Events to store; the accounts they touch are scored on the stored history."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"events": [EVENT_EXAMPLE]}]})

    events: list[EventIn] = Field(..., min_length=1, max_length=MAX_EVENTS_PER_REQUEST,
                                  description=_EVENTS_DOC, examples=[[EVENT_EXAMPLE]])


class ScoreIn(BaseModel):
    """A stateless score: one account's record and events, scored without storing anything."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"account": ACCOUNT_EXAMPLE, "events": [EVENT_EXAMPLE]}]})

    account: AccountIn | None = Field(
        None, description="the record of the first event's account; without it the account is "
        "scored as one with no profile", examples=[ACCOUNT_EXAMPLE])
    events: list[EventIn] = Field(..., min_length=1, max_length=MAX_EVENTS_PER_REQUEST,
                                  description=_EVENTS_DOC, examples=[[EVENT_EXAMPLE]])


class DecisionIn(BaseModel):
    """An analyst's decision on an account; `account_id` comes from the path."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"decision": "fraud", "analyst": "ana", "note": "laptop farm in Raleigh"}]})

    decision: Literal["fraud", "legit"] = Field(..., examples=["fraud"],
                                                description="fraud (label 1) or legit (label 0)")
    analyst: str = Field(..., min_length=1, max_length=MAX_ID_CHARS, examples=["ana"],
                         description="who decided")
    note: str = Field("", max_length=MAX_NOTE, examples=["laptop farm in Raleigh"],
                      description="why, for the investigation page")


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
