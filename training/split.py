"""Out-of-time split: train on accounts created before a cut, validate and test on later ones.

Fractions are of the accounts created during the observed window (after the first event), so
that validation and test measure next month's new accounts, not a shuffled copy of old ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features import schema as s

TRAIN, VAL, TEST = "train", "val", "test"


@dataclass(frozen=True)
class SplitConfig:
    """val_frac / test_frac: shares of the window's new accounts for validation and test."""

    val_frac: float = 0.25
    test_frac: float = 0.35


@dataclass
class Split:
    part: pd.Series  # train / val / test per row of the table
    val_cut: pd.Timestamp
    test_cut: pd.Timestamp

    def mask(self, name: str) -> np.ndarray:
        return (self.part == name).to_numpy()


def out_of_time_split(table: pd.DataFrame, window_start: pd.Timestamp,
                      cfg: SplitConfig = SplitConfig()) -> Split:
    """Split rows of `table` (with `created_at` and `label`) by creation time."""
    if not (0 < cfg.val_frac and 0 < cfg.test_frac and cfg.val_frac + cfg.test_frac < 1):
        raise ValueError("split: val_frac and test_frac must be positive and sum below 1")
    created = table[s.CREATED_AT]
    new = created[created >= window_start]
    if len(new) < 10:
        new = created
    val_cut = new.quantile(1 - cfg.val_frac - cfg.test_frac)
    test_cut = new.quantile(1 - cfg.test_frac)
    part = pd.Series(np.where(created >= test_cut, TEST, np.where(created >= val_cut, VAL, TRAIN)),
                     index=table.index)
    for name in (TRAIN, VAL, TEST):
        labels = table.loc[part == name, s.LABEL]
        if labels.nunique() < 2:
            raise ValueError(f"split: the {name} part ({len(labels)} accounts) has a single "
                             "class; use more data or other fractions")
    return Split(part, val_cut, test_cut)
