"""The activity clock: local hours of an account's sign-ins and the model's night window."""

from __future__ import annotations

import numpy as np
import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.serving.investigation.case import Investigation
from persona_risk.serving.investigation.plots import clock, write_clock


def _investigation() -> Investigation:
    # 03:00 UTC in January: 22:00 in New York (claimed), 11:00 in Shanghai (the device)
    sign_ins = pd.DataFrame({s.TS: pd.to_datetime(["2026-01-15T03:00:00Z",
                                                   "2026-01-15T15:30:00Z"]),
                             s.DEVICE_TZ: ["Asia/Shanghai", None]})
    return Investigation("a", {}, {s.CLAIMED_TIMEZONE: "America/New_York"}, {}, sign_ins, [],
                         [], np.zeros(1), np.zeros(0), [])


def test_clock_hours_are_local_to_the_claimed_and_the_device_zone():
    claimed, device = clock(_investigation(), FeatureConfig()).hours.values()
    np.testing.assert_allclose(claimed, [22.0, 10.5])
    np.testing.assert_allclose(device, [11.0, np.nan])


def test_the_default_night_is_22_to_6():
    drawn = clock(_investigation(), FeatureConfig())
    assert np.flatnonzero(drawn.night).tolist() == [0, 1, 2, 3, 4, 5, 22, 23]
    assert drawn.labels == ("06:00-22:00", "night, 22:00-06:00")


def test_the_clock_shows_the_model_s_own_night_window(tmp_path):
    cfg = FeatureConfig(night_start_hour=20.0, night_end_hour=4.5)
    drawn = clock(_investigation(), cfg)
    assert np.flatnonzero(drawn.night).tolist() == [0, 1, 2, 3, 4, 20, 21, 22, 23]
    assert drawn.labels == ("04:30-20:00", "night, 20:00-04:30")
    write_clock(_investigation(), tmp_path / "clock.png", cfg)
    assert (tmp_path / "clock.png").stat().st_size > 0
