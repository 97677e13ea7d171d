"""The online row codec: events as plain rows in the contract's column order."""

from __future__ import annotations

from persona_risk.features import schema as s
from persona_risk.features.stored_rows import (
    ACCOUNT_AT,
    ASN_AT,
    DEVICE_AT,
    EVENT_NAMES,
    EVENT_POSITION,
    ID_AT,
    IP_AT,
    TS_AT,
)


def test_named_positions_point_at_their_columns_of_a_stored_row():
    row = list(EVENT_NAMES)  # a row whose every value is its column's name
    assert [row[i] for i in (ID_AT, ACCOUNT_AT, TS_AT, DEVICE_AT, IP_AT, ASN_AT)] == [
        s.EVENT_ID, s.ACCOUNT_ID, s.TS, s.DEVICE_ID, s.IP, s.ASN]
    assert sorted(EVENT_POSITION.values()) == list(range(len(EVENT_NAMES)))
