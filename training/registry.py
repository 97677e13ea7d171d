"""MLflow tracking and the model registry: where runs go, and the champion/challenger gate.

The tracking URI comes from `models.tracking` (`MLFLOW_TRACKING_URI`, else a local SQLite
store with artifacts beside it: nothing to install or start). Versions get
the alias `challenger`; `champion` moves only when the challenger beats the current champion on
the same test accounts (or when there is none), those of the challenger's test part that the
champion was neither trained nor calibrated on: each run records its train and validation
accounts (`FIT_ACCOUNTS`). Aliases, not the deprecated stages.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from persona_risk.features import schema as s
from persona_risk.models.pyfunc import load_risk_model, resolve_uri
from persona_risk.models.risk_model import FeatureContractError
from persona_risk.models.tracking import configure_tracking
from persona_risk.training.metrics import paired_difference
from persona_risk.training.split import MIN_NEGATIVES, MIN_POSITIVES, TRAIN, VAL, too_small

__all__ = ["configure_tracking", "ensure_experiment", "champion_gate", "GateDecision"]

EXPERIMENT = "persona-risk"
CHAMPION, CHALLENGER = "champion", "challenger"
FIT_ACCOUNTS = "fit_accounts.parquet"  # a run's train and validation accounts (id, part)
PART = "part"


def ensure_experiment(name: str = EXPERIMENT) -> str:
    """Create or select the experiment; with the SQLite default its artifacts sit beside it."""
    uri = mlflow.get_tracking_uri()
    if mlflow.get_experiment_by_name(name) is None and uri.startswith("sqlite:///"):
        root = Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts"
        mlflow.create_experiment(name, artifact_location=root.as_uri())
    return mlflow.set_experiment(name).experiment_id


def code_version() -> str:
    """The installed package version, plus the git commit when run from a checkout."""
    try:
        pkg = version("persona-risk")
    except PackageNotFoundError:
        pkg = "unknown"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=Path(__file__).parent, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{pkg}+{commit}" if commit else pkg


@dataclass
class GateDecision:
    """The champion/challenger decision with both figures on the same test accounts (those of
    the challenger's test part the champion never trained or calibrated on: `compared` of
    `test_accounts`), the challenger's lead with its paired-bootstrap 95% interval, and notes
    on what makes the comparison partial or uncertain. Without a comparison (`compared` None)
    the challenger's figure is on all its test accounts."""

    metric: str
    challenger_version: str
    challenger_value: float
    champion_version: str | None
    champion_value: float | None
    promoted: bool
    reason: str
    test_accounts: int
    compared: int | None = None
    difference: float | None = None
    difference_low: float | None = None
    difference_high: float | None = None
    notes: list[str] = field(default_factory=list)

    def within_noise(self) -> bool:
        """True when the 95% interval of the difference contains zero."""
        return (self.difference_low is not None
                and self.difference_low <= 0 <= self.difference_high)

    def message(self) -> str:
        champ = ("no champion" if self.champion_version is None else
                 f"champion v{self.champion_version}" + ("" if self.champion_value is None else
                 f" {self.metric} {self.champion_value:.4f} on {self.compared} of "
                 f"{self.test_accounts} test accounts"))
        verdict = "promoted to champion" if self.promoted else "stays challenger"
        lead = "" if self.difference is None else (
            f"; difference {self.difference:+.4f}, 95% interval [{self.difference_low:+.4f}, "
            f"{self.difference_high:+.4f}]"
            + (": inside the noise of this test set" if self.within_noise() else ""))
        return (f"challenger v{self.challenger_version} {self.metric} "
                f"{self.challenger_value:.4f} vs {champ}: {verdict} ({self.reason}){lead}"
                + "".join(f"; {note}" for note in self.notes))

    def as_dict(self) -> dict:
        return asdict(self)


def log_fit_accounts(ids: pd.Series, part: pd.Series) -> None:
    """Log in the active run the accounts its model was trained or calibrated on: `ids` with
    their `part` (train or val), as the Parquet artifact `FIT_ACCOUNTS`, which the gate reads
    back to leave them out of its comparison while that model is the champion."""
    frame = pd.DataFrame({s.ACCOUNT_ID: ids.array, PART: pd.Categorical(part.array)})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / FIT_ACCOUNTS
        frame.to_parquet(path, index=False)
        mlflow.log_artifact(str(path))


def fit_accounts(run_id: str | None) -> pd.DataFrame | None:
    """The accounts a run's model was trained or calibrated on (`account_id`, `part`), or None
    when the run recorded none (logged before they were recorded, or not by training)."""
    client = mlflow.MlflowClient()
    if run_id is None or FIT_ACCOUNTS not in {a.path for a in client.list_artifacts(run_id)}:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        return pd.read_parquet(client.download_artifacts(run_id, FIT_ACCOUNTS, tmp))


