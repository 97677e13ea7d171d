"""The in-memory feature engine: files in, validated and located, account features out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from persona_risk.features.config import FeatureConfig
from persona_risk.features.engine import FeatureRun
from persona_risk.features.geoip import locate
from persona_risk.features.io import quarantine_path, read_table, write_quarantine, write_table
from persona_risk.features.pipeline import FeatureResult, compute_features
from persona_risk.features.validate import SchemaError, validate_accounts, validate_events


@dataclass
class Inputs:
    """Validated inputs: events, their quarantine, and accounts (None when not given)."""

    events: pd.DataFrame
    quarantine: pd.DataFrame
    accounts: pd.DataFrame | None


def load_inputs(events: Path | str | list, accounts: Path | str | list | None = None,
                geoip_db: Path | str | None = None, now: pd.Timestamp | None = None) -> Inputs:
    """Read, validate and geolocate events (and accounts) from Parquet/CSV files or folders."""
    clean, quarantine = validate_events(read_table(events), now=now)
    clean = locate(clean, geoip_db)
    acc = validate_accounts(read_table(accounts)) if accounts is not None else None
    return Inputs(clean, quarantine, acc)


def build_features(inputs: Inputs, as_of: pd.Timestamp | None = None,
                   cfg: FeatureConfig = FeatureConfig()) -> FeatureResult:
    """Account features of validated inputs as of `as_of` (default: the last event)."""
    return compute_features(inputs.events, inputs.accounts, as_of, cfg, with_signals=False)


@dataclass(frozen=True)
class InMemoryEngine:
    """The feature engine (`features.engine.FeatureEngine`) that holds every input in memory."""

    def write_features(self, events: list[Path | str], out: Path | str,
                       accounts: list[Path | str] | None = None,
                       as_of: pd.Timestamp | None = None, cfg: FeatureConfig = FeatureConfig(),
                       geoip_db: Path | None = None, now: pd.Timestamp | None = None
                       ) -> FeatureRun:
        """See `features.engine.FeatureEngine.write_features`."""
        inputs = load_inputs(events, accounts, geoip_db, now)
        write_quarantine(inputs.quarantine, out)  # or remove an earlier run's
        if inputs.events.empty and as_of is None:
            raise SchemaError("events", "rows", f"none readable ({len(inputs.quarantine):,} set "
                              f"aside, reasons in {quarantine_path(out)}), so there is no "
                              "default as_of")
        features = build_features(inputs, as_of, cfg).features
        write_table(features, out)
        return FeatureRun(len(features), len(inputs.events), len(inputs.quarantine))
