"""Account age at events and at as_of."""

from __future__ import annotations

import numpy as np
import pytest

from tests.features.helpers import event, run


def test_age_delay_and_rate():
    r = run([event("a", "2026-02-01T10:00:00Z"), event("a", "2026-02-01T12:00:00Z"),
             event("a", "2026-02-03T10:00:00Z")],
            [{"account_id": "a", "created_at": "2026-02-01T04:00:00Z"}],
            as_of="2026-02-11T04:00:00Z")
    f = r.features.iloc[0]
    assert f.account_age_days == pytest.approx(10.0)
    assert f.first_signin_delay_h == pytest.approx(6.0)
    assert f.events_per_active_day == pytest.approx(1.5)
    assert r.signals.account_age_days.iloc[0] == pytest.approx(0.25)


def test_without_accounts_age_is_missing():
    f = run([event("a", "2026-02-01T10:00:00Z")]).features.iloc[0]
    assert np.isnan(f.account_age_days) and np.isnan(f.first_signin_delay_h)


def test_a_first_sign_in_before_the_record_has_no_delay_to_measure():
    """A probe: a record back-filled after the first sign-in gave -485 h, and "first sign-in
    -485 h after the account was created" became a top reason."""
    f = run([event("a", "2026-02-01T10:00:00Z")],
            [{"account_id": "a", "created_at": "2026-02-03T00:00:00Z"}],
            as_of="2026-02-11T04:00:00Z").features.iloc[0]
    assert np.isnan(f.first_signin_delay_h) and f.account_age_days == pytest.approx(8.17, 0.01)
