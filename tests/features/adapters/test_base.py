"""What every adapter shares: ids hashed with a key, an event_id kept once across chunks and
files, every set-aside record in the quarantine."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from persona_risk.features import schema as s
from persona_risk.features.adapters import SOURCES, base, make_source
from persona_risk.features.adapters.base import (
    RECORD,
    RECORD_CHARS,
    Options,
    Source,
    WrongFormat,
    hash_key_from_env,
    keyed_hash,
)
from persona_risk.features.validate import DUPLICATE_EVENT
from tests.features.adapters.helpers import DATA, VENDORS, run


def test_every_source_name_makes_its_adapter():
    for name in SOURCES:
        source = make_source(name, Options(), VENDORS / "custom_logins.yaml")
        assert isinstance(source, Source) and source.name == name


def test_ids_hashed_with_a_key_consistently(tmp_path):
    key = b"secret"
    _, a, _ = run("okta", [VENDORS / "okta_system_log.jsonl"], tmp_path, hash_key=key)
    _, b, _ = run("okta", [VENDORS / "okta_system_log.jsonl"], tmp_path, hash_key=key)
    assert a[s.ACCOUNT_ID].tolist() == b[s.ACCOUNT_ID].tolist()
    assert a[s.ACCOUNT_ID].iloc[0] == keyed_hash(key, "ana@example.com")
    assert "ana@example.com" not in set(a[s.ACCOUNT_ID])


def _records(*paths: Path) -> list[dict]:
    return [json.loads(line) for path in paths for line in path.read_text().splitlines()]


def _assert_records_kept(quarantine: pd.DataFrame, raw: list[dict]) -> None:
    """Every set-aside row holds the record it came from, as JSON."""
    assert quarantine[RECORD].tolist() == [
        json.dumps(raw[row], default=str)[:RECORD_CHARS] for row in quarantine[s.ROW]]


def test_an_event_id_of_an_earlier_file_is_set_aside_and_the_first_copy_kept(tmp_path):
    sample = DATA / "entra_signinlogs_sample.jsonl"
    once, alone, _ = run("entra", [sample], tmp_path)
    again = tmp_path / "again.jsonl"  # the same sign-ins exported again, seen from another IP
    again.write_text("".join(json.dumps({**r, "IPAddress": "198.51.100.7"}) + "\n"
                             for r in _records(sample)))
    summary, events, quarantine = run("entra", [sample, again], tmp_path)
    assert summary.records == 2 * once.records
    assert summary.mapped == len(events) == events[s.EVENT_ID].nunique() == once.mapped
    assert events[s.IP].tolist() == alone[s.IP].tolist()
    assert summary.quarantined == len(quarantine) == once.quarantined + once.records
    assert summary.reasons == {s.EVENT_ID: summary.quarantined}
    assert set(quarantine[s.REASON]) == {DUPLICATE_EVENT}
    _assert_records_kept(quarantine, _records(sample, again))


def test_an_event_id_of_an_earlier_chunk_is_set_aside(tmp_path, monkeypatch):
    sample = DATA / "entra_signinlogs_sample.jsonl"
    _, whole, _ = run("entra", [sample], tmp_path)
    monkeypatch.setattr(base, "CHUNK", 10)
    summary, events, quarantine = run("entra", [sample], tmp_path)
    assert events[s.EVENT_ID].tolist() == whole[s.EVENT_ID].tolist()
    assert summary.mapped == len(events) and summary.quarantined == len(quarantine) == 41
    assert set(quarantine[s.REASON]) == {DUPLICATE_EVENT}
    _assert_records_kept(quarantine, _records(sample))


def test_records_set_aside_by_validation_are_in_the_quarantine(tmp_path):
    pages = [VENDORS / "graph_signins_page1.json", VENDORS / "graph_signins_page2.json"]
    _, _, quarantine = run("entra", pages, tmp_path)
    raw = [r for page in pages for r in json.loads(page.read_text())["value"]]
    assert "lat: latitude outside [-90, 90]" in set(quarantine[s.REASON])
    _assert_records_kept(quarantine, raw)


def test_an_empty_hash_key_file_is_refused(tmp_path):
    empty = tmp_path / "key"
    empty.write_text(" \n")
    with pytest.raises(WrongFormat, match=f"--hash-key-file {empty}: the key file is empty"):
        hash_key_from_env(empty)
    (tmp_path / "key2").write_text("secret\n")
    assert hash_key_from_env(tmp_path / "key2") == b"secret"
