"""Tables in and out: Parquet or CSV, files or folders; atomic writes."""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from persona_risk.features.io import (
    QUARANTINE,
    SUMMARY,
    TableReadError,
    csv_chunks,
    expand_files,
    quarantine_path,
    read_table,
    remove_stale_temps,
    side_file,
    table_files,
    temp_folder,
    temp_name,
    write_table,
    write_text,
)


def test_folders_of_parquet_and_csv(tmp_path):
    (tmp_path / "d").mkdir()
    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "d" / "x.parquet")
    pd.DataFrame({"a": [3]}).to_csv(tmp_path / "d" / "y.csv", index=False)
    assert sorted(read_table(tmp_path / "d")["a"].astype(int)) == [1, 2, 3]
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_table(tmp_path / "missing.parquet")


GOOD_LINES = [b"a,b,c"] + [b"%d,x,y" % i for i in range(200)]


@pytest.mark.parametrize(("line", "bad", "problem"), [
    (2, b"1,x,y,extra", "line 2: 4 fields where the header names 3"),  # not an index column
    (150, b"1,x,y,extra", "line 150: 4 fields where the header names 3"),
    (150, b'1,"x,y', "line 150: a quoted value that never ends"),
    (150, b"1,caf\xe9,y", "line 150: not UTF-8 text"),
])
@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz"])
def test_a_malformed_csv_line_is_named_by_file_and_line(tmp_path, line, bad, problem, name):
    lines = [*GOOD_LINES[:line - 1], bad, *GOOD_LINES[line:]]
    body = b"\n".join(lines) + b"\n"
    path = tmp_path / name
    path.write_bytes(gzip.compress(body) if name.endswith(".gz") else body)
    for read in (lambda: read_table(path), lambda: list(csv_chunks(path, 64))):
        with pytest.raises(TableReadError, match=f"{name}: {problem}"):
            read()


def test_csv_chunks_hold_every_row_once_as_text(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"\n".join(GOOD_LINES) + b"\n")
    chunks = list(csv_chunks(path, 64))
    assert [len(c) for c in chunks] == [64, 64, 64, 8]
    assert pd.concat(chunks)["a"].tolist() == [str(i) for i in range(200)]


def test_an_empty_csv_file_is_named(tmp_path):
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(TableReadError, match="e.csv: empty, not even a header line"):
        read_table(tmp_path / "e.csv")


def test_one_expander_for_tables_and_vendor_logs(tmp_path):
    """Folders give their files sorted, never a hidden file nor a folder itself (a Spark
    output folder named `x.parquet`); tables keep only table names and need at least one."""
    for name in ("b/log.json", "a.jsonl.gz", ".hidden.parquet", "t.parquet/part-0.parquet",
                 "t.parquet/_SUCCESS", "z.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert [p.relative_to(tmp_path).as_posix() for p in expand_files([tmp_path])] == [
        "a.jsonl.gz", "b/log.json", "t.parquet/_SUCCESS", "t.parquet/part-0.parquet", "z.csv"]
    assert [p.name for p in table_files(tmp_path)] == ["part-0.parquet", "z.csv"]
    assert expand_files(tmp_path / "z.csv") == [tmp_path / "z.csv"]
    with pytest.raises(FileNotFoundError, match=r"^no \.parquet or \.csv files in .*/b$"):
        table_files(str(tmp_path / "b"))
    with pytest.raises(FileNotFoundError, match="nope: no such file or folder"):
        expand_files([tmp_path / "z.csv", tmp_path / "nope"])


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


def test_outputs_follow_the_umask_and_stale_temps_of_dead_processes_go(tmp_path):
    """Issue 16, finding 9: outputs were created 0600; a killed run's temp files stayed."""
    old = os.umask(0o027)
    try:
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet")
        write_text("{}", tmp_path / "t.json")
    finally:
        os.umask(old)
    assert {stat.S_IMODE((tmp_path / n).stat().st_mode) for n in ("t.parquet", "t.json")} == {
        0o640}
    dead = tmp_path / f".t.parquet.{2**22 + 777}.00112233445566ff"
    mine = tmp_path / temp_name("t.parquet")
    dead.write_text("half")
    mine.write_text("writing")
    with temp_folder(tmp_path, "spill") as folder:
        (folder / "x").write_text("spilled")
        assert remove_stale_temps(tmp_path) == [dead]
    assert mine.exists() and not folder.exists() and not dead.exists()


@pytest.mark.parametrize(("out", "expected"), [
    ("scores.parquet", "scores.summary.json"),
    ("night/scores.csv", "night/scores.summary.json"),
    ("s3a://bucket/night/scores.parquet", "s3a://bucket/night/scores.summary.json"),
    ("/abs/features", "/abs/features.summary.json"),
    ("night/dataset.parquet/", "night/dataset.summary.json"),
])
def test_side_files_of_local_paths_and_uris_share_one_rule(out, expected):
    assert side_file(out, SUMMARY) == expected
    assert str(quarantine_path(out)) == str(Path(expected.replace(SUMMARY, QUARANTINE)))
