"""Reason sentences a person understands."""

from __future__ import annotations

import math

import pytest

from persona_risk.features.config import FeatureConfig
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.models.reasons import (
    IMPOSSIBLE_WHY,
    SENTENCES,
    SPEEDS,
    WHY,
    reason_code,
    sentence,
    why,
)


def test_every_feature_has_a_sentence():
    assert set(SENTENCES) == set(FEATURE_NAMES)


def test_impossible_travel_sentence_uses_the_fastest_hop():
    text = sentence("speed_max_kmh", 9800.4, {"fastest_hop_from_country": "US",
                                              "fastest_hop_to_country": "CN",
                                              "fastest_hop_hours": 1.2})
    assert text == "sign-in from CN 1.2 h after US: 9,800 km/h"
    assert sentence("speed_max_kmh", 9800.4) == "fastest hop between sign-ins: 9,800 km/h"


def test_a_missing_value_has_no_sentence():
    with pytest.raises(ValueError, match="night_share"):
        sentence("night_share", math.nan)
    assert reason_code("night_share") == "NIGHT_SHARE"


def test_every_feature_says_why_and_speed_says_impossible_only_past_the_setting():
    assert set(WHY) == set(FEATURE_NAMES)
    assert why("speed_max_kmh", 9_800.0) == IMPOSSIBLE_WHY.format(impossible_kmh="900") == (
        "faster than 900 km/h: one person cannot make that trip")
    assert why("speed_max_kmh", 300.0) == WHY["speed_max_kmh"]
    assert why("speed_max_kmh", 9_800.0, FeatureConfig(impossible_kmh=12_000)) == WHY[
        "speed_max_kmh"]
    assert why("not_a_feature") == ""


def test_a_value_on_the_other_side_of_the_typical_one_never_gets_the_opposite_reason():
    """A probe: "1 distinct devices" came with "more devices than one worker needs can mean
    several people"."""
    assert why("devices_distinct", 1.0, typical=2.0).startswith(
        "lower than most accounts here (median 2)")
    assert why("devices_distinct", 6.0, typical=2.0) == WHY["devices_distinct"]
    assert why("devices_distinct", 2.0, typical=2.0) == WHY["devices_distinct"]
    assert why("account_age_days", 400.0, typical=90.0).startswith("higher than most")
    assert why("account_age_days", 5.0, typical=90.0) == WHY["account_age_days"]
    assert why("events_total", 3.0, typical=300.0) == WHY["events_total"]  # either side
    assert why("devices_distinct", 1.0, typical=math.nan) == WHY["devices_distinct"]


def test_the_speeds_that_can_be_impossible_are_the_registry_s_km_h_features():
    assert SPEEDS == {"speed_max_kmh", "speed_p95_kmh"}
    assert why("speed_p95_kmh", 9_800.0) == IMPOSSIBLE_WHY.format(impossible_kmh="900")
    assert why("home_distance_km", 9_800.0) == WHY["home_distance_km"]  # km, not km/h


def test_sentences_follow_the_feature_settings():
    cfg = FeatureConfig(impossible_kmh=1_200, high_risk_countries=("KP", "IR"),
                        night_start_hour=21.5, night_end_hour=5, speed_quantile=0.9)
    assert sentence("impossible_hops", 3.0) == "3 sign-in hops faster than 900 km/h"
    assert sentence("impossible_hops", 3.0, cfg=cfg) == "3 sign-in hops faster than 1,200 km/h"
    assert sentence("high_risk_country_share", 0.5, cfg=cfg) == (
        "50% of sign-ins from high-risk countries (KP, IR)")
    assert sentence("night_share", 0.25, cfg=cfg) == (
        "25% of activity between 21:30 and 05:00 in the claimed time zone")
    assert "90th percentile" in sentence("speed_p95_kmh", 2_000.0, cfg=cfg)


def test_a_count_of_one_is_singular():
    assert sentence("devices_distinct", 1.0) == "1 distinct device"
    assert sentence("devices_distinct", 3.0) == "3 distinct devices"
    assert sentence("countries_distinct", 1.0) == "sign-ins from 1 country"
    assert sentence("countries_distinct", 2.0) == "sign-ins from 2 countries"
    assert sentence("payout_accounts", 4.0) == "payout account shared by 4 accounts"
