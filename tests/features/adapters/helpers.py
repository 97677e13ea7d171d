"""Running one adapter over fixture files written from the vendors' documented schemas."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from persona_risk.features.adapters import make_source
from persona_risk.features.adapters.base import Options, ingest

DATA = Path(__file__).parents[2] / "data"
VENDORS = DATA / "vendors"


def run(source: str, files: list[Path], tmp_path: Path, **options):
    """Ingest `files` with source `source`: (summary, mapped table, quarantine table)."""
    mapping = options.pop("mapping", None)
    out = tmp_path / f"{source}.parquet"
    summary = ingest(make_source(source, Options(**options), mapping), files, out)
    quarantine = pd.read_csv(summary.quarantine) if summary.quarantine else pd.DataFrame()
    return summary, pd.read_parquet(out), quarantine
