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


def factorize_values(values) -> tuple[np.ndarray, np.ndarray]:
    """Codes (int32, in order of first appearance; -1 for None, NaN or NA) and distinct values
    of a sequence of text values, without a pandas call: twice as fast as `pd.factorize` on
    the few hundred values of one account, a fifth slower on a million."""
    values = list(values)  # each value one object: a numpy array makes new ones per pass
    distinct = dict.fromkeys(values)  # the Python loops below run over distinct values only
    missing = [v for v in distinct if v is None or v is pd.NA or v != v]
    for v in missing:
        del distinct[v]
    code = {v: i for i, v in enumerate(distinct)} | dict.fromkeys(missing, -1)
    codes = np.fromiter(map(code.__getitem__, values), dtype=np.int32, count=len(values))
    return codes, np.array(list(distinct), dtype=object)
