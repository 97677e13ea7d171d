"""Reading exports: JSON lines, pretty JSON and gzip that break off or hold no records are set
aside or refused naming file and line, never a traceback or an empty table."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from persona_risk.features import schema as s
from persona_risk.features.adapters.base import RECORD, WrongFormat
from persona_risk.features.adapters.reading import UnreadableFile
from tests.features.adapters.helpers import VENDORS, run

OKTA = [json.loads(line) for line in (VENDORS / "okta_system_log.jsonl").open()]
SIGN_IN = OKTA[0]


def test_a_null_line_or_a_line_cut_short_is_set_aside_naming_file_and_line(tmp_path):
    logs = tmp_path / "okta.jsonl"
    cut = json.dumps({**SIGN_IN, "uuid": "cut"})[:80]
    logs.write_text("\n".join([json.dumps(SIGN_IN), "null", json.dumps({**SIGN_IN, "uuid": "b"}),
                               cut]))
    summary, events, quarantine = run("okta", [logs], tmp_path)
    assert events[s.EVENT_ID].tolist() == ["o-1", "b"]
    assert summary.records == 4 and quarantine[s.ROW].tolist() == [1, 3]
    assert quarantine[s.REASON].tolist() == [
        f"record: not a JSON object ('null') at {logs} line 2",
        f"record: unreadable JSON (Unterminated string starting at column 71) at {logs} line 4"]
    assert json.loads(quarantine[RECORD].iloc[1]) == cut


def test_pretty_printed_objects_alone_or_one_after_another_are_read(tmp_path):
    one, several = tmp_path / "one.json", tmp_path / "several.jsonl"
    one.write_text(json.dumps(SIGN_IN, indent=2))
    several.write_text("\n".join(json.dumps({**SIGN_IN, "uuid": f"p-{i}"}, indent=2)
                                 for i in range(3)))
    _, events, _ = run("okta", [one, several], tmp_path)
    assert events[s.EVENT_ID].tolist() == ["o-1", "p-0", "p-1", "p-2"]


def test_json_or_gzip_cut_short_is_refused_naming_file_and_line(tmp_path):
    array = tmp_path / "cut.json"
    array.write_text(json.dumps(OKTA[:2], indent=1)[:-40])
    lines = array.read_text().count("\n") + 1
    with pytest.raises(UnreadableFile, match=rf"cut.json line {lines}: JSON cut short"):
        run("okta", [array], tmp_path)
    packed = tmp_path / "cut.jsonl.gz"
    packed.write_bytes(gzip.compress((VENDORS / "okta_system_log.jsonl").read_bytes())[:-12])
    with pytest.raises(UnreadableFile, match=r"cut.jsonl.gz: gzip data cut short"):
        run("okta", [packed], tmp_path)


def test_a_file_without_records_of_the_source_is_refused_naming_it(tmp_path):
    wrapped, empty = tmp_path / "wrapped.json", tmp_path / "empty.json"
    wrapped.write_text(json.dumps({"events": OKTA}, indent=2))
    empty.write_text("[]")
    with pytest.raises(WrongFormat, match=r"wrapped.json: not a okta export \(the first "
                                          r"record's fields: events\)"):
        run("okta", [wrapped], tmp_path)
    with pytest.raises(WrongFormat, match=r"empty.json: no records found"):
        run("okta", [empty], tmp_path)


def test_every_record_skipped_still_writes_the_canonical_columns(tmp_path):
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps(OKTA[2]) + "\n")
    summary, events, _ = run("okta", [other], tmp_path)
    assert summary.skipped == 1 and events.empty
    assert set(events.columns) == set(s.names(s.EVENT_COLUMNS))
    assert isinstance(events[s.TS].dtype, pd.DatetimeTZDtype)
