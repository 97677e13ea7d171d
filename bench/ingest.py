"""Ingest: a CSV export with a mapping file (a day-first format, a local zone) to canonical events.

Ours is `persona-risk ingest csv` (record by record: each row mapped, its timestamps read with
the format and localized in the zone, DST gaps and overlaps set aside, then validated and
written). Printed beside a floor measured in the same run: pandas reads the CSV, parses the
timestamp column with the format in one vectorized call, localizes it and writes Parquet, with
no validation and no record set aside.
Run: .venv/bin/python -m bench.ingest [--rows 200000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.common import measure, row

FORMAT, ZONE = "%d/%m/%Y %H:%M:%S", "America/New_York"
MAPPING = (f"table: events\ncolumns:\n  account_id: user\n  ts: when\n  ip: addr\n"
           f"timestamp_format: '{FORMAT}'\ntimezone: {ZONE}\n")


def write_export(folder: Path, rows: int) -> Path:
    """A seeded CSV export of `rows` sign-ins over 30 days and its mapping file."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    ts = pd.Timestamp("2026-02-01") + pd.to_timedelta(rng.integers(0, 30 * 86400, rows), "s")
    pd.DataFrame({"user": [f"u{i % 5000}" for i in range(rows)],
                  "when": ts.strftime(FORMAT),
                  "addr": [f"10.{i % 7}.{i % 200}.{i % 250}" for i in range(rows)],
                  }).to_csv(folder / "logins.csv", index=False)
    (folder / "map.yaml").write_text(MAPPING)
    return folder / "logins.csv"


def ours(folder: Path) -> dict:
    from persona_risk.features.adapters import make_source
    from persona_risk.features.adapters.base import Options, ingest

    source = make_source("csv", Options(), mapping=folder / "map.yaml")
    summary = ingest(source, [folder / "logins.csv"], folder / "ours.parquet")
    return {"rows": summary.mapped}


def pandas_floor(folder: Path) -> dict:
    import pandas as pd

    table = pd.read_csv(folder / "logins.csv")
    ts = pd.to_datetime(table["when"], format=FORMAT).dt.tz_localize(
        ZONE, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    table.assign(when=ts).to_parquet(folder / "floor.parquet")
    return {"rows": int(ts.notna().sum())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_export(folder, args.rows)
        floor = measure(pandas_floor, folder)
        result = measure(ours, folder)
        print(row("floor: pandas read + vectorized parse", args.rows, floor))
        print(row("ours: persona-risk ingest csv", args.rows, result,
                  f"{floor['seconds'] / result['seconds']:.0%} of the floor's rate"))


if __name__ == "__main__":
    main()
