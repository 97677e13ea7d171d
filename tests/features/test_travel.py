"""Travel speed: hand-checked hops and the edge cases that make honest users look guilty."""

from __future__ import annotations

import numpy as np
import pytest

from persona_risk.features.travel import travel_speed_kmh
from tests.features.helpers import BOSTON, NEW_YORK, SHANGHAI, event, run


def test_new_york_to_shanghai_in_one_hour():
    r = run([event("a", "2026-02-01T10:00:00Z", NEW_YORK, ip="1.1.1.1"),
             event("a", "2026-02-01T11:00:00Z", SHANGHAI, ip="2.2.2.2")])
    speed = r.signals["hop_speed_kmh"].iloc[1]
    assert speed == pytest.approx(11_870, rel=0.01)
    f = r.features.iloc[0]
    assert f.impossible_hops == 1 and f.impossible_hop_share == 1.0
    assert f.speed_max_kmh == pytest.approx(speed)


def test_hop_names_the_country_it_came_from():
    r = run([event("a", "2026-02-01T10:00:00Z", NEW_YORK, ip="1.1.1.1", country="US"),
             event("a", "2026-02-01T11:00:00Z", SHANGHAI, ip="2.2.2.2", country="CN"),
             event("b", "2026-02-01T12:00:00Z", BOSTON, ip="3.3.3.3")])
    came_from = r.signals["hop_from_country"]
    assert came_from.iloc[1] == "US" and came_from.iloc[[0, 2]].isna().all()
    f = r.features.set_index("account_id")
    assert (f.loc["a", "fastest_hop_from_country"], f.loc["a", "fastest_hop_to_country"]) == (
        "US", "CN")


def test_same_ip_is_no_travel():
    r = run([event("a", "2026-02-01T10:00:00Z", NEW_YORK, ip="1.1.1.1"),
             event("a", "2026-02-01T10:05:00Z", BOSTON, ip="1.1.1.1")])
    assert r.signals["hop_speed_kmh"].iloc[1] == 0.0
    assert r.features.iloc[0].impossible_hops == 0


def test_hops_inside_the_geo_ip_floor_are_no_travel():
    near = (NEW_YORK[0] + 0.3, NEW_YORK[1])  # about 33 km
    r = run([event("a", "2026-02-01T10:00:00Z", NEW_YORK, ip="1.1.1.1"),
             event("a", "2026-02-01T10:01:00Z", near, ip="3.3.3.3")])
    assert r.signals["hop_km"].iloc[1] == 0.0


def test_anonymizer_failed_and_non_interactive_sign_ins_stay_out_of_speed():
    r = run([event("a", "2026-02-01T10:00:00Z", NEW_YORK, ip="1.1.1.1"),
             event("a", "2026-02-01T10:10:00Z", SHANGHAI, ip="9.9.9.9", anonymizer=True),
             event("a", "2026-02-01T10:20:00Z", SHANGHAI, ip="9.9.9.8", success=False),
             event("a", "2026-02-01T10:30:00Z", SHANGHAI, ip="9.9.9.7", interactive=False),
             event("a", "2026-02-01T10:40:00Z", NEW_YORK, ip="1.1.1.2"),
             event("a", "2026-02-01T10:50:00Z")])  # no location
    assert np.isnan(r.signals["hop_speed_kmh"].iloc[[1, 2, 3, 5]]).all()
    assert r.signals["hop_speed_kmh"].iloc[4] == 0.0
    f = r.features.iloc[0]
    assert f.impossible_hops == 0 and f.anonymizer_share == pytest.approx(1 / 5)  # interactive


def test_account_travel_aggregates():
    r = run([event("a", "2026-02-01T10:00:00Z", NEW_YORK, ip="1.1.1.1", country="US"),
             event("a", "2026-02-01T11:00:00Z", SHANGHAI, ip="2.2.2.2", country="CN"),
             event("a", "2026-02-03T11:00:00Z", SHANGHAI, ip="2.2.2.2", country="CN")],
            accounts=[{"account_id": "a", "created_at": "2026-01-01", "claimed_lat": NEW_YORK[0],
                       "claimed_lon": NEW_YORK[1]}])
    f = r.features.iloc[0]
    assert f.countries_distinct == 2 and f.high_risk_country_share == pytest.approx(2 / 3)
    assert f.home_distance_km == pytest.approx(11_870, rel=0.01)  # the median place is Shanghai


def test_token_refreshes_say_nothing_of_where_the_person_is():
    """A non-interactive sign-in comes from wherever the app or service runs (a cloud region,
    a relay): its country and anonymizer flag count for nothing."""
    r = run([event("a", "2026-02-01T10:00:00Z", NEW_YORK, ip="1.1.1.1", country="US"),
             event("a", "2026-02-01T11:00:00Z", SHANGHAI, ip="2.2.2.2", country="CN",
                   anonymizer=True, interactive=False)])
    f = r.features.iloc[0]
    assert f.countries_distinct == 1 and f.high_risk_country_share == 0.0
    assert f.anonymizer_share == 0.0


def test_no_location_gives_missing_travel_features_not_zero():
    f = run([event("a", "2026-02-01T10:00:00Z")]).features.iloc[0]
    assert np.isnan(f.speed_max_kmh) and np.isnan(f.home_distance_km)


def test_speed_floors_elapsed_time():
    assert travel_speed_kmh(np.array([10.0]), np.array([0.0]), 1 / 60)[0] == 600.0
