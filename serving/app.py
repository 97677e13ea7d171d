"""The online scoring service: FastAPI under uvicorn.

Endpoints: PUT /v1/accounts/{id}, POST /v1/accounts/{id}/decision, POST /v1/events,
POST /v1/score, POST /v1/admin/reload, GET /healthz, /readyz, /metrics. Requests need a bearer
token (`serving.guard`); logs carry keyed hashes of ids only (`serving.log_safety`). Each
request's events are validated on their own before they join a coalesced batch, so no request's
fault reaches another's reply. The OpenAPI document, Swagger UI (/docs) and ReDoc (/redoc)
describe every operation and field and work offline (`serving.docs`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Annotated

import pandas as pd
from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from persona_risk import __version__
from persona_risk.features import schema as s
from persona_risk.features.feature_store import FeatureStore
from persona_risk.features.online import OnlineFeatureState
from persona_risk.features.stored_rows import clean_records
from persona_risk.features.validate import MAX_ID_CHARS
from persona_risk.features.warm_up import warm_up
from persona_risk.serving.api_models import (
    AccountIn,
    AccountScore,
    Alive,
    DecisionIn,
    DecisionOut,
    EventsIn,
    Ready,
    Rejected,
    Reloaded,
    ScoreIn,
    ScoresOut,
    Stored,
)
from persona_risk.serving.coalesce import Coalescer, OverBudget
from persona_risk.serving.decisions import DECISIONS_FILE, record_decision
from persona_risk.serving.docs import (
    DESCRIPTION,
    INVALID,
    METRICS_EXAMPLE,
    NO_MODEL,
    TAGS,
    add_docs,
)
from persona_risk.serving.guard import Guard
from persona_risk.serving.log_safety import hashed
from persona_risk.serving.model_holder import ModelHolder

MAX_BODY_BYTES = 1_000_000  # bytes read of a request body, chunked or not
COALESCE_MAX_EVENTS = 2_000  # per batch of concurrent requests: bounds a batch's latency
PROTECTED = "/v1/"  # paths that need the bearer token
# scores are calibrated probabilities and fraud is rare: fine buckets near 0
SCORE_BUCKETS = (.001, .0025, .005, .01, .025, .05, .1, .25, .5, .75, .9, .95, .99, 1)
ACCOUNT_PATH = Path(min_length=1, max_length=MAX_ID_CHARS, description="the account's id",
                    examples=["acct-000042"])
REASONS = Query(description="include each score's top 3 reasons (slower)", examples=[True])
RETRY_AFTER_S = 1  # told to a caller whose batch ran past its time budget
log = logging.getLogger("persona_risk.serving")


@dataclass
class ServiceConfig:
    token: str | None  # None only with the explicit insecure loopback opt-out
    reload_every_s: float = 60.0
    log_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))  # of `hashed`
    decisions: FilePath = DECISIONS_FILE  # as `persona-risk review`
    batch_budget_s: float = 10.0  # seconds a request may wait for its coalesced batch


class Metrics:
    """Prometheus metrics of one app instance."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("persona_risk_requests", "Requests", ["endpoint", "status"],
                                registry=self.registry)
        self.latency = Histogram("persona_risk_request_seconds", "Request latency", ["endpoint"],
                                 registry=self.registry,
                                 buckets=(.001, .0025, .005, .01, .015, .025, .05, .1, .25, 1))
        self.body_bytes = Histogram("persona_risk_request_body_bytes", "Body bytes read",
                                    ["endpoint"], registry=self.registry,
                                    buckets=(1e3, 1e4, 1e5, MAX_BODY_BYTES, 2**21))
        self.scores = Counter("persona_risk_scores", "Scores returned, by band",
                              ["model_version", "band"], registry=self.registry)
        self.score = Histogram("persona_risk_score", "Scores returned (calibrated probability)",
                               ["model_version"], registry=self.registry, buckets=SCORE_BUCKETS)
        self.model = Gauge("persona_risk_model_info", "Serving model", ["version"],
                           registry=self.registry)

    def record(self, endpoint: str, status: int, seconds: float, body_bytes: int) -> None:
        """Count one response (any status, 500 included), its latency and the body bytes read
        for it."""
        self.latency.labels(endpoint).observe(seconds)
        self.requests.labels(endpoint, str(status)).inc()
        self.body_bytes.labels(endpoint).observe(body_bytes)

    def scored(self, score: AccountScore) -> None:
        """Count one score returned: its band and its value, by model version."""
        self.scores.labels(score.model_version, score.band).inc()
        self.score.labels(score.model_version).observe(score.score)


def _safe_text(value) -> str:
    return str(value).encode("utf-8", "backslashreplace").decode()


def _problem(error: dict) -> dict:
    """A request validation error as its place and reason, without the input value (which
    may be an id, an IP, or not serialisable at all: NaN, a lone surrogate)."""
    return {"loc": [p if isinstance(p, int) else _safe_text(p) for p in error["loc"]],
            "msg": _safe_text(error["msg"]), "type": error["type"]}


