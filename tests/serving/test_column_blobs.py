"""Column blobs: every kind of event column comes back as the typed array of what went in
(`event_array`), blobs written apart join into the blob of all their values, whatever their
sizes, and a blob of the wrong length is refused."""

from __future__ import annotations

import numpy as np
import pytest

from persona_risk.features import schema as s
from persona_risk.features.stored_rows import event_array
from persona_risk.serving.column_blobs import concat, decode, encode, joined, kept

VALUES = {
    "timestamp": [1_767_225_600_123_456_789, None, 0],
    "float": [40.712_776_123_456_78, None, -0.0],
    "int": [4_294_967_295, None, 0],
    "bool": [True, None, False],
    "string": ["a,b", None, "[\"]"],
}


@pytest.mark.parametrize("name", s.names(s.EVENT_COLUMNS))
def test_each_event_column_comes_back_as_it_went_in(name):
    values = VALUES.get(s.KIND[name], VALUES["string"])
    back = decode(name, encode(name, values), len(values))
    np.testing.assert_array_equal(back, event_array(name, values))
    assert back.dtype == event_array(name, values).dtype
    back[0] = back[1]  # writable: not a view of the blob's bytes
    np.testing.assert_array_equal(decode(name, encode(name, back), 3), event_array(
        name, [values[1], values[1], values[2]]))  # and an array encodes as its values


@pytest.mark.parametrize("name", [s.TS, s.LAT, s.ASN, s.SUCCESS, s.IP])
def test_parts_join_into_the_blob_of_all_their_values(name):
    values = VALUES.get(s.KIND[name], VALUES["string"])
    parts = [values[:1], [], values[1:]]
    joined = concat(name, [encode(name, part) for part in parts], [len(p) for p in parts])
    np.testing.assert_array_equal(decode(name, joined, len(values)), event_array(name, values))
    np.testing.assert_array_equal(decode(name, concat(name, [None, encode(name, values)], [2, 3]),
                                         5), event_array(name, [None, None, *values]))


def test_a_column_without_a_blob_reads_as_missing():
    assert decode(s.USER_AGENT, None, 2).tolist() == [None, None]
    assert np.isnan(decode(s.LAT, None, 2)).all() and not decode(s.SUCCESS, None, 2).any()


def test_accounts_join_into_typed_columns_in_the_order_given():
    blobs = [[encode(s.TS, [2, 1]), encode(s.IP, ["a", None])], [encode(s.TS, [5]), None]]
    out = joined([("x", 2, blobs[0]), ("y", 1, blobs[1])], (s.TS, s.IP), (s.ACCOUNT_ID, s.TS, s.IP))
    assert out[s.ACCOUNT_ID].tolist() == ["x", "x", "y"] and out[s.TS].dtype == np.int64
    assert out[s.TS].tolist() == [2, 1, 5] and out[s.IP].tolist() == ["a", None, None]
    assert joined([], (s.TS,), (s.ACCOUNT_ID, s.TS))[s.TS].dtype == np.int64


@pytest.mark.parametrize("name", [s.TS, s.IP])
def test_a_blob_of_another_length_is_refused_not_shifted(name):
    values = VALUES.get(s.KIND[name], VALUES["string"])
    with pytest.raises(ValueError, match=f"column {name} holds 3 values, expected 4"):
        decode(name, encode(name, values), 4)


@pytest.mark.parametrize("name", [s.TS, s.LAT, s.ASN, s.SUCCESS, s.IP])
def test_kept_values_stay_as_they_were_stored_missing_included(name):
    values = VALUES.get(s.KIND[name], VALUES["string"])
    keep = np.array([False, True, True])
    assert kept(name, encode(name, values), 3, keep) == encode(name, values[1:])
    assert kept(name, None, 3, keep) == b""
    with pytest.raises(ValueError, match="expected 4"):
        kept(name, encode(name, values), 4, np.ones(4, bool))
