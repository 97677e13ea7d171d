"""Microsoft Entra ID: sign-in logs (Log Analytics `SigninLogs` PascalCase, or Graph
`auditLogs/signIns` camelCase) to events, and a Graph `/users` export to accounts."""

from __future__ import annotations

from persona_risk.features import schema as s
from persona_risk.features.adapters.base import ACCOUNTS, BadRecord, Skip, Source
from persona_risk.features.adapters.fields import (
    country_code,
    flag,
    iso_country,
    nested,
    number,
    path,
    pick,
)

ANONYMIZER_RISKS = {"anonymizedIPAddress", "anonymousIP", "torIPAddress"}
# Log Analytics `Type` (table) or diagnostic `Category` of user sign-ins, lower case -> whether
# the table is interactive (None: the row's `IsInteractive` says). Service principal and managed
# identity sign-ins (AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs) are no
# person's sign-in: skipped with every other table.
USER_SIGN_INS = {"signinlogs": None, "aadnoninteractiveusersigninlogs": False,
                 "noninteractiveusersigninlogs": False}
# Graph beta `signInEventTypes` values of a user's sign-in -> interactive
USER_EVENT_TYPES = {"interactiveUser": True, "nonInteractiveUser": False}


def _risk_types(record: dict) -> set[str]:
    found: set[str] = set()
    for name in ("riskEventTypes_v2", "RiskEventTypes_V2", "riskEventTypes"):
        value = nested(record.get(name)) if isinstance(record.get(name), str) else record.get(
            name)
        if isinstance(value, list):
            found.update(map(str, value))
    return found


def _user_sign_in(record: dict) -> bool | None:
    """Whether a user's sign-in is interactive by its table or event type (None: the row's
    `IsInteractive` says); `Skip` when it is not a user's sign-in."""
    kind = pick(record, "Type", "Category")
    if kind is not None:
        if str(kind).lower() not in USER_SIGN_INS:
            raise Skip
        return USER_SIGN_INS[str(kind).lower()]
    types = nested(pick(record, "signInEventTypes"))
    if not isinstance(types, list) or not types:
        return None
    interactive = [USER_EVENT_TYPES.get(str(t)) for t in types]
    if None in interactive:  # a service principal's or managed identity's
        raise Skip
    return all(interactive)


class EntraSignIns(Source):
    name = "entra"
    expected = ("Entra ID sign-ins: SigninLogs rows (UserPrincipalName, CreatedDateTime, ...) "
                "or Graph auditLogs/signIns records, as JSON lines, a JSON array, a Graph page "
                "({\"value\": [...]}) or CSV")

    def looks_like(self, record: dict) -> bool:
        return pick(record, "userPrincipalName", "userId") is not None and pick(
            record, "createdDateTime", "timeGenerated") is not None

    def to_row(self, record: dict) -> dict:
        kind_interactive = _user_sign_in(record)
        account = pick(record, "userPrincipalName", "userId") if self.options.account_field == (
            "upn") else pick(record, "userId", "userPrincipalName")
        ts = pick(record, "createdDateTime", "timeGenerated")
        if ts is None:
            raise BadRecord("createdDateTime: missing")
        status = nested(pick(record, "status")) or {}
        code = status.get("errorCode", pick(record, "resultType"))
        location = nested(pick(record, "locationDetails", "location")) or {}
        coords = nested(location.get("geoCoordinates")) or {}
        device = nested(pick(record, "deviceDetail")) or {}
        interactive = flag(pick(record, "isInteractive"), "isInteractive")
        if kind_interactive is not None:
            interactive = kind_interactive
        return {
            s.EVENT_ID: pick(record, "id"), s.ACCOUNT_ID: account, s.TS: ts,
            s.IP: pick(record, "ipAddress", "IPAddress"),
            s.LAT: number(coords.get("latitude"), "LocationDetails.geoCoordinates.latitude"),
            s.LON: number(coords.get("longitude"), "LocationDetails.geoCoordinates.longitude"),
            s.COUNTRY: country_code(location.get("countryOrRegion")),
            s.DEVICE_ID: device.get("deviceId") or None,
            s.USER_AGENT: pick(record, "userAgent"),
            s.SUCCESS: None if code is None else str(code) == "0",
            s.INTERACTIVE: True if interactive is None else interactive,
            s.ASN: path(record, "autonomousSystemNumber"),
            s.ANONYMIZER: bool(_risk_types(record) & ANONYMIZER_RISKS),
        }


class EntraUsers(Source):
    name = "entra-users"
    table = ACCOUNTS
    expected = "a Graph /users export (id, userPrincipalName, createdDateTime, usageLocation)"
    id_columns = (s.ACCOUNT_ID,)

    def looks_like(self, record: dict) -> bool:
        return pick(record, "userPrincipalName", "id") is not None and "createdDateTime" in {
            k[:1].lower() + k[1:] for k in record}

    def to_row(self, record: dict) -> dict:
        account = pick(record, "userPrincipalName", "id") if self.options.account_field == (
            "upn") else pick(record, "id", "userPrincipalName")
        created = pick(record, "createdDateTime")
        if created is None:
            raise BadRecord("createdDateTime: missing")
        return {s.ACCOUNT_ID: account, s.CREATED_AT: created,
                s.CLAIMED_COUNTRY: iso_country(pick(record, "usageLocation"), "usageLocation")
                or iso_country(pick(record, "country"))}  # free text: used when it is a name