def _rejections(quarantine: pd.DataFrame) -> list[Rejected]:
    return [Rejected(row=int(r), reason=q) for r, q in
            zip(quarantine[s.ROW], quarantine[s.REASON], strict=True)]


def _invalid_account(err: ValueError, body: list[str]) -> HTTPException:
    """The 422 of an account record that fails validation, shaped as a request validation
    error naming the field (the id is the path's in PUT, the first event's in a score; the
    other fields are under `body`)."""
    column = getattr(err, "column", "account")
    place = ["path", column] if column == s.ACCOUNT_ID and not body else [*body, column]
    return HTTPException(422, [{"loc": place, "msg": str(err), "type": "value_error"}])


def _invalid_decision(err: ValueError) -> HTTPException:
    """The 422 of a decision `record_decision` refused, naming the field (its message's
    `field: reason`)."""
    field_name = str(err).split(":")[0]
    place = ["path", field_name] if field_name == s.ACCOUNT_ID else ["body", field_name]
    return HTTPException(422, [{"loc": place, "msg": str(err), "type": "value_error"}])


def _unreadable(quarantine: pd.DataFrame) -> HTTPException:
    """The 422 of a request none of whose events could be read: each rejected row in the
    shape of a request validation error (its place, the field and the reason)."""
    return HTTPException(422, [
        {"loc": ["body", "events", r.row, r.reason.split(":")[0]], "msg": r.reason,
         "type": "rejected_row"} for r in _rejections(quarantine)])


def score_accounts(store: FeatureStore, holder: ModelHolder, account_ids: list[str],
                   reasons: bool = True) -> dict[str, AccountScore]:
    """Fresh features (with the model's thresholds and the store's allow-list) and scores
    (with reasons unless asked not to) of accounts in the store, computed together; keyed by
    account id."""
    loaded = holder.current
    if loaded is None:
        raise HTTPException(503, "no model loaded")
    return loaded.score_accounts(store, account_ids, reasons)


def _events_frame(events) -> pd.DataFrame:
    return pd.DataFrame([e.model_dump() for e in events])


def _reply(touched: list[str], quarantine: pd.DataFrame, scores: dict[str, AccountScore],
           reasons: bool, metrics: Metrics) -> ScoresOut:
    """One request's answer: its accounts' scores (reasons only when asked) and its rejected
    rows; 422 when none of its events could be read."""
    if not touched:
        raise _unreadable(quarantine)
    answer = [scores[a] if reasons else scores[a].model_copy(update={"reasons": []})
              for a in touched if a in scores]
    for score in answer:
        metrics.scored(score)
    return ScoresOut(scores=answer, rejected=_rejections(quarantine))


