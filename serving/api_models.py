"""Request and response bodies of the online service (pydantic): the contract's columns in JSON
types, with the coordinate, number and size limits checked before anything touches the store
(finite numbers only: NaN and infinities are refused). Row-level checks (timestamps' range,
IPs, characters of ids) are `features.validate`'s. Field descriptions come from the contract's
column meanings (`features.schema`), so the OpenAPI document and the contract say one thing."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from persona_risk.features import schema as s
from persona_risk.features.validate import MAX_ASN, MAX_ID_CHARS, MAX_TEXT_CHARS
from persona_risk.models.risk_model import BANDS

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
REASON_EXAMPLE = {"code": "IMPOSSIBLE_HOPS", "value": 3.0, "contribution": 1.42,
                  "text": "3 sign-in hops faster than an airliner (900 km/h)"}
PROBLEM_EXAMPLE = {"loc": ["body", "events", 0, "lat"], "type": "less_than_equal",
                   "msg": "Input should be less than or equal to 90"}
REJECTED_EXAMPLE = {"row": 1, "reason": "ip: not an IPv4 or IPv6 address"}
SCORE_EXAMPLE = {"account_id": "acct-000042", "score": 0.93, "band": "high",
                 "reasons": [REASON_EXAMPLE], "model_version": "persona-risk/3",
                 "as_of": "2026-02-01T03:12:00Z"}


class EventIn(BaseModel):
    """One sign-in event; only `account_id` and `ts` are required."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False,
                              json_schema_extra={"examples": [EVENT_EXAMPLE]})

    event_id: str | None = Field(
        None, max_length=MAX_ID_CHARS, examples=["evt-000123"],
        description=f"{_EVENT[s.EVENT_ID]}; when absent, a hash of the event's content")
    account_id: str = Field(..., min_length=1, max_length=MAX_ID_CHARS,
                            description=_EVENT[s.ACCOUNT_ID], examples=["acct-000042"])
    ts: datetime = Field(..., description=f"{_EVENT[s.TS]} ({_TS})",
                         examples=["2026-02-01T03:12:00Z"])
    ip: str | None = Field(None, max_length=64, description=_EVENT[s.IP],
                           examples=["203.0.113.9"])
    lat: float | None = Field(None, ge=-90, le=90, examples=[31.23],
                              description=f"{_EVENT[s.LAT]}; comes with `lon`")
    lon: float | None = Field(None, ge=-180, le=180, examples=[121.47],
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
    success: bool | None = Field(None, description=_EVENT[s.SUCCESS], examples=[True])
    interactive: bool | None = Field(None, description=_EVENT[s.INTERACTIVE], examples=[True])
    asn: int | None = Field(None, ge=0, le=MAX_ASN, description=_EVENT[s.ASN], examples=[4134])
    anonymizer: bool | None = Field(None, examples=[False],
                                    description=f"{_EVENT[s.ANONYMIZER]} (default false)")


class AccountIn(BaseModel):
    """An account record; `account_id` comes from the path (or the first event in a score)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False,
                              json_schema_extra={"examples": [ACCOUNT_EXAMPLE]})

    created_at: datetime = Field(..., description=f"{_ACCOUNT[s.CREATED_AT]} ({_TS})",
                                 examples=["2026-01-30T00:00:00Z"])
    claimed_country: str | None = Field(
        None, min_length=2, max_length=2, examples=["US"],
        description=f"{_ACCOUNT[s.CLAIMED_COUNTRY]} (ISO 3166-1 alpha-2)")
    claimed_timezone: str | None = Field(None, max_length=64, examples=["America/New_York"],
                                         description=f"{_ACCOUNT[s.CLAIMED_TIMEZONE]} (IANA name)")
    claimed_lat: float | None = Field(None, ge=-90, le=90, examples=[35.78],
                                      description=f"{_ACCOUNT[s.CLAIMED_LAT]}; with `claimed_lon`")
    claimed_lon: float | None = Field(None, ge=-180, le=180, examples=[-78.64],
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


class Reason(BaseModel):
    """One of an account's top reasons: a feature that raised its score."""

    model_config = ConfigDict(json_schema_extra={"examples": [REASON_EXAMPLE]})

    code: str = Field(..., description="stable reason code (the feature's name, upper case)",
                      examples=["IMPOSSIBLE_HOPS"])
    value: float | None = Field(..., description="the feature's value for the account",
                                examples=[3.0])
    contribution: float = Field(..., description="its SHAP contribution to the score, log-odds",
                                examples=[1.42])
    text: str = Field(..., description="the reason as a sentence for an analyst",
                      examples=[REASON_EXAMPLE["text"]])


class AccountScore(BaseModel):
    """An account's fraud risk from its features as of its latest event."""

    model_config = ConfigDict(json_schema_extra={"examples": [SCORE_EXAMPLE]})

    account_id: str = Field(..., description=_ACCOUNT[s.ACCOUNT_ID], examples=["acct-000042"])
    score: float = Field(..., description="calibrated probability that the account is a "
                         "fraudulent persona, 0 to 1", examples=[0.93])
    band: str = Field(..., description=f"review band, one of {', '.join(BANDS)}: thresholds "
                      "chosen on validation for a target false-positive rate", examples=["high"])
    reasons: list[Reason] = Field(..., description="up to 3 top reasons, largest first; empty "
                                  "when `reasons=false`", examples=[[REASON_EXAMPLE]])
    model_version: str = Field(..., description="registered model name/version that scored it",
                               examples=["persona-risk/3"])
    as_of: datetime = Field(..., description="time the features were computed at, UTC",
                            examples=["2026-02-01T03:12:00Z"])


class Rejected(BaseModel):
    """An event of the request that was set aside."""

    model_config = ConfigDict(json_schema_extra={"examples": [REJECTED_EXAMPLE]})

    row: int = Field(..., description="its position in the request's `events`, from 0",
                     examples=[1])
    reason: str = Field(..., description="the field and why: `field: problem`",
                        examples=[REJECTED_EXAMPLE["reason"]])


class ScoresOut(BaseModel):
    """The scores of the accounts a request touched, and its set-aside events."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"scores": [SCORE_EXAMPLE], "rejected": [REJECTED_EXAMPLE]}]})

    scores: list[AccountScore] = Field(..., description="one per account the readable events "
                                       "touched", examples=[[SCORE_EXAMPLE]])
    rejected: list[Rejected] = Field([], description="events set aside, with their reasons",
                                     examples=[[REJECTED_EXAMPLE]])


class DecisionIn(BaseModel):
    """An analyst's decision on an account; `account_id` comes from the path."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"decision": "fraud", "analyst": "ana", "note": "laptop farm in Raleigh"}]})

    decision: Literal["fraud", "legit"] = Field(..., examples=["fraud"],
                                                description="fraud (label 1) or legit (label 0)")
    analyst: str = Field(..., min_length=1, max_length=200, examples=["ana"],
                         description="who decided")
    note: str = Field("", max_length=2000, examples=["laptop farm in Raleigh"],
                      description="why, for the investigation page")


class DecisionOut(BaseModel):
    """A recorded decision; a later one on the same account overrides it when labels are made."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"account_id": "acct-000042", "decision": "fraud", "analyst": "ana",
         "note": "laptop farm in Raleigh", "decided_at": "2026-02-02T09:30:00+00:00"}]})

    account_id: str = Field(..., description=_ACCOUNT[s.ACCOUNT_ID], examples=["acct-000042"])
    decision: Literal["fraud", "legit"] = Field(..., description="fraud or legit",
                                                examples=["fraud"])
    analyst: str = Field(..., description="who decided (trimmed)", examples=["ana"])
    note: str = Field(..., description="why", examples=["laptop farm in Raleigh"])
    decided_at: str = Field(..., description="when it was recorded, ISO-8601 in UTC",
                            examples=["2026-02-02T09:30:00+00:00"])


class Stored(BaseModel):
    """An account record stored (created or replaced)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"account_id": "acct-000042", "stored": True}]})

    account_id: str = Field(..., description=_ACCOUNT[s.ACCOUNT_ID], examples=["acct-000042"])
    stored: bool = Field(..., description="always true: the record is in the store",
                         examples=[True])


