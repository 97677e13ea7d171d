"""Text columns from distinct values and codes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from persona_risk.features.text import take_text


def test_take_text_maps_codes_and_leaves_missing_missing():
    out = take_text(["a", None, "c"], np.array([2, 0, -1, 1, 2]), pd.RangeIndex(5))
    assert out.tolist()[:2] == ["c", "a"] and out.tolist()[4] == "c"
    assert out.isna().tolist() == [False, False, True, True, False]
    assert pd.api.types.is_string_dtype(out)
