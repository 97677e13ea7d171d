"""The MLflow pyfunc wrapper: the registered form of a `RiskModel`.

`predict` takes the account feature table (account_id plus the contract's features) and
returns account_id, score, band and the top three reasons. Loading checks the feature contract.
The training data's profile (`models.profile`) travels with the model as the drift reference.
Serving unwraps it (`unwrap_python_model().risk_model`) to score on arrays without the pyfunc
overhead, after MLflow has resolved the URI.
"""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from persona_risk.features import schema as s
from persona_risk.features.config import FeatureConfig
from persona_risk.features.travel import FASTEST_HOP_COLUMNS
from persona_risk.models.profile import Profile
from persona_risk.models.reasons import REASON_SLOTS
from persona_risk.models.risk_model import RiskModel, check_feature_contract

ARTIFACT = "risk_model"
REFERENCE = "drift_reference"  # the training data's profile (JSON); absent in older models
CONTRACT_KEY = "feature_contract_version"
SETTINGS_KEY = "feature_settings"


class PersonaRiskPyfunc(mlflow.pyfunc.PythonModel):
    """Scores account feature tables with the bundled `RiskModel`; `reference` is the
    training data's profile (None for a model logged without one)."""

    def load_context(self, context) -> None:
        self.risk_model = RiskModel.load(context.artifacts[ARTIFACT], check=True)
        path = context.artifacts.get(REFERENCE)
        self.reference = Profile.read(path) if path else None

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return self.risk_model.score(model_input)


def signature(feature_names: list[str]) -> ModelSignature:
    """What `predict` needs and returns, as `persona-risk features` writes it.

    Input: account_id and every feature column (double; a value may be null, a column may not
    be missing: a missing column is an upstream fault, never silently imputed); optionally the
    fastest hop's context, which the reason sentences quote, and the table's `as_of`.
    Output: account_id, score, band and the top reasons."""
    inputs = Schema([ColSpec("string", s.ACCOUNT_ID)]
                    + [ColSpec("double", f) for f in feature_names]
                    + [ColSpec("double" if c.endswith("_hours") else "string", c, required=False)
                       for c in FASTEST_HOP_COLUMNS]
                    + [ColSpec("datetime", s.AS_OF, required=False)])
    out = [ColSpec("string", s.ACCOUNT_ID), ColSpec("double", "score"), ColSpec("string", "band")]
    for slot in REASON_SLOTS:
        out += [ColSpec("string", slot.code), ColSpec("double", slot.value),
                ColSpec("double", slot.shap), ColSpec("string", slot.text)]
    return ModelSignature(inputs=inputs, outputs=Schema(out))


def model_metadata(model: RiskModel) -> dict:
    """Metadata stored with the logged model: its feature contract and feature settings."""
    return {CONTRACT_KEY: model.contract_version, SETTINGS_KEY: model.feature_settings}


def check_logged_contract(model_uri: str) -> None:
    """Refuse a logged model whose feature contract differs from the installed feature code's
    with the model's settings, before loading its code."""
    meta = mlflow.models.get_model_info(model_uri).metadata or {}
    check_feature_contract(meta.get(CONTRACT_KEY),
                           meta.get(SETTINGS_KEY, FeatureConfig().settings()), model_uri)


def resolve_uri(model_uri: str) -> tuple[str, str]:
    """Pin an alias URI to its version: (`models:/name/N`, `name/N`); other URIs unchanged."""
    if model_uri.startswith("models:/") and "@" in model_uri:
        name, alias = model_uri.removeprefix("models:/").split("@", 1)
        number = mlflow.MlflowClient().get_model_version_by_alias(name, alias).version
        return f"models:/{name}/{number}", f"{name}/{number}"
    if model_uri.startswith("models:/"):
        return model_uri, model_uri.removeprefix("models:/")
    return model_uri, model_uri


def load_logged_model(model_uri: str) -> tuple[PersonaRiskPyfunc, str]:
    """Load a logged model by URI (runs:/, models:/name@alias, ...), checked against the
    feature contract; returns the unwrapped pyfunc (its `risk_model` and `reference`) and the
    model's version string."""
    pinned, version = resolve_uri(model_uri)
    check_logged_contract(pinned)
    return mlflow.pyfunc.load_model(pinned).unwrap_python_model(), version


def load_risk_model(model_uri: str) -> tuple[RiskModel, str]:
    """`load_logged_model`'s `RiskModel` and version string."""
    logged, version = load_logged_model(model_uri)
    return logged.risk_model, version