class Alive(BaseModel):
    """The process answers."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "alive"}]})

    status: Literal["alive"] = Field(..., description="always `alive`", examples=["alive"])


class Ready(BaseModel):
    """Whether the service can score: a model is loaded and the store accepts writes."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"model": "persona-risk/3", "store_writable": True, "last_model_error": None}]})

    model: str | None = Field(..., description="the serving model's name/version; null before "
                              "one loaded", examples=["persona-risk/3"])
    store_writable: bool = Field(..., description="true when ready: a model is loaded and the "
                                 "feature store accepts writes", examples=[True])
    last_model_error: str | None = Field(..., description="why the last model load was refused, "
                                         "if it was", examples=[None])


class Reloaded(BaseModel):
    """The outcome of a reload: the model the URI names now, or the old one kept."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"swapped": True, "model": "persona-risk/4", "error": None}]})

    swapped: bool = Field(..., description="true when a different version was swapped in",
                          examples=[True])
    model: str | None = Field(..., description="the model serving now, name/version",
                              examples=["persona-risk/4"])
    error: str | None = Field(..., description="why the new model was refused (the old one "
                              "keeps serving)", examples=[None])


class Problem(BaseModel):
    """What is wrong with one part of a request."""

    model_config = ConfigDict(json_schema_extra={"examples": [PROBLEM_EXAMPLE]})

    loc: list[str | int] = Field(..., description="where: `body`, `path` or `query`, then the "
                                 "field's path", examples=[PROBLEM_EXAMPLE["loc"]])
    msg: str = Field(..., description="why, without the value sent",
                     examples=[PROBLEM_EXAMPLE["msg"]])
    type: str = Field(..., description="kind of problem", examples=[PROBLEM_EXAMPLE["type"]])


class Invalid(BaseModel):
    """422: the request could not be used; nothing was stored."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"detail": [PROBLEM_EXAMPLE]}]})

    detail: list[Problem] = Field(..., description="every problem found",
                                  examples=[[PROBLEM_EXAMPLE]])


class Refusal(BaseModel):
    """A refusal or failure, in one sentence (never the request's data)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"detail": "missing or wrong bearer token"}]})

    detail: str = Field(..., description="what happened", examples=["no model loaded"])


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
