"""AWS CloudTrail: `ConsoleLogin` records to events (located through the geo-IP path)."""

from __future__ import annotations

from persona_risk.features import schema as s
from persona_risk.features.adapters.base import BadRecord, Skip, Source
from persona_risk.features.adapters.fields import path


class CloudTrailLogins(Source):
    name = "cloudtrail"
    expected = "CloudTrail log files ({\"Records\": [...]}, gzip or not) with ConsoleLogin events"

    def looks_like(self, record: dict) -> bool:
        return "eventName" in record and "eventTime" in record

    def to_row(self, record: dict) -> dict:
        if record.get("eventName") != "ConsoleLogin":
            raise Skip
        identity = record.get("userIdentity") or {}
        account = (identity.get("arn") if self.options.account_field != "username"
                   else identity.get("userName")) or identity.get("userName") or identity.get(
            "arn")
        if not account:
            raise BadRecord("userIdentity: neither arn nor userName")
        outcome = path(record, "responseElements.ConsoleLogin")
        return {
            s.EVENT_ID: record.get("eventID"), s.ACCOUNT_ID: account, s.TS: record.get("eventTime"),
            s.IP: record.get("sourceIPAddress"), s.USER_AGENT: record.get("userAgent"),
            s.SUCCESS: None if outcome is None else outcome == "Success",
            s.INTERACTIVE: True,
        }