def create_app(store: FeatureStore, holder: ModelHolder, config: ServiceConfig) -> FastAPI:
    """The service over a feature store and a model holder."""
    metrics = Metrics()
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if holder.current is None:
            holder.reload()
        warm_up()
        holder.watch(config.reload_every_s, stop)
        yield
        stop.set()
        coalescer.close()

    app = FastAPI(title="persona-risk", version=__version__, description=DESCRIPTION,
                  openapi_tags=TAGS, docs_url=None, redoc_url=None, lifespan=lifespan)
    app.add_middleware(Guard, token=config.token, max_body=MAX_BODY_BYTES, record=metrics.record,
                       protected=PROTECTED)
    add_docs(app, PROTECTED if config.token is not None else None, MAX_BODY_BYTES)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, err: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": [_problem(e) for e in err.errors()]}, 422)

    @app.get("/healthz", tags=["operations"], summary="Liveness", response_model=Alive)
    def healthz() -> dict:
        """The process answers; says nothing of the model or the store (see `/readyz`)."""
        return {"status": "alive"}

    @app.get("/readyz", tags=["operations"], summary="Readiness", response_model=Ready,
             responses={503: {"model": Ready, "description": "not ready: no model loaded or "
                              "the store refuses writes"}})
    def readyz():
        """Ready when a model is loaded and the feature store accepts writes (200), else 503
        with the last model error."""
        ready = holder.current is not None and getattr(store, "writable", lambda: True)()
        body = {"model": holder.current.version if holder.current else None,
                "store_writable": ready, "last_model_error": holder.last_error}
        return JSONResponse(body, 200 if ready else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics",
             response_class=PlainTextResponse,
             responses={200: {"description": "the Prometheus text format", "content": {
                 "text/plain": {"example": METRICS_EXAMPLE}}}})
    def prometheus() -> PlainTextResponse:
        """Requests by endpoint and status, latency (seconds) and body bytes by endpoint;
        scores returned as a histogram (calibrated probability) and a count by band, both by
        model version; the serving model's version."""
        metrics.model.clear()
        if holder.current is not None:
            metrics.model.labels(holder.current.version).set(1)
        return PlainTextResponse(generate_latest(metrics.registry).decode(),
                                 media_type="text/plain; version=0.0.4")

    @app.put("/v1/accounts/{account_id}", tags=["accounts"], summary="Store an account record",
             response_model=Stored, responses={422: INVALID})
    def put_account(account_id: Annotated[str, ACCOUNT_PATH], account: AccountIn) -> dict:
        """Create or replace the account's record (creation time, claimed country, time zone,
        home and the hashed payout and phone ids); later scores of the account use it."""
        try:
            store.upsert_account({s.ACCOUNT_ID: account_id, **account.model_dump()})
        except ValueError as err:
            raise _invalid_account(err, []) from err
        log.info("account %s upserted", hashed(config.log_key, account_id))
        return {"account_id": account_id, "stored": True}

    @app.post("/v1/accounts/{account_id}/decision", tags=["accounts"],
              summary="Record an analyst's decision", response_model=DecisionOut,
              responses={422: INVALID})
    def post_decision(account_id: Annotated[str, ACCOUNT_PATH], body: DecisionIn) -> dict:
        """Append a fraud or legit decision on the account (who, why); the latest decision on an
        account becomes its label for the next training."""
        try:
            row = record_decision(config.decisions, account_id, body.decision, body.analyst,
                                  body.note)
        except ValueError as err:
            raise _invalid_decision(err) from err
        log.info("decision %s recorded for %s", body.decision, hashed(config.log_key, account_id))
        return row

    def store_and_score(requests: list[tuple[list[list], pd.DataFrame, bool]]) -> list:
        """Store and score validated requests together; each gets its own reply."""
        added = store.add_rows([row for rows, _, _ in requests for row in rows],
                               [len(rows) for rows, _, _ in requests])
        touched = sorted({a for accounts in added for a in accounts})
        scores = score_accounts(store, holder, touched, any(r for _, _, r in requests)) \
            if touched else {}
        replies = []
        for (_, quarantine, reasons), accounts in zip(requests, added, strict=True):
            try:
                replies.append(_reply(accounts, quarantine, scores, reasons, metrics))
            except HTTPException as refusal:
                replies.append(refusal)
        return replies

    def prepare(request: tuple[list, bool]) -> tuple[list[list], pd.DataFrame, bool]:
        events, reasons = request
        return *clean_records([event.model_dump() for event in events]), reasons

    coalescer = Coalescer(store_and_score, weight=lambda request: len(request[0]),
                          max_weight=COALESCE_MAX_EVENTS, budget_s=config.batch_budget_s,
                          prepare=prepare)

    @app.post("/v1/events", tags=["scoring"], summary="Store events and score their accounts",
              responses={422: INVALID, 503: {
                  **NO_MODEL, "description": "no model loaded yet, or the request's batch ran "
                  "past its time budget (`Retry-After`; its events may or may not be stored: "
                  "resending is safe)"}})
    async def post_events(body: EventsIn, reasons: Annotated[bool, REASONS] = True) -> ScoresOut:
        """Store sign-in events (a retried event, same `event_id` or content, is stored once)
        and return a fresh score of every account they touch, computed on its stored history.
        Unreadable events are set aside under `rejected`; 422 when none is readable."""
        try:  # validated on the coalescer's thread; an unreadable one never reaches the store
            reply = await asyncio.wrap_future(coalescer.submit((body.events, reasons)))
        except OverBudget as late:  # its events may or may not be stored: resending is safe
            raise HTTPException(503, str(late), {"Retry-After": str(RETRY_AFTER_S)}) from late
        if isinstance(reply, HTTPException):
            raise reply
        log.info("events stored for %s",
                 ",".join(hashed(config.log_key, a.account_id) for a in reply.scores))
        return reply

    @app.post("/v1/score", tags=["scoring"], summary="Score without storing",
              responses={422: INVALID, 503: NO_MODEL})
    def post_score(body: ScoreIn, reasons: Annotated[bool, REASONS] = True) -> ScoresOut:
        """Score the accounts of the given events (and the optional record of the first
        event's account) on those events alone; nothing is stored."""
        scratch = OnlineFeatureState(store.cfg)
        if body.account is not None:
            account_id = body.events[0].account_id
            try:
                scratch.upsert_account({s.ACCOUNT_ID: account_id, **body.account.model_dump()})
            except ValueError as err:
                raise _invalid_account(err, ["body", "account"]) from err
        touched, quarantine = scratch.add_events(_events_frame(body.events))
        scores = score_accounts(scratch, holder, touched, reasons) if touched else {}
        return _reply(touched, quarantine, scores, reasons, metrics)

    @app.post("/v1/admin/reload", tags=["operations"], summary="Reload the model",
              response_model=Reloaded)
    def reload() -> dict:
        """Load the model the service's URI names now (e.g. a new `@champion`); a model that
        fails to load or fails the feature-contract check is refused and the old one serves."""
        swapped = holder.reload()
        return {"swapped": swapped, "model": holder.current.version if holder.current else None,
                "error": holder.last_error}

    return app
