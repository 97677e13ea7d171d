"""Small hand-made event tables for feature tests."""

from __future__ import annotations

import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.pipeline import FeatureResult, compute_features
from persona_risk.features.validate import validate_accounts, validate_events

NOW = pd.Timestamp("2026-12-31", tz="UTC")
NEW_YORK, BOSTON, SHANGHAI = (40.7128, -74.0060), (42.3601, -71.0589), (31.2304, 121.4737)


def event(account: str, ts: str, where=None, **extra) -> dict:
    lat, lon = where if where else (None, None)
    return {s.ACCOUNT_ID: account, s.TS: ts, s.LAT: lat, s.LON: lon, **extra}


def run(events: list[dict], accounts: list[dict] | None = None, as_of=None) -> FeatureResult:
    clean, quarantine = validate_events(pd.DataFrame(events), now=NOW)
    assert quarantine.empty, quarantine
    acc = validate_accounts(pd.DataFrame(accounts)) if accounts else None
    return compute_features(clean, acc, as_of)
