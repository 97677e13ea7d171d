"""Drift and data quality of a nightly run: are tonight's features and scores like the ones
the model was trained on, and like last night's?

A `Profile` (`models.profile`) is the binned distribution of each feature, its missing values,
and the score and band counts; training logs one of its data with the model, a run keeps its
own beside the output (`profile_path`). Bins are fixed by the reference, or by the previous run,
or by the first partition scored. `compare` gives per feature the population stability index
(PSI) and the change of the missing share against the training reference and the previous run,
and the score PSI and band shares against the previous run; values past `DriftLimits` become
warnings. `log_to_mlflow` keeps a run's summary and drift as an MLflow run when a tracking
server is set.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from persona_risk.features.io import read_table, side_file
from persona_risk.models.profile import Profile, profile_of
from persona_risk.models.risk_model import BANDS

PSI_FLOOR = 1e-4  # share given to an empty bin, so that PSI stays finite
NIGHTLY_EXPERIMENT = "persona-risk-nightly"
log = logging.getLogger("persona_risk.drift")


@dataclass
class DriftLimits:
    """Past these a run is flagged: PSI of a feature or of the score (0.1 is a moderate shift,
    0.25 a large one), the change of a feature's missing share and of a band's share
    (fractions, absolute); no run of fewer than `min_accounts` accounts is compared."""

    feature_psi: float = 0.25
    null_rate_change: float = 0.10
    score_psi: float = 0.25
    band_share_change: float = 0.05
    min_accounts: int = 100  # fewer: shares of ten bins are noise, so nothing is compared


def reference_profile(path: Path) -> Profile:
    """The training reference: a profile JSON, or an account feature table (Parquet/CSV, as
    `persona-risk features` writes for the training window) profiled on its own deciles."""
    path = Path(path)
    if path.suffix == ".json":
        return Profile.read(path)
    return profile_of(read_table([path]))


def psi(expected: list[int] | np.ndarray, actual: list[int] | np.ndarray) -> float:
    """Population stability index of two histograms over the same bins."""
    e, a = np.asarray(expected, float), np.asarray(actual, float)
    if e.sum() == 0 or a.sum() == 0:
        return float("nan")
    e, a = np.maximum(e / e.sum(), PSI_FLOOR), np.maximum(a / a.sum(), PSI_FLOOR)
    return float(((a - e) * np.log(a / e)).sum())


def _num(value: float) -> float | None:
    """A JSON-safe rounded number: None for NaN (no comparable bins)."""
    return None if np.isnan(value) else round(value, 4)


def _rebinned(base: Profile, other: Profile, name: str) -> list[int] | None:
    """`other`'s counts of a feature, if binned on the same edges as `base`'s."""
    if other.edges.get(name) != base.edges.get(name) or name not in other.counts:
        return None
    return other.counts[name]


def _feature_drift(current: Profile, against: Profile, label: str, limits: DriftLimits,
                   warnings: list[str]) -> dict:
    out = {}
    for name in current.edges:
        null_now = current.nulls[name] / max(current.rows, 1)
        null_then = against.nulls.get(name, 0) / max(against.rows, 1)
        counts = _rebinned(current, against, name)
        value = psi(counts, current.counts[name]) if counts is not None else float("nan")
        out[name] = {"psi": _num(value), "null_rate": round(null_now, 4),
                     "null_rate_change": round(null_now - null_then, 4)}
        if value > limits.feature_psi:
            warnings.append(f"{name}: PSI {value:.2f} against {label} (limit "
                            f"{limits.feature_psi})")
        if abs(null_now - null_then) > limits.null_rate_change:
            warnings.append(f"{name}: missing in {null_now:.0%} of accounts, {null_then:.0%} "
                            f"in {label} (limit {limits.null_rate_change:.0%} change)")
    return out


def compare(current: Profile, reference: Profile | None, previous: Profile | None,
            limits: DriftLimits) -> dict:
    """Drift of tonight's profile against the training reference and the previous run."""
    warnings: list[str] = []
    report: dict = {"limits": asdict(limits), "accounts": current.rows,
                    "against_reference": None, "against_previous": None}
    if current.rows < limits.min_accounts:
        report["warnings"] = warnings
        report["not_compared"] = (f"{current.rows} accounts, fewer than {limits.min_accounts}: "
                                  "too few to tell drift from noise")
        return report
    if reference is not None:
        report["against_reference"] = {
            "features": _feature_drift(current, reference, "the training reference", limits,
                                       warnings)}
    if previous is not None and previous.rows >= limits.min_accounts:
        shares = {b: current.bands.get(b, 0) / max(current.rows, 1) for b in BANDS}
        before = {b: previous.bands.get(b, 0) / max(previous.rows, 1) for b in BANDS}
        score_psi = psi(previous.scores, current.scores)
        report["against_previous"] = {
            "features": _feature_drift(current, previous, "the previous run", limits, warnings),
            "score_psi": _num(score_psi),
            "band_share": {b: round(shares[b], 4) for b in BANDS},
            "band_share_change": {b: round(shares[b] - before[b], 4) for b in BANDS}}
        if score_psi > limits.score_psi:
            warnings.append(f"score: PSI {score_psi:.2f} against the previous run (limit "
                            f"{limits.score_psi})")
        for b in BANDS:
            if abs(shares[b] - before[b]) > limits.band_share_change:
                warnings.append(f"band {b}: {shares[b]:.1%} of accounts, {before[b]:.1%} in "
                                f"the previous run (limit {limits.band_share_change:.0%} "
                                "change)")
    report["warnings"] = warnings
    return report


