"""Ranking and operating-point metrics with bootstrap 95% intervals.

One definition serves the point figure and every bootstrap resample: each metric is read off
the score's ranking curve (true and false positives at each distinct threshold), as
scikit-learn computes it, in a few array passes, so that hundreds of resamples stay cheap.
Resamples are stratified by class (each keeps the test part's fraudulent and honest counts),
and paired: every scorer is measured on the same resampled accounts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BOOTSTRAP_ROUNDS = 300
CONFIDENCE = 0.95


def _curve(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives at or above each distinct score, highest score first."""
    order = np.argsort(-score, kind="stable")
    ranked, hits = score[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    tps = np.cumsum(hits)[last]
    return tps, last + 1 - tps


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    tps, fps = _curve(y, score)
    tpr, fpr = np.r_[0, tps] / tps[-1], np.r_[0, fps] / fps[-1]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def pr_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Average precision: precision at each threshold weighted by the recall it adds."""
    tps, fps = _curve(y, score)
    recall = np.r_[0, tps] / tps[-1]
    return float(np.sum(np.diff(recall) * tps / (tps + fps)))


def recall_at_fpr(y: np.ndarray, score: np.ndarray, fpr: float) -> float:
    """Highest recall over thresholds whose false-positive rate is at most `fpr`."""
    tps, fps = _curve(y, score)
    ok = fps / fps[-1] <= fpr
    return float(tps[ok].max() / tps[-1]) if ok.any() else 0.0


def threshold_at_fpr(y: np.ndarray, score: np.ndarray, fpr: float) -> float:
    """The lowest score threshold whose false-positive rate (score >= t) is at most `fpr`."""
    neg = np.sort(score[y == 0])
    candidates = np.unique(score)
    rates = 1 - np.searchsorted(neg, candidates, "left") / max(len(neg), 1)
    ok = candidates[rates <= fpr]
    return float(ok.min()) if len(ok) else float(np.nextafter(score.max(), np.inf))


PRECISION_AT = "precision_at_"  # the scorecard's name of precision at k, before k


def precision_at_k(y: np.ndarray, score: np.ndarray, k: int) -> float:
    """Precision among the k highest scores (ties broken by row order)."""
    top = np.argsort(-score, kind="stable")[:k]
    return float(y[top].mean())


def scorecard(y: np.ndarray, score: np.ndarray, k: int) -> dict[str, float]:
    """ROC-AUC, PR-AUC, recall at 1% and 0.1% FPR, precision at k, Brier score (of `score`
    read as a probability)."""
    return {
        "roc_auc": roc_auc(y, score), "pr_auc": pr_auc(y, score),
        "recall_at_1pct_fpr": recall_at_fpr(y, score, 0.01),
        "recall_at_0.1pct_fpr": recall_at_fpr(y, score, 0.001),
        f"{PRECISION_AT}{k}": precision_at_k(y, score, k),
        "brier": float(np.mean((score - y) ** 2)),
    }


def resamples(y: np.ndarray, rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0) -> np.ndarray:
    """Row indices of `rounds` bootstrap resamples, stratified by class (rounds x len(y))."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    draws = np.concatenate([rng.choice(pos, (rounds, len(pos))),
                            rng.choice(neg, (rounds, len(neg)))], axis=1)
    return rng.permuted(draws, axis=1)  # row order breaks ties (precision at k): keep it random


def interval(values: np.ndarray) -> tuple[float, float]:
    """The central `CONFIDENCE` interval of bootstrap values."""
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)


def scorecards(y: np.ndarray, scores: dict[str, np.ndarray], k: int, seed: int = 0,
               rounds: int = BOOTSTRAP_ROUNDS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Point figures (scorer x metric) and their 95% intervals as "low high" pairs in a frame
    with the same shape (columns `<metric>_low`, `<metric>_high`)."""
    points = pd.DataFrame({name: scorecard(y, sc, k) for name, sc in scores.items()}).T
    draws = resamples(y, rounds, seed)
    rows = {}
    for name, sc in scores.items():
        boot = pd.DataFrame([scorecard(y[idx], sc[idx], k) for idx in draws])
        rows[name] = {f"{m}_{side}": v for m in boot.columns
                      for side, v in zip(("low", "high"), interval(boot[m].to_numpy()),
                                         strict=True)}
    return points, pd.DataFrame(rows).T


def paired_difference(y: np.ndarray, a: np.ndarray, b: np.ndarray, metric,
                      seed: int = 0, rounds: int = BOOTSTRAP_ROUNDS
                      ) -> tuple[float, float, float]:
    """metric(a) - metric(b) on the same accounts, with its 95% bootstrap interval."""
    diffs = np.array([metric(y[idx], a[idx]) - metric(y[idx], b[idx])
                      for idx in resamples(y, rounds, seed)])
    return (float(metric(y, a) - metric(y, b)), *interval(diffs))


def with_intervals(points: pd.DataFrame, intervals: pd.DataFrame, digits: int = 3
                   ) -> pd.DataFrame:
    """Cells as "0.912 [0.880, 0.941]" for reports."""
    cells = {m: [f"{points.loc[i, m]:.{digits}f} [{intervals.loc[i, f'{m}_low']:.{digits}f}, "
                 f"{intervals.loc[i, f'{m}_high']:.{digits}f}]" for i in points.index]
             for m in points.columns}
    return pd.DataFrame(cells, index=points.index)
