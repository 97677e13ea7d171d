"""The feature reference documents exactly what the family modules compute, each feature under
the family that computes it; the README carries it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from persona_risk.features import schema as s
from persona_risk.features.arrays import to_arrays
from persona_risk.features.config import FeatureConfig
from persona_risk.features.families import FAMILIES, LONGEST_FIRST, AccountInputs
from persona_risk.features.pipeline import (
    ACCOUNT_REUSE,
    EVENT_REUSE,
    Records,
    account_features,
)
from persona_risk.features.reference import FEATURE_NAMES, reference_markdown
from persona_risk.features.registry import REGISTRY
from persona_risk.features.travel import FASTEST_HOP_COLUMNS
from persona_risk.features.validate import validate_accounts

CFG = FeatureConfig()


@pytest.fixture(scope="module")
def arrays(small_world):
    _, accounts, events = small_world
    account_ids = accounts[s.ACCOUNT_ID].to_numpy(object)[:20]
    ev = to_arrays(events, account_ids)
    return ev, Records.of(validate_accounts(accounts), account_ids)


def zero_cross(ev):
    """Cross-account signals of the right names (their values do not matter here)."""
    return ({name: np.zeros(len(ev.ts_ns)) for name in EVENT_REUSE},
            {name: np.zeros(len(ev.account_ids)) for name in ACCOUNT_REUSE})


def documented(family: str) -> list[str]:
    return [f.name for f in REGISTRY if f.family == family]


def test_each_family_step_computes_exactly_its_documented_features(arrays):
    ev, rec = arrays
    inputs = AccountInputs(ev, rec, zero_cross, int(ev.ts_ns.max()), CFG)
    assert set(FAMILIES) == set(LONGEST_FIRST) == {f.family for f in REGISTRY}
    for family, step in FAMILIES.items():
        _, feats = step(inputs)
        assert sorted(n for n in feats if n not in FASTEST_HOP_COLUMNS) == sorted(
            documented(family)), family
        for values in feats.values():
            assert len(values) == len(ev.account_ids), family


def test_the_pipeline_computes_the_reference_and_nothing_else(arrays):
    """A feature computed but missing from the reference would be dropped from the feature
    table silently (the table takes the reference's names)."""
    ev, rec = arrays
    _, feats = account_features(ev, rec, zero_cross, int(ev.ts_ns.max()), CFG,
                                with_signals=False)
    assert sorted(n for n in feats if n not in FASTEST_HOP_COLUMNS) == sorted(FEATURE_NAMES)
    for name in FEATURE_NAMES:
        assert len(feats[name]) == len(ev.account_ids), name


def test_readme_carries_the_feature_reference():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert reference_markdown() in readme

