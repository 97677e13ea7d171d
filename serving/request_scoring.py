"""Scoring what a request touched: fresh features of its accounts from the store and their
scores with reasons, and the reply of each request of a coalesced batch."""

from __future__ import annotations

import pandas as pd
from fastapi import HTTPException

from persona_risk.features.feature_store import FeatureStore, with_repeats
from persona_risk.features.stored_rows import clean_records
from persona_risk.features.validate import clean_rows
from persona_risk.serving.api_requests import EventIn
from persona_risk.serving.api_responses import AccountScore, ScoresOut
from persona_risk.serving.coalesce import Failed
from persona_risk.serving.model_holder import ModelHolder
from persona_risk.serving.refusals import rejections, unreadable
from persona_risk.serving.service_metrics import Metrics

# one request of a coalesced batch: its clean event rows, its quarantine, whether it asks reasons
ValidatedRequest = tuple[list[list], pd.DataFrame, bool]


def validated(request: tuple[list[EventIn], bool]) -> ValidatedRequest:
    """A request's events (and whether it asks reasons) checked as the batch validator would,
    on the coalescer's worker thread: the rows it keeps and those it sets aside."""
    events, reasons = request
    return *clean_records([event.model_dump() for event in events]), reasons


def score_accounts(store: FeatureStore, holder: ModelHolder, account_ids: list[str],
                   reasons: bool = True) -> dict[str, AccountScore]:
    """Fresh features (with the model's thresholds and the store's allow-list) and scores
    (with reasons unless asked not to) of accounts in the store, computed together; keyed by
    account id."""
    loaded = holder.current
    if loaded is None:
        raise HTTPException(503, "no model loaded")
    return loaded.score_accounts(store, account_ids, reasons)


def reply(touched: list[str], quarantine: pd.DataFrame, scores: dict[str, AccountScore],
          reasons: bool, metrics: Metrics) -> ScoresOut:
    """One request's answer: its accounts' scores (reasons only when asked) and its rejected
    rows; 422 when none of its events could be read."""
    if not touched:
        raise unreadable(quarantine)
    answer = [scores[a] if reasons else scores[a].model_copy(update={"reasons": []})
              for a in touched if a in scores]
    for score in answer:
        metrics.scored(score)
    return ScoresOut(scores=answer, rejected=rejections(quarantine))


def store_and_score(store: FeatureStore, holder: ModelHolder, metrics: Metrics,
                    requests: list[ValidatedRequest]) -> list[ScoresOut | Failed]:
    """Store and score validated requests together; each gets its own reply (a refusal comes
    back `Failed`, so that the coalescer raises it to its own request only)."""
    added = store.add_rows([row for rows, _, _ in requests for row in rows],
                           [len(rows) for rows, _, _ in requests])
    touched = sorted({a for accounts, _ in added for a in accounts})
    scores = score_accounts(store, holder, touched, any(r for _, _, r in requests)) \
        if touched else {}
    replies = []
    for (rows, quarantine, reasons), (accounts, refused) in zip(requests, added, strict=True):
        kept = clean_rows(len(rows) + len(quarantine), quarantine)  # input row of each row
        quarantine = with_repeats(quarantine, kept[refused])
        try:
            replies.append(reply(accounts, quarantine, scores, reasons, metrics))
        except HTTPException as refusal:
            replies.append(Failed(refusal))
    return replies
