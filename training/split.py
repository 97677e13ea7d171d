"""Splitting labelled accounts into train, validation and test parts.

Three ways, one row per account (so an account never sits in two parts):

- `time`: by creation; train on accounts created before a cut, validate and test on later
  ones. Fractions are of the accounts created during the observed window (after the first
  event), so that validation and test measure next month's new accounts.
- `label-time`: the same by `labelled_at`, the time the label became known (case files).
- `random`: stratified by label, for tables whose times cannot separate the parts (one
  `created_at` for all accounts after a tenant migration).

`auto` (the default) takes `time` and falls back to `random`, saying why, when the time split
cannot give every part both classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from persona_risk.features import schema as s

TRAIN, VAL, TEST = "train", "val", "test"
PARTS = (TRAIN, VAL, TEST)
AUTO, TIME, LABEL_TIME, RANDOM = "auto", "time", "label-time", "random"
METHODS = (AUTO, TIME, LABEL_TIME, RANDOM)
MIN_POSITIVES, MIN_NEGATIVES = 30, 300  # below these a part's figures are mostly noise


def too_small(fraud: int, honest: int) -> bool:
    """True when a set of accounts has too few of a class for its figures to mean much."""
    return fraud < MIN_POSITIVES or honest < MIN_NEGATIVES


class SplitError(ValueError):
    """The split cannot be made; the message says why and which option would work."""


class SplitWarning(UserWarning):
    """A part of the split is too small to fit or judge on (see `Split.warnings`)."""


@dataclass(frozen=True)
class SplitConfig:
    """method: one of `METHODS`; val_frac / test_frac: shares of the accounts (of the window's
    new accounts for the time splits) for validation and test; seed: for `random`."""

    method: str = AUTO
    val_frac: float = 0.25
    test_frac: float = 0.35
    seed: int = 0


@dataclass
class Split:
    part: pd.Series  # train / val / test per row of the table
    method: str
    reason: str  # why this method was used
    cuts: dict[str, str] = field(default_factory=dict)  # val / test cut times (time splits)

    def mask(self, name: str) -> np.ndarray:
        return (self.part == name).to_numpy()

    def counts(self, labels: pd.Series) -> pd.DataFrame:
        """Accounts, fraudulent and honest accounts per part."""
        rows = {p: {"accounts": int(self.mask(p).sum()),
                    "fraud": int((labels[self.mask(p)] == 1).sum()),
                    "honest": int((labels[self.mask(p)] == 0).sum())} for p in PARTS}
        return pd.DataFrame(rows).T.rename_axis("part")

    def warnings(self, labels: pd.Series) -> list[str]:
        """One line per part too small to fit or judge on."""
        out = []
        for part, row in self.counts(labels).iterrows():
            if too_small(row["fraud"], row["honest"]):
                out.append(f"the {part} part has {row['fraud']} fraudulent and {row['honest']} "
                           f"honest accounts (fewer than {MIN_POSITIVES} or {MIN_NEGATIVES}): "
                           "its figures are uncertain, see the intervals")
        return out


def _check_fractions(cfg: SplitConfig) -> None:
    if cfg.method not in METHODS:
        raise SplitError(f"split: unknown method {cfg.method!r}; choose one of "
                         f"{', '.join(METHODS)}")
    if not (0 < cfg.val_frac and 0 < cfg.test_frac and cfg.val_frac + cfg.test_frac < 1):
        raise SplitError("split: val_frac and test_frac must be positive and sum below 1")


def _both_classes(part: pd.Series, labels: pd.Series, method: str) -> None:
    for name in PARTS:
        got = labels[(part == name).to_numpy()]
        if got.nunique() < 2:
            raise SplitError(
                f"split {method}: the {name} part ({len(got)} accounts) has a single class; "
                "use --split random (stratified by label) or other fractions")


def _by_time(times: pd.Series, labels: pd.Series, since: pd.Timestamp | None,
             cfg: SplitConfig, method: str) -> Split:
    new = times[times >= since] if since is not None else times
    if len(new) < 10:
        new = times
    val_cut = new.quantile(1 - cfg.val_frac - cfg.test_frac)
    test_cut = new.quantile(1 - cfg.test_frac)
    part = pd.Series(np.where(times >= test_cut, TEST, np.where(times >= val_cut, VAL, TRAIN)),
                     index=times.index)
    _both_classes(part, labels, method)
    return Split(part, method, f"by {times.name}",
                 {"val_cut": str(val_cut), "test_cut": str(test_cut)})


def _random(labels: pd.Series, cfg: SplitConfig) -> Split:
    rng = np.random.default_rng(cfg.seed)
    part = np.full(len(labels), TRAIN, dtype=object)
    for cls in (0, 1):
        rows = rng.permutation(np.flatnonzero(labels.to_numpy() == cls))
        if len(rows) < 3:
            raise SplitError(f"split random: only {len(rows)} accounts with label {cls}; "
                             "each part needs at least one of each class: label more accounts")
        n_test = max(1, int(round(len(rows) * cfg.test_frac)))
        n_val = max(1, int(round(len(rows) * cfg.val_frac)))
        part[rows[:n_test]] = TEST
        part[rows[n_test:n_test + n_val]] = VAL
    return Split(pd.Series(part, index=labels.index), RANDOM, "stratified by label")


def make_split(table: pd.DataFrame, window_start: pd.Timestamp | None,
               cfg: SplitConfig = SplitConfig()) -> Split:
    """Split the labelled rows of `table` (`label`, `created_at`, optionally `labelled_at`)."""
    _check_fractions(cfg)
    labels = table[s.LABEL]
    if cfg.method == RANDOM:
        return _random(labels, cfg)
    if cfg.method == LABEL_TIME:
        if s.LABELLED_AT not in table or table[s.LABELLED_AT].isna().any():
            raise SplitError("split label-time: needs a labelled_at time on every labelled "
                             "account; use --split time or --split random")
        return _by_time(table[s.LABELLED_AT], labels, None, cfg, LABEL_TIME)
    try:
        return _by_time(table[s.CREATED_AT], labels, window_start, cfg, TIME)
    except SplitError as err:
        if cfg.method == TIME:
            raise
        split = _random(labels, cfg)
        split.reason = f"the time split is impossible ({err}); stratified by label instead"
        return split
