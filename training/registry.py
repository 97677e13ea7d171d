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

from features import schema as s
from models.pyfunc import load_risk_model
from models.risk_model import FeatureContractError
from models.tracking import configure_tracking

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
    """The champion/challenger decision with both figures."""

    metric: str
    challenger_version: str
    challenger_value: float
    champion_version: str | None
    champion_value: float | None
    promoted: bool
    reason: str

    def message(self) -> str:
        champ = ("no champion" if self.champion_version is None else
                 f"champion v{self.champion_version} {self.metric} "
                 f"{self.champion_value if self.champion_value is not None else float('nan'):.4f}")
        verdict = "promoted to champion" if self.promoted else "stays challenger"
        return (f"challenger v{self.challenger_version} {self.metric} "
                f"{self.challenger_value:.4f} vs {champ}: {verdict} ({self.reason})")

    def as_dict(self) -> dict:
        return asdict(self)


def champion_gate(name: str, challenger_version: str, test: pd.DataFrame, metric_fn,
                  metric: str, challenger_value: float) -> GateDecision:
    """Compare the challenger with the current champion on the same `test` accounts and move
    the `champion` alias when the challenger is strictly better (or there is no champion)."""
    client = mlflow.MlflowClient()
    try:
        current = str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        current = None
    champion_value, reason = None, "no champion yet"
    if current is not None and current != challenger_version:
        try:
            champion, _ = load_risk_model(f"models:/{name}/{current}")
            champion_value = float(metric_fn(test[s.LABEL].to_numpy(),
                                             champion.probability(champion.matrix(test))))
            reason = "better" if challenger_value > champion_value else "not better"
        except FeatureContractError as err:
            reason = f"champion cannot score the current features ({err})"
    promoted = current is None or champion_value is None or challenger_value > champion_value
    if current == challenger_version:
        promoted, reason = True, "already champion"
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, challenger_version)
    return GateDecision(metric, str(challenger_version), float(challenger_value),
                        None if current is None else str(current), champion_value, promoted,
                        reason)


def finite(values: dict) -> dict:
    """Metrics MLflow accepts: finite floats only."""
    return {k: float(v) for k, v in values.items() if np.isfinite(v)}
