"""The serving stack's floor: FastAPI + uvicorn around nothing but the raw booster.

Parses the same request body as the service (`EventsIn`), then scores one fixed row with the
booster named by `PERSONA_RISK_FLOOR_BOOSTER` (and its TreeSHAP contributions when reasons are
asked for). No validation, store or features: what the web stack costs on its own here, the
ceiling any real endpoint on it stays under. Started by `bench.serving`.
"""

from __future__ import annotations

import os

import lightgbm as lgb
import numpy as np
from fastapi import FastAPI

from persona_risk.serving.api_requests import EventsIn

booster = lgb.Booster(model_file=os.environ["PERSONA_RISK_FLOOR_BOOSTER"])
row = np.zeros((1, booster.num_feature()))
app = FastAPI()


@app.post("/v1/events")
async def post_events(body: EventsIn, reasons: bool = True) -> dict:
    score = float(booster.predict(row)[0])
    top = np.argsort(-booster.predict(row, pred_contrib=True)[0, :-1])[:3] if reasons else []
    return {"scores": [{"account_id": body.events[0].account_id, "score": score,
                        "reasons": [int(i) for i in top]}]}
