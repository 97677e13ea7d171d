"""Response bodies of the online service (pydantic): scores with their reasons, set-aside
events, decisions, health, reloads and the problems of a refused request. Field descriptions
come from the contract's column meanings (`features.schema`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from persona_risk.features import schema as s
from persona_risk.models.reasons import N_REASONS
from persona_risk.models.risk_model import BANDS

_ACCOUNT_ID = next(c.meaning for c in s.ACCOUNT_COLUMNS if c.name == s.ACCOUNT_ID)

REASON_EXAMPLE = {"code": "IMPOSSIBLE_HOPS", "value": 3.0, "contribution": 1.42,
                  "text": "3 sign-in hops faster than an airliner (900 km/h)"}
PROBLEM_EXAMPLE = {"loc": ["body", "events", 0, "lat"], "type": "less_than_equal",
                   "msg": "Input should be less than or equal to 90"}
REJECTED_EXAMPLE = {"row": 1, "reason": "ip: not an IPv4 or IPv6 address"}
SCORE_EXAMPLE = {"account_id": "acct-000042", "score": 0.93, "band": "high",
                 "reasons": [REASON_EXAMPLE], "model_version": "persona-risk/3",
                 "as_of": "2026-02-01T03:12:00Z"}


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
    """An account's fraud risk from its features as of the latest event stored (`as_of`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [SCORE_EXAMPLE]})

    account_id: str = Field(..., description=_ACCOUNT_ID, examples=["acct-000042"])
    score: float = Field(..., description="calibrated probability that the account is a "
                         "fraudulent persona, 0 to 1", examples=[0.93])
    band: str = Field(..., description=f"review band, one of {', '.join(BANDS)}: thresholds "
                      "chosen on validation for a target false-positive rate", examples=["high"])
    reasons: list[Reason] = Field(..., description=f"up to {N_REASONS} top reasons, largest "
                                  "first; empty when `reasons=false`", examples=[[REASON_EXAMPLE]])
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


class DecisionOut(BaseModel):
    """A recorded decision; a later one on the same account overrides it when labels are made."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"account_id": "acct-000042", "decision": "fraud", "analyst": "ana",
         "note": "laptop farm in Raleigh", "decided_at": "2026-02-02T09:30:00+00:00"}]})

    account_id: str = Field(..., description=_ACCOUNT_ID, examples=["acct-000042"])
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

    account_id: str = Field(..., description=_ACCOUNT_ID, examples=["acct-000042"])
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
