"""A CSV (or other table) mapped by a YAML mapping file."""

from __future__ import annotations

import pandas as pd

from persona_risk.features import schema as s
from tests.features.adapters.helpers import VENDORS, run


def test_csv_with_a_mapping_file(tmp_path):
    summary, events, quarantine = run("csv", [VENDORS / "custom_logins.csv"], tmp_path,
                                      mapping=VENDORS / "custom_logins.yaml")
    assert summary.mapped == 2 and summary.quarantined == 1
    assert events[s.TS].iloc[0] == pd.Timestamp("2026-02-01T10:00:00Z")  # Berlin -> UTC
    assert events[s.SUCCESS].tolist() == [True, False]
    assert "ts: unparsable timestamp" in quarantine[s.REASON].iloc[0]
