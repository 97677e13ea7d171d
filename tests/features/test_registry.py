"""The registry is the one description of every feature, and what it says about a feature's
inputs is what the pipeline does."""

from __future__ import annotations

import json
import math
import os
import string
import subprocess
import sys
from pathlib import Path

import numpy as np

from persona_risk.features import schema as s
from persona_risk.features.pipeline import compute_features
from persona_risk.features.reference import (
    FEATURE_NAMES,
    feature_contract,
    reference_markdown,
    setting_words,
)
from persona_risk.features.registry import CROSS, EVENTS, RECORD, REGISTRY
from persona_risk.models.reasons import plural_words, sentence

FAMILIES = {"travel", "timezone", "reuse", "age"}
CONTEXT = {"fastest_hop_from_country": "US", "fastest_hop_to_country": "CN",
           "fastest_hop_hours": 1.2}


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_entries_are_complete_and_their_templates_fill():
    names = [f.name for f in REGISTRY]
    assert len(names) == len(set(names))
    known = {"v", *setting_words(), *CONTEXT, *plural_words(3.0)}
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


# Run in its own interpreter, so that the registered feature never reaches the other tests.
REGISTERED_FEATURE = '''
import json

import numpy as np
import pandas as pd

from persona_risk.features.geo import NS_PER_HOUR
from persona_risk.features.registry import EVENTS, Feature, register
from persona_risk.features.segments import seg_max


def idle_hours(x):
    return (x.as_of_ns - seg_max(x.ev.ts_ns.astype(float), x.ev.starts)) / NS_PER_HOUR


def idle(**changes):
    fields = dict(name="idle_hours", family="fixture", unit="hours",
                  meaning="hours from the last sign-in to as_of",
                  sentence="last sign-in {v:.0f} h before the cut", why="a quiet account",
                  needs=(EVENTS,), monotone=1, compute=idle_hours)
    return Feature(**{**fields, **changes})


refusals = []
for wrong in (idle(compute=None), idle(name="events_total")):
    try:
        register(wrong)
    except ValueError as e:
        refusals.append(str(e))
register(idle())

from persona_risk.features import schema as s
from persona_risk.features.pipeline import compute_features
from persona_risk.features.reference import FEATURE_NAMES, feature_contract, reference_markdown
from persona_risk.features.validate import validate_accounts, validate_events
from persona_risk.training.fit import MONOTONE_INCREASING, TrainConfig, train_risk_model
from persona_risk.training.simulator.simulate import SimConfig, simulate

world = simulate(SimConfig(accounts=300, days=30, fraud_rate=0.1, seed=7))
events, _ = validate_events(world.events)
features = compute_features(events, validate_accounts(world.accounts),
                            with_signals=False).features
last = events.groupby(s.ACCOUNT_ID)[s.TS].max().reindex(features[s.ACCOUNT_ID])
expected = ((features[s.AS_OF].iloc[0] - last) / pd.Timedelta(hours=1)).to_numpy(float)
x = features[FEATURE_NAMES].to_numpy(float)
y = (features["idle_hours"] > features["idle_hours"].quantile(0.8)).to_numpy(int)
model = train_risk_model(x, y, x, y, TrainConfig())
scores = model.score(features)
top = scores.sort_values("score", ascending=False).iloc[0]
try:
    register(idle(name="too_late"))
    refused = ""
except RuntimeError as e:
    refused = str(e)
print(json.dumps({
    "names": FEATURE_NAMES, "monotone": list(MONOTONE_INCREASING),
    "computed": bool(np.allclose(features["idle_hours"], expected, rtol=0, atol=1e-9,
                                     equal_nan=True)),
    "model_features": model.feature_names, "code": top["reason_1_code"],
    "reason": top["reason_1"], "value": float(top["reason_1_value"]),
    "reference": reference_markdown(), "contract": feature_contract(), "refused": refused,
    "refusals": refusals}))
'''


def test_a_feature_registered_alone_reaches_the_model_its_reasons_and_the_reference():
    root = Path(__file__).parents[2]
    run = subprocess.run([sys.executable, "-c", REGISTERED_FEATURE], capture_output=True,
                         text=True, cwd=root, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(root)})
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout.splitlines()[-1])
    assert got["names"] == [*FEATURE_NAMES, "idle_hours"]
    assert got["computed"] and "idle_hours" in got["monotone"]
    assert got["model_features"] == got["names"]
    assert got["code"] == "IDLE_HOURS"
    assert got["reason"] == f"last sign-in {got['value']:.0f} h before the cut"
    assert "| `idle_hours` | fixture | hours | hours from the last sign-in to as_of |" in (
        got["reference"])
    assert got["reference"].startswith(reference_markdown())
    assert got["contract"] != feature_contract()
    assert "already read" in got["refused"]
    assert ["needs its compute" in got["refusals"][0], "exists" in got["refusals"][1]] == [
        True, True]
