"""The online row codec: events as plain rows in the contract's column order, the fast
canonical check of a request against the batch validator, and back to typed frames."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from persona_risk.features import schema as s
from persona_risk.features.memory_store import OnlineFeatureState
from persona_risk.features.stored_rows import (
    ACCOUNT_AT,
    EVENT_NAMES,
    EVENT_POSITION,
    ID_AT,
    TS_AT,
    canonical_rows,
    clean_records,
    event_array,
    frame_to_records,
    typed_events,
)
from persona_risk.features.validate import validate_events
from tests.streams import NOW, START


def test_named_positions_point_at_their_columns_of_a_stored_row():
    row = list(EVENT_NAMES)  # a row whose every value is its column's name
    assert [row[i] for i in (ID_AT, ACCOUNT_AT, TS_AT)] == [s.EVENT_ID, s.ACCOUNT_ID, s.TS]
    assert sorted(EVENT_POSITION.values()) == list(range(len(EVENT_NAMES)))


def test_typed_events_read_back_what_frame_to_records_wrote():
    clean, _ = validate_events(pd.DataFrame([
        {s.EVENT_ID: "e1", s.ACCOUNT_ID: "a", s.TS: "2026-01-05T10:00:00.123456Z",
         s.LAT: 40.7, s.LON: -74.0, s.ASN: 13335, s.DEVICE_ID: "d"},
        {s.EVENT_ID: "e2", s.ACCOUNT_ID: "b", s.TS: "2026-01-05T11:00:00Z", s.IP: "1.2.3.4"}]),
        now=NOW)
    rows = frame_to_records(clean, EVENT_NAMES)
    assert rows[0][TS_AT] == pd.Timestamp("2026-01-05T10:00:00.123456Z").value
    assert rows[1][EVENT_POSITION[s.ASN]] is None and rows[1][EVENT_POSITION[s.IP]] == "1.2.3.4"
    back = typed_events(pd.DataFrame(rows, columns=EVENT_NAMES))
    assert frame_to_records(back, EVENT_NAMES) == rows
    assert back[s.TS].dt.tz is not None and str(back[s.ASN].dtype) == "Int64"


IP_SPELLINGS = ["2001:DB8::1", "2001:db8:0::1", "2001:db8::1", "::ffff:1.2.3.4"]  # two IPs
OUT_OF_RANGE = [datetime(1, 1, 1), datetime(1677, 9, 21), datetime(1969, 12, 31, 23, 59),
                datetime(2263, 1, 1), datetime(9999, 12, 31)]


@st.composite
def request_events(draw):
    """Event dicts as the request model dumps them, some not canonical (blanks around text,
    lower-case countries, unknown zones, half coordinates, no id, repeated ids, future)."""
    texts = st.sampled_from([None, "x", " x", "", "1.2.3.4", "d1"])
    events = []
    for i in range(draw(st.integers(1, 6))):
        lat = draw(st.sampled_from([None, 40.7, -33.9, 91.0, float("nan")]))
        events.append({
            s.EVENT_ID: draw(st.sampled_from([f"e{i}", "e0", None, " e9"])),
            s.ACCOUNT_ID: draw(st.sampled_from(["a", "b", " a", ""])),
            s.TS: draw(st.sampled_from(OUT_OF_RANGE) | st.integers(-60, 60 * 24 * 20).map(
                lambda m: (START + pd.Timedelta(minutes=m)).to_pydatetime())).replace(
                    tzinfo=draw(st.sampled_from([None, START.tzinfo]))),
            s.IP: draw(texts | st.sampled_from(IP_SPELLINGS)), s.DEVICE_ID: draw(texts),
            s.USER_AGENT: draw(texts),
            s.LAT: lat, s.LON: draw(st.sampled_from([None, -74.0, 121.5])) if lat is not None
            else draw(st.sampled_from([None, None, 3.0])),
            s.COUNTRY: draw(st.sampled_from([None, "US", "us", "U1"])),
            s.DEVICE_TZ: draw(st.sampled_from([None, "Asia/Shanghai", "Mars/Base"])),
            s.ASN: draw(st.sampled_from([None, 0, 13335])),
            **{col: draw(st.sampled_from([None, True, False])) for col in s.BOOL_DEFAULTS},
        })
    return events


@settings(max_examples=200, deadline=None, derandomize=True)
@given(request_events())
def test_canonical_rows_are_what_the_batch_validator_keeps(events):
    now = NOW
    rows = canonical_rows(events, now)
    clean, quarantine = validate_events(pd.DataFrame(events), now=now)
    if rows is None:  # left to the batch validator, which decides row by row
        return
    assert quarantine.empty
    assert rows == frame_to_records(clean, EVENT_NAMES)


@pytest.mark.parametrize("ip", IP_SPELLINGS)
def test_an_ip_in_another_spelling_is_left_to_the_batch_validator(ip):
    event = {s.EVENT_ID: "x1", s.ACCOUNT_ID: "a", s.TS: START.to_pydatetime(), s.IP: ip}
    rows, _ = clean_records([event], START)
    assert rows[0][EVENT_POSITION[s.IP]] in ("2001:db8::1", "1.2.3.4")
    assert (canonical_rows([event], START) is None) == (ip not in ("2001:db8::1",))


def test_canonical_events_are_stored_without_the_batch_validator():
    state, again = OnlineFeatureState(), OnlineFeatureState()
    event = {s.EVENT_ID: "x1", s.ACCOUNT_ID: "a", s.TS: START.to_pydatetime(), s.LAT: 40.7,
             s.LON: -74.0, s.DEVICE_ID: "d"}
    assert canonical_rows([event], START) is not None
    rows, quarantine = clean_records([event], START)
    assert quarantine.empty
    got = state.add_rows(rows * 2, [1, 1])
    expected = again.add_event_batches(pd.DataFrame([event, event]), [1, 1], now=START)
    assert got == [(["a"], []), (["a"], [])]
    assert [t for t, _ in expected] == [["a"], ["a"]]
    assert state.to_dict() == again.to_dict()


def test_event_arrays_are_typed_as_the_core_reads_them():
    assert event_array(s.TS, [3, 1]).dtype == np.int64
    asn = event_array(s.ASN, [7922, None])
    assert asn.dtype == np.float64 and asn[0] == 7922 and np.isnan(asn[1])
    assert event_array(s.INTERACTIVE, [True, None]).tolist() == [True, False]
    ips = event_array(s.IP, ["203.0.113.7", None])
    assert ips.dtype == object and ips.tolist() == ["203.0.113.7", None]
