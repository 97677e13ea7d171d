"""Every source on small fixtures written from the vendors' documented schemas, plus the real
Entra sample: each record mapped, skipped or quarantined with its reason."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from persona_risk.features import schema as s
from persona_risk.features.adapters import make_source
from persona_risk.features.adapters.base import Options, WrongFormat, ingest, keyed_hash
from persona_risk.features.batch import build_features, load_inputs

DATA = Path(__file__).parents[2] / "data"
VENDORS = DATA / "vendors"


def run(source: str, files: list[Path], tmp_path: Path, **options):
    mapping = options.pop("mapping", None)
    out = tmp_path / f"{source}.parquet"
    summary = ingest(make_source(source, Options(**options), mapping), files, out)
    quarantine = pd.read_csv(summary.quarantine) if summary.quarantine else pd.DataFrame()
    return summary, pd.read_parquet(out), quarantine


def test_real_entra_sample_is_fully_accounted_for_and_scores(tmp_path, trained):
    summary, events, quarantine = run("entra", [DATA / "entra_signinlogs_sample.jsonl"], tmp_path)
    assert summary.records == 86
    assert summary.mapped + summary.skipped + summary.quarantined == 86
    assert set(quarantine[s.REASON]) == {"event_id: duplicate event_id (first copy kept)"}
    raw = [json.loads(line) for line in (DATA / "entra_signinlogs_sample.jsonl").open()]
    first = next(r for r in raw if r["Id"] == events[s.EVENT_ID].iloc[0])
    assert events[s.LAT].iloc[0] == first["LocationDetails"]["geoCoordinates"]["latitude"]
    assert events[s.LAT].iloc[0] != first["Latitude"]  # the shifted flat column is not used
    assert events[s.IP].notna().all() and events[s.ACCOUNT_ID].str.contains("@").all()
    inputs = load_inputs(tmp_path / "entra.parquet")  # no accounts: derived from the events
    features = build_features(inputs).features
    assert len(features) == events[s.ACCOUNT_ID].nunique()
    assert features["account_age_days"].isna().all()
    scored = trained.model.score(features)
    assert scored["score"].between(0, 1).all()


def test_graph_pages_as_several_files(tmp_path):
    summary, events, quarantine = run(
        "entra", [VENDORS / "graph_signins_page1.json", VENDORS / "graph_signins_page2.json"],
        tmp_path)
    assert summary.records == 5 and summary.mapped == 2 and summary.quarantined == 3
    ev = events.set_index(s.EVENT_ID)
    assert ev.loc["g-1", s.DEVICE_ID] == "dev-ana" and ev.loc["g-1", s.SUCCESS]
    assert not ev.loc["g-2", s.SUCCESS] and ev.loc["g-2", s.ANONYMIZER]
    assert pd.isna(ev.loc["g-2", s.DEVICE_ID]) and ev.loc["g-2", s.COUNTRY] == "CN"
    reasons = sorted(quarantine[s.REASON])
    assert reasons == ["LocationDetails.geoCoordinates.latitude: not a number ('north')",
                       "createdDateTime: missing", "lat: latitude outside [-90, 90]"]


def test_entra_users_and_identifier_choice(tmp_path):
    summary, accounts, quarantine = run("entra-users", [VENDORS / "graph_users.json"], tmp_path,
                                        account_field="id")
    assert accounts[s.ACCOUNT_ID].tolist() == ["u-ana", "u-bo"]
    assert accounts[s.CLAIMED_COUNTRY].tolist() == ["US", "DE"]
    assert quarantine[s.REASON].tolist() == ["createdDateTime: missing"]


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


def test_cloudtrail_gzip_is_located_offline(tmp_path):
    summary, events, quarantine = run("cloudtrail", [VENDORS / "cloudtrail_111122223333.json.gz"],
                                      tmp_path)
    assert summary.skipped == 1 and summary.mapped == 2 and summary.quarantined == 1
    ev = events.set_index(s.EVENT_ID)
    assert ev.loc["c-1", s.SUCCESS] and not ev.loc["c-2", s.SUCCESS]
    assert ev.loc["c-1", s.COUNTRY] == "US" and ev.loc["c-1", s.GEO_SOURCE] == "geoip2fast"
    assert ev.loc["c-1", s.ACCOUNT_ID].startswith("arn:aws:iam::")
    assert quarantine[s.REASON].iloc[0] == "userIdentity: neither arn nor userName"


def test_csv_with_a_mapping_file(tmp_path):
    summary, events, quarantine = run("csv", [VENDORS / "custom_logins.csv"], tmp_path,
                                      mapping=VENDORS / "custom_logins.yaml")
    assert summary.mapped == 2 and summary.quarantined == 1
    assert events[s.TS].iloc[0] == pd.Timestamp("2026-02-01T10:00:00Z")  # Berlin -> UTC
    assert events[s.SUCCESS].tolist() == [True, False]
    assert "ts: unparsable timestamp" in quarantine[s.REASON].iloc[0]


def test_ids_hashed_with_a_key_consistently(tmp_path):
    key = b"secret"
    _, a, _ = run("okta", [VENDORS / "okta_system_log.jsonl"], tmp_path, hash_key=key)
    _, b, _ = run("okta", [VENDORS / "okta_system_log.jsonl"], tmp_path, hash_key=key)
    assert a[s.ACCOUNT_ID].tolist() == b[s.ACCOUNT_ID].tolist()
    assert a[s.ACCOUNT_ID].iloc[0] == keyed_hash(key, "ana@example.com")
    assert "ana@example.com" not in set(a[s.ACCOUNT_ID])


def test_wrong_format_fails_fast_saying_what_was_expected(tmp_path):
    with pytest.raises(WrongFormat, match="expected Okta System Log"):
        run("okta", [VENDORS / "graph_signins_page1.json"], tmp_path)
    other = tmp_path / "records.json.gz"
    with gzip.open(other, "wt") as f:
        json.dump({"Records": [{"foo": 1}]}, f)
    with pytest.raises(WrongFormat, match="CloudTrail"):
        run("cloudtrail", [other], tmp_path)


def test_hostile_okta_records_are_set_aside_and_good_ones_kept(tmp_path):
    """Issue 16: every input path goes through validation that cannot raise on any value."""
    good = json.loads((VENDORS / "okta_system_log.jsonl").read_text().splitlines()[0])
    hostile = [("published", "0001-01-01T00:00:00Z"), ("published", "1677-09-21T00:12:44Z"),
               ("published", "9999-12-31T00:00:00Z"), ("client.ipAddress", "999.1.1.1"),
               ("client.ipAddress", "fe80::1%eth0"), ("securityContext.asNumber", 2**63),
               ("client.geographicalContext.geolocation.lat", 1e308 * 10),
               ("actor.alternateId", "ana\u202e@example.com"), ("uuid", "o\x00")]
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
        s.TS, s.IP, s.ASN, s.LAT, s.ACCOUNT_ID, s.EVENT_ID}
