"""The online scoring service: FastAPI under uvicorn.

Endpoints: PUT /v1/accounts/{id}, POST /v1/accounts/{id}/decision, POST /v1/events,
POST /v1/score, POST /v1/admin/reload, GET /healthz, /readyz, /metrics. Requests need a bearer
token; logs carry hashed ids only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from features import schema as s
from features.online import FeatureStore, OnlineFeatureState, warm_up
from serving.api_models import (
    AccountIn,
    AccountScore,
    DecisionIn,
    EventsIn,
    Reason,
    Rejected,
    ScoreIn,
    ScoresOut,
)
from serving.coalesce import Coalescer
from serving.decisions import record_decision
from serving.model_holder import ModelHolder

MAX_BODY_BYTES = 1_000_000
COALESCE_MAX_EVENTS = 2_000  # per batch of concurrent requests: bounds a batch's latency
log = logging.getLogger("persona_risk.serving")


def hashed(identifier: str) -> str:
    """A short stable hash of an id, the only form ids take in logs."""
    return hashlib.sha256(identifier.encode()).hexdigest()[:12]


@dataclass
class ServiceConfig:
    token: str | None  # None only with the explicit insecure loopback opt-out
    reload_every_s: float = 60.0
    decisions: Path = Path("decisions.sqlite")  # analysts' decisions, as `persona-risk review`


class Metrics:
    """Prometheus metrics of one app instance."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("persona_risk_requests", "Requests", ["endpoint", "status"],
                                registry=self.registry)
        self.latency = Histogram("persona_risk_request_seconds", "Request latency", ["endpoint"],
                                 registry=self.registry,
                                 buckets=(.001, .0025, .005, .01, .015, .025, .05, .1, .25, 1))
        self.scores = Counter("persona_risk_scores", "Scores returned", ["band"],
                              registry=self.registry)
        self.model = Gauge("persona_risk_model_info", "Serving model", ["version"],
                           registry=self.registry)


def score_accounts(store: FeatureStore, holder: ModelHolder, account_ids: list[str],
                   reasons: bool = True) -> dict[str, AccountScore]:
    """Fresh features and scores (with reasons unless asked not to) of accounts in the store,
    computed together; keyed by account id."""
    loaded = holder.current
    if loaded is None:
        raise HTTPException(503, "no model loaded")
    features = store.features_of(account_ids).features
    scored = loaded.model.score(features, reasons=reasons)
    out = {}
    for i, account_id in enumerate(scored[s.ACCOUNT_ID]):
        row = scored.iloc[i]
        why = [Reason(code=row[f"reason_{j}_code"],
                      value=None if pd.isna(row[f"reason_{j}_value"]) else
                      float(row[f"reason_{j}_value"]),
                      contribution=float(row[f"reason_{j}_shap"]),
                      text=row[f"reason_{j}"]) for j in (1, 2, 3)
               if row[f"reason_{j}_code"] is not None] if reasons else []
        out[account_id] = AccountScore(account_id=account_id, score=float(row["score"]),
                                       band=row["band"], reasons=why,
                                       model_version=loaded.version,
                                       as_of=features["as_of"].iloc[i].to_pydatetime())
    return out


def _events_frame(events) -> pd.DataFrame:
    return pd.DataFrame([e.model_dump() for e in events])


