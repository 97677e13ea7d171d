"""Stored histories (typed arrays, `features.stored_rows.event_array`) as plain lists, with None
where a number is missing, for comparisons and for rows written by hand."""

from __future__ import annotations

import numpy as np


def plain(history: dict[str, np.ndarray]) -> dict[str, list]:
    """Each column's values as Python values, NaN as None."""
    return {name: [None if isinstance(v, float) and v != v else v for v in values.tolist()]
            for name, values in history.items()}
