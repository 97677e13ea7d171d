"""Okta System Log events and users: mapped, skipped or set aside with their reason."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from persona_risk.features import schema as s
from persona_risk.features.adapters import base
from persona_risk.features.adapters.base import WrongFormat
from tests.features.adapters.helpers import VENDORS, run


def test_okta_events_and_users(tmp_path):
    summary, events, quarantine = run("okta", [VENDORS / "okta_system_log.jsonl"], tmp_path)
    assert summary.skipped == 1 and summary.mapped == 2 and summary.quarantined == 1
    ev = events.set_index(s.EVENT_ID)
    assert ev.loc["o-1", s.COUNTRY] == "US" and ev.loc["o-1", s.DEVICE_ID] == "fp-ana"
    assert ev.loc["o-1", s.ASN] == 7922 and ev.loc["o-2", s.ANONYMIZER]
    assert not ev.loc["o-2", s.SUCCESS] and ev.loc["o-2", s.COUNTRY] == "CN"
    assert "geolocation.lat: not a number" in quarantine[s.REASON].iloc[0]
    _, accounts, bad = run("okta-users", [VENDORS / "okta_users.json"], tmp_path)
    assert accounts[s.CLAIMED_TIMEZONE].tolist() == ["America/Chicago"]
    assert "profile.timezone: unknown time-zone name" in bad[s.REASON].iloc[0]


def test_hostile_okta_records_are_set_aside_and_good_ones_kept(tmp_path):
    """Issue 16: every input path goes through validation that cannot raise on any value."""
    good = json.loads((VENDORS / "okta_system_log.jsonl").read_text().splitlines()[0])
    hostile = [("published", "0001-01-01T00:00:00Z"), ("published", "1677-09-21T00:12:44Z"),
               ("published", "9999-12-31T00:00:00Z"), ("client.ipAddress", "999.1.1.1"),
               ("client.ipAddress", "fe80::1%eth0"), ("securityContext.asNumber", 2**63),
               ("client.geographicalContext.geolocation.lat", 1e308 * 10),
               ("actor.alternateId", "ana\u202e@example.com"), ("uuid", "o\x00"),
               ("securityContext.isProxy", "perhaps")]
    lines = [json.dumps({**good, "uuid": "good-1"})]
    for i, (dotted, value) in enumerate(hostile):
        record = json.loads(json.dumps(good))
        *parents, leaf = dotted.split(".")
        node = record
        for part in parents:
            node = node[part]
        node[leaf] = value
        record["uuid"] = record["uuid"] if leaf == "uuid" else f"bad-{i}"
        lines.append(json.dumps(record))
    lines.append(json.dumps({**good, "uuid": "good-2"}))
    (tmp_path / "okta.jsonl").write_text("\n".join(lines) + "\n")
    summary, events, quarantine = run("okta", [tmp_path / "okta.jsonl"], tmp_path)
    assert sorted(events[s.EVENT_ID]) == ["good-1", "good-2"]
    assert summary.quarantined == len(hostile) == len(quarantine)
    assert {r.split(":")[0] for r in quarantine[s.REASON]} == {
        s.TS, s.IP, s.ASN, s.LAT, s.ACCOUNT_ID, s.EVENT_ID, "securityContext.isProxy"}


def test_another_vendors_file_fails_fast_saying_what_was_expected(tmp_path):
    with pytest.raises(WrongFormat, match="expected Okta System Log"):
        run("okta", [VENDORS / "graph_signins_page1.json"], tmp_path)


def test_users_a_country_code_or_a_created_time_that_is_wrong_sets_aside_only_its_record(
        tmp_path, monkeypatch):
    monkeypatch.setattr(base, "CHUNK", 2)  # row numbers count across chunks, from 0
    users = [{"id": f"00u{i}", "created": created, "profile": {"login": f"u{i}@example.com",
                                                                "countryCode": code}}
             for i, (code, created) in enumerate([
                 ("US", "2024-01-01T00:00:00Z"), ("UK", "2024-01-01T00:00:00Z"),
                 ("de", "2024-01-01T00:00:00Z"), ("ZZ", "2024-01-01T00:00:00Z"),
                 ("FR", "yesterday"), (None, "2024-01-01T00:00:00Z")])]
    export = tmp_path / "users.json"
    export.write_text(json.dumps(users))
    summary, accounts, quarantine = run("okta-users", [export], tmp_path)
    assert accounts.set_index(s.ACCOUNT_ID)[s.CLAIMED_COUNTRY].fillna("").to_dict() == {
        "u0@example.com": "US", "u1@example.com": "GB", "u2@example.com": "DE",
        "u5@example.com": ""}
    assert quarantine[s.ROW].tolist() == [3, 4]
    assert quarantine[s.REASON].str.split(":").str[0].tolist() == [
        "profile.countryCode", "created_at"]
    assert summary.mapped == 4 and summary.quarantined == 2


def test_geo_ip_country_names_and_unknown_users(tmp_path):
    names = {"Netherlands": "NL", "Republic of Lithuania": "LT",
             "Hashemite Kingdom of Jordan": "JO", "Türkiye": "TR", "Réunion": "RE",
             "Côte d'Ivoire": "CI", "St Kitts and Nevis": "KN", "Atlantis": None}
    sign_in = json.loads((VENDORS / "okta_system_log.jsonl").open().readline())
    rows = [{**sign_in, "uuid": name, "client": {"ipAddress": None, "geographicalContext": {
        "country": name}}} for name in names]
    rows.append({**sign_in, "uuid": "typo", "actor": {"id": "unknown", "type": "User",
                                                      "alternateId": "bob@example.com"}})
    logs = tmp_path / "okta.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _, events, quarantine = run("okta", [logs], tmp_path, account_field="id")
    read = events.set_index(s.EVENT_ID)[s.COUNTRY]
    assert {name: None if pd.isna(code) else code for name, code in read.items()} == names
    assert quarantine[s.REASON].tolist() == [
        "actor.id: unknown (the login typed, 'bob@example.com', is no Okta user)"]
