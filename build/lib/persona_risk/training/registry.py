"""MLflow tracking and the model registry: where runs go, and the champion/challenger gate.

The tracking URI comes from `models.tracking` (`MLFLOW_TRACKING_URI`, else a local SQLite
store with artifacts beside it: nothing to install or start). Versions get
the alias `challenger`; `champion` moves only when the challenger beats the current champion on
the same test accounts (or when there is none). Aliases, not the deprecated stages.
"""

from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from persona_risk.features import schema as s
from persona_risk.models.pyfunc import load_risk_model
from persona_risk.models.risk_model import FeatureContractError
from persona_risk.models.tracking import configure_tracking
from persona_risk.training.metrics import paired_difference

__all__ = ["configure_tracking", "ensure_experiment", "champion_gate", "GateDecision"]

EXPERIMENT = "persona-risk"
CHAMPION, CHALLENGER = "champion", "challenger"


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
    """The champion/challenger decision with both figures on the same test accounts, and the
    challenger's lead with its paired-bootstrap 95% interval."""

    metric: str
    challenger_version: str
    challenger_value: float
    champion_version: str | None
    champion_value: float | None
    promoted: bool
    reason: str
    difference: float | None = None
    difference_low: float | None = None
    difference_high: float | None = None

    def within_noise(self) -> bool:
        """True when the 95% interval of the difference contains zero."""
        return (self.difference_low is not None
                and self.difference_low <= 0 <= self.difference_high)

    def message(self) -> str:
        champ = ("no champion" if self.champion_version is None else
                 f"champion v{self.champion_version} {self.metric} "
                 f"{self.champion_value if self.champion_value is not None else float('nan'):.4f}")
        verdict = "promoted to champion" if self.promoted else "stays challenger"
        lead = "" if self.difference is None else (
            f"; difference {self.difference:+.4f}, 95% interval [{self.difference_low:+.4f}, "
            f"{self.difference_high:+.4f}]"
            + (": inside the noise of this test set" if self.within_noise() else ""))
        return (f"challenger v{self.challenger_version} {self.metric} "
                f"{self.challenger_value:.4f} vs {champ}: {verdict} ({self.reason}){lead}")

    def as_dict(self) -> dict:
        return asdict(self)


def champion_gate(name: str, challenger_version: str, test: pd.DataFrame,
                  challenger_score: np.ndarray, metric_fn, metric: str,
                  seed: int = 0) -> GateDecision:
    """Compare the challenger with the current champion on the same `test` accounts (the
    challenger's scores of them given) and move the `champion` alias when the challenger is
    strictly better (or there is no champion); the decision carries the paired-bootstrap
    interval of the difference, so a lead inside the noise is visible."""
    client = mlflow.MlflowClient()
    y = test[s.LABEL].to_numpy()
    challenger_value = float(metric_fn(y, challenger_score))
    try:
        current = str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        current = None
    champion_value, reason, diff = None, "no champion yet", (None, None, None)
    if current is not None and current != challenger_version:
        try:
            champion, _ = load_risk_model(f"models:/{name}/{current}")
            champion_score = champion.probability(champion.matrix(test))
            champion_value = float(metric_fn(y, champion_score))
            diff = paired_difference(y, challenger_score, champion_score, metric_fn, seed)
            reason = "better" if challenger_value > champion_value else "not better"
        except FeatureContractError as err:
            reason = f"champion cannot score the current features ({err})"
    promoted = current is None or champion_value is None or challenger_value > champion_value
    if current == challenger_version:
        promoted, reason = True, "already champion"
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, challenger_version)
    return GateDecision(metric, str(challenger_version), challenger_value,
                        None if current is None else str(current), champion_value, promoted,
                        reason, *diff)


def finite(values: dict) -> dict:
    """Metrics MLflow accepts: finite floats only."""
    return {k: float(v) for k, v in values.items() if np.isfinite(v)}
