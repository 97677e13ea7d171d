"""Column blobs: every kind of event column comes back as it went in (None where missing),
blobs written apart join into the blob of all their values, whatever their sizes, and a blob of
the wrong length is refused."""

from __future__ import annotations

import pytest

from persona_risk.features import schema as s
from persona_risk.serving.column_blobs import concat, decode, encode

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
    assert decode(name, encode(name, values), len(values)) == values


@pytest.mark.parametrize("name", [s.TS, s.LAT, s.ASN, s.SUCCESS, s.IP])
def test_parts_join_into_the_blob_of_all_their_values(name):
    values = VALUES.get(s.KIND[name], VALUES["string"])
    parts = [values[:1], [], values[1:]]
    joined = concat(name, [encode(name, part) for part in parts], [len(p) for p in parts])
    assert decode(name, joined, len(values)) == values
    assert decode(name, concat(name, [None, encode(name, values)], [2, 3]), 5) == [
        None, None, *values]


def test_a_column_without_a_blob_reads_as_missing():
    assert decode(s.USER_AGENT, None, 2) == [None, None]


@pytest.mark.parametrize("name", [s.TS, s.IP])
def test_a_blob_of_another_length_is_refused_not_shifted(name):
    values = VALUES.get(s.KIND[name], VALUES["string"])
    with pytest.raises(ValueError, match=f"column {name} holds 3 values, expected 4"):
        decode(name, encode(name, values), 4)
