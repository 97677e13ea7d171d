"""The online scoring service: FastAPI under uvicorn.

Endpoints: PUT /v1/accounts/{id}, POST /v1/accounts/{id}/decision, POST /v1/events,
POST /v1/score, POST /v1/admin/reload, GET /healthz, /readyz, /metrics. Requests need a bearer
token (`serving.guard`); logs carry keyed hashes of ids only (`serving.log_safety`). Each
request's events are validated on their own before they join a coalesced batch, so no request's
fault reaches another's reply.
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
from fastapi import FastAPI, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.concurrency import run_in_threadpool

from persona_risk.features import schema as s
from persona_risk.features.online import FeatureStore, OnlineFeatureState, warm_up
from persona_risk.features.validate import MAX_ID_CHARS, validate_events
from persona_risk.serving.api_models import (
    AccountIn,
    AccountScore,
    DecisionIn,
    EventsIn,
    Reason,
    Rejected,
    ScoreIn,
    ScoresOut,
)
from persona_risk.serving.coalesce import Coalescer
from persona_risk.serving.decisions import record_decision
from persona_risk.serving.guard import Guard
from persona_risk.serving.log_safety import hashed
from persona_risk.serving.model_holder import ModelHolder

MAX_BODY_BYTES = 1_000_000  # bytes read of a request body, chunked or not
COALESCE_MAX_EVENTS = 2_000  # per batch of concurrent requests: bounds a batch's latency
log = logging.getLogger("persona_risk.serving")


@dataclass
class ServiceConfig:
    token: str | None  # None only with the explicit insecure loopback opt-out
    reload_every_s: float = 60.0
    log_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))  # of `hashed`
    decisions: FilePath = FilePath("decisions.sqlite")  # as `persona-risk review`


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
        self.scores = Counter("persona_risk_scores", "Scores returned", ["band"],
                              registry=self.registry)
        self.model = Gauge("persona_risk_model_info", "Serving model", ["version"],
                           registry=self.registry)

    def record(self, endpoint: str, status: int, seconds: float, body_bytes: int) -> None:
        """Count one response (any status, 500 included), its latency and the body bytes read
        for it."""
        self.latency.labels(endpoint).observe(seconds)
        self.requests.labels(endpoint, str(status)).inc()
        self.body_bytes.labels(endpoint).observe(body_bytes)


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
    features = store.features_of(account_ids, cfg=loaded.model.feature_config()).features
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
    if not touched:
        raise _unreadable(quarantine)
    answer = [scores[a] if reasons else scores[a].model_copy(update={"reasons": []})
              for a in touched if a in scores]
    for score in answer:
        metrics.scores.labels(score.band).inc()
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

    app = FastAPI(title="persona-risk", version="1", lifespan=lifespan)
    app.add_middleware(Guard, token=config.token, max_body=MAX_BODY_BYTES, record=metrics.record)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, err: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": [_problem(e) for e in err.errors()]}, 422)

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
    def put_account(account_id: Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS)],
                    account: AccountIn) -> dict:
        try:
            store.upsert_account({s.ACCOUNT_ID: account_id, **account.model_dump()})
        except ValueError as err:
            raise _invalid_account(err, []) from err
        log.info("account %s upserted", hashed(config.log_key, account_id))
        return {"account_id": account_id, "stored": True}

    @app.post("/v1/accounts/{account_id}/decision")
    def post_decision(account_id: Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS)],
                      body: DecisionIn) -> dict:
        try:
            row = record_decision(config.decisions, account_id, body.decision, body.analyst,
                                  body.note)
        except ValueError as err:
            raise HTTPException(422, str(err)) from err
        log.info("decision %s recorded for %s", body.decision, hashed(config.log_key, account_id))
        return row

    def store_and_score(requests: list[tuple[pd.DataFrame, pd.DataFrame, bool]]) -> list:
        """Store and score validated requests together; each gets its own reply."""
        added = store.add_event_batches(
            pd.concat([clean for clean, _, _ in requests], ignore_index=True),
            [len(clean) for clean, _, _ in requests])
        touched = sorted({a for accounts, _ in added for a in accounts})
        scores = score_accounts(store, holder, touched, any(r for _, _, r in requests)) \
            if touched else {}
        replies = []
        for (_, quarantine, reasons), (accounts, _) in zip(requests, added, strict=True):
            try:
                replies.append(_reply(accounts, quarantine, scores, reasons, metrics))
            except HTTPException as refusal:
                replies.append(refusal)
        return replies

    coalescer = Coalescer(store_and_score, weight=lambda request: len(request[0]),
                          max_weight=COALESCE_MAX_EVENTS)

    @app.post("/v1/events")
    async def post_events(body: EventsIn, reasons: bool = True) -> ScoresOut:
        clean, quarantine = await run_in_threadpool(validate_events, _events_frame(body.events))
        if clean.empty:  # nothing readable: refused before it reaches a batch or the store
            raise _unreadable(quarantine)
        reply = await asyncio.wrap_future(coalescer.submit((clean, quarantine, reasons)))
        if isinstance(reply, HTTPException):
            raise reply
        log.info("events stored for %s",
                 ",".join(hashed(config.log_key, a.account_id) for a in reply.scores))
        return reply

    @app.post("/v1/score")
    def post_score(body: ScoreIn, reasons: bool = True) -> ScoresOut:
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

    @app.post("/v1/admin/reload")
    def reload() -> dict:
        swapped = holder.reload()
        return {"swapped": swapped, "model": holder.current.version if holder.current else None,
                "error": holder.last_error}

    return app
