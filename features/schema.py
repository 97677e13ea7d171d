"""The data contract: every column name of `accounts` and `events`, named once.

Every other module imports the names from here. Timestamps are UTC, coordinates are degrees,
countries ISO 3166-1 alpha-2, time zones IANA names.
"""

from __future__ import annotations

from dataclasses import dataclass

# accounts
ACCOUNT_ID = "account_id"
CREATED_AT = "created_at"
CLAIMED_COUNTRY = "claimed_country"
CLAIMED_TIMEZONE = "claimed_timezone"
CLAIMED_LAT = "claimed_lat"
CLAIMED_LON = "claimed_lon"
PAYOUT_ID = "payout_id"
PHONE_ID = "phone_id"
LABEL = "label"
LABELLED_AT = "labelled_at"
PERSONA = "persona"

# feature tables: the time the features describe (UTC)
AS_OF = "as_of"

# events
EVENT_ID = "event_id"
TS = "ts"
IP = "ip"
LAT = "lat"
LON = "lon"
COUNTRY = "country"
DEVICE_ID = "device_id"
DEVICE_TZ = "device_tz"
USER_AGENT = "user_agent"
SUCCESS = "success"
INTERACTIVE = "interactive"
ASN = "asn"
ANONYMIZER = "anonymizer"
GEO_SOURCE = "geo_source"

# the simulator's truth table (`World.truth`), never an input
OPERATOR_ID = "operator_id"
FARM_ID = "farm_id"

# quarantine tables (an input column of one of these names is kept as `input_<name>`)
FILE = "file"
REASON = "reason"
ROW = "row"


@dataclass(frozen=True)
class Column:
    """One column of the contract: its name, kind, whether it is required, and what it means
    (the README's data-contract tables and the OpenAPI field descriptions quote it)."""

    name: str
    kind: str  # string | timestamp | float | int | bool | country | timezone
    required: bool
    meaning: str


ACCOUNT_COLUMNS: tuple[Column, ...] = (
    Column(ACCOUNT_ID, "string", True, "stable id, unique"),
    Column(CREATED_AT, "timestamp", True, "account creation, UTC"),
    Column(CLAIMED_COUNTRY, "country", False, "country on the profile"),
    Column(CLAIMED_TIMEZONE, "timezone", False, "time zone on the profile / HR record"),
    Column(CLAIMED_LAT, "float", False, "claimed home latitude, degrees"),
    Column(CLAIMED_LON, "float", False, "claimed home longitude, degrees"),
    Column(PAYOUT_ID, "string", False, "hashed payout or bank account"),
    Column(PHONE_ID, "string", False, "hashed phone number"),
    Column(LABEL, "int", False, "1 = fraudulent persona, 0 = honest, empty = unknown (training)"),
    Column(LABELLED_AT, "timestamp", False, "when the label became known, UTC (training)"),
    Column(PERSONA, "string", False, "ground-truth archetype (simulator)"),
)

EVENT_COLUMNS: tuple[Column, ...] = (
    Column(EVENT_ID, "string", False, "unique id; used to drop duplicates"),
    Column(ACCOUNT_ID, "string", True, "account that signed in"),
    Column(TS, "timestamp", True, "event time, UTC"),
    Column(IP, "string", False, "IPv4 or IPv6"),
    Column(LAT, "float", False, "latitude of the IP, degrees"),
    Column(LON, "float", False, "longitude of the IP, degrees"),
    Column(COUNTRY, "country", False, "country of the IP"),
    Column(DEVICE_ID, "string", False, "device or MFA-device identifier"),
    Column(DEVICE_TZ, "timezone", False, "time zone the device or browser reports"),
    Column(USER_AGENT, "string", False, "user agent"),
    Column(SUCCESS, "bool", False, "sign-in succeeded (default true)"),
    Column(INTERACTIVE, "bool", False, "interactive sign-in (default true)"),
    Column(ASN, "int", False, "autonomous system of the IP"),
    Column(ANONYMIZER, "bool", False, "source flags the IP as VPN, proxy, Tor or hosting"),
    Column(GEO_SOURCE, "string", False, "where lat/lon came from: log, mmdb, geoip2fast"),
)
# each column's kind by name (account_id is the same kind in both tables)
KIND: dict[str, str] = {c.name: c.kind for c in (*ACCOUNT_COLUMNS, *EVENT_COLUMNS)}
# ASN, USER_AGENT and GEO_SOURCE are validated and kept but feed no model feature: the
# investigation page shows user agents, the raw-column baseline of the evaluation counts distinct
# ASNs and user agents, GEO_SOURCE tells an analyst where a location came from. The contract keeps
# them so that adapters fill them once and a future feature finds them checked.

# account columns that only training reads: never stored online or needed to score
TRAINING_ONLY = (LABEL, LABELLED_AT, PERSONA)

BOOL_DEFAULTS = {SUCCESS: True, INTERACTIVE: True, ANONYMIZER: False}


def names(columns: tuple[Column, ...]) -> list[str]:
    """Column names of a table, in contract order."""
    return [c.name for c in columns]


def required(columns: tuple[Column, ...]) -> list[str]:
    """Names of the required columns of a table."""
    return [c.name for c in columns if c.required]
