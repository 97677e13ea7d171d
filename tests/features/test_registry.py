"""The registry is the one description of every feature, and what it says about a feature's
inputs is what the pipeline does."""

from __future__ import annotations

import math
import string

import numpy as np

from persona_risk.features import schema as s
from persona_risk.features.pipeline import compute_features
from persona_risk.features.reference import setting_words
from persona_risk.features.registry import CROSS, EVENTS, RECORD, REGISTRY
from persona_risk.models.reasons import sentence

FAMILIES = {"travel", "timezone", "reuse", "age"}
CONTEXT = {"fastest_hop_from_country": "US", "fastest_hop_to_country": "CN",
           "fastest_hop_hours": 1.2}


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_entries_are_complete_and_their_templates_fill():
    names = [f.name for f in REGISTRY]
    assert len(names) == len(set(names))
    known = {"v", *setting_words(), *CONTEXT}
    for f in REGISTRY:
        assert f.family in FAMILIES and f.unit and f.why and f.monotone in (0, 1), f.name
        assert f.needs and set(f.needs) <= {EVENTS, RECORD, CROSS}, f.name
        for template in filter(None, (f.meaning, f.sentence, f.fallback)):
            assert fields(template) <= known, (f.name, fields(template) - known)
        text = sentence(f.name, 3.0, CONTEXT)
        assert "3" in text and " = " not in text, (f.name, text)  # not the generic sentence


def test_needs_say_which_features_the_account_record_changes(small_world):
    """Without the accounts table, a feature that needs only the events keeps its value and
    every feature that needs the record changes."""
    _, accounts, events = small_world
    with_record = compute_features(events, accounts).features.set_index(s.ACCOUNT_ID)
    logs_only = compute_features(events, None).features.set_index(s.ACCOUNT_ID)
    logs_only = logs_only.reindex(with_record.index)
    for f in REGISTRY:
        if set(f.needs) <= {EVENTS}:
            np.testing.assert_allclose(logs_only[f.name], with_record[f.name], rtol=0,
                                       atol=1e-9, err_msg=f.name)
        else:
            assert RECORD in f.needs or CROSS in f.needs, f.name
        if RECORD in f.needs:
            assert not math.isclose(float(logs_only[f.name].fillna(-1).sum()),
                                    float(with_record[f.name].fillna(-1).sum())), f.name
