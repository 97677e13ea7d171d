"""Reason sentences a person understands."""

from __future__ import annotations

import math

import pytest

from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.models.reasons import IMPOSSIBLE_WHY, SENTENCES, WHY, reason_code, sentence, why


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


def test_every_feature_says_why_and_speed_says_impossible_only_past_an_airliner():
    assert set(WHY) == set(FEATURE_NAMES)
    assert why("speed_max_kmh", 9_800.0) == IMPOSSIBLE_WHY
    assert why("speed_max_kmh", 300.0) == WHY["speed_max_kmh"] != IMPOSSIBLE_WHY
    assert why("not_a_feature") == ""