def _reply(touched: list[str], quarantine: pd.DataFrame, scores: dict[str, AccountScore],
           reasons: bool, metrics: Metrics) -> ScoresOut:
    """One request's answer: its accounts' scores (reasons only when asked) and its rejected
    rows; 422 when none of its events could be read."""
    rejected = [Rejected(row=int(r), reason=q) for r, q in
                zip(quarantine[s.ROW], quarantine[s.REASON], strict=True)]
    if not touched:
        raise HTTPException(422, [r.model_dump() for r in rejected])
    answer = [scores[a] if reasons else scores[a].model_copy(update={"reasons": []})
              for a in touched if a in scores]
    for score in answer:
        metrics.scores.labels(score.band).inc()
    return ScoresOut(scores=answer, rejected=rejected)


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

    app = FastAPI(title="persona-risk", version="1", lifespan=lifespan)
    expected = f"Bearer {config.token}".encode() if config.token else None

    @app.middleware("http")
    async def authorise_limit_measure(request: Request, call_next):
        # auth runs before routing and body validation: no information leaks to anonymous callers
        if expected is not None and request.url.path.startswith("/v1/"):
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return JSONResponse({"detail": "missing or wrong bearer token"}, 401,
                                    headers={"WWW-Authenticate": "Bearer"})
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return JSONResponse({"detail": f"body larger than {MAX_BODY_BYTES} bytes"}, 413)
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        endpoint = route.path if route is not None else "unmatched"
        metrics.latency.labels(endpoint).observe(time.perf_counter() - start)
        metrics.requests.labels(endpoint, str(response.status_code)).inc()
        return response

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "alive"}

    @app.get("/readyz")
    def readyz():
        ready = holder.current is not None and getattr(store, "writable", lambda: True)()
        body = {"model": holder.current.version if holder.current else None,
                "store_writable": ready, "last_model_error": holder.last_error}
        return JSONResponse(body, 200 if ready else 503)

    @app.get("/metrics")
    def prometheus() -> PlainTextResponse:
        metrics.model.clear()
        if holder.current is not None:
            metrics.model.labels(holder.current.version).set(1)
        return PlainTextResponse(generate_latest(metrics.registry).decode(),
                                 media_type="text/plain; version=0.0.4")

    @app.put("/v1/accounts/{account_id}")
    def put_account(account_id: str, account: AccountIn) -> dict:
        try:
            store.upsert_account({s.ACCOUNT_ID: account_id, **account.model_dump()})
        except ValueError as err:
            raise HTTPException(422, str(err)) from err
        log.info("account %s upserted", hashed(account_id))
        return {"account_id": account_id, "stored": True}

    @app.post("/v1/accounts/{account_id}/decision")
    def post_decision(account_id: str, body: DecisionIn) -> dict:
        try:
            row = record_decision(config.decisions, account_id, body.decision, body.analyst,
                                  body.note)
        except ValueError as err:
            raise HTTPException(422, str(err)) from err
        log.info("decision %s recorded for %s", body.decision, hashed(account_id))
        return row

    def store_and_score(requests: list[tuple[list[dict], bool]]) -> list:
        added = store.add_event_records([event for events, _ in requests for event in events],
                                        [len(events) for events, _ in requests])
        touched = sorted({a for accounts, _ in added for a in accounts})
        scores = score_accounts(store, holder, touched, any(r for _, r in requests)) \
            if touched else {}
        replies = []
        for (_, reasons), (accounts, quarantine) in zip(requests, added, strict=True):
            try:
                replies.append(_reply(accounts, quarantine, scores, reasons, metrics))
            except HTTPException as refusal:
                replies.append(refusal)
        return replies

    coalescer = Coalescer(store_and_score, weight=lambda request: len(request[0]),
                          max_weight=COALESCE_MAX_EVENTS)

    @app.post("/v1/events")
    async def post_events(body: EventsIn, reasons: bool = True) -> ScoresOut:
        events = [event.model_dump() for event in body.events]
        reply = await asyncio.wrap_future(coalescer.submit((events, reasons)))
        if isinstance(reply, HTTPException):
            raise reply
        log.info("events stored for %s", ",".join(hashed(a.account_id) for a in reply.scores))
        return reply

    @app.post("/v1/score")
    def post_score(body: ScoreIn, reasons: bool = True) -> ScoresOut:
        scratch = OnlineFeatureState(store.cfg)
        if body.account is not None:
            account_id = body.events[0].account_id
            try:
                scratch.upsert_account({s.ACCOUNT_ID: account_id, **body.account.model_dump()})
            except ValueError as err:
                raise HTTPException(422, str(err)) from err
        touched, quarantine = scratch.add_events(_events_frame(body.events))
        scores = score_accounts(scratch, holder, touched, reasons) if touched else {}
        return _reply(touched, quarantine, scores, reasons, metrics)

    @app.post("/v1/admin/reload")
    def reload() -> dict:
        swapped = holder.reload()
        return {"swapped": swapped, "model": holder.current.version if holder.current else None,
                "error": holder.last_error}

    return app
