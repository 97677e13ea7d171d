"""Okta: System Log sign-in events to events, and a users export to accounts."""

from __future__ import annotations

from persona_risk.features import schema as s
from persona_risk.features.adapters.base import ACCOUNTS, BadRecord, Skip, Source
from persona_risk.features.adapters.fields import country_code, flag, iso_country, number, path
from persona_risk.features.checks import known_timezones

SIGN_IN_EVENTS = ("user.session.start", "user.authentication.")
PROXY = "securityContext.isProxy"
UNKNOWN = "unknown"  # the actor of a failed sign-in whose login names no user


class OktaEvents(Source):
    name = "okta"
    expected = ("Okta System Log events (eventType, published, actor, client, outcome) as JSON "
                "lines or a JSON array")

    def looks_like(self, record: dict) -> bool:
        return "eventType" in record and "published" in record and "actor" in record

    def to_row(self, record: dict) -> dict:
        event_type = str(record.get("eventType", ""))
        if not event_type.startswith(SIGN_IN_EVENTS):
            raise Skip
        actor = record.get("actor") or {}
        if actor.get("id") == UNKNOWN:
            raise BadRecord(f"actor.id: {UNKNOWN} (the login typed, {actor.get('alternateId')!r},"
                            " is no Okta user)")
        account = (actor.get("alternateId") if self.options.account_field == "upn"
                   else actor.get("id")) or actor.get("id") or actor.get("alternateId")
        if not record.get("published"):
            raise BadRecord("published: missing")
        geo = path(record, "client.geographicalContext") or {}
        where = geo.get("geolocation") or {}
        result = path(record, "outcome.result")
        return {
            s.EVENT_ID: record.get("uuid"), s.ACCOUNT_ID: account, s.TS: record["published"],
            s.IP: path(record, "client.ipAddress"),
            s.LAT: number(where.get("lat"), "client.geographicalContext.geolocation.lat"),
            s.LON: number(where.get("lon"), "client.geographicalContext.geolocation.lon"),
            s.COUNTRY: country_code(geo.get("country")),
            s.DEVICE_ID: path(record, "debugContext.debugData.deviceFingerprint"),
            s.USER_AGENT: path(record, "client.userAgent.rawUserAgent"),
            s.SUCCESS: None if result is None else result == "SUCCESS",
            s.INTERACTIVE: True,
            s.ASN: path(record, "securityContext.asNumber"),
            s.ANONYMIZER: flag(path(record, PROXY), PROXY) or False,
        }


class OktaUsers(Source):
    name = "okta-users"
    table = ACCOUNTS
    expected = "an Okta users export (id, created, profile.login, profile.countryCode)"
    id_columns = (s.ACCOUNT_ID,)

    def looks_like(self, record: dict) -> bool:
        return "created" in record and "profile" in record

    def to_row(self, record: dict) -> dict:
        profile = record.get("profile") or {}
        account = (profile.get("login") or profile.get("email") if self.options.account_field
                   == "upn" else record.get("id")) or record.get("id")
        if not record.get("created"):
            raise BadRecord("created: missing")
        zone = profile.get("timezone")
        if zone and zone not in known_timezones():
            raise BadRecord(f"profile.timezone: unknown time-zone name {zone!r}")
        return {s.ACCOUNT_ID: account, s.CREATED_AT: record["created"],
                s.CLAIMED_COUNTRY: iso_country(profile.get("countryCode"), "profile.countryCode"),
                s.CLAIMED_TIMEZONE: zone or None}
