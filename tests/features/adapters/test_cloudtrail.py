"""AWS CloudTrail ConsoleLogin records, located offline."""

from __future__ import annotations

import gzip
import json

import pytest

from persona_risk.features import schema as s
from persona_risk.features.adapters.base import WrongFormat
from tests.features.adapters.helpers import VENDORS, run


def test_cloudtrail_gzip_is_located_offline(tmp_path):
    summary, events, quarantine = run("cloudtrail", [VENDORS / "cloudtrail_111122223333.json.gz"],
                                      tmp_path)
    assert summary.skipped == 1 and summary.mapped == 2 and summary.quarantined == 1
    ev = events.set_index(s.EVENT_ID)
    assert ev.loc["c-1", s.SUCCESS] and not ev.loc["c-2", s.SUCCESS]
    assert ev.loc["c-1", s.COUNTRY] == "US" and ev.loc["c-1", s.GEO_SOURCE] == "geoip2fast"
    assert ev.loc["c-1", s.ACCOUNT_ID].startswith("arn:aws:iam::")
    assert quarantine[s.REASON].iloc[0] == "userIdentity: neither arn nor userName"


def test_records_without_console_logins_fail_fast_saying_what_was_expected(tmp_path):
    other = tmp_path / "records.json.gz"
    with gzip.open(other, "wt") as f:
        json.dump({"Records": [{"foo": 1}]}, f)
    with pytest.raises(WrongFormat, match="CloudTrail"):
        run("cloudtrail", [other], tmp_path)


def _login(event_id: str, identity: dict, outcome: str = "Failure") -> dict:
    return {"eventVersion": "1.05", "eventID": event_id, "eventTime": "2026-02-01T10:00:00Z",
            "eventName": "ConsoleLogin", "awsRegion": "us-east-1", "userIdentity": identity,
            "sourceIPAddress": "203.0.113.5", "responseElements": {"ConsoleLogin": outcome}}


ACCOUNT = "111122223333"
LOGINS = [  # AWS's documented shapes: a failure names an IAM user without its arn
    _login("ok", {"type": "IAMUser", "accountId": ACCOUNT, "userName": "JohnDoe",
                  "arn": f"arn:aws:iam::{ACCOUNT}:user/division/JohnDoe"}, "Success"),
    _login("failed", {"type": "IAMUser", "accountId": ACCOUNT, "userName": "JohnDoe"}),
    _login("hidden", {"type": "IAMUser", "accountId": ACCOUNT,
                      "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
    _login("root-ok", {"type": "Root", "accountId": ACCOUNT, "principalId": ACCOUNT,
                       "arn": f"arn:aws:iam::{ACCOUNT}:root"}, "Success"),
    _login("root-failed", {"type": "Root", "accountId": ACCOUNT, "principalId": ACCOUNT}),
]


def test_a_principal_is_one_account_whether_its_sign_in_failed_or_not(tmp_path):
    trail = tmp_path / "trail.json.gz"
    with gzip.open(trail, "wt") as f:
        json.dump({"Records": LOGINS}, f)
    keys = {}
    for field in ("upn", "id"):
        summary, events, quarantine = run("cloudtrail", [trail], tmp_path, account_field=field)
        keys[field] = events.set_index(s.EVENT_ID)[s.ACCOUNT_ID].to_dict()
        assert quarantine[s.REASON].tolist() == [
            "userIdentity.userName: HIDDEN_DUE_TO_SECURITY_REASONS (the name typed is no IAM "
            "user)"]
    user, root = f"arn:aws:iam::{ACCOUNT}:user/JohnDoe", f"arn:aws:iam::{ACCOUNT}:root"
    assert keys["upn"] == {"ok": user, "failed": user, "root-ok": root, "root-failed": root}
    assert keys["id"] == {"ok": "JohnDoe", "failed": "JohnDoe", "root-ok": root,
                          "root-failed": root}


def test_digest_and_insight_files_of_a_trail_folder_are_skipped_by_name(tmp_path):
    account = tmp_path / "AWSLogs" / ACCOUNT
    files = {
        "CloudTrail": {"Records": LOGINS[:1]},
        "CloudTrail-Digest": {"awsAccountId": ACCOUNT, "digestStartTime": "2026-02-01T10:00:00Z",
                              "logFiles": []},
        "CloudTrail-Insight": {"Records": [{"eventVersion": "1.07", "eventID": "i-1",
                                            "eventTime": "2026-02-01T10:00:00Z",
                                            "eventType": "AwsCloudTrailInsight"}]},
    }
    for folder, content in files.items():
        day = account / folder / "us-east-1" / "2026" / "02" / "01"
        day.mkdir(parents=True)
        with gzip.open(day / f"{ACCOUNT}_{folder}_us-east-1_20260201T1000Z.json.gz", "wt") as f:
            json.dump(content, f)
    summary, events, _ = run("cloudtrail", [tmp_path / "AWSLogs"], tmp_path)
    assert summary.files == 1 and events[s.EVENT_ID].tolist() == ["ok"]
    assert [entry.split(": ", 1)[1] for entry in summary.skipped_files] == [
        "CloudTrail digest file (log file validation)", "CloudTrail Insights file"]
    assert "CloudTrail-Digest" in summary.skipped_files[0]
