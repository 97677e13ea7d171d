"""Feature settings: the retention window is stored with a model when set, and hashed into its
contract; left unset, the settings (and so older models' contracts) are what they were."""

from __future__ import annotations

import numpy as np
import pandas as pd

from persona_risk.features.config import FeatureConfig
from persona_risk.features.point_in_time import AsOf
from persona_risk.features.reference import feature_contract


def test_a_retention_window_is_stored_and_hashed_only_when_set():
    assert "retention_days" not in FeatureConfig().settings()
    windowed = FeatureConfig(retention_days=30)
    assert FeatureConfig.from_settings(windowed.settings()) == windowed
    assert feature_contract(windowed) != feature_contract(FeatureConfig())


def test_events_exist_within_the_window_ending_at_as_of():
    at = AsOf.of("2026-02-10T00:00:00Z", retention_days=2)
    times = pd.to_datetime(["2026-02-07T23:59:59Z", "2026-02-08T00:00:00Z",
                            "2026-02-10T00:00:00Z", "2026-02-10T00:00:01Z"]).as_unit("ns").asi8
    assert at.happened(times).tolist() == [False, True, True, False]
    assert AsOf.of("2026-02-10T00:00:00Z").happened(times).tolist() == [True, True, True, False]
    frame = pd.DataFrame({"ts": pd.to_datetime(times, utc=True)})
    assert np.array_equal(at.events(frame).index, [1, 2])
