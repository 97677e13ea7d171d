"""A CSV (or other table) mapped by a YAML mapping file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from persona_risk.features import schema as s
from persona_risk.features.adapters.base import RECORD, BadRecord, Options
from persona_risk.features.adapters.mapped import MappedTable, Mapping, MappingError
from tests.features.adapters.helpers import VENDORS, run


def test_csv_with_a_mapping_file(tmp_path):
    summary, events, quarantine = run("csv", [VENDORS / "custom_logins.csv"], tmp_path,
                                      mapping=VENDORS / "custom_logins.yaml")
    assert summary.mapped == 2 and summary.quarantined == 1
    assert events[s.TS].iloc[0] == pd.Timestamp("2026-02-01T10:00:00Z")  # Berlin -> UTC
    assert events[s.SUCCESS].tolist() == [True, False]
    assert "ts: unparsable timestamp" in quarantine[s.REASON].iloc[0]


def _berlin_mapping(tmp_path: Path, table: str, columns: str) -> Path:
    path = tmp_path / f"{table}.yaml"
    path.write_text(f"table: {table}\ncolumns: {{{columns}}}\n"
                    'timestamp_format: "%d/%m/%Y %H:%M:%S"\ntimezone: Europe/Berlin\n')
    return path


def test_local_times_the_zone_skips_or_shows_twice_are_set_aside_not_guessed(tmp_path):
    mapping = _berlin_mapping(tmp_path, "events", "account_id: user, ts: when, ip: src_ip")
    (tmp_path / "logins.csv").write_text(
        "user,when,src_ip\n"
        "ana,30/03/2025 01:59:59,81.2.69.142\n"
        "ana,30/03/2025 02:30:00,81.2.69.142\n"  # clocks jump 02:00 -> 03:00
        "ana,30/03/2025 03:00:00,81.2.69.142\n"
        "bo,26/10/2025 01:59:59,81.2.69.160\n"
        "bo,26/10/2025 02:30:00,81.2.69.160\n"  # 02:00-03:00 happens twice
        "bo,26/10/2025 03:30:00,81.2.69.160\n"
        "cy,NaT,81.2.69.161\n")
    summary, events, quarantine = run("csv", [tmp_path / "logins.csv"], tmp_path,
                                      mapping=mapping)
    assert summary.records == 7 and summary.mapped == 4 and summary.quarantined == 3
    assert events[s.TS].tolist() == [pd.Timestamp(t, tz="UTC") for t in (
        "2025-03-30 00:59:59", "2025-03-30 01:00:00", "2025-10-25 23:59:59",
        "2025-10-26 02:30:00")]
    assert quarantine[s.ROW].tolist() == [1, 4, 6]
    assert quarantine[s.REASON].tolist() == [
        "ts: nonexistent local time in the DST gap of Europe/Berlin ('30/03/2025 02:30:00')",
        "ts: ambiguous local time in the DST overlap of Europe/Berlin ('26/10/2025 02:30:00')",
        "ts: unparsable timestamp 'NaT'"]
    assert [json.loads(r)["when"] for r in quarantine[RECORD]] == [
        "30/03/2025 02:30:00", "26/10/2025 02:30:00", "NaT"]


def test_every_mapped_timestamp_column_is_read_with_the_format_and_zone(tmp_path):
    mapping = _berlin_mapping(
        tmp_path, "accounts",
        "account_id: uid, created_at: created, label: verdict, labelled_at: verdict_date")
    (tmp_path / "accounts.csv").write_text(
        "uid,created,verdict,verdict_date\n"
        "u1,01/12/2024 09:00:00,1,15/07/2025 10:00:00\n"
        "u2,01/12/2024 09:00:00,0,30/03/2025 02:30:00\n"
        "u3,01/12/2024 09:00:00,,\n"
        "u4,01/12/2024 09:00:00,,  \n")  # blanks: no label yet, as validation reads them
    summary, accounts, quarantine = run("csv", [tmp_path / "accounts.csv"], tmp_path,
                                        mapping=mapping)
    assert accounts[s.ACCOUNT_ID].tolist() == ["u1", "u3", "u4"]
    assert (accounts[s.CREATED_AT] == pd.Timestamp("2024-12-01 08:00", tz="UTC")).all()
    assert accounts[s.LABELLED_AT].iloc[0] == pd.Timestamp("2025-07-15 08:00", tz="UTC")
    assert pd.isna(accounts[s.LABELLED_AT].iloc[1])
    assert quarantine[s.REASON].tolist() == [
        "labelled_at: nonexistent local time in the DST gap of Europe/Berlin "
        "('30/03/2025 02:30:00')"]


def test_without_a_timestamp_format_only_iso_8601_is_read_never_a_guessed_day_order(tmp_path):
    mapping = tmp_path / "map.yaml"
    mapping.write_text("table: events\ncolumns: {account_id: user, ts: when}\n")
    (tmp_path / "logins.csv").write_text(
        "user,when\n"
        "ana,01/02/2026 11:00:00\n"  # 1 Feb or 2 Jan: not guessed
        "ana,13/02/2026 11:00:00\n"
        "bo,2026-02-01T10:00:00+01:00\n"
        "bo,2026-02-01 10:00:00\n")
    summary, events, quarantine = run("csv", [tmp_path / "logins.csv"], tmp_path,
                                      mapping=mapping)
    assert events[s.TS].tolist() == [pd.Timestamp("2026-02-01 09:00", tz="UTC"),
                                     pd.Timestamp("2026-02-01 10:00", tz="UTC")]
    assert quarantine[s.ROW].tolist() == [0, 1]
    assert quarantine[s.REASON].tolist() == [
        f"ts: unparsable timestamp '{day}/02/2026 11:00:00' (not ISO-8601, no timestamp_format)"
        for day in ("01", "13")]


MAPPING_MISTAKES = {  # mapping text: what the error says after the file name
    "table: events\ncolumns: [account_id]\n": "columns: must map our column names to yours",
    "table: events\ncolumns: {account_id: user}\n  bad: [\n": "line 3: not a readable mapping",
    "columns: {account_id: user, ts: when}\ntimezone: Europe/Berln\n":
        "timezone: unknown time-zone name 'Europe/Berln'",
    "columns: {account_id: user, ts: when}\ntimestamp_fromat: '%d/%m/%Y'\n":
        "unknown key(s) ['timestamp_fromat']",
    "table: logins\ncolumns: {account_id: user}\n": "table: 'logins' is not events or accounts",
    "columns: {account_id: user, tss: when}\n": "columns: ['tss'] are not columns of events",
    "- just\n- a list\n": "a mapping is a table of keys",
}


@pytest.mark.parametrize("text", MAPPING_MISTAKES)
def test_a_mapping_mistake_names_the_file_and_the_key(tmp_path, text):
    mapping = tmp_path / "map.yaml"
    mapping.write_text(text)
    with pytest.raises(MappingError) as err:
        Mapping.read(mapping)
    assert str(err.value).startswith(f"{mapping}")
    assert MAPPING_MISTAKES[text] in str(err.value)


ISO_VALUES = ["2026-02-01T10:00:00Z", "2026-02-01 10:00:00", "2026-02-01", "2026-02-01T10:00",
              "2026-02-01T10:00:00.123456+02:00", "2026-02-01T10:00:00+0530",
              "2026-02-01T10:00:00+05", "2026-02-01T10:00:00.123456789Z", "20260201T100000",
              "2026-W05-1", "2026-032", "2026-03-08T02:30:00", "2026-11-01T01:30:00", "nan",
              "NaT", "", "2026-02-30T10:00:00", "2026-02-01 10:00:00 +02:00", 20260201, None]
FORMATTED = ["01/02/2026 10:00:00", "1/2/2026 3:04:05", "29/03/2026 02:30:00",
             "25/10/2026 02:30:00", "2026-02-01T10:00:00Z", "01/02/2026 10:00:00.5"]
OFFSET_FORMATTED = ["2026-02-01 10:00:00+0100", "2026-02-01 10:00:00Z",
                    "2026-02-01 10:00:00+01:00", "2026-02-01 10:00:00"]


@pytest.mark.parametrize("fmt, zone, values", [
    (None, "America/New_York", ISO_VALUES), ("%d/%m/%Y %H:%M:%S", "Europe/Berlin", FORMATTED),
    ("%Y-%m-%d %H:%M:%S%z", "UTC", OFFSET_FORMATTED)])
def test_the_quick_parser_reads_every_timestamp_as_pandas_does(fmt, zone, values, monkeypatch):
    """Python's own parser reads the common timestamps (a tenth of pandas' time per value);
    every value, read or refused, comes out as the pandas path alone gives it: nanoseconds,
    week dates and DST gaps and overlaps go to pandas."""
    table = MappedTable(Options(), Mapping("events", {"account_id": "user", "ts": "time"}, fmt,
                                           zone))

    def read(value):
        try:
            return table._timestamp(value, "ts")
        except BadRecord as err:
            return f"set aside: {err}"

    quick = [read(v) for v in values]
    monkeypatch.setattr(table, "_quick_utc", lambda value: None)
    assert quick == [read(v) for v in values]
