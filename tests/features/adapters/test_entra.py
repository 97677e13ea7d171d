"""Microsoft Entra ID: the real sign-in log sample, Graph pages and users."""

from __future__ import annotations

import json

import pandas as pd

from persona_risk.features import schema as s
from persona_risk.features.memory_engine import build_features, load_inputs
from tests.features.adapters.helpers import DATA, VENDORS, run


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


def test_non_interactive_tables_are_kept_and_workload_sign_ins_skipped(tmp_path):
    raw = json.loads((DATA / "entra_signinlogs_sample.jsonl").open().readline())
    kinds = [("SigninLogs", "SignInLogs"),
             ("AADNonInteractiveUserSignInLogs", "NonInteractiveUserSignInLogs"),
             ("AADServicePrincipalSignInLogs", "ServicePrincipalSignInLogs"),
             ("AADManagedIdentitySignInLogs", "ManagedIdentitySignInLogs")]
    rows = [{**raw, "Id": f"k-{i}", "Type": kind, "Category": category, "IsInteractive": True}
            for i, (kind, category) in enumerate(kinds)]
    rows.append({**rows[1], "Id": "k-category-only", "Type": None})
    graph = [{"id": f"b-{kind}", "createdDateTime": "2026-02-01T10:00:00Z",
              "userPrincipalName": "ana@contoso.com", "isInteractive": True,
              "signInEventTypes": [kind]}
             for kind in ("interactiveUser", "nonInteractiveUser", "servicePrincipal")]
    logs = tmp_path / "logs.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in rows + graph))
    summary, events, _ = run("entra", [logs], tmp_path)
    assert summary.skipped == 3
    assert events.set_index(s.EVENT_ID)[s.INTERACTIVE].to_dict() == {
        "k-0": True, "k-1": False, "k-category-only": False,
        "b-interactiveUser": True, "b-nonInteractiveUser": False}


def test_users_take_the_iso_usage_location_ahead_of_the_free_text_country(tmp_path):
    users = [{"id": f"u-{i}", "userPrincipalName": f"u{i}@contoso.com",
              "createdDateTime": "2025-12-01T08:00:00Z", "country": country,
              "usageLocation": usage}
             for i, (country, usage) in enumerate([("UK", "GB"), ("Deutschland", "DE"),
                                                   ("Germany", None), ("Atlantis", None),
                                                   ("Germany", "XX")])]
    page = tmp_path / "users.json"
    page.write_text(json.dumps({"value": users}))
    _, accounts, quarantine = run("entra-users", [page], tmp_path, account_field="id")
    assert accounts.set_index(s.ACCOUNT_ID)[s.CLAIMED_COUNTRY].fillna("").to_dict() == {
        "u-0": "GB", "u-1": "DE", "u-2": "DE", "u-3": ""}
    assert quarantine[s.ROW].tolist() == [4]
    assert quarantine[s.REASON].tolist() == [
        "usageLocation: not an ISO 3166-1 alpha-2 code ('XX')"]
