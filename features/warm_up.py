"""Warming a service up: the compiled kernels load on first use (about a second), so a service
featurises two made-up events at start rather than on its first request."""

from __future__ import annotations

import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.pipeline import compute_features
from persona_risk.features.validate import validate_events


def warm_up() -> None:
    """Validate and featurise two made-up events now."""
    events = pd.DataFrame({
        s.EVENT_ID: ["warm-1", "warm-2"], s.ACCOUNT_ID: ["warm", "warm"],
        s.TS: ["2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"], s.IP: ["192.0.2.1", "192.0.2.2"],
        s.LAT: [40.7, 31.2], s.LON: [-74.0, 121.5], s.DEVICE_ID: ["d", "d"],
        s.DEVICE_TZ: ["America/New_York", "Asia/Shanghai"]})
    clean, _ = validate_events(events, now=pd.Timestamp("2026-01-02", tz="UTC"))
    compute_features(clean)
