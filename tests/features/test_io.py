"""Tables in and out: Parquet or CSV, files or folders; atomic writes."""

from __future__ import annotations

import pandas as pd
import pytest

from features.io import read_table, write_table


def test_folders_of_parquet_and_csv(tmp_path):
    (tmp_path / "d").mkdir()
    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "d" / "x.parquet")
    pd.DataFrame({"a": [3]}).to_csv(tmp_path / "d" / "y.csv", index=False)
    assert sorted(read_table(tmp_path / "d")["a"].astype(int)) == [1, 2, 3]
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_table(tmp_path / "missing.parquet")


def test_a_failed_write_leaves_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "out.parquet"
    write_table(pd.DataFrame({"a": [1]}), target)
    before = target.read_bytes()

    def half_then_crash(self, path, **kwargs):
        open(path, "wb").write(b"PAR1 half a file")
        raise OSError("disk full (injected)")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_then_crash)
    with pytest.raises(OSError, match="injected"):
        write_table(pd.DataFrame({"a": [2]}), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]
