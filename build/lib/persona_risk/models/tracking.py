"""Where MLflow lives: `MLFLOW_TRACKING_URI`, else the embedded default, a local SQLite store
(`sqlite:///mlflow.db`) with artifacts beside it. Training and serving both call this."""

from __future__ import annotations

import os

import mlflow

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def configure_tracking() -> str:
    """Point MLflow at `MLFLOW_TRACKING_URI` or the local SQLite default; returns the URI."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    mlflow.set_tracking_uri(uri)
    return uri
