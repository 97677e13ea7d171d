"""The online scoring service: FastAPI under uvicorn.

Endpoints: PUT /v1/accounts/{id}, POST /v1/accounts/{id}/decision, POST /v1/events,
POST /v1/score, POST /v1/admin/reload, GET /healthz, /readyz, /metrics. Requests need a bearer
token (`serving.guard`); logs carry keyed hashes of ids only (`serving.log_safety`). Each
request's events are validated on their own before they join a coalesced batch, so no request's
fault reaches another's reply. The OpenAPI document, Swagger UI (/docs) and ReDoc (/redoc)
describe every operation and field and work offline (`serving.docs`). This module is the app
factory and its routes; the scoring of a request is `serving.request_scoring`'s, the 422
replies `serving.refusals`', the metrics `serving.service_metrics`'.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path as FilePath
from typing import Annotated

import pandas as pd
from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import generate_latest

from persona_risk import __version__
from persona_risk.features import schema as s
from persona_risk.features.feature_store import FeatureStore
from persona_risk.features.memory_store import OnlineFeatureState
from persona_risk.features.validate import MAX_ID_CHARS
from persona_risk.features.warm_up import warm_up
from persona_risk.models.reasons import N_REASONS
from persona_risk.serving.api_requests import AccountIn, DecisionIn, EventsIn, ScoreIn
from persona_risk.serving.api_responses import (
    Alive,
    DecisionOut,
    Ready,
    Reloaded,
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
from persona_risk.serving.refusals import invalid_account, invalid_decision, problem
from persona_risk.serving.request_scoring import reply, score_accounts, store_and_score, validated
from persona_risk.serving.service_metrics import Metrics

MAX_BODY_BYTES = 1_000_000  # bytes read of a request body, chunked or not
COALESCE_MAX_EVENTS = 2_000  # per batch of concurrent requests: bounds a batch's latency
PROTECTED = "/v1/"  # paths that need the bearer token
# a path parameter that may hold "/" (sent as %2F), as an account id of the events may
ACCOUNT_PATH = Path(min_length=1, max_length=MAX_ID_CHARS, description="the account's id",
                    examples=["acct-000042"])
REASONS = Query(description=f"include each score's top {N_REASONS} reasons (slower)",
                examples=[True])
RETRY_AFTER_S = 1  # told to a caller whose batch ran past its time budget
log = logging.getLogger("persona_risk.serving")


@dataclass
class ServiceConfig:
    token: str | None  # None only with the explicit insecure loopback opt-out
    reload_every_s: float = 60.0
    log_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))  # of `hashed`
    decisions: FilePath = DECISIONS_FILE  # as `persona-risk review`
    batch_budget_s: float = 10.0  # seconds a request may wait for its coalesced batch


def create_app(store: FeatureStore, holder: ModelHolder, config: ServiceConfig) -> FastAPI:
    """The service over a feature store and a model holder."""
    metrics = Metrics(MAX_BODY_BYTES)
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if holder.current is None:
            holder.reload()
        warm_up()
        # what start-up loaded (libraries, the model) lives as long as the process: frozen out
        # of the collector, a full collection no longer walks it and stalls requests
        gc.collect()
        gc.freeze()
        holder.watch(config.reload_every_s, stop)
        yield
        stop.set()
        coalescer.close()
        gc.unfreeze()

    app = FastAPI(title="persona-risk", version=__version__, description=DESCRIPTION,
                  openapi_tags=TAGS, docs_url=None, redoc_url=None, lifespan=lifespan)
    app.add_middleware(Guard, token=config.token, max_body=MAX_BODY_BYTES, record=metrics.record,
                       protected=PROTECTED)
    add_docs(app, PROTECTED if config.token is not None else None, MAX_BODY_BYTES)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, err: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": [problem(e) for e in err.errors()]}, 422)

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

    @app.put("/v1/accounts/{account_id:path}", tags=["accounts"], summary="Store an account record",
             response_model=Stored, responses={422: INVALID})
    def put_account(account_id: Annotated[str, ACCOUNT_PATH], account: AccountIn) -> dict:
        """Create or replace the account's record (creation time, claimed country, time zone,
        home and the hashed payout and phone ids); later scores of the account use it."""
        try:
            stored = store.upsert_account({s.ACCOUNT_ID: account_id, **account.model_dump()})
        except ValueError as err:
            raise invalid_account(err, ["body"], ["path"]) from err
        account_id = stored[s.ACCOUNT_ID].iloc[0]  # as stored: surrounding blanks stripped
        log.info("account %s upserted", hashed(config.log_key, account_id))
        return {"account_id": account_id, "stored": True}

    @app.post("/v1/accounts/{account_id:path}/decision", tags=["accounts"],
              summary="Record an analyst's decision", response_model=DecisionOut,
              responses={422: INVALID})
    def post_decision(account_id: Annotated[str, ACCOUNT_PATH], body: DecisionIn) -> dict:
        """Append a fraud or legit decision on the account (who, why); the latest decision on an
        account becomes its label for the next training."""
        try:
            row = record_decision(config.decisions, account_id, body.decision, body.analyst,
                                  body.note)
        except ValueError as err:
            raise invalid_decision(err) from err
        log.info("decision %s recorded for %s", body.decision, hashed(config.log_key, account_id))
        return row

    coalescer = Coalescer(partial(store_and_score, store, holder, metrics),
                          weight=lambda request: len(request[0]),
                          max_weight=COALESCE_MAX_EVENTS, budget_s=config.batch_budget_s,
                          prepare=validated)

    @app.post("/v1/events", tags=["scoring"], summary="Store events and score their accounts",
              responses={422: INVALID, 503: {
                  **NO_MODEL, "description": "no model loaded yet, or the request's batch ran "
                  "past its time budget (`Retry-After`; its events may or may not be stored: "
                  "resending is safe)"}})
    async def post_events(body: EventsIn, reasons: Annotated[bool, REASONS] = True) -> ScoresOut:
        """Store sign-in events (a retried event, same `event_id` or content, is stored once)
        and return a fresh score of every account they touch, computed on its stored history.
        Unreadable events, and events whose `event_id` is stored for another account's event,
        are set aside under `rejected`; 422 when none is readable."""
        try:  # validated on the coalescer's thread; an unreadable one never reaches the store,
            # and a refusal (422, 503) is raised to its own request only
            answer = await asyncio.wrap_future(coalescer.submit((body.events, reasons)))
        except OverBudget as late:  # its events may or may not be stored: resending is safe
            raise HTTPException(503, str(late), {"Retry-After": str(RETRY_AFTER_S)}) from late
        log.info("events stored for %s",
                 ",".join(hashed(config.log_key, a.account_id) for a in answer.scores))
        return answer

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
                raise invalid_account(err, ["body", "account"], ["body", "events", 0]) from err
        events = pd.DataFrame([event.model_dump() for event in body.events])
        touched, quarantine = scratch.add_events(events)
        scores = score_accounts(scratch, holder, touched, reasons) if touched else {}
        return reply(touched, quarantine, scores, reasons, metrics)

    @app.post("/v1/admin/reload", tags=["operations"], summary="Reload the model",
              response_model=Reloaded)
    def reload() -> dict:
        """Load the model the service's URI names now (e.g. a new `@champion`); a model that
        fails to load or fails the feature-contract check is refused and the old one serves."""
        swapped = holder.reload()
        return {"swapped": swapped, "model": holder.current.version if holder.current else None,
                "error": holder.last_error}

    return app
