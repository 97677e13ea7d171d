"""Raw columns read into the contract's dtypes: nothing raises, what cannot be read is
missing or flagged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from persona_risk.features.parsing import (
    as_float,
    boolean_column,
    missing,
    parse_boolean,
    parse_timestamps,
    stripped_text,
    text_column,
    unknown_values,
    upper_text,
)


@pytest.mark.parametrize(("value", "read"), [
    (True, True), (np.bool_(False), False), (1, True), (0.0, False), (np.int64(1), True),
    (" Yes ", True), ("T", True), ("y", True), ("FALSE", False), ("0", False), ("n", False),
    (2, None), (0.5, None), ("maybe", None), ("", None), (None, None)])
def test_parse_boolean(value, read):
    assert parse_boolean(value) is read


def test_boolean_column_defaults_blanks_and_flags_the_unreadable():
    values, bad = boolean_column(pd.Series(["yes", " ", None, "no", "perhaps", 1]), default=True)
    assert values.tolist() == [True, True, True, False, True, True]
    assert bad.tolist() == [False, False, False, False, True, False]
    values, bad = boolean_column(pd.Series([True, False]), default=True)
    assert values.tolist() == [True, False] and not bad.any()


def test_text_is_stripped_and_blank_is_missing_also_in_categorical_columns():
    plain = pd.Series([" a ", "", None, "b"])
    assert stripped_text(plain).tolist()[::3] == ["a", "b"]
    assert stripped_text(plain).isna().tolist() == [False, True, True, False]
    assert missing(plain).tolist() == [False, True, True, False]
    categorical = text_column(pd.Series([" a", "a ", "  ", "b"], dtype="category"))
    assert isinstance(categorical.dtype, pd.CategoricalDtype)
    assert list(categorical.cat.categories) == ["a", "b"]  # " a" and "a " merged
    assert categorical.isna().tolist() == [False, False, True, False]
    assert upper_text(categorical).astype(object).tolist()[::3] == ["A", "B"]


def test_timestamps_are_utc_and_numbers_are_not_read_as_epochs():
    got = parse_timestamps(pd.Series(["2026-01-05T10:00:00+02:00", " 2026-01-05 ", "soon"]))
    assert got.iloc[0] == pd.Timestamp("2026-01-05T08:00:00Z")
    assert got.iloc[1] == pd.Timestamp("2026-01-05T00:00:00Z") and pd.isna(got.iloc[2])
    assert parse_timestamps(pd.Series([1_767_225_600, 0])).isna().all()
    naive = parse_timestamps(pd.Series(pd.to_datetime(["2026-01-05 10:00"])))
    assert str(naive.dt.tz) == "UTC" and naive.iloc[0].hour == 10


def test_floats_and_unknown_values():
    assert as_float(pd.Series(["1.5", "x", None, 2])).tolist()[::3] == [1.5, 2.0]
    assert as_float(pd.Series(["x"])).isna().all()
    mask = unknown_values(pd.Series(["US", "XX", None, "XX"]), {"US"})
    assert mask.tolist() == [False, True, False, True]
