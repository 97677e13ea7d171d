"""The registered model runs where this repository is not installed: MLflow's own default
environment manager rebuilds it from the logged requirements and serves it, and that clean
environment loads and predicts it with the bundled code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import mlflow
import numpy as np
import pandas as pd
import pytest

from persona_risk.features import schema as s
from persona_risk.features.reference import FEATURE_NAMES
from persona_risk.models.bundle import imported_closure, pinned_requirements
from persona_risk.training.fit import TrainConfig
from persona_risk.training.split import SplitConfig
from persona_risk.training.train import log_and_register
from tests.serving.conftest import free_port

NAME = "persona-risk-bundle"


def test_requirements_pin_every_distribution_the_pyfunc_imports():
    pins = dict(p.split("==") for p in pinned_requirements())
    for dist in ("mlflow-skinny", "lightgbm", "numpy", "pandas", "numba"):
        assert pins.get(dist), f"{dist} not pinned: {sorted(pins)}"
    ours, external = imported_closure()
    assert "persona_risk.models.pyfunc" in ours and "persona_risk.training.train" not in ours
    assert "persona_risk" not in external and "os" not in external
    assert "mlflow" not in pins  # the tracking server is not the model's business


def clean_env(env: dict) -> dict:
    """The environment of a process that must not see this repository."""
    out = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**out, **env}


@pytest.fixture(scope="module")
def logged(trained, tmp_path_factory):
    """The trained model registered in a fresh MLflow store and downloaded: (folder, env)."""
    tmp = tmp_path_factory.mktemp("bundle")
    env = clean_env({"MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db",
                     "MLFLOW_ENV_ROOT": str(tmp / "envs")})
    old = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = env["MLFLOW_TRACKING_URI"]
    try:
        log_and_register(trained, NAME, trained.table["as_of"].iloc[0], TrainConfig(),
                         SplitConfig())
        uri = f"models:/{NAME}@champion"
        local = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp / "model")))
    finally:
        os.environ.pop("MLFLOW_TRACKING_URI") if old is None else os.environ.update(
            MLFLOW_TRACKING_URI=old)
    return local, env


@pytest.mark.slow
def test_registered_model_serves_and_predicts_without_this_repository(trained, logged,
                                                                      tmp_path):
    local, env = logged
    rows = trained.table.head(20)[[s.ACCOUNT_ID, *FEATURE_NAMES]]
    expected = trained.model.score(rows)["score"].to_numpy()

    port, log_file = free_port(), tmp_path / "serve.log"
    # No --env-manager: MLflow's default builds a fresh virtualenv from the logged requirements.
    with log_file.open("w") as log_out:
        server = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(local), "-p",
             str(port)], cwd=tmp_path, env=env, stdout=log_out, stderr=subprocess.STDOUT)
        try:
            served = _invocations(f"http://127.0.0.1:{port}", rows, server, log_file)
        finally:
            server.terminate()
            server.wait(timeout=30)
    log = log_file.read_text()
    # the scoring server writes JSON with six significant digits
    np.testing.assert_allclose(served, expected, rtol=1e-5, err_msg=log[-3000:])

    envs = [p for p in Path(env["MLFLOW_ENV_ROOT"]).iterdir() if (p / "bin" / "python").exists()]
    assert len(envs) == 1, log[-3000:]
    python = envs[0] / "bin" / "python"
    installed = subprocess.run([python, "-m", "pip", "list", "--format=json"], env=env,
                               capture_output=True, text=True, check=True).stdout
    assert "persona" not in installed.lower()
    rows.to_parquet(tmp_path / "rows.parquet")
    script = (
        "import sys, mlflow, pandas as pd\n"
        f"model = mlflow.pyfunc.load_model({str(local)!r})\n"
        f"out = model.predict(pd.read_parquet({str(tmp_path / 'rows.parquet')!r}))\n"
        "import persona_risk\n"
        "print(persona_risk.__file__)\n"
        "print(out.to_json(orient='records', double_precision=15))\n")
    run = subprocess.run([python, "-c", script], cwd=tmp_path, env=env, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    where, out = run.stdout.strip().splitlines()[-2:]
    assert Path(where).is_relative_to(local), where
    scored = pd.DataFrame(json.loads(out))
    np.testing.assert_allclose(scored["score"], expected, rtol=0, atol=1e-12)
    assert scored["reason_1"].notna().any()


def _invocations(url: str, rows: pd.DataFrame, server: subprocess.Popen,
                 log: Path) -> np.ndarray:
    """Scores from the scoring server once it is up (building its environment takes minutes)."""
    body = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mlflow models serve exited: {log.read_text()[-3000:]}")
        try:
            reply = httpx.post(f"{url}/invocations", json=body, timeout=30)
        except httpx.TransportError:
            time.sleep(2)
            continue
        assert reply.status_code == 200, reply.text
        return np.array([r["score"] for r in reply.json()["predictions"]])
    pytest.fail("scoring server did not answer in 10 minutes")


@pytest.mark.slow
def test_spark_udf_scores_equal_in_process(trained, logged, spark):
    local, _ = logged
    columns = mlflow.models.get_model_info(str(local)).signature.inputs.input_names()
    rows = trained.table.head(50)[columns].astype(dict.fromkeys(FEATURE_NAMES, "float64"))
    udf = mlflow.pyfunc.spark_udf(spark, str(local), result_type="score double, band string",
                                  env_manager="local")
    frame = spark.createDataFrame(rows)
    scored = frame.withColumn("out", udf(*frame.columns)).select(
        s.ACCOUNT_ID, "out.score", "out.band").toPandas()
    expected = trained.model.score(rows)
    np.testing.assert_allclose(scored["score"], expected["score"], rtol=0, atol=1e-12)
    assert list(scored["band"]) == list(expected["band"])
