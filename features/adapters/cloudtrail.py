"""AWS CloudTrail: `ConsoleLogin` records to events (located through the geo-IP path)."""

from __future__ import annotations

from pathlib import Path

from persona_risk.features import schema as s
from persona_risk.features.adapters.base import BadRecord, Skip, Source
from persona_risk.features.adapters.fields import path

# what a failed console sign-in names when the name typed is no IAM user of the account
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
# what a trail writes beside its logs (AWSLogs/<account>/<folder>/...): the digests of log file
# validation and Insights events, no sign-ins
NOT_LOGS = {"CloudTrail-Digest": "CloudTrail digest file (log file validation)",
            "CloudTrail-Insight": "CloudTrail Insights file"}


def _partition(identity: dict, region: str) -> str:
    """The AWS partition of the principal: from its arn, else from the event's region."""
    arn = str(identity.get("arn") or "")
    if arn.startswith("arn:"):
        return arn.split(":")[1]
    return "aws-cn" if region.startswith("cn-") else (
        "aws-us-gov" if region.startswith("us-gov-") else "aws")


def _principal(record: dict, account_field: str) -> str:
    """One key per principal whether its sign-in succeeded or not: a failed ConsoleLogin names
    an IAM user by `userName` and `accountId` but has no `arn`, and root by its account only,
    so both are keyed by the arn built from those (an IAM user's path left out: its name is
    unique in the account); `id` keys IAM users by bare `userName`. Other principals (assumed
    roles, federated users) by their arn."""
    identity = record.get("userIdentity") or {}
    kind, name = identity.get("type"), identity.get("userName")
    if name == HIDDEN:
        raise BadRecord(f"userIdentity.userName: {HIDDEN} (the name typed is no IAM user)")
    account = identity.get("accountId") or record.get("recipientAccountId")
    partition = _partition(identity, str(record.get("awsRegion") or ""))
    if kind == "IAMUser" and name:
        if account_field == "id":
            return name
        if account:
            return f"arn:{partition}:iam::{account}:user/{name}"
    if kind == "Root" and account:
        return f"arn:{partition}:iam::{account}:root"
    if identity.get("arn"):
        return identity["arn"]
    if name:
        raise BadRecord("userIdentity: no arn, and no accountId to build one from userName")
    raise BadRecord("userIdentity: neither arn nor userName")


class CloudTrailLogins(Source):
    name = "cloudtrail"
    expected = "CloudTrail log files ({\"Records\": [...]}, gzip or not) with ConsoleLogin events"

    def looks_like(self, record: dict) -> bool:
        return "eventName" in record and "eventTime" in record

    def skip_file(self, path: Path) -> str | None:
        return next((why for folder, why in NOT_LOGS.items()
                     if folder in path.parts or f"_{folder}_" in path.name), None)

    def to_row(self, record: dict) -> dict:
        if record.get("eventName") != "ConsoleLogin":
            raise Skip
        account = _principal(record, self.options.account_field)
        outcome = path(record, "responseElements.ConsoleLogin")
        return {
            s.EVENT_ID: record.get("eventID"), s.ACCOUNT_ID: account, s.TS: record.get("eventTime"),
            s.IP: record.get("sourceIPAddress"), s.USER_AGENT: record.get("userAgent"),
            s.SUCCESS: None if outcome is None else outcome == "Success",
            s.INTERACTIVE: True,
        }
