"""Time-zone mismatch uses the real UTC offsets at the event's instant."""

from __future__ import annotations

import numpy as np
import pytest

from persona_risk.features.config import FeatureConfig
from persona_risk.features.timezones import circular_hour_stats, is_night
from tests.features.helpers import NEW_YORK, SHANGHAI, event, run

CLAIMS_NEW_YORK = [{"account_id": "a", "created_at": "2025-01-01",
                    "claimed_timezone": "America/New_York"}]


@pytest.mark.parametrize(("ts", "hours"), [("2026-01-15T03:00:00Z", 13.0),
                                           ("2026-07-15T03:00:00Z", 12.0)])
def test_shanghai_device_claiming_new_york(ts, hours):
    r = run([event("a", ts, NEW_YORK, device_tz="Asia/Shanghai")], CLAIMS_NEW_YORK)
    sig = r.signals.iloc[0]
    assert sig.device_claimed_tz_diff_h == hours
    assert sig.device_ip_tz_diff_h == hours  # the IP is in New York
    assert sig.ip_claimed_tz_diff_h == 0.0
    assert r.features.iloc[0].device_claimed_tz_mismatch_share == 1.0


def test_local_hour_and_night_share_in_claimed_zone():
    # 03:00 UTC in January is 22:00 in New York; 15:00 UTC is 10:00
    r = run([event("a", "2026-01-15T03:00:00Z", NEW_YORK, device_tz="America/New_York"),
             event("a", "2026-01-15T15:00:00Z", NEW_YORK, device_tz="America/New_York")],
            CLAIMS_NEW_YORK)
    assert r.signals.claimed_local_hour.tolist() == [22.0, 10.0]
    f = r.features.iloc[0]
    assert f.night_share == 0.5 and f.device_claimed_tz_mismatch_share == 0.0


def test_token_refreshes_say_nothing_of_when_or_where_the_person_works():
    """A non-interactive sign-in at 22:00 New York time from a Shanghai cloud region: no local
    hour, no IP zone; its device zone still counts (the device is the person's)."""
    r = run([event("a", "2026-01-15T15:00:00Z", NEW_YORK, device_tz="America/New_York"),
             event("a", "2026-01-16T03:00:00Z", SHANGHAI, device_tz="America/Chicago",
                   interactive=False)], CLAIMS_NEW_YORK)
    sig = r.signals.iloc[1]
    assert np.isnan(sig.claimed_local_hour) and np.isnan(sig.location_local_hour)
    assert np.isnan(sig.ip_claimed_tz_diff_h) and np.isnan(sig.device_ip_tz_diff_h)
    assert sig.device_claimed_tz_diff_h == 1.0
    f = r.features.iloc[0]
    assert f.night_share == 0.0 and f.location_night_share == 0.0
    assert f.ip_claimed_tz_diff_mean_h == 0.0 and f.device_claimed_tz_mismatch_share == 0.5


def test_night_share_at_the_sign_in_location_needs_no_claimed_zone():
    # 03:00 UTC in January is 22:00 in New York and 11:00 in Shanghai; 15:00 UTC is 10:00 in
    # New York; an event with no location has no local hour
    r = run([event("a", "2026-01-15T03:00:00Z", NEW_YORK),
             event("a", "2026-01-15T15:00:00Z", NEW_YORK),
             event("b", "2026-01-15T03:00:00Z", SHANGHAI),
             event("b", "2026-01-16T03:00:00Z")])
    assert r.signals.location_local_hour.iloc[:3].tolist() == [22.0, 10.0, 11.0]
    f = r.features.set_index("account_id")
    assert f.location_night_share.tolist() == [0.5, 0.0]
    assert np.isnan(f.night_share).all()


def test_circular_mean_wraps_midnight():
    mean, spread = circular_hour_stats(np.array([23.0, 1.0]), np.array([0, 2]))
    assert mean[0] == pytest.approx(0.0, abs=1e-9) or mean[0] == pytest.approx(24.0)
    assert 0.9 < spread[0] < 1.1


def test_unknown_zones_give_missing_not_zero():
    r = run([event("a", "2026-01-15T03:00:00Z", NEW_YORK)])
    f = r.features.iloc[0]
    assert np.isnan(f.night_share) and np.isnan(f.device_claimed_tz_mismatch_share)


def test_night_window_past_midnight_or_within_one_day():
    hours = np.array([23.5, 2.0, 5.9, 6.0, 12.0, np.nan])
    assert is_night(hours, FeatureConfig()).tolist() == [True, True, True, False, False, False]
    early = FeatureConfig(night_start_hour=0, night_end_hour=6)
    assert is_night(hours, early).tolist() == [False, True, True, False, False, False]
