"""Text columns from distinct values and codes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from persona_risk.features.text import factorize_values, take_text


def test_take_text_maps_codes_and_leaves_missing_missing():
    out = take_text(["a", None, "c"], np.array([2, 0, -1, 1, 2]), pd.RangeIndex(5))
    assert out.tolist()[:2] == ["c", "a"] and out.tolist()[4] == "c"
    assert out.isna().tolist() == [False, False, True, True, False]
    assert pd.api.types.is_string_dtype(out)


def test_factorize_values_agrees_with_pandas_and_knows_every_missing_marker():
    values = ["b", None, "a", np.nan, "b", pd.NA, "c", "a"]
    codes, uniques = factorize_values(values)
    expected_codes, expected_uniques = pd.factorize(pd.Series(values, dtype=object))
    assert codes.dtype == np.int32 and codes.tolist() == expected_codes.tolist()
    assert uniques.tolist() == list(expected_uniques) == ["b", "a", "c"]
    assert factorize_values([])[0].tolist() == []


def test_factorize_values_treats_every_nan_object_as_missing():
    codes, uniques = factorize_values([float("nan"), "a", float("nan")])
    assert codes.tolist() == [-1, 0, -1] and uniques.tolist() == ["a"]
    codes, uniques = factorize_values(np.array([1.5, np.nan, 1.5]))
    assert codes.tolist() == [0, -1, 0] and uniques.tolist() == [1.5]
