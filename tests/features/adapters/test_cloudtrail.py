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