def model_fit_accounts(model_uri: str) -> pd.DataFrame | None:
    """`fit_accounts` of the run that logged the model at `model_uri` (any model URI)."""
    return fit_accounts(mlflow.models.get_model_info(resolve_uri(model_uri)[0]).run_id)


def unseen(test: pd.DataFrame, seen: pd.DataFrame | None, model: str
           ) -> tuple[np.ndarray, list[str]]:
    """Which `test` rows `model` (its name in the note: "champion v3") neither trained nor
    calibrated on (`seen`: its fit accounts; None when unrecorded: every row, with a warning),
    and a note on those left out."""
    if seen is None:
        return np.ones(len(test), bool), [
            f"warning: {model}'s training accounts are unknown (logged before they were "
            "recorded): measured on every test account, some of which it may have been "
            "trained or calibrated on"]
    ids = test[s.ACCOUNT_ID]
    trained, calibrated = (ids.isin(seen.loc[seen[PART] == p, s.ACCOUNT_ID]).to_numpy()
                           for p in (TRAIN, VAL))
    left_out = trained | calibrated
    note = (f"{left_out.sum()} test accounts left out: {model} was trained on "
            f"{trained.sum()} and calibrated on {calibrated.sum()} of them")
    return ~left_out, [note] if left_out.any() else []


def small_sample_note(y: np.ndarray) -> list[str]:
    """A note when the compared accounts hold too few of a class to decide with confidence."""
    fraud, honest = int((y == 1).sum()), int((y == 0).sum())
    if not too_small(fraud, honest):
        return []
    return [f"uncertain: the {len(y)} accounts compared hold {fraud} fraudulent and {honest} "
            f"honest (fewer than {MIN_POSITIVES} or {MIN_NEGATIVES}), see the interval"]


def against_champion(decision: GateDecision, name: str, test: pd.DataFrame,
                     challenger_score: np.ndarray, metric_fn, seed: int) -> GateDecision:
    """`decision` (made as if there were no champion) decided against champion
    `decision.champion_version` on the `test` accounts it never trained or calibrated on; the
    champion stays when those hold a single class. A champion that cannot score the current
    features gives way, as before."""
    current = decision.champion_version
    try:
        champion, _ = load_risk_model(f"models:/{name}/{current}")
    except FeatureContractError as err:
        return replace(decision, reason=f"champion cannot score the current features ({err})")
    run_id = mlflow.MlflowClient().get_model_version(name, current).run_id
    keep, notes = unseen(test, fit_accounts(run_id), f"champion v{current}")
    y = test[s.LABEL].to_numpy()[keep]
    if len(np.unique(y)) < 2:
        return replace(decision, promoted=False, compared=len(y), notes=notes, reason=(
            f"only {len(y)} of {len(keep)} test accounts unseen by the champion, "
            f"{int(y.sum())} of them fraudulent: comparing needs both classes, champion kept"))
    ours = challenger_score[keep]
    theirs = champion.probability(champion.matrix(test[keep]))
    ours_value, theirs_value = float(metric_fn(y, ours)), float(metric_fn(y, theirs))
    diff, low, high = paired_difference(y, ours, theirs, metric_fn, seed)
    better = ours_value > theirs_value
    return replace(decision, challenger_value=ours_value, champion_value=theirs_value,
                   promoted=better, reason="better" if better else "not better",
                   compared=len(y), difference=diff, difference_low=low, difference_high=high,
                   notes=notes + small_sample_note(y))


def champion_gate(name: str, challenger_version: str, test: pd.DataFrame,
                  challenger_score: np.ndarray, metric_fn, metric: str,
                  seed: int = 0) -> GateDecision:
    """Compare the challenger with the current champion on the challenger's `test` accounts
    (its scores of them given) that the champion never trained or calibrated on, and move the
    `champion` alias when the challenger is strictly better there (or there is no champion);
    the decision carries the paired-bootstrap interval of the difference, so a lead inside the
    noise is visible, and says how many test accounts were compared."""
    client = mlflow.MlflowClient()
    try:
        current = str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        current = None
    y = test[s.LABEL].to_numpy()
    decision = GateDecision(metric, str(challenger_version), float(metric_fn(y, challenger_score)),
                            current, None, True, "no champion yet", len(y))
    if current == str(challenger_version):
        decision.reason = "already champion"
    elif current is not None:
        decision = against_champion(decision, name, test, challenger_score, metric_fn, seed)
    if decision.promoted:
        client.set_registered_model_alias(name, CHAMPION, challenger_version)
    return decision


def finite(values: dict) -> dict:
    """Metrics MLflow accepts: finite floats only."""
    return {k: float(v) for k, v in values.items() if np.isfinite(v)}
