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

# quarantine tables
REASON = "reason"
ROW = "row"


@dataclass(frozen=True)
class Column:
    """One column of the contract: its name, kind and whether it is required (what each column
    means is the README's data contract table)."""

    name: str
    kind: str  # string | timestamp | float | int | bool | country | timezone
    required: bool


ACCOUNT_COLUMNS: tuple[Column, ...] = (
    Column(ACCOUNT_ID, "string", True),
    Column(CREATED_AT, "timestamp", True),
    Column(CLAIMED_COUNTRY, "country", False),
    Column(CLAIMED_TIMEZONE, "timezone", False),
    Column(CLAIMED_LAT, "float", False),
    Column(CLAIMED_LON, "float", False),
    Column(PAYOUT_ID, "string", False),
    Column(PHONE_ID, "string", False),
    Column(LABEL, "int", False),
    Column(LABELLED_AT, "timestamp", False),
    Column(PERSONA, "string", False),
)

EVENT_COLUMNS: tuple[Column, ...] = (
    Column(EVENT_ID, "string", False),
    Column(ACCOUNT_ID, "string", True),
    Column(TS, "timestamp", True),
    Column(IP, "string", False),
    Column(LAT, "float", False),
    Column(LON, "float", False),
    Column(COUNTRY, "country", False),
    Column(DEVICE_ID, "string", False),
    Column(DEVICE_TZ, "timezone", False),
    Column(USER_AGENT, "string", False),
    Column(SUCCESS, "bool", False),
    Column(INTERACTIVE, "bool", False),
    Column(ASN, "int", False),
    Column(ANONYMIZER, "bool", False),
    Column(GEO_SOURCE, "string", False),
)
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
