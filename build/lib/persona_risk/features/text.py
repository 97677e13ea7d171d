"""Text columns built from their distinct values: one Arrow `take` instead of a million Python
strings."""

from __future__ import annotations

import numpy as np
import pandas as pd


def take_text(uniques, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """A text Series whose row i is `uniques[codes[i]]` (missing where the code is -1 or the
    value is None)."""
    values = pd.array(np.asarray(uniques, dtype=object), dtype="str")
    return pd.Series(values.take(np.asarray(codes, dtype=np.intp), allow_fill=True),
                     index=index)
