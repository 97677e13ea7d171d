"""Reading and writing tables: Parquet (the main format) or CSV, files or folders of them.

Writes are atomic: the table goes to a temporary file beside the target, then is renamed over it,
so a crash leaves the previous file intact, never half a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

TABLE_SUFFIXES = (".parquet", ".csv", ".csv.gz")


def table_files(paths: Path | str | Iterable[Path | str]) -> list[Path]:
    """The table files named by `paths`: files as given, folders expanded (sorted)."""
    paths = [paths] if isinstance(paths, str | Path) else list(paths)
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.name.endswith(TABLE_SUFFIXES))
        elif p.exists():
            files.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    if not files:
        raise FileNotFoundError(f"no .parquet or .csv files in {', '.join(map(str, paths))}")
    return files


def read_file(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """One table file; CSV columns are read as text and typed by validation."""
    if path.name.endswith(".parquet"):
        return pd.read_parquet(path, columns=columns)
    return pd.read_csv(path, dtype=str, keep_default_na=True, usecols=columns)


def read_table(paths: Path | str | Iterable[Path | str]) -> pd.DataFrame:
    """All rows of the table files or folders in `paths`, concatenated."""
    frames = [read_file(f) for f in table_files(paths)]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def write_table(df: pd.DataFrame, path: Path | str) -> Path:
    """Write `df` atomically as CSV when the name ends in .csv, else as Parquet."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        if path.name.endswith(".csv"):
            df.to_csv(tmp, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
        else:
            df.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