@dataclass
class DriftWatch:
    """Profiles a batch run partition by partition, then compares and keeps the profile."""

    out: Path  # the run's output: its profile is kept beside it
    reference: Profile | None = None
    limits: DriftLimits = field(default_factory=DriftLimits)
    previous: Profile | None = None
    current: Profile | None = None
    reference_source: str | None = None  # where `reference` came from, for the summary

    def __post_init__(self):
        path = profile_path(self.out)
        if self.previous is None and path.exists():  # what the last run left beside `out`
            self.previous = Profile.read(path)

    def add(self, features: pd.DataFrame, scores: pd.DataFrame) -> None:
        """Count one scored partition."""
        if self.current is None:
            base = self.reference or self.previous
            self.current = base.empty_copy() if base else Profile.binned_like(features)
        self.current.add(features, scores)

    def finish(self) -> dict:
        """Compare, log a warning line per limit passed, write the profile (`profile_path`) and
        the drift page `<stem>.drift.html` beside the output (serving.drift_page); the report
        names the reference used."""
        if self.current is None:
            return {}
        from persona_risk.serving.drift_page import write_drift_page

        report = compare(self.current, self.reference, self.previous, self.limits)
        report["reference"] = self.reference_source if self.reference is not None else None
        for warning in report["warnings"]:
            log.warning("drift: %s", warning)
        report["profile"] = str(self.current.write(profile_path(self.out)))
        page = Path(side_file(self.out, "drift.html"))
        report["page"] = str(write_drift_page(report, self.current, self.previous, page))
        return report


def profile_path(out: Path) -> Path:
    """Where a run's profile is kept beside its output."""
    return Path(side_file(out, "profile.json"))


def log_to_mlflow(summary: dict, experiment: str = NIGHTLY_EXPERIMENT) -> str:
    """Log a batch run's summary (see serving.batch.BatchSummary) to MLflow's current tracking
    store as one run: band shares, score PSI, per-feature PSI and missing share, the number of
    warnings, and the summary JSON itself. Returns the run id."""
    import mlflow

    drift = summary.get("drift") or {}
    metrics = {f"band_share.{b}": n / max(summary["accounts_scored"], 1)
               for b, n in summary["per_band"].items()}
    metrics["drift.warnings"] = len(drift.get("warnings", []))
    for against in ("against_reference", "against_previous"):
        part = drift.get(against) or {}
        if part.get("score_psi") is not None:
            metrics[f"{against}.score_psi"] = part["score_psi"]
        for name, values in part.get("features", {}).items():
            if values["psi"] is not None:
                metrics[f"{against}.psi.{name}"] = values["psi"]
            metrics[f"{against}.null_rate_change.{name}"] = values["null_rate_change"]
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=f"nightly-{summary['as_of'][:10]}") as run:
        mlflow.log_params({"model_version": summary["model_version"],
                           "as_of": summary["as_of"], "output": summary["output"]})
        mlflow.log_metrics(metrics)
        mlflow.log_dict(summary, "summary.json")
    return run.info.run_id
